"""Table 3 as the paper has it, from evaluation runs and measured ceilings.

Reads the per-episode records (episodes.jsonl) of one or more
`evaluate --preset=table3` runs, e.g. one with a new skill every step
(actions_per_latent 1, the paper's setting) and one with skills held K = 10
steps, so that a table can be built while runs are still going (cells show
how many episodes they hold). Each cell is mean +- standard error, and the
mean as a fraction of our scripted ceiling (bench/ceilings.py): the
paper's absolute returns exceed what our physics allows, so a fraction is
the comparable number. The paper's means sit beside ours.
"""

import collections
import json
import math
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from jumpy_acme.agents.experiments import evaluation
from jumpy_acme.agents.experiments import paper_results

RANDOM_HL, JUMPY, K1 = 'Random-HL', 'Planning (jumpy)', 'Planning (K=1)'
# The goals of issue [skills-that-steer].
JUMPY_OVER_K1_TASKS = ('lift_red', 'red_hover_blue', 'red_stack_blue',
                       'red_hover_green', 'red_stack_green', 'bring_red')
CEILING_GOAL_TASKS = ('reach_red', 'lift_red', 'red_hover_blue')
CEILING_GOAL = 0.6

Cell = Tuple[str, int, str]  # (setting label, actions per latent, task).


# What must be the same for every episode of a column: the agent, its
# model (path, step, fingerprint) and its planner.
_COLUMN_FIELDS = ('agent', 'checkpoint', 'checkpoint_step', 'model',
                  'planner')


def _column_identity(key: Mapping) -> Dict:
  setting = key['setting']
  return {'agent': setting['agent'], 'checkpoint': setting['checkpoint'],
          'checkpoint_step': key.get('checkpoint_step'),
          'model': key.get('model'),
          'planner': {name: value for name, value in setting['planner']}}


def read_columns(directories: Sequence[str]) -> Tuple[
    Dict[Cell, List[float]], Dict[Tuple[str, int], Dict]]:
  """Returns and what each column ran, from episodes.jsonl.

  Returns:
    ({(label, apl, task): returns in episode order},
     {(label, apl): {'agent', 'checkpoint', 'checkpoint_step', 'model',
                     'planner': {PlannerConfig field: value}}}).

  Raises:
    FileNotFoundError: a directory without episodes.jsonl, named.
    ValueError: one column holds episodes of two different agents, models
      or planners (e.g. a CEM run's directory beside a random-shooting
      one): the column and both values are named, not averaged together.
  """
  by_cell = collections.defaultdict(dict)
  columns = {}
  for directory in directories:
    path = os.path.join(directory, evaluation.EPISODES_FILE)
    if not os.path.exists(path):
      raise FileNotFoundError(f'evaluations: no {evaluation.EPISODES_FILE} '
                              f'in {directory!r}.')
    for key, outcome in evaluation.read_finished(path).items():
      key = json.loads(key)
      setting = key['setting']
      column = (setting['label'], int(setting['actions_per_latent']))
      identity = _column_identity(key)
      known = columns.setdefault(column, identity)
      for field in _COLUMN_FIELDS:
        if known[field] != identity[field]:
          raise ValueError(
              f'evaluations: column {column[0]!r} at apl {column[1]} holds '
              f'episodes with two different {field} values, {known[field]!r} '
              f'and {identity[field]!r} (the second in {path!r}); pass '
              'directories of one planner and one model per table.')
      by_cell[column + (key['task'],)][int(key['episode'])] = (
          outcome['return'])
  returns = {cell: [r for _, r in sorted(episodes.items())]
             for cell, episodes in by_cell.items()}
  return returns, columns


def read_returns(directories: Sequence[str]) -> Dict[Cell, List[float]]:
  """{(label, apl, task): returns in episode order} from episodes.jsonl
  (read_columns' first value; its ValueError for a mixed column too)."""
  return read_columns(directories)[0]


def planner_text(columns: Mapping[Tuple[str, int], Mapping]) -> str:
  """One line naming the planning columns' planner, e.g. 'N = 1000 plans,
  H = 3 jumps, I = 3 CEM iterations', and whether it is the paper's."""
  planners = {}
  order = {label: i for i, label in enumerate((RANDOM_HL, JUMPY, K1))}
  for (label, _), column in sorted(
      columns.items(), key=lambda c: (order.get(c[0][0], 3), c[0])):
    if column['agent'] == 'planning':
      p = column['planner']
      text = (f'N = {p.get("num_samples")} plans, H = {p.get("horizon")} '
              f'jumps, I = {p.get("iterations")} CEM iteration'
              f'{"s" if p.get("iterations") != 1 else ""}'
              + (f', first skills from the {p["proposal"].replace("_", " ")}'
                 if p.get('proposal', 'prior') != 'prior' else ''))
      planners.setdefault(text, []).append(label)
  if not planners:
    return ''
  parts = [f'{", ".join(dict.fromkeys(labels))}: {text}'
           for text, labels in planners.items()]
  paper = all(c['planner'].get('iterations') == 1 and
              c['planner'].get('proposal', 'prior') == 'prior'
              for c in columns.values() if c['agent'] == 'planning')
  return ('Planner: ' + '; '.join(parts) + ('. The paper\'s setting (one CEM '
          'iteration: random shooting).' if paper else '. Not the paper\'s '
          'planner: the paper plans with one CEM iteration (random '
          'shooting) from N(0, I).'))


def summary(returns: Sequence[float]) -> Dict[str, float]:
  r = np.asarray(returns, np.float64)
  n = len(r)
  std = float(np.std(r, ddof=1)) if n > 1 else float('nan')
  return {'mean': float(np.mean(r)) if n else float('nan'), 'std': std,
          'se': std / math.sqrt(n) if n > 1 else float('nan'), 'n': n}


def load_ceilings(path: str) -> Dict[str, Dict[str, float]]:
  """{task: {'mean', 'se', ...}} of the scripted controller, from the JSON
  line bench/ceilings.py prints (saved to a file)."""
  with open(path) as f:
    data = json.load(f)
  tasks = data.get('returns', data)
  return {task: values['scripted'] for task, values in tasks.items()
          if isinstance(values, dict) and 'scripted' in values}


def read_cells(path: str) -> Dict[Cell, Dict[str, float]]:
  """{(label, apl, task): {'mean', 'std', 'se', 'n'}} from a table JSON
  that `build` wrote (<output>.json): a stored table, to be rebuilt against
  new ceilings without its evaluation runs (read_table's first value)."""
  return read_table(path)[0]


def read_table(path: str) -> Tuple[Dict[Cell, Dict[str, float]], str]:
  """A stored table's cells (as read_cells) and its planner line ('' for a
  table written before tables named their planner)."""
  with open(path) as f:
    data = json.load(f)
  if not isinstance(data, dict) or not isinstance(data.get('cells'), dict):
    raise ValueError(f'table: {path!r} holds no "cells" mapping (expected '
                     'the <output>.json the table3 launcher writes).')
  cells = {}
  for key, stats in data['cells'].items():
    label, apl, task = key.split('|')
    missing = {'mean', 'se', 'n'} - set(stats)
    if missing:
      raise ValueError(f'table: cell {key!r} in {path!r} lacks '
                       f'{sorted(missing)}.')
    cells[label, int(apl), task] = dict(stats)
  return cells, data.get('planner', '')


def build(returns: Mapping[Cell, Sequence[float]],
          ceilings: Mapping[str, Mapping[str, float]],
          tasks: Optional[Sequence[str]] = None, planner: str = '') -> Dict:
  """Cells, goals and the Markdown table, from per-episode returns;
  `planner` (planner_text's line) goes under the table."""
  return build_from_cells({cell: summary(r) for cell, r in returns.items()},
                          ceilings, tasks, planner)


def build_from_cells(cells: Mapping[Cell, Mapping[str, float]],
                     ceilings: Mapping[str, Mapping[str, float]],
                     tasks: Optional[Sequence[str]] = None,
                     planner: str = '') -> Dict:
  """Cells, goals and the Markdown table, from each cell's summary;
  `planner` (planner_text's line) goes under the table."""
  apls = sorted({apl for _, apl, _ in cells})
  labels = [label for label in (RANDOM_HL, JUMPY, K1)
            if any(cell[0] == label for cell in cells)]
  tasks = list(tasks or [t for t in paper_results.TASKS
                         if any(cell[2] == t for cell in cells)])
  columns = [(label, apl) for apl in apls for label in labels
             if any((label, apl, t) in cells for t in tasks)]

  def fmt(stats, ceiling):
    if stats is None:
      return '-'
    text = f'{stats["mean"]:.1f} +- {stats["se"]:.1f}'
    if ceiling:
      text += f' ({stats["mean"] / ceiling:.2f})'
    return text

  header = ['task'] + [f'{label}, apl {apl}' for label, apl in columns] + [
      'scripted ceiling', 'paper: Random-HL / jumpy / K=1 / base']
  lines = ['| ' + ' | '.join(header) + ' |',
           '|' + '---|' * len(header)]
  for task in tasks:
    ceiling = ceilings.get(task, {}).get('mean')
    row = [task] + [fmt(cells.get((label, apl, task)), ceiling)
                    for label, apl in columns]
    row.append('-' if ceiling is None else
               f'{ceiling:.1f} +- {ceilings[task].get("se", float("nan")):.1f}')
    paper = paper_results.TABLE3.get(task)
    row.append('-' if paper is None else ' / '.join(
        '-' if v is None else f'{v[0]:.1f}' for v in paper))
    lines.append('| ' + ' | '.join(row) + ' |')
  counts = sorted({s['n'] for s in cells.values()})
  lines.append('')
  lines.append('Cells: mean +- standard error of the undiscounted 400-step '
               'return (fraction of the scripted ceiling); episodes per '
               f'cell: {counts[0]}' + (f' to {counts[-1]}' if len(counts) > 1
                                       else '') + '.')
  if planner:
    lines.append(planner)
  return {'columns': [list(c) for c in columns], 'tasks': tasks,
          'planner': planner,
          'cells': {f'{label}|{apl}|{task}': stats
                    for (label, apl, task), stats in cells.items()},
          'goals': goals(cells, ceilings, tasks, apls),
          'markdown': '\n'.join(lines)}


def _beats(a, b, margin_se: float = 2.0):
  """(a's mean - b's mean) / the difference's standard error, and whether
  it exceeds `margin_se`."""
  if a is None or b is None:
    return None, False
  if margin_se > 0 and min(a['n'], b['n']) < 2:
    return None, False  # No standard error from one episode.
  se = math.sqrt(a['se'] ** 2 + b['se'] ** 2)
  if not se > 0:
    return None, a['mean'] > b['mean']
  z = (a['mean'] - b['mean']) / se
  return z, z > margin_se


def goals(cells, ceilings, tasks, apls) -> Dict:
  """The issue's three goals, per actions-per-latent setting."""
  out = {}
  for apl in apls:
    get = lambda label, task, apl=apl: cells.get((label, apl, task))
    over_random = {t: _beats(get(JUMPY, t), get(RANDOM_HL, t)) for t in tasks}
    over_k1 = {t: _beats(get(JUMPY, t), get(K1, t), 0.0)
               for t in JUMPY_OVER_K1_TASKS if t in tasks}
    ceiling = {}
    for t in CEILING_GOAL_TASKS:
      stats, top = get(JUMPY, t), ceilings.get(t, {}).get('mean')
      if stats is not None and top:
        ceiling[t] = stats['mean'] / top
    out[apl] = {
        'jumpy_beats_random_hl_by_2se': {
            t: {'z': z, 'met': met} for t, (z, met) in over_random.items()},
        'jumpy_beats_random_hl_on_all': all(
            met for _, met in over_random.values()),
        'jumpy_beats_k1': {t: met for t, (_, met) in over_k1.items()},
        'jumpy_beats_k1_count': sum(met for _, met in over_k1.values()),
        'jumpy_fraction_of_ceiling': ceiling,
        'ceiling_goal_met': len(ceiling) == len(CEILING_GOAL_TASKS) and all(
            v >= CEILING_GOAL for v in ceiling.values()),
    }
  return out


def goals_text(result: Dict) -> str:
  lines = []
  for apl, g in result['goals'].items():
    beaten = [t for t, v in g['jumpy_beats_random_hl_by_2se'].items()
              if v['met']]
    lines.append(
        f'- apl {apl}: jumpy planning beats Random-HL by > 2 SE on '
        f'{len(beaten)} of {len(g["jumpy_beats_random_hl_by_2se"])} tasks '
        f'(goal: all); beats K = 1 planning on {g["jumpy_beats_k1_count"]} '
        f'of {len(g["jumpy_beats_k1"])} (goal: >= 4); fraction of the '
        'scripted ceiling ' + ', '.join(
            f'{t} {v:.3f}' for t, v in g['jumpy_fraction_of_ceiling'].items())
        + f' (goal: >= {CEILING_GOAL}: '
        + ('met' if g['ceiling_goal_met'] else 'missed') + ').')
  return '\n'.join(lines)
