"""The tables behind Figures 3-4 and the goals of issue [rl-curves].

Reads `<root>/<task>/<method>/seed_<s>/evaluation.csv` as train_rl.py writes
them (rows appear as evaluations finish, so a table can be built while runs
are still going) and gives, per task, each method's evaluation return at
each evaluation point: mean and standard deviation across seeds, and how
many seeds reached it.

The goals, as the issue states them:
  - RL-HL's mean return at 50k environment steps is above RL-from-scratch's
    by more than the spread across seeds. "The spread" is read as the sum of
    the two methods' across-seed standard deviations: the mean +- std bands
    do not overlap.
  - RL-HL + Planning's mean is above RL-HL's at every evaluation point up
    to 20k environment steps.
A goal needs both methods' points from at least `min_seeds` seeds; until
then it is reported as pending, not as met or missed.

Beside the first goal's verdict (which stays the issue's), two paired
figures: a seed's evaluations run the same initial states at every point
and for every method (train_rl.py seeds the evaluator with the run's seed
alone), so episode i of RL-HL and of scratch under one seed start alike.
Their differences, pooled over seeds, take out which initial states a
seed drew, much of the spread when returns are bimodal (an
episode either grasps or scores about 0). And RL-HL's return at 50k minus
its own at 0 on the same states: what it learned, apart from what its
untrained policy already scored.
"""

import glob
import json
import os
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from jumpy_acme.agents.experiments import rl
from jumpy_acme.agents.harnessing import config as config_lib

METHODS = config_lib.METHODS
LABELS = {'scratch': 'RL-from-scratch', 'rl_hl': 'RL-HL',
          'rl_hl_planning': 'RL-HL + Planning',
          'rl_hl_planning_finetune': 'RL-HL + Planning + Finetune'}
HL_OVER_SCRATCH_AT = 50_000
PLANNING_OVER_HL_UNTIL = 20_000

# {env_steps: [one evaluation return (mean of its episodes) per seed]}.
Curve = Dict[int, List[float]]


def _seed_rows(method_dir: str):
  """(seed, its evaluation.csv rows) for each of a method's seed_* runs,
  in path order."""
  for path in sorted(glob.glob(os.path.join(method_dir, 'seed_*',
                                            rl.EVALUATION_FILE))):
    seed = int(os.path.basename(os.path.dirname(path))[len('seed_'):])
    yield seed, rl.read_evaluations(path)


def read_method(method_dir: str) -> Curve:
  """One method's curve from its seed_*/evaluation.csv files."""
  curve = {}
  for _, rows in _seed_rows(method_dir):
    for row in rows:
      curve.setdefault(row['env_steps'], []).append(
          float(row['return_mean']))
  return dict(sorted(curve.items()))


def seeds_label(curve: Curve) -> str:
  """'3 seeds', '1 seed', or '1-3 seeds' where the points of `curve` have
  different numbers of seeds (a method whose later seeds are still
  running)."""
  if not curve:
    raise ValueError('curve: expected at least one point, got none.')
  counts = [len(v) for v in curve.values()]
  low, high = min(counts), max(counts)
  return seeds_text(str(high) if low == high else f'{low}-{high}')


def seeds_text(count: str) -> str:
  """'1 seed', '3 seeds', '1-3 seeds'."""
  return f'{count} seed' + ('' if count == '1' else 's')


def settings(method_dir: str) -> Dict[str, Any]:
  """The settings a method's label names, read from its seeds'
  config.json: critic_features (what the critic saw besides (s, a);
  'state' for runs from before the setting existed, or without a config)
  and epsilon_mean (DMPO's KL bound on the policy mean per action
  dimension; None where the config does not record it).

  Raises:
    ValueError: when seeds differ (one curve would mix two settings).
  """
  def named(config):
    return {'critic_features': config.get('critic_features',
                                          config_lib.PAPER_CRITIC_FEATURES),
            'epsilon_mean': config.get('dmpo', {}).get('epsilon_mean')}

  found = {}
  for seed_dir in sorted(glob.glob(os.path.join(method_dir, 'seed_*'))):
    path = os.path.join(seed_dir, 'config.json')
    config = {}
    if os.path.exists(path):
      with open(path) as f:
        config = json.load(f)
    found[seed_dir] = named(config)
  for name in ('critic_features', 'epsilon_mean'):
    values = {seed_dir: v[name] for seed_dir, v in found.items()}
    if len(set(values.values())) > 1:
      raise ValueError(f'{method_dir}: seeds ran with different {name} '
                       f'({values}); one curve cannot mix them. Move one '
                       'setting\'s seeds to another root.')
  return next(iter(found.values()), named({}))


def label(method_dir: str, method: str) -> str:
  """The method's name in tables and plots. For a skill method it also
  names a model critic (one that saw the jumpy model's prediction) and the
  mean's KL bound per dimension, which differs between the curves' runs
  (docs/phase2.md): e.g. 'RL-HL (model critic, epsilon_mean 7.8e-05)'."""
  if method not in config_lib.SKILL_METHODS:
    return LABELS[method]
  found = settings(method_dir)
  parts = []
  if found['critic_features'] == 'model':
    parts.append('model critic')
  if found['epsilon_mean'] is not None:
    parts.append(f'epsilon_mean {found["epsilon_mean"]:.2g}')
  return LABELS[method] + (f' ({", ".join(parts)})' if parts else '')


def read_episodes(method_dir: str) -> Dict[int, Dict[int, List[float]]]:
  """{seed: {env_steps: the evaluation's episode returns, in episode
  order}} from a method's seed_*/evaluation.csv files."""
  return {seed: {row['env_steps']: [float(r) for r in
                                    json.loads(row['returns'])]
                 for row in rows}
          for seed, rows in _seed_rows(method_dir)}


def paired(first: Mapping[int, Mapping[int, List[float]]], first_at: int,
           second: Mapping[int, Mapping[int, List[float]]], second_at: int
           ) -> Dict[str, Any]:
  """Episode by episode, `first` at `first_at` minus `second` at
  `second_at` ({seed: {env_steps: returns}} each), over the seeds both
  have with the same number of episodes there: the mean difference, its
  standard error over episodes (ddof 1) and the episode and seed counts;
  None without any pair."""
  differences, seeds = [], []
  for seed in sorted(set(first) & set(second)):
    a = first[seed].get(first_at)
    b = second[seed].get(second_at)
    if a is None or b is None or len(a) != len(b):
      continue
    differences.extend(np.subtract(a, b))
    seeds.append(seed)
  if not differences:
    return None
  n = len(differences)
  se = float(np.std(differences, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
  return {'mean': float(np.mean(differences)), 'se': se, 'episodes': n,
          'seeds': seeds}


def _tasks(root: str, tasks: Sequence[str] = None) -> Sequence[str]:
  """`tasks`, or every task directory under `root`."""
  if tasks is not None:
    return tasks
  return sorted(d for d in os.listdir(root)
                if os.path.isdir(os.path.join(root, d)))


def read(root: str, tasks: Sequence[str] = None) -> Dict[str, Dict[str,
                                                                    Curve]]:
  """{task: {method: curve}} for every task directory under `root` (or
  `tasks`), leaving out methods without an evaluation yet."""
  result = {}
  for task in _tasks(root, tasks):
    curves = {m: read_method(os.path.join(root, task, m)) for m in METHODS}
    result[task] = {m: c for m, c in curves.items() if c}
  return result


def summary(values: Sequence[float]) -> Dict[str, float]:
  return {'mean': float(np.mean(values)), 'std': float(np.std(values)),
          'seeds': len(values)}


def _pending(reason: str) -> Dict[str, Any]:
  return {'status': 'pending', 'reason': reason}


def hl_over_scratch(curves: Mapping[str, Curve], min_seeds: int = 2,
                    at: int = HL_OVER_SCRATCH_AT,
                    episodes: Mapping[str, Any] = None) -> Dict[str, Any]:
  """The first goal on one task's curves (see the module docstring); with
  `episodes` ({method: read_episodes(...)}) also the paired figures
  'paired' (RL-HL minus scratch at `at`) and 'rl_hl_gain' (RL-HL at `at`
  minus at 0)."""
  points = {}
  for method in ('rl_hl', 'scratch'):
    values = curves.get(method, {}).get(at, [])
    if len(values) < min_seeds:
      return _pending(f'{LABELS[method]} has {len(values)} seed(s) at '
                      f'{at:,} steps, {min_seeds} needed')
    points[method] = summary(values)
  hl, scratch = points['rl_hl'], points['scratch']
  margin = hl['mean'] - scratch['mean']
  spread = hl['std'] + scratch['std']
  result = {'status': 'met' if margin > spread else 'missed',
            'rl_hl': hl, 'scratch': scratch, 'margin': margin,
            'spread': spread}
  if episodes and 'rl_hl' in episodes and 'scratch' in episodes:
    result['paired'] = paired(episodes['rl_hl'], at, episodes['scratch'], at)
    result['rl_hl_gain'] = paired(episodes['rl_hl'], at, episodes['rl_hl'],
                                  0)
  return result


def planning_over_hl(curves: Mapping[str, Curve], min_seeds: int = 2,
                     until: int = PLANNING_OVER_HL_UNTIL) -> Dict[str, Any]:
  """The second goal on one task's curves (see the module docstring)."""
  steps = sorted(x for x in curves.get('rl_hl', {}) if x <= until)
  if not steps or max(steps) < until:
    return _pending(f'RL-HL has no evaluation at {until:,} steps yet')
  rows = []
  for x in steps:
    values = {m: curves.get(m, {}).get(x, [])
              for m in ('rl_hl_planning', 'rl_hl')}
    for method, v in values.items():
      if len(v) < min_seeds:
        return _pending(f'{LABELS[method]} has {len(v)} seed(s) at {x:,} '
                        f'steps, {min_seeds} needed')
    planning, hl = (summary(values['rl_hl_planning']),
                    summary(values['rl_hl']))
    rows.append({'env_steps': x, 'rl_hl_planning': planning, 'rl_hl': hl,
                 'above': planning['mean'] > hl['mean']})
  return {'status': 'met' if all(r['above'] for r in rows) else 'missed',
          'points': rows}


def _cell(values: Sequence[float]) -> str:
  if not values:
    return '-'
  s = summary(values)
  return f'{s["mean"]:.1f} +- {s["std"]:.1f} ({s["seeds"]})'


def markdown(task: str, curves: Mapping[str, Curve],
             labels: Mapping[str, str] = None) -> str:
  """One task's table: a row per evaluation point, a column per method
  (headed by `labels`, default LABELS), each cell 'mean +- std across
  seeds (seeds)'."""
  labels = labels or LABELS
  methods = [m for m in METHODS if m in curves]
  steps = sorted({x for m in methods for x in curves[m]})
  lines = [f'### {task}', '',
           '| env steps | ' + ' | '.join(labels[m] for m in methods) + ' |',
           '|---|' + '---|' * len(methods)]
  for x in steps:
    lines.append(f'| {x:,} | ' + ' | '.join(
        _cell(curves[m].get(x, [])) for m in methods) + ' |')
  return '\n'.join(lines)


def build(root: str, tasks: Sequence[str] = None,
          min_seeds: int = 2) -> Dict[str, Any]:
  """Tables and goals for every task under `root`, as one JSON-able dict."""
  data = read(root, tasks)
  episodes = {task: {m: read_episodes(os.path.join(root, task, m))
                     for m in curves} for task, curves in data.items()}
  return {
      'root': root, 'min_seeds': min_seeds,
      'curves': {task: {m: {str(x): summary(v) for x, v in c.items()}
                        for m, c in curves.items()}
                 for task, curves in data.items()},
      'goals': {task: {'hl_over_scratch': hl_over_scratch(
          curves, min_seeds, episodes=episodes[task]),
                       'planning_over_hl': planning_over_hl(curves,
                                                            min_seeds)}
                for task, curves in data.items()},
      'markdown': '\n\n'.join(
          markdown(t, c, {m: label(os.path.join(root, t, m), m) for m in c})
          for t, c in data.items()),
  }


def compare(root: str, against: str,
            tasks: Sequence[str] = None) -> List[Dict[str, Any]]:
  """A variant's runs against the same methods' runs under another root,
  paired episode by episode (`paired`; the same seed evaluates the same
  initial states under both roots): one row per task, method and
  evaluation point that both roots have, with either root's mean over the
  paired seeds."""
  rows = []
  for task in _tasks(root, tasks):
    for method in METHODS:
      ours = read_episodes(os.path.join(root, task, method))
      if not ours:
        continue
      theirs = read_episodes(os.path.join(against, task, method))
      points = sorted({x for s in set(ours) & set(theirs)
                       for x in set(ours[s]) & set(theirs[s])})
      for x in points:
        p = paired(ours, x, theirs, x)
        if p is None:
          continue
        rows.append({
            'task': task, 'method': method, 'env_steps': x, 'paired': p,
            'root_mean': float(np.mean([ours[s][x] for s in p['seeds']])),
            'against_mean': float(np.mean([theirs[s][x]
                                           for s in p['seeds']]))})
  return rows


def compare_lines(rows: Sequence[Mapping[str, Any]], root: str,
                  against: str) -> List[str]:
  """A markdown table of `compare`'s rows."""
  lines = [f'| task | method | env steps | {root} | {against} | '
           'paired difference |', '|---|---|---|---|---|---|']
  for r in rows:
    lines.append(f'| {r["task"]} | {r["method"]} | {r["env_steps"]:,} | '
                 f'{r["root_mean"]:.1f} | {r["against_mean"]:.1f} | '
                 f'{_figure(r["paired"])} |')
  return lines


def _figure(p: Mapping[str, Any]) -> str:
  return (f'{p["mean"]:+.1f} +- {p["se"]:.1f} (s.e., {p["episodes"]} '
          f'episodes of {seeds_text(str(len(p["seeds"])))})')


def _paired_text(goal: Mapping[str, Any]) -> str:
  parts = []
  if goal.get('paired'):
    parts.append('paired on the same initial states, RL-HL minus scratch '
                 + _figure(goal['paired']))
  if goal.get('rl_hl_gain'):
    parts.append("RL-HL's own change since 0 steps "
                 + _figure(goal['rl_hl_gain']))
  return ''.join(f'; {p}' for p in parts)


def goal_lines(result: Mapping[str, Any]) -> List[str]:
  """One line per task and goal, saying by how much it is met or missed."""
  lines = []
  for task, goals in result['goals'].items():
    g = goals['hl_over_scratch']
    if g['status'] == 'pending':
      text = f'pending ({g["reason"]})'
    else:
      text = (f'{g["status"]}: RL-HL {g["rl_hl"]["mean"]:.1f} vs scratch '
              f'{g["scratch"]["mean"]:.1f}, margin {g["margin"]:.1f} against '
              f'a spread of {g["spread"]:.1f}' + _paired_text(g))
    lines.append(f'{task}: RL-HL above scratch at '
                 f'{HL_OVER_SCRATCH_AT:,} steps: {text}')
    g = goals['planning_over_hl']
    if g['status'] == 'pending':
      text = f'pending ({g["reason"]})'
    else:
      text = g['status'] + ': ' + ', '.join(
          f'{p["env_steps"]:,}: {p["rl_hl_planning"]["mean"]:.1f} vs '
          f'{p["rl_hl"]["mean"]:.1f}' for p in g['points'])
    lines.append(f'{task}: RL-HL + Planning above RL-HL up to '
                 f'{PLANNING_OVER_HL_UNTIL:,} steps: {text}')
  return lines


def write(result: Mapping[str, Any], output: str) -> None:
  """<output>.md (tables and goals) and <output>.json."""
  with open(output + '.md', 'w') as f:
    f.write(result['markdown'] + '\n\n' + '\n'.join(
        f'- {line}' for line in goal_lines(result)) + '\n')
  with open(output + '.json', 'w') as f:
    json.dump({k: v for k, v in result.items() if k != 'markdown'}, f,
              indent=1)
