"""Sweeps as batch jobs: run selection, per-run folders, aggregation."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jumpy_acme import sweeps


def _sweep_file(tmp_path, **changes):
  data = {'launcher': 'evaluate', 'flags': {'episodes': 2},
          'axes': {'seed': [0, 1, 2], 'tasks': ['reach_red', 'lift_red']}}
  data.update(changes)
  path = tmp_path / 'sweep.json'
  path.write_text(json.dumps(data))
  return str(path)


def test_runs_are_the_product_of_the_axes_in_order(tmp_path):
  sweep = sweeps.Sweep.load(_sweep_file(tmp_path))
  runs = sweep.runs('out')
  assert [r.name for r in runs[:3]] == [
      'seed=0,tasks=reach_red', 'seed=0,tasks=lift_red',
      'seed=1,tasks=reach_red']
  assert len(runs) == 6
  assert runs[3].flags == {'episodes': 2, 'seed': 1, 'tasks': 'lift_red',
                           'output': os.path.join('out',
                                                  'seed=1,tasks=lift_red')}
  assert sweeps.command(sweep, runs[3])[1:] == [
      '-m', 'jumpy_acme.launchers.evaluate', '--episodes=2', '--seed=1',
      '--tasks=lift_red', '--output=out/seed=1,tasks=lift_red']
  assert sweeps.index_from_environment(4, {}) == 4
  assert sweeps.index_from_environment(None, {'SLURM_ARRAY_TASK_ID': '5'}) == 5
  assert sweeps.index_from_environment(
      None, {'JOB_COMPLETION_INDEX': '2'}) == 2
  with pytest.raises(ValueError, match='give --index'):
    sweeps.index_from_environment(None, {})
  with pytest.raises(ValueError, match="SLURM_ARRAY_TASK_ID: expected an "
                     "integer, got 'x'"):
    sweeps.index_from_environment(None, {'SLURM_ARRAY_TASK_ID': 'x'})


def test_bad_sweep_files_name_the_field(tmp_path):
  with pytest.raises(ValueError, match=r'axes: \[\'seed\'\] are also fixed'):
    sweeps.Sweep.load(_sweep_file(tmp_path, flags={'seed': 1}))
  with pytest.raises(ValueError, match='launcher: expected the name'):
    sweeps.Sweep.load(_sweep_file(tmp_path, launcher='../evil'))
  with pytest.raises(ValueError, match=r"unknown fields \['axis'\]"):
    sweeps.Sweep.load(_sweep_file(tmp_path, axis={}))
  with pytest.raises(ValueError, match='axes: expected'):
    sweeps.Sweep.load(_sweep_file(tmp_path, axes={'seed': []}))


def test_runs_write_their_folder_and_aggregate_over_seeds(tmp_path):
  sweep = sweeps.Sweep.load(_sweep_file(tmp_path))
  runs = sweep.runs(str(tmp_path / 'out'))
  returns = {0: 10.0, 1: 20.0, 2: 60.0}

  def fake_evaluate(command, check):
    del check
    flags = dict(a[2:].split('=', 1) for a in command[3:])
    os.makedirs(flags['output'], exist_ok=True)
    value = returns[int(flags['seed'])] + (
        100.0 if flags['tasks'] == 'lift_red' else 0.0)
    with open(os.path.join(flags['output'], 'results.json'), 'w') as f:
      json.dump({'results': [{'setting': 'Planning', 'task': flags['tasks'],
                              'mean': value}]}, f)
    return subprocess.CompletedProcess(command, 0)

  for run in runs[:5]:  # Run 5 (seed 2, lift_red) never ran.
    sweeps.run_one(sweep, run, runner=fake_evaluate)
  result = sweeps.aggregate(sweep, str(tmp_path / 'out'))
  rows = {r['group']: r for r in result['rows']}
  reach = rows['tasks=reach_red']
  assert reach['seeds'] == 3
  np.testing.assert_allclose(reach['mean'], 30.0)
  np.testing.assert_allclose(reach['std'], np.std([10, 20, 60], ddof=1))
  np.testing.assert_allclose(reach['se'],
                             np.std([10, 20, 60], ddof=1) / np.sqrt(3))
  assert rows['tasks=lift_red']['seeds'] == 2
  np.testing.assert_allclose(rows['tasks=lift_red']['mean'], 115.0)
  assert result['missing'] == [{'index': 5, 'name': 'seed=2,tasks=lift_red'}]
  assert '1 missing: 5 (seed=2,tasks=lift_red)' in sweeps.markdown(result)

  def failing(command, check):
    del check
    return subprocess.CompletedProcess(command, 3)
  with pytest.raises(RuntimeError, match='run 5 .* failed with exit 3'):
    sweeps.run_one(sweep, runs[5], runner=failing)


def test_launcher_lists_runs_and_rejects_an_index_out_of_range(tmp_path):
  path = _sweep_file(tmp_path)
  base = [sys.executable, '-m', 'jumpy_acme.launchers.sweep',
          f'--sweep={path}', f'--output={tmp_path / "out"}']
  listed = subprocess.run(base + ['--action=list'], capture_output=True,
                          text=True, check=True, timeout=120)
  assert listed.stdout.splitlines()[-1] == '5: seed=2,tasks=lift_red'
  bad = subprocess.run(base + ['--index=6'], capture_output=True, text=True,
                       check=False, timeout=120,
                       env={k: v for k, v in os.environ.items()
                            if k not in sweeps.INDEX_VARIABLES})
  assert bad.returncode != 0
  assert '--index: expected in [0, 6) for this sweep, got 6' in bad.stderr
