"""Generic actors that need no learned parameters."""

from typing import Optional

import dm_env
import numpy as np

from jumpy_acme import core
from jumpy_acme import specs
from jumpy_acme import types
from jumpy_acme.adders import base as adders_base


class AdderActor(core.Actor):
  """Base for actors that pass every timestep to an optional adder.

  Subclasses set `self._adder` and implement `select_action`.
  """

  _adder: Optional[adders_base.Adder] = None

  def observe_first(self, timestep: dm_env.TimeStep):
    if self._adder is not None:
      self._adder.add_first(timestep)

  def observe(self, action, next_timestep: dm_env.TimeStep):
    if self._adder is not None:
      self._adder.add(action, next_timestep)

  def update(self, wait: bool = False):
    del wait  # Nothing to fetch.


class RandomActor(AdderActor):
  """Acts uniformly at random within the (bounded) action spec.

  Passes every timestep to its adder, so it can fill replay tables.
  """

  def __init__(self, environment_spec: specs.EnvironmentSpec,
               adder: Optional[adders_base.Adder] = None, seed: int = 0):
    action_spec = environment_spec.actions
    if not hasattr(action_spec, 'minimum'):
      raise ValueError('environment_spec.actions: expected a BoundedArray, '
                       f'got {type(action_spec).__name__}.')
    self._spec = action_spec
    self._minimum = np.broadcast_to(action_spec.minimum, action_spec.shape)
    self._maximum = np.broadcast_to(action_spec.maximum, action_spec.shape)
    self._adder = adder
    self._rng = np.random.default_rng(seed)

  def select_action(self, observation: types.NestedArray) -> np.ndarray:
    del observation
    return self._rng.uniform(self._minimum, self._maximum).astype(
        self._spec.dtype)
