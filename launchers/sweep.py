r"""Sweeps as batch jobs (jumpy_acme/sweeps.py has the file format).

  python -m jumpy_acme.launchers.sweep --sweep=sweeps/zero_shot.json \
      --output=results/sweep --action=list
  # One run: by index, or as a SLURM array task / Kubernetes indexed job.
  python -m jumpy_acme.launchers.sweep --sweep=... --output=... --index=3
  sbatch --array=0-5 --wrap "python -m jumpy_acme.launchers.sweep \
      --sweep=sweeps/zero_shot.json --output=results/sweep"
  # Merge the finished runs: mean +- std and SE over seeds; lists missing.
  python -m jumpy_acme.launchers.sweep --sweep=... --output=... \
      --action=aggregate
"""

import json
import os

from absl import app
from absl import flags

from jumpy_acme import sweeps

_SWEEP = flags.DEFINE_string('sweep', None, 'Sweep file (JSON).')
_OUTPUT = flags.DEFINE_string('output', None, 'Folder of the runs.')
_ACTION = flags.DEFINE_enum('action', 'run', ['list', 'run', 'aggregate'],
                            'What to do.')
_INDEX = flags.DEFINE_integer(
    'index', None, 'The run (default: SLURM_ARRAY_TASK_ID or '
    'JOB_COMPLETION_INDEX).')


def main(argv):
  del argv
  for flag in (_SWEEP, _OUTPUT):
    if not flag.value:
      raise app.UsageError(f'--{flag.name}: required.')
  try:
    sweep = sweeps.Sweep.load(_SWEEP.value)
  except (OSError, ValueError) as e:
    raise app.UsageError(f'--sweep: {e}') from e
  runs = sweep.runs(_OUTPUT.value)
  if _ACTION.value == 'list':
    print('\n'.join(sweeps.describe(sweep, _OUTPUT.value)))
    return
  if _ACTION.value == 'aggregate':
    result = sweeps.aggregate(sweep, _OUTPUT.value)
    text = sweeps.markdown(result)
    print(text)
    with open(os.path.join(_OUTPUT.value, 'aggregate.md'), 'w') as f:
      f.write(text + '\n')
    with open(os.path.join(_OUTPUT.value, 'aggregate.json'), 'w') as f:
      json.dump(result, f, indent=1)
    return
  try:
    index = sweeps.index_from_environment(_INDEX.value)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  if not 0 <= index < len(runs):
    raise app.UsageError(f'--index: expected in [0, {len(runs)}) for this '
                         f'sweep, got {index}.')
  run = runs[index]
  print(f'[sweep] run {index} of {len(runs)}: {run.name}', flush=True)
  try:
    record = sweeps.run_one(sweep, run)
  except RuntimeError as e:
    raise SystemExit(f'[sweep] {e}') from e
  print(json.dumps(record))


if __name__ == '__main__':
  app.run(main)
