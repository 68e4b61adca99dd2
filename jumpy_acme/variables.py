"""A variable store on a Reverb table of size one.

Without Launchpad, parameters reach actors through Reverb: the learner
inserts its parameter trees into a table that holds exactly one item (the
newest; inserting evicts the old one), and clients sample that item without
consuming it. Item layout: [version (int64 scalar), leaf_0, leaf_1, ...], the
leaves of `{name: tree}` flattened in jax.tree_util order.

  server:   reverb.Server([make_variable_table()], port=...)
  learner:  publisher = VariablePublisher(client); publisher.publish(
                {'policy': params}, version=step)
  actors:   source = VariableClient(client, {'policy': params_template},
                                    update_period=100)
            source.update()            # fetches every 100th call
            source.params              # the newest 'policy' tree
"""

import concurrent.futures
import threading
import time
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import jax
import numpy as np
import reverb

from jumpy_acme import core

DEFAULT_TABLE = 'variables'


def make_variable_table(name: str = DEFAULT_TABLE) -> reverb.Table:
  """A table that keeps only the newest item and never consumes it."""
  return reverb.Table(
      name=name,
      sampler=reverb.selectors.Uniform(),
      remover=reverb.selectors.Fifo(),
      max_size=1,
      rate_limiter=reverb.rate_limiters.MinSize(1),
      max_times_sampled=0)


def _flatten(variables: Mapping[str, Any]) -> Tuple[List[str], List[Any], Any]:
  leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(
      dict(variables))
  names = [jax.tree_util.keystr(path) for path, _ in leaves_with_paths]
  return names, [leaf for _, leaf in leaves_with_paths], treedef


class VariablePublisher:
  """The learner's side: publishes its newest variables."""

  def __init__(self, client: reverb.Client, table: str = DEFAULT_TABLE):
    self._client = client
    self._table = table

  def publish(self, variables: Mapping[str, Any], version: int = 0) -> None:
    """Inserts `{name: tree}` (evicting the previous item).

    Args:
      variables: the trees to publish, by name (e.g. {'policy': params}).
      version: a counter clients can read back (e.g. the learner step).
    """
    _, leaves, _ = _flatten(variables)
    data = [np.asarray(version, np.int64)] + [np.asarray(x) for x in leaves]
    self._client.insert(data, priorities={self._table: 1.0})


class PeriodicVariableClient(core.VariableSource):
  """An actor's view of a variable source: fetches every `update_period`
  calls to update() (in a background thread, as Acme's VariableClient) and
  keeps the newest trees. Subclasses say how to fetch (`_fetch`).

  The background fetch runs in a daemon thread: a fetch left waiting on a
  server that has gone away (a learner that crashed, a test's server
  stopped mid-fetch) cannot keep the actor's process from exiting.
  """

  def __init__(self, names: Sequence[str], update_period: int = 1):
    if update_period < 1:
      raise ValueError(f'update_period: expected >= 1, got {update_period}.')
    if not names:
      raise ValueError('names: expected at least one variable name, got '
                       f'{list(names)}.')
    self._keys = list(names)
    self._update_period = update_period
    self._variables: Optional[dict] = None
    self._version: Optional[int] = None
    self._calls = 0
    self._future: Optional[concurrent.futures.Future] = None

  @property
  def update_period(self) -> int:
    return self._update_period

  def _fetch(self) -> Tuple[int, dict]:
    """(version, {name: tree}) fetched now."""
    raise NotImplementedError

  def _apply(self, result: Tuple[int, dict]):
    self._version, self._variables = result

  def update(self, wait: bool = False) -> None:
    """Counts a call; every `update_period`-th call starts a fetch (and
    waits for it if `wait`)."""
    if self._future is not None and self._future.done():
      future, self._future = self._future, None
      self._apply(future.result())
    self._calls += 1
    if self._calls < self._update_period:
      return
    self._calls = 0
    if wait:
      self.update_and_wait()
    elif self._future is None:
      self._future = self._start_fetch()

  def _start_fetch(self) -> concurrent.futures.Future:
    future = concurrent.futures.Future()

    def run():
      try:
        future.set_result(self._fetch())
      except BaseException as error:  # pylint: disable=broad-except
        future.set_exception(error)

    threading.Thread(target=run, name='variable-fetch', daemon=True).start()
    return future

  def update_and_wait(self) -> None:
    """Fetches the newest variables now."""
    self._apply(self._fetch())

  # Reading.

  def get_variables(self, names: Sequence[str]) -> List[Any]:
    """Fetches now, then returns the named trees in order."""
    self._check_names(names)
    self.update_and_wait()
    return [self._variables[n] for n in names]

  def latest(self, name: str) -> Any:
    """The newest fetched tree called `name` (fetched now if none yet)."""
    self._check_names([name])
    if self._variables is None:
      self.update_and_wait()
    return self._variables[name]

  def _check_names(self, names: Sequence[str]):
    unknown = [n for n in names if n not in self._keys]
    if unknown:
      raise ValueError(f'names: {unknown} are not among the published '
                       f'names {self._keys}.')

  @property
  def params(self) -> Any:
    """The newest fetched trees: the tree itself if there is one name."""
    if self._variables is None:
      self.update_and_wait()
    if len(self._keys) == 1:
      return self._variables[self._keys[0]]
    return [self._variables[n] for n in self._keys]

  @property
  def version(self) -> Optional[int]:
    """The version of the newest fetched variables (None before a fetch)."""
    return self._version

  def close(self, timeout_s: Optional[float] = None):
    """Waits (at most `timeout_s`, None: no limit) for a background fetch in
    flight; its result is dropped."""
    if self._future is not None:
      concurrent.futures.wait([self._future], timeout=timeout_s)
      self._future = None


class FixedVariableSource(core.VariableSource):
  """Gives the same tree under every name: parameters restored from a
  checkpoint, or a benchmark's, behind a VariableSource."""

  def __init__(self, tree: Any):
    self._tree = tree

  def get_variables(self, names: Sequence[str]) -> List[Any]:
    return [self._tree for _ in names]


class SourceVariableClient(PeriodicVariableClient):
  """A PeriodicVariableClient over any VariableSource (e.g. a learner in
  the same process): what builders give their actors, as Acme's do."""

  def __init__(self, source: core.VariableSource, names: Sequence[str],
               update_period: int = 1):
    if source is None:
      raise ValueError('source: expected a VariableSource (e.g. the learner '
                       'or a variables.VariableClient), got None.')
    super().__init__(names, update_period)
    self._source = source
    self._fetches = 0

  def _fetch(self) -> Tuple[int, dict]:
    trees = self._source.get_variables(self._keys)
    self._fetches += 1
    version = getattr(self._source, 'version', None)
    return (self._fetches if version is None else version,
            dict(zip(self._keys, trees)))


class VariableClient(PeriodicVariableClient):
  """The actors' side of the Reverb store: fetches every `update_period`
  calls.

  Trees come back with the structure, shapes and dtypes of `templates` (e.g.
  freshly initialised parameters); a mismatch raises ValueError naming the
  leaf. `update()` fetches in a background thread, as Acme's VariableClient;
  `update_and_wait()` and `get_variables()` fetch now.
  """

  def __init__(self, client: reverb.Client, templates: Mapping[str, Any],
               table: str = DEFAULT_TABLE, update_period: int = 1,
               timeout_s: float = 60.0):
    """Initializes the client.

    Args:
      client: a Reverb client of the server that holds the table.
      templates: `{name: tree}` with the published structure.
      table: the variable table's name.
      update_period: `update()` fetches on every `update_period`-th call.
      timeout_s: how long a fetch waits for a first item before raising.
    """
    if not templates:
      raise ValueError('templates: expected at least one named tree, got {}.')
    super().__init__(list(templates.keys()), update_period)
    self._client = client
    self._table = table
    self._timeout_s = timeout_s
    self._names, leaves, self._treedef = _flatten(templates)
    self._leaf_specs = [(np.shape(x), np.asarray(x).dtype) for x in leaves]

  def _wait_for_item(self):
    deadline = time.monotonic() + self._timeout_s
    while True:
      info = self._client.server_info(timeout=max(1, int(self._timeout_s)))
      if self._table not in info:
        raise ValueError(f'table: no table {self._table!r} on the server; '
                         f'tables: {sorted(info)}.')
      if info[self._table].current_size > 0:
        return
      if time.monotonic() > deadline:
        raise TimeoutError(
            f'No variables were published to table {self._table!r} within '
            f'{self._timeout_s} s (is the learner running?).')
      time.sleep(0.05)

  def _fetch(self) -> Tuple[int, dict]:
    self._wait_for_item()
    sample = next(self._client.sample(self._table, num_samples=1,
                                      emit_timesteps=False))
    # Legacy inserts add a leading time dimension of 1.
    data = [np.asarray(x)[0] for x in sample.data]
    version, leaves = int(data[0]), data[1:]
    if len(leaves) != len(self._leaf_specs):
      raise ValueError(
          f'variables: the table holds {len(leaves)} leaves, the templates '
          f'have {len(self._leaf_specs)}; leaves: {self._names}.')
    errors = []
    for name, leaf, (shape, dtype) in zip(self._names, leaves,
                                          self._leaf_specs):
      if leaf.shape != shape or leaf.dtype != dtype:
        errors.append(f'variables{name}: expected {shape} {dtype}, got '
                      f'{leaf.shape} {leaf.dtype}.')
    if errors:
      raise ValueError(' '.join(errors))
    return version, jax.tree_util.tree_unflatten(self._treedef, leaves)
