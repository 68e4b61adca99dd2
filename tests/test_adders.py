"""Reverb adders against a real server, checked against hand-built episodes.

SequenceEnvironment's observation at step t of episode e is [e, t, 0] and
CountingActor's action at step t is [t, t], so every expected value below is
written out by hand from the episode's rewards and discounts.
"""

import dm_env
from dm_env import specs as dm_env_specs
import numpy as np
import pytest

from jumpy_acme import environment_loop
from jumpy_acme import specs
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.testing import fakes
from jumpy_acme.utils import loggers
from tests.conftest import drain
from tests.conftest import fifo_table


def _run(env, adder, episodes=1):
  actor = fakes.CountingActor(specs.make_environment_spec(env), adder=adder)
  environment_loop.EnvironmentLoop(
      env, actor, logger=loggers.NoOpLogger()).run(num_episodes=episodes)


def _nstep(reverb_server, env, n_step, discount):
  spec = specs.make_environment_spec(env)
  signature = reverb_adders.NStepTransitionAdder.signature(spec)
  _, client = reverb_server([fifo_table('transitions', signature)])
  adder = reverb_adders.NStepTransitionAdder(
      client, n_step=n_step, discount=discount, environment_spec=spec,
      table='transitions')
  return client, adder


def test_nstep_returns_and_discounts_at_a_terminal_end(reverb_server):
  # Rewards 1..5 after steps 0..4; the episode terminates (last discount 0).
  env = fakes.SequenceEnvironment(episode_length=5)
  client, adder = _nstep(reverb_server, env, n_step=3, discount=0.9)
  _run(env, adder)
  items = drain(client, 'transitions')
  assert len(items) == 5  # One per step, horizons 3, 3, 3, 2, 1.
  # R_0 = 1 + .9*2 + .81*3;  R_1 = 2 + .9*3 + .81*4;  R_2 = 3 + .9*4 + .81*5.
  expected_reward = [5.23, 7.94, 10.65, 8.5, 5.0]
  # D = gamma^(m-1) * product of env discounts; d_5 = 0 ends the episode.
  expected_discount = [0.81, 0.81, 0.0, 0.0, 0.0]
  expected_next_t = [3, 4, 5, 5, 5]
  for t, item in enumerate(items):
    np.testing.assert_array_equal(item.observation, [0, t, 0])
    np.testing.assert_array_equal(item.action, [t, t])
    np.testing.assert_allclose(item.reward, expected_reward[t], rtol=1e-6)
    np.testing.assert_allclose(item.discount, expected_discount[t],
                               atol=1e-7)
    np.testing.assert_array_equal(item.next_observation,
                                  [0, expected_next_t[t], 0])


def test_nstep_at_a_truncated_end_keeps_discounts(reverb_server):
  # The episode ends by time limit: every env discount is 1.
  env = fakes.SequenceEnvironment(episode_length=4, rewards=[1, 0, 0, 2],
                                  discounts=[1, 1, 1, 1])
  client, adder = _nstep(reverb_server, env, n_step=2, discount=0.5)
  _run(env, adder, episodes=2)
  items = drain(client, 'transitions')
  assert len(items) == 8
  # R_0 = 1 + .5*0; R_1 = 0 + .5*0; R_2 = 0 + .5*2; R_3 = 2 (horizon 1).
  np.testing.assert_allclose([i.reward for i in items[:4]], [1, 0, 1, 2])
  np.testing.assert_allclose([i.discount for i in items[:4]],
                             [0.5, 0.5, 0.5, 1.0])
  # The second episode's items never reach back into the first.
  for item in items[4:]:
    assert item.observation[0] == 1 and item.next_observation[0] == 1


def test_one_step_transitions_equal_the_environment_steps(reverb_server):
  env = fakes.SequenceEnvironment(episode_length=3, rewards=[4, 5, 6])
  client, adder = _nstep(reverb_server, env, n_step=1, discount=0.99)
  _run(env, adder)
  items = drain(client, 'transitions')
  np.testing.assert_allclose([i.reward for i in items], [4, 5, 6])
  np.testing.assert_allclose([i.discount for i in items], [1, 1, 0])
  np.testing.assert_array_equal([i.next_observation[1] for i in items],
                                [1, 2, 3])


def _snippets(reverb_server, env, K, stride=1, extras_spec=()):  # noqa: N803
  spec = specs.make_environment_spec(env)
  signature = reverb_adders.SnippetAdder.signature(spec, K, extras_spec)
  _, client = reverb_server([fifo_table('snippets', signature)])
  adder = reverb_adders.SnippetAdder(client, K=K, environment_spec=spec,
                                     stride=stride, extras_spec=extras_spec)
  return client, adder


def test_snippets_are_windows_of_k_plus_one_states(reverb_server):
  env = fakes.SequenceEnvironment(episode_length=12)
  client, adder = _snippets(reverb_server, env, K=10)
  _run(env, adder)
  items = drain(client, 'snippets')
  # 13 observations o_0..o_12 hold 3 windows of 11: starts 0, 1, 2.
  assert len(items) == 3
  for start, item in enumerate(items):
    assert item.observations.shape == (11, 3)
    assert item.actions.shape == (10, 2)
    np.testing.assert_array_equal(item.observations[:, 1],
                                  np.arange(start, start + 11))
    np.testing.assert_array_equal(item.actions[:, 0],
                                  np.arange(start, start + 10))


def test_snippets_respect_stride_and_episode_boundaries(reverb_server):
  env = fakes.SequenceEnvironment(episode_length=14)
  client, adder = _snippets(reverb_server, env, K=3, stride=2)
  _run(env, adder, episodes=2)
  items = drain(client, 'snippets')
  # Starts 0, 2, ..., 10 (start + 3 <= 14) in each episode.
  starts = [int(i.observations[0, 1]) for i in items]
  assert starts == [0, 2, 4, 6, 8, 10] * 2
  for item in items:
    assert len(set(item.observations[:, 0])) == 1  # One episode per item.


def test_short_episode_gives_no_snippet_and_k1_gives_pairs(reverb_server):
  env = fakes.SequenceEnvironment(episode_length=3)
  client, adder = _snippets(reverb_server, env, K=4)
  _run(env, adder)
  assert client.server_info()['snippets'].current_size == 0

  env = fakes.SequenceEnvironment(episode_length=3)
  client, adder = _snippets(reverb_server, env, K=1)
  _run(env, adder)
  items = drain(client, 'snippets')
  assert [list(i.observations[:, 1]) for i in items] == [[0, 1], [1, 2],
                                                         [2, 3]]


def test_snippet_extras_and_reset_mid_episode(reverb_server):
  env = fakes.SequenceEnvironment(episode_length=6)
  extras_spec = {'behaviour': dm_env_specs.Array((), np.int32)}
  client, adder = _snippets(reverb_server, env, K=2,
                            extras_spec=extras_spec)
  # Episode 0 is cut after 3 steps (an actor that died): windows 0 and 1
  # were complete and stay; nothing else of it may appear.
  timestep = env.reset()
  adder.add_first(timestep)
  for t in range(3):
    timestep = env.step(np.zeros(2, np.float32))
    adder.add(np.full(2, t, np.float32), timestep,
              extras={'behaviour': np.int32(7)})
  adder.reset()
  timestep = env.reset()
  adder.add_first(timestep)
  while not timestep.last():
    t = int(timestep.observation[1])
    timestep = env.step(np.zeros(2, np.float32))
    adder.add(np.full(2, t, np.float32), timestep,
              extras={'behaviour': np.int32(100 + t)})
  items = drain(client, 'snippets')
  episodes = [int(i.observations[0, 0]) for i in items]
  assert episodes == [0, 0, 1, 1, 1, 1, 1]
  np.testing.assert_array_equal(items[0].extras['behaviour'], [7, 7])
  np.testing.assert_array_equal(items[2].extras['behaviour'], [100, 101])
  np.testing.assert_array_equal(items[-1].extras['behaviour'], [104, 105])


def test_adders_reject_bad_input_naming_the_field(reverb_server):
  env = fakes.SequenceEnvironment(episode_length=4)
  client, adder = _snippets(reverb_server, env, K=2)
  timestep = env.reset()
  with pytest.raises(ValueError, match='before add_first'):
    adder.add(np.zeros(2, np.float32), timestep)
  adder.add_first(timestep)
  next_timestep = env.step(np.zeros(2, np.float32))
  with pytest.raises(ValueError, match=r'action: expected shape \(2,\), '
                     r'got \(3,\)'):
    adder.add(np.zeros(3, np.float32), next_timestep)
  with pytest.raises(ValueError, match='action: expected dtype float32, got '
                     'float64'):
    adder.add(np.zeros(2, np.float64), next_timestep)
  bad_obs = next_timestep._replace(observation=np.zeros(5, np.float32))
  with pytest.raises(ValueError, match='next_timestep.observation'):
    adder.add(np.zeros(2, np.float32), bad_obs)
  bad_reward = next_timestep._replace(reward=np.zeros(2))
  with pytest.raises(ValueError, match='next_timestep.reward'):
    adder.add(np.zeros(2, np.float32), bad_reward)
  with pytest.raises(ValueError, match='add_first: expected a FIRST'):
    adder.add_first(next_timestep)
  with pytest.raises(ValueError, match='K: expected >= 1, got 0'):
    reverb_adders.SnippetAdder(client, K=0,
                               environment_spec=specs.make_environment_spec(env))
  with pytest.raises(ValueError, match='n_step: expected >= 1, got 0'):
    reverb_adders.NStepTransitionAdder(
        client, n_step=0, discount=0.9,
        environment_spec=specs.make_environment_spec(env))
  assert isinstance(next_timestep, dm_env.TimeStep)
