"""Evaluation (agents/experiments/evaluation.py and launchers/evaluate.py) on a
tiny saved model, both agents."""

import dataclasses
import json
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from jumpy_acme.agents import skill_vae
from jumpy_acme.agents.planning import config as planning_config
from jumpy_acme.agents.experiments import evaluation
from jumpy_acme.testing import phase1


@pytest.mark.integration
def test_load_checkpoint_and_evaluate_both_agents(tmp_path):
  learner = phase1.tiny_checkpoint(tmp_path / 'model')
  model = skill_vae.load(str(tmp_path / 'model'))
  assert model.config.latent_size == 4
  assert model.config.embed_sizes == (16, 16, 8)
  assert model.step == 1
  for a, b in zip(jax.tree_util.tree_leaves(model.params),
                  jax.tree_util.tree_leaves(learner.state.params)):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_allclose(model.normalization.action_scale,
                             [0.07, 0.07, 0.07, 1.0, 255.0])
  with pytest.raises(FileNotFoundError, match='no checkpoint in'):
    skill_vae.load(str(tmp_path / 'empty'))
  for agent in ('planning', 'random_hl'):
    out = tmp_path / agent
    result = subprocess.run(
        [sys.executable, '-m', 'jumpy_acme.launchers.evaluate',
         f'--agent={agent}', f'--checkpoint={tmp_path / "model"}',
         '--tasks=reach_red,lift_green', '--episodes=2', '--max_steps=5',
         '--num_samples=8', '--horizon=2', '--num_workers=1',
         f'--output={out}'], capture_output=True, text=True, timeout=600,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / 'results.json') as f:
      results = json.load(f)
    assert [r['task'] for r in results['results']] == ['reach_red',
                                                       'lift_green']
    label = 'Planning' if agent == 'planning' else 'Random-HL'
    for task, returns in results['returns'][label].items():
      assert len(returns) == 2
      assert all(0.0 <= r <= 5.0 for r in returns), (task, returns)
    assert results['settings'][0]['planner']['num_samples'] == 8
    # Every record says how many of its skill choices were ties; Random-HL
    # never plans, so never ties.
    for task, shares in results['tied_shares'][label].items():
      assert all(0.0 <= x <= 1.0 for x in shares), (task, shares)
      if agent == 'random_hl':
        assert shares == [0.0, 0.0]
    assert (out / 'results.md').read_text().startswith(
        f'| task | {label} |')
    assert (out / 'results.csv').read_text().startswith(
        'setting,task,mean,std')


@pytest.mark.integration
def test_table3_preset_runs_three_settings_on_the_same_episodes(tmp_path):
  phase1.tiny_checkpoint(tmp_path / 'model')
  out = tmp_path / 'table3'
  result = subprocess.run(
      [sys.executable, '-m', 'jumpy_acme.launchers.evaluate',
       '--preset=table3', f'--checkpoint={tmp_path / "model"}',
       f'--baseline_checkpoint={tmp_path / "model"}', '--baseline_horizon=1',
       '--tasks=reach_red', '--episodes=2', '--max_steps=3',
       '--num_samples=8', '--horizon=2', '--num_workers=2',
       f'--output={out}'], capture_output=True, text=True, timeout=600,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(out / 'results.json') as f:
    results = json.load(f)
  labels = ['Random-HL', 'Planning (jumpy)', 'Planning (K=1)']
  assert [s['label'] for s in results['settings']] == labels
  assert [s['planner']['horizon'] for s in results['settings']] == [2, 2, 1]
  assert (out / 'results.md').read_text().splitlines()[0] == (
      '| task | ' + ' | '.join(labels) + ' |')
  for label in labels:
    assert len(results['returns'][label]['reach_red']) == 2


@pytest.mark.integration
def test_evaluate_plans_from_the_fitted_posterior_and_names_a_missing_one(
    tmp_path):
  phase1.tiny_checkpoint(tmp_path / 'model')
  command = [sys.executable, '-m', 'jumpy_acme.launchers.evaluate',
             '--agent=planning', f'--checkpoint={tmp_path / "model"}',
             '--proposal=aggregate_posterior', '--tasks=reach_red',
             '--episodes=1', '--max_steps=3', '--num_samples=8',
             '--horizon=2', '--num_workers=1', f'--output={tmp_path / "out"}']
  missing = subprocess.run(command, capture_output=True, text=True,
                           timeout=600, check=False)
  assert missing.returncode != 0
  assert "--proposal: 'aggregate_posterior' needs" in missing.stderr
  assert not (tmp_path / 'out' / 'episodes.jsonl').exists()  # No work.
  model = skill_vae.load(str(tmp_path / 'model'))
  skill_vae.save_aggregate_posterior(
      str(tmp_path / 'model'), skill_vae.fit_aggregate_posterior(
          model, np.random.default_rng(0).normal(size=(8, 11, 86))))
  result = subprocess.run(command, capture_output=True, text=True,
                          timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / 'out' / 'results.json') as f:
    results = json.load(f)
  assert results['settings'][0]['planner']['proposal'] == (
      'aggregate_posterior')
  assert len(results['returns']['Planning']['reach_red']) == 1


def test_presets_follow_the_papers_tables():
  planner = {'num_samples': 1000, 'horizon': 3}
  table4 = evaluation.make_settings('table4', 'planning', 'k10', None,
                                    planner, 1)
  assert len(table4) == 4 * 5
  assert {(dict(s.planner)['horizon'], s.actions_per_latent)
          for s in table4} == {(h, a) for h in (1, 2, 3, 5)
                               for a in (1, 2, 10, 100, 200)}
  table5 = evaluation.make_settings('table5', 'planning', None, 'k1',
                                    planner, 1)
  assert [dict(s.planner)['horizon'] for s in table5] == [1, 2, 3, 5, 10, 30,
                                                         50]
  assert {s.checkpoint for s in table5} == {'k1'}
  with pytest.raises(ValueError, match='baseline_checkpoint: preset table3'):
    evaluation.make_settings('table3', 'planning', 'k10', None, planner, 1)
  with pytest.raises(ValueError, match='checkpoint: a phase-1 checkpoint'):
    evaluation.make_settings(None, 'planning', None, None, planner, 1)
  with pytest.raises(ValueError, match="agent: expected one of"):
    evaluation.make_settings(None, 'greedy', 'k10', None, planner, 1)


def test_results_table_says_its_spread_is_a_standard_deviation():
  # Probes are read against paired standard errors, so a '+-' without a
  # name is easily misread: 20 returns with std 14.4 have a standard error
  # of 3.3.
  settings = evaluation.make_settings(None, 'planning', 'k10', None,
                                      {'num_samples': 8}, 1)
  rows = [{'setting': 'Planning', 'task': 'lift_red', 'mean': 83.91,
           'std': 14.44, 'episodes': 20, 'tied_share': 0.0}]
  text = evaluation.markdown_table(settings, ['lift_red'], rows)
  assert '| lift_red | 83.91 +- 14.44 |' in text
  assert ('mean +- standard deviation (ddof 0) of the returns of 20 '
          'episodes; the standard error is std / sqrt(episodes - 1)' in text)


def test_settings_of_the_papers_proposal_keep_the_keys_recorded_before_it():
  # The planner fields of every episode recorded before `proposal` existed
  # (e.g. docs/tables/evaluation_apl1_cem3_fb05/episodes.jsonl): a setting
  # with the prior proposal keys its episodes by exactly these, so those
  # evaluations still resume and read.
  recorded = ['elite_fraction', 'elites', 'gamma_k', 'horizon', 'iterations',
              'min_std', 'mppi', 'noise_beta', 'num_samples', 'temperature']
  planner = dataclasses.asdict(planning_config.PlannerConfig(iterations=3))
  assert planner['proposal'] == 'prior'
  (prior,) = evaluation.make_settings(None, 'planning', 'k10', None, planner,
                                      1)
  assert [name for name, _ in prior.planner] == recorded
  assert prior.planner_config() == planning_config.PlannerConfig(
      iterations=3)
  (fitted,) = evaluation.make_settings(
      None, 'planning', 'k10', None,
      {**planner, 'proposal': 'aggregate_posterior'}, 1)
  assert dict(fitted.planner)['proposal'] == 'aggregate_posterior'
  assert fitted.planner_config().proposal == 'aggregate_posterior'
  assert evaluation.episode_key(prior, 1, 'lift_red', 0, 400, 0) != (
      evaluation.episode_key(fitted, 1, 'lift_red', 0, 400, 0))
  # Random-HL draws N(0, I) whatever the proposal: one key for both.
  random_hl = [evaluation.make_settings(
      'table3', 'planning', 'k10', 'k1', {**planner, 'proposal': p}, 1)[0]
               for p in ('prior', 'aggregate_posterior')]
  assert random_hl[0] == random_hl[1]
  assert [name for name, _ in random_hl[0].planner] == recorded


@pytest.mark.integration
def test_a_rerun_runs_only_the_episodes_not_yet_finished(tmp_path):
  phase1.tiny_checkpoint(tmp_path / 'model')
  out = tmp_path / 'resume'

  def run(episodes):
    result = subprocess.run(
        [sys.executable, '-m', 'jumpy_acme.launchers.evaluate',
         '--agent=random_hl', f'--checkpoint={tmp_path / "model"}',
         '--tasks=reach_red', f'--episodes={episodes}', '--max_steps=4',
         '--num_workers=1', f'--output={out}'], capture_output=True,
        text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / 'results.json') as f:
      return result.stdout, json.load(f)['returns']['Random-HL']['reach_red']

  _, first = run(2)
  # A torn line, as a crash in the middle of a write would leave.
  with open(out / 'episodes.jsonl', 'a') as f:
    f.write('{"key": "trunc')
  stdout, second = run(3)
  assert '2 of 3 episodes finished in an earlier run' in stdout
  assert stdout.count('[evaluate] 1/1 episodes') == 1
  assert second[:2] == first and len(second) == 3
  # Another model under the same path and step: nothing is reused.
  shutil.rmtree(tmp_path / 'model')
  phase1.tiny_checkpoint(tmp_path / 'model', seed=1)
  stdout, _ = run(3)
  assert 'finished in an earlier run' not in stdout
  assert stdout.count('[evaluate] 3/3 episodes') == 1


def test_missing_or_empty_checkpoints_are_named_before_any_episode(tmp_path):
  with pytest.raises(ValueError, match='is not a directory'):
    evaluation.checkpoint_step(str(tmp_path / 'nowhere'))
  (tmp_path / 'empty').mkdir()
  with pytest.raises(ValueError, match='checkpoint: no checkpoint in'):
    evaluation.checkpoint_step(str(tmp_path / 'empty'))
  phase1.tiny_checkpoint(tmp_path / 'model')
  assert evaluation.checkpoint_step(str(tmp_path / 'model')) == 1
