"""DMPO-trained base behaviours: a saved policy loads back as its mean, and
collect.py --dmpo_policies collects with it under the behaviour's id."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme import dataset_files
from jumpy_acme import environments
from jumpy_acme import specs
from jumpy_acme.agents import dmpo
from jumpy_acme.agents import scripted
from jumpy_acme.agents.dmpo import saved_policy
from jumpy_acme.agents.harnessing import config as harnessing_config
from jumpy_acme.environments.rgb_stacking import scene
from jumpy_acme.testing import asserts

TASK = 'lift_red'


def _save_policy(directory, spec):
  """A tiny learner's checkpoint, saved as train_rl.py --save_policy does.

  Returns the saved policy parameters.
  """
  config = dmpo.DMPOConfig(policy_hidden_sizes=(8, 8),
                           critic_hidden_sizes=(8, 8))
  learner_dir = os.path.join(os.path.dirname(directory), 'learner')
  learner = dmpo.DMPOLearner(dmpo.make_networks(spec, config), iter(()),
                             random_key=jax.random.PRNGKey(3),
                             checkpoint_dir=learner_dir)
  # Fresh means are ~0: perturb them so that the actions say something
  # (and some canonical means leave [-1, 1], exercising the clip).
  leaves, treedef = jax.tree_util.tree_flatten(learner.state.policy_params)
  keys = jax.random.split(jax.random.PRNGKey(4), len(leaves))
  policy_params = jax.tree_util.tree_unflatten(treedef, [
      leaf + 0.5 * jax.random.normal(key, leaf.shape)
      for leaf, key in zip(leaves, keys)])
  learner.restore(learner.state._replace(policy_params=policy_params,
                                         steps=jnp.int32(7)))
  learner.checkpoint()
  shutil.copytree(learner_dir, directory, dirs_exist_ok=True)
  run = harnessing_config.HarnessingConfig(method='scratch', task=TASK,
                                           dmpo=config, episode_length=20)
  with open(os.path.join(directory, 'policy.json'), 'w') as f:
    json.dump({'task': TASK, 'config': dataclasses.asdict(run)}, f, indent=1,
              default=str)
  return jax.device_get(policy_params)


def _mean_action(params, observation, spec):
  """The policy's mean action by hand: LayerNorm-MLP (8, 8) -> mean head,
  clipped to [-1, 1] and mapped onto the action box."""
  p = params['params']
  mlp = p['LayerNormMLP_0']
  h = observation @ mlp['Dense_0']['kernel'] + mlp['Dense_0']['bias']
  h = (h - h.mean()) / np.sqrt(h.var() + 1e-6)
  h = np.tanh(h * mlp['LayerNorm_0']['scale'] + mlp['LayerNorm_0']['bias'])
  h = h @ mlp['Dense_1']['kernel'] + mlp['Dense_1']['bias']
  h = np.where(h > 0, h, np.expm1(h))  # ELU.
  mean = h @ p['mean']['kernel'] + p['mean']['bias']
  low, high = spec.actions.minimum, spec.actions.maximum
  return low + (np.clip(mean, -1.0, 1.0) + 1.0) * 0.5 * (high - low)


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
  env = environments.make(TASK, episode_length=20, triplet='triplet1')
  spec = specs.make_environment_spec(env)
  directory = str(tmp_path_factory.mktemp('policy') / 'lift_red')
  params = _save_policy(directory, spec)
  rng = np.random.default_rng(0)
  observations = [env.reset().observation]
  for _ in range(3):
    action = rng.uniform(spec.actions.minimum, spec.actions.maximum)
    observations.append(env.step(action.astype(np.float32)).observation)
  return directory, params, spec, np.stack(observations)


def test_load_policy_acts_with_the_mean_of_the_saved_params(saved):
  directory, params, spec, observations = saved
  policy, task = saved_policy.load_policy(directory)  # Spec from the task.
  assert task == TASK
  clipped = 0
  for observation in observations:
    action = policy(observation)
    expected = _mean_action(params, observation.astype(np.float64), spec)
    assert action.shape == (5,) and action.dtype == np.float32
    np.testing.assert_allclose(action, expected, rtol=1e-4, atol=1e-5)
    clipped += int(np.sum(np.isclose(np.abs(action), spec.actions.maximum)))
  assert 0 < clipped < observations.size // 86 * 5  # Some, not all, clipped.


def test_bad_directories_name_what_is_missing(saved, tmp_path):
  directory = saved[0]
  missing = str(tmp_path / 'nowhere')
  with pytest.raises(FileNotFoundError, match=f'{missing}: no such directory'):
    saved_policy.load_policy(missing)
  no_json = tmp_path / 'no_json'
  shutil.copytree(directory, no_json)
  os.remove(no_json / 'policy.json')
  with pytest.raises(FileNotFoundError, match=f'{no_json}: no policy.json'):
    saved_policy.load_policy(str(no_json))
  no_checkpoint = tmp_path / 'no_checkpoint'
  no_checkpoint.mkdir()
  shutil.copy(os.path.join(directory, 'policy.json'), no_checkpoint)
  with pytest.raises(FileNotFoundError,
                     match=f'{no_checkpoint}: no checkpoint'):
    saved_policy.load_policy(str(no_checkpoint))
  assert not os.path.exists(missing)  # Checked, not created.


@pytest.mark.integration
def test_collect_acts_with_the_saved_policy_under_the_behaviour_id(
    saved, tmp_path):
  directory, _, _, _ = saved
  command = [sys.executable, '-m', 'jumpy_acme.launchers.collect',
             '--num_actors=1', '--num_episodes=1', '--segment_length=8',
             '--behaviours=lift_red,open_fingers', '--K=1',
             '--linear_noise=0', '--triplet=triplet1']
  bad = subprocess.run(command + [f'--dmpo_policies=lift:{directory}',
                                  f'--output={tmp_path / "bad"}'],
                       capture_output=True, text=True, timeout=120,
                       check=False)
  assert bad.returncode != 0
  assert ("--dmpo_policies: expected behaviour:DIR pairs with behaviour one "
          f"of {list(scripted.BEHAVIOURS)}; got 'lift:{directory}'"
          in bad.stderr), bad.stderr[-2000:]
  output = tmp_path / 'data'
  result = subprocess.run(command + [f'--dmpo_policies=lift_red:{directory}',
                                     f'--output={output}'],
                          capture_output=True, text=True, timeout=300,
                          check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  dataset = dataset_files.load(str(output))
  assert dataset.manifest['metadata']['dmpo_policies'] == {
      'lift_red': os.path.abspath(directory)}
  labels = dataset.extras['behaviour'][:, 0]               # K = 1: [16].
  lift, fingers = (scripted.BEHAVIOURS.index(name)
                   for name in ('lift_red', 'open_fingers'))
  assert len(labels) == 16
  assert sorted(set(labels.tolist())) == sorted([lift, fingers])
  for name in ('behaviour', 'episode', 'step'):  # The usual extras.
    assert dataset.extras[name].dtype == np.int32
  policy, _ = saved_policy.load_policy(directory)
  states, actions = dataset.observations[:, 0], dataset.actions[:, 0]
  expected = np.stack([policy(state) for state in states])
  # Noise only on the rotation (dim 3) with --linear_noise=0.
  dims = [0, 1, 2, 4]
  asserts.assert_close_to_scale(actions[labels == lift][:, dims],
                                expected[labels == lift][:, dims],
                                scene.ACTION_MAX[dims])
  np.testing.assert_array_equal(actions[labels == fingers][:, dims],
                                [[0.0, 0.0, 0.0, -255.0]] * 8)
