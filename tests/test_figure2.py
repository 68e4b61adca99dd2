"""Figure 2 (agents/planning/figure2.py, launchers/figure2.py), tiny model."""

import json
import subprocess
import sys

import jax
import numpy as np
import pytest

from jumpy_acme import environments
from jumpy_acme.agents.planning import config as config_lib
from jumpy_acme.agents.experiments import figure2
from jumpy_acme.environments.rgb_stacking import layout
from jumpy_acme.testing import phase1

L = layout.LAYOUT


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
  """A tiny phase-1 model (K = 10, Z = 4) after one SGD step, saved."""
  directory = tmp_path_factory.mktemp('figure2') / 'model'
  phase1.tiny_checkpoint(directory)
  return str(directory)


class _Recording:
  """Passes an environment through, keeping its observations and rewards."""

  def __init__(self, env):
    self._env = env
    self.observations, self.rewards = [], []

  def reset(self):
    timestep = self._env.reset()
    self.observations.append(np.array(timestep.observation))
    return timestep

  def step(self, action):
    timestep = self._env.step(action)
    self.observations.append(np.array(timestep.observation))
    self.rewards.append(float(timestep.reward))
    return timestep

  def __getattr__(self, name):  # Specs and the rest: the environment's.
    return getattr(self._env, name)


def test_assign_colours_best_orange_worst_yellow_greys_by_rank():
  scores = np.array([0.3, 0.9, -0.2, 0.5, 0.1, 0.7])
  indices, colours = figure2.assign_colours(scores, plans_drawn=2)
  # Others by score: 4 (0.1), 0 (0.3), 3 (0.5), 5 (0.7); 2 evenly: 4, 5.
  np.testing.assert_array_equal(indices, [4, 5, 2, 1])
  assert colours == (figure2.OTHER_COLOUR, figure2.OTHER_COLOUR,
                     figure2.WORST_COLOUR, figure2.BEST_COLOUR)
  assert indices[-1] == np.argmax(scores) and indices[-2] == np.argmin(scores)
  indices, colours = figure2.assign_colours(scores, plans_drawn=100)
  assert len(indices) == 6 and sorted(indices) == list(range(6))
  assert colours.count(figure2.OTHER_COLOUR) == 4
  indices, colours = figure2.assign_colours(scores, plans_drawn=0)
  np.testing.assert_array_equal(indices, [2, 1])
  # Ties: the worst is another plan; one plan: only the best.
  indices, colours = figure2.assign_colours(np.zeros(5), plans_drawn=1)
  assert indices[-1] == 0 and indices[-2] != 0 and len(set(indices)) == 3
  indices, colours = figure2.assign_colours(np.array([2.0]), plans_drawn=5)
  assert list(indices) == [0] and colours == (figure2.BEST_COLOUR,)
  with pytest.raises(ValueError, match='scores'):
    figure2.assign_colours(np.zeros((2, 2)), plans_drawn=1)


def test_score_scale_is_the_score_of_all_ones():
  assert figure2.score_scale(3, 1.0) == 4.0
  assert figure2.score_scale(2, 0.5) == pytest.approx(1.75)


def test_run_episode_records_scores_positions_and_frames(checkpoint):
  planner = figure2.load_planner(
      checkpoint, 'red_stack_blue',
      config_lib.PlannerConfig(num_samples=8, horizon=2))
  env = _Recording(environments.make('red_stack_blue', seed=0,
                                     episode_length=50))
  rendered = []

  def render():
    rendered.append(len(rendered))
    return np.full((4, 6, 3), len(rendered), np.uint8)

  steps = 15
  episode = figure2.run_episode(
      env, planner, key=jax.random.PRNGKey(0), max_steps=steps,
      snapshot_steps=range(steps), render=render, frame_every=2)
  assert episode.length == steps and episode.replanned.all()
  np.testing.assert_allclose(episode.rewards, env.rewards)
  # The planned score at each step is the best of that step's N scores.
  assert sorted(episode.snapshots) == list(range(steps))
  for t, snap in episode.snapshots.items():
    assert snap.scores.shape == (8,) and snap.pinch.shape == (8, 3, 3)
    assert episode.scores[t] == pytest.approx(float(snap.scores.max()))
    # Every plan starts from the actual state s_t (h = 0).
    np.testing.assert_allclose(
        snap.pinch[:, 0], np.broadcast_to(episode.pinch[t], (8, 3)),
        atol=1e-6)
  # Positions are the LAYOUT slices of the observed states s_0..s_T.
  states = np.stack(env.observations)
  assert episode.pinch.shape == (steps + 1, 3)
  np.testing.assert_array_equal(episode.pinch, states[:, L['pinch_pose_pos']])
  for colour in layout.COLOURS:
    np.testing.assert_array_equal(episode.objects[colour],
                                  states[:, L[f'{colour}_pose_pos']])
  records = figure2.records(episode)
  assert [r['step'] for r in records] == list(range(steps))
  np.testing.assert_allclose([r['pinch'] for r in records],
                             states[:-1, L['pinch_pose_pos']], rtol=1e-6)
  np.testing.assert_allclose([r['score'] for r in records], episode.scores)
  # Frames: every 2nd step, and the final state; a key frame per snapshot.
  assert episode.frame_steps == list(range(0, steps, 2)) + [steps]
  assert sorted(episode.key_frames) == list(range(steps))
  assert len(rendered) == steps + 1  # One render per step, and s_T.
  # The jitted planner compiled once for the whole episode.
  assert planner.plan._cache_size() == 1  # pylint: disable=protected-access

  # A skill held for 5 steps: one plan per 5 steps, snapshots say so.
  held = figure2.run_episode(
      env, planner, key=jax.random.PRNGKey(1), max_steps=7,
      snapshot_steps=(0, 6), actions_per_latent=5)
  np.testing.assert_array_equal(held.replanned, [1, 0, 0, 0, 0, 1, 0])
  assert held.snapshots[6].plan_step == 5
  assert held.scores[6] == held.scores[5] == pytest.approx(
      float(held.snapshots[6].scores.max()))
  assert not held.frames and not held.key_frames


@pytest.mark.integration
def test_launcher_writes_figures_video_and_records(checkpoint, tmp_path):
  out = tmp_path / 'figure2'
  result = subprocess.run(
      [sys.executable, '-m', 'jumpy_acme.launchers.figure2',
       f'--checkpoint={checkpoint}', '--task=red_hover_green',
       '--max_steps=12', '--steps=0,5,40', '--num_samples=8', '--horizon=2',
       '--plans_drawn=3', '--frame_size=48,64', f'--output={out}'],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  from PIL import Image
  for name in ('figure2_plans.png', 'figure2_scores.png',
               'figure2_frames.png'):
    with Image.open(out / name) as image:
      assert image.format == 'PNG' and min(image.size) > 100, name
    assert str(out / name) in result.stdout
  with Image.open(out / 'episode.gif') as gif:
    assert gif.n_frames == 7 and gif.size == (64, 48)  # 0, 2, .., 10; 12.
  with open(out / 'episode.json') as f:
    summary = json.load(f)
  assert summary['config']['steps'] == [0, 5]  # 40 >= --max_steps dropped.
  assert summary['config']['planner']['num_samples'] == 8
  assert summary['length'] == 12 and len(summary['steps']) == 12
  assert summary['return'] == pytest.approx(
      sum(r['reward'] for r in summary['steps']))
  plans = np.load(out / 'plans.npz')
  np.testing.assert_array_equal(plans['steps'], [0, 5])
  for snap in summary['snapshots']:
    step = snap['step']
    assert plans[f'pinch_{step}'].shape == (8, 3, 3)
    assert summary['steps'][step]['score'] == pytest.approx(
        float(plans[f'scores_{step}'].max()))
    np.testing.assert_allclose(plans[f'pinch_{step}'][:, 0],
                               np.broadcast_to(
                                   summary['steps'][step]['pinch'], (8, 3)),
                               atol=1e-6)
