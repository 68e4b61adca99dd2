"""Task rewards as pure functions of the 86-D state, for numpy and JAX.

Every reward is written once against an array module `xp` (numpy or
jax.numpy), unbatched (state [86] -> scalar in [0, 1]) and free of Python
branching on values, so the same code scores the simulator's states (numpy)
and the planner's predicted states (jax.jit / jax.vmap).

The building blocks follow the original rgb_stacking rewards
(../shared/spec/rgb_stacking.md, "Reward building blocks"); docs/tasks.md has
one row per task with its formula, constants and success threshold.

One deliberate difference for predicted states: "inward grasp" is
|grasp - 2| < 0.5 instead of grasp == 2. On real states (grasp is exactly
1, 2 or 3) the two agree; on a decoder's continuous prediction the rounded
test still means something.
"""

import dataclasses
import functools
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from jumpy_acme.environments.rgb_stacking import constants
from jumpy_acme.environments.rgb_stacking import layout as layout_lib

L = layout_lib.LAYOUT

# Scene constants (metres), the simulator's own.
BASKET_HEIGHT = constants.BASKET_HEIGHT
WORKSPACE_CENTER = constants.WORKSPACE_CENTER
WORKSPACE_SIZE = constants.WORKSPACE_SIZE
OBJECT_HEIGHT = 0.04  # Height of an rgb30 object; stacking offset.

# Original shaping constants.
REACH_TOLERANCE = 0.02
REACH_MARGIN = 0.15
LIFT_Z_MIN = BASKET_HEIGHT + 0.055        # 0.1048
LIFT_Z_MAX = BASKET_HEIGHT + 0.1          # 0.1498
PLACE_TOLERANCE = 0.01
PLACE_MARGIN = 0.2
PLACE_Z_MIN = 0.1
STACK_HORIZONTAL_TOLERANCE = 0.03
STACK_VERTICAL_TOLERANCE = 0.01
ABOVE_OFFSET = 0.1
ABOVE_TOLERANCE = (1.0, 1.0, 0.03)
ABOVE_MARGIN = 0.05
STAGE_THRESHOLD = 0.01
INWARD_GRASP = 2.0
FINGER_CLOSED = 255.0

# Constants the paper leaves open: our choices (docs/tasks.md).
HOVER_HEIGHT = 0.1                      # Object centre above the other's.
BRING_TARGET = (0.6, 0.0, 0.2)          # Above the basket centre.
BRING_TOLERANCE = 0.02
BRING_MARGIN = 0.2

_MIN_TOLERANCE = 1e-9


def tanh_squared(error_norm, margin: float, xp=np, loss_at_margin=0.95):
  """tanh(w |x|)^2 with w chosen so that the loss at `margin` is 0.95."""
  w = np.arctanh(np.sqrt(loss_at_margin)) / margin
  return xp.tanh(w * error_norm) ** 2


def distance_reward(a, b, offset=(0.0, 0.0, 0.0), tolerance=None,
                    margin: Optional[float] = None, z_min=None, xp=np):
  """1 inside the tolerance ellipsoid around b - a + offset, shaped outside.

  Args:
    a: position of A ([3], or [1] for a scalar quantity).
    b: position of B (same shape), or None: the distance is offset - a.
    offset: added to b - a.
    tolerance: per-axis tolerance; None means (practically) zero.
    margin: distance at which the shaped reward is 0.05; None: sparse.
    z_min: if given, 0 whenever a's height (a[2]) is below it.
    xp: numpy or jax.numpy.
  """
  diff = xp.asarray(offset) - a
  if b is not None:
    diff = diff + b
  tol = (np.full(diff.shape, _MIN_TOLERANCE) if tolerance is None else
         np.maximum(np.asarray(tolerance, np.float64), _MIN_TOLERANCE))
  inside = xp.linalg.norm(diff / tol) <= 1.0
  if margin:
    shaped = 1.0 - tanh_squared(xp.linalg.norm(diff), margin, xp)
  else:
    shaped = xp.zeros(())
  reward = xp.where(inside, 1.0, shaped)
  if z_min is not None:
    reward = xp.where(a[2] < z_min, 0.0, reward)
  return reward


def is_inward_grasp(state, xp=np):
  return xp.abs(state[L['grasp']][0] - INWARD_GRASP) < 0.5


def reach(state, colour: str, xp=np):
  """Pinch to object: 1 within 2 cm (per axis ellipsoid), margin 0.15 m."""
  return distance_reward(state[L['pinch_pose_pos']],
                         state[L[f'{colour}_pose_pos']],
                         tolerance=(REACH_TOLERANCE,) * 3,
                         margin=REACH_MARGIN, xp=xp)


def close_fingers(state, xp=np):
  """Fingers towards fully closed (255), margin 255."""
  return distance_reward(state[L['gripper_angle']], None,
                         offset=(FINGER_CLOSED,), margin=FINGER_CLOSED, xp=xp)


def open_fingers(state, xp=np):
  """Fingers towards fully open (0), margin 255."""
  return distance_reward(state[L['gripper_angle']], None, offset=(0.0,),
                         margin=FINGER_CLOSED, xp=xp)


def grasp(state, xp=np):
  """max(0.5 * close_fingers, 1.0 * [inward grasp])."""
  return xp.maximum(0.5 * close_fingers(state, xp),
                    xp.where(is_inward_grasp(state, xp), 1.0, 0.0))


def inside_workspace(state, colour: str, xp=np):
  """1 if the object is inside the workspace ellipsoid (as the original)."""
  return distance_reward(state[L[f'{colour}_pose_pos']], None,
                         offset=WORKSPACE_CENTER,
                         tolerance=tuple(s / 2 for s in WORKSPACE_SIZE),
                         margin=1e-12, xp=xp)


def lift_height(state, colour: str, xp=np):
  """Linear from 0 at z = 0.1048 to 1 at z = 0.1498."""
  z = state[L[f'{colour}_pose_pos']][2]
  return xp.clip((z - LIFT_Z_MIN) / (LIFT_Z_MAX - LIFT_Z_MIN), 0.0, 1.0)


def lift(state, colour: str, xp=np):
  """grasp * lift height * inside workspace."""
  return (grasp(state, xp) * lift_height(state, colour, xp) *
          inside_workspace(state, colour, xp))


def place(state, top: str, bottom: str, height: float = OBJECT_HEIGHT,
          xp=np):
  """Top object to bottom + (0, 0, height): tolerance 1 cm, margin 0.2 m,
  top above z 0.1. height 0.04 (default): resting on it, the original's
  place stage."""
  return distance_reward(state[L[f'{top}_pose_pos']],
                         state[L[f'{bottom}_pose_pos']],
                         offset=(0.0, 0.0, height),
                         tolerance=(PLACE_TOLERANCE,) * 3,
                         margin=PLACE_MARGIN, z_min=PLACE_Z_MIN, xp=xp)


def hover(state, top: str, bottom: str, xp=np):
  """place() at HOVER_HEIGHT above the bottom object."""
  return place(state, top, bottom, height=HOVER_HEIGHT, xp=xp)


def stack(state, top: str, bottom: str, xp=np):
  """Sparse: top centred 0.04 +- 0.01 above bottom, within 3 cm, released."""
  top_pos = state[L[f'{top}_pose_pos']]
  bottom_pos = state[L[f'{bottom}_pose_pos']]
  horizontal = xp.linalg.norm(top_pos[:2] - bottom_pos[:2])
  vertical = top_pos[2] - bottom_pos[2]
  ok = ((horizontal <= STACK_HORIZONTAL_TOLERANCE) &
        (xp.abs(vertical - OBJECT_HEIGHT) <= STACK_VERTICAL_TOLERANCE) &
        ~is_inward_grasp(state, xp))
  return xp.where(ok, 1.0, 0.0)


def above(state, colour: str, xp=np):
  """Pinch 0.1 m above the object (anywhere horizontally), margin 0.05."""
  return distance_reward(state[L['pinch_pose_pos']],
                         state[L[f'{colour}_pose_pos']],
                         offset=(0.0, 0.0, ABOVE_OFFSET),
                         tolerance=ABOVE_TOLERANCE, margin=ABOVE_MARGIN, xp=xp)


def staged(terms, threshold: float = STAGE_THRESHOLD, xp=np):
  """The original's Staged: the last stage above threshold, plus its index.

  (j + r_j) / N for the highest j with r_j > threshold, else r_0 / N.
  """
  values = xp.clip(xp.stack(terms), 0.0, 1.0)
  n = len(terms)
  above_threshold = values > threshold
  last = (n - 1) - xp.argmax(above_threshold[::-1])
  return xp.where(xp.any(above_threshold), (last + values[last]) / n,
                  values[0] / n)


def staged_success(num_stages: int, last_stage: float = 0.9) -> float:
  """The staged value at which the last stage's own reward is `last_stage`.

  staged(...) >= (n - 1 + x) / n exactly when the last of n stages is active
  with reward >= x, so success on a staged task means the same as success
  on its last stage alone.
  """
  return (num_stages - 1 + last_stage) / num_stages


def reach_grasp(state, colour: str, xp=np):
  """The original's first stacking stage: reach, then grasp once there.

  reach / 2 while reach <= 0.9; (0.5 + grasp / 2) * reach beyond, so a grasp
  at the object doubles the stage's value.
  """
  reach_value = reach(state, colour, xp)
  return xp.where(reach_value > 0.9,
                  (0.5 + grasp(state, xp) / 2.0) * reach_value,
                  0.5 * reach_value)


def stack_staged(state, top: str, bottom: str, xp=np):
  """The original's shaped stacking reward, with any bottom object."""
  stacked = stack(state, top, bottom, xp)
  return staged([reach_grasp(state, top, xp),
                 lift(state, top, xp),
                 place(state, top, bottom, xp=xp),
                 stacked,
                 stacked * above(state, top, xp)], xp=xp)


def lift_staged(state, colour: str, xp=np):
  """staged[reach_grasp(o), lift(o)]: credit for reaching and grasping first.
  """
  return staged([reach_grasp(state, colour, xp), lift(state, colour, xp)],
                xp=xp)


def hover_staged(state, top: str, bottom: str, xp=np):
  """staged[reach_grasp(top), lift(top), hover(top over bottom)]."""
  return staged([reach_grasp(state, top, xp), lift(state, top, xp),
                 hover(state, top, bottom, xp)], xp=xp)


def bring(state, colour: str, z_min: Optional[float] = None, xp=np):
  """Object to BRING_TARGET: tolerance 2 cm, margin 0.2 m; 0 below z_min."""
  return distance_reward(state[L[f'{colour}_pose_pos']], None,
                         offset=BRING_TARGET,
                         tolerance=(BRING_TOLERANCE,) * 3,
                         margin=BRING_MARGIN, z_min=z_min, xp=xp)


def bring_staged(state, colour: str, xp=np):
  """staged[reach_grasp(o), lift(o), bring(o) with o above z 0.1]."""
  return staged([reach_grasp(state, colour, xp), lift(state, colour, xp),
                 bring(state, colour, z_min=PLACE_Z_MIN, xp=xp)], xp=xp)


_AXES = {'x': 0, 'y': 1, 'z': 2}


def move_pinch(state, axis: str, direction: str, xp=np):
  """Where the pinch is along `axis` in the workspace box, 0 -> 1 towards
  the `direction` ('inc' or 'dec') end."""
  i = _AXES[axis]
  low = WORKSPACE_CENTER[i] - WORKSPACE_SIZE[i] / 2
  fraction = (state[L['pinch_pose_pos']][i] - low) / WORKSPACE_SIZE[i]
  fraction = xp.clip(fraction, 0.0, 1.0)
  return fraction if direction == 'inc' else 1.0 - fraction


@dataclasses.dataclass(frozen=True)
class Task:
  """A reward on the 86-D state and the per-step value that means success."""
  name: str
  fn: Callable  # (state [86], xp) -> scalar in [0, 1].
  success_threshold: float
  formula: str
  evaluation: bool  # One of the paper's nine evaluation tasks.
  base_behaviour: bool  # One of the eleven base behaviours (Table 2).


def _make_tasks() -> Dict[str, Task]:
  tasks = {}

  def add(name, fn, threshold, formula, evaluation=False, base=False):
    tasks[name] = Task(name, fn, threshold, formula, evaluation, base)

  # The evaluation tasks beyond reach are staged like the original's
  # stacking reward (docs/tasks.md says why); their unstaged forms stay
  # available as '<name>_unstaged'.
  for colour in ('red', 'green'):
    add(f'reach_{colour}', functools.partial(reach, colour=colour), 0.9,
        f'reach({colour})', evaluation=True, base=colour == 'red')
    add(f'lift_{colour}', functools.partial(lift_staged, colour=colour),
        staged_success(2), f'staged[reach_grasp({colour}), lift({colour})]',
        evaluation=True, base=colour == 'red')
    add(f'lift_{colour}_unstaged', functools.partial(lift, colour=colour),
        0.9, f'grasp * lift({colour}) * inside({colour})')
  for bottom in ('blue', 'green'):
    add(f'red_hover_{bottom}',
        functools.partial(hover_staged, top='red', bottom=bottom),
        staged_success(3),
        f'staged[reach_grasp(red), lift(red), hover(red over {bottom}, '
        f'{HOVER_HEIGHT} m)]', evaluation=True, base=bottom == 'blue')
    add(f'red_hover_{bottom}_unstaged',
        functools.partial(hover, top='red', bottom=bottom), 0.9,
        f'hover(red over {bottom}, {HOVER_HEIGHT} m)')
    add(f'red_stack_{bottom}',
        functools.partial(stack_staged, top='red', bottom=bottom), 0.8,
        f'staged[reach_grasp, lift, place, stack, stack_leave](red on '
        f'{bottom})', evaluation=True)
  add('bring_red', functools.partial(bring_staged, colour='red'),
      staged_success(3),
      f'staged[reach_grasp(red), lift(red), distance(red, {BRING_TARGET}) '
      f'with red above z {PLACE_Z_MIN}]', evaluation=True)
  add('bring_red_unstaged', functools.partial(bring, colour='red'), 0.9,
      f'distance(red, {BRING_TARGET})')
  add('open_fingers', open_fingers, 0.9, '1 - tanh2(angle, 255)', base=True)
  add('close_fingers', close_fingers, 0.9, '1 - tanh2(255 - angle, 255)',
      base=True)
  for axis in 'xyz':
    for direction in ('inc', 'dec'):
      add(f'move_pinch_{axis}_{direction}',
          functools.partial(move_pinch, axis=axis, direction=direction), 0.9,
          f'pinch {axis} fraction of the workspace'
          f'{" (1 - it)" if direction == "dec" else ""}', base=True)
  return tasks


TASKS: Dict[str, Task] = _make_tasks()
EVALUATION_TASKS: Tuple[str, ...] = (
    'reach_red', 'lift_red', 'red_hover_blue', 'red_stack_blue',
    'red_hover_green', 'red_stack_green', 'bring_red', 'reach_green',
    'lift_green')  # The order of the paper's Table 3.
BASE_BEHAVIOURS: Tuple[str, ...] = (
    'open_fingers', 'close_fingers', 'reach_red', 'lift_red',
    'red_hover_blue', 'move_pinch_x_inc', 'move_pinch_y_inc',
    'move_pinch_z_inc', 'move_pinch_x_dec', 'move_pinch_y_dec',
    'move_pinch_z_dec')  # The order of the paper's Table 2.
UNSTAGED_TASKS: Tuple[str, ...] = (
    'lift_red_unstaged', 'lift_green_unstaged', 'red_hover_blue_unstaged',
    'red_hover_green_unstaged', 'bring_red_unstaged')


def get_task(name: str) -> Task:
  if name not in TASKS:
    raise ValueError(f'task: {name!r} is unknown; valid tasks: '
                     f'{sorted(TASKS)}.')
  return TASKS[name]


def task_object(name: str) -> str:
  """The object a task's reward is about, for per-object diagnostics:
  'green' for reach_green and lift_green, 'red' for every other task."""
  return 'green' if name in ('reach_green', 'lift_green') else 'red'


def numpy_reward(name: str) -> Callable[[np.ndarray], float]:
  """state [86] -> float, computed in float64 numpy."""
  task = get_task(name)
  def reward(state):
    state = np.asarray(state, np.float64)
    if state.shape != (layout_lib.STATE_SIZE,):
      raise ValueError(f'state: expected shape ({layout_lib.STATE_SIZE},), '
                       f'got {state.shape}.')
    return float(task.fn(state, xp=np))
  return reward


def jax_reward(name: str) -> Callable:
  """A pure JAX function state [86] -> scalar; jit and vmap it freely."""
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  task = get_task(name)
  def reward(state):
    if state.shape[-1:] != (layout_lib.STATE_SIZE,) or state.ndim != 1:
      raise ValueError(f'state: expected shape ({layout_lib.STATE_SIZE},) '
                       f'(vmap for batches), got {state.shape}.')
    return task.fn(state, xp=jnp)
  return reward


def all_task_names() -> Tuple[str, ...]:
  return tuple(sorted(TASKS))
