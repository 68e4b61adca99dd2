"""The launcher's worker contract on Ray: programs larger than one machine.

Same interface as `launcher.LocalLauncher` (add_workers, run, address,
restarts, interrupted), so a program runs unchanged on either:

- Reverb is served from a Ray actor, at `<node ip>:<port>`, an address
  every node of the cluster can reach; `tables` is a picklable callable
  that builds the tables there (Reverb tables cannot be pickled).
- The counter and the stop flag live in one Ray actor; workers get proxies
  with the local ones' methods (`counter.increment`, `stop.is_set`).
- Each worker is a Ray task with its group's resources (e.g. actors
  `{'num_cpus': 1}`, the learner `{'num_gpus': 1}`); Ray reruns a
  restartable worker whose process dies or that raises, up to
  `max_restarts` times (`max_retries`), on any node.
- Ctrl-C, a stop condition, or a worker that fails for good stop every
  worker (the stop flag, then cancellation) and the server.

  launcher = RayLauncher(tables=functools.partial(make_tables, config),
                         ray_address='auto')   # or None: a local instance
  launcher.add_workers('actor', actor_fn, num=64, resources={'num_cpus': 1})
  counts = launcher.run(stop_when=lambda c: c['actor_steps'] >= 10**6)

Ray 2.60 turns token authentication on by default (it writes
~/.ray/auth_token); RAY_AUTH_MODE=disabled opts out (docs/distributed.md).
"""

import os
import socket
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from absl import logging

from jumpy_acme import launcher as local_lib
from jumpy_acme import replay

WorkerFailed = local_lib.WorkerFailed


def _ray():
  try:
    import ray  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError('launcher: ray is not installed; pip install '
                      '"jumpy-acme[ray]" (pinned in constraints.txt).') from e
  return ray


class _State:
  """Counts, the stop flag and worker starts: one Ray actor's state."""

  def __init__(self, keys: Sequence[str]):
    self._counts = {key: 0.0 for key in keys}
    self._stop = False
    self._starts: Dict[str, List[int]] = {}   # worker -> pids, in order.

  def increment(self, counts: Mapping[str, float]) -> Dict[str, float]:
    unknown = sorted(set(counts) - set(self._counts))
    if unknown:
      raise KeyError(f'counter keys {unknown} are unknown; keys: '
                     f'{list(self._counts)}.')
    for key, value in counts.items():
      self._counts[key] += value
    return dict(self._counts)

  def get_counts(self) -> Dict[str, float]:
    return dict(self._counts)

  def set_stop(self) -> None:
    self._stop = True

  def stopped(self) -> bool:
    return self._stop

  def started(self, worker: str, pid: int) -> None:
    self._starts.setdefault(worker, []).append(pid)

  def starts(self) -> Dict[str, List[int]]:
    return dict(self._starts)


class RayCounter:
  """The SharedCounter interface over the state actor."""

  def __init__(self, state):
    self._state = state

  def increment(self, **counts: float) -> Dict[str, float]:
    return _ray().get(self._state.increment.remote(counts))

  def get_counts(self) -> Dict[str, float]:
    return _ray().get(self._state.get_counts.remote())


class RayStop:
  """The multiprocessing.Event interface (is_set, set, wait) over it."""

  def __init__(self, state):
    self._state = state

  def is_set(self) -> bool:
    return _ray().get(self._state.stopped.remote())

  def set(self) -> None:
    _ray().get(self._state.set_stop.remote())

  def wait(self, timeout: Optional[float] = None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    while not self.is_set():
      if deadline is not None and time.monotonic() >= deadline:
        return False
      time.sleep(0.2)
    return True


def _node_address(ray) -> str:
  """The IP address Ray registered this node under (what the cluster's
  other nodes use to reach it)."""
  node_id = ray.get_runtime_context().get_node_id()
  for node in ray.nodes():
    if node.get('NodeID') == node_id:
      return node['NodeManagerAddress']
  return ray.util.get_node_ip_address()


class _ReverbServer:
  """Hosts a Reverb server in a Ray actor."""

  def __init__(self, tables_fn: Callable[[], Sequence[Any]],
               port: Optional[int], checkpoint_dir: Optional[str] = None):
    ray = _ray()
    self._server = replay.start_server(tables_fn(), port=port,
                                       checkpoint_dir=checkpoint_dir)
    self._address = f'{_node_address(ray)}:{self._server.port}'
    self._local = f'localhost:{self._server.port}'

  def address(self) -> str:
    return self._address

  def sizes(self) -> Dict[str, int]:
    return replay.table_sizes(self._local)

  def checkpoint(self) -> str:
    return replay.checkpoint(self._local)

  def stop(self) -> None:
    self._server.stop()


def _run_worker(fn, context: local_lib.WorkerContext, kwargs, state):
  """A Ray task's body: records its start (pid), then runs the worker; an
  error propagates, so that Ray reruns a restartable worker."""
  _ray().get(state.started.remote(f'{context.name}-{context.index}',
                                  os.getpid()))
  try:
    fn(context, **kwargs)
  except KeyboardInterrupt:
    pass  # The driver handles Ctrl-C for everyone.


def check_address(address: Optional[str], timeout_s: float = 5.0) -> None:
  """Fails fast, naming ray_address, when host:port does not answer."""
  if address in (None, '', 'auto', 'local') or address.startswith('ray://'):
    return
  host, _, port = address.rpartition(':')
  try:
    port = int(port)
  except ValueError:
    raise ValueError(f'ray_address: expected host:port, "auto" or '
                     f'ray://host:port, got {address!r}.') from None
  try:
    socket.create_connection((host, port), timeout=timeout_s).close()
  except OSError as e:
    raise ValueError(f'ray_address: no Ray head answers at {address!r} '
                     f'within {timeout_s:.0f} s ({e}).') from None


class RayLauncher:
  """Runs a Reverb server and worker tasks on a Ray cluster."""

  def __init__(self, tables: Optional[Callable[[], Sequence[Any]]] = None,
               reverb_address: Optional[str] = None,
               counter_keys: Sequence[str] = ('actor_steps',
                                              'actor_episodes'),
               max_restarts: int = 3, port: Optional[int] = None,
               connect_timeout_s: float = 30.0,
               shutdown_timeout_s: float = 60.0,
               ray_address: Optional[str] = None,
               init_kwargs: Optional[Mapping[str, Any]] = None,
               replay_checkpoint_dir: Optional[str] = None,
               replay_checkpoint_every_s: float = 600.0):
    """Initializes the program (nothing starts before `run`).

    Args:
      tables: a picklable callable returning the Reverb tables of a server
        started in a Ray actor by `run`. None: join `reverb_address`.
      reverb_address: 'host:port' of a running server to join.
      counter_keys: names of the shared counts.
      max_restarts: how often Ray reruns each restartable worker.
      port: the server's port (None: any free port).
      connect_timeout_s: how long to wait for a joined server to answer.
      shutdown_timeout_s: how long workers get to finish after a stop.
      ray_address: a running cluster ('auto', 'host:port' or
        'ray://host:port'); None starts a local instance for this run.
      init_kwargs: more ray.init arguments (e.g. num_cpus for a local one).
      replay_checkpoint_dir, replay_checkpoint_every_s: as LocalLauncher's
        (the directory is on the node that hosts the server).
    """
    replay.check_checkpointing(replay_checkpoint_dir,
                               replay_checkpoint_every_s,
                               starts_server=tables is not None,
                               reverb_address=reverb_address)
    if (tables is None) == (reverb_address is None):
      raise ValueError('Give either tables (start a Reverb server) or '
                       'reverb_address (join one), not both or neither.')
    if tables is not None and not callable(tables):
      raise ValueError('tables: the Ray launcher builds the tables inside '
                       'a Ray actor, so it needs a picklable callable '
                       f'returning them (e.g. functools.partial), got '
                       f'{type(tables).__name__}.')
    check_address(ray_address)
    self._tables_fn = tables
    self._address = reverb_address
    self._port = port
    self._keys = tuple(counter_keys)
    self._max_restarts = max_restarts
    self._connect_timeout_s = connect_timeout_s
    self._shutdown_timeout_s = shutdown_timeout_s
    self._ray_address = ray_address
    self._init_kwargs = dict(init_kwargs or {})
    self._groups: List[Dict[str, Any]] = []
    self._state = None
    self._server = None
    self._started_ray = False
    self._last_starts: Dict[str, List[int]] = {}
    self.counter: Optional[RayCounter] = None
    self.interrupted = False
    self._replay_dir = replay_checkpoint_dir
    self._replay_every_s = replay_checkpoint_every_s
    self._replay_saved = 0.0
    self.restored_items: Dict[str, int] = {}

  @property
  def address(self) -> Optional[str]:
    return self._address

  def add_workers(self, name: str, fn: Callable[..., None], num: int = 1,
                  restart: bool = True, seed: int = 0,
                  resources: Optional[Mapping[str, float]] = None,
                  **kwargs):
    """As LocalLauncher.add_workers, plus each task's Ray `resources`
    (default {'num_cpus': 1})."""
    if num < 0:
      raise ValueError(f'num: expected >= 0, got {num}.')
    self._groups.append({'name': name, 'fn': fn, 'num': num,
                         'restart': restart, 'seed': seed, 'kwargs': kwargs,
                         'resources': dict(resources or {'num_cpus': 1}),
                         'refs': []})

  def _init(self):
    ray = _ray()
    if not ray.is_initialized():
      kwargs = {'include_dashboard': False, 'log_to_driver': True,
                **self._init_kwargs}
      ray.init(address=self._ray_address, **kwargs)
      self._started_ray = True

  def run(self, stop_when: Callable[[Dict[str, float]], bool],
          on_poll: Optional[Callable[[Dict[str, float]], None]] = None,
          poll_s: float = 0.5,
          initial_counts: Optional[Mapping[str, float]] = None
          ) -> Dict[str, float]:
    """As LocalLauncher.run."""
    ray = _ray()
    counts = {key: 0.0 for key in self._keys}
    try:
      self._init()
      self._state = ray.remote(num_cpus=0)(_State).remote(self._keys)
      self.counter = RayCounter(self._state)
      if initial_counts:
        self.counter.increment(**initial_counts)
      stop = RayStop(self._state)
      if self._tables_fn is not None:
        self._server = ray.remote(num_cpus=0)(_ReverbServer).remote(
            self._tables_fn, self._port, self._replay_dir)
        self._address = ray.get(self._server.address.remote())
        if self._replay_dir is not None:
          self.restored_items = ray.get(self._server.sizes.remote())
          self._replay_saved = time.monotonic()
      else:
        replay.connect(self._address, self._connect_timeout_s)
      # max_calls=1: a worker's process ends with it (its simulator, JAX
      # and Reverb clients go with it) rather than idling in Ray's pool.
      task = ray.remote(max_calls=1)(_run_worker)
      for group_index, group in enumerate(self._groups):
        options = dict(group['resources'])
        options['max_retries'] = (self._max_restarts if group['restart']
                                  else 0)
        options['retry_exceptions'] = group['restart']
        for i in range(group['num']):
          context = local_lib.WorkerContext(
              name=group['name'], index=i,
              seed=group['seed'] + 1000 * group_index + i,
              reverb_address=self._address, counter=self.counter, stop=stop)
          group['refs'].append(task.options(**options).remote(
              group['fn'], context, dict(group['kwargs']), self._state))
      while True:
        counts = self.counter.get_counts()
        if on_poll is not None:
          on_poll(counts)
        if stop_when(counts):
          break
        if not self._supervise():
          break
        if (self._replay_dir is not None and
            time.monotonic() - self._replay_saved >= self._replay_every_s):
          ray.get(self._server.checkpoint.remote())
          self._replay_saved = time.monotonic()
        time.sleep(poll_s)
    except KeyboardInterrupt:
      self.interrupted = True
      logging.warning('Interrupted: stopping Ray workers and the server.')
    finally:
      counts = self._shutdown(None if self.interrupted else on_poll,
                              poll_s) or counts
    return counts

  def _supervise(self) -> bool:
    """Raises WorkerFailed for a worker Ray gave up on; returns whether
    any worker is still running."""
    ray = _ray()
    refs = [r for g in self._groups for r in g['refs']]
    if not refs:
      return False
    done, running = ray.wait(refs, num_returns=len(refs), timeout=0)
    for ref in done:
      try:
        ray.get(ref)
      except Exception as e:  # pylint: disable=broad-except
        raise WorkerFailed(f'A Ray worker failed for good: {e}') from e
    return bool(running)

  @property
  def restarts(self) -> Dict[str, int]:
    return {name: len(pids) - 1 for name, pids in self.worker_pids().items()}

  def worker_pids(self) -> Dict[str, List[int]]:
    """Each worker's process ids, one per start (tests kill one); after
    `run`, those it had at the end."""
    if self._state is None:
      return dict(self._last_starts)
    return _ray().get(self._state.starts.remote())

  def _shutdown(self, on_poll, poll_s: float) -> Optional[Dict[str, float]]:
    ray = _ray()
    if not ray.is_initialized() or self._state is None:
      return None
    counts = None
    try:
      ray.get(self._state.set_stop.remote())
      refs = [r for g in self._groups for r in g['refs']]
      deadline = time.monotonic() + self._shutdown_timeout_s
      while refs and time.monotonic() < deadline:
        if on_poll is not None:
          on_poll(self.counter.get_counts())
        _, refs = ray.wait(refs, num_returns=len(refs), timeout=poll_s)
      for ref in refs:
        logging.warning('Cancelling a Ray worker that did not stop in time.')
        ray.cancel(ref, force=True)
      counts = self.counter.get_counts()
      if on_poll is not None:
        on_poll(counts)  # The last items.
      self._last_starts = self.worker_pids()
      if self._server is not None:
        if self._replay_dir is not None:
          ray.get(self._server.checkpoint.remote())
        ray.get(self._server.stop.remote())
        ray.kill(self._server)
      ray.kill(self._state)
      self._state = None
    finally:
      if self._started_ray:
        ray.shutdown()
    return counts
