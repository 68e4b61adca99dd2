"""Table 3 from per-episode records: cells, standard errors and goals."""

import json
import math

import numpy as np
import pytest

from jumpy_acme.agents.experiments import evaluation
from jumpy_acme.agents.experiments import table3


def _write(directory, label, agent, apl, task, returns, planner=(),
           model=None):
  setting = evaluation.Setting(label, agent, '/ckpt', apl, planner)
  directory.mkdir(exist_ok=True)
  with open(directory / evaluation.EPISODES_FILE, 'a') as f:
    for e, r in enumerate(returns):
      key = evaluation.episode_key(setting, 7, task, e, 400, 0, model)
      f.write(json.dumps({'key': key, 'return': r, 'tied_share': 0.0}) + '\n')


def test_cells_goals_and_partial_runs(tmp_path):
  one, ten = tmp_path / 'apl1', tmp_path / 'apl10'
  _write(one, table3.RANDOM_HL, 'random_hl', 1, 'reach_red', [0., 10., 20.])
  _write(one, table3.JUMPY, 'planning', 1, 'reach_red', [200., 220., 240.])
  _write(one, table3.K1, 'planning', 1, 'reach_red', [100., 100.])
  _write(ten, table3.JUMPY, 'planning', 10, 'lift_red', [50., 70.])
  with open(one / evaluation.EPISODES_FILE, 'a') as f:
    f.write('{"key": torn')  # A crash mid-write is ignored.
  returns = table3.read_returns([str(one), str(ten)])
  assert returns[table3.JUMPY, 1, 'reach_red'] == [200., 220., 240.]
  result = table3.build(returns, {'reach_red': {'mean': 300.0, 'se': 5.0},
                                  'lift_red': {'mean': 250.0, 'se': 9.0}})
  cell = result['cells'][f'{table3.JUMPY}|1|reach_red']
  assert cell['n'] == 3
  np.testing.assert_allclose(cell['mean'], 220.0)
  np.testing.assert_allclose(cell['se'], 20.0 / math.sqrt(3))  # std 20.
  goals = result['goals'][1]
  # (220 - 10) / sqrt(2 * (10 / sqrt 3)^2 ... ): far beyond 2 SE.
  assert goals['jumpy_beats_random_hl_by_2se']['reach_red']['met']
  np.testing.assert_allclose(goals['jumpy_fraction_of_ceiling']['reach_red'],
                             220.0 / 300.0)
  # Met on reach_red, but lift_red and red_hover_blue are not in yet.
  assert not goals['ceiling_goal_met']
  # Three decimals and the verdict: 0.597 must not read as 0.60 >= 0.6.
  text = table3.goals_text(result)
  assert 'reach_red 0.733 (goal: >= 0.6: missed).' in text, text
  assert '220.0 +- 11.5 (0.73)' in result['markdown']
  assert '373.8' in result['markdown']  # The paper's jumpy reach_red.
  assert 'episodes per cell: 2 to 3' in result['markdown']


def test_one_episode_cannot_beat_anything_by_two_standard_errors(tmp_path):
  one = tmp_path / 'apl1'
  _write(one, table3.RANDOM_HL, 'random_hl', 1, 'reach_red', [0.])
  _write(one, table3.JUMPY, 'planning', 1, 'reach_red', [300.])
  result = table3.build(table3.read_returns([str(one)]), {})
  assert not result['goals'][1]['jumpy_beats_random_hl_by_2se'][
      'reach_red']['met']


def test_missing_directory_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match='no episodes.jsonl in'):
    table3.read_returns([str(tmp_path / 'nowhere')])


def test_a_stored_table_is_rebuilt_against_new_ceilings(tmp_path):
  one = tmp_path / 'apl1'
  _write(one, table3.RANDOM_HL, 'random_hl', 1, 'lift_red', [0., 10., 20.])
  _write(one, table3.JUMPY, 'planning', 1, 'lift_red', [100., 120., 140.])
  first = table3.build(table3.read_returns([str(one)]),
                       {'lift_red': {'mean': 400.0, 'se': 5.0}})
  stored = tmp_path / 'table3.json'
  stored.write_text(json.dumps(
      {k: v for k, v in first.items() if k != 'markdown'}))
  # New ceilings, same episodes: the cells stay, the fractions follow.
  again = table3.build_from_cells(table3.read_cells(str(stored)),
                                  {'lift_red': {'mean': 200.0, 'se': 4.0}})
  assert again['cells'] == first['cells']
  assert '120.0 +- 11.5 (0.30)' in first['markdown']
  assert '120.0 +- 11.5 (0.60)' in again['markdown']
  assert '200.0 +- 4.0' in again['markdown']
  np.testing.assert_allclose(
      again['goals'][1]['jumpy_fraction_of_ceiling']['lift_red'], 0.6)
  stored.write_text(json.dumps({'tasks': ['lift_red']}))
  with pytest.raises(ValueError, match='holds no "cells"'):
    table3.read_cells(str(stored))


def _write_planner(directory, label, apl, task, returns, iterations):
  planner = tuple(sorted({'num_samples': 1000, 'horizon': 3,
                          'iterations': iterations}.items()))
  _write(directory, label, 'planning', apl, task, returns, planner, 'abc')


def test_two_planners_in_one_column_are_refused_not_averaged(tmp_path):
  shooting, cem = tmp_path / 'shooting', tmp_path / 'cem'
  _write_planner(shooting, table3.JUMPY, 10, 'lift_red', [100., 120.], 1)
  _write_planner(cem, table3.JUMPY, 10, 'lift_red', [180., 200.], 3)
  with pytest.raises(ValueError, match=r"'Planning \(jumpy\)' at apl 10 "
                     r'.*two different planner values'):
    table3.read_returns([str(shooting), str(cem)])
  # Each on its own is a table that names its planner.
  returns, columns = table3.read_columns([str(cem)])
  assert returns[table3.JUMPY, 10, 'lift_red'] == [180., 200.]
  line = table3.planner_text(columns)
  assert 'N = 1000 plans, H = 3 jumps, I = 3 CEM iterations' in line
  assert "Not the paper's planner" in line
  result = table3.build(returns, {}, planner=line)
  assert result['markdown'].endswith(line)
  assert result['planner'] == line
  _, columns = table3.read_columns([str(shooting)])
  assert "The paper's setting" in table3.planner_text(columns)
  # A stored table keeps its planner line when rebuilt.
  stored = tmp_path / 'table3_cem3.json'
  stored.write_text(json.dumps(
      {k: v for k, v in result.items() if k != 'markdown'}))
  assert table3.read_table(str(stored))[1] == line
