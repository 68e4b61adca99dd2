"""DMPO: its loss pieces against hand-worked values, and the whole agent
learning a small reaching task through the builder and a real Reverb server.
"""

import sys

import dm_env
from dm_env import specs as dm_env_specs
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reverb
import rlax

from jumpy_acme import specs
from jumpy_acme import types
from jumpy_acme import variables
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents import dmpo
from jumpy_acme.agents.dmpo import losses
from jumpy_acme.testing import fakes
from jumpy_acme.utils import loggers

VARIANTS = pytest.mark.parametrize('variant', [jax.jit, lambda f: f],
                                   ids=['jit', 'nojit'])


class Reach(dm_env.Environment):
  """Move a point in [-1, 1]^2 to a fixed goal in 10 steps.

  x_{t+1} = clip(x_t + 0.3 clip(a / scale, -1, 1), -1, 1), reward
  1 - |x_{t+1} - goal|, start uniform in the square; episodes end by
  truncation (discount 1). The action spec is [-scale, scale]^2, so a scale
  other than 1 exercises the agent's canonical-action mapping.
  """

  def __init__(self, scale: float = 2.0, seed: int = 0):
    self._rng = np.random.default_rng(seed)
    self._scale = scale
    self.goal = np.array([0.5, -0.5], np.float32)
    self._x = np.zeros(2, np.float32)
    self._t = 0

  def reset(self):
    self._x = self._rng.uniform(-1, 1, 2).astype(np.float32)
    self._t = 0
    return dm_env.restart(self._x.copy())

  def step(self, action):
    push = np.clip(np.asarray(action, np.float32) / self._scale, -1, 1)
    self._x = np.clip(self._x + 0.3 * push, -1, 1).astype(np.float32)
    self._t += 1
    reward = np.float32(1.0 - np.linalg.norm(self._x - self.goal))
    if self._t >= 10:
      return dm_env.truncation(reward, self._x.copy())
    return dm_env.transition(reward, self._x.copy())

  def observation_spec(self):
    return dm_env_specs.Array((2,), np.float32, 'position')

  def action_spec(self):
    return dm_env_specs.BoundedArray((2,), np.float32, -self._scale,
                                     self._scale, 'push')

  def reward_spec(self):
    return dm_env_specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return dm_env_specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')


def _episode_return(env, actor, update: bool = True) -> float:
  timestep = env.reset()
  actor.observe_first(timestep)
  total = 0.0
  while not timestep.last():
    action = actor.select_action(timestep.observation)
    timestep = env.step(action)
    actor.observe(action, timestep)
    if update:
      actor.update()
    total += float(timestep.reward)
  return total


def _tiny_config(**overrides):
  values = dict(
      policy_hidden_sizes=(32, 32), critic_hidden_sizes=(64, 64),
      num_atoms=41, vmax=10.0, batch_size=64, num_samples=10, n_step=3,
      discount=0.9, samples_per_insert=None, min_replay_size=100,
      max_replay_size=10_000, learning_rate=1e-3, target_update_period=25,
      epsilon_mean=0.01, init_log_alpha_mean=0.0, init_log_temperature=1.0,
      sgd_steps_per_step=4, variable_update_period=10, prefetch_size=2)
  values.update(overrides)
  return dmpo.DMPOConfig(**values)


def _spec(scale=2.0):
  return specs.make_environment_spec(Reach(scale))


def _random_transitions(n, seed=0):
  rng = np.random.default_rng(seed)
  f32 = lambda x: np.asarray(x, np.float32)
  return types.Transition(
      observation=f32(rng.uniform(-1, 1, (n, 2))),
      action=f32(rng.uniform(-2, 2, (n, 2))),
      reward=f32(rng.normal(size=n)),
      discount=f32(rng.integers(0, 2, n) * 0.81),
      next_observation=f32(rng.uniform(-1, 1, (n, 2))))


def _batches(num, seed=0):
  step = 0
  while True:
    yield _random_transitions(num, seed=seed * 100_000 + step)
    step += 1


# The E-step.


@VARIANTS
def test_e_step_weights_and_temperature_loss_match_numpy(variant):
  q = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)  # [B, N]
  eta, epsilon = 0.5, 0.1
  e_step = variant(jax.vmap(lambda q_b, t: losses.e_step(q_b, epsilon, t),
                            (0, None)))
  weights, loss = e_step(jnp.asarray(q), jnp.float32(eta))
  scaled = q / eta
  expected_w = np.exp(scaled) / np.exp(scaled).sum(1, keepdims=True)
  np.testing.assert_allclose(weights, expected_w, rtol=1e-6)
  # Acme's batched dual: eta (eps + mean_b logsumexp_n(Q / eta) - log N).
  lse = np.log(np.exp(scaled).sum(1))
  np.testing.assert_allclose(np.mean(loss),
                             eta * (epsilon + lse.mean() - np.log(3)),
                             rtol=1e-6)
  # Equal Q-values: uniform weights and a dual of exactly eta * eps.
  np.testing.assert_allclose(weights[1], [1 / 3] * 3, rtol=1e-6)
  np.testing.assert_allclose(loss[1], eta * epsilon, rtol=1e-6)
  # d/d eta of the dual: eps + log mean exp(Q/eta) - sum_n w_n Q_n / eta
  # (the weights carry no gradient, the dual does).
  grad = variant(jax.grad(lambda t: losses.e_step(jnp.asarray(q[0]),
                                                   epsilon, t)[1]))(
                                                       jnp.float32(eta))
  expected_grad = (epsilon + lse[0] - np.log(3) -
                   np.sum(expected_w[0] * q[0]) / eta)
  np.testing.assert_allclose(grad, expected_grad, rtol=1e-5)


# The M-step's KL terms.


@VARIANTS
def test_decoupled_kl_terms_match_closed_form(variant):
  target_mean, target_stddev = np.array([1.0, 0.0]), np.array([2.0, 1.0])
  online_mean, online_stddev = np.array([0.0, 0.0]), np.array([1.0, 2.0])
  kl_mean, kl_stddev = variant(losses.decoupled_kl)(
      *(jnp.asarray(x, jnp.float32) for x in (
          target_mean, target_stddev, online_mean, online_stddev)))
  # KL(N(1, 2^2) || N(0, 2^2)) = 1 / (2 * 4); dimension 2 has equal means.
  np.testing.assert_allclose(kl_mean, [0.125, 0.0], atol=1e-7)
  # KL(N(m, s_t^2) || N(m, s^2)) = log(s / s_t) + s_t^2 / (2 s^2) - 1/2:
  # (2 -> 1): log(1/2) + 4/2 - 1/2; (1 -> 2): log 2 + 1/8 - 1/2.
  np.testing.assert_allclose(
      kl_stddev, [1.5 - np.log(2), np.log(2) + 0.125 - 0.5], rtol=1e-6)
  # The penalty and the dual: sum alpha * KL, sum alpha * (eps - KL); the
  # dual's gradient is eps - KL for alpha and nothing for the KL.
  alpha = jnp.array([2.0, 3.0])
  loss_kl, loss_alpha = variant(losses.kl_penalty_and_dual_loss)(
      kl_mean, alpha, 0.1)
  np.testing.assert_allclose(loss_kl, 2 * 0.125, rtol=1e-6)
  np.testing.assert_allclose(loss_alpha, 2 * (0.1 - 0.125) + 3 * 0.1,
                             rtol=1e-6)
  d_alpha, d_kl = jax.grad(lambda a, k: losses.kl_penalty_and_dual_loss(
      k, a, 0.1)[1], argnums=(0, 1))(alpha, kl_mean)
  np.testing.assert_allclose(d_alpha, [0.1 - 0.125, 0.1], rtol=1e-6)
  np.testing.assert_array_equal(d_kl, [0.0, 0.0])


@VARIANTS
def test_mpo_policy_loss_matches_an_independent_numpy_computation(variant):
  config = _tiny_config(epsilon=0.1, epsilon_mean=0.01, epsilon_stddev=1e-3,
                        epsilon_penalty=0.05)
  rng = np.random.default_rng(3)
  d, n = 2, 4
  dual = losses.DualParams(jnp.float32(0.3), jnp.array([0.5, -1.0]),
                           jnp.array([2.0, 1.0]), jnp.float32(-0.2))
  om, os_ = rng.normal(size=d), rng.uniform(0.3, 1, d)
  tm, ts = rng.normal(size=d), rng.uniform(0.3, 1, d)
  actions = np.array([[0.2, -0.5], [1.5, 0.0], [-2.0, 2.0], [0.9, 1.1]])
  q = rng.normal(size=n)
  args = [jnp.asarray(x, jnp.float32) for x in (om, os_, tm, ts, actions, q)]
  loss, stats = variant(lambda *a: losses.mpo_policy_loss(
      dual, *a, config=config))(*args)

  softplus = lambda x: np.log1p(np.exp(x)) + 1e-8
  def e_step(values, eta, eps):
    w = np.exp(values / eta) / np.exp(values / eta).sum()
    return w, eta * (eps + np.log(np.mean(np.exp(values / eta))))
  eta, eta_p = softplus(0.3), softplus(-0.2)
  w_q, dual_q = e_step(q, eta, 0.1)
  cost = -np.linalg.norm(actions - np.clip(actions, -1, 1), axis=1)
  np.testing.assert_allclose(cost, [0, -0.5, -np.sqrt(2), -0.1], rtol=1e-6)
  w_p, dual_p = e_step(cost, eta_p, 0.05)
  w = w_q + w_p
  log_n = lambda a, m, s: np.sum(-0.5 * ((a - m) / s) ** 2 - np.log(s) -
                                 0.5 * np.log(2 * np.pi), axis=-1)
  policy = -np.sum(w * (log_n(actions, om, ts) + log_n(actions, tm, os_)))
  kl_mean = (tm - om) ** 2 / (2 * ts ** 2)
  kl_std = np.log(os_ / ts) + ts ** 2 / (2 * os_ ** 2) - 0.5
  a_mean, a_std = softplus(np.array([0.5, -1.0])), softplus(np.array([2., 1.]))
  expected = (policy + np.sum(a_mean * kl_mean) + np.sum(a_std * kl_std) +
              np.sum(a_mean * (0.01 - kl_mean)) +
              np.sum(a_std * (1e-3 - kl_std)) + dual_q + dual_p)
  np.testing.assert_allclose(loss, expected, rtol=1e-5)
  np.testing.assert_allclose(stats['policy_loss'], policy, rtol=1e-5)
  np.testing.assert_allclose(stats['temperature'], eta, rtol=1e-6)
  # Without per-dimension constraints the KLs are summed over dimensions
  # and each alpha is a scalar.
  config_sum = _tiny_config(epsilon_mean=0.01, epsilon_stddev=1e-3,
                            per_dim_constraining=False,
                            action_penalization=False)
  dual_sum = dual._replace(log_alpha_mean=jnp.float32(0.5),
                           log_alpha_stddev=jnp.float32(2.0))
  loss_sum, _ = losses.mpo_policy_loss(dual_sum, *args, config=config_sum)
  policy_q = -np.sum(w_q * (log_n(actions, om, ts) + log_n(actions, tm, os_)))
  expected_sum = (policy_q + softplus(0.5) * 0.01 + softplus(2.0) * 1e-3 +
                  dual_q)  # alpha KL + alpha (eps - KL) = alpha eps.
  np.testing.assert_allclose(loss_sum, expected_sum, rtol=1e-5)


# The critic.


@VARIANTS
def test_categorical_projection_and_target_by_hand(variant):
  atoms = jnp.array([-1.0, 0.0, 1.0])
  project = variant(losses.categorical_l2_project)
  # Atoms shifted by +0.5: -0.5 splits half/half between -1 and 0, 0.5
  # between 0 and 1, and 1.5 is clipped onto 1.
  np.testing.assert_allclose(
      project(atoms + 0.5, jnp.array([0.2, 0.5, 0.3]), atoms),
      [0.1, 0.35, 0.55], rtol=1e-6)
  np.testing.assert_allclose(project(atoms + 5.0, jnp.array([0.2, 0.5, 0.3]),
                                     atoms), [0, 0, 1], atol=1e-7)
  # Target: the mean of N=2 next-state distributions, [0.3, 0.35, 0.35],
  # moved to r + gamma D atoms = [-0.5, 0, 0.5] and projected.
  logits_t = jnp.log(jnp.array([[0.2, 0.5, 0.3], [0.4, 0.2, 0.4]]))
  target = variant(losses.categorical_target)
  np.testing.assert_allclose(
      target(jnp.float32(0.0), jnp.float32(0.5), logits_t, atoms),
      [0.15, 0.675, 0.175], rtol=1e-5)
  # A termination (discount 0): all mass on r = 0.25, between 0 and 1.
  np.testing.assert_allclose(
      target(jnp.float32(0.25), jnp.float32(0.0), logits_t, atoms),
      [0.0, 0.75, 0.25], rtol=1e-5, atol=1e-7)
  # Cross-entropy against uniform logits is log 3 for any target.
  loss = variant(losses.critic_loss)(jnp.zeros(3), jnp.float32(0.0),
                                     jnp.float32(0.5), logits_t, atoms)
  np.testing.assert_allclose(loss, np.log(3), rtol=1e-6)


def test_projection_of_the_mean_equals_the_mean_of_projections():
  # Acme projects each of the N distributions then averages; we average
  # first. Same result, since the projection is linear in the probabilities.
  rng = np.random.default_rng(0)
  atoms = jnp.linspace(-3.0, 3.0, 7)
  logits = jnp.asarray(rng.normal(size=(5, 7)), jnp.float32)
  shifted = 0.7 + 0.9 * atoms
  each = jax.vmap(lambda row: losses.categorical_l2_project(
      shifted, jax.nn.softmax(row), atoms))(logits)
  np.testing.assert_allclose(
      losses.categorical_target(jnp.float32(0.7), jnp.float32(0.9), logits,
                                atoms), each.mean(0), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(each.sum(-1), 1.0, rtol=1e-5)


def test_losses_equal_rlax_called_in_its_own_batched_convention():
  # Our per-state wrappers (duals already through softplus, vmapped over
  # the batch) against rlax on [N, B] Q-values with the raw log-space dual
  # and softplus as rlax's projection_operator.
  rng = np.random.default_rng(7)
  n, b, d = 6, 5, 3
  q = jnp.asarray(rng.normal(size=(n, b)) * 3.0, jnp.float32)  # [N, B]
  log_temperature, epsilon = jnp.float32(-0.4), 0.1
  rlax_loss, rlax_weights, num = rlax.mpo_compute_weights_and_temperature_loss(
      q, rlax.LagrangePenalty(log_temperature, epsilon), losses.to_dual)
  ours = lambda t: jax.vmap(lambda q_b: losses.e_step(
      q_b, epsilon, losses.to_dual(t)))(q.T)
  weights, loss = ours(log_temperature)
  assert num == n
  np.testing.assert_allclose(weights, rlax_weights.T, rtol=1e-6, atol=1e-7)
  # Each loss is temperature * (epsilon + logmeanexp(q / temperature)): a
  # small one is a difference of terms of the batch's scale, so its float32
  # rounding is relative to that scale, not to itself (1 ulp at 1.0 apart
  # on a 0.025 loss on an AMD EPYC).
  np.testing.assert_allclose(loss, rlax_loss, rtol=1e-6,
                             atol=1e-6 * np.abs(rlax_loss).max())
  np.testing.assert_allclose(
      jax.grad(lambda t: jnp.mean(ours(t)[1]))(log_temperature),
      jax.grad(lambda t: jnp.mean(
          rlax.mpo_compute_weights_and_temperature_loss(
              q, rlax.LagrangePenalty(t, epsilon), losses.to_dual)[0]))(
                  log_temperature), rtol=1e-5)
  # KL penalty and dual, per dimension: kl [B, D], raw alphas [D].
  kl = jnp.asarray(rng.uniform(0, 0.2, (b, d)), jnp.float32)
  log_alpha = jnp.asarray(rng.normal(size=d), jnp.float32)
  expected = rlax.compute_parametric_kl_penalty_and_dual_loss(
      [(kl, rlax.LagrangePenalty(log_alpha, 0.05, per_dimension=True))],
      losses.to_dual)
  got = jax.vmap(losses.kl_penalty_and_dual_loss, (0, None, None))(
      kl, losses.to_dual(log_alpha), 0.05)
  for ours_part, rlax_part in zip(got, expected):
    np.testing.assert_allclose(ours_part, rlax_part, rtol=1e-6,
                               atol=1e-6 * np.abs(rlax_part).max())
  # The projection, with unsorted source atoms partly outside the support,
  # against a loop written here from its definition: each source atom's
  # mass, clipped into the support, splits between its two neighbouring
  # atoms in proportion to closeness.
  atoms = jnp.linspace(-2.0, 2.0, 9)
  z_p = jnp.asarray(rng.uniform(-3, 3, 12), jnp.float32)
  probs = jax.nn.softmax(jnp.asarray(rng.normal(size=12), jnp.float32))
  support, spacing = np.asarray(atoms, np.float64), 0.5
  expected = np.zeros(9)
  for z, p in zip(np.clip(np.asarray(z_p, np.float64), -2.0, 2.0),
                  np.asarray(probs, np.float64)):
    position = (z - support[0]) / spacing
    low = int(np.floor(position))
    high = min(low + 1, 8)
    weight_high = position - low
    expected[low] += p * (1 - weight_high)
    expected[high] += p * weight_high
  np.testing.assert_allclose(
      losses.categorical_l2_project(z_p, probs, atoms), expected,
      rtol=1e-5, atol=1e-6)


# Configuration, networks, builder.


def test_config_validation_names_the_field():
  with pytest.raises(ValueError, match=r'batch_size: expected an integer >= '
                     r'1, got 0'):
    dmpo.DMPOConfig(batch_size=0)
  with pytest.raises(ValueError, match=r'discount: expected a number in '
                     r'\[0, 1\], got 1.5'):
    dmpo.DMPOConfig(discount=1.5)
  with pytest.raises(ValueError, match=r'epsilon_mean: expected > 0, got '
                     r'-0.1'):
    dmpo.DMPOConfig(epsilon_mean=-0.1)
  with pytest.raises(ValueError, match=r'min_replay_size: expected <= '
                     r'max_replay_size=10, got 1000'):
    dmpo.DMPOConfig(max_replay_size=10)
  with pytest.raises(ValueError, match=r'critic_hidden_sizes: expected a '
                     r'non-empty sequence'):
    dmpo.DMPOConfig(critic_hidden_sizes=())
  with pytest.raises(ValueError, match=r'variable_table_name: expected None '
                     r"or a non-empty name other than 'dmpo_replay'"):
    dmpo.DMPOConfig(variable_table_name='dmpo_replay')
  config = dmpo.DMPOConfig()
  assert (config.batch_size, config.n_step, config.num_samples,
          config.num_atoms, config.vmax) == (256, 5, 20, 51, 150.0)
  # The 32-D latent-action rule: epsilon_mean / action dimension.
  assert config.with_epsilon_mean_per_dimension(32).epsilon_mean == (
      pytest.approx(0.0025 / 32))


def test_networks_shapes_initial_scale_and_action_box():
  config = _tiny_config()
  networks = dmpo.make_networks(_spec(scale=2.0), config)
  params = networks.policy_init(jax.random.PRNGKey(0))
  mean, stddev = networks.policy_apply(params, jnp.zeros((3, 2)))
  assert mean.shape == stddev.shape == (3, 2)
  # Small output initialisation: raw scale ~ 0, stddev ~ init_scale.
  np.testing.assert_allclose(stddev, config.init_scale, rtol=1e-2)
  logits = networks.critic_apply(networks.critic_init(jax.random.PRNGKey(1)),
                                 jnp.zeros((3, 5, 2)), jnp.zeros((3, 5, 2)))
  assert logits.shape == (3, 5, config.num_atoms)
  # Canonical [-1, 1] <-> the spec's [-2, 2], clipped on the way out.
  np.testing.assert_allclose(networks.to_canonical(jnp.array([-2., 1.])),
                             [-1.0, 0.5])
  np.testing.assert_allclose(networks.to_environment(jnp.array([0.5, 3.])),
                             [1.0, 2.0])
  # The evaluation policy is the mean; behaviour samples stay in the box.
  observation = jnp.array([0.3, -0.2])
  greedy = dmpo.make_policy(networks, evaluation=True)
  np.testing.assert_allclose(
      greedy(params, jax.random.PRNGKey(0), observation),
      networks.to_environment(networks.policy_apply(params, observation)[0]),
      rtol=1e-6)
  behaviour = jax.vmap(dmpo.make_policy(networks), (None, 0, None))(
      params, jax.random.split(jax.random.PRNGKey(0), 200), observation)
  assert np.all(np.abs(behaviour) <= 2.0) and np.std(behaviour) > 0.5
  unbounded = specs.EnvironmentSpec(
      dm_env_specs.Array((2,), np.float32), dm_env_specs.Array(
          (3,), np.float32), dm_env_specs.Array((), np.float32),
      dm_env_specs.Array((), np.float32))
  with pytest.raises(ValueError, match='action_penalization needs a bounded'):
    dmpo.make_networks(unbounded, config)
  assert dmpo.make_networks(unbounded, _tiny_config(
      action_penalization=False)).action_size == 3


def test_networks_standardise_observations_with_the_configs_statistics():
  mean, std = (0.5, -2.0), (0.25, 100.0)
  scaled = dmpo.make_networks(_spec(), _tiny_config(
      observation_mean=mean, observation_std=list(std)))
  raw = dmpo.make_networks(_spec(), _tiny_config())
  params = raw.policy_init(jax.random.PRNGKey(1))
  critic = raw.critic_init(jax.random.PRNGKey(2))
  observation = np.array([[1.0, 98.0], [0.5, -2.0], [9.0, 0.0]], np.float32)
  # Standardised by hand; the third row's first value, 34 std away, is
  # clipped to the networks' bound.
  by_hand = (observation - np.array(mean)) / np.array(std)
  by_hand = np.clip(by_hand, -dmpo.networks.OBSERVATION_CLIP,
                    dmpo.networks.OBSERVATION_CLIP).astype(np.float32)
  assert by_hand[2, 0] == dmpo.networks.OBSERVATION_CLIP
  for got, want in zip(scaled.policy_apply(params, observation),
                       raw.policy_apply(params, by_hand)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  action = np.zeros((3, 2), np.float32)
  got = scaled.critic_apply(critic, observation, action)
  want = raw.critic_apply(critic, by_hand, action)
  np.testing.assert_allclose(got, want, rtol=1e-4,
                             atol=1e-5 * np.abs(want).max())
  with pytest.raises(ValueError, match='observation_std: expected given '
                     'together with observation_mean'):
    _tiny_config(observation_mean=mean)
  with pytest.raises(ValueError, match=r'observation_std: expected values '
                     r'> 0, got \(0.25, 0.0\)'):
    _tiny_config(observation_mean=mean, observation_std=(0.25, 0.0))
  with pytest.raises(ValueError, match='config.observation_mean: expected 2 '
                     'values'):
    dmpo.make_networks(_spec(), _tiny_config(observation_mean=(0.0,) * 3,
                                             observation_std=(1.0,) * 3))


def test_replay_table_rate_limiter_and_signature():
  config = dmpo.DMPOConfig()  # samples_per_insert 32, min size 1000.
  spec = _spec()
  [replay] = dmpo.DMPOBuilder(config).make_replay_tables(spec)
  info = replay.info
  assert info.name == 'dmpo_replay' and info.max_size == 1_000_000
  limiter = info.rate_limiter_info
  assert limiter.samples_per_insert == 32
  assert limiter.min_size_to_sample == 1000
  # error buffer = max(1000 * 0.1 * 32, 2 * 32) = 3200 around 32 * 1000.
  assert (limiter.min_diff, limiter.max_diff) == (32_000 - 3200,
                                                  32_000 + 3200)
  assert replay.info.signature == (
      reverb_adders.NStepTransitionAdder.signature(spec))


# The learner.


def test_second_update_does_not_recompile():
  config = _tiny_config(batch_size=8, sgd_steps_per_step=2)
  networks = dmpo.make_networks(_spec(), config)
  traces = []
  update = dmpo.make_update(networks)

  def counted(state, transitions):
    traces.append(1)  # Runs only while tracing.
    return update(state, transitions)

  jitted = jax.jit(counted)
  state = dmpo.init_training_state(networks, jax.random.PRNGKey(0))
  for step in range(3):
    state, metrics = jitted(state, _random_transitions(16, seed=step))
  assert len(traces) == 1 and jitted._cache_size() == 1  # pylint: disable=protected-access
  assert int(state.steps) == 3 * 2 and np.isfinite(metrics['loss'])
  # The learner's own jitted update and the actor's jitted policy, too.
  learner = dmpo.DMPOLearner(networks, _batches(16))
  actor = dmpo.DMPOActor(
      dmpo.make_policy(networks), jax.random.PRNGKey(0),
      variables.SourceVariableClient(learner, ['policy'], update_period=1))
  for _ in range(3):
    learner.step()
    actor.select_action(np.zeros(2, np.float32))
    actor.update()  # Fetches the new parameters every call.
  assert learner._update._cache_size() == 1  # pylint: disable=protected-access
  assert actor._step._cache_size() == 1  # pylint: disable=protected-access


def test_the_stddev_multiplier_decides_whether_the_stddev_can_move():
  # Acme DMPO's init_log_alpha_stddev (1000) holds the policy stddev at
  # its initial value for ~1e5 updates (docs/phase2.md); a small one lets
  # the M-step change it within a few dozen.
  moved = {}
  for log_alpha in (1000.0, 0.0):
    config = _tiny_config(batch_size=16, sgd_steps_per_step=1,
                          init_log_alpha_stddev=log_alpha)
    learner = dmpo.DMPOLearner(dmpo.make_networks(_spec(), config),
                               _batches(16))
    first = learner.step()
    for _ in range(39):
      last = learner.step()
    moved[log_alpha] = max(
        abs(last[k] - first[k]) for k in ('pi_stddev_min', 'pi_stddev_max'))
  assert moved[1000.0] < 1e-3 * 0.7, moved
  assert moved[0.0] > 1e-2 * 0.7, moved


def test_target_networks_copy_every_period():
  config = _tiny_config(batch_size=8, sgd_steps_per_step=2,
                        target_update_period=4)
  networks = dmpo.make_networks(_spec(), config)
  learner = dmpo.DMPOLearner(networks, _batches(16))
  start = learner.state.target_critic_params
  learner.step()  # SGD steps 1, 2: targets unchanged.
  state = learner.state
  jax.tree_util.tree_map(np.testing.assert_array_equal,
                         state.target_critic_params, start)
  learner.step()  # SGD step 4 copies the online networks.
  state = learner.state
  jax.tree_util.tree_map(np.testing.assert_array_equal,
                         state.target_critic_params, state.critic_params)
  jax.tree_util.tree_map(np.testing.assert_array_equal,
                         state.target_policy_params, state.policy_params)
  # Duals stay above the log-space floor; the learner checks batches.
  assert float(state.dual_params.log_temperature) >= losses.MIN_LOG_DUAL
  bad = _random_transitions(16)._replace(reward=np.zeros((16, 1), np.float32))
  learner._iterator = iter([bad])  # pylint: disable=protected-access
  with pytest.raises(ValueError, match=r'transitions.reward: expected '
                     r'\[batch, \*\(\)\], got \(16, 1\)'):
    learner.step()


def test_checkpoint_restore_and_continue(tmp_path):
  config = _tiny_config(batch_size=8, sgd_steps_per_step=2,
                        checkpoint_every=3)
  networks = dmpo.make_networks(_spec(), config)
  straight = dmpo.DMPOLearner(networks, _batches(16, seed=1),
                              random_key=jax.random.PRNGKey(1))
  for _ in range(5):
    straight.step()
  # Checkpointed after 3 steps; a new learner resumes from there, reading
  # the batches the first one would have read next.
  first = dmpo.DMPOLearner(networks, _batches(16, seed=1),
                           random_key=jax.random.PRNGKey(1),
                           checkpoint_dir=str(tmp_path / 'ckpt'))
  for _ in range(3):
    first.step()
  saved = first.save()
  iterator = first._iterator  # pylint: disable=protected-access
  rows = []

  class _Rows(loggers.Logger):

    def write(self, data):
      rows.append(dict(data))

  resumed = dmpo.DMPOLearner(networks, iterator,
                             random_key=jax.random.PRNGKey(7),
                             logger=_Rows(),
                             checkpoint_dir=str(tmp_path / 'ckpt'))
  assert int(resumed.state.steps) == 3 * config.sgd_steps_per_step
  jax.tree_util.tree_map(np.testing.assert_array_equal, resumed.save(), saved)
  assert isinstance(resumed.state.dual_params, losses.DualParams)
  for _ in range(2):
    resumed.step()
  assert int(resumed.state.steps) == 5 * config.sgd_steps_per_step
  # Its log carries on from the checkpoint's 3 steps (6 SGD steps), not
  # from 0: a resumed run's learner.jsonl has no seam.
  assert [(r['steps'], r['sgd_steps']) for r in rows] == [(4, 8), (5, 10)]
  jax.tree_util.tree_map(
      lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
      resumed.state, straight.state)
  # Saveable: restore() puts a saved state back.
  resumed.restore(saved)
  jax.tree_util.tree_map(np.testing.assert_array_equal, resumed.save(), saved)
  with pytest.raises(ValueError, match=r'checkpoint was written with another '
                     r'model: critic_hidden_sizes: checkpoint \[64, 64\]'):
    dmpo.DMPOLearner(dmpo.make_networks(_spec(), _tiny_config(
        batch_size=8, sgd_steps_per_step=2, critic_hidden_sizes=(16,))),
        _batches(16), checkpoint_dir=str(tmp_path / 'ckpt'))
  with pytest.raises(ValueError, match="names: \\['torso'\\] unknown"):
    resumed.get_variables(['policy', 'torso'])


# The whole agent.


def test_learns_to_reach_through_builder_and_reverb(reverb_server):
  """Actor -> n-step adder -> Reverb -> dataset -> learner -> variable
  table -> actor, all made by the builder, in one process: 150 episodes
  (1,500 steps), 2 learner steps of 4 SGD steps each per episode."""
  env = Reach(scale=2.0, seed=0)
  spec = specs.make_environment_spec(env)
  config = _tiny_config()
  builder = dmpo.DMPOBuilder(config)
  networks = dmpo.make_networks(spec, config)
  _, client = reverb_server(builder.make_replay_tables(spec) + [
      variables.make_variable_table(config.variable_table_name)])
  learner = builder.make_learner(
      jax.random.PRNGKey(0), networks, builder.make_dataset_iterator(client),
      lambda label, steps_key=None: loggers.NoOpLogger(), spec, client)
  # Actors read parameters from the variable table, as in another process.
  source = variables.VariableClient(
      client, {'policy': networks.policy_init(jax.random.PRNGKey(9))},
      table=config.variable_table_name)
  actor = builder.make_actor(jax.random.PRNGKey(1),
                             builder.make_policy(networks, spec), spec,
                             source, builder.make_adder(client, spec, None))
  evaluator = builder.make_actor(
      jax.random.PRNGKey(2), builder.make_policy(networks, spec, True), spec,
      source)

  # References: a uniformly random policy and the scripted optimum.
  rng = np.random.default_rng(0)
  reference_env = Reach(scale=2.0, seed=1)
  act = fakes.FunctionActor
  random_return = np.mean([_episode_return(reference_env, act(
      lambda o: rng.uniform(-2, 2, 2).astype(np.float32)))
                           for _ in range(50)])
  scripted_return = np.mean([_episode_return(reference_env, act(
      lambda o: np.clip(2 * (reference_env.goal - o) / 0.3, -2, 2).astype(
          np.float32))) for _ in range(50)])
  assert random_return < 1.0 < 8.0 < scripted_return

  def evaluate():  # The greedy policy on the same 20 start states.
    evaluation_env = Reach(scale=2.0, seed=2)
    return np.mean([_episode_return(evaluation_env, evaluator)
                    for _ in range(20)])

  before = evaluate()
  inserted = 0
  for _ in range(150):
    # The actor fetches once per episode (its update period is 10 steps)
    # and waits for the fetch: a background fetch that lands late under a
    # loaded CPU would make what the actor collects depend on the load.
    _episode_return(env, actor, update=False)
    inserted += 10
    if inserted >= config.min_replay_size:
      for _ in range(2):
        learner.step()
    actor.update(wait=True)
  evaluator.update(wait=True)
  after = evaluate()
  # The published parameters are the learner's.
  jax.tree_util.tree_map(np.testing.assert_array_equal, evaluator.params,
                         jax.device_get(learner.get_variables(['policy'])[0]))
  threshold = random_return + 0.6 * (scripted_return - random_return)
  assert after > threshold, (before, after, random_return, scripted_return)
  assert int(learner.state.steps) == 2 * 4 * 141


def _acme_table_rewrite(tables):
  """Stands in for what Acme's run_experiment does to a builder's tables
  before serving them: keep each rate limiter's ratio and lower bound, lift
  its upper bound (inserts never block), and train only while each table
  can sample half the original window. Returns (tables, sample sizes)."""
  rewritten, sizes = [], []
  for table in tables:
    info = table.info.rate_limiter_info
    unbounded = reverb.rate_limiters.RateLimiter(
        samples_per_insert=info.samples_per_insert,
        min_size_to_sample=info.min_size_to_sample,
        min_diff=info.min_diff, max_diff=sys.float_info.max)
    rewritten.append(table.replace(rate_limiter=unbounded))
    sizes.append(max(1, int((info.max_diff - info.min_diff) / 2)))
  return rewritten, sizes


def test_builder_runs_under_acmes_single_process_experiment(reverb_server):
  """The builder's default tables survive Acme's limiter rewrite, and its
  learner and actor run Acme's way: one process, the learner as the actor's
  variable source, a learner step whenever every table can sample."""
  env = Reach(scale=2.0, seed=3)
  spec = specs.make_environment_spec(env)
  config = _tiny_config(samples_per_insert=4.0, min_replay_size=40,
                        batch_size=16, sgd_steps_per_step=1)
  builder = dmpo.DMPOBuilder(config)
  tables, sizes = _acme_table_rewrite(builder.make_replay_tables(spec))
  # A MinSize table (such as the variable store) would not survive it.
  with pytest.raises(OverflowError):
    _acme_table_rewrite([variables.make_variable_table()])
  _, client = reverb_server(tables)
  networks = dmpo.make_networks(spec, config)
  learner = builder.make_learner(
      jax.random.PRNGKey(0), networks, builder.make_dataset_iterator(client),
      lambda label, steps_key=None: loggers.NoOpLogger(), spec, client)
  actor = builder.make_actor(jax.random.PRNGKey(1),
                             builder.make_policy(networks, spec), spec,
                             learner, builder.make_adder(client, spec, None))
  learner_steps = 0
  for _ in range(12):  # 120 environment steps.
    timestep = env.reset()
    actor.observe_first(timestep)
    while not timestep.last():
      action = actor.select_action(timestep.observation)
      timestep = env.step(action)
      actor.observe(action, next_timestep=timestep)
      while all(table.can_sample(size) for table, size in zip(tables,
                                                                sizes)):
        learner.step()
        learner_steps += 1
        if learner_steps >= 40:
          break
      actor.update()
  # min size 40 of 120 inserted, 4 samples per insert, 16 per step:
  # (120 - 40) * 4 / 16 = 20 steps, give or take the limiter's slack.
  assert 10 <= learner_steps <= 40, learner_steps
  actor.update(wait=True)
  jax.tree_util.tree_map(np.testing.assert_array_equal, actor.params,
                         learner.get_variables(['policy'])[0])
