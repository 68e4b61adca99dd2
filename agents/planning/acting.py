"""Actors that act with skills: Random-HL and Zero-shot via Planning.

Both choose a skill z every `actions_per_latent` steps (Table 4: 1, 2, 10,
100, 200) and, in between, the phase-1 action decoder p(a | s, z) acts
with it. Random-HL draws z from the prior N(0, I); Zero-shot via Planning
takes the first skill of the best plan of the CEM planner; when every plan
scored the same (a reward flat over the planner's look-ahead), "the best"
is an arbitrary draw, and the actor keeps the skill it holds instead. The
action is the decoder's mean, scaled back to the action spec and clipped to
it. Actors count their decisions and the tied ones (`tie_share`, per
episode).
"""

from typing import Callable, Optional, Tuple

import dm_env
import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme import actors
from jumpy_acme.agents.skill_vae import model as model_lib


class SkillActor(actors.AdderActor):
  """Holds a chosen skill for `actions_per_latent` steps (NOT pure: keeps
  the current skill, the step count, the key and tie counts between calls).

  choose_skill(key, state) -> (z [Z], tied []): a skill, and whether it
  came from a choice among equals; a tied choice keeps the skill held (the
  episode's first choice has none to keep and takes it).
  """

  def __init__(self, choose_skill: Callable[[jax.Array, jax.Array],
                                            Tuple[jax.Array, jax.Array]],
               decode_action: Callable[[jax.Array, jax.Array], jax.Array],
               actions_per_latent: int = 1, seed: int = 0,
               adder=None):
    if actions_per_latent < 1:
      raise ValueError('actions_per_latent: expected >= 1, got '
                       f'{actions_per_latent}.')
    self._choose = jax.jit(choose_skill)
    self._decode = jax.jit(decode_action)
    self._every = actions_per_latent
    self._key = jax.random.PRNGKey(seed)
    self._adder = adder
    self._steps = 0
    self._z: Optional[jax.Array] = None
    self.skills_chosen = 0      # Decisions since construction.
    self.decisions = 0          # Decisions this episode.
    self.tied_decisions = 0     # Of which every plan scored the same.

  @property
  def tie_share(self) -> float:
    """The share of this episode's decisions where every plan tied."""
    return self.tied_decisions / max(self.decisions, 1)

  def select_action(self, observation) -> np.ndarray:
    state = jnp.asarray(observation, jnp.float32)
    if self._z is None or self._steps % self._every == 0:
      self._key, key = jax.random.split(self._key)
      z, tied = self._choose(key, state)
      tied = bool(tied)
      if not tied or self._z is None:
        self._z = z
      self.skills_chosen += 1
      self.decisions += 1
      self.tied_decisions += int(tied)
    self._steps += 1
    return np.asarray(self._decode(state, self._z), np.float32)

  def reseed(self, seed: int):
    """Restarts the key sequence (reuse one compiled actor per episode)."""
    self._key = jax.random.PRNGKey(seed)

  def observe_first(self, timestep: dm_env.TimeStep):
    self._steps, self._z = 0, None
    self.decisions = self.tied_decisions = 0
    super().observe_first(timestep)


def random_hl_actor(model: model_lib.SkillModel,
                    actions_per_latent: int = 1, seed: int = 0):
  """Random-HL: z ~ N(0, I); the model's low-level policy acts with it."""
  latent = model.latent_size
  return SkillActor(
      lambda key, state: (jax.random.normal(key, (latent,)), False),
      model.decode_action, actions_per_latent, seed)


def planning_actor(model: model_lib.SkillModel, plan,
                   actions_per_latent: int = 1, seed: int = 0):
  """Zero-shot via Planning: z = the first skill of the best plan.

  Args:
    model: the phase-1 model (its low-level policy acts).
    plan: planner.make_planner(...)'s plan(key, state) -> PlanResult.
    actions_per_latent: steps a chosen skill is held.
    seed: seeds the planner's keys.
  """
  def choose(key, state):
    result = plan(key, state)
    return result.z, result.tied
  return SkillActor(choose, model.decode_action, actions_per_latent, seed)
