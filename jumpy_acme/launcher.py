"""A local multi-process launcher: what Launchpad does for Acme, on one box.

A program is one Reverb server (started here, or joined by address), worker
processes (N actors, optionally a learner and evaluators), a counter shared
by all of them, and a stop signal. The launcher's own process watches the
counter, calls a progress hook (which may also do work, such as draining a
queue to disk), restarts an actor process that dies, and shuts everything
down cleanly on a stop condition, on Ctrl-C or SIGTERM (what `timeout`,
`kill` and batch schedulers send), or when a worker fails for good.
Parameters reach workers through the Reverb variable store
(jumpy_acme.variables): workers get the server's address. With
`replay_checkpoint_dir` the server's tables persist there (loaded at start,
written periodically and at shutdown), so a program run again continues
with the replay the last one had.

  def actor(context, **kwargs):        # A top-level (picklable) function.
    client = replay.connect(context.reverb_address)
    while not context.stop.is_set():
      ...; context.counter.increment(actor_steps=n)

  launcher = LocalLauncher(tables=[...], counter_keys=('actor_steps',))
  launcher.add_workers('actor', actor, num=2, seed=0)
  counts = launcher.run(stop_when=lambda c: c['actor_steps'] >= 10_000)
"""

import dataclasses
import multiprocessing
import signal
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from absl import logging
import reverb

from jumpy_acme import replay


class SharedCounter:
  """Named counts in shared memory, safe to increment from any process."""

  def __init__(self, keys: Sequence[str], context=None):
    if len(set(keys)) != len(keys) or not keys:
      raise ValueError(f'keys: expected distinct names, got {list(keys)}.')
    context = context or multiprocessing.get_context('spawn')
    self._keys = tuple(keys)
    self._values = context.Array('d', len(self._keys))  # Has its own lock.

  def increment(self, **counts: float) -> Dict[str, float]:
    unknown = sorted(set(counts) - set(self._keys))
    if unknown:
      raise KeyError(f'counter keys {unknown} are unknown; keys: '
                     f'{list(self._keys)}.')
    with self._values.get_lock():
      for key, value in counts.items():
        self._values[self._keys.index(key)] += value
      return dict(zip(self._keys, self._values[:]))

  def get_counts(self) -> Dict[str, float]:
    with self._values.get_lock():
      return dict(zip(self._keys, self._values[:]))


@dataclasses.dataclass
class WorkerContext:
  """What a worker process receives."""
  name: str            # 'actor', 'learner', ...
  index: int           # 0..num-1 within its group.
  seed: int            # Distinct per worker: base seed + 1000 * group + index.
  reverb_address: str
  counter: SharedCounter
  stop: Any            # multiprocessing.Event: set when the program stops.


def _stop_on_sigterm(signum, frame):
  """SIGTERM handler: stops like Ctrl-C does (KeyboardInterrupt, so
  `finally` blocks run: a learner checkpoints), once; a second SIGTERM
  while that cleanup runs is ignored (SIGKILL still ends the process)."""
  del frame
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
  raise KeyboardInterrupt(f'signal {signum}')


def _worker_main(fn, context: WorkerContext, kwargs):
  """Entry point of every worker process (NOT jittable: process glue)."""
  signal.signal(signal.SIGTERM, _stop_on_sigterm)
  try:
    fn(context, **kwargs)
  except KeyboardInterrupt:
    pass  # The launcher's process handles Ctrl-C for everyone.
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    raise SystemExit(1) from None


@dataclasses.dataclass
class _Group:
  name: str
  fn: Callable[..., None]
  num: int
  restart: bool
  seed: int
  kwargs: Mapping[str, Any]
  processes: List[Any] = dataclasses.field(default_factory=list)
  restarts: List[int] = dataclasses.field(default_factory=list)


class WorkerFailed(RuntimeError):
  """A worker that may not be restarted died, or one died too often."""


class LocalLauncher:
  """Runs a Reverb server and worker processes on this machine."""

  def __init__(self, tables: Union[Sequence[reverb.Table],
                                  Callable[[], Sequence[reverb.Table]]] = (),
               reverb_address: Optional[str] = None,
               counter_keys: Sequence[str] = ('actor_steps',
                                              'actor_episodes'),
               max_restarts: int = 3, port: Optional[int] = None,
               connect_timeout_s: float = 30.0,
               shutdown_timeout_s: float = 60.0,
               replay_checkpoint_dir: Optional[str] = None,
               replay_checkpoint_every_s: float = 600.0):
    """Initializes the program (nothing starts before `run`).

    Args:
      tables: tables of a Reverb server started by `run`, or a callable
        returning them (what the Ray launcher needs). Empty: join the
        server at `reverb_address` instead.
      reverb_address: 'host:port' of a running server to join.
      counter_keys: names of the shared counts.
      max_restarts: how often each restartable worker may be restarted.
      port: port for the started server (None: any free port).
      connect_timeout_s: how long to wait for a joined server to answer.
      shutdown_timeout_s: how long workers get to finish after a stop
        (an actor finishes its episode) before they are terminated.
      replay_checkpoint_dir: the started server's tables persist here: it
        loads the latest checkpoint at start (items and rate-limiter
        counts), and writes one every `replay_checkpoint_every_s` seconds
        and once the workers have stopped. None: nothing persists.
      replay_checkpoint_every_s: seconds between those checkpoints.
    """
    replay.check_checkpointing(replay_checkpoint_dir,
                               replay_checkpoint_every_s,
                               starts_server=bool(tables),
                               reverb_address=reverb_address)
    if callable(tables):
      tables = tables()
    if bool(tables) == bool(reverb_address):
      raise ValueError('Give either tables (start a Reverb server) or '
                       'reverb_address (join one), not both or neither; got '
                       f'{len(tables)} tables and reverb_address='
                       f'{reverb_address!r}.')
    self._tables = list(tables)
    self._address = reverb_address
    self._port = port
    self._context = multiprocessing.get_context('spawn')
    self.counter = SharedCounter(counter_keys, self._context)
    self._stop = self._context.Event()
    self._groups: List[_Group] = []
    self._max_restarts = max_restarts
    self._connect_timeout_s = connect_timeout_s
    self._shutdown_timeout_s = shutdown_timeout_s
    self.server: Optional[reverb.Server] = None
    self.interrupted = False
    self._replay_dir = replay_checkpoint_dir
    self._replay_every_s = replay_checkpoint_every_s
    self._replay_saved = 0.0
    # Items per table when the server started (restored from the replay
    # checkpoint), for the caller to report.
    self.restored_items: Dict[str, int] = {}

  @property
  def address(self) -> Optional[str]:
    return self._address

  def add_workers(self, name: str, fn: Callable[..., None], num: int = 1,
                  restart: bool = True, seed: int = 0,
                  resources: Optional[Mapping[str, float]] = None,
                  **kwargs):
    """Adds `num` processes running `fn(context, **kwargs)`.

    Args:
      name: the group's name (also in each WorkerContext).
      fn: a module-level function (it is pickled into a new process).
      num: how many processes.
      restart: restart a process that dies with an error (actors: yes;
        a learner without checkpoints: no).
      seed: base seed; worker i of this group gets seed + 1000 * g + i.
      resources: what each worker needs on a cluster (the Ray launcher's;
        one machine ignores it).
      **kwargs: passed to `fn` (must be picklable).
    """
    del resources  # Every local process shares this machine.
    if num < 0:
      raise ValueError(f'num: expected >= 0, got {num}.')
    self._groups.append(_Group(name, fn, num, restart, seed, kwargs))

  def _start(self, group: _Group, index: int, group_index: int):
    context = WorkerContext(
        name=group.name, index=index,
        seed=group.seed + 1000 * group_index + index,
        reverb_address=self._address, counter=self.counter, stop=self._stop)
    process = self._context.Process(
        target=_worker_main, args=(group.fn, context, dict(group.kwargs)),
        name=f'{group.name}-{index}', daemon=False)
    process.start()
    return process

  def run(self, stop_when: Callable[[Dict[str, float]], bool],
          on_poll: Optional[Callable[[Dict[str, float]], None]] = None,
          poll_s: float = 0.5,
          initial_counts: Optional[Mapping[str, float]] = None
          ) -> Dict[str, float]:
    """Starts everything, waits for `stop_when(counts)`, shuts down.

    Also stops when every worker has exited by itself. Ctrl-C or SIGTERM
    (to this process or its whole process group) stops the program
    cleanly (workers run their cleanup, so a learner checkpoints; those
    that hang are killed; the server stops) and sets `interrupted`; the
    counts so far are returned.

    Args:
      stop_when: called with the counts every `poll_s` seconds.
      on_poll: called with the counts every poll (progress, draining...).
      poll_s: seconds between polls.
      initial_counts: counts to start from (a resumed run's).

    Returns:
      The final counts.

    Raises:
      WorkerFailed: a non-restartable worker died with an error, or a
        worker died more than `max_restarts` times.
    """
    if initial_counts:
      self.counter.increment(**initial_counts)
    handles_sigterm = threading.current_thread() is threading.main_thread()
    if handles_sigterm:  # (Python may install handlers there only.)
      previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
      if self._tables:
        self.server = replay.start_server(self._tables, port=self._port,
                                          checkpoint_dir=self._replay_dir)
        self._address = f'localhost:{self.server.port}'
        if self._replay_dir is not None:
          self.restored_items = replay.table_sizes(self._address)
          self._replay_saved = time.monotonic()
      else:
        replay.connect(self._address, self._connect_timeout_s)
      for group_index, group in enumerate(self._groups):
        group.processes = [self._start(group, i, group_index)
                           for i in range(group.num)]
        group.restarts = [0] * group.num
      while True:
        counts = self.counter.get_counts()
        if on_poll is not None:
          on_poll(counts)
        if stop_when(counts):
          break
        if not self._supervise():
          break  # Every worker finished by itself.
        if (self._replay_dir is not None and
            time.monotonic() - self._replay_saved >= self._replay_every_s):
          self._checkpoint_replay()
        time.sleep(poll_s)
    except KeyboardInterrupt:
      self.interrupted = True
      logging.warning('Interrupted: stopping workers and the server.')
    finally:
      # After Ctrl-C nothing more is polled: the user wants out.
      self._shutdown(None if self.interrupted else on_poll, poll_s)
      if handles_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None
                      else previous)
    return self.counter.get_counts()

  def _supervise(self) -> bool:
    """Restarts dead workers; returns whether any worker is still alive."""
    alive = False
    for group_index, group in enumerate(self._groups):
      for i, process in enumerate(group.processes):
        if process.is_alive():
          alive = True
          continue
        if process.exitcode in (0, None):
          continue
        label = f'{group.name}-{i} (exit code {process.exitcode})'
        if not group.restart:
          raise WorkerFailed(f'Worker {label} died and may not be restarted.')
        if group.restarts[i] >= self._max_restarts:
          raise WorkerFailed(f'Worker {label} died {group.restarts[i] + 1} '
                             f'times (max_restarts={self._max_restarts}).')
        group.restarts[i] += 1
        logging.warning('Worker %s died; restarting it (%d/%d).', label,
                        group.restarts[i], self._max_restarts)
        group.processes[i] = self._start(group, i, group_index)
        alive = True
    return alive

  @property
  def restarts(self) -> Dict[str, int]:
    return {f'{g.name}-{i}': r for g in self._groups
            for i, r in enumerate(g.restarts)}

  def processes(self, name: str) -> List[Any]:
    """The live process objects of a group (tests use this to kill one)."""
    return [p for g in self._groups if g.name == name for p in g.processes]

  def _shutdown(self, on_poll, poll_s: float):
    """Stops workers (polling meanwhile, so queues keep draining), then
    the server."""
    self._stop.set()
    deadline = time.monotonic() + self._shutdown_timeout_s
    processes = [p for g in self._groups for p in g.processes]
    while (any(p.is_alive() for p in processes) and
           time.monotonic() < deadline):
      if on_poll is not None:
        on_poll(self.counter.get_counts())
      for process in processes:
        process.join(timeout=poll_s / max(1, len(processes)))
    for group in self._groups:
      for process in group.processes:
        if process.is_alive():
          logging.warning('Terminating %s, which did not stop in time.',
                          process.name)
          process.terminate()  # Its cleanup gets 5 more seconds.
          process.join(timeout=5)
          if process.is_alive():
            process.kill()
            process.join()
    if on_poll is not None:
      on_poll(self.counter.get_counts())  # The last items.
    if self.server is not None:
      if self._replay_dir is not None:
        self._checkpoint_replay()
      self.server.stop()

  def _checkpoint_replay(self) -> None:
    """Writes the server's tables to replay_checkpoint_dir."""
    replay.checkpoint(self._address)
    self._replay_saved = time.monotonic()


LAUNCHERS = ('local', 'ray')


def make_launcher(kind: str = 'local', ray_address: Optional[str] = None,
                  ray_init_kwargs: Optional[Mapping[str, Any]] = None,
                  **kwargs):
  """A LocalLauncher ('local') or a ray_launcher.RayLauncher ('ray') with
  the same arguments (`tables` as a picklable callable for Ray)."""
  if kind == 'local':
    if ray_address:
      raise ValueError(f'ray_address: only used with launcher "ray", got '
                       f'{ray_address!r} with launcher "local".')
    return LocalLauncher(**kwargs)
  if kind == 'ray':
    from jumpy_acme import ray_launcher  # pylint: disable=g-import-not-at-top
    if 'tables' in kwargs and not kwargs['tables']:
      del kwargs['tables']
    return ray_launcher.RayLauncher(ray_address=ray_address,
                                    init_kwargs=ray_init_kwargs, **kwargs)
  raise ValueError(f'launcher: expected one of {LAUNCHERS}, got {kind!r}.')
