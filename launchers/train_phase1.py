r"""Phase 1: learn the skill space, low-level policy and jumpy model.

From a dataset on disk (launchers/collect.py --output), or on the fly with
collection actors filling a small rate-limited Reverb buffer while the
learner samples it (paper, footnote 3).

  python -m jumpy_acme.launchers.train_phase1 --dataset=data/phase1_k10 \
      --K=10 --num_steps=2000 --checkpoint_dir=runs/phase1_k10
  python -m jumpy_acme.launchers.train_phase1 --on_the_fly --num_actors=2 \
      --K=10 --num_steps=2000 --checkpoint_dir=runs/phase1_otf

Logs (terminal, JSONL, TensorBoard) go to --logs: every loss term, KL,
gradient norm, per-group state errors in real units, SGD steps/s and the
share of time spent waiting for data. With a dataset, the run ends with the
diagnostics on held-out episodes (rollout errors at 10/20/30/50 steps, and
against a K = 1 model given by --baseline_checkpoint_dir), as a Markdown
table, JSON and a PNG in --logs.
"""

import dataclasses
import functools
import json
import os
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np

from jumpy_acme import dataset_files
from jumpy_acme.launchers import launcher_flags
from jumpy_acme.agents import skill_vae
from jumpy_acme.agents.experiments import phase1
from jumpy_acme.agents.experiments import phase1_diagnostics as diagnostics
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers

_DATASET = flags.DEFINE_string('dataset', None, 'Snippet dataset directory.')
_ON_THE_FLY = flags.DEFINE_bool('on_the_fly', False,
                                'Collect while learning instead.')
_NUM_ACTORS = flags.DEFINE_integer('num_actors', 2,
                                   'Collection actors (--on_the_fly).')
_K = flags.DEFINE_integer('K', 10, 'Jumpy horizon (1: non-jumpy baseline).')
_NUM_STEPS = flags.DEFINE_integer('num_steps', 1000, 'Learner steps.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 256, 'Snippets per SGD step.')
_SGD_STEPS = flags.DEFINE_integer('sgd_steps_per_step', 4,
                                  'SGD steps per learner step (lax.scan).')
_LEARNING_RATE = flags.DEFINE_float('learning_rate', 3e-4, 'Adam step size.')
_BETA_A = flags.DEFINE_float('beta_a', 100.0, 'Action loss weight.')
_BETA_S = flags.DEFINE_float('beta_s', 100.0, 'Jumpy-state loss weight.')
_FREE_BITS = flags.DEFINE_float(
    'free_bits', 0.0, 'Nats of KL per latent dimension left unpenalised.')
# Measured (docs/phase1.md, "Making z matter"): hidden from the action
# decoder, the state's velocities and torques no longer tell it the ongoing
# motion, so z steers it (Random-HL moves twice as far); with the fingers'
# angle and grasp sensor hidden too, the gripper command follows z (99 % of
# near-object states, against 31 %) and planning scores higher on reach,
# lift and hover at equal training. The paper's setting is
# --action_input_hidden= (empty).
DYNAMICS = ('joint_velocities', 'joint_torques', 'tcp_velocity',
            'gripper_velocity')
GRIPPER = ('gripper_angle', 'grasp')
_HIDE = flags.DEFINE_list(
    'action_input_hidden', list(DYNAMICS + GRIPPER),
    'State parts (names in environments/rgb_stacking/layout.py) the '
    'action decoder does not see; empty (--action_input_hidden=): the '
    'whole state, as the paper.')
_INPUT_NOISE = flags.DEFINE_float(
    'action_input_noise', 0.0, 'Training noise (std, standardised units) '
    'on the state the action decoder sees.')
_DROPPED = flags.DEFINE_list(
    'action_input_dropped', [],
    'State parts the action decoder does not see in a random share '
    '(--action_input_dropout) of training snippets, and does see when '
    'acting; e.g. gripper_angle,grasp (with those parts removed from '
    '--action_input_hidden).')
_DROPOUT = flags.DEFINE_float(
    'action_input_dropout', 0.0, 'Probability per training snippet that '
    'the --action_input_dropped parts are hidden from the action decoder.')
_JUMPY_INPUT_ACTION = flags.DEFINE_bool(
    'jumpy_input_action', False, 'Give the jumpy decoder the action '
    'decoder\'s first action for (s_t, z) as an input besides phi(s_t) and '
    'z (gradient stopped); the paper\'s decoder sees phi(s_t) and z only.')
_NUM_DEVICES = flags.DEFINE_integer(
    'num_devices', 1, 'Local devices (GPUs, TPU cores) each batch is split '
    'over; parameters replicated, gradients averaged.')
_CHECKPOINT_DIR = flags.DEFINE_string('checkpoint_dir', None,
                                      'Checkpoints (resumed if present).')
_CHECKPOINT_EVERY = flags.DEFINE_integer('checkpoint_every', 250,
                                         'Learner steps between checkpoints.')
_LOG_DIR = flags.DEFINE_string('logs', None,
                               'Logs (default: <checkpoint_dir>/logs).')
_SEED = flags.DEFINE_integer('seed', 0, 'Random seed.')
_HELDOUT = flags.DEFINE_float('heldout_fraction', 0.1,
                              'Share of episodes kept for diagnostics.')
_BASELINE = flags.DEFINE_string(
    'baseline_checkpoint_dir', None,
    'A model (usually K=1) to compare rollouts with; its K must divide the '
    'spans 10, 20, 30, 50.')
_BUFFER_SIZE = flags.DEFINE_integer('buffer_size', 20_000,
                                    'On-the-fly buffer size (snippets).')
_SAMPLES_PER_INSERT = flags.DEFINE_float(
    'samples_per_insert', 16.0, 'On-the-fly rate limiter ratio.')
_MIN_BUFFER = flags.DEFINE_integer(
    'min_buffer', 2000, 'On the fly: snippets in the buffer before learning '
    'starts; the statistics come from a sample of this many.')


def _config() -> skill_vae.SkillVAEConfig:
  return skill_vae.SkillVAEConfig(
      K=_K.value, batch_size=_BATCH_SIZE.value,
      sgd_steps_per_step=_SGD_STEPS.value,
      learning_rate=_LEARNING_RATE.value, beta_a=_BETA_A.value,
      beta_s=_BETA_S.value, seed=_SEED.value, free_bits=_FREE_BITS.value,
      action_input_hidden=phase1.state_indices(_HIDE.value),
      action_input_noise=_INPUT_NOISE.value,
      action_input_dropped=phase1.state_indices(_DROPPED.value,
                                                'action_input_dropped'),
      action_input_dropout=_DROPOUT.value,
      jumpy_input_action=_JUMPY_INPUT_ACTION.value,
      checkpoint_every=_CHECKPOINT_EVERY.value)


def _split(dataset, fraction, seed):
  heldout = diagnostics.heldout_episodes(dataset.extras['episode'][:, 0],
                                         fraction, seed)
  is_heldout = np.isin(dataset.extras['episode'][:, 0], heldout)
  return dataset.select(np.flatnonzero(~is_heldout)), heldout


def _dataset_action_spec(dataset):
  """The action spec the dataset was collected with (its manifest), else
  RGB-stacking's (datasets written before the manifest recorded it)."""
  saved = dataset.manifest['metadata'].get('action_spec')
  if saved is None:
    return phase1.rgb_stacking_action_spec()
  from dm_env import specs  # pylint: disable=g-import-not-at-top
  minimum = np.asarray(saved['minimum'], np.float32)
  return specs.BoundedArray(minimum.shape, np.float32, minimum,
                            np.asarray(saved['maximum'], np.float32))


def _train_from_dataset(config, log_dir):
  dataset = dataset_files.load(_DATASET.value)
  if config.K > dataset.K:
    raise app.UsageError(f'--K={config.K} is larger than the dataset\'s K='
                         f'{dataset.K}.')
  train, heldout_episodes = _split(dataset, _HELDOUT.value, _SEED.value)
  if config.K < dataset.K:
    train = train.with_K(config.K)
  print(f'[phase1] {len(train):,} training snippets (K={config.K}), '
        f'{len(heldout_episodes)} held-out episodes.', flush=True)
  logger = loggers.make_default_logger('learner', log_dir, time_delta=10.0,
                                       steps_key='steps')
  learner = phase1.make_learner_from_dataset(
      config, train, _dataset_action_spec(dataset), logger=logger,
      checkpoint_dir=_CHECKPOINT_DIR.value, counter=counting.Counter(),
      state_groups=phase1.rgb_stacking_state_groups(),
      num_devices=_NUM_DEVICES.value)
  start = time.time()
  done = int(learner.state.step) // config.sgd_steps_per_step
  metrics = None
  for _ in range(done, _NUM_STEPS.value):
    metrics = learner.step()
  if metrics is not None:  # Nothing new to save when already trained.
    learner.checkpoint()
  elapsed = time.time() - start
  logger.close()
  summary = {'training_snippets': len(train), 'learner_steps': _NUM_STEPS.value,
             'resumed_from_step': done, 'seconds': elapsed,
             'sgd_steps': int(learner.state.step),
             'final': metrics}
  # Diagnostics on held-out episodes.
  trajs = diagnostics.trajectories(dataset, heldout_episodes)
  model = skill_vae.model_from_learner(learner)
  spans = [s for s in (10, 20, 30, 50) if s % config.K == 0]
  jumpy = diagnostics.rollout_errors(model, trajs, spans)
  baseline = None
  if _BASELINE.value:
    baseline = diagnostics.rollout_errors(skill_vae.load(_BASELINE.value),
                                          trajs, spans)
  actions = diagnostics.action_errors(model, trajs)
  all_states = np.concatenate([t['states'] for t in trajs])
  heldout_states = all_states[::max(1, len(all_states) // 200)]
  control = (diagnostics.controllability(model, heldout_states)
             if len(heldout_states) else None)
  # What the model says opening does to a held object, at every held-out
  # state that holds one (at most 300).
  held = all_states[diagnostics.holding_an_object(all_states)]
  held_openings = diagnostics.held_openings(
      model, held[::max(1, len(held) // 300)])
  text = diagnostics.table(jumpy, baseline)
  print(text)
  print('action decoder RMSE on held-out actions:', actions)
  print('controllability (decoded actions over prior z at held-out '
        'states):', json.dumps(control))
  print('prior z at held-out states holding an object:',
        json.dumps(held_openings))
  diagnostics.plot(jumpy, baseline, os.path.join(log_dir, 'rollouts.png'),
                   f'K={config.K} chained predictions, held-out episodes')
  with open(os.path.join(log_dir, 'diagnostics.md'), 'w') as f:
    f.write(text + '\n\naction RMSE: ' + json.dumps(actions) + '\n'
            '\ncontrollability: ' + json.dumps(control) + '\n'
            '\nheld_openings: ' + json.dumps(held_openings) + '\n')
  summary.update(rollout=jumpy, baseline_rollout=baseline,
                 action_rmse=actions, controllability=control,
                 held_openings=held_openings)
  with open(os.path.join(log_dir, 'summary.json'), 'w') as f:
    json.dump(summary, f, indent=1)
  print(json.dumps({k: summary[k] for k in ('training_snippets',
                                            'learner_steps', 'seconds',
                                            'sgd_steps')}))


def _train_on_the_fly(config, log_dir):
  from jumpy_acme import replay  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.experiments import collection  # pylint: disable=g-import-not-at-top
  spec, extras_spec = collection.environment_spec_and_extras()
  per_step = config.batch_size * config.sgd_steps_per_step
  if _MIN_BUFFER.value < 1:
    raise app.UsageError(f'--min_buffer: expected >= 1, got '
                         f'{_MIN_BUFFER.value}.')
  tables = functools.partial(
      replay.onthefly_tables, 'snippets', spec, config.K, extras_spec,
      max_size=_BUFFER_SIZE.value, min_size=_MIN_BUFFER.value,
      samples_per_insert=_SAMPLES_PER_INSERT.value,
      error_buffer=10 * per_step)
  try:
    launcher = launcher_flags.make(
        tables=tables,
        counter_keys=collection.COUNTER_KEYS + ('learner_steps',))
  except (ValueError, ImportError) as e:
    raise app.UsageError(f'--{e}') from e
  launcher.add_workers('actor', collection.collection_worker,
                       num=_NUM_ACTORS.value, seed=_SEED.value,
                       resources=launcher_flags.actor(),
                       table='snippets', K=config.K, max_episodes=10**9,
                       episode_seed=_SEED.value)
  print('[phase1] On the fly: the learner samples a live Reverb table as '
        'actors fill it, so a run does not reproduce from its seeds (train '
        'from a --dataset for that).', flush=True)
  launcher.add_workers('learner', phase1.onthefly_learner_worker,
                       restart=False, config=dataclasses.asdict(config),
                       resources=launcher_flags.learner(),
                       table='snippets', num_steps=_NUM_STEPS.value,
                       log_dir=log_dir, checkpoint_dir=_CHECKPOINT_DIR.value,
                       stats_snippets=_MIN_BUFFER.value)
  start = time.time()
  last = [0.0]

  def progress(counts):
    if time.time() - last[0] > 10:
      last[0] = time.time()
      print(f'[phase1] learner {int(counts["learner_steps"])}/'
            f'{_NUM_STEPS.value} steps | actors '
            f'{int(counts["actor_steps"]):,} env steps | '
            f'{time.time() - start:.0f} s', flush=True)

  counts = launcher.run(
      stop_when=lambda c: c['learner_steps'] >= _NUM_STEPS.value,
      on_poll=progress, poll_s=1.0)
  print(json.dumps({**counts, 'seconds': time.time() - start}))


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO.
  if bool(_DATASET.value) == _ON_THE_FLY.value:
    raise app.UsageError('Give --dataset=DIR or --on_the_fly (not both).')
  try:
    config = _config()
  except ValueError as e:
    raise app.UsageError(f'--{e}') from e
  log_dir = _LOG_DIR.value or os.path.join(
      _CHECKPOINT_DIR.value or 'results/phase1', 'logs')
  os.makedirs(log_dir, exist_ok=True)
  if _ON_THE_FLY.value:
    _train_on_the_fly(config, log_dir)
  else:
    _train_from_dataset(config, log_dir)


if __name__ == '__main__':
  app.run(main)
