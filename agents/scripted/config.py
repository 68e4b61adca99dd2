"""Configuration of the scripted base behaviours."""

import dataclasses


@dataclasses.dataclass
class ScriptedConfig:
  """Gains, heights and noise of the scripted base behaviours (Table 2).

  The behaviours act on the privileged 86-D state; noise makes the data
  diverse, as the paper's exploratory base policies do.
  """
  # Proportional gain from pinch position error (m) to velocity (m/s); the
  # environment clips velocities to 0.07 m/s.
  position_gain: float = 5.0
  # Approach: stay this high above an object (m) until aligned with it
  # horizontally within align_tolerance (m), then go down onto it; closing
  # starts within descend_tolerance (m) of its centre, or after
  # max_approach_steps.
  approach_height: float = 0.06
  align_tolerance: float = 0.015
  descend_tolerance: float = 0.008
  max_approach_steps: int = 150
  # Most steps the gripper closes before lifting (it lifts as soon as the
  # grasp sensor reports an inward grasp).
  close_steps: int = 10
  # Carry sideways only once the object's centre is above this height (m).
  carry_clearance: float = 0.1
  # Heights (m, world z) to lift the red object to, and to hover it above
  # the blue one (the hover reward's height, docs/tasks.md).
  lift_height: float = 0.2
  hover_height: float = 0.1
  # Gaussian noise added to the commanded velocities: std in m/s for the
  # linear part, rad/s for the rotation about the vertical axis.
  linear_noise: float = 0.01
  rotation_noise: float = 0.1
  # Each episode: behaviours drawn at random, each run for segment_length.
  behaviours_per_episode: int = 2
  segment_length: int = 200

  def __post_init__(self):
    for name in ('position_gain', 'approach_height', 'align_tolerance',
                 'descend_tolerance', 'lift_height', 'hover_height',
                 'carry_clearance'):
      value = getattr(self, name)
      if not value > 0:
        raise ValueError(f'{name}: expected > 0, got {value}.')
    for name in ('linear_noise', 'rotation_noise'):
      value = getattr(self, name)
      if value < 0:
        raise ValueError(f'{name}: expected >= 0, got {value}.')
    for name in ('close_steps', 'max_approach_steps', 'behaviours_per_episode',
                 'segment_length'):
      value = getattr(self, name)
      if not (isinstance(value, int) and value >= 1):
        raise ValueError(f'{name}: expected an integer >= 1, got {value!r}.')
