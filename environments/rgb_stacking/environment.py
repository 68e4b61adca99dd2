"""RGB-stacking as a dm_env.Environment: 86-D state or the original's dict.

  env = RGBStacking(task='red_stack_blue', seed=0)
  timestep = env.reset()            # observation: float32 [86] (layout.py)
  timestep = env.step(action)       # action: float32 [5], clipped to spec

Observation modes:
  'state' (default): one float32 vector of 86 dims in the documented order.
  'rgb_stacking': the original's state-only observation dict, same keys,
    shapes, dtypes and frame stacking (3 frames newest first, the scalars
    gripper/joints/angle|velocity and gripper/grasp as (3,), and
    action/environment with 2 frames), so policies trained on the original
    run unmodified. The reward is computed on the unstacked state.

Episodes last `episode_length` control steps (400 = 20 s) and end with a
truncation (discount 1). If the simulation diverges (non-finite or runaway
velocities), the episode ends at once with the last good observation,
`env.diverged` is True until the next reset, and a warning is logged.
"""

import collections
from typing import Deque, Dict, Optional

from absl import logging
from dm_control.rl import control
import dm_env
from dm_env import specs
import numpy as np

from jumpy_acme.environments.rgb_stacking import layout as layout_lib
from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.environments.rgb_stacking import scene as scene_lib

OBSERVATION_MODES = ('state', 'rgb_stacking')
STACK_DEPTH = 3
ACTION_STACK_DEPTH = 2
SCALAR_KEYS = ('gripper/joints/angle', 'gripper/joints/velocity',
               'gripper/grasp')
ACTION_KEY = 'action/environment'
ORIGINAL_KEYS = tuple(key for _, key, _ in layout_lib.PARTS) + (
    'wrist/force', 'wrist/torque', ACTION_KEY)
# The original casts floating-point observations to float32 and keeps the
# grasp sensor's uint8 (1 none, 2 inward, 3 outward).
_DTYPES = {'gripper/grasp': np.uint8}
_SIZES = {**{key: size for _, key, size in layout_lib.PARTS},
          'wrist/force': 3, 'wrist/torque': 3, ACTION_KEY: 8}


def state_vector(observation: Dict[str, np.ndarray]) -> np.ndarray:
  """The 86-D state from the original's unstacked observation dict."""
  return np.concatenate([observation[key] for _, key, _ in layout_lib.PARTS]
                        ).astype(np.float32)


class RGBStacking(dm_env.Environment):
  """The paper's environment: Sawyer, Robotiq gripper, three RGB objects."""

  def __init__(self, task: str = 'reach_red', seed: int = 0,
               triplet: str = 'rgb_test_random',
               observation_mode: str = 'state',
               episode_length: int = 400,
               controller: str = 'numpy',
               settle: Optional[scene_lib.SettleOptions] = None):
    """Builds the scene (about 1 s); resets are fast afterwards.

    Args:
      task: the reward (rewards.TASKS; docs/tasks.md).
      seed: seeds the triplet draw and every episode's initial state.
      triplet: 'triplet1'..'triplet5', 'rgb_test_random',
        'rgb_train_random' or 'rgb_heldout_random' (drawn once, here), or
        three object ids (red, green, blue) such as ('r3', 's0', 'b2').
      observation_mode: 'state' or 'rgb_stacking'.
      episode_length: control steps per episode.
      controller: 'numpy' (fast) or 'dm_robotics' (the effector objects).
      settle: how props settle at reset (scene.SettleOptions).
    """
    self._task = rewards.get_task(task)
    if observation_mode not in OBSERVATION_MODES:
      raise ValueError(f'observation_mode: {observation_mode!r} is unknown; '
                       f'valid modes: {list(OBSERVATION_MODES)}.')
    if episode_length < 1:
      raise ValueError(
          f'episode_length: expected >= 1, got {episode_length}.')
    if isinstance(triplet, (tuple, list)):
      if len(triplet) != 3 or not all(isinstance(x, str) for x in triplet):
        raise ValueError('triplet: expected a name or three object ids '
                         f'(red, green, blue), got {triplet!r}.')
    elif triplet not in scene_lib.TRIPLET_NAMES:
      raise ValueError(f'triplet: {triplet!r} is unknown; valid triplets: '
                       f'{list(scene_lib.TRIPLET_NAMES)}.')
    self._rng = np.random.default_rng(seed)
    self.triplet_name = triplet if isinstance(triplet, str) else 'ids'
    objects = (tuple(triplet) if not isinstance(triplet, str) else
               scene_lib.resolve_triplet(triplet, self._rng))
    self.scene = scene_lib.Scene(objects, controller=controller,
                                 settle=settle)
    self._reward_fn = rewards.numpy_reward(task)
    self._mode = observation_mode
    self._episode_length = episode_length
    self._steps = 0
    self._reset_next_step = True
    self._observation = None
    self._state: Optional[np.ndarray] = None
    self._stacks: Dict[str, Deque[np.ndarray]] = {}
    self.diverged = False
    self.last_reset_info: Dict[str, float] = {}
    self.layout = layout_lib.LAYOUT
    self._renderer = None
    self._renderer_key = None

  @property
  def task(self) -> rewards.Task:
    return self._task

  @property
  def physics(self):
    return self.scene.physics

  def reseed(self, seed: int) -> None:
    """Restarts the initial-state draws: the next reset() is seed's first
    (the objects, drawn at construction, stay)."""
    self._rng = np.random.default_rng(seed)

  # dm_env interface.

  def reset(self) -> dm_env.TimeStep:
    self.last_reset_info = self.scene.reset(self._rng)
    self._steps = 0
    self._reset_next_step = False
    self.diverged = False
    raw = self.scene.observe()
    self._state = state_vector(raw)
    self._observation = self._make_observation(raw, first=True)
    return dm_env.restart(self._observation)

  def step(self, action) -> dm_env.TimeStep:
    action = self._check_action(action)
    if self._reset_next_step:
      return self.reset()
    self._steps += 1
    try:
      self.scene.step(action)
      diverged = not self.scene.is_finite()
    except control.PhysicsError:  # MuJoCo flagged an unstable state.
      diverged = True
    if diverged:
      self.diverged = True
      self._reset_next_step = True
      logging.warning('RGBStacking: the simulation diverged at step %d; the '
                      'episode ends with the last good observation.',
                      self._steps)
      return dm_env.truncation(np.float32(0.0), self._observation)
    raw = self.scene.observe()
    self._state = state_vector(raw)
    self._observation = self._make_observation(raw, first=False)
    reward = np.float32(self._reward_fn(self._state))
    if self._steps >= self._episode_length:
      self._reset_next_step = True
      return dm_env.truncation(reward, self._observation)
    return dm_env.transition(reward, self._observation)

  @property
  def state(self) -> np.ndarray:
    """The current 86-D state (also in 'rgb_stacking' mode)."""
    if self._state is None:
      raise RuntimeError('state: call reset() first.')
    return self._state

  def _check_action(self, action) -> np.ndarray:
    try:
      array = np.asarray(action, dtype=np.float32)
    except (TypeError, ValueError) as e:
      raise ValueError(f'action: expected 5 numbers, got {action!r}.') from e
    if array.shape != (5,):
      raise ValueError(f'action: expected shape (5,) [vx, vy, vz, wz, grip],'
                       f' got shape {array.shape}.')
    if not np.all(np.isfinite(array)):
      raise ValueError(f'action: expected finite values, got {array}.')
    return array  # Clipped to the spec in scene.apply_action.

  def _make_observation(self, raw: Dict[str, np.ndarray], first: bool):
    if self._mode == 'state':
      return self._state
    out = {}
    for key in ORIGINAL_KEYS:
      depth = ACTION_STACK_DEPTH if key == ACTION_KEY else STACK_DEPTH
      if first or key not in self._stacks:
        self._stacks[key] = collections.deque([raw[key]] * depth,
                                              maxlen=depth)
      else:
        self._stacks[key].appendleft(raw[key])
      stacked = np.array(self._stacks[key], _DTYPES.get(key, np.float32))
      out[key] = stacked[:, 0] if key in SCALAR_KEYS else stacked
    return out

  def observation_spec(self):
    if self._mode == 'state':
      return specs.Array((layout_lib.STATE_SIZE,), np.float32, 'state')
    out = {}
    for key in ORIGINAL_KEYS:
      if key in SCALAR_KEYS:
        shape = (STACK_DEPTH,)
      elif key == ACTION_KEY:
        shape = (ACTION_STACK_DEPTH, _SIZES[key])
      else:
        shape = (STACK_DEPTH, _SIZES[key])
      out[key] = specs.Array(shape, _DTYPES.get(key, np.float32), key)
    return out

  def action_spec(self):
    return specs.BoundedArray((5,), np.float32, scene_lib.ACTION_MIN,
                              scene_lib.ACTION_MAX, 'action')

  def reward_spec(self):
    return specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')

  # Pictures.

  def render(self, height: int = 240, width: int = 320,
             camera: str = 'main_camera') -> np.ndarray:
    """An RGB frame [height, width, 3] uint8 (see video.py for the GL needs).
    """
    from jumpy_acme.environments.rgb_stacking import video  # pylint: disable=g-import-not-at-top
    key = (height, width, camera)
    if self._renderer_key != key:
      if self._renderer is not None:
        self._renderer.close()
      self._renderer = video.FrameRenderer(self.physics, height, width, camera)
      self._renderer_key = key
    return self._renderer.render()
