"""The infrastructure demo end to end at a tiny size: collect -> Reverb ->
learn."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.integration
def test_pipeline_demo_learns_a_better_than_baseline_model(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'jumpy_acme.launchers.pipeline_demo',
       f'--output_dir={tmp_path}', '--environment=point_mass',
       '--episode_length=100', '--num_episodes=6', '--K=5',
       '--num_sgd_steps=150', '--batch_size=32'],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / 'summary.json') as f:
    summary = json.load(f)
  assert summary['env_steps'] == 600
  # 6 episodes of 100 steps: 96 windows of K=5 each.
  assert summary['snippets'] == 6 * 96
  assert summary['counts']['learner_steps'] == 150
  # The linear K-step model beats predicting "no change" by a wide margin.
  assert summary['error_ratio_to_no_change'] < 0.5
  for name in ('learner/logs.jsonl', 'actor/logs.jsonl'):
    with open(os.path.join(tmp_path, name)) as f:
      rows = [json.loads(line) for line in f]
    assert rows
