"""jumpy_acme/checkpointing.py and the phase-1 diagnostics, directly."""

import dataclasses
from typing import NamedTuple, Tuple

import numpy as np
import pytest

from jumpy_acme import checkpointing
from jumpy_acme.agents.experiments import phase1_diagnostics as diagnostics
from jumpy_acme.environments.rgb_stacking import layout


@dataclasses.dataclass
class _Config:
  sizes: Tuple[int, ...] = (4, 4)
  learning_rate: float = 1e-3


class _State(NamedTuple):
  weights: np.ndarray
  step: np.ndarray


def test_checkpoints_round_trip_and_refuse_another_model(tmp_path):
  manager = checkpointing.CheckpointManager(
      str(tmp_path), _Config(), structural_fields=('sizes',), max_to_keep=2)
  assert manager.latest_step() is None
  assert manager.restore_latest(state=_State(np.zeros(3), np.zeros(()))) is (
      None)
  for step in (1, 2, 3):
    manager.save(step, state=_State(np.full(3, float(step)),
                                    np.asarray(step)),
                 extra={'norm': np.arange(2.0)})
  assert manager.latest_step() == 3
  restored = manager.restore_latest(state=_State(np.zeros(3), np.zeros(())),
                                    extra={'norm': np.zeros(2)})
  assert isinstance(restored['state'], _State)  # The template's type.
  np.testing.assert_array_equal(restored['state'].weights, [3.0] * 3)
  np.testing.assert_array_equal(restored['extra']['norm'], [0.0, 1.0])
  # JSON gives tuples back as lists; the saved config is the one written.
  assert manager.saved_config(3) == {'sizes': [4, 4], 'learning_rate': 1e-3}
  # max_to_keep=2: step 1 is gone.
  assert manager._manager.all_steps() == [2, 3]  # pylint: disable=protected-access
  # A non-structural difference restores; a structural one is refused,
  # naming the field and both values.
  checkpointing.CheckpointManager(
      str(tmp_path), _Config(learning_rate=0.1), ('sizes',)).restore_latest(
          state=_State(np.zeros(3), np.zeros(())), extra={'norm': np.zeros(2)})
  other = checkpointing.CheckpointManager(str(tmp_path), _Config((8, 8)),
                                          ('sizes',))
  with pytest.raises(ValueError, match=r'another model: sizes: checkpoint '
                     r'\[4, 4\], config \(8, 8\)'):
    other.restore_latest(state=_State(np.zeros(3), np.zeros(())))
  with pytest.raises(ValueError, match=r"structural_fields: \['depth'\]"):
    checkpointing.CheckpointManager(str(tmp_path), _Config(), ('depth',))


class _Dataset:
  """Two stride-1 episodes of K = 2 snippets, shuffled, and one broken."""

  def __init__(self):
    rng = np.random.default_rng(0)
    self.states = {e: rng.normal(size=(6, 86)) for e in (0, 1, 2)}
    self.actions = {e: rng.normal(size=(5, 5)) for e in (0, 1, 2)}
    rows = [(e, t) for e in (0, 1, 2) for t in range(4) if (e, t) != (2, 1)]
    rng.shuffle(rows)
    self.observations = np.stack([self.states[e][t:t + 3] for e, t in rows])
    self.actions_rows = np.stack([self.actions[e][t:t + 2] for e, t in rows])
    self.extras = {'episode': np.array([[e, e] for e, _ in rows]),
                   'step': np.array([[t, t + 1] for _, t in rows])}


def test_trajectories_rebuild_whole_episodes_and_group_errors():
  data = _Dataset()
  dataset = dataclasses.make_dataclass('D', ['observations', 'actions',
                                             'extras'])(
      data.observations, data.actions_rows, data.extras)
  trajs = diagnostics.trajectories(dataset, [1, 0, 2])
  assert len(trajs) == 2  # Episode 2 misses a snippet: skipped.
  for traj, episode in zip(trajs, (1, 0)):
    np.testing.assert_array_equal(traj['states'], data.states[episode])
    np.testing.assert_array_equal(traj['actions'], data.actions[episode])
  # Group RMSE by hand: an error of 2 on every red dimension only.
  errors = np.zeros((3, 86))
  errors[:, list(layout.LAYOUT.indices('red'))] = 2.0
  result = diagnostics._group_rmse(errors)  # pylint: disable=protected-access
  assert result['red'] == pytest.approx(2.0)
  assert result['arm'] == 0.0 and result['blue'] == 0.0
  assert result['all'] == pytest.approx(2.0 * np.sqrt(14 / 86))
  # Position error: |(2, 2, 2)| = 2 sqrt(3) m for red.
  assert result['red_pose_pos'] == pytest.approx(2 * np.sqrt(3))
  row = diagnostics.table({10: {**result, 'count': 3}}).splitlines()[2]
  assert row.startswith('| 10 | jumpy | ') and row.endswith('| 3 |')


def test_controllability_is_zero_for_a_decoder_that_ignores_z():
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.testing import phase1  # pylint: disable=g-import-not-at-top
  model = phase1.tiny_model(normalization=phase1.identity_normalization(
      np.array([0.07, 0.07, 0.07, 1.0, 255.0])))
  states = np.random.default_rng(0).normal(size=(6, 86)).astype(np.float32)
  # Put the pinch on red in the first two states.
  states[:2, layout.LAYOUT['red_pose_pos']] = states[
      :2, layout.LAYOUT['pinch_pose_pos']]
  steered = diagnostics.controllability(model, states, num_skills=32)
  assert steered['states_near_an_object'] == 2
  assert min(steered['action_spread'].values()) > 0  # z matters.
  # Zero kernels: the action decoder's output is its last bias, for any z.
  decoder = model_lib.module_params(model.params, 'action_decoder')
  flat = jax.tree_util.tree_map_with_path(
      lambda path, x: jnp.zeros_like(x) if 'kernel' in str(path) else x,
      decoder)
  blind = model.replace(params=model_lib.with_module_params(
      model.params, 'action_decoder', flat))
  result = diagnostics.controllability(blind, states, num_skills=32)
  assert all(v == 0.0 for v in result['action_spread'].values())
  assert result['grip_changes_with_z'] == 0.0
  assert result['grip_changes_with_z_near_an_object'] == 0.0
  # Every z gives the last bias: all close or none, by its grip entry.
  last_layer = max(flat, key=lambda name: int(name.split('_')[-1]))
  grip_bias = float(flat[last_layer]['bias'][-1])
  assert result['close_share_near_an_object'] == float(grip_bias > 0)


def test_controllability_splits_near_states_by_whether_an_object_is_held():
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  L = layout.LAYOUT  # noqa: N806

  class HoldsWhatItHolds:
    """Grip = z[0] unless the grasp sensor reads an inward grasp: then close."""
    latent_size = 4

    def decode_action(self, state, z):
      held = jnp.abs(state[L['grasp']][0] - 2.0) < 0.5
      grip = jnp.where(held, 1.0, z[0])
      return jnp.concatenate([jnp.zeros(4), grip[None]])

  states = np.random.default_rng(2).normal(size=(7, 86)).astype(np.float32)
  states[:, L['grasp']] = 1.0
  # 0-2 hold red (inward grasp, pinch on it); 3-4 are on red without a
  # grasp; 5 has the grasp far from every object; 6 is far and open.
  states[:3, L['grasp']] = 2.0
  states[5, L['grasp']] = 2.0
  states[:5, L['red_pose_pos']] = states[:5, L['pinch_pose_pos']]
  for colour in layout.COLOURS:
    states[5:, L[f'{colour}_pose_pos']] = states[5:, L['pinch_pose_pos']] + 1.0
  result = diagnostics.controllability(HoldsWhatItHolds(), states,
                                       num_skills=64)
  assert result['states_near_an_object'] == 5
  assert result['states_near_and_holding'] == 3
  assert result['grip_changes_with_z_near_and_holding'] == 0.0
  assert result['grip_changes_with_z_near_not_holding'] == 1.0
  assert result['grip_changes_with_z_near_an_object'] == pytest.approx(2 / 5)
  # State 6 is far, open and steered; 5 is far and held: 3 of 7 overall.
  assert result['grip_changes_with_z'] == pytest.approx(3 / 7)


def test_data_motion_by_hand():
  observations = np.zeros((4, 3, 86), np.float32)
  pinch = layout.LAYOUT['pinch_pose_pos']
  for i, step in enumerate((0.01, 0.02, 0.03, 0.04)):
    observations[i, -1, pinch] = [step, 0.0, 0.0]
  actions = np.full((4, 2, 5), -255.0, np.float32)
  actions[0, 1, -1] = 255.0  # One snippet commands a close.
  motion = diagnostics.data_motion(observations, actions)
  assert motion['pinch_motion_median'] == pytest.approx(0.025)
  assert motion['pinch_motion_mean'] == pytest.approx(0.025)
  observations[3, -1, pinch] = [0.2, 0.0, 0.0]  # One long move: the mean
  motion = diagnostics.data_motion(observations, actions)  # moves, the
  assert motion['pinch_motion_median'] == pytest.approx(0.025)  # median not.
  assert motion['pinch_motion_mean'] == pytest.approx(0.065)
  assert motion['closes_share'] == 0.25


def test_held_openings_reads_the_decoders_at_held_states_only():
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.testing import phase1  # pylint: disable=g-import-not-at-top
  L = layout.LAYOUT  # noqa: N806
  model = phase1.tiny_model(normalization=phase1.identity_normalization(
      np.array([0.07, 0.07, 0.07, 1.0, 255.0])))
  states = np.random.default_rng(1).normal(size=(5, 86)).astype(np.float32)
  states[:, L['grasp']] = 1.0
  # States 0-2 hold red (inward grasp, pinch on it); 3 has the grasp but
  # the pinch far away; 4 is near red without a grasp.
  states[:3, L['grasp']] = 2.0
  states[[0, 1, 2, 4], L['red_pose_pos']] = states[[0, 1, 2, 4],
                                                   L['pinch_pose_pos']]
  states[3, L['red_pose_pos']] = states[3, L['pinch_pose_pos']] + 0.5

  def constant(module, last_bias):
    """The module with zero kernels: its output is last_bias for any z."""
    flat = jax.tree_util.tree_map_with_path(
        lambda path, x: jnp.zeros_like(x) if 'kernel' in str(path) else x,
        model_lib.module_params(model.params, module))
    last = max(flat, key=lambda name: int(name.split('_')[-1]))
    flat[last]['bias'] = last_bias(flat[last]['bias'])
    return flat

  def with_decoders(grip, grasp_delta):
    params = model_lib.with_module_params(
        model.params, 'action_decoder',
        constant('action_decoder', lambda b: b.at[4].set(grip)))
    params = model_lib.with_module_params(
        params, 'jumpy_decoder', constant(
            'jumpy_decoder', lambda b: jnp.zeros_like(b).at[
                L['grasp'].start].set(grasp_delta)))
    return model.replace(params=params)

  # Every draw opens and the model says the grasp stays: the blind spot.
  blind = diagnostics.held_openings(with_decoders(-0.5, 0.0), states, 16)
  assert blind == {'held_states': 3, 'open_share': 1.0,
                   'kept_when_opening': 1.0, 'kept_when_closing': None}
  # Every draw closes; the model drops the grasp sensor by 1 (to 'none').
  dropped = diagnostics.held_openings(with_decoders(0.5, -1.0), states, 16)
  assert dropped == {'held_states': 3, 'open_share': 0.0,
                     'kept_when_opening': None, 'kept_when_closing': 0.0}
  none = diagnostics.held_openings(model, states[3:], 16)
  assert none['held_states'] == 0 and none['open_share'] is None
