"""Random-HL and Zero-shot via Planning actors in the real environment."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme import environment_loop
from jumpy_acme import environments
from jumpy_acme.agents import planning
from jumpy_acme.agents import skill_vae
from jumpy_acme.agents.skill_vae import builder
from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.testing import asserts
from jumpy_acme.utils import loggers


@pytest.fixture(scope='module')
def model():
  config = skill_vae.SkillVAEConfig(K=10, embed_sizes=(16, 16, 8),
                                    encoder_sizes=(16,), latent_size=4,
                                    decoder_sizes=(16, 16))
  networks = skill_vae.make_networks(config)
  norm = skill_vae.Normalization(jnp.zeros(86), jnp.ones(86), -jnp.ones(86),
                                 jnp.ones(86),
                                 jnp.asarray(builder.ACTION_SCALE))
  return networks, networks.init(jax.random.PRNGKey(0)), norm


class _Recorder(environment_loop.EnvLoopObserver):

  def __init__(self):
    self.states, self.actions = [], []

  def observe_first(self, env, timestep):
    self.states.append(timestep.observation)

  def observe(self, env, timestep, action):
    self.actions.append(action)
    self.states.append(timestep.observation)

  def get_metrics(self):
    return {}


def _run(actor, steps=25):
  env = environments.make('red_stack_blue', seed=0, triplet='triplet1',
                          episode_length=steps)
  recorder = _Recorder()
  environment_loop.EnvironmentLoop(env, actor, logger=loggers.NoOpLogger(),
                                   observers=[recorder]).run(num_episodes=1)
  return recorder, env


def test_random_hl_holds_each_skill_for_actions_per_latent_steps(model):
  networks, params, norm = model
  actor = planning.random_hl_actor(networks, params, norm,
                                   actions_per_latent=10, seed=3)
  recorder, env = _run(actor)
  assert actor.skills_chosen == 3  # Steps 0, 10 and 20.
  spec = env.action_spec()
  actions = np.stack(recorder.actions)
  assert np.all(actions >= spec.minimum - 1e-6)
  assert np.all(actions <= spec.maximum + 1e-6)
  # Each action is the decoder's output for its state and the held skill.
  decode = planning.acting.make_action_decoder(networks, params, norm)
  z = actor._z  # pylint: disable=protected-access  # The last skill.
  # Jitted (the actor) and eager (here) round differently: compare each
  # dimension to float32 rounding of its scale (the grip's is 255).
  asserts.assert_close_to_scale(
      actions[-1], decode(jnp.asarray(recorder.states[-2]), z),
      builder.ACTION_SCALE)


def test_planning_actor_acts_with_the_planners_first_skill(model):
  networks, params, norm = model
  plan = planning.make_planner(
      lambda s, z: skill_vae.predict_next_state(networks, params, norm, s, z),
      rewards.jax_reward('red_stack_blue'), 4,
      planning.PlannerConfig(num_samples=8, horizon=2))
  actor = planning.planning_actor(networks, params, norm, plan,
                                  actions_per_latent=5, seed=0)
  recorder, _ = _run(actor, steps=10)
  assert actor.skills_chosen == 2
  key = jax.random.split(jax.random.PRNGKey(0))[1]  # The actor's first key.
  first_z = plan(key, jnp.asarray(recorder.states[0])).z
  decode = planning.acting.make_action_decoder(networks, params, norm)
  # Jitted (the actor) and eager (here) agree to float32 rounding, relative
  # to each dimension's scale (the grip's is 255).
  asserts.assert_close_to_scale(
      recorder.actions[0], decode(jnp.asarray(recorder.states[0]), first_z),
      builder.ACTION_SCALE)
  with pytest.raises(ValueError, match='actions_per_latent: expected >= 1'):
    planning.random_hl_actor(networks, params, norm, actions_per_latent=0)
