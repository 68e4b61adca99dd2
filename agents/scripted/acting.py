"""The collection actor: a schedule of base behaviours per episode.

As in the paper's data collection: each episode runs `behaviours_per_episode`
base behaviours drawn at random, `segment_length` steps each, one after the
other. Every step goes to the adder with extras naming where it came from:
  {'behaviour': int32 id (index in BEHAVIOURS),
   'episode': int32 (set by the caller through `next_episode_id`, e.g. a
              program-wide claim number; else actor_id * 1e6 + index),
   'step': int32 (step index in the episode)}
so that snippets can be traced and checked (no window spans two episodes).
A behaviour given a learned policy (`policies`, e.g. DMPO-trained base
policies) acts with it instead of its scripted controller, under the same id.
"""

from typing import Callable, Mapping, Optional, Sequence

import dm_env
from dm_env import specs
import numpy as np

from jumpy_acme import core
from jumpy_acme.adders import base as adders_base
from jumpy_acme.agents.scripted import behaviours as behaviours_lib
from jumpy_acme.agents.scripted import config as config_lib

EPISODES_PER_ACTOR = 1_000_000


def extras_spec():
  """Spec of the extras the actor passes with each action."""
  return {name: specs.Array((), np.int32, name)
          for name in ('behaviour', 'episode', 'step')}


class BehaviourScheduleActor(core.Actor):
  """Runs randomly drawn base behaviours in segments (NOT jittable)."""

  def __init__(self, config: Optional[config_lib.ScriptedConfig] = None,
               adder: Optional[adders_base.Adder] = None, seed: int = 0,
               actor_id: int = 0,
               behaviours: Sequence[str] = behaviours_lib.BEHAVIOURS,
               policies: Optional[Mapping[
                   str, Callable[[np.ndarray], np.ndarray]]] = None,
               behaviour_weights: Optional[Mapping[str, float]] = None):
    """Initializes the actor.

    Args:
      config: gains, noise and the schedule's shape.
      adder: receives every step with its extras (None: no replay).
      seed: seeds the schedule and the behaviours' noise.
      actor_id: makes episode ids unique across actors.
      behaviours: the base behaviours to draw from.
      policies: behaviour name -> policy (state [86] -> action [5]) that
        acts for it instead of the scripted controller (same noise, same
        behaviour id in the extras).
      behaviour_weights: behaviour name -> relative weight of drawing it
        (unnamed behaviours weigh 1; None: uniform, the paper's schedule).
    """
    self._config = config or config_lib.ScriptedConfig()
    unknown = [b for b in behaviours if b not in behaviours_lib.BEHAVIOURS]
    if unknown or not behaviours:
      raise ValueError(f'behaviours: {unknown or "none"} given; valid '
                       f'behaviours: {list(behaviours_lib.BEHAVIOURS)}.')
    policies = dict(policies or {})
    unknown = [b for b in policies if b not in behaviours]
    if unknown:
      raise ValueError(f'policies: {unknown} given; expected names among '
                       f'the behaviours drawn from: {list(behaviours)}.')
    self._names = tuple(behaviours)
    self._policies = policies
    weights = dict(behaviour_weights or {})
    unknown = [b for b in weights if b not in self._names]
    if unknown:
      raise ValueError(f'behaviour_weights: {unknown} given; expected names '
                       f'among the behaviours drawn from: {list(behaviours)}.')
    bad = {b: w for b, w in weights.items() if not w >= 0}
    if bad or not sum(weights.get(b, 1.0) for b in self._names) > 0:
      raise ValueError('behaviour_weights: expected weights >= 0 with a '
                       f'positive sum, got {weights}.')
    probabilities = np.array([weights.get(b, 1.0) for b in self._names])
    # None keeps the uniform draw's random stream (the same schedules).
    self._probabilities = (probabilities / probabilities.sum()
                           if weights else None)
    self.reseed(seed)
    self._adder = adder
    self._actor_id = actor_id
    self._episode = -1
    self._episode_id = 0
    self.next_episode_id: Optional[int] = None
    self._step = 0
    self._schedule: Sequence[str] = ()

  def reseed(self, seed: int) -> None:
    """Restarts the schedule's draws and the behaviours' noise from `seed`
    (what a program does per episode for episodes that reproduce)."""
    self._rng = np.random.default_rng(seed)
    self._controllers = {
        name: behaviours_lib.make_behaviour(
            name, self._config, seed=int(self._rng.integers(2**31)),
            policy=self._policies.get(name))
        for name in self._names}

  @property
  def current_behaviour(self) -> str:
    index = min(self._step // self._config.segment_length,
                len(self._schedule) - 1)
    return self._schedule[index]

  def select_action(self, observation) -> np.ndarray:
    if self._step % self._config.segment_length == 0:
      self._controllers[self.current_behaviour].reset()
    return self._controllers[self.current_behaviour](observation)

  def observe_first(self, timestep: dm_env.TimeStep):
    self._episode += 1
    self._step = 0
    if self.next_episode_id is not None:
      self._episode_id, self.next_episode_id = self.next_episode_id, None
    else:
      self._episode_id = self._actor_id * EPISODES_PER_ACTOR + self._episode
    count = self._config.behaviours_per_episode
    possible = (len(self._names) if self._probabilities is None else
                np.count_nonzero(self._probabilities))
    self._schedule = tuple(self._rng.choice(
        self._names, size=count, replace=count > possible,
        p=self._probabilities))
    if self._adder is not None:
      self._adder.add_first(timestep)

  def observe(self, action, next_timestep: dm_env.TimeStep):
    extras = {
        'behaviour': np.int32(
            behaviours_lib.BEHAVIOURS.index(self.current_behaviour)),
        'episode': np.int32(self._episode_id),
        'step': np.int32(self._step),
    }
    self._step += 1
    if self._adder is not None:
      self._adder.add(action, next_timestep, extras)

  def update(self, wait: bool = False):
    del wait  # Scripted: nothing to fetch.
