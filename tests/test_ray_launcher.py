"""The Ray launcher on a local, loopback-only Ray instance (2 CPUs).

The same worker contract as the local launcher: a shared counter, a stop
flag, Reverb served from a Ray actor, restarts of dead workers by Ray.
"""

import functools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ray = pytest.importorskip('ray')

from jumpy_acme import dataset_files  # noqa: E402
from jumpy_acme import launcher as launcher_lib  # noqa: E402
from jumpy_acme import ray_launcher  # noqa: E402
from tests import launcher_workers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TABLES = functools.partial(launcher_workers.make_queue_tables, 't')


@pytest.fixture(scope='module')
def local_ray():
  os.environ.setdefault('RAY_AUTH_MODE', 'disabled')
  ray.init(num_cpus=2, include_dashboard=False, _node_ip_address='127.0.0.1',
           runtime_env={'env_vars': {'PYTHONPATH': ROOT}},
           log_to_driver=False)
  yield
  ray.shutdown()


def _alive(pid):
  try:
    os.kill(pid, 0)
  except OSError:
    return False
  try:  # A zombie waiting for its parent counts as ended.
    with open(f'/proc/{pid}/stat') as f:
      return f.read().split(')')[-1].split()[0] != 'Z'
  except OSError:
    return False


def _all_end(pids, timeout_s=60.0):
  deadline = time.time() + timeout_s
  while any(_alive(p) for p in pids) and time.time() < deadline:
    time.sleep(0.5)
  return not any(_alive(p) for p in pids)


@pytest.mark.integration
def test_counter_stop_and_reverb_through_ray(local_ray, tmp_path):
  del local_ray
  launcher = ray_launcher.RayLauncher(
      tables=_TABLES, counter_keys=('actor_steps',),
      replay_checkpoint_dir=str(tmp_path / 'replay'))
  launcher.add_workers('actor', launcher_workers.inserting_worker, num=2,
                       table='t', size=3)
  counts = launcher.run(stop_when=lambda c: c['actor_steps'] >= 30,
                        poll_s=0.2)
  assert counts['actor_steps'] >= 30
  # The server's address is the node's as Ray registered it (reachable by
  # the cluster's other nodes), not localhost.
  host = launcher.address.rsplit(':', 1)[0]
  assert host in {n['NodeManagerAddress'] for n in ray.nodes()}
  assert launcher.restarts == {'actor-0': 0, 'actor-1': 0}
  # Both workers ended when the stop flag was set (max_calls=1: their
  # processes too).
  pids = [p for ps in launcher.worker_pids().values() for p in ps]
  assert len(pids) == 2 and _all_end(pids)
  # The queue's items persist: a new program over the same directory
  # starts with them (checkpointed at shutdown; queue of 100).
  assert launcher.restored_items == {'t': 0}
  again = ray_launcher.RayLauncher(
      tables=_TABLES, counter_keys=('actor_steps',),
      replay_checkpoint_dir=str(tmp_path / 'replay'))
  again.run(stop_when=lambda c: True, poll_s=0.2)
  assert 30 <= again.restored_items['t'] <= 100


@pytest.mark.integration
def test_a_killed_actor_is_restarted_by_ray_with_no_partial_item(local_ray):
  del local_ray
  import reverb  # pylint: disable=g-import-not-at-top
  server = reverb.Server([reverb.Table.queue('t', 100_000)])
  try:
    launcher = ray_launcher.RayLauncher(
        reverb_address=f'localhost:{server.port}',
        counter_keys=('actor_steps',))
    launcher.add_workers('actor', launcher_workers.inserting_worker, num=2,
                         table='t', size=3)
    killed = []

    def kill_once(counts):
      # Under load actor-1 can step 20 times before actor-0's process has
      # started and registered: wait for actor-0 too.
      pids = launcher.worker_pids() if not killed else {}
      if counts['actor_steps'] > 20 and 'actor-0' in pids:
        victim = pids['actor-0'][0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    launcher.run(stop_when=lambda c: c['actor_steps'] >= 300,
                 on_poll=kill_once, poll_s=0.2)
    assert killed
    assert launcher.restarts == {'actor-0': 1, 'actor-1': 0}
    # Every item in the table is whole: a vector of 3 equal to its
    # writer's index, none torn by the kill.
    client = reverb.Client(f'localhost:{server.port}')
    size = client.server_info()['t'].current_size
    assert size >= 300
    items = [s.data[0] for s in client.sample('t', num_samples=size,
                                              emit_timesteps=False)]
    assert all(np.shape(x) == (3,) and x[0] in (0, 1) and np.all(x == x[0])
               for x in items)
  finally:
    server.stop()


@pytest.mark.integration
def test_a_failing_worker_fails_for_good_with_a_clear_error(local_ray):
  del local_ray
  launcher = ray_launcher.RayLauncher(tables=_TABLES,
                                      counter_keys=('actor_steps',),
                                      max_restarts=1)
  launcher.add_workers('actor', launcher_workers.failing_worker, num=1)
  with pytest.raises(launcher_lib.WorkerFailed,
                     match='worker 0 fails on purpose'):
    launcher.run(stop_when=lambda c: False, poll_s=0.2)
  assert launcher.restarts == {'actor-0': 1}


def test_a_bad_address_fails_fast_and_tables_must_be_a_factory():
  start = time.time()
  with pytest.raises(ValueError, match=r"ray_address: no Ray head answers at "
                     r"'127.0.0.1:9'"):
    ray_launcher.RayLauncher(tables=_TABLES, ray_address='127.0.0.1:9')
  assert time.time() - start < 10
  with pytest.raises(ValueError, match='ray_address: expected host:port'):
    ray_launcher.RayLauncher(tables=_TABLES, ray_address='nohost')
  with pytest.raises(ValueError, match='tables: the Ray launcher builds'):
    ray_launcher.RayLauncher(tables=launcher_workers.make_queue_tables())
  with pytest.raises(ValueError, match='ray_address: only used with '
                     'launcher "ray"'):
    launcher_lib.make_launcher('local', ray_address='auto', tables=_TABLES)


_CTRL_C_DRIVER = r'''
import functools, json, signal, sys
# A suite started in the background inherits SIGINT as ignored, and Python
# keeps it ignored: reinstate Ctrl-C's handler (see
# jumpy_acme.testing.subprocesses, which does this for launcher modules).
signal.signal(signal.SIGINT, signal.default_int_handler)
from jumpy_acme import ray_launcher
from tests import launcher_workers
launcher = ray_launcher.RayLauncher(
    tables=functools.partial(launcher_workers.make_queue_tables, 't'),
    counter_keys=('actor_steps',),
    init_kwargs=dict(num_cpus=2, include_dashboard=False,
                     _node_ip_address='127.0.0.1', log_to_driver=False))
launcher.add_workers('actor', launcher_workers.forever_worker, num=2)
pids = {}
def report(counts):
  # Both workers running (on a busy machine Ray may start the second one
  # minutes after the first): a stop must then end running workers.
  if counts['actor_steps'] > 10 and not pids:
    started = launcher.worker_pids()
    if len(started) == 2:
      pids.update(started)
      print(json.dumps(pids), flush=True)
launcher.run(stop_when=lambda c: False, on_poll=report, poll_s=0.2)
print('interrupted' if launcher.interrupted else 'ended', flush=True)
'''


@pytest.mark.integration
def test_ctrl_c_ends_every_worker_and_the_driver():
  env = dict(os.environ, RAY_AUTH_MODE='disabled',
             PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
  driver = subprocess.Popen([sys.executable, '-c', _CTRL_C_DRIVER], env=env,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
  try:
    pids = json.loads(driver.stdout.readline())
    assert sorted(pids) == ['actor-0', 'actor-1'], pids
    driver.send_signal(signal.SIGINT)
    # Generous: the workers stop within a poll, but tearing down a local
    # Ray instance on 2 busy cores can take a minute.
    out, _ = driver.communicate(timeout=240)
  finally:
    if driver.poll() is None:
      driver.kill()
  assert 'interrupted' in out
  assert _all_end([p for ps in pids.values() for p in ps])


@pytest.mark.integration
def test_collection_through_ray_writes_the_local_launchers_items(tmp_path):
  items = {}
  for kind in ('local', 'ray'):
    out = tmp_path / kind
    subprocess.run(
        [sys.executable, '-m', 'jumpy_acme.launchers.collect',
         f'--launcher={kind}', '--ray_num_cpus=2', '--num_actors=2',
         '--num_episodes=2', '--segment_length=15', '--K=5', '--seed=4',
         f'--output={out}'], check=True, timeout=600, cwd=ROOT,
        env=dict(os.environ, RAY_AUTH_MODE='disabled'),
        stdout=subprocess.DEVNULL)
    items[kind] = dataset_files.load(str(out))
  local, remote = items['local'], items['ray']
  assert len(local) == len(remote) == 2 * (30 - 5 + 1)
  np.testing.assert_array_equal(local.observations, remote.observations)
  np.testing.assert_array_equal(local.actions, remote.actions)
