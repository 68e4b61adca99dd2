"""Rare moments in snippets of RGB-stacking data, for dataset manifests.

Planning over skills can only find a grasp, a lift or a hover that the
phase-1 data holds (the paper, on lift_green). These flags count how often
the data holds them. Each function takes snippets' observations
[n, K+1, 86] and returns a bool per snippet [n].
"""

from typing import Callable, Dict

import numpy as np

from jumpy_acme.environments.rgb_stacking import layout as layout_lib
from jumpy_acme.environments.rgb_stacking import rewards

L = layout_lib.LAYOUT
# The pinch counts as at an object when within this of its centre (the
# fingers then straddle it); phase1_diagnostics' NEAR_OBJECT is this one.
PINCH_AT_OBJECT = 0.02
# Red counts as above another object when its centre is within the stack's
# horizontal tolerance of that object's and at least this much higher.
ABOVE_MIN_HEIGHT = rewards.OBJECT_HEIGHT - rewards.STACK_VERTICAL_TOLERANCE


def _inward(observations: np.ndarray) -> np.ndarray:
  """[n, K+1] True where the grasp sensor reports an inward grasp."""
  return np.abs(observations[..., L['grasp']][..., 0] -
                rewards.INWARD_GRASP) < 0.5


def grasp_onset(observations: np.ndarray) -> np.ndarray:
  """An inward grasp begins inside the snippet (none at t, one at t+k)."""
  inward = _inward(observations)
  return (~inward[:, :-1] & inward[:, 1:]).any(axis=1)


def grasp_release(observations: np.ndarray) -> np.ndarray:
  """A snippet that starts with an inward grasp and has one state without
  it: what a skill that opens the fingers (or drops the object) does to a
  held object. The paper's base behaviours almost never let go mid-carry
  (docs/data.md); collect.py --release_rate adds such moments."""
  inward = _inward(observations)
  return inward[:, 0] & ~inward[:, 1:].all(axis=1)


def object_lifted(observations: np.ndarray) -> np.ndarray:
  """Some state holds an inward grasp with an object above the lift start
  (z > 0.1048, where the lift reward begins)."""
  heights = np.stack([observations[..., L[f'{c}_pose_pos']][..., 2]
                      for c in layout_lib.COLOURS], axis=-1)
  raised = (heights > rewards.LIFT_Z_MIN).any(axis=-1)
  return (raised & _inward(observations)).any(axis=1)


def red_above_other(observations: np.ndarray) -> np.ndarray:
  """Some state has red's centre within 3 cm horizontally of green's or
  blue's and at least 3 cm higher (hovering or stacked)."""
  red = observations[..., L['red_pose_pos']]
  above = np.zeros(observations.shape[:2], bool)
  for colour in ('green', 'blue'):
    other = observations[..., L[f'{colour}_pose_pos']]
    horizontal = np.linalg.norm(red[..., :2] - other[..., :2], axis=-1)
    above |= ((horizontal <= rewards.STACK_HORIZONTAL_TOLERANCE) &
              (red[..., 2] - other[..., 2] >= ABOVE_MIN_HEIGHT))
  return above.any(axis=1)


def pinch_at(colour: str) -> Callable[[np.ndarray], np.ndarray]:
  """Some state has the pinch within 2 cm of `colour`'s centre. Planning
  only knows what touching an object does from snippets like these: in a
  dataset of the red-first base behaviours, green and blue have almost
  none (docs/data.md)."""
  def flag(observations: np.ndarray) -> np.ndarray:
    pinch = observations[..., L['pinch_pose_pos']]
    centre = observations[..., L[f'{colour}_pose_pos']]
    return (np.linalg.norm(pinch - centre, axis=-1) <=
            PINCH_AT_OBJECT).any(axis=1)
  return flag


EVENTS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    'grasp_onset': grasp_onset,
    'grasp_release': grasp_release,
    'object_lifted': object_lifted,
    'red_above_other': red_above_other,
    **{f'pinch_at_{colour}': pinch_at(colour)
       for colour in layout_lib.COLOURS},
}


def snippet_events(observations: np.ndarray) -> Dict[str, np.ndarray]:
  """{event: bool [n]} for snippets' observations [n, K+1, 86]."""
  observations = np.asarray(observations)
  if observations.ndim != 3 or observations.shape[-1] != layout_lib.STATE_SIZE:
    raise ValueError('observations: expected [n, K+1, '
                     f'{layout_lib.STATE_SIZE}], got {observations.shape}.')
  return {name: fn(observations) for name, fn in EVENTS.items()}
