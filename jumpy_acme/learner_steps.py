"""What every learner step does besides its update: time, count, log.

  recorder = learner_steps.StepRecorder(counter, logger, sgd_steps_per_step)
  batch = recorder.next_batch(iterator)        # times the wait for data
  state, metrics = update(state, batch)        # the learner's own jit
  metrics = recorder.record(metrics)           # counts and writes one row

One row per step: the counter's counts (steps, sgd_steps), the update's
metrics as floats, sgd_steps_per_second since the first step, and
data_wait_share, the share of that time spent waiting for batches.
"""

import time
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

import jax

from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers


class StepRecorder:
  """A learner's step bookkeeping (NOT pure: clocks, counter, logger)."""

  def __init__(self, counter: Optional[counting.Counter],
               logger: Optional[loggers.Logger], sgd_steps_per_step: int,
               wait_seconds_fn: Optional[Callable[[], float]] = None):
    """Args:
      counter: counts `steps` and `sgd_steps` (a new Counter if None).
      logger: receives one row per step (nothing if None).
      sgd_steps_per_step: SGD steps each learner step runs.
      wait_seconds_fn: the iterator's own cumulated wait (e.g. a prefetching
        iterator's); default: the time spent in next_batch.
    """
    self.counter = counter or counting.Counter()
    self.logger = logger or loggers.NoOpLogger()
    self._sgd_steps_per_step = sgd_steps_per_step
    self._wait_seconds_fn = wait_seconds_fn
    self._wait_seconds = 0.0
    self._start_time: Optional[float] = None
    self.steps = 0
    self._resumed = 0  # Steps done before a restore (resume()).

  def resume(self, sgd_steps: int) -> None:
    """Continues the count from a restored state that ran `sgd_steps` SGD
    steps: `steps` and the rows' steps / sgd_steps count from there, so a
    resumed run's log (and its periodic checkpoints and publishes) carry
    on without restarting at 0. The counter itself is left alone."""
    if sgd_steps % self._sgd_steps_per_step:
      raise ValueError(f'sgd_steps: expected a multiple of sgd_steps_per_step '
                       f'({self._sgd_steps_per_step}), got {sgd_steps}.')
    done_here = self.steps - self._resumed
    self.steps = sgd_steps // self._sgd_steps_per_step
    self._resumed = self.steps - done_here

  def next_batch(self, iterator: Iterator[Any]) -> Any:
    """next(iterator), timed as waiting for data."""
    if self._start_time is None:
      self._start_time = time.time()
    start = time.perf_counter()
    batch = next(iterator)
    self._wait_seconds += time.perf_counter() - start
    return batch

  def record(self, metrics: Mapping[str, Any]) -> Dict[str, float]:
    """Counts the step and writes its row; returns the metrics as floats."""
    if self._start_time is None:
      self._start_time = time.time()
    self.steps += 1
    metrics = {k: float(v) for k, v in jax.device_get(dict(metrics)).items()}
    counts = self.counter.increment(steps=1,
                                    sgd_steps=self._sgd_steps_per_step)
    if self._resumed:
      counts = dict(counts)
      for key, per_step in (('steps', 1),
                            ('sgd_steps', self._sgd_steps_per_step)):
        if key in counts:
          counts[key] += self._resumed * per_step
    elapsed = max(time.time() - self._start_time, 1e-9)
    waited = (self._wait_seconds_fn() if self._wait_seconds_fn is not None
              else self._wait_seconds)
    self.logger.write({
        **counts, **metrics,
        'sgd_steps_per_second': ((self.steps - self._resumed) *
                                 self._sgd_steps_per_step / elapsed),
        'data_wait_share': waited / elapsed})
    return metrics
