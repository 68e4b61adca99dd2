"""The CEM planner on a toy analytic model whose best plan is known.

Toy model: the state is a point in the plane and a skill z moves it by
0.1 * z (one jump); the reward peaks at a target. The best first skill
points from the state towards the target.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme.agents import planning
from jumpy_acme.agents import skill_vae
from jumpy_acme.testing import phase1

TARGET = jnp.array([1.0, 0.5])


def model(state, z):
  return state + 0.1 * z


def reward(state):
  return jnp.exp(-jnp.sum((state - TARGET) ** 2))


def _planner(**overrides):
  values = dict(num_samples=500, horizon=3, iterations=1)
  values.update(overrides)
  return planning.make_planner(model, reward, 2,
                               planning.PlannerConfig(**values))


def _cosine(a, b):
  a, b = np.asarray(a), np.asarray(b)
  return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_discounted_score_includes_h0():
  np.testing.assert_allclose(
      planning.discounted_score(jnp.array([1.0, 2.0, 4.0]), 0.5),
      1.0 + 0.5 * 2.0 + 0.25 * 4.0)


class PlannerTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_first_skill_points_at_the_target(self):
    plan = self.variant(_planner())
    state = jnp.zeros(2)
    result = plan(jax.random.PRNGKey(0), state)
    assert _cosine(result.z, TARGET - state) > 0.8
    # The returned score is the best plan's, recomputed by hand here.
    best = int(jnp.argmax(result.scores))
    s, total = np.zeros(2), float(reward(jnp.zeros(2)))
    for h in range(3):
      s = s + 0.1 * np.asarray(result.plans[best, h])
      total += float(reward(jnp.asarray(s)))
    np.testing.assert_allclose(result.score, total, rtol=1e-5)
    np.testing.assert_allclose(result.trajectories[best, -1], s, atol=1e-5)
    assert result.plans.shape == (500, 3, 2)
    assert result.trajectories.shape == (500, 4, 2)


def test_cem_finds_the_analytic_optimum():
  # From s = (0.85, 0.35) the score sum_h r(s_h) (h = 0..3) is largest when
  # the first jump lands on the target and the others stay: z_0 = (T - s) /
  # 0.1 = (1.5, 1.5), score r(s) + 3. CEM's iterations close in on it.
  state = jnp.array([0.85, 0.35])
  optimum = float(reward(state)) + 3.0
  plan = jax.jit(_planner(num_samples=1000, iterations=6,
                          elite_fraction=0.05))
  for seed in range(3):
    result = plan(jax.random.PRNGKey(seed), state)
    np.testing.assert_allclose(result.z, [1.5, 1.5], atol=0.1)
    np.testing.assert_allclose(result.score, optimum, atol=1e-3)
    best = int(jnp.argmax(result.scores))
    np.testing.assert_allclose(result.trajectories[best, 1:],
                               np.tile(TARGET, (3, 1)), atol=0.02)
  # One iteration (random shooting) gets close, though less so.
  shooting = jax.jit(_planner(num_samples=1000))(jax.random.PRNGKey(0), state)
  assert optimum - 0.02 < float(shooting.score) <= optimum + 1e-6


def test_jitted_equals_unjitted():
  plan = _planner(num_samples=200, iterations=3, noise_beta=1.0)
  key, state = jax.random.PRNGKey(7), jnp.array([0.3, -0.2])
  eager, jitted = plan(key, state), jax.jit(plan)(key, state)
  for name, a, b in zip(eager._fields, eager, jitted):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)


def test_cem_iterations_improve_the_best_score():
  state = jnp.array([-0.5, -0.5])
  one = jax.jit(_planner(num_samples=64, iterations=1))
  four = jax.jit(_planner(num_samples=64, iterations=4))
  scores_one = [float(one(jax.random.PRNGKey(i), state).score)
                for i in range(8)]
  scores_four = [float(four(jax.random.PRNGKey(i), state).score)
                 for i in range(8)]
  assert np.mean(scores_four) > np.mean(scores_one)
  mppi = jax.jit(_planner(num_samples=64, iterations=4, mppi=True,
                          temperature=0.05))
  scores_mppi = [float(mppi(jax.random.PRNGKey(i), state).score)
                 for i in range(8)]
  assert np.mean(scores_mppi) > np.mean(scores_one)


def test_batched_over_environments():
  plan = jax.jit(jax.vmap(_planner(), in_axes=(0, 0)))
  states = jnp.array([[0.0, 0.0], [2.0, 0.5], [1.0, 2.0], [1.0, -1.0]])
  results = plan(jax.random.split(jax.random.PRNGKey(1), 4), states)
  assert results.z.shape == (4, 2)
  for z, s in zip(results.z, states):
    assert _cosine(z, TARGET - s) > 0.8, (z, s)


def test_learned_proposal_and_warm_start():
  toward = lambda s: (TARGET - s, jnp.full(2, 1e-3))  # pi(z | s).
  plan = jax.jit(planning.make_planner(
      model, reward, 2, planning.PlannerConfig(num_samples=8, horizon=2),
      proposal_fn=toward))
  state = jnp.zeros(2)
  result = plan(jax.random.PRNGKey(0), state)
  np.testing.assert_allclose(result.z, TARGET - state, atol=1e-2)
  # The second skill was sampled at the predicted state.
  np.testing.assert_allclose(result.plans[0, 1],
                             TARGET - model(state, result.plans[0, 0]),
                             atol=1e-2)
  warm = jnp.array([[0.3, -0.2], [0.1, 0.1]])
  result = plan(jax.random.PRNGKey(0), state, warm, jnp.full((2, 2), 1e-4))
  np.testing.assert_allclose(result.z, warm[0], atol=1e-3)
  np.testing.assert_allclose(planning.shift_plan(warm),
                             [[0.1, 0.1], [0.0, 0.0]])


def test_second_call_does_not_recompile():
  plan = jax.jit(_planner(num_samples=32))
  plan(jax.random.PRNGKey(0), jnp.zeros(2))
  plan(jax.random.PRNGKey(1), jnp.ones(2))
  plan(jax.random.PRNGKey(2), jnp.zeros(2))
  assert plan._cache_size() == 1  # pylint: disable=protected-access


def test_one_iteration_with_the_prior_is_random_shooting():
  # The plans are the prior's N(0, I) draws for the iteration's key, and
  # the chosen skill is the first of the best of them, scored here by hand.
  key = jax.random.PRNGKey(3)
  result = jax.jit(_planner(num_samples=50))(key, jnp.zeros(2))
  draws = np.asarray(jax.random.normal(jax.random.split(key, 1)[0],
                                       (50, 3, 2)))
  np.testing.assert_allclose(result.plans, draws, atol=1e-6)
  scores = []
  for plan in draws:
    s, total = np.zeros(2), float(reward(jnp.zeros(2)))
    for z in plan:
      s = s + 0.1 * z
      total += float(reward(jnp.asarray(s)))
    scores.append(total)
  np.testing.assert_allclose(result.scores, scores, rtol=1e-5)
  np.testing.assert_allclose(result.z, draws[int(np.argmax(scores)), 0])


def test_coloured_noise_has_unit_variance_and_correlates_over_jumps():
  key = jax.random.PRNGKey(0)
  white = np.asarray(planning.coloured_noise(key, (4000, 16, 4), 0.0))
  pink = np.asarray(planning.coloured_noise(key, (4000, 16, 4), 1.0))
  red = np.asarray(planning.coloured_noise(key, (4000, 16, 4), 2.0))
  lag1 = lambda x: float(np.mean(x[:, 1:] * x[:, :-1]))
  for noise in (white, pink, red):
    np.testing.assert_allclose(noise.var(axis=(0, 2)), 1.0, atol=0.08)
  assert abs(lag1(white)) < 0.03
  assert 0.2 < lag1(pink) < lag1(red)
  # The planner samples it when asked, and stays correct on the toy model.
  result = jax.jit(_planner(horizon=8, noise_beta=2.0))(key, jnp.zeros(2))
  assert np.mean(result.plans[:, 1:] * result.plans[:, :-1]) > 0.3
  assert _cosine(result.z, TARGET) > 0.8


def test_bad_config_and_input():
  with pytest.raises(ValueError, match='num_samples: expected an integer'):
    planning.PlannerConfig(num_samples=0)
  with pytest.raises(ValueError, match='elite_fraction'):
    planning.PlannerConfig(elite_fraction=0.0)
  with pytest.raises(ValueError, match=r'elites: expected an integer in '
                     r'\[1, num_samples = 10\], got 11'):
    planning.PlannerConfig(num_samples=10, elites=11)
  assert planning.PlannerConfig(num_samples=10, elites=4).num_elites == 4
  with pytest.raises(ValueError, match='noise_beta'):
    planning.PlannerConfig(noise_beta=-1.0)
  plan = planning.make_planner(model, reward, 2, planning.PlannerConfig(
      num_samples=8), state_size=2)
  with pytest.raises(ValueError, match=r'state: expected shape \(2,\), '
                     r'got \(3,\)'):
    jax.jit(plan)(jax.random.PRNGKey(0), jnp.zeros(3))
  with pytest.raises(ValueError, match='init_mean: expected shape'):
    plan(jax.random.PRNGKey(0), jnp.zeros(2), jnp.zeros((2, 2)))


@pytest.mark.parametrize('k', [10, 1])
def test_plans_with_the_skill_vae_and_a_task_reward(k):
  """The planner composes with the phase-1 jumpy model and a JAX reward."""
  from jumpy_acme.environments.rgb_stacking import rewards
  model = phase1.tiny_model(K=k)
  plan = jax.jit(jax.vmap(planning.make_skill_planner(
      model, rewards.jax_reward('red_stack_blue'),
      planning.PlannerConfig(num_samples=16, horizon=30 // k if k == 10
                             else 3))))
  states = jnp.asarray(np.random.default_rng(0).normal(size=(2, 86)),
                       jnp.float32)
  result = plan(jax.random.split(jax.random.PRNGKey(1), 2), states)
  assert result.z.shape == (2, 4)
  # For each environment: the best plan, rolled out here with the model's
  # own predict_next_state and scored with the reward (Eq. 3, gamma 1), is
  # what the planner reports, and its first skill is the one returned.
  reward = rewards.jax_reward('red_stack_blue')
  for e in range(2):
    best = int(np.argmax(np.asarray(result.scores[e])))
    state, score = states[e], float(reward(states[e]))
    for z in result.plans[e, best]:
      state = model.predict_next_state(state, z)
      score += float(reward(state))
    np.testing.assert_allclose(result.trajectories[e, best, -1], state,
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(float(result.score[e]), score, rtol=1e-4)
    np.testing.assert_array_equal(result.z[e], result.plans[e, best, 0])


@pytest.mark.parametrize('jumpy_input_action', [False, True])
def test_split_skill_vae_model_equals_the_jumpy_decoder(jumpy_input_action):
  # The planner's shared-first-layer form of the model must predict what
  # predict_next_state predicts, and plan the same with the same key; with
  # jumpy_input_action the decoder's input also holds the decoded action.
  from jumpy_acme.agents import skill_vae
  from jumpy_acme.environments.rgb_stacking import rewards
  rng = np.random.default_rng(0)
  norm = skill_vae.Normalization(
      jnp.asarray(rng.normal(size=86), jnp.float32),
      jnp.asarray(rng.uniform(0.5, 2, size=86), jnp.float32),
      -jnp.ones(86), 2 * jnp.ones(86), jnp.ones(5))
  model = phase1.tiny_model(normalization=norm, decoder_sizes=(16, 16, 16),
                            jumpy_input_action=jumpy_input_action)
  plain = model.predict_next_state
  split = planning.skill_vae_model(model)
  state = jnp.asarray(rng.normal(size=86), jnp.float32)
  z = jnp.asarray(rng.normal(size=4), jnp.float32)
  expected = plain(state, z)
  np.testing.assert_allclose(split.predict(split.features(state), state, z),
                             expected, rtol=1e-5,
                             atol=1e-5 * float(jnp.abs(expected).max()))
  make = lambda jumpy: jax.jit(planning.make_planner(
      jumpy, rewards.jax_reward('reach_red'), 4,
      planning.PlannerConfig(num_samples=32, horizon=3)))
  a = make(plain)(jax.random.PRNGKey(2), state)
  b = make(split)(jax.random.PRNGKey(2), state)
  np.testing.assert_allclose(a.trajectories, b.trajectories, rtol=1e-4,
                             atol=1e-4)
  np.testing.assert_allclose(a.z, b.z)


def test_the_aggregate_posterior_proposal_draws_the_first_skills_from_it():
  model = phase1.tiny_model()
  state = jnp.asarray(np.random.default_rng(0).normal(size=86), jnp.float32)
  config = planning.PlannerConfig(num_samples=64, horizon=2,
                                  proposal='aggregate_posterior')
  with pytest.raises(ValueError, match="proposal: 'aggregate_posterior' "
                     "needs the model's fitted q"):
    planning.make_skill_planner(model, jnp.sum, config)
  mean = jnp.array([3.0, -2.0, 0.5, 1.0])
  fitted = model.replace(aggregate_posterior=skill_vae.AggregatePosterior(
      mean, jnp.full(4, 0.01)))
  result = jax.jit(planning.make_skill_planner(fitted, jnp.sum, config))(
      jax.random.PRNGKey(1), state)
  # Every plan's skills lie within 6 std of the fitted mean, at each jump.
  assert np.abs(np.asarray(result.plans) - np.asarray(mean)).max() < 0.06
  # The prior's draws do not: the test can tell the two apart.
  prior = jax.jit(planning.make_skill_planner(
      fitted, jnp.sum, planning.PlannerConfig(num_samples=64, horizon=2)))(
          jax.random.PRNGKey(1), state)
  assert np.abs(np.asarray(prior.plans) - np.asarray(mean)).max() > 1.0
  with pytest.raises(ValueError, match="proposal: 'aggregate_posterior' "
                     'replaces the prior, not a learned proposal_fn'):
    planning.make_skill_planner(fitted, jnp.sum, config,
                                proposal_fn=lambda s: (mean, mean))
  with pytest.raises(ValueError, match=r"proposal: expected one of \('prior',"
                     r" 'aggregate_posterior'\), got 'posterior'"):
    planning.PlannerConfig(proposal='posterior')
