"""The RGB-stacking scene, compiled once and driven without composer.

Rebuilds the original's world from dm_robotics parts (facts in
../shared/spec/rgb_stacking.md): the RGB basket, a Sawyer with integrated-
velocity actuators, a Robotiq 2F-85 gripper on an FTS300 wrist sensor and
three rgb-object props. The model is compiled once; resets never recompile
(our own inverse kinematics on a scratch MjData, props settled with noslip
off and an early stop), and a control step is one effector call plus 100
physics substeps.

Controller chain, as the original: the 5-D action [vx, vy, vz, wz, grip]
goes through the workspace limiter (zeroes commands that push the pinch
further out of the box, or the wrist past +-pi/2), the 4-D Cartesian
velocity effector (keeps the gripper pointing down, rotation gain 0.8) and
the 6-D Cartesian velocity effector (a QP over joint velocities) to the
arm's integrated-velocity actuators; the gripper is bang-bang +-255.
`controller='numpy'` (the default) computes the limiter and the 4-D step in
numpy and calls dm_robotics' 6-D effector and QP as they are; it gives the
same commands as `controller='dm_robotics'` (tested) at a tenth of the cost.
"""

import dataclasses
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple


def _default_gl_backend() -> str:
  """OSMesa where its library is installed (it renders headless here), else
  EGL, which at least imports cleanly without a display (docs/environment.md).
  """
  import ctypes.util  # pylint: disable=g-import-not-at-top
  return 'osmesa' if ctypes.util.find_library('OSMesa') else 'egl'


# mujoco and dm_control choose their GL backend when first imported: set it
# before importing them.
os.environ.setdefault('MUJOCO_GL', _default_gl_backend())

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from dm_control import mjcf  # noqa: E402
from dm_robotics.manipulation.props.rgb_objects import rgb_object  # noqa: E402
from dm_robotics.manipulation.standard_cell import rgb_basket  # noqa: E402
from dm_robotics.moma import prop as moma_prop  # noqa: E402
from dm_robotics.moma import robot as moma_robot  # noqa: E402
from dm_robotics.moma.effectors import arm_effector  # noqa: E402
from dm_robotics.moma.effectors import (  # noqa: E402
    cartesian_4d_velocity_effector as c4d)
from dm_robotics.moma.effectors import (  # noqa: E402
    cartesian_6d_velocity_effector as c6d)
from dm_robotics.moma.effectors import default_gripper_effector  # noqa: E402
from dm_robotics.moma.effectors import min_max_effector  # noqa: E402
from dm_robotics.moma.models.arenas import empty  # noqa: E402
from dm_robotics.moma.models.end_effectors.robot_hands import robotiq_2f85  # noqa: E402
from dm_robotics.moma.models.end_effectors.robot_hands import (  # noqa: E402
    robotiq_2f85_constants)
from dm_robotics.moma.models.end_effectors.wrist_sensors import robotiq_fts300  # noqa: E402
from dm_robotics.moma.models.robots.robot_arms import sawyer  # noqa: E402
from dm_robotics.moma.models.robots.robot_arms import sawyer_constants  # noqa: E402
from dm_robotics.moma.utils import mujoco_collisions  # noqa: E402
from dm_robotics.transformations import transformations as tr  # noqa: E402

from jumpy_acme.environments.rgb_stacking import constants  # noqa: E402
from jumpy_acme.environments.rgb_stacking import layout  # noqa: E402

# Timing.
PHYSICS_TIMESTEP = 0.0005
CONTROL_TIMESTEP = 0.05
SUBSTEPS = 100
# gripper/joints/velocity is the change of the rounded finger position over
# the last 25 substeps of a control step: the original's sensor is built
# while the physics timestep is still MuJoCo's default 0.002 s, so its
# update interval is 0.05 / 0.002 = 25 substeps (samples at 25, 50, 75,
# 100; the observation is the last two's difference).
GRIPPER_VELOCITY_SUBSTEPS = 25
# The original's reset ends with one control step of its no-op reset option
# (zero Cartesian velocity; the gripper's 0 maps to -255, open) before the
# first observation.
RESET_ACTION = np.zeros(5, np.float32)

# Geometry (metres, radians).
BASKET_ORIGIN = constants.BASKET_ORIGIN
WORKSPACE_CENTER = np.array(constants.WORKSPACE_CENTER)
WORKSPACE_SIZE = np.array(constants.WORKSPACE_SIZE)
WORKSPACE_MIN = WORKSPACE_CENTER - WORKSPACE_SIZE / 2
WORKSPACE_MAX = WORKSPACE_CENTER + WORKSPACE_SIZE / 2
WRIST_LIMITS = (-np.pi / 2, np.pi / 2)
TCP_POSE_MIN = np.array([0.5, -0.14, 0.22, np.pi, 0.0, -np.pi / 4])
TCP_POSE_MAX = np.array([0.7, 0.14, 0.43, np.pi, 0.0, np.pi / 4])
PROP_POSITION_MIN = np.array([0.50, -0.10, 0.12])
PROP_POSITION_MAX = np.array([0.70, 0.10, 0.12])
PROP_MASS = 0.2  # kg per prop, all bodies together (the original's).

# Action: [vx, vy, vz (m/s, world), wz (rad/s), gripper (<= 0 open)].
ACTION_MIN = np.array(constants.ACTION_MINIMUM, np.float32)
ACTION_MAX = np.array(constants.ACTION_MAXIMUM, np.float32)

# Cartesian controller (the original's parameters).
MAX_LINEAR_VELOCITY = 0.07
MAX_ROTATIONAL_VELOCITY = 1.0
ROTATION_GAIN = 0.8
NULLSPACE_GAIN = 0.025
NULLSPACE_REFERENCE = np.array([0.0, -0.5186220703125, -0.529384765625,
                                1.220857421875, 0.40857421875,
                                1.07831640625, 0.0])
JOINT_MIN = np.array(sawyer_constants.JOINT_LIMITS['min'])
JOINT_MAX = np.array(sawyer_constants.JOINT_LIMITS['max'])
FINGER_JOINT_RANGE = 0.8  # Driver joint range, mapped to 0..255.

TRIPLETS: Dict[str, Tuple[str, str, str]] = {
    f'triplet{i}': tuple(rgb_object.PROP_TRIPLETS[f'rgb_test_triplet{i}'].ids)
    for i in range(1, 6)}
RANDOM_TRIPLET_SETS = ('rgb_test_random', 'rgb_train_random',
                       'rgb_heldout_random')
TRIPLET_NAMES = tuple(TRIPLETS) + RANDOM_TRIPLET_SETS


def resolve_triplet(name: str, rng: np.random.Generator
                    ) -> Tuple[str, str, str]:
  """Object ids (red, green, blue) for a triplet name; random sets draw once.

  rgb_test_random: one of the five test triplets. rgb_train_random /
  rgb_heldout_random: one id per colour from dm_robotics' train / held-out
  object sets (as its random_triplet), drawn with `rng` so seeds reproduce.
  """
  if name in TRIPLETS:
    return TRIPLETS[name]
  if name == 'rgb_test_random':
    return TRIPLETS[f'triplet{rng.integers(1, 6)}']
  if name == 'rgb_train_random':
    pool = sorted(rgb_object.RGB_OBJECTS_TRAIN_SET)
  elif name == 'rgb_heldout_random':
    pool = sorted(rgb_object.RGB_OBJECTS_HELDOUT_SET)
  else:
    raise ValueError(f'triplet: {name!r} is unknown; valid triplets: '
                     f'{list(TRIPLET_NAMES)}.')
  return tuple(str(x) for x in rng.choice(pool, size=3))


def _positive_quat(quat: np.ndarray) -> np.ndarray:
  """wxyz quaternion with w >= 0."""
  return -quat if quat[0] < 0 else quat


_STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION


@dataclasses.dataclass(frozen=True)
class SceneState:
  """What Scene.get_state() saves: physics [mj_stateSize] and memory."""
  physics: np.ndarray
  previous_finger: float
  last_command: np.ndarray  # [8] float32.


@dataclasses.dataclass
class SettleOptions:
  """How reset lets the props come to rest.

  The original steps until all props are still (never reached: a prop on
  the basket floor keeps rocking on its contact point) or 2 s of physics.
  Here: noslip off while settling (3x cheaper substeps), and an early stop
  once every prop moved less than `tolerance` metres and ~0.5 degrees over
  the last `window` seconds. tolerance=None: the original's fixed 2 s.
  """
  max_time: float = 2.0
  tolerance: Optional[float] = 5e-4
  window: float = 0.1
  chunk: int = 50
  noslip_iterations: int = 0

  def __post_init__(self):
    if not self.max_time > 0:
      raise ValueError(f'max_time: expected > 0, got {self.max_time}.')
    if self.tolerance is not None and not self.tolerance > 0:
      raise ValueError(
          f'tolerance: expected None or > 0, got {self.tolerance}.')
    if not self.window > 0:
      raise ValueError(f'window: expected > 0, got {self.window}.')
    if self.chunk < 1 or self.noslip_iterations < 0:
      raise ValueError('chunk: expected >= 1 and noslip_iterations >= 0, got '
                       f'{self.chunk} and {self.noslip_iterations}.')


class Scene:
  """Compiled RGB-stacking physics with the original controller chain."""

  def __init__(self, triplet: Sequence[str] = TRIPLETS['triplet1'],
               controller: str = 'numpy',
               settle: Optional[SettleOptions] = None):
    if controller not in ('numpy', 'dm_robotics'):
      raise ValueError("controller: expected 'numpy' or 'dm_robotics', got "
                       f'{controller!r}.')
    self.triplet = tuple(triplet)
    self.controller = controller
    self.settle = settle or SettleOptions()
    self._build_model()
    self._index_model()
    self._build_effectors()
    self._ik_data = mujoco.MjData(self.physics.model.ptr)
    self._previous_finger = 0.0
    self.last_command = np.zeros(8, np.float32)  # action/environment.

  # Construction.

  def _build_model(self):
    arena = empty.Arena()  # composer's arena: elliptic cones, noslip 5.
    model = arena.mjcf_model
    model.size.nconmax = model.size.njmax = 5000
    model.option.timestep = PHYSICS_TIMESTEP
    model.option.integrator = 'Euler'
    model.option.solver = 'Newton'
    model.option.iterations = 100
    model.option.noslip_iterations = 5
    site = model.worldbody.add('site', name='basket_site', pos=BASKET_ORIGIN,
                               rgba='0 0 0 0', size='0.01')
    arena.attach(rgb_basket.RGBBasket(), site)
    arm = sawyer.Sawyer(
        name='robot0',
        actuation=sawyer_constants.Actuation.INTEGRATED_VELOCITY)
    gripper = robotiq_2f85.Robotiq2F85()
    wrist_ft = robotiq_fts300.RobotiqFTS300()
    moma_robot.standard_compose(arm=arm, gripper=gripper, wrist_ft=wrist_ft,
                                wrist_cameras=[])
    arena.attach(arm)
    props, self._prop_joints = [], []
    for object_id, colour, rgba in zip(
        self.triplet, layout.COLOURS,
        ([1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1])):
      inner = rgb_object.RgbObjectProp(obj_id=object_id, color=rgba,
                                       name=f'rgb_object_{colour}')
      prop = moma_prop.WrapperProp(wrapped_entity=inner,
                                   name=f'rgb_object_{colour}')
      joint = arena.add_free_entity(prop).freejoint
      prop.set_freejoint(joint)
      props.append(prop)
      self._prop_joints.append(joint)
    # The original's video camera: in the world body, about 10 degrees
    # below the horizontal, facing the robot over the basket.
    model.worldbody.add('camera', name='main_camera', pos=(1.4, 0.0, 0.45),
                        quat=(0.541, 0.455, 0.456, 0.541), fovy=45)
    mujoco_collisions.exclude_bodies_based_on_contype_conaffinity(model)
    self.arena, self.arm, self.gripper, self.wrist_ft = (arena, arm, gripper,
                                                         wrist_ft)
    self.props = props
    self.physics = mjcf.Physics.from_mjcf_model(model)

  def _index_model(self):
    physics, arm, gripper = self.physics, self.arm, self.gripper
    model = physics.model
    bind = physics.bind
    self.arm_qpos = np.array(bind(arm.joints).qposadr)
    self.arm_dof = np.array(bind(arm.joints).dofadr)
    self.arm_actuators = np.array(bind(arm.actuators).element_id)
    self.gripper_actuator = int(bind(gripper.actuators[0]).element_id)
    self.command_actuators = np.r_[self.arm_actuators, self.gripper_actuator]
    self.wrist_site = int(bind(arm.wrist_site).element_id)
    self.pinch_site = int(bind(gripper.tool_center_point).element_id)
    sensor = lambda element: int(model.sensor_adr[bind(element).element_id])
    self.torque_sensors = np.array([sensor(s) for s in
                                    arm.joint_torque_sensors]) + 2  # z.
    self.force_sensor = sensor(self.wrist_ft.force_sensor)
    self.wrench_torque_sensor = sensor(self.wrist_ft.torque_sensor)
    self.finger_sensor = sensor(gripper.joint_sensor)
    self.prop_qpos = [int(bind(j).qposadr) for j in self._prop_joints]
    self.prop_dof = [int(bind(j).dofadr) for j in self._prop_joints]
    self.prop_geoms = [np.array(bind(p.mjcf_model.find_all('geom')).element_id)
                       for p in self.props]
    self.pad_geoms = np.array([
        model.name2id(gripper.mjcf_model.find('geom', name).full_identifier,
                      'geom')
        for name in ('reinforced_right_fingertip_geom',
                     'reinforced_left_fingertip_geom')])
    self.arm_range = np.array(model.jnt_range[bind(arm.joints).element_id])
    self.robot_bodies = np.array(
        bind(arm.mjcf_model.find_all('body')).element_id)
    # The robot's joints come before the props' in qpos/qvel.
    self.robot_qpos = np.arange(0, min(self.prop_qpos))
    self.robot_dof = np.arange(0, min(self.prop_dof))
    # The models' after_substep clips the integrated actuators' states in
    # Python; MuJoCo's actuator limits do the same inside mj_step.
    model.actuator_actlimited[self.arm_actuators] = 1
    model.actuator_actrange[self.arm_actuators] = np.stack(
        [JOINT_MIN, JOINT_MAX], axis=1)
    model.actuator_actlimited[self.gripper_actuator] = 1
    model.actuator_actrange[self.gripper_actuator] = (0.0, 255.0)

  def _build_effectors(self):
    arm, gripper = self.arm, self.gripper
    joint_effector = arm_effector.ArmEffector(
        arm=arm, action_range_override=None, robot_name='robot0')
    self._effector_6d = c6d.Cartesian6dVelocityEffector(
        robot_name='robot0', joint_velocity_effector=joint_effector,
        model_params=c6d.ModelParams(element=arm.wrist_site,
                                     joints=arm.joints),
        control_params=c6d.ControlParams(
            control_timestep_seconds=CONTROL_TIMESTEP,
            max_lin_vel=MAX_LINEAR_VELOCITY,
            max_rot_vel=MAX_ROTATIONAL_VELOCITY,
            joint_velocity_limits=np.array(
                sawyer_constants.VELOCITY_LIMITS['max']),
            nullspace_gain=NULLSPACE_GAIN,
            nullspace_joint_position_reference=NULLSPACE_REFERENCE,
            regularization_weight=1e-2,
            enable_joint_position_limits=True,
            minimum_distance_from_joint_position_limit=0.01,
            joint_position_limit_velocity_scale=0.95,
            max_cartesian_velocity_control_iterations=300,
            max_nullspace_control_iterations=300),
        compile_mjcf=False)  # Reuse our compiled model.
    effector_4d = c4d.Cartesian4dVelocityEffector(
        effector_6d=self._effector_6d, element=arm.wrist_site,
        effector_prefix='robot0_cart_4d_vel', rotation_gain=ROTATION_GAIN)
    self._arm_effector = c4d.limit_to_workspace(
        cartesian_effector=effector_4d, element=gripper.tool_center_point,
        min_workspace_limits=WORKSPACE_MIN, max_workspace_limits=WORKSPACE_MAX,
        wrist_joint=arm.joints[-1], wrist_limits=WRIST_LIMITS,
        reverse_wrist_range=True)
    # The limiter's state: pinch xyz and the negated wrist angle.
    self._limit_min = np.r_[WORKSPACE_MIN, -WRIST_LIMITS[1]]
    self._limit_max = np.r_[WORKSPACE_MAX, -WRIST_LIMITS[0]]
    self._gripper_effector = min_max_effector.MinMaxEffector(
        base_effector=default_gripper_effector.DefaultGripperEffector(
            gripper, 'robot0'))
    for effector in (self._arm_effector, self._gripper_effector):
      effector.after_compile(self.arena.mjcf_model, self.physics)

  # Acting.

  def apply_action(self, action: np.ndarray) -> None:
    """Sets the actuators' controls for a (clipped, finite) 5-D action."""
    action = np.clip(action, ACTION_MIN, ACTION_MAX)
    if self.controller == 'dm_robotics':
      self._arm_effector.set_control(self.physics,
                                     action[:4].astype(np.float64))
    else:
      self._apply_arm_numpy(action[:4].astype(np.float64))
    self._gripper_effector.set_control(self.physics,
                                       action[4:5].astype(np.float32))
    self.last_command = self.physics.data.ctrl[self.command_actuators].astype(
        np.float32)

  def _apply_arm_numpy(self, command: np.ndarray) -> None:
    """The workspace limiter and the 4-D effector, in numpy."""
    data = self.physics.data
    state = np.r_[data.site_xpos[self.pinch_site],
                  -data.qpos[self.arm_qpos[-1]]]
    outward = (((state < self._limit_min) & (command < 0)) |
               ((state > self._limit_max) & (command > 0)))
    command = np.where(outward, 0.0, command)
    # Keep the wrist site's z axis pointing down: rotate it back with a
    # proportional gain, and add the commanded rotation about that axis.
    rotation = data.site_xmat[self.wrist_site].reshape(3, 3)
    correction = tr.quat_between_vectors(np.array([0.0, 0.0, 1.0]),
                                         rotation.T @ np.array([0.0, 0.0,
                                                                -1.0]))
    stabilise = ROTATION_GAIN * tr.quat_to_axisangle(
        correction / np.linalg.norm(correction))
    angular_local = np.array([stabilise[0], stabilise[1], -command[3]])
    self._effector_6d.set_control(self.physics,
                                  np.r_[command[:3], rotation @ angular_local])

  def step(self, action: np.ndarray) -> None:
    """One control step: controls, then 100 physics substeps.

    The finger position is also read 25 substeps before the end, for
    gripper/joints/velocity (GRIPPER_VELOCITY_SUBSTEPS). Sensors are brought
    up to date (forward()) wherever they are read, as the original's are.
    """
    self.apply_action(action)
    self.physics.step(SUBSTEPS - GRIPPER_VELOCITY_SUBSTEPS)
    self.physics.forward()
    self._previous_finger = self.gripper_angle()
    self.physics.step(GRIPPER_VELOCITY_SUBSTEPS)
    # mj_step leaves sensors and contacts as they were at the start of the
    # last substep. The original reads its sensors through bindings after
    # the models' after_substep wrote to the physics, which runs forward()
    # first: torques, F/T, finger position and contacts of the final state.
    self.physics.forward()

  # Saving and restoring.

  def get_state(self) -> 'SceneState':
    """A copy of everything the next steps depend on.

    MuJoCo's integration state (time, qpos, qvel, actuator states, solver
    warm start, controls, applied forces) plus the observation memory (the
    finger reading for gripper/joints/velocity, the previous command).
    """
    model, data = self.physics.model.ptr, self.physics.data.ptr
    physics = np.empty(mujoco.mj_stateSize(model, _STATE_SPEC))
    mujoco.mj_getState(model, data, physics, _STATE_SPEC)
    return SceneState(physics, self._previous_finger,
                      self.last_command.copy())

  def set_state(self, state: 'SceneState') -> None:
    """Puts the scene back where get_state() found it (no recompiling)."""
    model, data = self.physics.model.ptr, self.physics.data.ptr
    if state.physics.shape != (mujoco.mj_stateSize(model, _STATE_SPEC),):
      raise ValueError('state: expected a SceneState of this scene, got '
                       f'physics of shape {state.physics.shape}.')
    mujoco.mj_setState(model, data, state.physics, _STATE_SPEC)
    mujoco.mj_forward(model, data)
    self._previous_finger = state.previous_finger
    self.last_command = state.last_command.copy()

  # Resetting.

  def reset(self, rng: np.random.Generator) -> Dict[str, float]:
    """Samples a new initial state in place; returns timings (seconds)."""
    start = time.perf_counter()
    model, data = self.physics.model, self.physics.data
    mujoco.mj_resetData(model.ptr, data.ptr)
    # Gravity compensation of every robot body, as the robot models do.
    data.xfrc_applied[:] = 0.0
    data.xfrc_applied[self.robot_bodies, :3] = (
        -model.opt.gravity * model.body_mass[self.robot_bodies][:, None])
    for _ in range(10):
      pose = rng.uniform(TCP_POSE_MIN, TCP_POSE_MAX)
      joints, converged = self.solve_ik(
          pose[:3], tr.euler_to_quat(pose[3:], ordering='XYZ'))
      if converged:
        break
    self.set_arm_joints(joints)
    ik_done = time.perf_counter()
    self._place_props(rng)
    placed = time.perf_counter()
    substeps = self._settle_props()
    self.physics.forward()
    settled = time.perf_counter()
    # The original's no-op reset option: one control step before the first
    # observation (so velocities and the previous command are not zero).
    self.step(RESET_ACTION)
    end = time.perf_counter()
    return {'reset_s': end - start, 'ik_s': ik_done - start,
            'place_s': placed - ik_done, 'settle_s': settled - placed,
            'noop_s': end - settled, 'settle_substeps': float(substeps)}

  def solve_ik(self, position, quaternion, iterations: int = 100,
               damping: float = 1e-4, tolerance: float = 1e-4,
               nullspace_iterations: int = 20) -> Tuple[np.ndarray, bool]:
    """Arm joints that put the pinch site at a pose (no recompiling).

    Damped least squares on a scratch MjData of the compiled model, from the
    controller's nullspace posture, pulled in the nullspace towards the
    middle of the joint ranges for the first iterations (the posture
    dm_robotics' IkSolver prefers); steps are capped at 0.3 rad.
    """
    model, data = self.physics.model.ptr, self._ik_data
    data.qpos[:] = self.physics.data.qpos
    reference = 0.5 * (JOINT_MIN + JOINT_MAX)
    joints = NULLSPACE_REFERENCE.copy()
    low, high = self.arm_range[:, 0], self.arm_range[:, 1]
    jac_pos, jac_rot = np.zeros((3, model.nv)), np.zeros((3, model.nv))
    current, error_quat, inverse = np.zeros(4), np.zeros(4), np.zeros(4)
    rotation_error = np.zeros(3)
    for i in range(iterations):
      data.qpos[self.arm_qpos] = joints
      mujoco.mj_kinematics(model, data)
      mujoco.mj_comPos(model, data)
      position_error = position - data.site_xpos[self.pinch_site]
      mujoco.mju_mat2Quat(current, data.site_xmat[self.pinch_site])
      mujoco.mju_negQuat(inverse, current)
      mujoco.mju_mulQuat(error_quat, quaternion, inverse)
      mujoco.mju_quat2Vel(rotation_error, error_quat, 1.0)
      if (i >= nullspace_iterations and
          np.linalg.norm(position_error) < tolerance and
          np.linalg.norm(rotation_error) < 10 * tolerance):
        return joints, True
      mujoco.mj_jacSite(model, data, jac_pos, jac_rot, self.pinch_site)
      jacobian = np.vstack([jac_pos[:, self.arm_dof], jac_rot[:, self.arm_dof]])
      damped = jacobian @ jacobian.T + damping * np.eye(6)
      delta = jacobian.T @ np.linalg.solve(
          damped, np.r_[position_error, rotation_error])
      if i < nullspace_iterations:
        nullspace = np.eye(7) - jacobian.T @ np.linalg.solve(damped, jacobian)
        delta += nullspace @ (0.2 * (reference - joints))
      largest = np.abs(delta).max()
      if largest > 0.3:
        delta *= 0.3 / largest
      joints = np.clip(joints + delta, low, high)
    return joints, False

  def set_arm_joints(self, joints: np.ndarray) -> None:
    """Puts the arm at rest at `joints` (integrated actuators included)."""
    data = self.physics.data
    data.qpos[self.arm_qpos] = joints
    data.qvel[self.arm_dof] = 0.0
    data.act[self.arm_actuators] = joints
    self.physics.forward()

  def set_prop_pose(self, index: int, position, quaternion=(1, 0, 0, 0)):
    """Places prop `index` (0 red, 1 green, 2 blue) at rest."""
    data = self.physics.data
    start = self.prop_qpos[index]
    data.qpos[start:start + 3] = position
    data.qpos[start + 3:start + 7] = quaternion
    data.qvel[self.prop_dof[index]:self.prop_dof[index] + 6] = 0.0
    self.physics.forward()

  def _prop_in_contact(self, index: int) -> bool:
    data = self.physics.data
    contacts = data.contact[:data.ncon]
    geoms = self.prop_geoms[index]
    touching = ((np.isin(contacts.geom1, geoms) |
                 np.isin(contacts.geom2, geoms)) & (contacts.dist <= 0))
    return bool(touching.any())

  def _place_props(self, rng: np.random.Generator, attempts: int = 20):
    """Drops props one by one at random poses, rejecting collisions."""
    model, data = self.physics.model, self.physics.data
    saved = [(model.geom_contype[g].copy(), model.geom_conaffinity[g].copy())
             for g in self.prop_geoms]
    for geoms in self.prop_geoms:  # Not yet placed: collide with nothing.
      model.geom_contype[geoms] = 0
      model.geom_conaffinity[geoms] = 0
    for index, (geoms, (contype, conaffinity)) in enumerate(
        zip(self.prop_geoms, saved)):
      model.geom_contype[geoms] = contype
      model.geom_conaffinity[geoms] = conaffinity
      start = self.prop_qpos[index]
      for _ in range(attempts):
        data.qpos[start:start + 3] = rng.uniform(PROP_POSITION_MIN,
                                                 PROP_POSITION_MAX)
        quaternion = rng.normal(size=4)  # Uniform over rotations.
        data.qpos[start + 3:start + 7] = quaternion / np.linalg.norm(
            quaternion)
        mujoco.mj_forward(model.ptr, data.ptr)
        if not self._prop_in_contact(index):
          break

  def _settle_props(self) -> int:
    """Lets props fall and rest while the robot is held still."""
    options = self.settle
    model, data = self.physics.model.ptr, self.physics.data.ptr
    robot_qpos = data.qpos[self.robot_qpos].copy()
    robot_qvel = data.qvel[self.robot_dof].copy()
    robot_act = data.act.copy()
    noslip = model.opt.noslip_iterations
    model.opt.noslip_iterations = options.noslip_iterations
    start_time = data.time
    window = max(1, int(round(options.window /
                              (options.chunk * model.opt.timestep))))
    history: List[np.ndarray] = []
    substeps = 0
    try:
      while data.time - start_time < options.max_time - 1e-9:
        mujoco.mj_step(model, data, options.chunk)
        substeps += options.chunk
        data.qpos[self.robot_qpos] = robot_qpos
        data.qvel[self.robot_dof] = robot_qvel
        data.act[:] = robot_act
        if options.tolerance is None:
          continue
        history.append(np.array([data.qpos[a:a + 7] for a in self.prop_qpos]))
        if len(history) > window:
          now, before = history[-1], history[-1 - window]
          moved = np.abs(now[:, :3] - before[:, :3]).max()
          turned = (1 - np.abs((now[:, 3:] * before[:, 3:]).sum(1))).max()
          if moved < options.tolerance and turned < 1e-5:
            break
    finally:
      model.opt.noslip_iterations = noslip
      data.time = start_time
    return substeps

  # Observing.

  def site_pose(self, site: int) -> np.ndarray:
    data = self.physics.data
    quaternion = np.zeros(4)
    mujoco.mju_mat2Quat(quaternion, data.site_xmat[site])
    return np.concatenate([data.site_xpos[site], _positive_quat(quaternion)])

  def site_velocity(self, site: int) -> np.ndarray:
    """World-frame [linear, angular] velocity of a site."""
    velocity = np.zeros(6)
    mujoco.mj_objectVelocity(self.physics.model.ptr, self.physics.data.ptr,
                             mujoco.mjtObj.mjOBJ_SITE, site, velocity, 0)
    return np.concatenate([velocity[3:], velocity[:3]])

  def gripper_angle(self) -> float:
    """The finger driver's position on the original's 0..255 scale, rounded."""
    raw = self.physics.data.sensordata[self.finger_sensor]
    return float(np.round(np.clip(raw / FINGER_JOINT_RANGE * 255.0, 0, 255)))

  def grasp(self) -> int:
    """1 no grasp, 2 inward, 3 outward (the Robotiq 2F-85's grasp sensor).

    A grasp needs both finger pads in contact with something other than
    each other, and a gripper command of magnitude >= 2; its sign gives the
    direction.
    """
    data = self.physics.data
    contacts = data.contact[:data.ncon]
    for pad in self.pad_geoms:
      other = np.where(contacts.geom1 == pad, contacts.geom2,
                       np.where(contacts.geom2 == pad, contacts.geom1, -1))
      touching = ((other >= 0) & ~np.isin(other, self.pad_geoms) &
                  (contacts.dist <= 1e-8))
      if not touching.any():
        return robotiq_2f85_constants.NO_GRASP
    command = data.ctrl[self.gripper_actuator]
    if abs(command) < 2:
      return robotiq_2f85_constants.NO_GRASP
    return (robotiq_2f85_constants.INWARD_GRASP if command > 0 else
            robotiq_2f85_constants.OUTWARD_GRASP)

  def prop_pose(self, index: int) -> np.ndarray:
    start = self.prop_qpos[index]
    qpos = self.physics.data.qpos
    return np.concatenate([qpos[start:start + 3],
                           _positive_quat(qpos[start + 3:start + 7].copy())])

  def observe(self) -> Dict[str, np.ndarray]:
    """The original's state observations (unstacked, float32), by key."""
    data = self.physics.data
    pinch = self.site_pose(self.pinch_site)
    finger = self.gripper_angle()
    observation = {
        'sawyer/joints/angle': data.qpos[self.arm_qpos],
        'sawyer/joints/velocity': data.qvel[self.arm_dof],
        'sawyer/joints/torque': data.sensordata[self.torque_sensors],
        'sawyer/pinch/pose': pinch,
        'sawyer/tcp/pose': self.site_pose(self.wrist_site),
        'sawyer/tcp/velocity': self.site_velocity(self.wrist_site),
        'gripper/joints/angle': [finger],
        'gripper/joints/velocity': [finger - self._previous_finger],
        'gripper/grasp': [self.grasp()],
        'wrist/force': data.sensordata[self.force_sensor:
                                       self.force_sensor + 3],
        'wrist/torque': data.sensordata[self.wrench_torque_sensor:
                                        self.wrench_torque_sensor + 3],
        'action/environment': self.last_command,
    }
    for index, colour in enumerate(layout.COLOURS):
      pose = self.prop_pose(index)
      observation[f'rgb30_{colour}/abs_pose'] = pose
      observation[f'rgb30_{colour}/to_pinch'] = pose - pinch
    return {key: np.array(value, np.float32)
            for key, value in observation.items()}

  def is_finite(self) -> bool:
    data = self.physics.data
    return bool(np.all(np.isfinite(data.qpos)) and
                np.all(np.isfinite(data.qvel)) and
                np.abs(data.qvel).max() < 1e3)
