"""Task rewards on hand-built states, numpy and JAX (jitted and vmapped)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme.environments.rgb_stacking import layout
from jumpy_acme.environments.rgb_stacking import rewards

L = layout.LAYOUT


def _state(pinch=(0.6, 0.0, 0.2), red=(0.55, 0.0, 0.07),
           green=(0.65, 0.08, 0.07), blue=(0.65, -0.08, 0.07),
           finger=0.0, grasp=1.0):
  state = np.zeros(86)
  state[L['pinch_pose_pos']] = pinch
  for colour, pos in (('red', red), ('green', green), ('blue', blue)):
    state[L[f'{colour}_pose_pos']] = pos
    state[L[f'{colour}_pose_quat']] = (1, 0, 0, 0)
  state[L['gripper_angle']] = finger
  state[L['grasp']] = grasp
  return state


def _both(name, state):
  """The numpy value, after checking that JAX (jitted) gives the same."""
  value = rewards.numpy_reward(name)(state)
  jax_value = jax.jit(rewards.jax_reward(name))(jnp.asarray(state,
                                                            jnp.float32))
  np.testing.assert_allclose(float(jax_value), value, atol=1e-5)
  return value


def test_layout_names_the_86_dims():
  assert L.size == 86
  assert L['joint_angles'] == slice(0, 7)
  assert L['pinch_pose_pos'] == slice(21, 24)
  assert L['grasp'] == slice(43, 44)
  assert L['red_pose'] == slice(44, 51)
  assert L['blue_to_pinch'] == slice(79, 86)
  assert len(L.indices('arm')) == 41 and len(L.indices('red')) == 14
  with pytest.raises(KeyError, match='purple_pose'):
    L['purple_pose']  # noqa: B018


def test_reach():
  # Pinch on red: 1. 1 cm away on each axis: still inside the tolerance.
  assert _both('reach_red', _state(pinch=(0.55, 0.0, 0.07))) == 1.0
  assert _both('reach_red', _state(pinch=(0.56, 0.01, 0.07))) == 1.0
  # 15 cm away (the margin): 1 - 0.95.
  np.testing.assert_allclose(
      _both('reach_red', _state(pinch=(0.55, 0.0, 0.22))), 0.05, atol=1e-9)
  assert _both('reach_green', _state(pinch=(0.55, 0.0, 0.07))) < 0.3


def _shaped(distance, margin):
  """1 - tanh(w d)^2 with w = arctanh(sqrt(0.95)) / margin (the spec's)."""
  return 1.0 - np.tanh(np.arctanh(np.sqrt(0.95)) / margin * distance) ** 2


def test_lift_unstaged():
  # Red on the floor (z 0.07 < 0.1048): 0 however well grasped.
  name = 'lift_red_unstaged'
  assert _both(name, _state(red=(0.6, 0, 0.07), grasp=2)) == 0.0
  # Lifted 0.1498+ and grasped inward: 1; open gripper, no grasp: 0.5 * 0.05.
  assert _both(name, _state(red=(0.6, 0, 0.16), finger=255, grasp=2)) == 1.0
  np.testing.assert_allclose(
      _both(name, _state(red=(0.6, 0, 0.16), finger=0, grasp=1)),
      0.5 * 0.05, atol=1e-9)
  # Halfway up: 0.5 of the lift height.
  np.testing.assert_allclose(
      _both(name, _state(red=(0.6, 0, 0.1273), grasp=2)), 0.5, atol=1e-6)
  # Outside the workspace ellipsoid: 0.
  assert _both(name, _state(red=(0.9, 0, 0.16), grasp=2)) == 0.0


def test_lift_is_staged_reach_grasp_then_lift():
  red = (0.6, 0.0, 0.07)
  # Pinch 13 cm above red, fingers open: half the reach, over 2 stages.
  np.testing.assert_allclose(
      _both('lift_red', _state(red=red, pinch=(0.6, 0.0, 0.2))),
      0.5 * _shaped(0.13, 0.15) / 2, rtol=1e-5)
  # At red, open: reach 1, grasp 0.5 * 0.05 -> (0.5 + 0.0125) / 2.
  np.testing.assert_allclose(
      _both('lift_red', _state(red=red, pinch=red)), 0.5125 / 2, rtol=1e-6)
  # At red and grasped inward: the first stage is complete.
  assert _both('lift_red', _state(red=red, pinch=red, finger=255,
                                  grasp=2)) == 0.5
  # Grasped and halfway up: (1 + 0.5) / 2; all the way: 1.
  half = (0.6, 0.0, 0.1273)
  np.testing.assert_allclose(
      _both('lift_red', _state(red=half, pinch=half, grasp=2)), 0.75,
      atol=1e-6)
  top = (0.6, 0.0, 0.16)
  assert _both('lift_red', _state(red=top, pinch=top, finger=255,
                                  grasp=2)) == 1.0
  # lift_green follows green, not red.
  assert _both('lift_green', _state(red=top, pinch=top, grasp=2)) < 0.25
  # Success means the same as the unstaged lift's 0.9.
  assert rewards.get_task('lift_red').success_threshold == pytest.approx(
      0.95)


def test_hover_stack_and_bring():
  blue = (0.65, -0.08, 0.07)
  hovering = (0.65, -0.08, 0.17)
  # Hovering over blue (open gripper: the lift stage is 0.025 > 0.01).
  assert _both('red_hover_blue', _state(red=hovering, blue=blue)) == 1.0
  assert _both('red_hover_blue_unstaged',
               _state(red=hovering, blue=blue)) == 1.0
  # Over blue is 16 cm from green's hover point: the hover stage, shaped.
  np.testing.assert_allclose(
      _both('red_hover_green', _state(red=hovering, blue=blue)),
      (2 + _shaped(0.16, 0.2)) / 3, rtol=1e-5)
  assert _both('red_hover_green_unstaged',
               _state(red=hovering, blue=blue)) < 0.5
  # Red on the floor, pinch at it and grasped: stage 0 complete, 1/3.
  on_floor = (0.55, 0.0, 0.07)
  np.testing.assert_allclose(
      _both('red_hover_blue', _state(red=on_floor, pinch=on_floor,
                                     finger=255, grasp=2)), 1 / 3, atol=1e-6)
  # Red resting on blue, released, pinch 10 cm above red: all five stages.
  on_blue = (0.65, -0.08, 0.11)
  stacked = _state(red=on_blue, blue=blue, pinch=(0.65, -0.08, 0.21))
  assert _both('red_stack_blue', stacked) == 1.0
  # Same but still grasped inward: the stack stage fails.
  assert _both('red_stack_blue',
               _state(red=on_blue, blue=blue, pinch=(0.65, -0.08, 0.11),
                      grasp=2, finger=255)) < 0.8
  # Red on the floor, pinch far: only a little reach shaping.
  assert _both('red_stack_blue', _state()) < 0.1
  # bring: red at the target; red on the floor pays only the reach shaping
  # (the unstaged distance pays for doing nothing).
  assert _both('bring_red', _state(red=(0.6, 0.0, 0.2))) == 1.0
  rest = _state(red=(0.6, 0.0, 0.07), pinch=(0.6, 0.0, 0.2))
  np.testing.assert_allclose(_both('bring_red', rest),
                             0.5 * _shaped(0.13, 0.15) / 3, rtol=1e-5)
  np.testing.assert_allclose(_both('bring_red_unstaged', rest),
                             _shaped(0.13, 0.2), rtol=1e-5)
  # Red held at the target's height but below z 0.1 is not brought.
  assert _both('bring_red', _state(red=(0.6, 0.0, 0.095), pinch=(
      0.6, 0.0, 0.095), finger=255, grasp=2)) < 2 / 3


def test_fingers_and_moves():
  assert _both('open_fingers', _state(finger=0)) == 1.0
  np.testing.assert_allclose(_both('close_fingers', _state(finger=0)), 0.05,
                             atol=1e-9)
  assert _both('close_fingers', _state(finger=255)) == 1.0
  np.testing.assert_allclose(
      _both('move_pinch_x_inc', _state(pinch=(0.725, 0, 0.2))), 1.0)
  np.testing.assert_allclose(
      _both('move_pinch_x_dec', _state(pinch=(0.6, 0, 0.2))), 0.5)
  np.testing.assert_allclose(
      _both('move_pinch_z_inc', _state(pinch=(0.6, 0, 0.1698))), 0.5)
  np.testing.assert_allclose(
      _both('move_pinch_y_dec', _state(pinch=(0.6, -0.2, 0.2))), 1.0)


def test_every_task_is_in_unit_interval_and_vmaps():
  rng = np.random.default_rng(0)
  states = np.stack([_state(pinch=rng.uniform([0.45, -0.15, 0.05],
                                              [0.75, 0.15, 0.3]),
                            red=rng.uniform([0.5, -0.1, 0.06],
                                            [0.7, 0.1, 0.2]),
                            finger=rng.uniform(0, 255),
                            grasp=rng.integers(1, 4)) for _ in range(64)])
  for name in rewards.TASKS:
    batched = jax.jit(jax.vmap(rewards.jax_reward(name)))(
        jnp.asarray(states, jnp.float32))
    assert batched.shape == (64,)
    expected = [rewards.numpy_reward(name)(s) for s in states]
    np.testing.assert_allclose(batched, expected, atol=1e-5, err_msg=name)
    assert np.all((np.asarray(batched) >= 0) & (np.asarray(batched) <= 1))


def test_task_lists_and_errors():
  assert len(rewards.EVALUATION_TASKS) == 9
  assert len(rewards.BASE_BEHAVIOURS) == 11
  assert set(rewards.EVALUATION_TASKS + rewards.BASE_BEHAVIOURS +
             rewards.UNSTAGED_TASKS) == set(rewards.TASKS)
  with pytest.raises(ValueError, match="'stack_purple' is unknown; valid"):
    rewards.get_task('stack_purple')
  with pytest.raises(ValueError, match=r'state: expected shape \(86,\)'):
    rewards.numpy_reward('reach_red')(np.zeros(85))
