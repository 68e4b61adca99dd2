"""The local multi-process launcher with cheap workers and a real Reverb."""

import os
import signal
import time

import reverb
import pytest

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
