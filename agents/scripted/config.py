"""Configuration of the scripted base behaviours and task controllers."""

import dataclasses


@dataclasses.dataclass
class ScriptedConfig:
  """Gains, heights, speeds and noise of the scripted controllers (Table 2).

  The behaviours act on the privileged 86-D state; noise makes the data
  diverse, as the paper's exploratory base policies do. Heights are world z
  (m) unless they say otherwise; the basket floor is at z = 0.0498.
  """
  # Proportional gain from pinch position error (m) to velocity (m/s); the
  # Cartesian effector caps the norm of the linear velocity at 0.07 m/s.
  position_gain: float = 5.0
  # Wrist: rad/s per rad of yaw error between the fingers' closing direction
  # and the object's grasp axis; the fingers go down around an object only
  # once within yaw_tolerance (rad).
  rotation_gain: float = 3.0
  yaw_tolerance: float = 0.1
  # Approach (fingers open): straight at a point approach_clearance above
  # the object's top, lowered towards the grasp point as the horizontal
  # error shrinks below cone_slope * height (a cone around the object, so
  # the fingers never come down on it); closing starts within
  # descend_tolerance (m) of the grasp point horizontally and close_height
  # (m) above it, or after max_approach_steps.
  approach_clearance: float = 0.02
  cone_slope: float = 1.0
  align_tolerance: float = 0.005
  descend_tolerance: float = 0.004
  close_height: float = 0.004
  max_approach_steps: int = 150
  # Grasp point: the pinch this far below the object's centre (the finger
  # pads reach about 3.7 cm above the pinch).
  grasp_depth: float = 0.012
  # Closing: lift once the grasp sensor reports an inward grasp; a miss
  # (no grasp after close_steps, or the fingers shut on nothing) opens the
  # fingers, rises retreat_height and tries the other grasp axis.
  close_steps: int = 25
  retreat_height: float = 0.03
  # Holding: top speed (m/s), fingers kept closed; the object's bottom
  # passes carry_clearance above the tops of other objects near its path.
  carry_speed: float = 0.07
  carry_clearance: float = 0.015
  # Object centre heights: lift_height for lifting (the lift reward is full
  # from 0.1498) and hover_height above the other object (the hover
  # reward's height, docs/tasks.md).
  lift_height: float = 0.17
  hover_height: float = 0.1
  # Stacking: lower the object at place_speed (m/s) from place_height above
  # the resting height, open, then rise until the pinch is leave_height
  # above it (the original's stack_leave stage).
  place_height: float = 0.02
  place_speed: float = 0.03
  leave_height: float = 0.1
  # Gaussian noise added to the commanded velocities: std in m/s for the
  # linear part, rad/s for the rotation about the vertical axis.
  linear_noise: float = 0.01
  rotation_noise: float = 0.1
  # Releases for the data (issue [skills-that-steer]): each step of a carry,
  # the fingers open with this probability (the object drops), and the
  # behaviour then retreats and grasps again. 0: never (the paper's
  # behaviours, which never let go mid-carry; the default). Evaluation
  # controllers and ceilings keep 0.
  release_rate: float = 0.0
  # Each episode: behaviours drawn at random, each run for segment_length.
  behaviours_per_episode: int = 2
  segment_length: int = 200

  def __post_init__(self):
    for name in ('position_gain', 'rotation_gain', 'yaw_tolerance',
                 'approach_clearance', 'cone_slope', 'align_tolerance',
                 'descend_tolerance', 'close_height', 'retreat_height',
                 'carry_speed', 'carry_clearance', 'lift_height',
                 'hover_height', 'place_height', 'place_speed',
                 'leave_height'):
      value = getattr(self, name)
      if not value > 0:
        raise ValueError(f'{name}: expected > 0, got {value}.')
    for name in ('grasp_depth', 'linear_noise', 'rotation_noise'):
      value = getattr(self, name)
      if not value >= 0:
        raise ValueError(f'{name}: expected >= 0, got {value}.')
    if not 0.0 <= self.release_rate <= 1.0:
      raise ValueError('release_rate: expected a probability in [0, 1], got '
                       f'{self.release_rate}.')
    for name in ('carry_speed', 'place_speed'):
      value = getattr(self, name)
      if value > 0.07:
        raise ValueError(f'{name}: expected <= 0.07 (the speed limit), got '
                         f'{value}.')
    for name in ('close_steps', 'max_approach_steps', 'behaviours_per_episode',
                 'segment_length'):
      value = getattr(self, name)
      if not (isinstance(value, int) and value >= 1):
        raise ValueError(f'{name}: expected an integer >= 1, got {value!r}.')
