"""Random-HL and Zero-shot via Planning actors in the real environment."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme import environment_loop
from jumpy_acme import environments
from jumpy_acme.agents import planning
from jumpy_acme.environments.rgb_stacking import layout
from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.environments.rgb_stacking import scene
from jumpy_acme.testing import asserts
from jumpy_acme.testing import phase1
from jumpy_acme.utils import loggers


@pytest.fixture(scope='module')
def model():
  """A tiny random model acting in the spec's units (grip scale 255)."""
  return phase1.tiny_model(normalization=phase1.identity_normalization(
      scene.ACTION_MAX))


def _decode_by_hand(model, state, z):
  """The low-level policy's mean from the raw network, independently of
  SkillModel.decode_action: standardise, decode, clip to [-1, 1], scale."""
  norm = model.normalization
  standardised = (jnp.asarray(state) - norm.state_mean) / norm.state_std
  out = model.networks.decode_actions(model.params, standardised, z)
  return np.clip(np.asarray(out), -1, 1) * scene.ACTION_MAX


def _run(actor, steps=25):
  env = environments.make('red_stack_blue', seed=0, triplet='triplet1',
                          episode_length=steps)
  recorder = environment_loop.EpisodeRecorder()
  environment_loop.EnvironmentLoop(env, actor, logger=loggers.NoOpLogger(),
                                   observers=[recorder]).run(num_episodes=1)
  return recorder.episodes[0], env


def test_random_hl_holds_each_skill_for_actions_per_latent_steps(model):
  actor = planning.random_hl_actor(model, actions_per_latent=10, seed=3)
  episode, env = _run(actor)
  assert actor.skills_chosen == 3  # Steps 0, 10 and 20.
  spec = env.action_spec()
  actions = np.stack(episode['actions'])
  assert np.all(actions >= spec.minimum - 1e-6)
  assert np.all(actions <= spec.maximum + 1e-6)
  # The skills are the prior's draws from the actor's keys, each held for
  # 10 steps: steps 20..24 act with the third draw.
  key = jax.random.PRNGKey(3)
  for _ in range(3):
    key, draw = jax.random.split(key)
  z = jax.random.normal(draw, (4,))
  for t in range(20, 25):
    # Jitted (the actor) and eager (here) round differently: compare each
    # dimension to float32 rounding of its scale (the grip's is 255).
    asserts.assert_close_to_scale(
        actions[t], _decode_by_hand(model, episode['states'][t], z),
        scene.ACTION_MAX)


def test_planning_actor_acts_with_the_planners_first_skill(model):
  plan = planning.make_skill_planner(
      model, rewards.jax_reward('red_stack_blue'),
      planning.PlannerConfig(num_samples=8, horizon=2))
  actor = planning.planning_actor(model, plan, actions_per_latent=5, seed=0)
  episode, _ = _run(actor, steps=10)
  assert actor.skills_chosen == 2
  key = jax.random.split(jax.random.PRNGKey(0))[1]  # The actor's first key.
  first_z = plan(key, jnp.asarray(episode['states'][0])).z
  # Jitted (the actor) and eager (here) agree to float32 rounding, relative
  # to each dimension's scale (the grip's is 255).
  asserts.assert_close_to_scale(
      episode['actions'][0],
      _decode_by_hand(model, episode['states'][0], first_z),
      scene.ACTION_MAX)
  with pytest.raises(ValueError, match='actions_per_latent: expected >= 1'):
    planning.random_hl_actor(model, actions_per_latent=0)


def test_a_tied_plan_keeps_the_held_skill_and_is_counted(model):
  """A reward flat everywhere: every plan ties, so after the episode's
  first choice the actor keeps its skill; a varying reward does not tie."""
  flat = planning.make_skill_planner(
      model, lambda s: jnp.float32(0.5),
      planning.PlannerConfig(num_samples=8, horizon=2))
  actor = planning.planning_actor(model, flat, actions_per_latent=2, seed=0)
  episode, _ = _run(actor, steps=6)
  assert actor.decisions == 3 and actor.tied_decisions == 3
  assert actor.tie_share == 1.0
  # The first choice is the planner's (plan 0 of a tie); the later ones
  # keep it: all six actions decode that one skill.
  key = jax.random.split(jax.random.PRNGKey(0))[1]
  first = flat(key, jnp.asarray(episode['states'][0]))
  assert bool(first.tied)
  for t in range(6):
    asserts.assert_close_to_scale(
        episode['actions'][t], _decode_by_hand(model, episode['states'][t],
                                             first.z), scene.ACTION_MAX)
  # A reward linear in the predicted pinch height differs between plans.
  varied = planning.make_skill_planner(
      model, lambda s: s[layout.LAYOUT['pinch_pose_pos']][2],
      planning.PlannerConfig(num_samples=8, horizon=2))
  actor = planning.planning_actor(model, varied, actions_per_latent=2)
  _run(actor, steps=6)
  assert actor.decisions == 3 and actor.tied_decisions == 0
