"""Model-policy consistency: the decoder's own skill transitions from the
real scene, and finetuning the jumpy decoder on them."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from jumpy_acme.agents.experiments import consistency
from jumpy_acme.agents.scripted import acting as scripted_acting
from jumpy_acme.agents.skill_vae import model as model_lib
from jumpy_acme.environments.rgb_stacking import layout
from jumpy_acme.testing import phase1

_SCALE = np.array([0.07, 0.07, 0.07, 1.0, 255.0], np.float32)


def _episode(model, skill_share, max_steps=12, segment=4, seed=0):
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  env = environments.make('reach_red', seed=seed, episode_length=max_steps)
  actor = scripted_acting.BehaviourScheduleActor()
  actor.reseed(seed)
  decode = jax.jit(model.decode_action)
  try:
    return consistency.collect_episode(
        model, env, actor, np.random.default_rng(seed), decode, segment,
        skill_share, max_steps)
  finally:
    env.close()


def test_decoder_segments_give_one_transition_per_skill_step():
  model = phase1.tiny_model(
      K=2, normalization=phase1.identity_normalization(_SCALE))
  out = _episode(model, skill_share=1.0)
  # 12 steps, all the decoder's, a skill every K = 2 steps: 6 transitions
  # that chain (each one ends where the next starts), each with its own z.
  assert out['observation'].shape == (6, 86)
  assert out['next_observation'].shape == (6, 86)
  assert out['z'].shape == (6, 4)
  np.testing.assert_array_equal(out['next_observation'][:-1],
                                out['observation'][1:])
  assert len({tuple(z) for z in out['z']}) == 6
  # The arm moved under the decoder's actions.
  pinch = layout.LAYOUT['pinch_pose_pos']
  assert np.all(out['observation'][0, pinch] !=
                out['next_observation'][-1, pinch])
  none = _episode(model, skill_share=0.0)
  assert none['observation'].shape == (0, 86) and none['z'].shape == (0, 4)


def test_an_episode_is_drawn_from_its_seed_alone(tmp_path):
  model = phase1.tiny_model(
      K=2, normalization=phase1.identity_normalization(_SCALE))
  checkpoint = model_lib.export(model, str(tmp_path / 'model'))
  both, alone = tmp_path / 'both', tmp_path / 'alone'
  both.mkdir()
  alone.mkdir()
  # Episode 3 after episodes 0-2 in one process, and on its own.
  job = lambda d, episodes: (checkpoint, str(d), episodes, 7, 4, 0.5, 16)
  assert consistency.collect_worker(job(both, [0, 1, 2, 3])) == 4
  assert consistency.collect_worker(job(alone, [3])) == 1
  assert consistency.collect_worker(job(alone, [3])) == 0  # On disk.
  # The documented draws: environments.make(seed=s) picks the objects,
  # then one generator seeded s reseeds the scene, the schedule, and
  # draws each segment's control and skill.
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  episode_seed = 7 + consistency.EPISODE_SEED_OFFSET + 3
  env = environments.make('reach_red', seed=episode_seed, episode_length=16)
  draws = np.random.default_rng(episode_seed)
  env.reseed(int(draws.integers(2**31)))
  actor = scripted_acting.BehaviourScheduleActor()
  actor.reseed(int(draws.integers(2**31)))
  expected = consistency.collect_episode(
      model, env, actor, draws, jax.jit(model.decode_action), 4, 0.5, 16)
  env.close()
  assert len(expected['z']) > 0
  for directory in (both, alone):
    with np.load(consistency.episode_path(str(directory), 3)) as got:
      for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_segment_must_hold_whole_skills():
  model = phase1.tiny_model(K=3)
  with pytest.raises(ValueError, match=r'segment: expected a multiple of '
                     r'K = 3, got 4'):
    _episode(model, skill_share=1.0)


def _branching(model, radius, branches=3, every=2, max_steps=10, seed=0,
               moments='grasp'):
  """A branching episode and the states the schedule visited in it."""
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  env = environments.make('reach_red', seed=seed, episode_length=max_steps)
  actor = scripted_acting.BehaviourScheduleActor()
  actor.reseed(seed)
  visited = []
  select = actor.select_action
  actor.select_action = lambda obs: (visited.append(np.array(obs)),
                                     select(obs))[1]
  try:
    out = consistency.collect_branching_episode(
        model, env, actor, np.random.default_rng(seed),
        jax.jit(model.decode_action), branches, every, radius, max_steps,
        moments)
  finally:
    env.close()
  return out, np.array(visited)


def test_branches_leave_the_schedule_as_it_was():
  model = phase1.tiny_model(
      K=2, normalization=phase1.identity_normalization(_SCALE))
  # radius 0: no state qualifies, so this is the schedule alone.
  alone, schedule = _branching(model, radius=1e-9)
  assert alone['z'].shape == (0, 4)
  # radius 10 m: every state qualifies (nothing is held at the start), and
  # at every 2nd one 3 skills roll out K = 2 steps from a saved simulator.
  out, visited = _branching(model, radius=10.0)
  np.testing.assert_array_equal(visited, schedule)  # Restored each time.
  assert out['z'].shape == (3 * 5, 4)               # Steps 0, 2, ..., 8.
  np.testing.assert_array_equal(out['observation'],
                                np.repeat(schedule[0:10:2], 3, axis=0))
  # Each branch has its own skill and moved the arm away from where the
  # schedule went next.
  assert len({tuple(z) for z in out['z']}) == 15
  pinch = layout.LAYOUT['pinch_pose_pos']
  assert np.all(np.linalg.norm(out['next_observation'][:, pinch] -
                               out['observation'][:, pinch], axis=1) > 0)
  with pytest.raises(ValueError, match='branches, every, radius'):
    _branching(model, radius=10.0, branches=0)
  # Nothing is held in the first 10 steps: no 'hold' moment; 'both' is
  # then the 'grasp' moments.
  held, _ = _branching(model, radius=10.0, moments='hold')
  assert held['z'].shape == (0, 4)
  both, _ = _branching(model, radius=10.0, moments='both')
  np.testing.assert_array_equal(both['observation'], out['observation'])
  with pytest.raises(ValueError, match=r"moments: expected one of \['both', "
                     r"'grasp', 'hold'\], got 'held'"):
    _branching(model, radius=10.0, moments='held')


def test_holding_is_an_inward_grasp_near_an_object():
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  L = layout.LAYOUT  # noqa: N806
  state = np.zeros(86, np.float32)
  state[L['red_pose_pos']] = [0.0, 0.0, 0.1]
  state[L['green_pose_pos']] = [0.3, 0.0, 0.1]
  state[L['blue_pose_pos']] = [-0.3, 0.0, 0.1]
  state[L['pinch_pose_pos']] = [0.0, 0.01, 0.1]  # 1 cm from red.
  state[L['grasp']] = 0.0
  assert not rewards.is_inward_grasp(state)
  assert not consistency.holding(state, 0.03)
  assert consistency.before_grasp(state, 0.03)
  state[L['grasp']] = 2.0  # The sensor's inward-grasp reading.
  assert rewards.is_inward_grasp(state)
  assert consistency.holding(state, 0.03)
  assert not consistency.before_grasp(state, 0.03)
  assert not consistency.holding(state, 0.005)  # Too far from any object.


def _synthetic(model, sizes, rng):
  """Transition sets whose next state is one fixed function of z."""
  weights = rng.normal(size=(model.latent_size, 86))
  sets = []
  for n in sizes:
    s = rng.normal(size=(n, 86)).astype(np.float32)
    z = rng.normal(size=(n, model.latent_size)).astype(np.float32)
    s_next = s + 0.3 * np.tanh(z @ weights).astype(np.float32)
    sets.append({'observation': s, 'z': z, 'next_observation': s_next})
  return sets


def test_finetuning_lowers_the_held_out_error_and_keeps_the_best_step():
  model = phase1.tiny_model()
  train, valid = _synthetic(model, (256, 64), np.random.default_rng(0))
  # Errors before training, from predict_next_state (identity statistics:
  # the normalised delta is the delta itself).
  predicted = np.asarray(jax.vmap(model.predict_next_state)(
      valid['observation'], valid['z']))
  expected = np.mean(np.sum((predicted - valid['next_observation']) ** 2,
                            axis=1))
  pinch = layout.LAYOUT['pinch_pose_pos']
  expected_mm = 1000 * np.mean(np.linalg.norm(
      predicted[:, pinch] - valid['next_observation'][:, pinch], axis=1))
  before = consistency.jumpy_errors(model, valid, batch=50)
  np.testing.assert_allclose(before['state_error'], expected, rtol=1e-4)
  np.testing.assert_allclose(before['pinch_mm'], expected_mm, rtol=1e-4)
  assert before['transitions'] == 64
  tuned, history = consistency.finetune(
      model, train, valid, steps=300, batch_size=32, learning_rate=3e-3,
      eval_every=100, log=lambda line: None)
  assert [h['step'] for h in history] == [0, 100, 200, 300]
  after = consistency.jumpy_errors(tuned, valid)
  assert after['state_error'] < 0.5 * before['state_error']
  # The returned model is the best of the validated steps.
  np.testing.assert_allclose(
      after['state_error'], min(h['state_error'] for h in history),
      rtol=1e-5)
  # Only the jumpy decoder changed: the policy acts as before.
  for name in model_lib.MODULES:
    same = jax.tree_util.tree_all(jax.tree_util.tree_map(
        lambda a, b: bool(np.all(a == b)),
        model_lib.module_params(model.params, name),
        model_lib.module_params(tuned.params, name)))
    assert same == (name != model_lib.JUMPY_DECODER), name


def test_weighted_parts_count_in_errors_and_only_they_are_fitted():
  model = phase1.tiny_model()
  rng = np.random.default_rng(1)
  train, valid = _synthetic(model, (128, 32), rng)
  weights = np.zeros(86, np.float32)
  weights[layout.LAYOUT['grasp']] = 20.0
  weights[layout.LAYOUT['pinch_pose_pos']] = 1.0
  predicted = np.asarray(jax.vmap(model.predict_next_state)(
      valid['observation'], valid['z']))
  expected = np.mean(np.sum(
      weights * (predicted - valid['next_observation']) ** 2, axis=1))
  errors = consistency.jumpy_errors(
      model, valid, error_fn=consistency.make_error_fn(model, weights))
  np.testing.assert_allclose(errors['state_error'], expected, rtol=1e-4)
  # Next states that differ only where the weight is 0 train the same
  # decoder.
  noisy = {k: v.copy() for k, v in train.items()}
  free = weights == 0
  noisy['next_observation'][:, free] += rng.normal(
      size=(128, int(free.sum()))).astype(np.float32)
  run = lambda data: consistency.finetune(
      model, data, valid, steps=20, batch_size=16, learning_rate=1e-3,
      eval_every=20, log=lambda line: None, dim_weights=weights)[1]
  first, second = run(train), run(noisy)
  np.testing.assert_allclose(first[-1]['state_error'],
                             second[-1]['state_error'], rtol=1e-5)
  assert first[-1]['state_error'] != first[0]['state_error']
  with pytest.raises(ValueError, match='dim_weights: expected 86 weights'):
    consistency.finetune(model, train, valid, steps=1, batch_size=4,
                         learning_rate=1e-3, dim_weights=weights[:5])


def test_grasp_onsets_predicted_counts_starts_of_inward_grasps():
  model = phase1.tiny_model()
  grasp = layout.LAYOUT['grasp'].start
  _, valid = _synthetic(model, (1, 40), np.random.default_rng(2))
  # No grasp at s_t (|g - 2| >= 0.5), close enough to one that the tiny
  # model's small deltas predict one for some transitions.
  valid['observation'][:, grasp] = np.tile(np.linspace(2.55, 3.6, 10), 4)
  valid['next_observation'][:, grasp] = 1.0
  valid['next_observation'][:10, grasp] = 2.0     # ... 10 inward at t+K.
  valid['observation'][30:, grasp] = 2.0          # Held throughout: not
  valid['next_observation'][30:, grasp] = 2.0     # onsets.
  predicted = np.asarray(jax.vmap(model.predict_next_state)(
      valid['observation'], valid['z']))[:, grasp]
  expected = np.mean(np.abs(predicted[:10] - 2.0) < 0.5)
  assert 0 < expected < 1, predicted[:10]  # Both kinds are counted.
  got = consistency.jumpy_errors(model, valid)['grasp_onsets_predicted']
  assert got == pytest.approx(expected)
  valid['next_observation'][:10, grasp] = 1.0
  assert np.isnan(consistency.jumpy_errors(
      model, valid)['grasp_onsets_predicted'])


def test_anchor_batches_keep_the_phase1_fit_in_view():
  model = phase1.tiny_model()
  rng = np.random.default_rng(1)
  train, valid = _synthetic(model, (128, 32), rng)
  # Phase-1 snippets [N, K+1, S]: the anchor is (s_0, posterior mean, s_K).
  snippets = rng.normal(size=(40, 11, 86)).astype(np.float32)
  anchor = consistency.posterior_transitions(model, snippets, batch=16)
  mean, _ = model.encode(snippets[7])
  np.testing.assert_allclose(anchor['z'][7], mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(anchor['observation'], snippets[:, 0])
  np.testing.assert_array_equal(anchor['next_observation'], snippets[:, -1])
  head = {k: v[:30] for k, v in anchor.items()}
  tail = {k: v[30:] for k, v in anchor.items()}
  _, history = consistency.finetune(
      model, train, valid, steps=20, batch_size=8, learning_rate=1e-3,
      eval_every=10, log=lambda line: None, anchor=head, anchor_valid=tail)
  first = history[0]
  expected = consistency.jumpy_errors(model, tail)['state_error']
  np.testing.assert_allclose(first['anchor_state_error'], expected,
                             rtol=1e-5)
  np.testing.assert_allclose(
      first['selection'],
      0.5 * (first['state_error'] + first['anchor_state_error']), rtol=1e-6)
  with pytest.raises(ValueError, match='anchor_valid'):
    consistency.finetune(model, train, valid, 1, 8, 1e-3, anchor=head)
  with pytest.raises(ValueError, match=r'anchor_share: expected a share in '
                     r'\(0, 1\), got 1.0'):
    consistency.finetune(model, train, valid, 1, 8, 1e-3, anchor=head,
                         anchor_valid=tail, anchor_share=1.0)


@pytest.mark.integration
def test_launcher_collects_resumes_finetunes_and_exports(tmp_path):
  model = phase1.tiny_model(
      K=2, normalization=phase1.identity_normalization(_SCALE))
  source = model_lib.export(model, str(tmp_path / 'source'),
                            {'command': 'tiny'})
  command = [sys.executable, '-m', 'jumpy_acme.launchers.consistency',
             f'--checkpoint={source}', f'--data={tmp_path / "data"}',
             '--episodes=3', '--num_workers=1', '--max_steps=20',
             '--segment=4', '--skill_share=1', '--steps=4',
             '--batch_size=4']
  first = subprocess.run(command + [f'--export={tmp_path / "tuned"}'],
                         capture_output=True, text=True, check=True)
  assert 'collecting 3.' in first.stdout
  assert sorted(os.listdir(tmp_path / 'data')) == [
      'episode_00000.npz', 'episode_00001.npz', 'episode_00002.npz',
      'settings.json']
  with open(tmp_path / 'tuned' / 'manifest.json') as f:
    manifest = json.load(f)
  # 3 episodes of 10 transitions (20 steps, K = 2): one held out.
  assert manifest['consistency']['train_transitions'] == 20
  assert manifest['consistency']['valid_transitions'] == 10
  assert manifest['source_model']['command'] == 'tiny'
  assert model_lib.load(str(tmp_path / 'tuned')).K == 2
  again = subprocess.run(command, capture_output=True, text=True,
                         check=True)
  assert '3 of 3 episodes on disk' in again.stdout
  assert 'collecting 0.' in again.stdout
  bad = subprocess.run(command[:-2] + ['--segment=3'], capture_output=True,
                       text=True)
  assert bad.returncode != 0
  assert "--segment: expected a multiple of the model's K = 2, got 3" in (
      bad.stderr)
  # Episodes of another kind would mix into the same directory: refused.
  mixed = subprocess.run(command + ['--branches=2', '--branch_at=hold'],
                         capture_output=True, text=True)
  assert mixed.returncode != 0
  assert '--branches: the episodes in' in mixed.stderr
  assert 'collected with 0, got 2' in mixed.stderr
