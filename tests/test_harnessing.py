"""Phase 2 with learning: the skill environment, the planning behaviour,
finetuning the jumpy decoder, and train_rl.py end to end."""

import csv
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme import environment_loop
from jumpy_acme import specs
from jumpy_acme import types
from jumpy_acme.agents import dmpo
from jumpy_acme.agents import harnessing
from jumpy_acme.agents import planning
from jumpy_acme.agents.skill_vae import model as model_lib
from jumpy_acme.testing import fakes
from jumpy_acme.testing import phase1
from jumpy_acme.testing import subprocesses


def test_skill_environment_holds_each_skill_and_sums_rewards():
  # Rewards 1..25; skills held for 10 steps: 1+..+10, 11+..+20, 21+..+25.
  env = fakes.SequenceEnvironment(episode_length=25, observation_size=3,
                                  action_size=2)

  def decode(state, z):  # Acts [z_0, t]: shows the skill and the state.
    return jnp.stack([z[0], state[1]])
  wrapped = harnessing.SkillEnvironment(env, decode, latent_size=4,
                                        actions_per_latent=10,
                                        latent_scale=2.0)
  spec = wrapped.action_spec()
  assert spec.shape == (4,) and spec.minimum == -1 and spec.maximum == 1
  wrapped.reset()
  rewards, discounts = [], []
  for u in ([0.5, -0.5, 0.25, 0.0], [2.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.1]):
    timestep = wrapped.step(np.array(u, np.float32))
    rewards.append(float(timestep.reward))
    discounts.append(float(timestep.discount))
  assert timestep.last()
  assert rewards == [55.0, 155.0, 115.0]
  assert discounts == [1.0, 1.0, 0.0]        # The last primitive step ends.
  assert wrapped.primitive_steps == 25
  # z = 2 * clip(u), held for 10 steps, decoded at each step's state.
  actions = np.array(env.actions)
  np.testing.assert_allclose(actions[:, 0], [1.0] * 10 + [2.0] * 10 +
                             [0.0] * 5)
  np.testing.assert_allclose(actions[:, 1], np.arange(25))
  with pytest.raises(ValueError, match=r'action: expected a skill of shape '
                     r'\(4,\), got \(2,\)'):
    wrapped.step(np.zeros(2, np.float32))
  with pytest.raises(ValueError, match='actions_per_latent'):
    harnessing.SkillEnvironment(env, decode, 4, actions_per_latent=0)


def test_config_names_num_devices_that_do_not_split_the_batch():
  with pytest.raises(ValueError, match=r'num_devices: .*batch_size=256.*'
                     r'expected a divisor of it, got 3'):
    harnessing.HarnessingConfig(method='scratch', task='reach_red',
                                num_devices=3)
  with pytest.raises(ValueError, match=r'num_devices: expected an integer '
                     r'>= 1, got 0'):
    harnessing.HarnessingConfig(method='scratch', task='reach_red',
                                num_devices=0)


def test_model_critic_features_are_the_jumpy_models_standardised_prediction():
  from jumpy_acme.agents.harnessing import critic_features  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import losses  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  size = phase1.STATE_SIZE
  mean = rng.normal(size=size).astype(np.float32)
  std = rng.uniform(0.5, 2.0, size=size).astype(np.float32)
  norm = losses.Normalization(
      jnp.asarray(mean), jnp.asarray(std), -jnp.ones(size), jnp.ones(size),
      jnp.ones(phase1.ACTION_SIZE))
  model = phase1.tiny_model(normalization=norm)
  features = critic_features.model_critic_features(model, latent_scale=2.0)
  states = mean + std * rng.normal(size=(3, size)).astype(np.float32)
  actions = rng.uniform(-1, 1, size=(3, model.latent_size)).astype(
      np.float32)
  actions[0, 0] = 3.0  # Outside the box: the skill acted is z = 2 * 1.
  got = np.asarray(features(jnp.asarray(states), jnp.asarray(actions)))
  for i in range(3):  # One state at a time, standardised by hand.
    z = 2.0 * np.clip(actions[i], -1, 1)
    expected = np.clip((np.asarray(model.predict_next_state(
        jnp.asarray(states[i]), jnp.asarray(z))) - mean) / std, -10, 10)
    np.testing.assert_allclose(got[i], expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())


def test_a_model_feature_critic_sees_what_the_model_predicts():
  from jumpy_acme.agents.harnessing import critic_features  # pylint: disable=g-import-not-at-top
  spec = specs.EnvironmentSpec(
      observations=specs.Array((phase1.STATE_SIZE,), np.float32),
      actions=specs.BoundedArray((4,), np.float32, -1.0, 1.0),
      rewards=specs.Array((), np.float32),
      discounts=specs.BoundedArray((), np.float32, 0.0, 1.0))
  config = dmpo.DMPOConfig()
  plain = dmpo.make_networks(spec, config)
  critics = [dmpo.make_networks(spec, config, critic_features.
                                model_critic_features(
                                    phase1.tiny_model(seed=seed), 2.0))
             for seed in (0, 1)]
  first_layer = lambda p: p['params']['LayerNormMLP_0']['Dense_0']['kernel']
  key = jax.random.PRNGKey(0)
  # Input: o [86], a [4], and the predicted state [86].
  assert first_layer(plain.critic_init(key)).shape[0] == 86 + 4
  params = critics[0].critic_init(key)
  assert first_layer(params).shape[0] == 86 + 4 + 86
  o = jnp.asarray(np.random.default_rng(1).normal(size=(2, 5, 86)),
                  jnp.float32)
  a = jnp.asarray(np.random.default_rng(2).uniform(-1, 1, size=(2, 5, 4)),
                  jnp.float32)
  logits = [np.asarray(c.critic_apply(params, o, a)) for c in critics]
  assert logits[0].shape == (2, 5, config.num_atoms)
  # Same parameters and inputs, another model: other values.
  assert np.abs(logits[0] - logits[1]).max() > 1e-3 * np.abs(
      logits[0]).max()


def test_config_refuses_model_critic_features_without_skills():
  with pytest.raises(ValueError, match=r"critic_features: 'model' needs a "
                     r"skill method .* got method 'scratch'"):
    harnessing.HarnessingConfig(method='scratch', task='reach_red',
                                critic_features='model')
  with pytest.raises(ValueError, match=r"critic_features: expected one of "
                     r"\('state', 'model'\), got 'dreams'"):
    harnessing.HarnessingConfig(method='rl_hl', task='reach_red',
                                phase1_checkpoint='x',
                                critic_features='dreams')


def test_finetuning_fits_the_jumpy_decoder_and_nothing_else():
  import optax  # pylint: disable=g-import-not-at-top
  model = phase1.tiny_model()
  params = model.params
  rng = np.random.default_rng(0)
  s = rng.normal(size=(32, 86)).astype(np.float32)
  u = rng.uniform(-1, 1, size=(32, 4)).astype(np.float32)
  # Next states: a fixed function of the skill the model must learn.
  s_next = s + 0.3 * np.tanh(u @ rng.normal(size=(4, 86))).astype(np.float32)
  batch = types.Transition(s, u, np.zeros(32, np.float32),
                           np.ones(32, np.float32), s_next)
  update = jax.jit(harnessing.make_finetune_update(
      model, optax.adam(3e-3), latent_scale=2.0, beta_s=1.0))
  state = harnessing.finetune.FinetuneState(
      params, optax.adam(3e-3).init(model.jumpy_decoder_params()),
      jnp.zeros((), jnp.int32))
  # The loss at the start, computed here from predict_next_state.
  predicted = jax.vmap(lambda a, b: model.predict_next_state(a, 2.0 * b))(
      s, u)
  start = np.mean(np.sum(((predicted - s) - (s_next - s)) ** 2, axis=1))
  first = None
  for _ in range(200):
    state, metrics = update(state, batch)
    first = float(metrics['model_squared_error']) if first is None else first
  np.testing.assert_allclose(first, start, rtol=1e-4)
  assert float(metrics['model_squared_error']) < 0.3 * start
  for name in model_lib.MODULES:
    same = jax.tree_util.tree_all(jax.tree_util.tree_map(
        lambda a, b: bool(jnp.all(a == b)),
        model_lib.module_params(params, name),
        model_lib.module_params(state.params, name)))
    assert same == (name != 'jumpy_decoder'), name
  assert int(state.steps) == 200


def test_a_resumed_finetuner_continues_the_decoder_it_had_finetuned(
    tmp_path):
  import itertools  # pylint: disable=g-import-not-at-top
  model = phase1.tiny_model()
  rng = np.random.default_rng(0)
  s = rng.normal(size=(8, 86)).astype(np.float32)
  u = rng.uniform(-1, 1, size=(8, 4)).astype(np.float32)
  batch = types.Transition(s, u, np.zeros(8, np.float32),
                           np.ones(8, np.float32), s + 0.1 * s ** 2)

  def finetuner(directory=None):
    return harnessing.JumpyFinetuner(
        model, itertools.repeat(batch), learning_rate=1e-2, latent_scale=2.0,
        checkpoint_dir=directory, checkpoint_every=3)

  straight = finetuner()
  for _ in range(7):
    straight.step()
  first = finetuner(str(tmp_path / 'ft'))
  for _ in range(5):
    first.step()  # A periodic checkpoint at step 3.
  first.checkpoint()  # What the worker does when it stops: step 5.
  resumed = finetuner(str(tmp_path / 'ft'))
  assert resumed.steps == 5
  for _ in range(2):
    resumed.step()
  decoder = model_lib.module_params(straight.params, 'jumpy_decoder')
  # The decoder moved from phase 1's, and the resumed run's equals the
  # uninterrupted one's (Adam's moments came back too).
  assert not jax.tree_util.tree_all(jax.tree_util.tree_map(
      lambda a, b: bool(jnp.all(a == b)), decoder,
      model_lib.module_params(model.params, 'jumpy_decoder')))
  jax.tree_util.tree_map(
      lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
      model_lib.module_params(resumed.params, 'jumpy_decoder'), decoder)
  with pytest.raises(ValueError, match=r'checkpoint_every: expected >= 1, '
                     r'got 0'):
    harnessing.JumpyFinetuner(model, iter([]), 1e-3, 2.0, checkpoint_every=0)


def test_planning_policy_samples_skills_from_the_learned_proposal():
  # One plan, one jump: the action is (scale * (mean + std * eps)) / scale
  # for the planner's own noise eps, clipped: the proposal is pi's.
  model = phase1.tiny_model()
  spec = specs.EnvironmentSpec(
      observations=specs.Array((86,), np.float32),
      actions=specs.BoundedArray((4,), np.float32, -1.0, 1.0),
      rewards=specs.Array((), np.float32),
      discounts=specs.BoundedArray((), np.float32, 0.0, 1.0))
  config = dmpo.DMPOConfig(policy_hidden_sizes=(8,), critic_hidden_sizes=(8,))
  pi = dmpo.make_networks(spec, config)
  pi_params = pi.policy_init(jax.random.PRNGKey(1))
  policy = jax.jit(harnessing.make_planning_policy(
      model, pi, lambda s: jnp.sum(s), planning.PlannerConfig(
          num_samples=1, horizon=1), latent_scale=2.0))
  state = jnp.asarray(np.random.default_rng(0).normal(size=86), jnp.float32)
  key = jax.random.PRNGKey(7)
  action = policy(pi_params, model.params, key, state)
  mean, std = pi.policy_apply(pi_params, state)
  eps = jax.random.normal(jax.random.split(key, 1)[0], (1, 1, 4))[0, 0]
  np.testing.assert_allclose(action, jnp.clip(mean + std * eps, -1, 1),
                             rtol=1e-5, atol=1e-6)


def _train_rl(tmp_path, *args):
  result = subprocess.run(
      [sys.executable, '-m', 'jumpy_acme.launchers.train_rl',
       '--task=reach_red', '--env_steps=60', '--eval_every=30',
       '--eval_episodes=1', '--episode_length=20', '--min_replay_size=10',
       '--batch_size=8', '--policy_sizes=8', '--critic_sizes=8',
       f'--output={tmp_path / "rl"}', *args],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


@pytest.mark.integration
def test_train_rl_learning_curves_and_resume(tmp_path):
  _train_rl(tmp_path, '--method=scratch', '--num_seeds=2')
  method = tmp_path / 'rl' / 'reach_red' / 'scratch'
  for seed in (0, 1):
    with open(method / f'seed_{seed}' / 'evaluation.csv') as f:
      rows = list(csv.DictReader(f))
    assert [int(float(r['env_steps'])) for r in rows] == [0, 30, 60]
    for row in rows:
      returns = json.loads(row['returns'])
      assert len(returns) == 1 and 0 <= returns[0] <= 20
      assert float(row['actual_env_steps']) >= float(row['env_steps'])
    with open(method / f'seed_{seed}' / 'done.json') as f:
      done = json.load(f)
    assert done['env_steps'] >= 60
    # One row per actor episode, each 20 steps of a return in [0, 20].
    with open(method / f'seed_{seed}' / 'actors.jsonl') as f:
      episodes = [json.loads(line) for line in f]
    assert len(episodes) == done['actor_episodes']
    for row in episodes:
      assert row['episode_length'] == 20 and 0 <= row['episode_return'] <= 20
      assert 20 <= row['env_steps'] <= done['env_steps']
  with open(method / 'curve.csv') as f:
    curve = list(csv.DictReader(f))
  assert [int(r['seeds']) for r in curve] == [2, 2, 2]
  assert (tmp_path / 'rl' / 'reach_red' / 'curve.png').stat().st_size > 0
  # A rerun finds both seeds done and only redraws.
  again = _train_rl(tmp_path, '--method=scratch', '--num_seeds=2')
  assert again.stdout.count('finished earlier, skipped') == 2


@pytest.mark.integration
def test_train_rl_planning_with_finetuning_runs_every_worker(tmp_path):
  phase1.tiny_checkpoint(tmp_path / 'model')
  _train_rl(tmp_path, '--method=rl_hl_planning_finetune',
            f'--phase1_checkpoint={tmp_path / "model"}',
            '--actions_per_latent=2', '--num_samples=8',
            '--finetune_batch_size=2', '--min_replay_size=4',
            '--init_log_alpha_stddev=10')
  seed = tmp_path / 'rl' / 'reach_red' / 'rl_hl_planning_finetune' / 'seed_0'
  with open(seed / 'done.json') as f:
    counts = json.load(f)
  assert counts['env_steps'] >= 60
  assert counts['learner_steps'] > 0 and counts['finetune_steps'] > 0
  # The finetuner checkpointed where it stopped (a resume continues it).
  from jumpy_acme import checkpointing  # pylint: disable=g-import-not-at-top
  assert checkpointing.latest_step(str(seed / 'finetuner')) == int(
      counts['finetune_steps'])
  with open(seed / 'config.json') as f:
    config = json.load(f)
  # epsilon_mean per latent dimension (the tiny model's z has 4).
  assert config['dmpo']['epsilon_mean'] == pytest.approx(0.0025 / 4)
  # Replay counted in environment steps: a skill is 2 of them.
  assert config['dmpo']['samples_per_insert'] == 64.0
  assert config['dmpo']['min_replay_size'] == 2
  assert config['dmpo']['variable_update_period'] == 100
  assert config['dmpo']['init_log_alpha_stddev'] == 10.0


def test_curve_reference_lines_read_table3_and_evaluate_outputs(tmp_path):
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  table3 = {'columns': [['Random-HL', 1], ['Planning (jumpy)', 1],
                        ['Random-HL', 10], ['Planning (jumpy)', 10],
                        ['Planning (K=1)', 10]],
            'cells': {'Random-HL|1|bring_red': {'mean': 1.0},
                      'Planning (jumpy)|1|bring_red': {'mean': 2.0},
                      'Random-HL|10|bring_red': {'mean': 3.0},
                      'Planning (jumpy)|10|bring_red': {'mean': 4.0},
                      'Planning (K=1)|10|bring_red': {'mean': 5.0},
                      'Random-HL|10|reach_red': {'mean': 6.0}}}
  path = tmp_path / 'table3.json'
  path.write_text(json.dumps(table3))
  # RL-HL holds each skill 10 steps: those columns, K = 1 left out.
  assert rl.zero_shot_references(str(path), 'bring_red') == [
      ('Random-HL', 3.0), ('Planning (jumpy)', 4.0)]
  results = {'results': [
      {'setting': 'Random-HL', 'task': 'bring_red', 'mean': 7.0},
      {'setting': 'Planning (K=1)', 'task': 'bring_red', 'mean': 8.0},
      {'setting': 'Random-HL', 'task': 'reach_red', 'mean': 9.0}]}
  path = tmp_path / 'results.json'
  path.write_text(json.dumps(results))
  assert rl.zero_shot_references(str(path), 'bring_red') == [
      ('Random-HL', 7.0)]


def test_skill_methods_make_as_many_updates_per_environment_step():
  base = dmpo.DMPOConfig(samples_per_insert=32.0, batch_size=256,
                         min_replay_size=1000, variable_update_period=200)
  skill = harnessing.config.per_environment_step(base, 10)
  # Scratch: 32 samples per 1-step transition, 256 per update, so one
  # update per 8 environment steps. A skill transition is 10 steps.
  scratch_updates = 32.0 / 256 / 1
  skill_updates = skill.samples_per_insert / skill.batch_size / 10
  assert skill_updates == scratch_updates == 0.125
  # Learning starts, and actors fetch, after the same environment steps.
  assert skill.min_replay_size * 10 == 1000
  assert skill.variable_update_period * 10 == 200
  assert harnessing.config.per_environment_step(
      base, 3).min_replay_size == 334  # Rounded up: 1002 steps >= 1000.
  # The same horizon in environment steps: a skill step discounts as its
  # 10 primitive steps do.
  assert skill.discount == pytest.approx(base.discount ** 10, rel=1e-12)
  assert skill.epsilon_mean == base.epsilon_mean  # Nothing else changes.
  with pytest.raises(ValueError, match='actions_per_latent: expected an '
                     'integer >= 1, got 0'):
    harnessing.config.per_environment_step(base, 0)


def test_default_critic_support_covers_a_skill_steps_summed_reward():
  # Rewards in [0, 1] and episodes that end by truncation (the critic
  # bootstraps through them): Q <= sum_t gamma^t r_t over an unbounded
  # horizon. A skill step sums up to 10 primitive rewards: with gamma 0.99
  # per skill step Q reaches 10 / 0.01 = 1000 (the bound the first version
  # missed: it stopped at 40 skill steps, 331 -> 350, and the critic
  # saturated); with 0.99 ** 10 = 0.904 per skill step, 10 / 0.0956 = 104.6,
  # inside Acme's 150.
  assert harnessing.config.default_vmax(10, 400, 0.99, True) == 1000.0
  assert harnessing.config.default_vmax(10, 400, 0.99 ** 10, True) == 150.0
  assert harnessing.config.default_vmax(10, 400, 0.999, True) == 10000.0
  assert harnessing.config.default_vmax(10, 400, 1.0, True) == 400.0
  # Primitive actions: Acme's 150 already covers 1 / 0.01 = 100.
  assert harnessing.config.default_vmax(10, 400, 0.99, False) == 150.0


def _toward_red(observation):
  """Moves the pinch toward red at a fixed speed."""
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  offset = layout.LAYOUT.get(observation, 'red_to_pinch_pos')
  action = np.zeros(5, np.float32)
  action[:3] = np.clip(-10 * offset, -0.07, 0.07)
  return action


def test_every_evaluation_point_runs_the_same_initial_states():
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  config = harnessing.HarnessingConfig(method='scratch', task='reach_red',
                                       episode_length=15, eval_episodes=3)
  actor = fakes.FunctionActor(_toward_red)
  first = rl.evaluation_returns(config, actor, None, seed=10_000)
  again = rl.evaluation_returns(config, actor, None, seed=10_000)
  # The same states and the same actions: the same returns, point after
  # point (one environment stepping on would give the next states).
  np.testing.assert_allclose(again, first, rtol=1e-6)
  # Within a point the episodes start from different states.
  assert len(set(np.round(first, 6))) == 3
  other = rl.evaluation_returns(config, actor, None, seed=10_001)
  assert not np.allclose(other, first)

  recorder = environment_loop.EpisodeRecorder()  # Watches too, if asked.
  watched = rl.evaluation_returns(config, actor, None, seed=10_000,
                                  observers=[recorder])
  np.testing.assert_allclose(watched, first, rtol=1e-6)
  assert [len(e['actions']) for e in recorder.episodes] == [15, 15, 15]


@pytest.mark.integration
def test_a_stopped_rl_run_resumes_where_it_stopped(tmp_path):
  args = [sys.executable, '-m', 'jumpy_acme.launchers.train_rl',
          '--task=reach_red', '--method=scratch', '--env_steps=300',
          '--eval_every=30', '--eval_episodes=1', '--episode_length=20',
          '--min_replay_size=10', '--batch_size=8', '--policy_sizes=8',
          '--critic_sizes=8', f'--output={tmp_path / "rl"}']
  seed = tmp_path / 'rl' / 'reach_red' / 'scratch' / 'seed_0'
  # Ctrl-C reaches the run even from a suite started in the background.
  run = subprocess.Popen(subprocesses.interruptible_module(
      'jumpy_acme.launchers.train_rl', args[3:]), stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True, start_new_session=True)
  try:  # Ctrl-C (to the whole process group) after two evaluations.
    deadline = time.time() + 300
    while time.time() < deadline and run.poll() is None:
      if len(_evaluation_rows(seed)) >= 2:
        break
      time.sleep(0.5)
    assert run.poll() is None, 'the run ended before it could be stopped'
    os.killpg(run.pid, signal.SIGINT)
    out, err = run.communicate(timeout=300)
  finally:
    if run.poll() is None:
      os.killpg(run.pid, signal.SIGKILL)
  assert run.returncode == 130, err[-3000:]
  assert 'run the same command again to resume' in out
  assert not (seed / 'done.json').exists()
  with open(seed / 'progress.json') as f:
    stopped = json.load(f)['counts']
  before = [r['env_steps'] for r in _evaluation_rows(seed)]
  again = subprocess.run(args, capture_output=True, text=True, timeout=600,
                         check=False)
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'resuming at' in again.stdout
  # The replay the stopped run had is back (checkpointed at its stop).
  restored = re.search(r'replay restored from its checkpoint: ([\d,]+) '
                       r'items in dmpo_replay', again.stdout)
  assert restored and int(restored.group(1).replace(',', '')) >= 10
  rows = [r['env_steps'] for r in _evaluation_rows(seed)]
  # No seam: the first run's rows kept, each point evaluated once, in order.
  assert rows[:len(before)] == before
  assert rows == list(range(0, 301, 30))
  with open(seed / 'done.json') as f:
    done = json.load(f)
  assert done['env_steps'] >= max(120, stopped['env_steps'])
  assert done['learner_steps'] >= stopped['learner_steps']
  # A finished run given a larger budget continues its curve.
  longer = [('--env_steps=360' if a.startswith('--env_steps') else a)
            for a in args]
  more = subprocess.run(longer, capture_output=True, text=True, timeout=600,
                        check=False)
  assert more.returncode == 0, more.stderr[-3000:]
  assert 'continuing to 360' in more.stdout
  assert [r['env_steps'] for r in _evaluation_rows(seed)] == list(
      range(0, 361, 30))


def _evaluation_rows(seed_dir):
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  return rl.read_evaluations(str(seed_dir / 'evaluation.csv'))


def test_a_run_refuses_to_resume_with_other_settings_or_another_model(
    tmp_path):
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  model = tmp_path / 'model'
  model.mkdir()
  (model / 'model.npz').write_bytes(b'\x00' * 64)
  copy = tmp_path / 'copy'
  copy.mkdir()
  (copy / 'model.npz').write_bytes(b'\x00' * 64)
  first = rl.phase1_fingerprint(str(model))
  assert first == rl.phase1_fingerprint(str(copy))  # Contents, not paths.
  (model / 'model.npz').write_bytes(b'\x00' * 63 + b'\x01')
  assert rl.phase1_fingerprint(str(model)) != first
  assert rl.phase1_fingerprint(None) is None

  def settings(**changes):
    config = harnessing.HarnessingConfig(method='scratch', task='reach_red',
                                         **changes)
    return rl.run_settings(config)

  out = tmp_path / 'run'
  out.mkdir()
  rl.check_resumable(str(out), settings())  # Nothing stored: a fresh run.
  with open(out / 'config.json', 'w') as f:
    json.dump(settings(), f)
  rl.check_resumable(str(out), settings())
  rl.check_resumable(str(out), settings(env_steps=200_000))  # More budget.
  with pytest.raises(ValueError, match=r'dmpo\.samples_per_insert: started '
                     r'with 32\.0, now 320\.0'):
    rl.check_resumable(str(out), settings(dmpo=dmpo.DMPOConfig(
        samples_per_insert=320.0)))
  stored = settings()
  stored['phase1_fingerprint'] = first
  with open(out / 'config.json', 'w') as f:
    json.dump(stored, f)
  with pytest.raises(ValueError, match='phase1_fingerprint: started with'):
    rl.check_resumable(str(out), settings())
  # A run from before critic_features existed did what 'state' does.
  skills = lambda **c: rl.run_settings(harnessing.HarnessingConfig(
      method='rl_hl', task='reach_red', phase1_checkpoint=str(model), **c))
  older = {k: v for k, v in skills().items() if k != 'critic_features'}
  with open(out / 'config.json', 'w') as f:
    json.dump(older, f)
  rl.check_resumable(str(out), skills())
  with pytest.raises(ValueError, match=r"critic_features: started with "
                     r"'<absent>', now 'model'"):
    rl.check_resumable(str(out), skills(critic_features='model'))


def test_a_stopped_run_without_a_learner_checkpoint_starts_the_seed_again(
    tmp_path):
  from jumpy_acme import checkpointing  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  config = harnessing.HarnessingConfig(method='scratch', task='reach_red')
  out = tmp_path / 'seed_0'
  out.mkdir()

  def stopped_run():  # What a run killed at 42,420 env steps leaves.
    with open(out / 'config.json', 'w') as f:
      json.dump(rl.run_settings(config), f)
    with open(out / 'progress.json', 'w') as f:
      json.dump({'counts': {'env_steps': 42420, 'learner_steps': 316}}, f)
    (out / 'evaluation.csv').write_text(
        'env_steps,return\n0,142.0\n10000,163.0\n')
    (out / 'learner.jsonl').write_text('{"loss": 1.0}\n')

  stopped_run()
  assert rl.learner_checkpoint_step(str(out)) is None
  assert rl.prepare_resume(config, str(out)) is None  # From 0 again.
  assert not (out / 'progress.json').exists()
  assert not (out / 'evaluation.csv').exists()
  assert not (out / 'learner.jsonl').exists()
  assert (out / 'config.json').exists()

  # With a learner checkpoint the run continues where it stopped.
  stopped_run()
  manager = checkpointing.CheckpointManager(
      str(out / 'learner'), config=dmpo.DMPOConfig())
  manager.save(300, state={'w': np.zeros(2, np.float32)})
  assert rl.learner_checkpoint_step(str(out)) == 300
  initial = rl.prepare_resume(config, str(out))
  assert initial == {'env_steps': 42420.0, 'learner_steps': 316.0,
                     'evaluations': 2.0}
  assert (out / 'evaluation.csv').exists()

  # Leftovers without counts (a learner from an earlier, lost run) go too.
  (out / 'progress.json').unlink()
  assert rl.prepare_resume(config, str(out)) is None
  assert rl.learner_checkpoint_step(str(out)) is None
  assert not (out / 'evaluation.csv').exists()


def test_a_runs_saved_config_and_policy_load_back_for_tools(tmp_path):
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  config = harnessing.HarnessingConfig(
      method='scratch', task='bring_red', seed=3, eval_episodes=2,
      dmpo=dmpo.DMPOConfig(batch_size=64, policy_hidden_sizes=(16, 8),
                           critic_hidden_sizes=(8,), epsilon_mean=0.01),
      planner=planning.PlannerConfig(num_samples=17, elites=4))
  out = tmp_path / 'seed_3'
  with pytest.raises(FileNotFoundError, match='no config.json'):
    rl.saved_config(str(out))
  out.mkdir()
  with open(out / 'config.json', 'w') as f:
    json.dump(rl.run_settings(config), f)
  assert rl.saved_config(str(out)) == config  # Nested, tuples and all.
  stored = rl.run_settings(config)
  stored['dmpo']['no_such_field'] = 1
  with open(out / 'config.json', 'w') as f:
    json.dump(stored, f)
  with pytest.raises(ValueError, match=r"DMPOConfig: .*\['no_such_field'\]"):
    rl.saved_config(str(out))

  spec = specs.EnvironmentSpec(
      observations=specs.Array((6,), np.float32),
      actions=specs.BoundedArray((2,), np.float32, -1.0, 1.0),
      rewards=specs.Array((), np.float32),
      discounts=specs.BoundedArray((), np.float32, 0.0, 1.0))
  networks = dmpo.make_networks(spec, config.dmpo)
  with pytest.raises(FileNotFoundError, match='no learner checkpoint'):
    rl.load_learner_state(config, networks, str(out))
  state = dmpo.init_training_state(networks, jax.random.PRNGKey(7))
  manager = dmpo.make_checkpoint_manager(str(out / 'learner'), config.dmpo)
  manager.save(5, state=state._replace(steps=jnp.int32(5)))
  manager.save(9, state=state._replace(steps=jnp.int32(9)))
  restored = rl.load_learner_state(config, networks, str(out))
  assert int(restored.steps) == 9
  same = jax.tree_util.tree_map(np.array_equal, restored.policy_params,
                                state.policy_params)
  assert all(jax.tree_util.tree_leaves(same))
  assert int(rl.load_learner_state(config, networks, str(out),
                                   step=5).steps) == 5
  other = dmpo.DMPOConfig(batch_size=64, policy_hidden_sizes=(32,),
                          critic_hidden_sizes=(8,))
  with pytest.raises(ValueError, match='policy_hidden_sizes'):
    rl.load_learner_state(
        dataclasses.replace(config, dmpo=other),
        dmpo.make_networks(spec, other), str(out))


def test_epsilon_mean_flag_replaces_the_per_dimension_division(tmp_path):
  # In a subprocess: train_rl.py's flags (seed, ...) clash with other
  # launchers' that the test process may have imported.
  phase1.tiny_checkpoint(tmp_path / 'model')  # z has 4 dimensions.
  script = f"""
from absl import flags
from jumpy_acme.launchers import train_rl
model = {str(tmp_path / 'model')!r}
for argv in (['--method=rl_hl'], ['--method=rl_hl', '--epsilon_mean=0.0025'],
             ['--method=scratch', '--epsilon_mean=0.01'],
             ['--method=rl_hl', '--epsilon_stddev=1e-4']):
  flags.FLAGS(['train_rl', '--phase1_checkpoint=' + model] + argv)
  dmpo = train_rl.make_config(0).dmpo
  print(repr(dmpo.epsilon_mean), repr(dmpo.epsilon_stddev))
  flags.FLAGS.unparse_flags()
"""
  out = subprocess.run([sys.executable, '-c', script], capture_output=True,
                       text=True, check=True, timeout=300).stdout.split()
  # Default: Acme's 0.0025 over the latent's 4 dimensions; a given value
  # is used as it is, by skill methods and scratch. The stddev's bound is
  # Acme's 1e-6 unless given (never divided).
  assert [float(v) for v in out[0::2]] == pytest.approx(
      [0.0025 / 4, 0.0025, 0.01, 0.0025 / 4])
  assert [float(v) for v in out[1::2]] == pytest.approx(
      [1e-6, 1e-6, 1e-6, 1e-4])
