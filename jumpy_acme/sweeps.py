"""Sweeps as batch jobs: one run per array index, merged afterwards.

A sweep file (JSON) names a launcher, its fixed flags and the axes to
sweep; the runs are the Cartesian product of the axes in file order, so an
index (from the command line, SLURM_ARRAY_TASK_ID or Kubernetes' indexed
JOB_COMPLETION_INDEX) picks the same run on every machine:

  {"launcher": "evaluate",
   "flags": {"preset": "table3", "checkpoint": "pretrained/k10",
             "baseline_checkpoint": "pretrained/k1", "episodes": 20},
   "axes": {"seed": [0, 1, 2], "tasks": ["reach_red", "lift_red"]}}

Each run writes into <output>/<run name> (its own folder: the launcher's
--output, or the flag named by "output_flag"), then `result.json` there
with the metrics read from what the launcher wrote. `aggregate` merges the
finished runs: per group of runs that differ only in the seed, each
metric's mean, std and standard error over seeds, and the runs missing.
"""

import dataclasses
import itertools
import json
import math
import os
import re
import subprocess
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

RESULT = 'result.json'
SEED_AXIS = 'seed'
INDEX_VARIABLES = ('SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX')


@dataclasses.dataclass(frozen=True)
class Run:
  index: int
  name: str
  values: Dict[str, Any]   # Axis -> value.
  flags: Dict[str, Any]    # Every flag the launcher gets.


@dataclasses.dataclass(frozen=True)
class Sweep:
  launcher: str
  flags: Dict[str, Any]
  axes: Dict[str, List[Any]]
  output_flag: str = 'output'

  @classmethod
  def load(cls, path: str) -> 'Sweep':
    """Reads and checks a sweep file; errors name the field."""
    with open(path) as f:
      try:
        data = json.load(f)
      except json.JSONDecodeError as e:
        raise ValueError(f'sweep: {path!r} is not valid JSON: {e}') from e
    unknown = sorted(set(data) - {'launcher', 'flags', 'axes', 'output_flag'})
    if unknown:
      raise ValueError(f'sweep: unknown fields {unknown} in {path!r}; '
                       'expected launcher, flags, axes, output_flag.')
    if not isinstance(data.get('launcher'), str) or not re.fullmatch(
        r'[a-z_0-9]+', data['launcher']):
      raise ValueError('launcher: expected the name of a module in '
                       f'jumpy_acme.launchers, got {data.get("launcher")!r}.')
    axes = data.get('axes', {})
    if not isinstance(axes, dict) or not axes or any(
        not isinstance(v, list) or not v for v in axes.values()):
      raise ValueError('axes: expected {flag: [values, ...]} with at least '
                       f'one non-empty axis, got {axes!r}.')
    flags = data.get('flags', {})
    if not isinstance(flags, dict):
      raise ValueError(f'flags: expected an object, got {flags!r}.')
    both = sorted(set(flags) & set(axes))
    if both:
      raise ValueError(f'axes: {both} are also fixed in flags.')
    return cls(data['launcher'], flags, axes,
               data.get('output_flag', 'output'))

  def runs(self, output_dir: str) -> List[Run]:
    names = list(self.axes)
    out = []
    for index, values in enumerate(itertools.product(
        *(self.axes[n] for n in names))):
      values = dict(zip(names, values))
      name = ','.join(f'{k}={_text(v)}' for k, v in values.items())
      name = re.sub(r'[^A-Za-z0-9_.,=+-]', '_', name)
      flags = {**self.flags, **values,
               self.output_flag: os.path.join(output_dir, name)}
      out.append(Run(index, name, values, flags))
    return out


def _text(value) -> str:
  return ','.join(map(str, value)) if isinstance(value, list) else str(value)


def index_from_environment(index: Optional[int],
                           environ: Mapping[str, str] = os.environ) -> int:
  """The run index: the flag's, else SLURM's or Kubernetes' variable."""
  if index is not None:
    return index
  for name in INDEX_VARIABLES:
    if environ.get(name, '') != '':
      try:
        return int(environ[name])
      except ValueError:
        raise ValueError(f'{name}: expected an integer, got '
                         f'{environ[name]!r}.') from None
  raise ValueError('index: give --index, or run as a SLURM array task '
                   '(SLURM_ARRAY_TASK_ID) or a Kubernetes indexed job '
                   '(JOB_COMPLETION_INDEX).')


def command(sweep: Sweep, run: Run) -> List[str]:
  return [sys.executable, '-m', f'jumpy_acme.launchers.{sweep.launcher}'] + [
      f'--{k}={_text(v)}' for k, v in run.flags.items()]


# Metrics each launcher's output gives (extend for new launchers).
def _evaluate_metrics(directory: str) -> Dict[str, float]:
  with open(os.path.join(directory, 'results.json')) as f:
    rows = json.load(f)['results']
  return {f'{r["setting"]} | {r["task"]}': r['mean'] for r in rows}


def _train_rl_metrics(directory: str) -> Dict[str, float]:
  import csv  # pylint: disable=g-import-not-at-top
  metrics = {}
  for root, _, files in os.walk(directory):
    if 'evaluation.csv' in files:
      with open(os.path.join(root, 'evaluation.csv')) as f:
        rows = list(csv.DictReader(f))
      if rows:
        label = os.path.relpath(root, directory)
        last = rows[-1]
        metrics[f'return at {last["env_steps"]} env steps | {label}'] = (
            float(last['return_mean']))
  return metrics


METRICS: Dict[str, Callable[[str], Dict[str, float]]] = {
    'evaluate': _evaluate_metrics,
    'train_rl': _train_rl_metrics,
}


def run_one(sweep: Sweep, run: Run, runner=subprocess.run) -> Dict:
  """Runs one run (NOT pure: a subprocess) and writes its result.json."""
  directory = run.flags[sweep.output_flag]
  os.makedirs(directory, exist_ok=True)
  result = runner(command(sweep, run), check=False)
  if result.returncode != 0:
    raise RuntimeError(f'run {run.index} ({run.name}) failed with exit '
                       f'{result.returncode}; rerun the same index.')
  extract = METRICS.get(sweep.launcher)
  record = {'index': run.index, 'name': run.name, 'values': run.values,
            'command': command(sweep, run)[1:],
            'metrics': extract(directory) if extract else {}}
  with open(os.path.join(directory, RESULT + '.tmp'), 'w') as f:
    json.dump(record, f, indent=1)
  os.replace(os.path.join(directory, RESULT + '.tmp'),
             os.path.join(directory, RESULT))
  return record


def aggregate(sweep: Sweep, output_dir: str) -> Dict:
  """Merges finished runs: per group (runs equal but for the seed), each
  metric's mean, std (ddof 1) and standard error over seeds."""
  groups: Dict[str, Dict[str, List[float]]] = {}
  missing, counts = [], {}
  for run in sweep.runs(output_dir):
    path = os.path.join(run.flags[sweep.output_flag], RESULT)
    if not os.path.exists(path):
      missing.append(run)
      continue
    with open(path) as f:
      record = json.load(f)
    group = ','.join(f'{k}={_text(v)}' for k, v in run.values.items()
                     if k != SEED_AXIS) or '(all)'
    counts[group] = counts.get(group, 0) + 1
    for metric, value in record['metrics'].items():
      groups.setdefault(group, {}).setdefault(metric, []).append(value)
  rows = []
  for group, metrics in groups.items():
    for metric, values in metrics.items():
      v = np.asarray(values, np.float64)
      std = float(np.std(v, ddof=1)) if len(v) > 1 else float('nan')
      rows.append({'group': group, 'metric': metric, 'mean': float(v.mean()),
                   'std': std,
                   'se': std / math.sqrt(len(v)) if len(v) > 1 else
                         float('nan'),
                   'seeds': len(v)})
  return {'rows': rows, 'finished': sum(counts.values()),
          'missing': [{'index': r.index, 'name': r.name} for r in missing]}


def markdown(result: Dict) -> str:
  lines = ['| group | metric | mean +- std | SE | seeds |',
           '|---|---|---|---|---|']
  for r in result['rows']:
    lines.append(f'| {r["group"]} | {r["metric"]} | {r["mean"]:.2f} +- '
                 f'{r["std"]:.2f} | {r["se"]:.2f} | {r["seeds"]} |')
  missing = result['missing']
  lines.append('')
  lines.append(f'{result["finished"]} runs finished; ' + (
      'none missing.' if not missing else f'{len(missing)} missing: ' +
      ', '.join(f'{m["index"]} ({m["name"]})' for m in missing)))
  return '\n'.join(lines)


def describe(sweep: Sweep, output_dir: str) -> Sequence[str]:
  return [f'{r.index}: {r.name}' for r in sweep.runs(output_dir)]
