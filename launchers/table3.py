r"""Table 3 from evaluation runs, with our ceilings and the paper's numbers.

  python -m jumpy_acme.launchers.table3 \
      --evaluations=results/table3_apl1,results/table3_apl10 \
      --ceilings=docs/tables/ceilings.json --output=docs/tables/table3

Reads each run's episodes.jsonl (finished episodes only, so it works while
runs are still going), prints the table and the issue's goals, and writes
<output>.md and <output>.json. The table names its planner; runs of two
planners (e.g. `evaluate --iterations=3`, CEM, beside the paper's random
shooting) make two tables, never one column:

  python -m jumpy_acme.launchers.table3 \
      --evaluations=docs/tables/evaluation_apl10_cem3 \
      --output=docs/tables/table3_cem3

A stored table against new ceilings (after bench/ceilings.py ran again),
without its evaluation runs: each cell's mean, SE and count are kept.

  python -m jumpy_acme.launchers.table3 --table=docs/tables/table3.json \
      --ceilings=docs/tables/ceilings.json --output=docs/tables/table3
"""

import json
import os

from absl import app
from absl import flags

from jumpy_acme.agents.experiments import table3

_EVALUATIONS = flags.DEFINE_list(
    'evaluations', None, 'Output directories of evaluate --preset=table3 '
    'runs (e.g. one per --actions_per_latent).')
_CEILINGS = flags.DEFINE_string(
    'ceilings', 'docs/tables/ceilings.json',
    'The JSON bench/ceilings.py prints (its last line, saved).')
_OUTPUT = flags.DEFINE_string('output', None,
                              'Writes <output>.md and <output>.json.')
_TASKS = flags.DEFINE_list('tasks', None, 'Rows (default: every task run).')
_TABLE = flags.DEFINE_string(
    'table', None, 'Instead of --evaluations: a stored table\'s JSON '
    '(<output>.json of an earlier run), rebuilt against --ceilings.')


def main(argv):
  del argv
  if bool(_EVALUATIONS.value) == bool(_TABLE.value):
    raise app.UsageError('expected either --evaluations (directories) or '
                         '--table (a stored table\'s JSON), not both or '
                         'neither.')
  try:
    ceilings = table3.load_ceilings(_CEILINGS.value)
    if _TABLE.value:
      cells, planner = table3.read_table(_TABLE.value)
      result = table3.build_from_cells(cells, ceilings, _TASKS.value,
                                       planner)
    else:
      returns, columns = table3.read_columns(_EVALUATIONS.value)
      if not returns:
        raise app.UsageError('--evaluations: no finished episodes yet.')
      result = table3.build(returns, ceilings, _TASKS.value,
                            table3.planner_text(columns))
  except (FileNotFoundError, ValueError) as e:  # JSONDecodeError included.
    raise app.UsageError(str(e)) from e
  text = result['markdown'] + '\n\nGoals:\n' + table3.goals_text(result)
  print(text)
  if _OUTPUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)),
                exist_ok=True)
    with open(_OUTPUT.value + '.md', 'w') as f:
      f.write(text + '\n')
    with open(_OUTPUT.value + '.json', 'w') as f:
      json.dump({k: v for k, v in result.items() if k != 'markdown'}, f,
                indent=1)


if __name__ == '__main__':
  app.run(main)
