"""Scripted ceilings and floors for the paper's nine evaluation tasks.

For each task of rewards.EVALUATION_TASKS: the episode return (the sum over
`--steps` (400) control steps of rewards.numpy_reward(task)(state), the
environment's reward, read at run time so a changed reward is measured as
it is) of
  scripted: the task's scripted controller (behaviours.make_controller,
            composed from the base behaviours, without velocity noise),
  zero:     the zero action (arm still, fingers opening),
  random:   actions uniform over the action spec,
  bound:    for reach_red and reach_green, the straight-line reach bound
            (behaviours.make_reach_bound),
each over `--seeds` initial states: equal shares of the five test triplets
that rgb_test_random draws from, the same for every controller. Jobs
(controller, triplet: every task in turn) run in `--workers` processes.
Prints a Markdown table (mean +- std, and the standard error); the last
line is one JSON object.
"""

import argparse
import json
import multiprocessing
import time

import numpy as np

TEST_TRIPLETS = ('triplet1', 'triplet2', 'triplet3', 'triplet4',
                 'triplet5')
CONTROLLERS = ('scripted', 'zero', 'random', 'bound')


def _controller(name, task, seed):
  """state [86] -> action [5] (with reset()), for one episode."""
  from jumpy_acme.agents.scripted import behaviours  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import scene  # pylint: disable=g-import-not-at-top
  if name == 'scripted':
    return behaviours.make_controller(task, seed=seed)
  if name == 'bound':
    return behaviours.make_reach_bound(task.split('_')[1], seed=seed)
  rng = np.random.default_rng(seed)

  class _Fixed:
    def reset(self):
      pass

    def __call__(self, state):
      if name == 'zero':
        return np.zeros(5, np.float32)
      return rng.uniform(scene.ACTION_MIN, scene.ACTION_MAX).astype(
          np.float32)
  return _Fixed()


def _run_episodes(job):
  """One controller on one triplet, task after task: the returns.

  Every job with the same triplet builds its environment with the same
  seed and resets it the same number of times, so each (task, seed) starts
  from the same initial state whatever the controller.
  """
  name, triplet, env_seed, tasks, seeds, steps = job
  # Imported in the worker: each process builds its own simulator.
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  env = environments.make(tasks[0], seed=env_seed, triplet=triplet,
                          episode_length=steps)
  returns = {}
  for task in tasks:
    reward = rewards.numpy_reward(task)
    for seed in seeds:
      timestep = env.reset()
      if name == 'bound' and not task.startswith('reach_'):
        continue  # The reset keeps the initial states in step.
      controller = _controller(name, task, seed)
      controller.reset()
      total = 0.0
      while not timestep.last():
        timestep = env.step(controller(timestep.observation))
        total += float(reward(np.asarray(timestep.observation, np.float64)))
      returns.setdefault(task, []).append(total)
  return name, returns


def main():
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser()
  parser.add_argument('--seeds', type=int, default=10)
  parser.add_argument('--steps', type=int, default=400)
  parser.add_argument('--workers', type=int, default=2)
  parser.add_argument('--tasks', default='all')
  parser.add_argument('--controllers', default=','.join(CONTROLLERS))
  args = parser.parse_args()
  tasks = (list(rewards.EVALUATION_TASKS) if args.tasks == 'all' else
           args.tasks.split(','))
  controllers = args.controllers.split(',')
  parts = np.array_split(np.arange(args.seeds), len(TEST_TRIPLETS))
  jobs = []
  for name in controllers:
    for index, (triplet, part) in enumerate(zip(TEST_TRIPLETS, parts)):
      if len(part):
        jobs.append((name, triplet, 2000 + index, tasks,
                     [int(s) for s in part], args.steps))
  start = time.time()
  returns = {task: {} for task in tasks}
  with multiprocessing.get_context('spawn').Pool(args.workers) as pool:
    for name, values in pool.imap_unordered(_run_episodes, jobs):
      for task, task_returns in values.items():
        returns[task].setdefault(name, []).extend(task_returns)
  elapsed = time.time() - start

  print(f'Episode return ({args.steps} steps, {args.seeds} initial states '
        f'per cell; mean +- std (standard error)), {elapsed:.0f} s')
  print('| task | ' + ' | '.join(controllers) + ' |')
  print('|---|' + '---|' * len(controllers))
  summary = {}
  for task in tasks:
    cells, summary[task] = [], {}
    for name in controllers:
      values = returns[task].get(name)
      if not values:
        cells.append('-')
        continue
      mean, std = float(np.mean(values)), float(np.std(values))
      se = std / np.sqrt(len(values))
      cells.append(f'{mean:.1f} +- {std:.1f} ({se:.1f})')
      summary[task][name] = {'mean': mean, 'std': std, 'se': float(se),
                             'n': len(values)}
    print(f'| {task} | ' + ' | '.join(cells) + ' |')
  print(json.dumps({'returns': summary, 'seeds': args.seeds,
                    'steps': args.steps}))


if __name__ == '__main__':
  main()
