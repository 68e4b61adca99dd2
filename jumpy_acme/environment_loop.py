"""The actor-environment interaction loop, with acme/environment_loop.py's
behaviour: counts episodes and steps, logs one row per episode, lets
observers add metrics, and always finishes the episode it started."""

import abc
import operator
import time
from typing import Any, Dict, Optional, Sequence

import dm_env
import numpy as np
import tree

from jumpy_acme import core
from jumpy_acme import types
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers


class EnvLoopObserver(abc.ABC):
  """Watches the loop's episodes and contributes metrics to its log rows."""

  @abc.abstractmethod
  def observe_first(self, env: dm_env.Environment,
                    timestep: dm_env.TimeStep) -> None:
    """Observes the first timestep of an episode."""

  @abc.abstractmethod
  def observe(self, env: dm_env.Environment, timestep: dm_env.TimeStep,
              action: types.NestedArray) -> None:
    """Observes the timestep that `action` led to."""

  @abc.abstractmethod
  def get_metrics(self) -> Dict[str, Any]:
    """Returns metrics for the episode just finished."""


class EpisodeRecorder(EnvLoopObserver):
  """Keeps what the environment saw, one dict per episode: 'states', the
  observations s_0 .. s_T, and 'actions', a_0 .. a_T-1 (a_t taken at s_t);
  for tests and diagnostics (memory grows with every step)."""

  def __init__(self):
    self.episodes = []

  def observe_first(self, env, timestep):
    self.episodes.append({'states': [timestep.observation], 'actions': []})

  def observe(self, env, timestep, action):
    self.episodes[-1]['states'].append(timestep.observation)
    self.episodes[-1]['actions'].append(np.asarray(action))

  def get_metrics(self):
    return {}


def _zeros_like_spec(spec) -> np.ndarray:
  return np.zeros(spec.shape, spec.dtype)


class EnvironmentLoop(core.Worker):
  """Runs an environment loop: an actor acting in an environment.

  Each episode: reset -> actor.observe_first(ts); until ts.last():
  a = actor.select_action(ts.observation) -> ts = env.step(a) ->
  actor.observe(a, next_timestep=ts) -> actor.update() (if should_update).
  The counter gets `episodes` and `steps`; the logger gets one row per
  episode with episode_length, episode_return, steps_per_second, timings, the
  counter's counts and the observers' metrics.
  """

  def __init__(self, environment: dm_env.Environment, actor: core.Actor,
               counter: Optional[counting.Counter] = None,
               logger: Optional[loggers.Logger] = None,
               should_update: bool = True,
               label: str = 'environment_loop',
               observers: Sequence[EnvLoopObserver] = ()):
    self._environment = environment
    self._actor = actor
    self._counter = counter or counting.Counter()
    self._logger = logger or loggers.make_default_logger(label,
                                                         steps_key='steps')
    self._should_update = should_update
    self._observers = tuple(observers)

  def run_episode(self) -> types.LoggingData:
    """Runs one whole episode and returns its log row (not yet written)."""
    episode_start = time.time()
    select_action_s, env_step_s = 0.0, 0.0
    episode_steps = 0
    episode_return = tree.map_structure(_zeros_like_spec,
                                        self._environment.reward_spec())
    reset_start = time.time()
    timestep = self._environment.reset()
    reset_s = time.time() - reset_start
    self._actor.observe_first(timestep)
    for observer in self._observers:
      observer.observe_first(self._environment, timestep)

    while not timestep.last():
      t0 = time.time()
      action = self._actor.select_action(timestep.observation)
      t1 = time.time()
      timestep = self._environment.step(action)
      t2 = time.time()
      select_action_s += t1 - t0
      env_step_s += t2 - t1
      self._actor.observe(action, next_timestep=timestep)
      for observer in self._observers:
        observer.observe(self._environment, timestep, action)
      if self._should_update:
        self._actor.update()
      episode_steps += 1
      episode_return = tree.map_structure(operator.iadd, episode_return,
                                          timestep.reward)

    counts = self._counter.increment(episodes=1, steps=episode_steps)
    duration = time.time() - episode_start
    per_step = max(episode_steps, 1)
    result = {
        'episode_length': episode_steps,
        'episode_return': episode_return,
        'steps_per_second': episode_steps / max(duration, 1e-9),
        'env_reset_duration_sec': reset_s,
        'select_action_duration_sec': select_action_s / per_step,
        'env_step_duration_sec': env_step_s / per_step,
    }
    result.update(counts)
    for observer in self._observers:
      result.update(observer.get_metrics())
    return result

  def run(self, num_episodes: Optional[int] = None,
          num_steps: Optional[int] = None) -> int:
    """Runs episodes until `num_episodes` or `num_steps` is reached.

    The episode in progress is always finished, so `num_steps` may be
    exceeded. With neither argument, runs forever.

    Args:
      num_episodes: number of episodes to run, or None.
      num_steps: minimal number of steps to run, or None.

    Returns:
      The number of environment steps taken.

    Raises:
      ValueError: if both arguments are given, or either is negative.
    """
    if num_episodes is not None and num_steps is not None:
      raise ValueError('Either "num_episodes" or "num_steps" should be None, '
                       f'got num_episodes={num_episodes}, '
                       f'num_steps={num_steps}.')
    for name, value in (('num_episodes', num_episodes),
                        ('num_steps', num_steps)):
      if value is not None and value < 0:
        raise ValueError(f'{name}: expected None or >= 0, got {value}.')

    def should_terminate(episode_count: int, step_count: int) -> bool:
      return ((num_episodes is not None and episode_count >= num_episodes) or
              (num_steps is not None and step_count >= num_steps))

    episode_count, step_count = 0, 0
    while not should_terminate(episode_count, step_count):
      episode_start = time.time()
      result = self.run_episode()
      result['episode_duration'] = time.time() - episode_start
      episode_count += 1
      step_count += int(result['episode_length'])
      self._logger.write(result)
    return step_count
