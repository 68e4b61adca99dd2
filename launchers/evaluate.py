r"""Evaluate skill agents on the evaluation tasks (paper, Tables 3-5).

  python -m jumpy_acme.launchers.evaluate --agent=planning \
      --checkpoint=runs/phase1_k10 --tasks=reach_red,lift_red --episodes=50

Agents: random_hl (z ~ N(0, I)) and planning (Zero-shot via Planning, the
CEM planner with the jumpy model and the task's JAX reward). Each episode
runs --max_steps steps from a seeded random initial state; episodes run in
--num_workers processes. Output: the mean +- std of the undiscounted
return per task as Markdown, CSV and JSON (with the configuration and the
package versions) in --output.
"""

import csv
import dataclasses
import importlib.metadata
import json
import multiprocessing
import os
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np

from jumpy_acme.environments.rgb_stacking import rewards

_AGENT = flags.DEFINE_enum('agent', 'planning', ['planning', 'random_hl'],
                           'Which agent to evaluate.')
_CHECKPOINT = flags.DEFINE_string('checkpoint', None,
                                  'Phase-1 checkpoint directory.')
_TASKS = flags.DEFINE_list('tasks', list(rewards.EVALUATION_TASKS),
                           'Tasks to evaluate (default: the nine).')
_EPISODES = flags.DEFINE_integer('episodes', 50, 'Episodes per task.')
_MAX_STEPS = flags.DEFINE_integer('max_steps', 400, 'Steps per episode.')
_ACTIONS_PER_LATENT = flags.DEFINE_integer(
    'actions_per_latent', 1, 'Steps a chosen skill is held.')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 1000, 'Planner: N.')
_HORIZON = flags.DEFINE_integer('horizon', 3, 'Planner: H jumps.')
_ITERATIONS = flags.DEFINE_integer('iterations', 1, 'Planner: CEM I.')
_GAMMA_K = flags.DEFINE_float('gamma_k', 1.0, 'Planner: discount per jump.')
_NUM_WORKERS = flags.DEFINE_integer('num_workers', 2,
                                    'Processes running episodes.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds episodes and agents.')
_OUTPUT = flags.DEFINE_string('output', 'results/evaluation',
                              'Directory for results.md, .csv, .json.')


def _episode(job):
  """One episode in a worker process (NOT jittable: a process body)."""
  (task, episode, agent, checkpoint, max_steps, actions_per_latent,
   planner, seed) = job
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import planning  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import learning  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import losses  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import networks as networks_lib  # pylint: disable=g-import-not-at-top
  config, params, norm = learning.load_checkpoint(checkpoint)
  networks = networks_lib.make_networks(config)
  episode_seed = seed * 100_000 + episode
  if agent == 'random_hl':
    actor = planning.random_hl_actor(networks, params, norm,
                                     actions_per_latent, episode_seed)
  else:
    plan = planning.make_planner(
        lambda s, z: losses.predict_next_state(networks, params, norm, s, z),
        rewards.jax_reward(task), config.latent_size,
        planning.PlannerConfig(**planner))
    actor = planning.planning_actor(networks, params, norm, plan,
                                    actions_per_latent, episode_seed)
  env = environments.make(task, seed=episode_seed, episode_length=max_steps)
  timestep = env.reset()
  actor.observe_first(timestep)
  total = 0.0
  while not timestep.last():
    action = actor.select_action(timestep.observation)
    timestep = env.step(action)
    actor.observe(action, timestep)
    total += float(timestep.reward)
  return task, episode, total


def _versions():
  out = {}
  for name in ('jumpy-acme', 'jax', 'flax', 'mujoco', 'dm-robotics-moma'):
    try:
      out[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      out[name] = None
  return out


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  if not _CHECKPOINT.value:
    raise app.UsageError('--checkpoint: a phase-1 checkpoint directory.')
  for task in _TASKS.value:
    rewards.get_task(task)  # Names the valid tasks if one is unknown.
  from jumpy_acme.agents import planning  # pylint: disable=g-import-not-at-top
  planner = dataclasses.asdict(planning.PlannerConfig(
      num_samples=_NUM_SAMPLES.value, horizon=_HORIZON.value,
      iterations=_ITERATIONS.value, gamma_k=_GAMMA_K.value))
  jobs = [(task, e, _AGENT.value, _CHECKPOINT.value, _MAX_STEPS.value,
           _ACTIONS_PER_LATENT.value, planner, _SEED.value)
          for task in _TASKS.value for e in range(_EPISODES.value)]
  returns = {task: [] for task in _TASKS.value}
  start = time.time()
  with multiprocessing.get_context('spawn').Pool(_NUM_WORKERS.value) as pool:
    for n, (task, _, total) in enumerate(pool.imap_unordered(_episode, jobs),
                                         1):
      returns[task].append(total)
      elapsed = time.time() - start
      print(f'[evaluate] {n}/{len(jobs)} episodes | {task}: {total:.1f} | '
            f'elapsed {elapsed:.0f} s | ETA '
            f'{elapsed / n * (len(jobs) - n):.0f} s', flush=True)
  os.makedirs(_OUTPUT.value, exist_ok=True)
  rows = [{'task': t, 'mean': float(np.mean(r)), 'std': float(np.std(r)),
           'episodes': len(r)} for t, r in returns.items()]
  table = [f'| task | {_AGENT.value} (mean +- std) | episodes |',
           '|---|---|---|'] + [
               f'| {r["task"]} | {r["mean"]:.2f} +- {r["std"]:.2f} | '
               f'{r["episodes"]} |' for r in rows]
  with open(os.path.join(_OUTPUT.value, 'results.md'), 'w') as f:
    f.write('\n'.join(table) + '\n')
  with open(os.path.join(_OUTPUT.value, 'results.csv'), 'w',
            newline='') as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
  with open(os.path.join(_OUTPUT.value, 'results.json'), 'w') as f:
    json.dump({'results': rows, 'returns': returns,
               'config': {'agent': _AGENT.value,
                          'checkpoint': _CHECKPOINT.value,
                          'max_steps': _MAX_STEPS.value,
                          'actions_per_latent': _ACTIONS_PER_LATENT.value,
                          'planner': planner, 'seed': _SEED.value},
               'versions': _versions(),
               'seconds': time.time() - start}, f, indent=1)
  print('\n'.join(table))


if __name__ == '__main__':
  app.run(main)
