"""RL-HL + Planning's behaviour: the planner with the learned proposal.

At each skill choice the CEM planner of agents/planning samples its plans'
skills from pi(z | s) (DMPO's policy, at each predicted state) instead of
the prior, rolls them out with the jumpy model, and returns the first skill
of the best plan. The actor emits it in DMPO's action units (z /
latent_scale, clipped to [-1, 1]), so the experience it writes trains pi
off-policy. The jumpy model's parameters are an input: with finetuning they
come from the model learner.
"""

from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme import actors
from jumpy_acme import variables
from jumpy_acme.agents.dmpo import networks as dmpo_networks
from jumpy_acme.agents.planning import config as planning_config
from jumpy_acme.agents.planning import models
from jumpy_acme.agents.skill_vae import model as model_lib


def make_planning_policy(model: model_lib.SkillModel,
                         policy_networks: dmpo_networks.DMPONetworks,
                         reward_fn: Callable[[jax.Array], jax.Array],
                         config: planning_config.PlannerConfig,
                         latent_scale: float) -> Callable[..., jax.Array]:
  """Pure: (policy_params, model_params, key, state [S]) -> action [Z].

  The proposal is z ~ N(latent_scale * mean, latent_scale * std) with
  (mean, std) = pi(. | s); the action is the best plan's first z divided
  by latent_scale and clipped to [-1, 1]. `model_params` replace the
  model's parameters (finetuning changes the jumpy decoder's).
  """

  def policy(policy_params, model_params, key, state):
    def proposal(s):
      mean, std = policy_networks.policy_apply(policy_params, s)
      return latent_scale * mean, latent_scale * std
    plan = models.make_skill_planner(model.replace(params=model_params),
                                     reward_fn, config, proposal_fn=proposal)
    return jnp.clip(plan(key, state).z / latent_scale, -1.0, 1.0)
  return policy


class PlanningActor(actors.AdderActor):
  """Acts with make_planning_policy, jitted (NOT pure: keeps a key and the
  latest parameters)."""

  def __init__(self, policy: Callable[..., jax.Array], random_key: jax.Array,
               policy_client: variables.PeriodicVariableClient, model_params,
               model_client: Optional[variables.PeriodicVariableClient] = None,
               adder=None):
    """Args:
      policy: make_planning_policy(...).
      random_key: seeds the planner.
      policy_client: gives the newest 'policy' (DMPO's pi), fetched every its
        update_period calls to update().
      model_params: the phase-1 parameters to start from.
      model_client: gives the newest 'model' (finetuned), or None.
      adder: receives every timestep.
    """
    self._policy = jax.jit(policy)
    self._key = random_key
    self._clients = {'policy': policy_client}
    if model_client is not None:
      self._clients['model'] = model_client
    self._model_params = model_params
    self._adder = adder
    self._policy_params = None
    self.update(wait=True)

  def select_action(self, observation) -> np.ndarray:
    self._key, key = jax.random.split(self._key)
    action = self._policy(self._policy_params, self._model_params, key,
                          jnp.asarray(observation, jnp.float32))
    return np.asarray(action, np.float32)

  def update(self, wait: bool = False):
    """The clients' update (fetches every their update_period calls); with
    `wait`, fetches now."""
    for client in self._clients.values():
      if wait:
        client.update_and_wait()
      else:
        client.update()
    self._policy_params = self._clients['policy'].latest('policy')
    if 'model' in self._clients:
      self._model_params = self._clients['model'].latest('model')
