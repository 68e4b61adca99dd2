"""Data parallelism: 2-device updates (phase 1, DMPO) equal 1-device ones.

Runs in a subprocess: XLA makes its CPU devices when jax first starts, so
--xla_force_host_platform_device_count must be set before that.
"""

import os
import subprocess
import sys

import pytest

_SCRIPT = r'''
import jax, numpy as np
assert len(jax.local_devices()) == 2, jax.local_devices()
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents import skill_vae
from jumpy_acme.agents.skill_vae import losses
from jumpy_acme.utils import sharding

config = skill_vae.SkillVAEConfig(
    K=3, state_size=6, action_size=2, embed_sizes=(16, 8), conv_channels=2,
    encoder_sizes=(16,), latent_size=4, decoder_sizes=(16,), batch_size=8,
    sgd_steps_per_step=2)
rng = np.random.default_rng(0)
obs = rng.normal(size=(16, 4, 6)).astype(np.float32)
act = rng.uniform(-1, 1, size=(16, 3, 2)).astype(np.float32)
norm = losses.Normalization(np.zeros(6, np.float32), np.ones(6, np.float32),
                            -np.ones(6, np.float32), np.ones(6, np.float32),
                            np.ones(2, np.float32))

def run(n):
  batches = iter([reverb_adders.Snippet(obs, act, ())] * 3)
  learner = skill_vae.SkillVAELearner(
      skill_vae.make_networks(config), batches, norm, num_devices=n)
  for _ in range(3):
    metrics = learner.step()
  return learner.state.params, metrics

one, m1 = run(1)
two, m2 = run(2)
leaves = [leaf for leaf in jax.tree_util.tree_leaves(two)]
assert all(len(leaf.sharding.device_set) == 2 for leaf in leaves)
for a, b in zip(jax.tree_util.tree_leaves(one), leaves):
  a, b = np.asarray(a), np.asarray(b)
  scale = max(float(np.abs(a).max()), 1e-3)
  assert np.abs(a - b).max() <= 1e-4 * scale, (np.abs(a - b).max(), scale)
np.testing.assert_allclose(float(m1['loss']), float(m2['loss']), rtol=1e-4)
# DMPO on a 2-D observation, 2-D action.
from dm_env import specs as dm_specs
from jumpy_acme import specs, types
from jumpy_acme.agents import dmpo
spec = specs.EnvironmentSpec(
    observations=dm_specs.Array((2,), np.float32),
    actions=dm_specs.BoundedArray((2,), np.float32, -2.0, 2.0),
    rewards=dm_specs.Array((), np.float32),
    discounts=dm_specs.BoundedArray((), np.float32, 0.0, 1.0))
dconfig = dmpo.DMPOConfig(
    policy_hidden_sizes=(16,), critic_hidden_sizes=(16,), num_atoms=11,
    vmax=5.0, batch_size=8, num_samples=4, min_replay_size=8,
    max_replay_size=1000, sgd_steps_per_step=2)
f32 = lambda x: np.asarray(x, np.float32)
transitions = types.Transition(
    f32(rng.uniform(-1, 1, (16, 2))), f32(rng.uniform(-2, 2, (16, 2))),
    f32(rng.normal(size=16)), f32(np.full(16, 0.9)),
    f32(rng.uniform(-1, 1, (16, 2))))

def run_dmpo(n):
  learner = dmpo.DMPOLearner(dmpo.make_networks(spec, dconfig),
                             iter([transitions] * 3), num_devices=n)
  for _ in range(3):
    learner.step()
  return learner.state.policy_params, learner.state.critic_params

for a, b in zip(jax.tree_util.tree_leaves(run_dmpo(1)),
                jax.tree_util.tree_leaves(run_dmpo(2))):
  a, b = np.asarray(a), np.asarray(b)
  scale = max(float(np.abs(a).max()), 1e-3)
  assert np.abs(a - b).max() <= 1e-4 * scale, (np.abs(a - b).max(), scale)
# train_rl's path: the builder hands num_devices to the learner.
built = dmpo.DMPOBuilder(dconfig, num_devices=2).make_learner(
    jax.random.PRNGKey(0), dmpo.make_networks(spec, dconfig),
    iter([transitions] * 3), lambda *a, **k: None, spec)
built.step()
assert all(len(leaf.sharding.device_set) == 2 for leaf in
           jax.tree_util.tree_leaves(built.state.policy_params))
# The planner over a batch of 4 environments, split over 2 devices.
from jumpy_acme.agents import planning
w = rng.normal(size=(4, 6)).astype(np.float32) * 0.1
plan = planning.make_planner(
    lambda s, z: s + z @ w, lambda s: -jax.numpy.sum(s ** 2), 4,
    planning.PlannerConfig(num_samples=64, horizon=3))
keys = jax.random.split(jax.random.PRNGKey(3), 4)
starts = rng.normal(size=(4, 6)).astype(np.float32)
p1 = planning.make_batched_planner(plan)(keys, starts)
p2 = planning.make_batched_planner(plan, num_devices=2)(keys, starts)
assert len(p2.z.sharding.device_set) == 2
np.testing.assert_allclose(np.asarray(p1.z), np.asarray(p2.z), rtol=1e-5,
                           atol=1e-5)
np.testing.assert_allclose(np.asarray(p1.score), np.asarray(p2.score),
                           rtol=1e-5)
try:
  sharding.data_mesh(3)
except ValueError as e:
  assert 'num_devices: expected an integer in [1, 2]' in str(e), e
else:
  raise AssertionError('3 devices accepted')
try:
  sharding.shard(sharding.data_mesh(2), np.zeros((3, 5)), axis=0)
except ValueError as e:
  assert 'does not split over 2 devices' in str(e), e
print('OK')
'''


def test_two_device_updates_equal_one_device_updates():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2',
             JAX_PLATFORMS='cpu')
  result = subprocess.run([sys.executable, '-c', _SCRIPT], env=env,
                          capture_output=True, text=True, timeout=300,
                          check=False)
  assert result.returncode == 0 and 'OK' in result.stdout, (
      result.stdout[-2000:] + result.stderr[-4000:])


if __name__ == '__main__':
  pytest.main([__file__])
