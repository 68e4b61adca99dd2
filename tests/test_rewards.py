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


def test_lift():
  # Red on the floor (z 0.07 < 0.1048): 0 however well grasped.
  assert _both('lift_red', _state(red=(0.6, 0, 0.07), grasp=2)) == 0.0
  # Lifted 0.1498+ and grasped inward: 1; open gripper, no grasp: 0.5 * 0.05.
  assert _both('lift_red', _state(red=(0.6, 0, 0.16), finger=255,
                                  grasp=2)) == 1.0
  np.testing.assert_allclose(
      _both('lift_red', _state(red=(0.6, 0, 0.16), finger=0, grasp=1)),
      0.5 * 0.05, atol=1e-9)
  # Halfway up: 0.5 of the lift height.
  np.testing.assert_allclose(
      _both('lift_red', _state(red=(0.6, 0, 0.1273), grasp=2)), 0.5,
      atol=1e-6)
  # Outside the workspace ellipsoid: 0.
  assert _both('lift_red', _state(red=(0.9, 0, 0.16), grasp=2)) == 0.0


def test_hover_stack_and_bring():
  blue = (0.65, -0.08, 0.07)
  hovering = (0.65, -0.08, 0.17)
  assert _both('red_hover_blue', _state(red=hovering, blue=blue)) == 1.0
  assert _both('red_hover_green', _state(red=hovering, blue=blue)) < 0.5
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
  assert _both('bring_red', _state(red=(0.6, 0.0, 0.2))) == 1.0
  assert _both('bring_red', _state(red=(0.6, 0.0, 0.07))) < 0.8


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
  assert set(rewards.EVALUATION_TASKS + rewards.BASE_BEHAVIOURS) == set(
      rewards.TASKS)
  with pytest.raises(ValueError, match="'stack_purple' is unknown; valid"):
    rewards.get_task('stack_purple')
  with pytest.raises(ValueError, match=r'state: expected shape \(86,\)'):
    rewards.numpy_reward('reach_red')(np.zeros(85))
