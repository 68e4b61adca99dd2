"""Scripted controllers on the real MuJoCo scene: few steps, real checks."""

import numpy as np
import pytest

from jumpy_acme import environments
from jumpy_acme.agents.scripted import behaviours
from jumpy_acme.environments.rgb_stacking import environment as env_lib
from jumpy_acme.environments.rgb_stacking import layout
from jumpy_acme.environments.rgb_stacking import rewards

L = layout.LAYOUT
STEP_S = 0.05  # One control step (s).
LIMIT = 0.07  # m/s: the Cartesian effector's cap on the linear velocity.
OPEN = np.array([0.0, 0.0, 0.0, 0.0, -255.0], np.float32)


@pytest.fixture(scope='module')
def env():
  # triplet4: red is s0, a 5 cm cube.
  return environments.make('reach_red', seed=3, triplet='triplet4',
                           episode_length=400)


def _down(yaw):
  """wxyz quaternion of the pinch pointing down, turned `yaw` about z."""
  return np.array([0.0, np.cos(yaw / 2), np.sin(yaw / 2), 0.0])


def _yawed(yaw):
  """wxyz quaternion of a turn by `yaw` about the vertical."""
  return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _scene(env, pinch, red, red_quat=(1, 0, 0, 0), settle=10):
  """Red at `red`, the others out of the way, the pinch at `pinch` (yaw 0),
  props settled with the arm held: the 86-D state."""
  env.reset()
  scene = env.scene
  scene.set_prop_pose(0, red, red_quat)
  scene.set_prop_pose(1, (0.5, 0.1, 0.08))
  scene.set_prop_pose(2, (0.7, -0.1, 0.08))
  joints, ok = scene.solve_ik(np.asarray(pinch, float), _down(0.0))
  assert ok
  scene.set_arm_joints(joints)
  for _ in range(settle):
    state = env.step(OPEN).observation
  return np.asarray(state) if settle else env_lib.state_vector(
      scene.observe())


def _distance(state):
  return np.linalg.norm(state[L['red_pose_pos']] - state[L['pinch_pose_pos']])


def test_the_speed_limit_is_on_the_norm_not_per_axis(env):
  # The straight-line bound's premise: (0.07, 0.07, 0) moves at 0.07 m/s,
  # not at the 0.099 m/s a per-axis clip would allow.
  state = _scene(env, pinch=(0.55, -0.05, 0.2), red=(0.7, 0.1, 0.08),
                 settle=1)
  path = []
  for _ in range(20):
    state = env.step(np.array([LIMIT, LIMIT, 0, 0, -255], np.float32)
                     ).observation
    path.append(state[L['pinch_pose_pos']])
  speed = np.linalg.norm(path[-1] - path[-11]) / (10 * STEP_S)
  assert 0.8 * LIMIT < speed < 1.05 * LIMIT, speed


def test_reach_approaches_red_near_the_speed_limit(env):
  state = _scene(env, pinch=(0.55, -0.05, 0.25), red=(0.6, 0.05, 0.076))
  reach = behaviours.make_behaviour('reach_red', behaviours.noise_free())
  start, red = _distance(state), state[L['red_pose_pos']].copy()
  for _ in range(30):
    state = env.step(reach(state)).observation
  closed = start - _distance(state)
  # At most the limit for 30 steps; at least 60 % of it (the arm takes
  # about 4 steps to reach speed).
  assert 0.6 * LIMIT * 30 * STEP_S < closed <= LIMIT * 30 * STEP_S, closed
  # Fingers still open, red not pushed.
  assert state[L['gripper_angle']][0] <= behaviours.FINGERS_OPEN
  np.testing.assert_allclose(state[L['red_pose_pos']], red, atol=2e-3)


def test_wrist_command_turns_the_fingers_to_the_objects_yaw(env):
  # Fingers close along the pinch's y axis: yaw -pi/2 (= pi/2) for a pinch
  # at yaw 0. A cube turned pi/2 + 0.4 offers its x faces at +0.4 from it:
  # counter-clockwise, a positive wz.
  state = _scene(env, pinch=(0.6, 0.0, 0.2), red=(0.6, 0.0, 0.076),
                 red_quat=_yawed(np.pi / 2 + 0.4), settle=0)
  target = behaviours.grasp_yaws(state, 'red')[0]
  assert behaviours._half_turn(target - np.pi / 2 - 0.4) == pytest.approx(
      0.0, abs=0.02)
  wrist = behaviours.WristAligner()
  error = wrist(state, target)
  assert error == pytest.approx(0.4, abs=0.03)
  reach = behaviours.make_behaviour('reach_red', behaviours.noise_free())
  assert reach(state)[3] > 0.0
  for _ in range(10):
    state = env.step(reach(state)).observation
  # Turned the right way (spread over the descent: at least 0.1 rad here).
  left = behaviours._half_turn(target - behaviours.closing_yaw(state))
  assert 0.0 < left < 0.3, left


def test_pick_grasps_a_hand_placed_cube_and_lifts_it(env):
  state = _scene(env, pinch=(0.6, 0.0, 0.16), red=(0.6, 0.0, 0.076),
                 red_quat=_yawed(0.5))
  pick = behaviours.make_behaviour('lift_red', behaviours.noise_free())
  grasped_at = None
  for step in range(90):
    state = env.step(pick(state)).observation
    holding = (state[L['grasp']][0] == 2 and
               state[L['gripper_angle']][0] < behaviours.FINGERS_SHUT)
    if grasped_at is None and holding:
      grasped_at = step
  assert grasped_at is not None and grasped_at < 60, grasped_at
  assert state[L['red_pose_pos']][2] > 0.12
  assert rewards.lift(np.asarray(state, np.float64), 'red') > 0.5


def test_a_thin_stick_lying_on_its_x_face_is_grasped_across_y():
  # r6 (29 x 29 x 150 mm) with body x up: body y stays along world y (yaw
  # pi/2); body z, its 15 cm length, along world -x (yaw pi = 0).
  state = np.zeros(layout.STATE_SIZE)
  state[L['red_pose_quat']] = [np.cos(-np.pi / 4), 0, np.sin(-np.pi / 4), 0]
  state[L['green_pose_pos']] = state[L['blue_pose_pos']] = [0.4, 0.3, 0.07]
  state[L['red_pose_pos']] = [0.6, 0.0, 0.061]  # 2.2 cm tall: thin.
  assert abs(behaviours._half_turn(
      behaviours.grasp_yaws(state, 'red')[0] - np.pi / 2)) < 1e-6
  state[L['red_pose_pos']] = [0.6, 0.0, 0.074]  # 4.8 cm: z, then y.
  assert abs(behaviours._half_turn(
      behaviours.grasp_yaws(state, 'red')[0])) < 1e-6


def test_a_stick_on_its_y_face_or_propped_is_never_closed_along_z():
  state = np.zeros(layout.STATE_SIZE)
  state[L['green_pose_pos']] = state[L['blue_pose_pos']] = [0.4, 0.3, 0.07]
  # r6 on its y face (a quarter turn about world x): body x along world x
  # (yaw 0), its length z along world -y (yaw pi/2), 2.2 cm tall.
  state[L['red_pose_quat']] = [np.cos(np.pi / 4), np.sin(np.pi / 4), 0, 0]
  state[L['red_pose_pos']] = [0.6, 0.0, 0.061]
  # Green 6 cm along x: an open finger across x comes down 1.2 cm from its
  # centre, a prism would be closed along z instead; a stick may not.
  state[L['green_pose_pos']] = [0.66, 0.0, 0.07]
  yaws = behaviours.grasp_yaws(state, 'red')
  assert abs(behaviours._half_turn(yaws[0])) < 1e-6, yaws
  # r6 on its x face, its far end raised 0.05 rad on a neighbour (the
  # face itself within 3 degrees of level), 3.6 cm above the floor: y
  # first (yaw pi/2), not z (yaw pi).
  state[L['green_pose_pos']] = [0.4, 0.3, 0.07]
  half = (0.05 - np.pi / 2) / 2
  state[L['red_pose_quat']] = [np.cos(half), 0, np.sin(half), 0]
  state[L['red_pose_pos']] = [0.6, 0.0, 0.068]
  yaws = behaviours.grasp_yaws(state, 'red')
  assert abs(behaviours._half_turn(yaws[0] - np.pi / 2)) < 1e-6, yaws


def _synthetic(red_yaw, pinch, angle=0.0, grasp=1):
  """An 86-D state with red (a 5 cm cube, upright) at (0.6, 0, 0.075)
  turned `red_yaw`, the others far away, the pinch at `pinch`."""
  state = np.zeros(layout.STATE_SIZE)
  state[L['red_pose_pos']] = [0.6, 0.0, 0.075]
  state[L['red_pose_quat']] = _yawed(red_yaw)
  state[L['green_pose_pos']] = [0.45, 0.3, 0.075]
  state[L['blue_pose_pos']] = [0.75, 0.3, 0.075]
  state[L['green_pose_quat']] = state[L['blue_pose_quat']] = [1, 0, 0, 0]
  state[L['pinch_pose_pos']] = pinch
  state[L['pinch_pose_quat']] = _down(0.0)
  state[L['gripper_angle']] = angle
  state[L['grasp']] = grasp
  return state


def test_a_slipping_grasp_is_retried_along_another_yaw():
  pick = behaviours.make_behaviour('lift_red', behaviours.noise_free())
  above = (0.6, 0.0, 0.2)
  pick(_synthetic(0.0, above))
  assert pick.phase == 'approach'
  # Held at finger angle 100, then the fingers close 15 further while
  # lifting: the object slides out; the controller lets go and retreats.
  at = (0.6, 0.0, 0.07)
  pick._go('carry', _synthetic(0.0, at, angle=100.0, grasp=2))
  pick(_synthetic(0.0, at, angle=104.0, grasp=2))
  assert pick.phase == 'carry'  # Settling a little is not a slip.
  pick(_synthetic(0.0, at, angle=115.0, grasp=2))
  assert pick.phase == 'retreat'
  # The cube has turned a quarter: its second grasp axis now points where
  # the first one did. The retry must not close along the failed yaw.
  pick._go('approach', _synthetic(np.pi / 2, above))
  pick(_synthetic(np.pi / 2, above))
  assert pick.phase == 'approach'
  assert abs(behaviours._half_turn(pick._yaw)) > 1.0, pick._yaw


def _on_slanted_face(state):
  """r5 (a 5 cm cube sheared 42 degrees) lying on a slanted face: turned
  about body x, which stays horizontal (world x); body z leans 48 degrees
  from the vertical, body y 42."""
  turn = np.arccos(0.67)  # |z . up| = 0.67, |y . up| = 0.74.
  state[L['red_pose_quat']] = [np.cos(turn / 2), np.sin(turn / 2), 0, 0]
  return state


def test_which_axes_can_hold_an_object():
  state = _on_slanted_face(_synthetic(0.0, (0.6, 0.0, 0.2)))
  # Across x: two upright parallel faces. Across z: faces leaning 48
  # degrees, a wedge the fingers squeeze out; y leans further still.
  assert [behaviours.can_hold_along(state, 'red', axis)
          for axis in range(3)] == [True, False, False]
  # r6 lying on its x face, 2.2 cm tall: across y it holds; along z, its
  # 15 cm length, the open fingers cannot reach round it.
  state[L['red_pose_quat']] = [np.cos(-np.pi / 4), 0, np.sin(-np.pi / 4), 0]
  state[L['red_pose_pos']] = [0.6, 0.0, 0.061]
  assert behaviours.can_hold_along(state, 'red', 1)
  assert not behaviours.can_hold_along(state, 'red', 2)
  # The same pose 4.8 cm tall is no stick: its z is upright and holds.
  state[L['red_pose_pos']] = [0.6, 0.0, 0.074]
  assert behaviours.can_hold_along(state, 'red', 2)


def test_a_failed_grasp_is_retried_along_the_only_axis_that_holds():
  pick = behaviours.make_behaviour('lift_red', behaviours.noise_free())
  above = (0.6, 0.0, 0.2)
  pick(_on_slanted_face(_synthetic(0.0, above)))
  assert pick.phase == 'approach'
  assert abs(behaviours._half_turn(pick._yaw)) < 1e-6  # Across body x.
  # The grasp slips while lifting (as in test_a_slipping_grasp_...), but
  # the other axis leans: retreat, then the same yaw again.
  at = (0.6, 0.0, 0.07)
  pick._go('carry', _on_slanted_face(_synthetic(0.0, at, 100.0, 2)))
  pick(_on_slanted_face(_synthetic(0.0, at, angle=115.0, grasp=2)))
  assert (pick.phase, pick.attempts) == ('retreat', 2)
  pick._go('approach', _on_slanted_face(_synthetic(0.0, above)))
  pick(_on_slanted_face(_synthetic(0.0, above)))
  assert abs(behaviours._half_turn(pick._yaw)) < 1e-6, pick._yaw
  # A fresh pick whose open fingers come down on something (the sensor's
  # outward grasp) once the wrist is aligned: up clear of the object's
  # top, then the same yaw again.
  pick = behaviours.make_behaviour('lift_red', behaviours.noise_free())
  pick(_on_slanted_face(_synthetic(0.0, above)))
  down = _on_slanted_face(_synthetic(0.0, (0.6, 0.0, 0.09), grasp=3))
  down[L['pinch_pose_quat']] = _down(np.pi / 2)
  assert abs(behaviours._half_turn(behaviours.closing_yaw(down))) < 1e-6
  pick(down)
  assert (pick.phase, pick.attempts) == ('retreat', 2)
  assert pick._retreat_z > behaviours.object_top(down, 'red'), (
      pick._retreat_z)
  assert abs(behaviours._half_turn(pick._grasp_yaw(down))) < 1e-6
  # Blocked again: once is enough, the other axis gets its turn (a
  # neighbour may block this one for good).
  pick._go('approach', down)
  pick(down)
  assert pick.attempts == 3
  assert abs(behaviours._half_turn(pick._grasp_yaw(down))) > 1.0, pick._yaw


def test_reach_bound_goes_straight_at_red_at_the_limit():
  state = np.zeros(layout.STATE_SIZE)
  state[L['pinch_pose_pos']] = [0.6, 0.0, 0.3]
  state[L['red_pose_pos']] = [0.5, 0.1, 0.1]
  action = behaviours.make_reach_bound('red')(state)
  direction = np.array([-0.1, 0.1, -0.2]) / np.linalg.norm([0.1, 0.1, 0.2])
  np.testing.assert_allclose(action[:3], LIMIT * direction, atol=1e-6)
  assert action[4] < 0  # Fingers open.


def test_make_controller_covers_the_evaluation_tasks_and_names_bad_ones():
  for task in rewards.EVALUATION_TASKS:
    controller = behaviours.make_controller(task)
    assert isinstance(controller, behaviours.Behaviour)
    assert controller.config.linear_noise == 0.0
  with pytest.raises(ValueError, match=r"task_name: expected one of \["
                     r"'reach_red'.*'lift_green'\], got 'fly'"):
    behaviours.make_controller('fly')


@pytest.mark.parametrize('centre, hold', [
    # A 15 cm stick standing on the floor (z 0.0498): top at 0.2002; the
    # gripper's body (5 cm above the pinch) stays clear of it.
    (0.125, 0.2002 - 0.05),
    # A 2.2 cm low object: the pinch presses to grasp_depth (1.2 cm) below
    # its centre, under the workspace box's floor that clips the approach.
    (0.061, 0.061 - 0.012),
])
def test_closing_presses_low_objects_down_and_keeps_clear_of_tall_tops(
    centre, hold):
  pick = behaviours.make_behaviour('lift_red', behaviours.noise_free())
  state = _synthetic(0.0, (0.6, 0.0, 0.2))
  state[L['red_pose_pos']] = [0.6, 0.0, centre]
  pick(state)
  assert pick.phase == 'approach'
  pick._go('close', state)
  np.testing.assert_allclose(pick._hold[2], hold, atol=1e-3)


def test_release_rate_opens_a_held_object_and_grasps_it_again(env):
  # Data with releases (collect.py --release_rate): the carry opens the
  # fingers on purpose, the object drops, and the behaviour picks it again.
  state = _scene(env, pinch=(0.6, 0.0, 0.16), red=(0.6, 0.0, 0.076),
                 red_quat=_yawed(0.5))
  config = behaviours.noise_free(
      behaviours.config_lib.ScriptedConfig(release_rate=0.05))
  pick = behaviours.make_behaviour('lift_red', config, seed=1)
  held = []
  phases = []
  for _ in range(300):
    action = pick(state)
    phases.append(pick.phase)
    if pick.phase == 'drop':
      assert action[4] == behaviours.OPEN
    state = env.step(action).observation
    held.append(bool(state[L['grasp']][0] == 2 and
                     state[L['gripper_angle']][0] < behaviours.FINGERS_SHUT))
  assert 'drop' in phases
  first_drop = phases.index('drop')
  # Held before the drop, let go after it, and held again later.
  assert held[first_drop - 1]
  gone = held.index(False, first_drop)
  assert gone - first_drop < 20, gone - first_drop
  assert True in held[gone:], 'never grasped again after the release'


def test_release_rate_is_a_probability():
  with pytest.raises(ValueError, match=r'release_rate: expected a '
                     r'probability in \[0, 1\], got 1.5'):
    behaviours.config_lib.ScriptedConfig(release_rate=1.5)


def test_a_carry_climbs_over_an_object_in_its_way_on_a_short_path():
  # Red (a 5 cm cube) held on the floor, hovered over blue 15 cm away
  # along x; green, another 5 cm cube, stands 9 cm along the way, 1 cm
  # off the line. Moved kinematically at the effector's 0.07 m/s.
  pick = behaviours.make_behaviour('red_hover_blue', behaviours.noise_free())
  state = _synthetic(0.0, (0.55, 0.0, 0.075), angle=100.0, grasp=2)
  state[L['red_pose_pos']] = [0.55, 0.0, 0.075]
  state[L['green_pose_pos']] = [0.64, 0.01, 0.075]
  state[L['blue_pose_pos']] = [0.70, 0.0, 0.075]
  goal = np.array([0.70, 0.0, 0.175])
  pick._go('carry', state)
  path = [state[L['red_pose_pos']].copy()]
  for _ in range(150):
    velocity = pick(state)[:3].astype(np.float64)
    velocity *= min(1.0, LIMIT / max(np.linalg.norm(velocity), 1e-9))
    for key in ('red_pose_pos', 'pinch_pose_pos'):
      state[L[key]] += velocity * STEP_S
    path.append(state[L['red_pose_pos']].copy())
    if np.linalg.norm(path[-1] - goal) < 0.01:
      break
  path = np.array(path)
  assert np.linalg.norm(path[-1] - goal) < 0.01, path[-1]
  # Red's bottom passes over green's top (0.1) wherever their 5 cm
  # footprints, with finger pads around red, could touch.
  near = np.linalg.norm(path[:, :2] - [0.64, 0.01], axis=1) < 0.055
  assert near.any()
  assert (path[near, 2] - 0.025 > 0.1 + 0.005).all(), path[near]
  # Shortest path under that rule: straight to the corner where red
  # comes within 5.5 cm of green, at the height that clears it, then
  # straight to the goal. Rising straight up until the line to the goal
  # clears green, then along it, was 7.6 % longer.
  corner = np.array([0.64 - np.sqrt(0.055**2 - 0.01**2), 0.0, 0.13])
  shortest = (np.linalg.norm(corner - path[0]) +
              np.linalg.norm(goal - corner))
  length = np.linalg.norm(np.diff(path, axis=0), axis=1).sum()
  assert length < 1.05 * shortest, (length, shortest)


def test_an_approach_held_up_on_something_stops_pushing_down():
  # The arm's actuators integrate the commanded velocity: pushing down at
  # full speed against an edge winds them up, and the arm then takes as
  # long to rise again (measured: 9 steps after 9 stalled ones).
  pick = behaviours.make_behaviour('lift_red', behaviours.noise_free())
  # Aligned over the cube, open, 2 cm above its centre, not moving.
  held_up = _synthetic(0.0, (0.6, 0.0, 0.095))
  held_up[L['pinch_pose_quat']] = _down(np.pi / 2)
  pushes = [pick(held_up)[2] for _ in range(6)]
  assert pick.phase == 'approach'
  assert pushes[0] < -0.05, pushes  # Full speed down at first.
  assert all(-0.01 - 1e-6 <= push <= 0.0 for push in pushes[2:]), pushes
