"""EnvironmentLoop against a fake environment and a counting actor."""

import numpy as np
import pytest

from jumpy_acme import environment_loop
from jumpy_acme import specs
from jumpy_acme.testing import fakes
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers


class _ListLogger(loggers.Logger):

  def __init__(self):
    self.rows = []

  def write(self, data):
    self.rows.append(dict(data))


class _StepObserver(environment_loop.EnvLoopObserver):

  def __init__(self):
    self.first, self.steps = 0, 0

  def observe_first(self, env, timestep):
    self.first += 1
    self.steps = 0

  def observe(self, env, timestep, action):
    self.steps += 1

  def get_metrics(self):
    return {'observer_steps': self.steps}


def _loop(episode_length=5, should_update=True, observers=()):
  env = fakes.SequenceEnvironment(episode_length=episode_length)
  actor = fakes.CountingActor(specs.make_environment_spec(env))
  logger = _ListLogger()
  counter = counting.Counter()
  loop = environment_loop.EnvironmentLoop(
      env, actor, counter=counter, logger=logger,
      should_update=should_update, observers=observers)
  return loop, env, actor, logger, counter


def test_run_episodes_counts_logs_and_returns_steps():
  observer = _StepObserver()
  loop, env, actor, logger, counter = _loop(observers=[observer])
  steps = loop.run(num_episodes=2)
  assert steps == 10
  assert actor.num_observe_first == 2
  assert actor.num_select_action == actor.num_observe == 10
  assert actor.num_update == 10
  assert counter.get_counts() == {'episodes': 2, 'steps': 10}
  assert len(logger.rows) == 2
  # Rewards are 1..5, so each episode returns 15.
  assert [row['episode_return'] for row in logger.rows] == [15.0, 15.0]
  assert [row['episode_length'] for row in logger.rows] == [5, 5]
  assert [row['episodes'] for row in logger.rows] == [1, 2]
  assert logger.rows[-1]['observer_steps'] == 5
  assert observer.first == 2
  # The actor's actions reached the environment: action = step index.
  np.testing.assert_array_equal([a[0] for a in env.actions[:5]],
                                [0, 1, 2, 3, 4])


def test_run_steps_always_finishes_the_episode():
  loop, _, actor, logger, _ = _loop(episode_length=5)
  assert loop.run(num_steps=7) == 10
  assert len(logger.rows) == 2
  assert actor.num_observe_first == 2


def test_should_update_false_never_updates():
  loop, _, actor, _, _ = _loop(should_update=False)
  loop.run(num_episodes=1)
  assert actor.num_update == 0


def test_run_rejects_both_limits_and_negative_values():
  loop, *_ = _loop()
  with pytest.raises(ValueError, match='num_episodes'):
    loop.run(num_episodes=1, num_steps=1)
  with pytest.raises(ValueError, match='num_steps: expected'):
    loop.run(num_steps=-3)


def test_episode_recorder_keeps_each_episodes_states_and_actions():
  recorder = environment_loop.EpisodeRecorder()
  loop, *_ = _loop(episode_length=3, observers=[recorder])
  loop.run(num_episodes=2)
  assert len(recorder.episodes) == 2
  for e, episode in enumerate(recorder.episodes):
    # The fake's observation at step t of episode e is [e, t, 0].
    np.testing.assert_array_equal([s[:2] for s in episode['states']],
                                  [[e, 0], [e, 1], [e, 2], [e, 3]])
    # The counting actor's action is its step index within the episode.
    np.testing.assert_array_equal([a[0] for a in episode['actions']],
                                  [0, 1, 2])
