"""The Adder interface of acme/adders/base.py."""

import abc

import dm_env

from jumpy_acme import types


class Adder(abc.ABC):
  """Receives an actor's timesteps and writes them somewhere (e.g. Reverb).

  Per episode: add_first(timestep_0), then add(a_t, timestep_t+1, extras_t)
  for every step; the adder closes the episode itself when it sees
  `next_timestep.last()`. `reset()` abandons the episode in progress.
  """

  @abc.abstractmethod
  def add_first(self, timestep: dm_env.TimeStep):
    """Starts an episode with its first timestep."""

  @abc.abstractmethod
  def add(self, action: types.NestedArray, next_timestep: dm_env.TimeStep,
          extras: types.NestedArray = ()):
    """Adds the action taken and the timestep it led to."""

  @abc.abstractmethod
  def reset(self):
    """Abandons the current episode: nothing partial of it is written."""
