"""Two evaluation columns on the same initial states: the paired difference.

Evaluation episode e of every setting starts from the same seeded initial
state (agents/experiments/evaluation.py), so two columns, from one run or
from two (e.g. a model before and after finetuning), can be compared
episode by episode: the paired difference removes the spread that comes
from the initial states. Each column is DIR:LABEL, the evaluate output
directory and the setting's label in it ('Planning' for a single --agent,
'Planning (jumpy)' etc. for --preset=table3); with several apl values in
one directory add :APL.

For each task both columns have episodes of, prints the means +- standard
errors, the mean paired difference (b - a) +- its standard error over the
shared episodes, and its ratio to that standard error. Ends with one JSON
line.

  python bench/paired_returns.py \
      --a='docs/tables/evaluation_apl1_cem3:Planning (jumpy)' \
      --b=docs/tables/evaluation_apl1_cem3_k10cc:Planning
"""

import argparse
import collections
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from jumpy_acme.agents.experiments import evaluation  # noqa: E402


def read_column(spec: str):
  """{task: {episode: return}} of DIR:LABEL[:APL]."""
  parts = spec.split(':')
  if len(parts) not in (2, 3):
    raise SystemExit(f'column: expected DIR:LABEL or DIR:LABEL:APL, got '
                     f'{spec!r}.')
  directory, label = parts[0], parts[1]
  apl = int(parts[2]) if len(parts) == 3 else None
  path = os.path.join(directory, evaluation.EPISODES_FILE)
  if not os.path.exists(path):
    raise SystemExit(f'column: no {evaluation.EPISODES_FILE} in '
                     f'{directory!r}.')
  out = collections.defaultdict(dict)
  labels, apls = set(), set()
  for key, outcome in evaluation.read_finished(path).items():
    key = json.loads(key)
    setting = key['setting']
    labels.add(setting['label'])
    if setting['label'] != label:
      continue
    apls.add(setting['actions_per_latent'])
    if apl is not None and setting['actions_per_latent'] != apl:
      continue
    out[key['task']][int(key['episode'])] = outcome['return']
  if not out:
    raise SystemExit(f'column: no episodes labelled {label!r}'
                     f'{"" if apl is None else f" at apl {apl}"} in '
                     f'{directory!r}; labels there: {sorted(labels)}.')
  if apl is None and len(apls) > 1:
    raise SystemExit(f'column: {spec!r} holds apl {sorted(apls)}; add '
                     ':APL.')
  return out


def _mean_se(values):
  values = np.asarray(values, np.float64)
  se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.
  return float(values.mean()), float(se)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--a', required=True, help='DIR:LABEL[:APL]')
  parser.add_argument('--b', required=True, help='DIR:LABEL[:APL]')
  args = parser.parse_args()
  a, b = read_column(args.a), read_column(args.b)
  rows = []
  print(f'a = {args.a}\nb = {args.b}\n')
  print('| task | pairs | a | b | b - a, paired | in SE |')
  print('|---|---|---|---|---|---|')
  for task in [t for t in a if t in b]:
    shared = sorted(set(a[task]) & set(b[task]))
    if not shared:
      continue
    ra = [a[task][e] for e in shared]
    rb = [b[task][e] for e in shared]
    (ma, sa), (mb, sb) = _mean_se(ra), _mean_se(rb)
    md, sd = _mean_se(np.subtract(rb, ra))
    ratio = md / sd if sd > 0 else float('nan')
    rows.append({'task': task, 'pairs': len(shared), 'a': ma, 'a_se': sa,
                 'b': mb, 'b_se': sb, 'diff': md, 'diff_se': sd})
    print(f'| {task} | {len(shared)} | {ma:.1f} +- {sa:.1f} | {mb:.1f} +- '
          f'{sb:.1f} | {md:+.1f} +- {sd:.1f} | {ratio:+.1f} |')
  print(json.dumps({'bench': 'paired_returns', 'a': args.a, 'b': args.b,
                    'rows': rows}))


if __name__ == '__main__':
  main()
