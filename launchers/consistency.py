r"""Model-policy consistency finetuning of a shipped phase-1 model.

  python -m jumpy_acme.launchers.consistency --checkpoint=pretrained/k10 \
      --episodes=200 --num_workers=2 --data=results/consistency_k10 \
      --export=pretrained/k10_cc
  python -m jumpy_acme.launchers.collect --num_episodes=60 --seed=1 \
      --output=results/data_k10_seed1
  python -m jumpy_acme.launchers.consistency --checkpoint=pretrained/k10 \
      --episodes=400 --data=results/consistency_k10 \
      --anchor_data=results/data_k10_seed1 --export=pretrained/k10_cca

Rolls out the model's own low-level policy with prior skills, mixed into
the phase-1 base behaviour schedule, and trains the jumpy decoder on what
it did (agents/experiments/consistency.py says how, and why). No task
reward is read: the result is still a zero-shot model. Episodes go to
--data, one file each; a rerun collects only the missing ones. The last
--valid_share of the episodes are held out. Trained on these transitions
alone, the decoder forgets its phase-1 fit (docs/results.md, session 14):
--anchor_data mixes phase-1 snippets, with their posterior skills, into
every batch. The decoder at the best validation error is exported to
--export with a manifest (command, source model, data, errors before and
after). --branches=N collects at grasp moments instead: the base
behaviours act throughout, and N prior skills are each rolled out from a
saved copy of the simulator wherever the pinch is near an object it does
not hold (--branch_at=hold: wherever it holds one, to show what opening
does; both: either); --weighted_parts weights state parts (e.g. grasp:20) in the
loss (docs/phase1.md, "Consistency finetuning").
"""

import json
import multiprocessing
import os
import subprocess
import sys
import time

from absl import app
from absl import flags

from jumpy_acme.agents.experiments import consistency

_CHECKPOINT = flags.DEFINE_string('checkpoint', 'pretrained/k10',
                                  'Phase-1 model to finetune.')
_DATA = flags.DEFINE_string('data', 'results/consistency_k10',
                            'Directory for the collected episodes.')
_EXPORT = flags.DEFINE_string('export', None,
                              'Directory to export the finetuned model to '
                              '(none: collect and measure only).')
_EPISODES = flags.DEFINE_integer('episodes', 200, 'Episodes to collect.')
_NUM_WORKERS = flags.DEFINE_integer('num_workers', 2, 'Processes.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds the episodes and batches.')
_SEGMENT = flags.DEFINE_integer('segment', 10,
                                'Steps between switches of control.')
_SKILL_SHARE = flags.DEFINE_float('skill_share', 0.6,
                                  'Share of segments the decoder acts in.')
_BRANCHES = flags.DEFINE_integer(
    'branches', 0, '0: mixed control (the decoder acts in --skill_share of '
    'the segments). N > 0: the base behaviours act throughout and, at every '
    '--segment-th step with the pinch within 3 cm of an object it does not '
    'hold, N prior '
    'skills are each rolled out K steps from a saved copy of the simulator '
    '(consistency.collect_branching_episode).')
_BRANCH_AT = flags.DEFINE_enum(
    'branch_at', 'grasp', ['grasp', 'hold', 'both'], 'With --branches: '
    'branch where the pinch is near an object it does not hold (grasp), '
    'where it holds one (hold), or at either (both).')
_MAX_STEPS = flags.DEFINE_integer('max_steps', 400, 'Steps per episode.')
_VALID_SHARE = flags.DEFINE_float('valid_share', 0.15,
                                  'Share of episodes held out.')
_STEPS = flags.DEFINE_integer('steps', 3000, 'SGD steps.')
_BATCH = flags.DEFINE_integer('batch_size', 256, 'Batch size.')
_ANCHOR_DATA = flags.DEFINE_string(
    'anchor_data', None, 'A phase-1 dataset (collect.py --output): its '
    'snippets, with the encoder\'s posterior skill, fill --anchor_share of '
    'every batch so the decoder keeps its phase-1 fit (none: consistency '
    'transitions only).')
_ANCHOR_SHARE = flags.DEFINE_float('anchor_share', 0.5,
                                   'Share of a batch from --anchor_data.')
_LEARNING_RATE = flags.DEFINE_float('learning_rate', 1e-4, 'Adam step size.')
_WEIGHTED = flags.DEFINE_list(
    'weighted_parts', [], 'PART:WEIGHT pairs, PART a state part of '
    'environments/rgb_stacking/layout.py (e.g. grasp:20,gripper_angle:20): '
    'its dimensions\' squared errors count WEIGHT times in the finetuning '
    'loss and in choosing the best step (others count once).')


def _dim_weights(pairs):
  """--weighted_parts as [86] weights (None when empty)."""
  if not pairs:
    return None
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  weights = np.ones(layout.STATE_SIZE, np.float32)
  for pair in pairs:
    part, _, value = pair.partition(':')
    try:
      weight = float(value)
      weights[layout.LAYOUT[part]] = weight
    except (KeyError, ValueError):
      raise app.UsageError(
          '--weighted_parts: expected PART:WEIGHT with PART one of '
          f'{[name for name, _, _ in layout.PARTS]} and WEIGHT >= 0, got '
          f'{pair!r}.') from None
    if not weight >= 0:
      raise app.UsageError(f'--weighted_parts: expected WEIGHT >= 0, got '
                           f'{pair!r}.')
  return weights


def _check(name, ok, expected, got):
  if not ok:
    raise app.UsageError(f'--{name}: expected {expected}, got {got!r}.')


def _check_data_settings(directory, settings):
  """Episodes in `directory` must all come from the same collection
  settings: the first run writes them to settings.json, a later one that
  differs is refused, naming the flag (a directory from before this file
  existed gets it written)."""
  path = os.path.join(directory, 'settings.json')
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    for name, value in settings.items():
      was = saved.get(name)
      if was != value:
        raise app.UsageError(
            f'--{name}: the episodes in {directory} were collected with '
            f'{was!r}, got {value!r} (use another --data).')
  with open(path, 'w') as f:
    json.dump(settings, f, indent=1)


def main(argv):
  del argv
  _check('episodes', _EPISODES.value >= 2, 'an integer >= 2',
         _EPISODES.value)
  _check('num_workers', _NUM_WORKERS.value >= 1, 'an integer >= 1',
         _NUM_WORKERS.value)
  _check('skill_share', 0 < _SKILL_SHARE.value <= 1, 'a share in (0, 1]',
         _SKILL_SHARE.value)
  _check('branches', _BRANCHES.value >= 0, 'an integer >= 0',
         _BRANCHES.value)
  _check('valid_share', 0 < _VALID_SHARE.value < 1, 'a share in (0, 1)',
         _VALID_SHARE.value)
  _check('anchor_share', 0 < _ANCHOR_SHARE.value < 1, 'a share in (0, 1)',
         _ANCHOR_SHARE.value)
  dim_weights = _dim_weights(_WEIGHTED.value)  # Bad input fails first.
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  try:
    model = model_lib.load(_CHECKPOINT.value)
  except (FileNotFoundError, ValueError) as e:
    raise app.UsageError(f'--checkpoint: {e}') from e
  _check('segment', _BRANCHES.value or _SEGMENT.value % model.K == 0,
         f'a multiple of the model\'s K = {model.K}', _SEGMENT.value)
  os.makedirs(_DATA.value, exist_ok=True)
  _check_data_settings(_DATA.value, {
      'seed': _SEED.value, 'segment': _SEGMENT.value,
      'max_steps': _MAX_STEPS.value, 'branches': _BRANCHES.value,
      **({'branch_at': _BRANCH_AT.value} if _BRANCHES.value else
         {'skill_share': _SKILL_SHARE.value})})
  episodes = list(range(_EPISODES.value))
  missing = [e for e in episodes if not os.path.exists(
      consistency.episode_path(_DATA.value, e))]
  print(f'[consistency] {len(episodes) - len(missing)} of {len(episodes)} '
        f'episodes on disk in {_DATA.value}; collecting {len(missing)}.',
        flush=True)
  start = time.time()
  if missing:
    # One episode per job: progress shows, and a crash loses one.
    jobs = [(_CHECKPOINT.value, _DATA.value, [e], _SEED.value,
             _SEGMENT.value, _SKILL_SHARE.value, _MAX_STEPS.value,
             _BRANCHES.value, _BRANCH_AT.value) for e in missing]
    with multiprocessing.get_context('spawn').Pool(_NUM_WORKERS.value) as p:
      for n, _ in enumerate(p.imap_unordered(consistency.collect_worker,
                                             jobs), 1):
        elapsed = time.time() - start
        print(f'[consistency] {n}/{len(jobs)} episodes | elapsed '
              f'{elapsed:.0f} s | ETA {elapsed / n * (len(jobs) - n):.0f} s',
              flush=True)
  held_out = max(1, int(round(_VALID_SHARE.value * len(episodes))))
  train = consistency.load_episodes(_DATA.value, episodes[:-held_out])
  valid = consistency.load_episodes(_DATA.value, episodes[-held_out:])
  print(f'[consistency] {len(train["z"])} training and {len(valid["z"])} '
        'held-out transitions.', flush=True)
  if not _EXPORT.value:
    print(f'[consistency] valid: {consistency.jumpy_errors(model, valid)}')
    return
  anchor = anchor_valid = None
  if _ANCHOR_DATA.value:
    from jumpy_acme import dataset_files  # pylint: disable=g-import-not-at-top
    try:
      dataset = dataset_files.load(_ANCHOR_DATA.value)
    except (FileNotFoundError, dataset_files.IncompleteDatasetError) as e:
      raise app.UsageError(f'--anchor_data: {e}') from e
    _check('anchor_data', dataset.K == model.K,
           f'a dataset of the model\'s K = {model.K}', dataset.K)
    posterior = consistency.posterior_transitions(model, dataset.observations)
    cut = int(round((1 - _VALID_SHARE.value) * len(dataset)))
    anchor = {k: v[:cut] for k, v in posterior.items()}
    anchor_valid = {k: v[cut:] for k, v in posterior.items()}
    print(f'[consistency] anchor: {cut} training and {len(dataset) - cut} '
          f'held-out phase-1 snippets from {_ANCHOR_DATA.value}.',
          flush=True)
  tuned, history = consistency.finetune(
      model, train, valid, _STEPS.value, _BATCH.value,
      _LEARNING_RATE.value, seed=_SEED.value, anchor=anchor,
      anchor_valid=anchor_valid, anchor_share=_ANCHOR_SHARE.value,
      dim_weights=dim_weights)
  try:
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], check=True,
                            capture_output=True, text=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    commit = None
  source = {}
  if model_lib.is_export(_CHECKPOINT.value):
    with open(os.path.join(_CHECKPOINT.value,
                           model_lib.EXPORT_MANIFEST)) as f:
      source = json.load(f)
  manifest = {
      'command': 'python -m jumpy_acme.launchers.consistency '
                 + ' '.join(sys.argv[1:]),
      'commit': commit,
      'source_model': {'path': _CHECKPOINT.value,
                       'fingerprint': model_lib.fingerprint(
                           _CHECKPOINT.value),
                       'command': source.get('command'),
                       'dataset': source.get('dataset')},
      'consistency': {
          'episodes': len(episodes), 'held_out_episodes': held_out,
          'train_transitions': int(len(train['z'])),
          'valid_transitions': int(len(valid['z'])),
          'max_steps': _MAX_STEPS.value, 'segment': _SEGMENT.value,
          'skill_share': _SKILL_SHARE.value,
          'branches': _BRANCHES.value,
          'branch_at': _BRANCH_AT.value if _BRANCHES.value else None,
          'weighted_parts': list(_WEIGHTED.value),
          'steps': _STEPS.value, 'batch_size': _BATCH.value,
          'learning_rate': _LEARNING_RATE.value, 'seed': _SEED.value,
          'anchor_data': _ANCHOR_DATA.value,
          'anchor_share': _ANCHOR_SHARE.value if _ANCHOR_DATA.value else 0,
          **consistency.summary(history), 'history': history},
  }
  model_lib.export(tuned, _EXPORT.value, manifest)
  kept = consistency.summary(history)
  print(f'[consistency] exported to {_EXPORT.value}: valid error '
        f'{kept["before"]["state_error"]:.3f} -> '
        f'{kept["best"]["state_error"]:.3f}, pinch '
        f'{kept["before"]["pinch_mm"]:.1f} -> {kept["best"]["pinch_mm"]:.1f} '
        'mm', flush=True)


if __name__ == '__main__':
  app.run(main)
