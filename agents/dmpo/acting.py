"""Acting with DMPO's policy.

`make_policy(networks, evaluation)` gives a pure
  policy(params, key, observation [*obs_shape]) -> action [D]
that samples the Gaussian (behaviour) or takes its mean (evaluation), clips
to the canonical box [-1, 1] and maps to the action spec's units.
`DMPOActor` runs it, jitted, on Acme's Actor interface: experience goes to
an optional adder; parameters come from a VariableSource (the learner in
one process, or a variables.VariableClient of a Reverb variable table) and
are refreshed every `update_period` calls to update().
"""

from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme import actors
from jumpy_acme import types
from jumpy_acme import variables
from jumpy_acme.adders import base as adders_base
from jumpy_acme.agents.dmpo import networks as networks_lib

Policy = Callable[[types.NestedArray, jax.Array, jax.Array], jax.Array]


def make_policy(networks: networks_lib.DMPONetworks,
                evaluation: bool = False) -> Policy:
  """policy(params, key, observation) -> action in the spec's units.

  Args:
    networks: DMPO's networks.
    evaluation: if True, the action is the policy's mean (key unused);
      otherwise a sample mean + stddev * noise.
  """
  def policy(params, key, observation):
    mean, stddev = networks.policy_apply(params, observation)
    if evaluation:
      canonical = mean
    else:
      canonical = mean + stddev * jax.random.normal(key, mean.shape,
                                                    mean.dtype)
    return networks.to_environment(canonical)
  return policy


class DMPOActor(actors.AdderActor):
  """Acts with a jitted DMPO policy (NOT pure: keeps a key and the params
  between calls)."""

  def __init__(self, policy: Policy, random_key: jax.Array,
               variable_client: variables.PeriodicVariableClient,
               adder: Optional[adders_base.Adder] = None,
               action_dtype=np.float32,
               variable_name: str = 'policy'):
    """Initializes the actor and fetches the first parameters.

    Args:
      policy: make_policy(networks, evaluation).
      random_key: seeds the behaviour noise.
      variable_client: gives the newest `variable_name` tree and fetches
        every its update_period calls to update() (a
        variables.VariableClient, or variables.SourceVariableClient over a
        learner; DMPOBuilder.make_actor makes one).
      adder: receives every timestep (None: no replay).
      action_dtype: the action spec's dtype.
      variable_name: the name the policy parameters are published under.
    """
    if not isinstance(variable_client, variables.PeriodicVariableClient):
      raise ValueError(
          'variable_client: expected a variables.PeriodicVariableClient (wrap '
          'a learner in variables.SourceVariableClient), got '
          f'{type(variable_client).__name__}.')

    def step(params, key, observation):
      key, policy_key = jax.random.split(key)
      return policy(params, policy_key, observation), key

    self._step = jax.jit(step)
    self._key = random_key
    self._client = variable_client
    self._name = variable_name
    self._adder = adder
    self._dtype = np.dtype(action_dtype)
    self._params = None
    self.update(wait=True)

  @property
  def params(self):
    return self._params

  def select_action(self, observation: types.NestedArray) -> np.ndarray:
    action, self._key = self._step(self._params, self._key,
                                   jnp.asarray(observation))
    return np.asarray(action, dtype=self._dtype)

  def update(self, wait: bool = False):
    """The client's update (a fetch every its update_period calls); with
    `wait`, fetches now."""
    if wait:
      self._client.update_and_wait()
    else:
      self._client.update()
    self._params = self._client.latest(self._name)
