"""Rare-moment flags of RGB-stacking snippets, the manifest's event counts,
and weighted behaviour schedules."""

import json
import os

import numpy as np
import pytest

from jumpy_acme import dataset_files
from jumpy_acme.agents import scripted
from jumpy_acme.agents.scripted import acting
from jumpy_acme.environments.rgb_stacking import events
from jumpy_acme.environments.rgb_stacking import layout

L = layout.LAYOUT
K = 3


def _snippet(red_z=(0.07,) * (K + 1), grasp=(1,) * (K + 1),
             red_xy=(0.6, 0.0), blue=(0.6, 0.0, 0.07)):
  """[K+1, 86]: red at red_xy and heights red_z; green far; blue at blue."""
  obs = np.zeros((K + 1, 86), np.float32)
  obs[:, L['red_pose_pos']] = [[*red_xy, z] for z in red_z]
  obs[:, L['green_pose_pos']] = (0.5, 0.1, 0.07)
  obs[:, L['blue_pose_pos']] = blue
  obs[:, L['grasp']] = np.asarray(grasp, np.float32)[:, None]
  return obs


def test_events_on_hand_built_snippets():
  far_blue = (0.7, -0.1, 0.07)
  snippets = np.stack([
      # 0: nothing happens.
      _snippet(blue=far_blue),
      # 1: a grasp starts at t+2, red still on the floor.
      _snippet(grasp=(1, 1, 2, 2), blue=far_blue),
      # 2: already grasping (no onset), red raised above 0.1048.
      _snippet(red_z=(0.09, 0.10, 0.11, 0.12), grasp=(2,) * 4,
               blue=far_blue),
      # 3: red raised but not grasped (resting on something): not lifted.
      _snippet(red_z=(0.12,) * 4, blue=far_blue),
      # 4: red 4 cm above blue, 2 cm off horizontally: above another.
      _snippet(red_z=(0.11,) * 4, red_xy=(0.62, 0.0)),
      # 5: red 4 cm above blue but 5 cm off horizontally: not above.
      _snippet(red_z=(0.11,) * 4, red_xy=(0.65, 0.0)),
      # 6: held at t, let go at t+2: a release.
      _snippet(grasp=(2, 2, 1, 1), blue=far_blue),
      # 7: the grasp starts only at t+1: an onset, not a release.
      _snippet(grasp=(1, 2, 2, 1), blue=far_blue),
  ])
  flags = events.snippet_events(snippets)
  np.testing.assert_array_equal(flags['grasp_onset'],
                                [0, 1, 0, 0, 0, 0, 0, 1])
  np.testing.assert_array_equal(flags['grasp_release'],
                                [0, 0, 0, 0, 0, 0, 1, 0])
  np.testing.assert_array_equal(flags['object_lifted'],
                                [0, 0, 1, 0, 0, 0, 0, 0])
  np.testing.assert_array_equal(flags['red_above_other'],
                                [0, 0, 0, 0, 1, 0, 0, 0])
  # The pinch (at the origin here) is far from every object.
  assert not any(flags[f'pinch_at_{c}'].any() for c in ('red', 'green',
                                                         'blue'))
  with pytest.raises(ValueError, match=r'observations: expected \[n, K\+1, '
                     r'86\], got \(4, 86\)'):
    events.snippet_events(snippets[0])


def test_pinch_at_an_object_flags_only_that_object():
  near_green = _snippet()
  # The pinch 1.5 cm from green's centre (0.5, 0.1, 0.07) at t+1 only.
  near_green[1, L['pinch_pose_pos']] = (0.5, 0.1, 0.085)
  # Red at 2.5 cm at every step: outside the 2 cm.
  near_green[:, L['red_pose_pos']] = (0.5, 0.1, 0.07 + 0.04)
  flags = events.snippet_events(near_green[None])
  assert flags['pinch_at_green'].tolist() == [True]
  assert flags['pinch_at_red'].tolist() == [False]
  assert flags['pinch_at_blue'].tolist() == [False]


def test_manifest_counts_events(tmp_path):
  writer = dataset_files.SnippetWriter(str(tmp_path / 'ds'), K,
                                       events=events.snippet_events)
  observations = np.stack([_snippet(), _snippet(grasp=(1, 2, 2, 2)),
                           _snippet(grasp=(1, 1, 1, 2))])
  extras = {'step': np.zeros((3, K), np.int32)}
  writer.write(observations[:2], np.zeros((2, K, 5), np.float32),
               {k: v[:2] for k, v in extras.items()})
  writer.write(observations[2:], np.zeros((1, K, 5), np.float32),
               {k: v[2:] for k, v in extras.items()})
  path = writer.close()
  with open(path) as f:
    manifest = json.load(f)
  assert manifest['events']['grasp_onset'] == {'count': 2,
                                               'fraction': 2 / 3}
  assert manifest['events']['object_lifted']['count'] == 0
  # Without a flagging function the manifest has no counts.
  plain = dataset_files.SnippetWriter(str(tmp_path / 'plain'), K)
  plain.write(observations, np.zeros((3, K, 5), np.float32), extras)
  with open(plain.close()) as f:
    assert json.load(f)['events'] == {}
  assert os.path.exists(tmp_path / 'plain' / 'shard-00000.npz')


class _Step:
  """A stand-in first timestep (the actor only passes it to its adder)."""


def _schedules(actor, episodes):
  out = []
  for _ in range(episodes):
    actor.observe_first(_Step())
    out.append(actor._schedule)  # pylint: disable=protected-access
  return out


def test_behaviour_weights_shape_the_schedule():
  names = ('open_fingers', 'close_fingers', 'lift_red')
  actor = acting.BehaviourScheduleActor(
      scripted.ScriptedConfig(behaviours_per_episode=1), seed=0,
      behaviours=names,
      behaviour_weights={'open_fingers': 0.0, 'lift_red': 3.0})
  drawn = [b for s in _schedules(actor, 800) for b in s]
  assert 'open_fingers' not in drawn
  # lift_red weighs 3 against close_fingers' 1: 75 % of 800 draws.
  share = drawn.count('lift_red') / len(drawn)
  assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / len(drawn))
  # No weights: the uniform draw, the same schedules as before weights.
  uniform = acting.BehaviourScheduleActor(seed=5, behaviours=names)
  rng = np.random.default_rng(5)
  [rng.integers(2**31) for _ in names]  # The behaviours' seeds come first.
  expected = [tuple(rng.choice(names, size=2, replace=False))
              for _ in range(20)]
  assert _schedules(uniform, 20) == expected
  with pytest.raises(ValueError, match=r"behaviour_weights: \['reach_red'\] "
                     'given; expected names among'):
    acting.BehaviourScheduleActor(behaviours=names,
                                  behaviour_weights={'reach_red': 1.0})
  with pytest.raises(ValueError, match='expected weights >= 0 with a '
                     'positive sum'):
    acting.BehaviourScheduleActor(behaviours=names[:1],
                                  behaviour_weights={'open_fingers': 0.0})


def test_load_orders_items_by_episode_and_step(tmp_path):
  """Items written in the order actors finished come back by (episode,
  step), so the same episodes give the same dataset."""
  rows = [(1, 0), (0, 1), (1, 1), (0, 0), (2, 0)]  # Arrival order.
  observations = np.stack([np.full((K + 1, 86), 10 * e + t, np.float32)
                           for e, t in rows])
  extras = {'episode': np.array([[e] * K for e, _ in rows], np.int32),
            'step': np.array([[t + i for i in range(K)] for _, t in rows],
                             np.int32)}
  writer = dataset_files.SnippetWriter(str(tmp_path / 'ds'), K)
  writer.write(observations, np.zeros((5, K, 5), np.float32), extras)
  writer.close()
  dataset = dataset_files.load(str(tmp_path / 'ds'))
  np.testing.assert_array_equal(dataset.observations[:, 0, 0],
                                [0, 1, 10, 11, 20])
  np.testing.assert_array_equal(dataset.extras['episode'][:, 0],
                                [0, 0, 1, 1, 2])
  np.testing.assert_array_equal(dataset.extras['step'][:, 0],
                                [0, 1, 0, 1, 0])
