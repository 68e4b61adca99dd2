"""The skill space as an environment: DMPO over z (paper, RL-HL).

SkillEnvironment wraps a primitive environment: its action is a skill
u in [-1, 1]^Z, z = latent_scale * u, and one step runs the phase-1 action
decoder p(a | s, z) with z held for `actions_per_latent` primitive steps
(fewer if the episode ends). The step's reward is the sum of the primitive
rewards, its discount the product of theirs. Any agent for continuous
actions (DMPO here) then learns a high-level policy pi(z | s) unchanged;
`primitive_steps` counts the environment steps for learning curves.

latent_scale: the prior N(0, I) puts 95 % of each z_i in [-2, 2]; a
bounded action space lets DMPO's action penalisation apply (spec/acme.md).
"""

from typing import Callable

import dm_env
from dm_env import specs as dm_specs
import jax
import numpy as np


class SkillEnvironment(dm_env.Environment):
  """A primitive environment seen through the action decoder (NOT pure)."""

  def __init__(self, environment: dm_env.Environment,
               decode_action: Callable[[jax.Array, jax.Array], jax.Array],
               latent_size: int, actions_per_latent: int = 10,
               latent_scale: float = 2.0):
    """Args:
      environment: observations are the raw state [S].
      decode_action: pure (state [S], z [Z]) -> action [A] in the primitive
        spec's units (skill_vae.SkillModel.decode_action); jitted here.
      latent_size: Z.
      actions_per_latent: primitive steps a skill is held (K = 10 in the
        paper's RL-HL).
      latent_scale: z = latent_scale * action.
    """
    if actions_per_latent < 1:
      raise ValueError('actions_per_latent: expected >= 1, got '
                       f'{actions_per_latent}.')
    if not latent_scale > 0:
      raise ValueError(f'latent_scale: expected > 0, got {latent_scale}.')
    self._env = environment
    self._decode = jax.jit(decode_action)
    self._latent_size = latent_size
    self._every = actions_per_latent
    self._scale = latent_scale
    self._observation = None
    self.primitive_steps = 0  # Over the environment's lifetime.

  @property
  def environment(self) -> dm_env.Environment:
    return self._env

  def reset(self) -> dm_env.TimeStep:
    timestep = self._env.reset()
    self._observation = timestep.observation
    return timestep

  def step(self, action) -> dm_env.TimeStep:
    action = np.asarray(action, np.float32)
    if action.shape != (self._latent_size,):
      raise ValueError(f'action: expected a skill of shape '
                       f'({self._latent_size},), got {action.shape}.')
    z = self._scale * np.clip(action, -1.0, 1.0)
    reward, discount = 0.0, 1.0
    for _ in range(self._every):
      primitive = np.asarray(self._decode(self._observation, z))
      timestep = self._env.step(primitive)
      self.primitive_steps += 1
      self._observation = timestep.observation
      reward += float(timestep.reward or 0.0)
      discount *= float(1.0 if timestep.discount is None
                        else timestep.discount)
      if timestep.last():
        break
    return timestep._replace(reward=np.float32(reward),
                             discount=np.float32(discount))

  def observation_spec(self):
    return self._env.observation_spec()

  def action_spec(self):
    return dm_specs.BoundedArray((self._latent_size,), np.float32, -1.0, 1.0,
                                 name='skill')

  def reward_spec(self):
    return self._env.reward_spec()

  def discount_spec(self):
    return self._env.discount_spec()

  def close(self):
    self._env.close()
