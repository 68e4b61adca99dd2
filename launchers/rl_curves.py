r"""The tables behind the learning curves, and the issue's goals.

  python -m jumpy_acme.launchers.rl_curves --root=docs/rl_curves \
      --output=docs/rl_curves/curves

Reads every <root>/<task>/<method>/seed_*/evaluation.csv that train_rl.py
(`make rl-curves`) wrote, finished or not, and prints per task the mean
+- std across seeds (and the number of seeds) of each method's evaluation
return at each evaluation point, then the goals (RL-HL above
RL-from-scratch at 50k steps by more than the spread across seeds; RL-HL +
Planning above RL-HL up to 20k steps), met, missed or pending. Beside the
first goal: RL-HL minus scratch paired episode by episode on the same
initial states (a seed's evaluations share them), and RL-HL's own change
from 0 steps on those states, each with its standard error.
With --against=ROOT2, instead: the runs under --root against the same
tasks, methods and seeds under ROOT2, paired episode by episode at every
evaluation point both have. For example, the curves' RL-HL against its
runs before session 16 (the mean bound divided by the latent size):

  python -m jumpy_acme.launchers.rl_curves --root=docs/rl_curves \
      --against=docs/rl_tried/v7_model_critic_mean_bound_divided

With --output, writes <output>.md and <output>.json. Last line: one JSON
object (the goals; with --against, the paired rows).
"""

import json
import os

from absl import app
from absl import flags

_ROOT = flags.DEFINE_string('root', 'docs/rl_curves',
                            'train_rl.py --output of the runs.')
_TASKS = flags.DEFINE_list('tasks', None,
                           'Tasks (default: every task directory).')
_MIN_SEEDS = flags.DEFINE_integer(
    'min_seeds', 2, 'Seeds each compared point needs before a goal is '
    'called met or missed.')
_AGAINST = flags.DEFINE_string(
    'against', None, 'Another root of train_rl.py runs: print --root\'s '
    'runs minus these, paired episode by episode, instead of the tables.')
_OUTPUT = flags.DEFINE_string('output', None,
                              'Writes <output>.md and <output>.json.')


def main(argv):
  del argv
  from jumpy_acme.agents.experiments import rl_curves  # pylint: disable=g-import-not-at-top
  if not os.path.isdir(_ROOT.value):
    raise app.UsageError(f'--root: expected a directory of train_rl.py '
                         f'runs, got {_ROOT.value!r} (not a directory).')
  if _MIN_SEEDS.value < 1:
    raise app.UsageError(f'--min_seeds: expected >= 1, got '
                         f'{_MIN_SEEDS.value}.')
  if _AGAINST.value:
    if not os.path.isdir(_AGAINST.value):
      raise app.UsageError(f'--against: expected a directory of train_rl.py '
                           f'runs, got {_AGAINST.value!r} (not a '
                           'directory).')
    rows = rl_curves.compare(_ROOT.value, _AGAINST.value, _TASKS.value)
    for line in rl_curves.compare_lines(rows, _ROOT.value, _AGAINST.value):
      print(line)
    print(json.dumps({'compare': rows}))
    return
  result = rl_curves.build(_ROOT.value, _TASKS.value, _MIN_SEEDS.value)
  print(result['markdown'])
  print()
  for line in rl_curves.goal_lines(result):
    print(line)
  if _OUTPUT.value:
    rl_curves.write(result, _OUTPUT.value)
    print(f'[rl_curves] wrote {_OUTPUT.value}.md, {_OUTPUT.value}.json')
  print(json.dumps({'goals': result['goals']}))


if __name__ == '__main__':
  app.run(main)
