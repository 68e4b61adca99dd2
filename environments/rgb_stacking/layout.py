"""The 86-D state: named slices, so nothing indexes it by magic numbers.

The state concatenates, unstacked and in this order, the original
rgb_stacking state-only observations minus wrist/force, wrist/torque and
action/environment (../shared/spec/rgb_stacking.md):

  sawyer/joints/angle (7), sawyer/joints/velocity (7), sawyer/joints/torque (7),
  sawyer/pinch/pose (7: xyz, wxyz with w >= 0), sawyer/tcp/pose (7),
  sawyer/tcp/velocity (6: world linear, angular), gripper/joints/angle (1),
  gripper/joints/velocity (1), gripper/grasp (1),
  rgb30_{red,green,blue}/abs_pose (7 each), rgb30_{red,green,blue}/to_pinch
  (7 each)                                                        = 86.
"""

from typing import Dict, Mapping, Tuple

# (our name, original observation key, size), in state order.
PARTS: Tuple[Tuple[str, str, int], ...] = (
    ('joint_angles', 'sawyer/joints/angle', 7),
    ('joint_velocities', 'sawyer/joints/velocity', 7),
    ('joint_torques', 'sawyer/joints/torque', 7),
    ('pinch_pose', 'sawyer/pinch/pose', 7),
    ('tcp_pose', 'sawyer/tcp/pose', 7),
    ('tcp_velocity', 'sawyer/tcp/velocity', 6),
    ('gripper_angle', 'gripper/joints/angle', 1),
    ('gripper_velocity', 'gripper/joints/velocity', 1),
    ('grasp', 'gripper/grasp', 1),
    ('red_pose', 'rgb30_red/abs_pose', 7),
    ('green_pose', 'rgb30_green/abs_pose', 7),
    ('blue_pose', 'rgb30_blue/abs_pose', 7),
    ('red_to_pinch', 'rgb30_red/to_pinch', 7),
    ('green_to_pinch', 'rgb30_green/to_pinch', 7),
    ('blue_to_pinch', 'rgb30_blue/to_pinch', 7),
)

COLOURS = ('red', 'green', 'blue')
STATE_SIZE = sum(size for _, _, size in PARTS)


class StateLayout:
  """Slices of the 86-D state by name.

  Every part of PARTS has a slice (`layout['red_pose']`); 7-D poses also have
  '{part}_pos' (xyz) and '{part}_quat' (wxyz), 6-D velocities
  '{part}_linear' and '{part}_angular'. `groups` gathers parts for
  per-group diagnostics (arm, gripper, each object).
  """

  def __init__(self):
    self.slices: Dict[str, slice] = {}
    self.keys: Dict[str, str] = {}
    start = 0
    for name, key, size in PARTS:
      self.slices[name] = slice(start, start + size)
      self.keys[name] = key
      if size == 7:
        self.slices[f'{name}_pos'] = slice(start, start + 3)
        self.slices[f'{name}_quat'] = slice(start + 3, start + 7)
      if name == 'tcp_velocity':
        self.slices[f'{name}_linear'] = slice(start, start + 3)
        self.slices[f'{name}_angular'] = slice(start + 3, start + 6)
      start += size
    self.size = start
    assert self.size == STATE_SIZE == 86, self.size
    self.groups: Mapping[str, Tuple[str, ...]] = {
        'arm': ('joint_angles', 'joint_velocities', 'joint_torques',
                'pinch_pose', 'tcp_pose', 'tcp_velocity'),
        'gripper': ('gripper_angle', 'gripper_velocity', 'grasp'),
        **{c: (f'{c}_pose', f'{c}_to_pinch') for c in COLOURS},
    }

  def __getitem__(self, name: str) -> slice:
    try:
      return self.slices[name]
    except KeyError:
      raise KeyError(f'state part {name!r} is unknown; parts: '
                     f'{sorted(self.slices)}') from None

  def indices(self, group: str) -> Tuple[int, ...]:
    """The state indices of a group (see `groups`)."""
    if group not in self.groups:
      raise KeyError(f'group {group!r} is unknown; groups: '
                     f'{sorted(self.groups)}')
    out = []
    for part in self.groups[group]:
      out.extend(range(self.slices[part].start, self.slices[part].stop))
    return tuple(out)

  def get(self, state, name: str):
    """`state[..., slice]` for a named part (works on numpy and jax)."""
    return state[..., self[name]]


LAYOUT = StateLayout()
