"""Deterministic fakes: an environment whose every value is known in advance,
and an actor that counts its calls (cf. acme/testing/fakes.py)."""

from typing import List, Optional, Sequence

import dm_env
from dm_env import specs as dm_env_specs
import numpy as np

from jumpy_acme import core
from jumpy_acme import specs
from jumpy_acme import types


class SequenceEnvironment(dm_env.Environment):
  """An environment with known values, so tests can build the truth by hand.

  Episode e (counting from 0) has `episode_length` steps. Its observation at
  step t is [e, t, 0, ...] (float32, size `observation_size`); the reward
  after step t (t = 0..T-1) is rewards[t]; the discount is discounts[t]
  (default: 1.0 everywhere except 0.0 at the last step, a termination).
  """

  def __init__(self, episode_length: int = 10, observation_size: int = 3,
               action_size: int = 2,
               rewards: Optional[Sequence[float]] = None,
               discounts: Optional[Sequence[float]] = None):
    if episode_length < 1:
      raise ValueError(f'episode_length: expected >= 1, got {episode_length}.')
    if observation_size < 2:
      raise ValueError(
          f'observation_size: expected >= 2, got {observation_size}.')
    self._length = episode_length
    self._observation_size = observation_size
    self._action_size = action_size
    self.rewards = (np.arange(1, episode_length + 1, dtype=np.float32)
                    if rewards is None else np.asarray(rewards, np.float32))
    if discounts is None:
      discounts = [1.0] * (episode_length - 1) + [0.0]
    self.discounts = np.asarray(discounts, np.float32)
    for name, values in (('rewards', self.rewards),
                         ('discounts', self.discounts)):
      if values.shape != (episode_length,):
        raise ValueError(f'{name}: expected {episode_length} values, got '
                         f'{values.shape[0]}.')
    self._episode = -1
    self._t = 0
    self.actions: List[np.ndarray] = []

  def observation(self, episode: int, t: int) -> np.ndarray:
    obs = np.zeros(self._observation_size, np.float32)
    obs[0], obs[1] = episode, t
    return obs

  def reset(self) -> dm_env.TimeStep:
    self._episode += 1
    self._t = 0
    return dm_env.restart(self.observation(self._episode, 0))

  def step(self, action) -> dm_env.TimeStep:
    if self._episode < 0:
      return self.reset()
    self.actions.append(np.array(action))
    reward = self.rewards[self._t]
    discount = self.discounts[self._t]
    self._t += 1
    obs = self.observation(self._episode, self._t)
    if self._t == self._length:
      return dm_env.TimeStep(dm_env.StepType.LAST, reward, discount, obs)
    return dm_env.transition(reward, obs, discount)

  def observation_spec(self):
    return dm_env_specs.Array((self._observation_size,), np.float32,
                              'observation')

  def action_spec(self):
    return dm_env_specs.BoundedArray((self._action_size,), np.float32,
                                     -1.0, 1.0, 'action')

  def reward_spec(self):
    return dm_env_specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return dm_env_specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')


class CountingActor(core.Actor):
  """Acts with a known action (step index in every dimension); counts calls."""

  def __init__(self, environment_spec: specs.EnvironmentSpec,
               adder=None):
    self._spec = environment_spec.actions
    self._adder = adder
    self.num_select_action = 0
    self.num_observe_first = 0
    self.num_observe = 0
    self.num_update = 0
    self.observed: List[dm_env.TimeStep] = []

  def select_action(self, observation: types.NestedArray):
    self.num_select_action += 1
    return np.full(self._spec.shape, observation[1], self._spec.dtype)

  def observe_first(self, timestep: dm_env.TimeStep):
    self.num_observe_first += 1
    self.observed.append(timestep)
    if self._adder is not None:
      self._adder.add_first(timestep)

  def observe(self, action, next_timestep: dm_env.TimeStep):
    self.num_observe += 1
    self.observed.append(next_timestep)
    if self._adder is not None:
      self._adder.add(action, next_timestep)

  def update(self, wait: bool = False):
    self.num_update += 1


class FunctionActor:
  """An actor that acts with `act(observation)` and learns nothing."""

  def __init__(self, act):
    self.select_action = act

  def observe_first(self, timestep):
    del timestep

  def observe(self, action, next_timestep):
    del action, next_timestep

  def update(self, wait=False):
    del wait
