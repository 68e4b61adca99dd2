"""launchers/collect.py -> launchers/train_phase1.py at a tiny size."""

import json
import os
import subprocess
import sys

import pytest


def _run(args, timeout=600):
  result = subprocess.run([sys.executable, '-m'] + args, capture_output=True,
                          text=True, timeout=timeout, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stdout


@pytest.mark.integration
def test_collect_then_train_then_resume(tmp_path):
  data = str(tmp_path / 'data')
  _run(['jumpy_acme.launchers.collect', '--num_actors=1', '--num_episodes=2',
        '--segment_length=35', '--K=10', '--triplet=triplet1',
        f'--output={data}'])
  train = ['jumpy_acme.launchers.train_phase1', f'--dataset={data}', '--K=10',
           '--batch_size=8', '--sgd_steps_per_step=2', '--heldout_fraction=0.5',
           f'--checkpoint_dir={tmp_path / "ckpt"}', '--checkpoint_every=2']
  _run(train + ['--num_steps=4'])
  logs = tmp_path / 'ckpt' / 'logs'
  with open(logs / 'summary.json') as f:
    summary = json.load(f)
  assert summary['sgd_steps'] == 8 and summary['resumed_from_step'] == 0
  # One held-out episode: 71 states; 10-step rollouts start every 5 steps
  # at t = 0, 5, ..., 60 (t + 10 <= 70): 13 of them.
  assert sorted(summary['rollout']) == ['10', '20', '30', '50']
  assert summary['rollout']['10']['count'] == 13
  assert set(summary['action_rmse']) == {'vx', 'vy', 'vz', 'wz', 'grip'}
  assert os.path.getsize(logs / 'rollouts.png') > 1000
  with open(logs / 'learner' / 'logs.jsonl') as f:
    rows = [json.loads(line) for line in f]
  assert len(rows) == 4
  for key in ('kl', 'action_l2', 'state_l2', 'grad_norm', 'state_rmse_red',
              'sgd_steps_per_second', 'data_wait_share'):
    assert key in rows[-1], key
  # A second run resumes from the checkpoint and continues to 6 steps.
  _run(train + ['--num_steps=6'])
  with open(logs / 'summary.json') as f:
    summary = json.load(f)
  assert summary['resumed_from_step'] == 4 and summary['sgd_steps'] == 12


@pytest.mark.integration
def test_train_on_the_fly_with_collection_actors(tmp_path):
  out = _run(['jumpy_acme.launchers.train_phase1', '--on_the_fly',
              '--num_actors=1', '--K=10', '--batch_size=8',
              '--sgd_steps_per_step=1', '--num_steps=3', '--min_buffer=40',
              '--samples_per_insert=2', f'--checkpoint_dir={tmp_path / "c"}'])
  counts = json.loads(out.strip().splitlines()[-1])
  assert counts['learner_steps'] == 3
  # Learning waited for the buffer: at least 40 snippets = 50 steps.
  assert counts['actor_steps'] >= 50
  with open(tmp_path / 'c' / 'logs' / 'learner' / 'logs.jsonl') as f:
    rows = [json.loads(line) for line in f]
  assert len(rows) == 3 and 'data_wait_share' in rows[-1]
  assert any(name.isdigit() for name in os.listdir(tmp_path / 'c'))
