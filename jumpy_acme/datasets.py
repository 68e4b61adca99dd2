"""From a Reverb table to batches of numpy (or device) arrays.

`make_dataset_iterator` samples a table through reverb.TrajectoryDataset,
batches in TensorFlow, and a background thread keeps `prefetch_size` batches
ready (optionally already on the accelerator), so the learner's step does
not wait for data. The iterator measures how long its consumer did wait.
"""

import queue
import threading
import time
from typing import Any, Callable, Iterator, Optional

import jax
import reverb
import tensorflow as tf

from jumpy_acme import core

_END = object()


class PrefetchIterator(core.PrefetchingIterator):
  """Runs `source` in a background thread, `buffer_size` elements ahead.

  Exceptions raised by the source are re-raised by `next()`. The time the
  consumer spends blocked in `next()` is accumulated in `wait_seconds`, so a
  learner can log the share of its step spent waiting for data.
  """

  def __init__(self, source: Iterator[Any], buffer_size: int = 2,
               transform: Optional[Callable[[Any], Any]] = None):
    if buffer_size < 1:
      raise ValueError(f'buffer_size: expected >= 1, got {buffer_size}.')
    self._source = source
    self._transform = transform
    self._queue: queue.Queue = queue.Queue(maxsize=buffer_size)
    self._stop = threading.Event()
    self._count = 0
    self.wait_seconds = 0.0
    self._thread = threading.Thread(target=self._produce, daemon=True,
                                    name='prefetch')
    self._thread.start()

  def _put(self, element) -> bool:
    while not self._stop.is_set():
      try:
        self._queue.put(element, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def _produce(self):
    try:
      for element in self._source:
        if self._transform is not None:
          element = self._transform(element)
        if not self._put(element):
          return
      self._put(_END)
    except BaseException as e:  # pylint: disable=broad-except  # Re-raised.
      self._put(e)

  def __iter__(self):
    return self

  def __next__(self):
    start = time.perf_counter()
    element = self._queue.get()
    self.wait_seconds += time.perf_counter() - start
    if element is _END:
      self._queue.put(_END)  # Stay exhausted.
      raise StopIteration
    if isinstance(element, BaseException):
      self._queue.put(element)
      raise element
    self._count += 1
    return element

  def ready(self) -> bool:
    return not self._queue.empty()

  def retrieved_elements(self) -> int:
    return self._count

  def close(self):
    """Stops the background thread."""
    self._stop.set()
    self._thread.join(timeout=5)


def make_reverb_dataset(server_address: str, table: str, batch_size: int,
                        max_in_flight_samples_per_worker: Optional[int] = None,
                        num_workers_per_iterator: int = -1,
                        rate_limiter_timeout_ms: int = -1) -> tf.data.Dataset:
  """A tf.data pipeline of batched ReplaySamples from `table`."""
  if batch_size < 1:
    raise ValueError(f'batch_size: expected >= 1, got {batch_size}.')
  dataset = reverb.TrajectoryDataset.from_table_signature(
      server_address=server_address,
      table=table,
      max_in_flight_samples_per_worker=(
          max_in_flight_samples_per_worker or 2 * batch_size),
      num_workers_per_iterator=num_workers_per_iterator,
      rate_limiter_timeout_ms=rate_limiter_timeout_ms)
  return dataset.batch(batch_size, drop_remainder=True).prefetch(
      tf.data.AUTOTUNE)


def make_dataset_iterator(server_address: str, table: str, batch_size: int,
                          prefetch_size: int = 2, device_put: bool = False,
                          **dataset_kwargs) -> PrefetchIterator:
  """Yields reverb.ReplaySample(info, data) batches of numpy arrays.

  Args:
    server_address: 'host:port' of the Reverb server.
    table: the table to sample; it must have a signature.
    batch_size: items per batch (leading dimension of every array).
    prefetch_size: batches kept ready by the background thread.
    device_put: if True, `data` arrives as jax arrays on the default device.
    **dataset_kwargs: passed to `make_reverb_dataset`.
  """
  dataset = make_reverb_dataset(server_address, table, batch_size,
                                **dataset_kwargs)
  transform = None
  if device_put:
    transform = lambda sample: sample._replace(data=jax.device_put(sample.data))
  return PrefetchIterator(dataset.as_numpy_iterator(), prefetch_size,
                          transform)
