"""Reverb tables and connections used across agents.

- `rate_limited_table`: uniform sampling, FIFO eviction, and either a
  minimum size or a samples-per-insert rate limiter: every replay table of
  the project is one of these.
- `snippet_table`: uniform replay of K-step snippets (phase 1, from disk).
- `onthefly_table`: a small FIFO-evicted buffer with a samples-per-insert
  rate limiter, for learning while actors collect (paper, footnote 3).
- `queue_table`: a FIFO queue read once, e.g. by the dataset writer.
- `start_server` / `checkpoint` / `table_sizes`: a server whose tables
  persist in a directory across runs (a resumed RL run keeps its replay).
- `connect`: a client that has answered, or a clear error after a bound.
- `drain`: every item a FIFO queue holds now.
"""

import os
import time
from typing import Any, Dict, List, Optional

import reverb

from jumpy_acme import specs
from jumpy_acme import types
from jumpy_acme.adders import reverb as reverb_adders


def _signature(environment_spec, K, extras_spec):  # noqa: N803
  return reverb_adders.SnippetAdder.signature(environment_spec, K,
                                              extras_spec)


def default_error_buffer(min_size: int, samples_per_insert: float,
                         tolerance_rate: float = 0.1) -> float:
  """Acme's slack for a SampleToInsertRatio limiter: the ratio may drift by
  tolerance_rate * min_size inserts' worth of samples, and at least 2."""
  return max(min_size * tolerance_rate * samples_per_insert,
             2 * samples_per_insert)


def rate_limited_table(name: str, signature, max_size: int, min_size: int,
                       samples_per_insert: Optional[float] = None,
                       error_buffer: Optional[float] = None) -> reverb.Table:
  """A uniformly sampled, FIFO-evicted table with a rate limiter.

  Args:
    name: the table's name.
    signature: the items' signature (an adder's `signature(...)`).
    max_size: items kept.
    min_size: items needed before sampling starts.
    samples_per_insert: None: sample freely once min_size items are in
      (MinSize); else keep each item sampled this many times on average
      (SampleToInsertRatio), holding whichever side runs ahead.
    error_buffer: the ratio limiter's slack in samples; default
      default_error_buffer(min_size, samples_per_insert).
  """
  if min_size < 1 or min_size > max_size:
    raise ValueError(f'min_size: expected in [1, max_size={max_size}], got '
                     f'{min_size}.')
  if samples_per_insert is None:
    limiter = reverb.rate_limiters.MinSize(min_size)
  else:
    if samples_per_insert <= 0:
      raise ValueError(
          f'samples_per_insert: expected > 0, got {samples_per_insert}.')
    if error_buffer is None:
      error_buffer = default_error_buffer(min_size, samples_per_insert)
    limiter = reverb.rate_limiters.SampleToInsertRatio(
        samples_per_insert=samples_per_insert, min_size_to_sample=min_size,
        error_buffer=max(error_buffer, samples_per_insert))
  return reverb.Table(
      name=name, sampler=reverb.selectors.Uniform(),
      remover=reverb.selectors.Fifo(), max_size=max_size,
      rate_limiter=limiter, signature=signature)


def snippet_table(name: str, environment_spec: specs.EnvironmentSpec,
                  K: int, extras_spec: types.NestedSpec = (),  # noqa: N803
                  max_size: int = 1_000_000) -> reverb.Table:
  """Uniform sampling, FIFO eviction; sampling waits for one item."""
  return rate_limited_table(name, _signature(environment_spec, K, extras_spec),
                            max_size, min_size=1)


def onthefly_table(name: str, environment_spec: specs.EnvironmentSpec,
                   K: int, extras_spec: types.NestedSpec = (),  # noqa: N803
                   max_size: int = 100_000, min_size: int = 1_000,
                   samples_per_insert: float = 8.0,
                   error_buffer: float = 1_000.0) -> reverb.Table:
  """A small buffer that keeps learner and actors in step.

  The rate limiter holds whichever side runs ahead so that, on average,
  each inserted snippet is sampled `samples_per_insert` times (in batches:
  batch_size samples per learner step).
  """
  return rate_limited_table(name, _signature(environment_spec, K, extras_spec),
                            max_size, min_size, samples_per_insert,
                            error_buffer)


def onthefly_tables(*args, **kwargs) -> List[reverb.Table]:
  """[onthefly_table(*args, **kwargs)]: a picklable table factory for
  launchers that build the tables where the server runs (Ray)."""
  return [onthefly_table(*args, **kwargs)]


def queue_table(name: str, environment_spec: specs.EnvironmentSpec,
                K: int, extras_spec: types.NestedSpec = (),  # noqa: N803
                max_size: int = 100_000) -> reverb.Table:
  """Each item is read exactly once, in insertion order."""
  return reverb.Table.queue(name=name, max_size=max_size,
                            signature=_signature(environment_spec, K,
                                                 extras_spec))


def start_server(tables, port: Optional[int] = None,
                 checkpoint_dir: Optional[str] = None) -> reverb.Server:
  """A Reverb server with `tables`; with `checkpoint_dir`, it first loads
  the tables' contents (items, and the rate limiters' insert and sample
  counts) from the latest checkpoint there, if there is one, and
  checkpoint(address) writes a new one there (Reverb keeps the latest)."""
  checkpointer = None
  if checkpoint_dir is not None:
    os.makedirs(checkpoint_dir, exist_ok=True)
    checkpointer = reverb.checkpointers.DefaultCheckpointer(checkpoint_dir)
  return reverb.Server(list(tables), port=port, checkpointer=checkpointer)


def check_checkpointing(checkpoint_dir: Optional[str], every_s: float,
                        starts_server: bool,
                        reverb_address: Optional[str]) -> None:
  """A launcher's replay_checkpoint_dir / replay_checkpoint_every_s, checked
  (ValueError naming the argument)."""
  if checkpoint_dir is not None and not starts_server:
    raise ValueError('replay_checkpoint_dir: only for a server this '
                     'launcher starts (tables), not one it joins at '
                     f'reverb_address={reverb_address!r}.')
  if every_s <= 0:
    raise ValueError(f'replay_checkpoint_every_s: expected > 0, got '
                     f'{every_s}.')


def checkpoint(address: str) -> str:
  """Writes the server's tables to its checkpoint directory (the server
  must have been started with one: start_server); returns the path."""
  return reverb.Client(address).checkpoint()


def table_sizes(address: str) -> Dict[str, int]:
  """Each table's current number of items."""
  return {name: int(info.current_size)
          for name, info in reverb.Client(address).server_info().items()}


def connect(address: str, timeout_s: float = 30.0) -> reverb.Client:
  """A client of the Reverb server at `address`, once it has answered.

  Raises:
    ConnectionError: naming the address, if it does not answer within
      `timeout_s` seconds.
  """
  client = reverb.Client(address)
  deadline = time.monotonic() + timeout_s
  last_error = None
  while time.monotonic() < deadline:
    try:
      client.server_info(timeout=max(1, int(min(5, timeout_s))))
      return client
    except Exception as e:  # pylint: disable=broad-except  # gRPC errors.
      last_error = e
      time.sleep(0.2)
  raise ConnectionError(
      f'reverb_address: the Reverb server at {address!r} did not answer '
      f'within {timeout_s:.0f} s ({type(last_error).__name__}: '
      f'{str(last_error)[:200]}). Is it running, and is the port right?')


def drain(client: reverb.Client, table: str) -> List[Any]:
  """Takes every item `table` holds now (a queue: each is read once), in
  insertion order, unpacked as the table's signature."""
  size = client.server_info()[table].current_size
  if size == 0:
    return []
  samples = client.sample(table, num_samples=size, emit_timesteps=False,
                          unpack_as_table_signature=True)
  return [sample.data for sample in samples]
