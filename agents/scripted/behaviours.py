"""Scripted controllers: the paper's Table 2 base behaviours, and ceilings
for its nine evaluation tasks (Table 3) composed from them.

Each controller maps the 86-D state to a 5-D action [vx, vy, vz, wz, grip]
and may keep a phase between steps (NOT pure: plain numpy, one environment
at a time; they feed data collection and benchmarks, not a jitted path).
The paper's base policies were DMPO-trained on shaped rewards:
`make_behaviour(name, policy=)` puts such a learned policy
(agents/dmpo/saved_policy.py) in place of the scripted controller, with the
same noise; the scripted ones are the default.

What the controllers know of the scene (environments/rgb_stacking, and
dm_robotics' rgb_object shapes):
- The Cartesian effector caps the norm of the linear velocity at 0.07 m/s
  (a faster command is rescaled, not clipped per axis), so the fastest
  straight line commands 0.07 m/s along it (`StraightLineReach`, the reach
  bound); the arm reaches about 0.06 m/s of it.
- The fingers close along the pinch frame's y axis; a positive wz turns
  them counter-clockwise seen from above and lowers the wrist joint, which
  the workspace limiter keeps within [-pi/2, pi/2]. They take about 20
  steps to close fully; the grasp sensor also reports an inward grasp when
  they shut on nothing.
- The finger pads reach from the pinch up to 4.5 cm above it, and down to
  1.4 cm below it as they close; the gripper's body starts 5.8 cm above
  it; the pinch stays above z = 0.0698 (the workspace box), 2 cm over the
  basket floor (z = 0.0498), whose walls slope up from |y| = 0.124.
- The RGB objects are prisms with parallel x and z faces (grasp_axes).
"""

from typing import Callable, Dict, Optional

import numpy as np

from jumpy_acme.agents.scripted import config as config_lib
from jumpy_acme.environments.rgb_stacking import layout
from jumpy_acme.environments.rgb_stacking import rewards

L = layout.LAYOUT
OPEN, CLOSE = -255.0, 255.0
MAX_SPEED = 0.07  # m/s, norm of the linear velocity.
OVERDRIVE = 1.4  # Full-speed commands, relative to MAX_SPEED (Behaviour._move).
MAX_ROTATION = 1.0  # rad/s about the vertical.
PRESS_SPEED = 0.01  # m/s: the most a stalled approach pushes down.
INWARD_GRASP, OUTWARD_GRASP = 2, 3  # gripper/grasp; 1: none.
FLOOR_Z = rewards.BASKET_HEIGHT
_LOW = np.asarray(rewards.WORKSPACE_CENTER) - np.asarray(
    rewards.WORKSPACE_SIZE) / 2
_HIGH = np.asarray(rewards.WORKSPACE_CENTER) + np.asarray(
    rewards.WORKSPACE_SIZE) / 2
PINCH_LOW = _LOW + 0.001  # Pinch targets stay inside the workspace box.
PINCH_HIGH = _HIGH - 0.002
GRIPPER_BODY = 0.05  # An object's top stays below pinch z + this (m).
WRIST_LIMIT = np.pi / 2 - 0.35  # Wrist joint angles a turn may end at.
FINGERS_OPEN = 40.0  # Finger angle (0..255) at which they count as open.
FINGERS_SHUT = 245.0  # Closed this far on nothing: a miss.
SLIP_ANGLE = 12.0  # Fingers closing this much further on a held object.
FINGER_REACH = 0.048  # Open finger pads' centres from the pinch (m).
FINGER_CLEARANCE = 0.045  # Pad centre to another object's centre (m).
MAX_GRASP_SHIFT = 0.005  # m (grasp_offset).
# The basket's walls slope up from (x, y) = (0.476, -0.124) .. (0.724, 0.124)
# at the floor: no finger pad outside.
BASKET_INNER = np.array([[0.476, -0.124], [0.724, 0.124]])
THIN_OBJECT = 0.027  # m: lying on its x face, thinner is a stick.
OBSTACLE_RADIUS = 0.065  # A carried object passes others this far apart.
# |cos| of a body axis with the vertical at most this (within 20 degrees
# of horizontal): the faces across it stand upright.
UPRIGHT_AXIS = 0.35
LIFT_RADIUS = 0.09  # A lifted object's centre within this of the
# workspace's vertical axis: inside the lift reward's workspace ellipsoid.


# Geometry on the state.


def _rotation(quaternion) -> np.ndarray:
  """3x3 rotation matrix of a wxyz quaternion (columns: body axes)."""
  w, x, y, z = np.asarray(quaternion, np.float64) / np.linalg.norm(
      quaternion)
  return np.array([
      [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
      [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
      [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _half_turn(angle: float) -> float:
  """An angle modulo pi, in [-pi/2, pi/2)."""
  return (angle + np.pi / 2) % np.pi - np.pi / 2


def _position(state, colour: str) -> np.ndarray:
  return np.asarray(state[L[f'{colour}_pose_pos']], np.float64)


def _pinch(state) -> np.ndarray:
  return np.asarray(state[L['pinch_pose_pos']], np.float64)


def _holding(state) -> bool:
  """An inward grasp on something: the sensor also reports one when the
  fingers shut on nothing (pads touching the other finger)."""
  return (state[L['grasp']][0] == INWARD_GRASP and
          state[L['gripper_angle']][0] < FINGERS_SHUT)


def support_height(state, colour: str) -> float:
  """What the object rests on: the floor, or the top of an object under it
  (whose own top is estimated as resting on the floor)."""
  obj = _position(state, colour)
  support = FLOOR_Z
  for other in layout.COLOURS:
    below = _position(state, other)
    if (other != colour and np.linalg.norm(below[:2] - obj[:2]) < 0.03 and
        below[2] < obj[2] - 0.02):
      support = max(support, 2 * below[2] - FLOOR_Z)
  return support


def object_top(state, colour: str) -> float:
  """The object's top, mirroring its centre about what it rests on."""
  z = _position(state, colour)[2]
  return z + max(z - support_height(state, colour), 0.0)


def grasp_axes(state, colour: str):
  """Two body axes (0 x, 1 y, 2 z) to close the fingers along, preferred
  first.

  dm_robotics' RGB objects are prisms extruded along body z (or x), with
  scale x <= y <= z: their x faces are parallel and closest together,
  their z faces parallel; their y faces slant on the tapered (r3, g3, b3)
  and sheared (r5, g5, b5) ones. So among the body axes that lie within
  20 degrees of horizontal (the faces across them stand upright): x, then
  z, then y; then the other axes, least vertical first. But y, then z for
  what looks like a long stick lying on its x face (_lying_stick: r6 is
  29 x 29 x 150 mm), whose z is too long for the fingers. A z that still
  proves too long shows as fingers blocked on the object, and the
  controllers then try the second axis. Between two upright axes, the
  second one first if only its fingers come down clear of the neighbours
  and the basket's walls. A stick lying on its y face instead of x: x,
  then z.
  """
  rotation = _rotation(state[L[f'{colour}_pose_quat']])
  tilt = np.abs(rotation[2])  # Cosine of each body axis with the vertical.
  if _lying_stick(state, colour):
    # Across the face that is not up, never along z (its length).
    return [1, 2] if tilt[0] >= tilt[1] else [0, 2]
  rank = (0, 2, 1)
  axes = sorted(range(3), key=lambda i: (False, rank[i])
                if tilt[i] <= UPRIGHT_AXIS else (True, tilt[i]))[:2]
  if (tilt[axes[1]] <= UPRIGHT_AXIS and
      _fingers_blocked(state, colour, _axis_yaw(rotation, axes[0])) and
      not _fingers_blocked(state, colour, _axis_yaw(rotation, axes[1]))):
    axes.reverse()
  return axes


def _axis_yaw(rotation, axis: int) -> float:
  return float(np.arctan2(rotation[1, axis], rotation[0, axis]))


def axis_yaw(state, colour: str, axis: int) -> float:
  """The yaw (rad) of one of the object's body axes."""
  return _axis_yaw(_rotation(state[L[f'{colour}_pose_quat']]), axis)


def grasp_yaws(state, colour: str):
  """The yaws (rad, modulo pi) of grasp_axes."""
  return [axis_yaw(state, colour, i) for i in grasp_axes(state, colour)]


def _lying_stick(state, colour: str) -> bool:
  """Lying on its x or y face (r6's are both 29 mm wide) and thin, or
  thicker than that but tilted (propped up on a neighbour: the face not
  flat, or the length, z, not horizontal): taken for a long stick (r6, b6)
  whose z is too long for the fingers.

  Measured on the bench's initial states (docs/results.md): r6 lying flat
  reads 21.5-22 mm here, propped 29.5-41 mm; r3 flat on its x face 30-35
  mm, its faces within 0.3 degrees of level. Two propped r6 at 29.5 mm
  lie within 1.6 degrees of level and are still taken for r3.
  """
  tilt = np.abs(_rotation(state[L[f'{colour}_pose_quat']])[2])
  up = max(tilt[0], tilt[1])
  height = 2 * (_position(state, colour)[2] - support_height(state, colour))
  propped = up < 0.995 or tilt[2] > 0.02
  return up > 0.9 and (height < THIN_OBJECT or (propped and height < 0.045))


def _finger_slack(state, colour: str, yaw: float,
                  shift: float = 0.0) -> float:
  """How far (m) the open finger pads stay clear of the other objects
  (FINGER_CLEARANCE from their centres) and of the basket's sloping walls
  (BASKET_INNER), closing along `yaw` around this object with the pinch
  moved `shift` along the closing direction; negative: blocked."""
  obj = _position(state, colour)[:2]
  direction = np.array([np.cos(yaw), np.sin(yaw)])
  slack = np.inf
  for side in (-1.0, 1.0):
    finger = obj + (shift + side * FINGER_REACH) * direction
    for other in layout.COLOURS:
      if other != colour:
        slack = min(slack, np.linalg.norm(
            finger - _position(state, other)[:2]) - FINGER_CLEARANCE)
    slack = min(slack, np.min(np.r_[finger - BASKET_INNER[0],
                                    BASKET_INNER[1] - finger]) - 0.008)
  return slack


def _fingers_blocked(state, colour: str, yaw: float) -> bool:
  return _finger_slack(state, colour, yaw) < 0.0


def grasp_offset(state, colour: str, yaw: float) -> np.ndarray:
  """Horizontal offset (m, [2]) of the grasp point from the object's centre
  along the closing direction that moves an open finger off a neighbouring
  object or the basket's wall (the fingers centre the object as they
  close): up to MAX_GRASP_SHIFT, twice that for a thin stick; zero when
  the fingers are clear."""
  if not _fingers_blocked(state, colour, yaw):
    return np.zeros(2)
  most = MAX_GRASP_SHIFT * (2.0 if _lying_stick(state, colour) else 1.0)
  shift = max(np.linspace(-most, most, 9),
              key=lambda s: (_finger_slack(state, colour, yaw, s), -abs(s)))
  return shift * np.array([np.cos(yaw), np.sin(yaw)])


def can_hold_along(state, colour: str, axis: int) -> bool:
  """Whether closing along a body axis can hold the object: the faces
  across it stand upright (the axis within 20 degrees of horizontal) and
  it is not a lying stick's length (too long for the open fingers)."""
  tilt = np.abs(_rotation(state[L[f'{colour}_pose_quat']])[2])
  return bool(tilt[axis] <= UPRIGHT_AXIS and
              not (axis == 2 and _lying_stick(state, colour)))


def closing_yaw(state) -> float:
  """The yaw of the fingers' closing direction (the pinch frame's y)."""
  rotation = _rotation(state[L['pinch_pose_quat']])
  return float(np.arctan2(rotation[1, 1], rotation[0, 1]))


class WristAligner:
  """Yaw error (rad, + counter-clockwise) that turns the fingers to close
  along a yaw (modulo pi), with a committed direction of turn.

  The shorter turn, unless it would end with the wrist joint within 0.35
  rad of its limit (a turn by e moves the joint by about -e, give or take
  what the arm's other joints add on the way) and the other one ends
  further inside. Once chosen, the direction holds until the error is
  small, so the turn never flips half-way; it reverses only if the joint
  reaches its limit.
  """

  def __init__(self):
    self._direction = 0.0

  def reset(self) -> None:
    self._direction = 0.0

  def __call__(self, state, yaw: float) -> float:
    short = _half_turn(yaw - closing_yaw(state))
    if abs(short) < 0.3:
      self._direction = 0.0
      return short
    wrist = float(state[L['joint_angles']][6])
    other = short - np.copysign(np.pi, short)
    if not self._direction:
      better = (abs(wrist - short) > WRIST_LIMIT and
                abs(wrist - other) < abs(wrist - short))
      self._direction = np.sign(other if better else short)
    if (abs(wrist) > np.pi / 2 - 0.03 and
        np.sign(wrist) == -self._direction):  # Turning into the limit.
      self._direction = -self._direction
    return short if np.sign(short) == self._direction else (
        short + self._direction * np.pi)


def _travel(state, point) -> float:
  """Distance (m) the pinch has left to go before it descends around the
  object (to a few cm above `point`)."""
  return max(np.linalg.norm(point - _pinch(state)) - 0.03, 0.0)


def reach_point(state, colour: str, depth: float,
                offset=(0.0, 0.0)) -> np.ndarray:
  """Where the pinch goes around an object: `depth` below its centre
  (moved horizontally by `offset`), but high enough that the gripper's
  body clears its top, inside the box."""
  obj = _position(state, colour)
  z = grasp_height(state, colour, depth)
  return np.clip(np.r_[obj[:2] + offset, z], PINCH_LOW, PINCH_HIGH)


def grasp_height(state, colour: str, depth: float) -> float:
  """The pinch height (m) to grasp an object at: `depth` below its centre,
  but high enough that the gripper's body clears its top. Not clipped to
  the workspace box: below PINCH_LOW for a low object."""
  obj = _position(state, colour)
  return max(obj[2] - depth, object_top(state, colour) - GRIPPER_BODY)


def approach_target(config: config_lib.ScriptedConfig, state, colour: str,
                    point: np.ndarray, ready: bool) -> np.ndarray:
  """The pinch's target on the way to `point` (fingers open).

  Straight at a point approach_clearance above the object's top; below
  that height only inside a cone around the object (height above the grasp
  point <= cone_slope * horizontal error), so the fingers come down around
  the object, never onto it. Not `ready` (wrist not aligned, fingers not
  open): no lower than the object's top. Well below the cone and off to
  the side: straight up first.
  """
  pinch = _pinch(state)
  clear = max(object_top(state, colour) + config.approach_clearance -
              point[2], 0.0)
  horizontal = np.linalg.norm(point[:2] - pinch[:2])
  height = min(clear, config.cone_slope *
               max(horizontal - config.align_tolerance, 0.0))
  if not ready:
    height = clear
  target = point + [0.0, 0.0, height]
  if pinch[2] < target[2] - 0.02 and horizontal > 0.05:
    target[:2] = pinch[:2]
  return np.clip(target, PINCH_LOW, PINCH_HIGH)


# Controllers.


class Behaviour:
  """A scripted controller: reset() at a segment's start, then call it on
  each state; the call adds the configured velocity noise."""

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
    action[3] = np.clip(action[3], -MAX_ROTATION, MAX_ROTATION)
    return action.astype(np.float32)

  def _move(self, state, target, grip: float, speed: float = MAX_SPEED,
            rotation: float = 0.0) -> np.ndarray:
    """Proportional control of the pinch towards `target`, at most `speed`
    (norm), turning at `rotation` rad/s.

    At full speed the command may reach OVERDRIVE times the limit: the
    effector scales it back to 0.07 m/s in the same direction, so the
    velocity noise added afterwards does not slow the arm down.
    """
    velocity = self.config.position_gain * (np.asarray(target) -
                                            _pinch(state))
    norm = np.linalg.norm(velocity)
    limit = speed
    if speed >= MAX_SPEED and norm > 0:  # No component past the action spec.
      limit = min(OVERDRIVE * MAX_SPEED,
                  MAX_SPEED * norm / np.abs(velocity).max())
    if norm > limit:
      velocity *= limit / norm
    return np.r_[velocity, rotation, grip]

  def _turn(self, error: float, distance: float = 0.0) -> float:
    """Wrist rate (rad/s) for a yaw error, spread over the time to travel
    `distance` (m): turning fast slows the arm's linear motion."""
    rate = self.config.rotation_gain * abs(error)
    if distance > 0.0:
      spread = abs(error) / (0.7 * distance / (0.85 * MAX_SPEED))
      rate = min(rate, max(spread, 0.25))
    return float(np.sign(error) * min(rate, MAX_ROTATION))


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
    # Keeps the fingers closed while the grasp sensor reports a grasp.
    action[4] = CLOSE if state[L['grasp']][0] == INWARD_GRASP else OPEN
    return action


class PolicyBehaviour(Behaviour):
  """A learned policy (state [86] -> action [5]) in place of a controller."""

  def __init__(self, config, rng, policy: Callable[[np.ndarray], np.ndarray]):
    super().__init__(config, rng)
    self._policy = policy

  def act(self, state):
    return np.asarray(self._policy(state), np.float64)


class StraightLineReach(Behaviour):
  """The reach speed bound: the pinch straight at the object's centre at
  the speed limit (slowing within 1.4 cm), fingers open, wrist still."""

  def __init__(self, config, rng, colour: str = 'red'):
    super().__init__(config, rng)
    self._colour = colour

  def act(self, state):
    error = _position(state, self._colour) - _pinch(state)
    distance = np.linalg.norm(error)
    speed = min(MAX_SPEED, self.config.position_gain * distance)
    return np.r_[error / max(distance, 1e-9) * speed, 0.0, OPEN]


class Reach(Behaviour):
  """reach_red (and reach_green): around the object, fingers open.

  Approaches while descending (approach_target), turning the wrist to the
  object's grasp axis on the way, and ends with the pinch at the grasp
  point (`depth` below the object's centre), ready to close.
  """

  def __init__(self, config, rng, colour: str = 'red', depth: float = 0.0):
    super().__init__(config, rng)
    self._colour = colour
    self._depth = depth
    self._wrist = WristAligner()
    self._axis = None

  def reset(self):
    self._wrist.reset()
    self._axis = None

  def act(self, state):
    if self._axis is None:  # Chosen once per segment.
      self._axis = grasp_axes(state, self._colour)[0]
    yaw = axis_yaw(state, self._colour, self._axis)
    error = self._wrist(state, yaw)
    ready = (abs(error) < self.config.yaw_tolerance and
             state[L['gripper_angle']][0] <= FINGERS_OPEN)
    offset = grasp_offset(state, self._colour, yaw)
    norm = np.linalg.norm(offset)
    if norm > MAX_GRASP_SHIFT:  # Stays within the reach reward's 2 cm.
      offset *= MAX_GRASP_SHIFT / norm
    point = reach_point(state, self._colour, self._depth, offset)
    target = approach_target(self.config, state, self._colour, point, ready)
    return self._move(state, target, OPEN, rotation=self._turn(
        error, _travel(state, point)))


class PickAndCarry(Behaviour):
  """Grasps an object and carries it to `goal(state)` (its centre).

  Phases: approach (as Reach; fingers that come down on the object try the
  other grasp axis) -> close (until the fingers hold the object and have
  stopped) -> carry (fingers kept closed, at most carry_speed: on the
  shortest path that passes over the other objects, _carry_target) and
  hold there. A miss (the fingers shut on nothing) retreats with the fingers
  opening and tries the other grasp axis (or, once, the same one when only
  it can hold the object: _axis_failed); a grasp lost while carrying
  retreats and grasps again. With config.release_rate > 0, each carry step
  may open the fingers on purpose (phase 'drop': the pinch stays, the
  object falls), then retreat and grasp again: data in which a held object
  is let go. lift_red, red_hover_blue and the evaluation
  tasks' controllers are this with different goals; a segment that starts
  holding the object carries it.
  """

  def __init__(self, config, rng, colour: str,
               goal: Callable[[np.ndarray], np.ndarray]):
    super().__init__(config, rng)
    self._colour, self._goal = colour, goal
    self.reset()

  def reset(self):
    self.phase, self._steps, self._axis = 'start', 0, 0
    self.attempts, self._holdable = 1, None
    self._same_axis = False
    self._lost = self._held = self._blocked = self._stopped = 0
    self._half_height = 0.025
    self._last_angle = self._held_angle = 0.0
    self._yaw, self._failed_yaw = 0.0, None
    self._hold = self._retreat_z = self._point = self._axes = None
    self._wrist = WristAligner()

  def _go(self, phase: str, state) -> None:
    previous, self.phase, self._steps = self.phase, phase, 0
    pinch = _pinch(state)
    if phase == 'close':
      self._held = 0
      # Keep pressing down to the unclipped grasp height while closing:
      # for a low object (the grasp point clipped to the box) the pads,
      # which sink as they close, grip further down its sides. A tall
      # object's point is not clipped, so the gripper's body still clears
      # its top.
      self._hold = self._point.copy()
      self._hold[2] = min(self._hold[2], grasp_height(
          state, self._colour, self.config.grasp_depth))
      self._last_angle = float(state[L['gripper_angle']][0])
    elif phase == 'retreat':
      self._retreat_z = max(pinch[2] + self.config.retreat_height,
                            object_top(state, self._colour) +
                            self.config.approach_clearance)
      # The next grasp's axis, chosen now: the wrist turns to it on the
      # way up, and the approach that follows keeps it.
      self._axes = None
      self._wrist.reset()
    elif phase == 'carry':
      self._lost = 0
      self._held_angle = float(state[L['gripper_angle']][0])
    elif phase == 'drop':
      self._lost = 0
      self._hold = pinch.copy()
    elif phase == 'approach':
      self._blocked = self._stopped = 0
      if previous != 'retreat':
        self._axes = None
      self._wrist.reset()

  def act(self, state):
    self._steps += 1
    if self.phase == 'start':
      near = np.linalg.norm(_position(state, self._colour) -
                            _pinch(state)) < 0.04
      self._go('carry' if _holding(state) and near else 'approach', state)
    return getattr(self, f'_{self.phase}')(state)

  def _grasp_yaw(self, state) -> float:
    """The yaw to close the fingers along; the axes are chosen once per
    attempt (at a retreat or a fresh approach)."""
    if self._axes is None:
      self._axes = grasp_axes(state, self._colour)
      # grasp_axes may rank the axes differently once the object has
      # moved: never retry along the yaw that just failed.
      if self._failed_yaw is not None and abs(_half_turn(
          axis_yaw(state, self._colour, self._axes[self._axis % 2]) -
          self._failed_yaw)) < 0.3:
        self._axes.reverse()
      # Judged here, on the object at rest: a failing grasp tilts it.
      self._holdable = [can_hold_along(state, self._colour, axis)
                        for axis in self._axes]
    self._yaw = axis_yaw(state, self._colour, self._axes[self._axis % 2])
    return self._yaw

  def _axis_failed(self, state) -> None:
    """The grasp along the current yaw failed. The next one takes the
    other axis, and never this yaw (_grasp_yaw); unless the other axis
    cannot hold the object (can_hold_along: a slanted face, a stick's
    length) and this one can: then this axis again, once, re-centred on
    the object (after a retreat, which rises clear of its top: fingers
    that open where they are re-centre worse and caught r5 by an edge).
    """
    self.attempts += 1
    if self._axes is None:
      self._grasp_yaw(state)
    this, other = self._axis % 2, (self._axis + 1) % 2
    # Once only: if the same axis fails again, the other one gets its turn
    # (a neighbour may block this one for good).
    self._same_axis = bool(self._holdable[this] and
                           not self._holdable[other] and
                           not self._same_axis)
    if self._same_axis:
      return
    self._axis += 1
    self._failed_yaw = self._yaw

  def _approach(self, state):
    config = self.config
    pinch = _pinch(state)
    yaw = self._grasp_yaw(state)
    error = self._wrist(state, yaw)
    ready = (abs(error) < config.yaw_tolerance and
             state[L['gripper_angle']][0] <= FINGERS_OPEN)
    point = reach_point(state, self._colour, config.grasp_depth,
                        grasp_offset(state, self._colour, yaw))
    self._point = point
    horizontal = np.linalg.norm(point[:2] - pinch[:2])
    # The open fingers touch something on both sides (the sensor's outward
    # grasp), or stall above the grasp point: they are on the object, too
    # long along this axis; try the other one.
    # (Commanded down at >= 0.04 m/s there, a pad resting on an edge
    # creeps at about 0.005 m/s.)
    stalled = (ready and horizontal < 0.012 and
               pinch[2] > point[2] + 0.008 and
               abs(state[L['tcp_velocity_linear']][2]) < 0.01)
    self._blocked = self._blocked + 1 if stalled else 0
    touching = ready and state[L['grasp']][0] == OUTWARD_GRASP
    if self._blocked >= 8 or touching:
      # Not ready while the wrist turns: the fingers rise above the top.
      self._axis_failed(state)
      if self._same_axis:  # Ready at once: up clear of the object first.
        self._go('retreat', state)
        return self._retreat(state)
      self._go('approach', state)
      return self._move(state, pinch + [0.0, 0.0, 0.01], OPEN)
    # Close within close_height above the grasp point (the pinch keeps
    # going down while the fingers close).
    there = (horizontal < config.descend_tolerance and
             pinch[2] - point[2] < config.close_height)
    # Or stopped just above it (a finger on something low).
    self._stopped = self._stopped + 1 if (
        ready and horizontal < config.descend_tolerance and
        pinch[2] - point[2] < 0.01 and
        abs(state[L['tcp_velocity_linear']][2]) < 0.005) else 0
    there = there or self._stopped >= 3
    if (there and ready) or self._steps > config.max_approach_steps:
      self._go('close', state)
      return self._close(state)
    target = approach_target(config, state, self._colour, point, ready)
    action = self._move(state, target, OPEN, rotation=self._turn(
        error, _travel(state, point)))
    if self._blocked >= 2:
      # Held up on something: push gently. The arm's actuators integrate
      # the commanded velocity, so each step pushed at full speed against
      # an obstacle is a step spent unwinding before the arm rises again.
      action[2] = max(action[2], -PRESS_SPEED)
    return action

  def _close(self, state):
    # Lift once the fingers hold the object and have stopped closing: the
    # angle steady between steps (the velocity reading drops to 2 while
    # the pads still slide over a low object's edge).
    angle = float(state[L['gripper_angle']][0])
    still = abs(angle - self._last_angle) <= 1.5
    self._last_angle = angle
    self._held = self._held + 1 if _holding(state) and still else 0
    if self._held >= 2:
      obj = _position(state, self._colour)
      self._half_height = max(obj[2] - support_height(state, self._colour),
                              0.01)
      self._go('carry', state)
      return self._carry(state)
    missed = (self._steps > self.config.close_steps or
              state[L['gripper_angle']][0] >= FINGERS_SHUT)
    if missed:
      self._axis_failed(state)
      self._go('retreat', state)
      return self._retreat(state)
    return self._move(state, self._hold, CLOSE)

  def _retreat(self, state):
    pinch = _pinch(state)
    done = (state[L['gripper_angle']][0] <= FINGERS_OPEN and
            pinch[2] > self._retreat_z - 0.01)
    if done or self._steps > 40:
      self._go('approach', state)
      return self._approach(state)
    target = np.clip(np.r_[pinch[:2], self._retreat_z], PINCH_LOW,
                     PINCH_HIGH)
    rotation = 0.0
    if pinch[2] > object_top(state, self._colour) + 0.005:  # Pads clear.
      rotation = self._turn(self._wrist(state, self._grasp_yaw(state)))
    return self._move(state, target, OPEN, rotation=rotation)

  def _carry_target(self, state, goal) -> np.ndarray:
    """The pinch's target that brings the held object towards `goal`.

    In the vertical plane through the object and the goal, the path must
    pass each other object near that line (within OBSTACLE_RADIUS of its
    centre) with carry_clearance to spare: from where the line enters
    that radius, the object's bottom must be above the other's top. The
    shortest such path is the upper hull of those entry corners: the
    object heads straight for the steepest corner it is still below (up
    first off the floor, straight up when already inside a radius), then
    straight on to the goal. Recomputed each step.
    """
    obj = _position(state, self._colour)
    goal = np.array(goal, np.float64)
    path = goal[:2] - obj[:2]
    length = np.linalg.norm(path)
    clearance = self.config.carry_clearance + self._half_height
    floor = FLOOR_Z + clearance  # Off the floor first, straight up.
    if obj[2] < floor - 0.005:
      return self._aim(state, np.r_[obj[:2], floor + 0.02])
    # The steepest climb ahead (m up per m along the path) and the corner
    # it leads to; a corner must be steeper than the goal itself.
    slope, corner = (goal[2] - obj[2]) / max(length, 1e-6), None
    for colour in layout.COLOURS:
      if colour == self._colour or length < 0.02:
        continue
      other = _position(state, colour)
      need = object_top(state, colour) + clearance
      if obj[2] >= need - 0.005:
        continue
      along = np.dot(other[:2] - obj[:2], path) / length  # m along path.
      nearest = obj[:2] + np.clip(along / length, 0.0, 1.0) * path
      if np.linalg.norm(nearest - other[:2]) > OBSTACLE_RADIUS:
        continue
      miss = np.linalg.norm(obj[:2] + along * path / length - other[:2])
      entry = along - np.sqrt(OBSTACLE_RADIUS**2 - miss**2)
      if entry < 0.005:  # Inside the radius already: straight up.
        return self._aim(state, np.r_[obj[:2], need + 0.02])
      if (need - obj[2]) / entry > slope:
        slope = (need - obj[2]) / entry
        corner = np.r_[obj[:2] + entry * path / length, need]
    if corner is None:
      return self._aim(state, goal)
    # Aimed past the corner, so the arm keeps full speed until it turns.
    direction = corner - obj
    return self._aim(state, obj + direction * (1.0 + 0.02 / np.linalg.norm(
        direction)))

  def _aim(self, state, point) -> np.ndarray:
    """The pinch target that puts the held object's centre at `point`."""
    return np.clip(_pinch(state) + point - _position(state, self._colour),
                   PINCH_LOW, PINCH_HIGH)

  def _lost_grasp(self, state) -> bool:
    self._lost = 0 if _holding(state) else self._lost + 1
    return self._lost >= 3

  def _slipping(self, state) -> bool:
    """The fingers close further on the held object: it slides out from
    between them (a wedge, a grip on an edge); that grasp axis failed."""
    return state[L['gripper_angle']][0] > self._held_angle + SLIP_ANGLE

  def _carry(self, state):
    if self._slipping(state):
      self._axis_failed(state)
      self._go('retreat', state)
      return self._retreat(state)
    if self._lost_grasp(state):
      self._go('retreat', state)
      return self._retreat(state)
    # No draw at rate 0: the noise stream, and so the data, stay as before.
    if (self.config.release_rate > 0 and
        self._rng.random() < self.config.release_rate):
      self._go('drop', state)
      return self._drop(state)
    target = self._carry_target(state, self._goal(state))
    return self._move(state, target, CLOSE, speed=self.config.carry_speed)

  def _drop(self, state):
    # Open where the pinch is until the grasp has been gone for 3 steps
    # (at most 20 steps), then retreat and grasp again along the same axis.
    gone = self._lost_grasp(state)
    if gone or self._steps > 20:
      self._go('retreat', state)
      return self._retreat(state)
    return self._move(state, self._hold, OPEN)


class Stack(PickAndCarry):
  """red_stack_{blue,green}: pick, carry above the bottom object, lower onto
  it at place_speed, open, then rise until the pinch is leave_height above
  the placed object (the stacking reward's stages). If the object does not
  stay on the other one, picks it again."""

  def __init__(self, config, rng, colour: str, bottom: str):
    self._bottom = bottom
    super().__init__(config, rng, colour, goal=self._above_place)

  def _rest_height(self, state) -> float:
    return object_top(state, self._bottom) + self._half_height

  def _above_place(self, state):
    return np.r_[_position(state, self._bottom)[:2],
                 self._rest_height(state) + self.config.place_height]

  def _carry(self, state):
    goal = self._above_place(state)
    obj = _position(state, self._colour)
    # Over the other object: within 6 mm, or within 2 cm and no longer
    # getting closer (a goal the workspace box keeps the pinch from).
    horizontal = np.linalg.norm(obj[:2] - goal[:2])
    slow = np.linalg.norm(state[L['tcp_velocity_linear']][:2]) < 0.005
    if ((horizontal < 0.006 or (horizontal < 0.02 and slow)) and
        abs(obj[2] - goal[2]) < 0.01 and _holding(state)):
      self._go('lower', state)
      return self._lower(state)
    return super()._carry(state)

  def _lower(self, state):
    obj = _position(state, self._colour)
    goal = np.r_[_position(state, self._bottom)[:2],
                 self._rest_height(state) - 0.01]
    stopped = (self._steps > 3 and
               abs(state[L['tcp_velocity_linear']][2]) < 0.003)
    if (self._lost_grasp(state) or stopped or self._steps > 60 or
        obj[2] < goal[2] + 0.005):
      self._go('release', state)
      self._hold = _pinch(state)
      return self._release(state)
    return self._move(state, self._aim(state, goal), CLOSE,
                      speed=self.config.place_speed)

  def _release(self, state):
    # Up once the fingers have let go (they open on the way).
    if (self._steps > 3 and state[L['grasp']][0] != INWARD_GRASP) or (
        self._steps > 20):
      self._go('leave', state)
      return self._leave(state)
    return self._move(state, self._hold, OPEN)

  def _leave(self, state):
    obj = _position(state, self._colour)
    bottom = _position(state, self._bottom)
    fell = (np.linalg.norm(obj[:2] - bottom[:2]) > 0.03 or
            obj[2] < bottom[2] + 0.02)
    if fell and self._steps > 10:
      self._go('approach', state)
      return self._approach(state)
    pinch = _pinch(state)
    target = np.clip(np.r_[pinch[:2], obj[2] + self.config.leave_height],
                     PINCH_LOW, PINCH_HIGH)
    return self._move(state, target, OPEN)


# Goals for PickAndCarry: the carried object's centre.


def lift_goal(config: config_lib.ScriptedConfig, colour: str):
  """Straight up to lift_height, drawn towards the workspace's vertical
  axis as far as the lift reward's workspace ellipsoid needs."""
  centre = np.asarray(rewards.WORKSPACE_CENTER[:2])

  def goal(state):
    offset = _position(state, colour)[:2] - centre
    distance = np.linalg.norm(offset)
    if distance > LIFT_RADIUS:
      offset *= LIFT_RADIUS / distance
    return np.r_[centre + offset, config.lift_height]
  return goal


def hover_goal(config: config_lib.ScriptedConfig, bottom: str):
  """hover_height above the other object's centre."""
  return lambda state: _position(state, bottom) + [0.0, 0.0,
                                                   config.hover_height]


def fixed_goal(point):
  point = np.asarray(point, np.float64)
  return lambda state: point


BEHAVIOURS = (
    'open_fingers', 'close_fingers', 'reach_red', 'lift_red',
    'red_hover_blue', 'move_pinch_x_inc', 'move_pinch_y_inc',
    'move_pinch_z_inc', 'move_pinch_x_dec', 'move_pinch_y_dec',
    'move_pinch_z_dec')  # Table 2's order; the index is the behaviour id.


def _makers(config, rng) -> Dict[str, Callable[[], Behaviour]]:
  """Scripted controllers by name: the base behaviours and the evaluation
  tasks (rewards.EVALUATION_TASKS), which share reach/lift/hover."""
  makers: Dict[str, Callable[[], Behaviour]] = {
      'open_fingers': lambda: Fingers(config, rng, OPEN),
      'close_fingers': lambda: Fingers(config, rng, CLOSE),
      'bring_red': lambda: PickAndCarry(
          config, rng, 'red', fixed_goal(rewards.BRING_TARGET)),
  }
  for colour in ('red', 'green'):
    makers[f'reach_{colour}'] = lambda c=colour: Reach(config, rng, c)
    makers[f'lift_{colour}'] = lambda c=colour: PickAndCarry(
        config, rng, c, lift_goal(config, c))
  for bottom in ('blue', 'green'):
    makers[f'red_hover_{bottom}'] = lambda b=bottom: PickAndCarry(
        config, rng, 'red', hover_goal(config, b))
    makers[f'red_stack_{bottom}'] = lambda b=bottom: Stack(
        config, rng, 'red', b)
  for axis_index, axis in enumerate('xyz'):
    for direction, sign in (('inc', 1.0), ('dec', -1.0)):
      makers[f'move_pinch_{axis}_{direction}'] = (
          lambda i=axis_index, s=sign: MovePinch(config, rng, i, s))
  return makers


def make_behaviour(name: str, config: Optional[config_lib.ScriptedConfig]
                   = None, seed: int = 0,
                   policy: Optional[Callable[[np.ndarray], np.ndarray]]
                   = None) -> Behaviour:
  """A fresh controller for one of BEHAVIOURS.

  Args:
    name: one of BEHAVIOURS.
    config: gains and noise (default: ScriptedConfig(), the data's noise).
    seed: seeds the behaviour's noise.
    policy: if given, state [86] -> action [5] (e.g. a DMPO-trained base
      policy, agents/dmpo/saved_policy.py) acts instead of the scripted
      controller, with the same noise and clipping.
  """
  if name not in BEHAVIOURS:
    raise ValueError(f'behaviour: {name!r} is unknown; valid behaviours: '
                     f'{list(BEHAVIOURS)}.')
  config = config or config_lib.ScriptedConfig()
  rng = np.random.default_rng(seed)
  if policy is not None:
    return PolicyBehaviour(config, rng, policy)
  return _makers(config, rng)[name]()


def noise_free(config: Optional[config_lib.ScriptedConfig] = None
               ) -> config_lib.ScriptedConfig:
  """`config` (default ScriptedConfig()) without velocity noise."""
  config = config or config_lib.ScriptedConfig()
  return config_lib.ScriptedConfig(**{**vars(config), 'linear_noise': 0.0,
                                      'rotation_noise': 0.0})


def make_controller(task_name: str,
                    config: Optional[config_lib.ScriptedConfig] = None,
                    seed: int = 0) -> Behaviour:
  """The scripted ceiling for one of the nine evaluation tasks.

  Composed from the base behaviours: reach (reach_*), pick and lift
  (lift_*), pick, carry and hover (red_hover_*), pick, carry, place,
  release and move up (red_stack_*), pick and carry to the bring target
  (bring_red). Meant for 400-step episodes; call reset() at each start.

  Args:
    task_name: one of rewards.EVALUATION_TASKS.
    config: gains and noise; default: ScriptedConfig() without noise.
    seed: seeds the noise (if the config has any).
  """
  if task_name not in rewards.EVALUATION_TASKS:
    raise ValueError(f'task_name: expected one of '
                     f'{list(rewards.EVALUATION_TASKS)}, got {task_name!r}.')
  config = config or noise_free()
  return _makers(config, np.random.default_rng(seed))[task_name]()


def make_reach_bound(colour: str = 'red', seed: int = 0) -> Behaviour:
  """The straight-line reach bound (StraightLineReach), without noise."""
  if colour not in layout.COLOURS:
    raise ValueError(f'colour: expected one of {list(layout.COLOURS)}, got '
                     f'{colour!r}.')
  return StraightLineReach(noise_free(), np.random.default_rng(seed), colour)
