"""The eleven base behaviours of the paper's Table 2, as scripted controllers.

Each behaviour maps the 86-D state to a 5-D action [vx, vy, vz, wz, grip]
and may keep a phase between steps (NOT pure: plain numpy, one environment
at a time; they feed data collection, not a jitted path). The paper's base
policies were DMPO-trained on shaped rewards: `make_behaviour(name, policy=)`
puts such a learned policy (agents/dmpo/saved_policy.py) in place of the
scripted controller, with the same noise; the scripted ones are the default.
"""

from typing import Callable, Dict, Optional

import numpy as np

from jumpy_acme.agents.scripted import config as config_lib
from jumpy_acme.environments.rgb_stacking import layout

L = layout.LAYOUT
OPEN, CLOSE = -255.0, 255.0
MAX_SPEED = 0.07


class Behaviour:
  """A scripted controller: reset() at a segment's start, then act(state)."""

  def __init__(self, config: config_lib.ScriptedConfig,
               rng: np.random.Generator):
    self.config = config
    self._rng = rng

  def reset(self) -> None:
    """Starts a new segment."""

  def act(self, state: np.ndarray) -> np.ndarray:
    raise NotImplementedError

  def __call__(self, state: np.ndarray) -> np.ndarray:
    action = np.asarray(self.act(np.asarray(state)), np.float64)
    noise = self._rng.normal(size=4) * np.r_[[self.config.linear_noise] * 3,
                                             self.config.rotation_noise]
    action[:4] += noise
    action[:3] = np.clip(action[:3], -MAX_SPEED, MAX_SPEED)
    action[3] = np.clip(action[3], -1.0, 1.0)
    return action.astype(np.float32)

  def _towards(self, state, target, grip) -> np.ndarray:
    pinch = state[L['pinch_pose_pos']]
    velocity = self.config.position_gain * (np.asarray(target) - pinch)
    return np.r_[np.clip(velocity, -MAX_SPEED, MAX_SPEED), 0.0, grip]


class Fingers(Behaviour):
  """open_fingers / close_fingers: hold the arm, command the gripper."""

  def __init__(self, config, rng, grip: float):
    super().__init__(config, rng)
    self._grip = grip

  def act(self, state):
    return np.array([0.0, 0.0, 0.0, 0.0, self._grip])


class MovePinch(Behaviour):
  """move_pinch_{x,y,z}_{inc,dec}: full speed along one axis."""

  def __init__(self, config, rng, axis: int, sign: float):
    super().__init__(config, rng)
    self._axis, self._sign = axis, sign

  def act(self, state):
    action = np.zeros(5)
    action[self._axis] = self._sign * MAX_SPEED
    holding = state[L['grasp']][0] == 2  # Keep holding what is held.
    action[4] = CLOSE if holding else OPEN
    return action


class PolicyBehaviour(Behaviour):
  """A learned policy (state [86] -> action [5]) in place of a controller."""

  def __init__(self, config, rng, policy: Callable[[np.ndarray], np.ndarray]):
    super().__init__(config, rng)
    self._policy = policy

  def act(self, state):
    return np.asarray(self._policy(state), np.float64)


def _approach_target(config, pinch, obj):
  """Above the object until aligned horizontally, then down onto it."""
  aligned = np.abs(obj[:2] - pinch[:2]).max() < config.align_tolerance
  return obj + [0.0, 0.0, 0.0 if aligned else config.approach_height]


class Reach(Behaviour):
  """reach_red: over the object, then down onto it, fingers open."""

  def __init__(self, config, rng, colour: str = 'red'):
    super().__init__(config, rng)
    self._colour = colour

  def act(self, state):
    pinch = state[L['pinch_pose_pos']]
    obj = state[L[f'{self._colour}_pose_pos']]
    return self._towards(state, _approach_target(self.config, pinch, obj),
                         OPEN)


class PickAndPlace(Behaviour):
  """lift_red and red_hover_blue: approach, close, lift (and carry).

  Phases: approach (fingers open; over the object, then down) -> close ->
  lift. Lifting goes straight up to `lift_height`; with `over`, the object
  is carried, once clear of the floor, to `hover_height` above the other
  object. A grasp lost while lifting starts it over.
  """

  def __init__(self, config, rng, colour: str = 'red',
               over: Optional[str] = None):
    super().__init__(config, rng)
    self._colour, self._over = colour, over
    self.reset()

  def reset(self):
    self._phase, self._steps = 'approach', 0

  def _go(self, phase):
    self._phase, self._steps = phase, 0

  def act(self, state):
    config = self.config
    self._steps += 1
    pinch = state[L['pinch_pose_pos']]
    obj = state[L[f'{self._colour}_pose_pos']]
    grasped = state[L['grasp']][0] == 2
    if self._phase == 'lift' and not grasped and self._steps > 5:
      self._go('approach')
    if self._phase == 'approach':
      if (np.abs(obj - pinch).max() < config.descend_tolerance or
          self._steps > config.max_approach_steps):
        self._go('close')
      return self._towards(state, _approach_target(config, pinch, obj), OPEN)
    if self._phase == 'close':
      if self._steps > config.close_steps or (grasped and self._steps > 3):
        self._go('lift')
      return np.r_[0.0, 0.0, 0.0, 0.0, CLOSE]
    if self._over is None:
      return self._towards(state, np.r_[pinch[:2], config.lift_height], CLOSE)
    # Carry the object (not the pinch) to hover_height above the other one,
    # moving sideways only once it is clear of the floor.
    other = state[L[f'{self._over}_pose_pos']]
    goal = other + [0.0, 0.0, config.hover_height]
    if obj[2] < config.carry_clearance:
      goal = np.r_[obj[:2], goal[2]]
    return self._towards(state, pinch + (goal - obj), CLOSE)


BEHAVIOURS = (
    'open_fingers', 'close_fingers', 'reach_red', 'lift_red',
    'red_hover_blue', 'move_pinch_x_inc', 'move_pinch_y_inc',
    'move_pinch_z_inc', 'move_pinch_x_dec', 'move_pinch_y_dec',
    'move_pinch_z_dec')  # Table 2's order; the index is the behaviour id.


def make_behaviour(name: str, config: Optional[config_lib.ScriptedConfig]
                   = None, seed: int = 0,
                   policy: Optional[Callable[[np.ndarray], np.ndarray]]
                   = None) -> Behaviour:
  """A fresh controller for one of BEHAVIOURS.

  Args:
    name: one of BEHAVIOURS.
    config: gains and noise.
    seed: seeds the behaviour's noise.
    policy: if given, state [86] -> action [5] (e.g. a DMPO-trained base
      policy, agents/dmpo/saved_policy.py) acts instead of the scripted
      controller, with the same noise and clipping.
  """
  config = config or config_lib.ScriptedConfig()
  rng = np.random.default_rng(seed)
  makers: Dict[str, Callable[[], Behaviour]] = {
      'open_fingers': lambda: Fingers(config, rng, OPEN),
      'close_fingers': lambda: Fingers(config, rng, CLOSE),
      'reach_red': lambda: Reach(config, rng, 'red'),
      'lift_red': lambda: PickAndPlace(config, rng, 'red'),
      'red_hover_blue': lambda: PickAndPlace(config, rng, 'red', over='blue'),
  }
  for axis_index, axis in enumerate('xyz'):
    for direction, sign in (('inc', 1.0), ('dec', -1.0)):
      makers[f'move_pinch_{axis}_{direction}'] = (
          lambda i=axis_index, s=sign: MovePinch(config, rng, i, s))
  if name not in makers:
    raise ValueError(f'behaviour: {name!r} is unknown; valid behaviours: '
                     f'{list(BEHAVIOURS)}.')
  if policy is not None:
    return PolicyBehaviour(config, rng, policy)
  return makers[name]()
