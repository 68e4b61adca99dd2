"""Phase-1 data: snippets from real episodes, the dataset on disk, faults."""

import json
import os
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from jumpy_acme import dataset_files
from jumpy_acme import environment_loop
from jumpy_acme import environments
from jumpy_acme import launcher as launcher_lib
from jumpy_acme import replay
from jumpy_acme import specs
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents import scripted
from jumpy_acme.agents.scripted import acting
from jumpy_acme.agents.experiments import collection
from jumpy_acme.testing import subprocesses
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers
from tests.conftest import drain

K = 4


@pytest.fixture(scope='module')
def collected(request):
  """Two real episodes (2 behaviours x 8 steps) through the snippet adder."""
  import reverb
  env = environments.make('reach_red', seed=0, triplet='triplet1',
                          episode_length=16)
  spec = specs.make_environment_spec(env)
  server = reverb.Server([replay.queue_table('q', spec, K,
                                             acting.extras_spec())])
  client = reverb.Client(f'localhost:{server.port}')
  adder = reverb_adders.SnippetAdder(client, K=K, environment_spec=spec,
                                     table='q',
                                     extras_spec=acting.extras_spec())
  config = scripted.ScriptedConfig(segment_length=8)
  actor = acting.BehaviourScheduleActor(config, adder, seed=0)
  recorder = environment_loop.EpisodeRecorder()
  environment_loop.EnvironmentLoop(
      env, actor, logger=loggers.NoOpLogger(), observers=[recorder]
  ).run(num_episodes=2)
  adder.close()
  items = drain(client, 'q')
  request.addfinalizer(server.stop)
  return items, recorder.episodes


def test_items_equal_the_environment_states_and_actions(collected):
  items, episodes = collected
  # 16 steps give 17 states: windows of K+1 = 5 start at 0..12 -> 13 each.
  assert len(items) == 2 * 13
  for n, item in enumerate(items):
    episode, start = divmod(n, 13)
    states = np.stack(episodes[episode]['states'])
    actions = np.stack(episodes[episode]['actions'])
    np.testing.assert_array_equal(item.observations,
                                  states[start:start + K + 1])
    np.testing.assert_array_equal(item.actions, actions[start:start + K])
    np.testing.assert_array_equal(item.extras['step'],
                                  np.arange(start, start + K))
    # One episode per item; behaviours change only at the segment boundary.
    assert len(set(item.extras['episode'])) == 1
    assert item.extras['episode'][0] == episode
    behaviours = item.extras['behaviour']
    for k in range(K):
      if (start + k) // 8 == start // 8:
        assert behaviours[k] == behaviours[0]


def test_dataset_round_trips_through_disk(collected, tmp_path, reverb_server):
  items, _ = collected
  observations = np.stack([i.observations for i in items])
  actions = np.stack([i.actions for i in items])
  extras = {k: np.stack([i.extras[k] for i in items])
            for k in items[0].extras}
  writer = dataset_files.SnippetWriter(str(tmp_path / 'ds'), K, shard_size=10)
  writer.write(observations[:7], actions[:7],
               {k: v[:7] for k, v in extras.items()})
  writer.write(observations[7:], actions[7:],
               {k: v[7:] for k, v in extras.items()})
  writer.close({'note': 'test'})
  assert sorted(os.listdir(tmp_path / 'ds')) == [
      'manifest.json', 'shard-00000.npz', 'shard-00001.npz',
      'shard-00002.npz']
  dataset = dataset_files.load(str(tmp_path / 'ds'))
  np.testing.assert_array_equal(dataset.observations, observations)
  np.testing.assert_array_equal(dataset.actions, actions)
  for k in extras:
    np.testing.assert_array_equal(dataset.extras[k], extras[k])
  assert dataset.K == K and len(dataset) == 26
  assert dataset.manifest['metadata'] == {'note': 'test'}
  # Statistics equal a direct numpy computation.
  first, delta = observations[:, 0], observations[:, -1] - observations[:, 0]
  stats = dataset.statistics
  np.testing.assert_allclose(stats['state']['mean'], first.mean(0),
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(stats['state']['std'], first.std(0), rtol=1e-4,
                             atol=1e-5)
  np.testing.assert_allclose(stats['delta']['min'], delta.min(0))
  np.testing.assert_allclose(stats['delta']['max'], delta.max(0))
  np.testing.assert_allclose(stats['delta']['std'], delta.std(0), rtol=1e-4,
                             atol=1e-5)
  # Batches, and back into a Reverb table.
  batch = next(dataset.iterator(batch_size=8, seed=0))
  assert batch.observations.shape == (8, K + 1, 86)
  env_spec = specs.EnvironmentSpec(
      observations=_array((86,)), actions=_array((5,)),
      rewards=_array(()), discounts=_array(()))
  _, client = reverb_server([replay.queue_table('back', env_spec, K,
                                                acting.extras_spec())])
  dataset.insert_into(client, 'back')
  back = drain(client, 'back')
  assert len(back) == 26
  np.testing.assert_array_equal(back[5].observations, observations[5])
  np.testing.assert_array_equal(back[5].extras['step'], extras['step'][5])


def _array(shape):
  from dm_env import specs as dm_env_specs
  return dm_env_specs.Array(shape, np.float32)


def test_interrupted_or_damaged_datasets_are_refused(tmp_path):
  observations = np.zeros((30, K + 1, 86), np.float32)
  actions = np.zeros((30, K, 5), np.float32)
  writer = dataset_files.SnippetWriter(str(tmp_path / 'cut'), K,
                                       shard_size=10)
  writer.write(observations, actions, {})  # Three shards, never closed.
  with pytest.raises(dataset_files.IncompleteDatasetError,
                     match='no manifest.json: the run that wrote it did '
                     'not finish'):
    dataset_files.load(str(tmp_path / 'cut'))
  with pytest.raises(FileExistsError, match='interrupted run'):
    dataset_files.SnippetWriter(str(tmp_path / 'cut'), K)
  writer = dataset_files.SnippetWriter(str(tmp_path / 'ok'), K, shard_size=10)
  writer.write(observations, actions, {})
  writer.close()
  with pytest.raises(FileExistsError, match='already holds'):
    dataset_files.SnippetWriter(str(tmp_path / 'ok'), K)
  with open(tmp_path / 'ok' / 'shard-00001.npz', 'r+b') as f:
    f.seek(200)
    f.write(b'garbage')
  with pytest.raises(dataset_files.IncompleteDatasetError, match='SHA-256'):
    dataset_files.load(str(tmp_path / 'ok'))


@pytest.mark.integration
def test_killed_actor_leaves_no_partial_item_and_collection_goes_on(
    tmp_path):
  """Real simulators in 2 actor processes; one is SIGKILLed mid-episode."""
  spec, extras_spec = collection.environment_spec_and_extras(
      episode_length=40, triplet='triplet1')
  launcher = launcher_lib.LocalLauncher(
      tables=[replay.queue_table('snippets', spec, K, extras_spec)],
      counter_keys=collection.COUNTER_KEYS)
  launcher.add_workers(
      'actor', collection.collection_worker, num=2, table='snippets', K=K,
      max_episodes=6, config={'segment_length': 20}, triplet='triplet1')
  writer = dataset_files.SnippetWriter(str(tmp_path / 'ds'), K)
  killed = []

  def on_poll(counts):
    if launcher.address is not None:
      client = replay.connect(launcher.address)
      items = drain(client, 'snippets')
      if items:
        writer.write(np.stack([i.observations for i in items]),
                     np.stack([i.actions for i in items]),
                     {k: np.stack([i.extras[k] for i in items])
                      for k in items[0].extras})
    if counts['actor_steps'] >= 30 and not killed:
      victim = launcher.processes('actor')[0]
      os.kill(victim.pid, signal.SIGKILL)
      killed.append(victim.pid)

  counts = launcher.run(stop_when=lambda c: c['actor_episodes'] >= 6,
                        on_poll=on_poll, poll_s=0.2)
  writer.close()
  assert killed and launcher.restarts['actor-0'] == 1
  # The killed episode's claim is lost: 5 of 6 episodes completed.
  assert counts['actor_episodes'] == 5
  dataset = dataset_files.load(str(tmp_path / 'ds'))
  steps, episodes = dataset.extras['step'], dataset.extras['episode']
  for n in range(len(dataset)):  # Every item: one episode, consecutive.
    assert len(set(episodes[n])) == 1
    np.testing.assert_array_equal(np.diff(steps[n]), 1)
  complete = [e for e in set(episodes[:, 0])
              if (episodes[:, 0] == e).sum() == 40 - K + 1]
  assert len(complete) == 5


@pytest.mark.integration
def test_collect_launcher_end_to_end_and_ctrl_c(tmp_path):
  command = [sys.executable, '-m', 'jumpy_acme.launchers.collect',
             '--num_actors=1', '--num_episodes=1', '--segment_length=15',
             f'--K={K}', '--triplet=triplet1']
  result = subprocess.run(command + [f'--output={tmp_path / "ok"}'],
                          capture_output=True, text=True, timeout=300,
                          check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary['items'] == 30 - K + 1 and summary['episodes'] == 1
  dataset = dataset_files.load(str(tmp_path / 'ok'))
  assert dataset.manifest['metadata']['num_actors'] == 1
  # The manifest counts the rare moments (environments.rgb_stacking.events).
  assert set(dataset.manifest['events']) == {
      'grasp_onset', 'grasp_release', 'object_lifted', 'red_above_other',
      'pinch_at_red', 'pinch_at_green', 'pinch_at_blue'}
  for event in dataset.manifest['events'].values():
    assert 0 <= event['count'] <= summary['items']
    assert event['fraction'] == pytest.approx(event['count'] /
                                              summary['items'])
  # Ctrl-C while collecting: clean exit, no manifest, refused later.
  arguments = command[3:4] + ['--num_episodes=50', '--segment_length=200',
                              f'--K={K}', '--triplet=triplet1',
                              f'--output={tmp_path / "cut"}']
  process = subprocess.Popen(subprocesses.interruptible_module(
      'jumpy_acme.launchers.collect', arguments), stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True)
  deadline = time.time() + 120
  for line in process.stdout:
    if 'steps/s' in line and not line.startswith('[collect] 0/'):
      break
    assert time.time() < deadline
  process.send_signal(signal.SIGINT)
  output, _ = process.communicate(timeout=120)
  assert process.returncode == 130, output[-2000:]
  assert 'Interrupted' in output
  with pytest.raises(dataset_files.IncompleteDatasetError):
    dataset_files.load(str(tmp_path / 'cut'))


@pytest.mark.integration
def test_collect_joins_a_running_server(reverb_server):
  spec, extras_spec = collection.environment_spec_and_extras(
      episode_length=20, triplet='triplet1')
  server, client = reverb_server([replay.queue_table('live', spec, K,
                                                     extras_spec)])
  result = subprocess.run(
      [sys.executable, '-m', 'jumpy_acme.launchers.collect',
       '--num_actors=1', '--num_episodes=1', '--segment_length=10',
       f'--K={K}', '--triplet=triplet1', '--table=live',
       f'--reverb_address=localhost:{server.port}'],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  items = drain(client, 'live')
  assert len(items) == 20 - K + 1
  assert [int(i.extras['step'][0]) for i in items] == list(range(17))



class _Stop:
  def is_set(self):
    return False


def test_episodes_reproduce_whichever_actor_runs_them(reverb_server):
  """Episode n's content depends on (episode_seed, n) alone: an actor with
  another seed, whose simulators ran another episode first, writes the same
  snippets for it."""
  spec, extras_spec = collection.environment_spec_and_extras(
      episode_length=24, triplet='triplet1')

  def run(actor_seed, first_episode):
    _, client = reverb_server([replay.queue_table('q', spec, K,
                                                  extras_spec)])
    counter = counting.Counter()
    if first_episode:  # Someone else claimed the episodes before.
      counter.increment(episodes_claimed=first_episode)
    context = types.SimpleNamespace(
        counter=counter, stop=_Stop(), seed=actor_seed, index=0,
        reverb_address=client.server_address)
    collection.collection_worker(
        context, table='q', K=K, max_episodes=2,
        config={'segment_length': 12}, triplet='rgb_test_random',
        episode_seed=7)
    items = drain(client, 'q')
    return {e: np.stack([i.observations for i in items
                         if int(i.extras['episode'][0]) == e])
            for e in {int(i.extras['episode'][0]) for i in items}}

  both = run(actor_seed=1, first_episode=0)      # Episodes 0, then 1.
  alone = run(actor_seed=5, first_episode=1)     # Episode 1 only.
  assert sorted(both) == [0, 1] and sorted(alone) == [1]
  np.testing.assert_array_equal(both[1], alone[1])
  assert not np.array_equal(both[0][0], both[1][0])  # Episodes differ.


def test_recover_partial_keeps_whole_episodes(tmp_path):
  directory = str(tmp_path / 'ds')
  writer = dataset_files.SnippetWriter(directory, K, shard_size=3)
  items = [(0, t) for t in range(4)] + [(1, t) for t in range(2)]
  observations = np.stack([np.full((K + 1, 86), 10 * e + t, np.float32)
                           for e, t in items])
  extras = {'episode': np.array([[e] * K for e, _ in items], np.int32),
            'step': np.array([[t] * K for _, t in items], np.int32)}
  writer.write(observations, np.zeros((6, K, 5), np.float32), extras)
  # Interrupted: two shards of 3 on disk, no manifest.
  kept, done = dataset_files.recover_partial(directory, items_per_episode=4)
  assert done == [0]  # Episode 1 has 2 of its 4 snippets.
  np.testing.assert_array_equal(kept['observations'][:, 0, 0], [0, 1, 2, 3])
  assert not any(n.startswith('shard-') for n in os.listdir(directory))
  again = dataset_files.SnippetWriter(directory, K)  # No longer refused.
  again.write(kept['observations'], kept['actions'],
              {'episode': kept['extras_episode'],
               'step': kept['extras_step']})
  again.flush()
  dataset_files.discard_partial(directory)
  again.close()
  assert len(dataset_files.load(directory)) == 4


@pytest.mark.integration
def test_a_resumed_collection_equals_an_uninterrupted_one(tmp_path):
  """Episodes reproduce from (--seed, number): a run cut after its first
  episode, resumed, writes the dataset a run never cut writes."""
  def collect(output, episodes):
    result = subprocess.run(
        [sys.executable, '-m', 'jumpy_acme.launchers.collect',
         '--num_actors=2', f'--num_episodes={episodes}',
         '--segment_length=12', f'--K={K}', '--seed=3',
         f'--output={output}'], capture_output=True, text=True, timeout=300,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout

  collect(tmp_path / 'whole', 3)
  collect(tmp_path / 'cut', 1)
  os.remove(tmp_path / 'cut' / dataset_files.MANIFEST)  # As if cut there.
  stdout = collect(tmp_path / 'cut', 3)
  assert '1 whole episodes kept' in stdout
  whole = dataset_files.load(str(tmp_path / 'whole'))
  resumed = dataset_files.load(str(tmp_path / 'cut'))
  np.testing.assert_array_equal(resumed.observations, whole.observations)
  np.testing.assert_array_equal(resumed.actions, whole.actions)
  assert resumed.manifest['metadata']['resumed_episodes'] == 1
