"""Success rates of the scripted base behaviours (paper, Table 2).

For each behaviour: `--segments` segments of `--steps` control steps, each
from a fresh random initial state (triplets drawn per worker from
rgb_test_random); a segment succeeds when the behaviour's reward
(docs/tasks.md) reaches its success threshold at some step. Segments run
in `--workers` processes. Prints the table; last line one JSON object.

Targets (issue [data]): reach_red >= 90 %, lift_red >= 70 %,
red_hover_blue >= 50 %, move/open/close >= 95 %.
"""

import argparse
import json
import multiprocessing
import time

import numpy as np


def _run_segments(args):
  name, seeds, steps = args
  # Imported in the worker: each process builds its own simulator.
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import scripted  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  task = rewards.get_task(name)
  env = environments.make(name, seed=int(seeds[0]), episode_length=steps)
  outcomes = []
  for seed in seeds:
    behaviour = scripted.make_behaviour(name, seed=int(seed))
    timestep = env.reset()
    best = 0.0
    while not timestep.last():
      timestep = env.step(behaviour(timestep.observation))
      best = max(best, float(timestep.reward))
    outcomes.append(best >= task.success_threshold)
  return name, outcomes


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--segments', type=int, default=50)
  parser.add_argument('--steps', type=int, default=200)
  parser.add_argument('--workers', type=int, default=2)
  parser.add_argument('--behaviours', default='all')
  args = parser.parse_args()
  from jumpy_acme.agents import scripted  # pylint: disable=g-import-not-at-top
  names = (scripted.BEHAVIOURS if args.behaviours == 'all' else
           args.behaviours.split(','))
  chunks = max(1, args.workers)
  jobs = []
  for index, name in enumerate(names):
    seeds = np.arange(args.segments) + 1000 * index
    jobs.extend((name, part, args.steps)
                for part in np.array_split(seeds, chunks) if len(part))
  start = time.time()
  results = {name: [] for name in names}
  with multiprocessing.get_context('spawn').Pool(args.workers) as pool:
    for name, outcomes in pool.imap_unordered(_run_segments, jobs):
      results[name].extend(outcomes)
  elapsed = time.time() - start
  print(f'| behaviour | success | segments |  ({args.steps} steps each, '
        f'{elapsed:.0f} s)')
  print('|---|---|---|')
  rates = {}
  for name in names:
    rates[name] = float(np.mean(results[name]))
    print(f'| {name} | {100 * rates[name]:.0f} % | {len(results[name])} |')
  print(json.dumps({'success_rate': rates, 'segments': args.segments,
                    'steps': args.steps}))


if __name__ == '__main__':
  main()
