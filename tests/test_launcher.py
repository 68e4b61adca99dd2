"""The local multi-process launcher with cheap workers and a real Reverb."""

import os
import signal
import time

import numpy as np
import pytest
import reverb

from jumpy_acme import launcher as launcher_lib
from jumpy_acme import replay
from tests import launcher_workers


def _table(name='t'):
  return reverb.Table.queue(name, 100)


@pytest.mark.integration
def test_counter_is_shared_and_workers_finishing_end_the_program():
  launcher = launcher_lib.LocalLauncher(tables=[_table()],
                                        counter_keys=('actor_steps',))
  launcher.add_workers('actor', launcher_workers.counting_worker, num=2,
                       steps=25)
  counts = launcher.run(stop_when=lambda c: False, poll_s=0.1)
  assert counts['actor_steps'] == 50
  assert not launcher.interrupted


@pytest.mark.integration
def test_stop_condition_stops_workers():
  launcher = launcher_lib.LocalLauncher(tables=[_table()],
                                        counter_keys=('actor_steps',))
  launcher.add_workers('actor', launcher_workers.forever_worker, num=2)
  start = time.time()
  counts = launcher.run(stop_when=lambda c: c['actor_steps'] >= 30,
                        poll_s=0.1)
  assert counts['actor_steps'] >= 30
  assert time.time() - start < 60
  assert all(not p.is_alive() for p in launcher.processes('actor'))


@pytest.mark.integration
def test_a_killed_actor_is_restarted():
  launcher = launcher_lib.LocalLauncher(tables=[_table()],
                                        counter_keys=('actor_steps',))
  launcher.add_workers('actor', launcher_workers.forever_worker, num=2)
  killed = []

  def kill_once(counts):
    if counts['actor_steps'] > 20 and not killed:
      victim = launcher.processes('actor')[0]
      os.kill(victim.pid, signal.SIGKILL)
      killed.append(victim.pid)

  launcher.run(stop_when=lambda c: c['actor_steps'] >= 400,
               on_poll=kill_once, poll_s=0.1)
  assert killed
  assert launcher.restarts == {'actor-0': 1, 'actor-1': 0}


@pytest.mark.integration
def test_sigterm_to_the_process_group_stops_like_ctrl_c(tmp_path):
  # What `timeout` or a batch scheduler does: SIGTERM to every process.
  # Each worker runs its cleanup (a learner's checkpoint) instead of dying.
  recorded = []
  previous = signal.signal(signal.SIGTERM,
                           lambda *_: recorded.append('test handler'))
  try:
    launcher = launcher_lib.LocalLauncher(tables=[_table()],
                                          counter_keys=('actor_steps',),
                                          shutdown_timeout_s=10)
    launcher.add_workers('learner', launcher_workers.stubborn_worker,
                         num=2, path=str(tmp_path / 'cleanup'))
    deadline = time.time() + 120
    sent = []

    def terminate_all(counts):
      started = len(list(tmp_path.glob('cleanup.started.*')))
      if started == 2 and counts['actor_steps'] >= 20 and not sent:
        sent.append(True)
        for process in launcher.processes('learner'):
          os.kill(process.pid, signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)

    launcher.run(stop_when=lambda c: time.time() > deadline,
                 on_poll=terminate_all, poll_s=0.1)
    assert sent
    assert launcher.interrupted  # Not the deadline: the signal stopped it.
    assert time.time() < deadline
    for index in (0, 1):
      assert (tmp_path / f'cleanup.{index}').read_text() == 'cleaned up'
    # The caller's handler is back once the program has stopped.
    os.kill(os.getpid(), signal.SIGTERM)
    assert recorded == ['test handler']
  finally:
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.integration
def test_a_failing_worker_stops_the_program_with_a_clear_error():
  launcher = launcher_lib.LocalLauncher(tables=[_table()],
                                        counter_keys=('actor_steps',),
                                        max_restarts=1)
  launcher.add_workers('learner', launcher_workers.failing_worker,
                       restart=False)
  with pytest.raises(launcher_lib.WorkerFailed, match='learner-0'):
    launcher.run(stop_when=lambda c: False, poll_s=0.1)


@pytest.mark.integration
def test_unreachable_server_fails_after_a_bounded_wait():
  start = time.time()
  with pytest.raises(ConnectionError, match="'localhost:1' did not answer"):
    replay.connect('localhost:1', timeout_s=2)
  assert time.time() - start < 15
  launcher = launcher_lib.LocalLauncher(reverb_address='localhost:1',
                                        counter_keys=('actor_steps',),
                                        connect_timeout_s=2)
  with pytest.raises(ConnectionError):
    launcher.run(stop_when=lambda c: True)


@pytest.mark.integration
def test_onthefly_buffer_keeps_actors_and_learner_in_step():
  """Actors insert, a learner samples: the rate limiter holds the ratio."""
  samples_per_insert, min_size, buffer = 4.0, 20, 40.0
  table = reverb.Table(
      name='onthefly', sampler=reverb.selectors.Uniform(),
      remover=reverb.selectors.Fifo(), max_size=1000,
      rate_limiter=reverb.rate_limiters.SampleToInsertRatio(
          samples_per_insert=samples_per_insert, min_size_to_sample=min_size,
          error_buffer=buffer))
  launcher = launcher_lib.LocalLauncher(
      tables=[table], counter_keys=('actor_steps', 'learner_samples'))
  launcher.add_workers('actor', launcher_workers.inserting_worker, num=2,
                       table='onthefly', size=3)
  launcher.add_workers('learner', launcher_workers.sampling_worker,
                       restart=False, table='onthefly', batches=40,
                       batch_size=8)
  counts = launcher.run(
      stop_when=lambda c: c['learner_samples'] >= 320, poll_s=0.1)
  inserts, samples = counts['actor_steps'], counts['learner_samples']
  assert samples == 320
  # Reverb allows |samples - spi * (inserts - min_size)| <= buffer (in
  # samples); actors could otherwise have inserted far more meanwhile.
  assert abs(samples - samples_per_insert * (inserts - min_size)) <= (
      buffer + 2 * 8 + samples_per_insert), (inserts, samples)


@pytest.mark.integration
def test_parameters_reach_actor_processes_through_the_variable_store():
  from jumpy_acme import variables
  launcher = launcher_lib.LocalLauncher(
      tables=[variables.make_variable_table()],
      counter_keys=('actor_steps', 'learner_steps'))
  launcher.add_workers('learner', launcher_workers.publishing_learner,
                       restart=False, versions=5)
  launcher.add_workers('actor', launcher_workers.fetching_actor, num=2,
                       restart=False, want_version=5)
  counts = launcher.run(stop_when=lambda c: c['actor_steps'] >= 2,
                        poll_s=0.1)
  assert counts['learner_steps'] == 5
  assert counts['actor_steps'] == 2  # Both actors saw version 5's values.


def _uniform_table(name='t'):
  return reverb.Table(name, reverb.selectors.Uniform(), reverb.selectors.Fifo(),
                      max_size=1000,
                      rate_limiter=reverb.rate_limiters.MinSize(1))


def test_replay_persists_across_runs_in_its_checkpoint_dir(tmp_path):
  # The test inserts through on_poll (a real Reverb server on localhost);
  # one idle worker keeps the program running until a periodic checkpoint.
  directory = str(tmp_path / 'replay')
  periodic = []

  def insert_then_wait_for_a_periodic_checkpoint(launcher):
    def on_poll(counts):
      del counts
      if not periodic:
        client = reverb.Client(launcher.address)
        for i in range(7):
          client.insert(np.full(3, i, np.float32), {'t': 1.0})
        periodic.append(time.monotonic())
      elif any(os.path.exists(os.path.join(directory, d, 'DONE'))
               for d in os.listdir(directory)):
        periodic.append('written while running')
    return on_poll

  first = launcher_lib.LocalLauncher(tables=[_uniform_table()],
                                     counter_keys=('actor_steps',),
                                     replay_checkpoint_dir=directory,
                                     replay_checkpoint_every_s=0.2)
  first.add_workers('actor', launcher_workers.forever_worker)
  deadline = time.monotonic() + 30
  first.run(stop_when=lambda c: ('written while running' in periodic or
                                 time.monotonic() > deadline),
            on_poll=insert_then_wait_for_a_periodic_checkpoint(first),
            poll_s=0.05)
  assert first.restored_items == {'t': 0}  # Nothing there before.
  assert 'written while running' in periodic
  # A second program over the same directory starts with the 7 items.
  second = launcher_lib.LocalLauncher(tables=[_uniform_table()],
                                      counter_keys=('actor_steps',),
                                      replay_checkpoint_dir=directory)
  sizes = []
  second.run(stop_when=lambda c: True,
             on_poll=lambda c: sizes.append(replay.table_sizes(
                 second.address)['t']))
  assert second.restored_items == {'t': 7}
  assert sizes[0] == 7
  with pytest.raises(ValueError, match=r"replay_checkpoint_dir: only for a "
                     r"server this launcher starts"):
    launcher_lib.LocalLauncher(reverb_address='localhost:1',
                               replay_checkpoint_dir=directory)
  with pytest.raises(ValueError, match=r'replay_checkpoint_every_s: '
                     r'expected > 0, got 0'):
    launcher_lib.LocalLauncher(tables=[_uniform_table()],
                               replay_checkpoint_dir=directory,
                               replay_checkpoint_every_s=0)
