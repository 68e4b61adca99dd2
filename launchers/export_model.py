r"""Ships a phase-1 model: parameters and normalisation, no optimiser state.

  python -m jumpy_acme.launchers.export_model \
      --checkpoint=results/reference/phase1_k10 \
      --dataset=results/reference/data_k10 --output=pretrained/k10 \
      --command="python -m jumpy_acme.launchers.pipeline --scale=reference"

Writes --output/model.npz and --output/manifest.json: the config and
learner step, the command that trained it, the commit, the dataset's size,
behaviour mix and event fractions, and the training run's metrics and
held-out diagnostics (its logs/summary.json). `skill_vae.load` and every
launcher that takes --checkpoint read the folder as they read a checkpoint.
"""

import json
import os
import subprocess

from absl import app
from absl import flags

from jumpy_acme.agents import skill_vae

_CHECKPOINT = flags.DEFINE_string('checkpoint', None,
                                  'Phase-1 checkpoint directory.')
_DATASET = flags.DEFINE_string('dataset', None,
                               'The dataset it was trained on (manifest).')
_LOGS = flags.DEFINE_string('logs', None, 'Its training logs (default: '
                            '<checkpoint>/logs).')
_OUTPUT = flags.DEFINE_string('output', None, 'Folder to write.')
_COMMAND = flags.DEFINE_string('command', '', 'The command that trained it.')


def _commit() -> str:
  try:
    return subprocess.run(
        ['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
        check=True, cwd=os.path.dirname(os.path.abspath(__file__))
    ).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return 'unknown'


def dataset_summary(directory: str):
  with open(os.path.join(directory, 'manifest.json')) as f:
    manifest = json.load(f)
  metadata = manifest.get('metadata', {})
  return {'path': directory, 'K': manifest['K'],
          'snippets': manifest['num_items'],
          'events': manifest.get('events'),
          'metadata': {k: v for k, v in metadata.items()
                       if k not in ('action_spec',)}}


def main(argv):
  del argv
  for flag in (_CHECKPOINT, _OUTPUT):
    if not flag.value:
      raise app.UsageError(f'--{flag.name}: required.')
  try:
    model = skill_vae.load(_CHECKPOINT.value)
  except (FileNotFoundError, ValueError) as e:
    raise app.UsageError(f'--checkpoint: {e}') from e
  manifest = {'command': _COMMAND.value, 'commit': _commit(),
              'checkpoint': _CHECKPOINT.value}
  if _DATASET.value:
    manifest['dataset'] = dataset_summary(_DATASET.value)
  logs = _LOGS.value or os.path.join(_CHECKPOINT.value, 'logs')
  summary_path = os.path.join(logs, 'summary.json')
  if os.path.exists(summary_path):
    with open(summary_path) as f:
      manifest['training'] = json.load(f)
  out = skill_vae.export(model, _OUTPUT.value, manifest)
  size = os.path.getsize(os.path.join(out, 'model.npz'))
  print(f'[export] {_CHECKPOINT.value} (step {model.step}) -> {out} '
        f'({size / 1e6:.1f} MB)')


if __name__ == '__main__':
  app.run(main)
