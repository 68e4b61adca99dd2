r"""Evaluate skill agents on the evaluation tasks (paper, Tables 3-5).

  python -m jumpy_acme.launchers.evaluate --agent=planning \
      --checkpoint=runs/phase1_k10 --tasks=reach_red,lift_red --episodes=50

  python -m jumpy_acme.launchers.evaluate --preset=table3 \
      --checkpoint=runs/phase1_k10 --baseline_checkpoint=runs/phase1_k1

Agents: random_hl (z ~ N(0, I)) and planning (Zero-shot via Planning, the
CEM planner with the jumpy model and the task's JAX reward). Without a
preset one agent runs with the flags' settings; a preset runs the settings
of one of the paper's tables, one column each:
  table3: Random-HL, jumpy planning (--checkpoint) and K = 1 planning
          (--baseline_checkpoint, at --baseline_horizon jumps);
  table4: jumpy planning, H in {1, 2, 3, 5} x actions per latent in
          {1, 2, 10, 100, 200};
  table5: K = 1 planning (--baseline_checkpoint), H in {1, 2, 3, 5, 10, 30,
          50}.
Each episode runs --max_steps steps from a seeded random initial state
(episode e of every setting starts from the same state); episodes run in
--num_workers processes, each compiling a setting's agent once. Output:
the mean +- std of the undiscounted return per task and setting as
Markdown, CSV and JSON (with the configuration and the package versions)
in --output. Every finished episode is appended to --output/episodes.jsonl
at once; a rerun with the same output directory (after a crash or Ctrl-C,
or with more --episodes) runs only the episodes not found there for the
same setting, checkpoint step, task, episode, --max_steps and --seed.
"""

import csv
import dataclasses
import importlib.metadata
import json
import multiprocessing
import os
import time
from typing import Dict, List, Optional

from absl import app
from absl import flags
from absl import logging
import numpy as np

from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.utils import xla_flags

_AGENT = flags.DEFINE_enum('agent', 'planning', ['planning', 'random_hl'],
                           'Which agent to evaluate (without --preset).')
_PRESET = flags.DEFINE_enum('preset', None, ['table3', 'table4', 'table5'],
                            'Run the settings of one of the paper\'s tables.')
_CHECKPOINT = flags.DEFINE_string('checkpoint', None,
                                  'Phase-1 checkpoint directory (K = 10).')
_BASELINE_CHECKPOINT = flags.DEFINE_string(
    'baseline_checkpoint', None,
    'K = 1 phase-1 checkpoint directory (presets table3 and table5).')
_BASELINE_HORIZON = flags.DEFINE_integer(
    'baseline_horizon', 3, 'Table 3: jumps of the K = 1 planner.')
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
_NOISE_BETA = flags.DEFINE_float(
    'noise_beta', 0.0, 'Planner: coloured-noise exponent (0: white).')
_NUM_WORKERS = flags.DEFINE_integer('num_workers', 2,
                                    'Processes running episodes.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds episodes and agents.')
_OUTPUT = flags.DEFINE_string('output', 'results/evaluation',
                              'Directory for results.md, .csv, .json.')

TABLE4_HORIZONS = (1, 2, 3, 5)
TABLE4_ACTIONS_PER_LATENT = (1, 2, 10, 100, 200)
TABLE5_HORIZONS = (1, 2, 3, 5, 10, 30, 50)


@dataclasses.dataclass(frozen=True)
class Setting:
  """One column of a table: an agent, its model and its planner."""
  label: str
  agent: str                    # 'planning' | 'random_hl'.
  checkpoint: str
  actions_per_latent: int
  planner: tuple                # Sorted (name, value) of a PlannerConfig.

  def planner_config(self):
    from jumpy_acme.agents import planning  # pylint: disable=g-import-not-at-top
    return planning.PlannerConfig(**dict(self.planner))


def make_settings(preset: Optional[str], agent: str, checkpoint: str,
                  baseline_checkpoint: Optional[str], planner: Dict,
                  actions_per_latent: int,
                  baseline_horizon: int = 3) -> List[Setting]:
  """The settings a preset (or, with None, the single agent) evaluates."""
  def setting(label, agent, checkpoint, apl=actions_per_latent, **changes):
    return Setting(label, agent, checkpoint, apl,
                   tuple(sorted({**planner, **changes}.items())))
  if preset in ('table3', 'table5') and not baseline_checkpoint:
    raise app.UsageError(f'--preset={preset} needs --baseline_checkpoint '
                         '(a K = 1 phase-1 checkpoint).')
  if preset is None:
    label = 'Random-HL' if agent == 'random_hl' else 'Planning'
    return [setting(label, agent, checkpoint)]
  if preset == 'table3':
    return [setting('Random-HL', 'random_hl', checkpoint),
            setting('Planning (jumpy)', 'planning', checkpoint),
            setting('Planning (K=1)', 'planning', baseline_checkpoint,
                    horizon=baseline_horizon)]
  if preset == 'table4':
    return [setting(f'H={h}, apl={a}', 'planning', checkpoint, a, horizon=h)
            for h in TABLE4_HORIZONS for a in TABLE4_ACTIONS_PER_LATENT]
  if preset == 'table5':
    return [setting(f'K=1, H={h}', 'planning', baseline_checkpoint, 1,
                    horizon=h) for h in TABLE5_HORIZONS]
  raise ValueError(f'preset: expected table3, table4 or table5, got '
                   f'{preset!r}.')


_ACTORS = {}  # Per worker process: (setting, task) -> a compiled actor.


def _actor(setting: Setting, task: str):
  """The setting's actor for `task`, built and compiled once per process."""
  if (setting, task) in _ACTORS:
    return _ACTORS[setting, task]
  from jumpy_acme.agents import planning  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import learning  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import networks as networks_lib  # pylint: disable=g-import-not-at-top
  config, params, norm = learning.load_checkpoint(setting.checkpoint)
  networks = networks_lib.make_networks(config)
  if setting.agent == 'random_hl':
    actor = planning.random_hl_actor(networks, params, norm,
                                     setting.actions_per_latent)
  else:
    plan = planning.make_planner(
        planning.skill_vae_model(networks, params, norm),
        rewards.jax_reward(task), config.latent_size,
        setting.planner_config(), state_size=config.state_size)
    actor = planning.planning_actor(networks, params, norm, plan,
                                    setting.actions_per_latent)
  _ACTORS[setting, task] = actor
  return actor


def _episode(job):
  """One episode in a worker process (NOT jittable: a process body)."""
  index, setting, task, episode, max_steps, seed = job
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  actor = _actor(setting, task)
  episode_seed = seed * 100_000 + episode
  actor.reseed(episode_seed)
  env = environments.make(task, seed=episode_seed, episode_length=max_steps)
  timestep = env.reset()
  actor.observe_first(timestep)
  total = 0.0
  while not timestep.last():
    action = actor.select_action(timestep.observation)
    timestep = env.step(action)
    actor.observe(action, timestep)
    total += float(timestep.reward)
  env.close()
  return index, task, episode, total


def _checkpoint_step(directory: Optional[str]) -> Optional[int]:
  """The latest step of a phase-1 checkpoint (what load_checkpoint reads)."""
  if not directory:
    return None
  from jumpy_acme import checkpointing  # pylint: disable=g-import-not-at-top
  return checkpointing.CheckpointManager(directory,
                                         read_only=True).latest_step()


def episode_key(setting: Setting, checkpoint_step: Optional[int], task: str,
                episode: int, max_steps: int, seed: int) -> str:
  """What makes an episode's return reusable by a later run, as JSON."""
  return json.dumps({'setting': dataclasses.asdict(setting),
                     'checkpoint_step': checkpoint_step, 'task': task,
                     'episode': episode, 'max_steps': max_steps,
                     'seed': seed}, sort_keys=True)


def read_finished(path: str) -> Dict[str, float]:
  """{episode_key: return} from an episodes.jsonl (a torn last line, from
  a crash mid-write, is ignored)."""
  finished = {}
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          record = json.loads(line)
        except json.JSONDecodeError:
          continue
        finished[record['key']] = record['return']
  return finished


def _versions():
  out = {}
  for name in ('jumpy-acme', 'jax', 'flax', 'mujoco', 'dm-robotics-moma'):
    try:
      out[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      out[name] = None
  return out


def _table(settings: List[Setting], tasks: List[str], rows) -> str:
  cell = {(r['setting'], r['task']): r for r in rows}
  lines = ['| task | ' + ' | '.join(s.label for s in settings) + ' |',
           '|---|' + '---|' * len(settings)]
  for task in tasks:
    lines.append(f'| {task} | ' + ' | '.join(
        f'{cell[s.label, task]["mean"]:.2f} +- {cell[s.label, task]["std"]:.2f}'
        for s in settings) + ' |')
  return '\n'.join(lines)


def main(argv):
  del argv
  xla_flags.prefer_legacy_cpu_runtime()  # Faster planning on CPU.
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  if not _CHECKPOINT.value and _PRESET.value != 'table5':
    raise app.UsageError('--checkpoint: a phase-1 checkpoint directory.')
  for task in _TASKS.value:
    rewards.get_task(task)  # Names the valid tasks if one is unknown.
  from jumpy_acme.agents import planning  # pylint: disable=g-import-not-at-top
  planner = dataclasses.asdict(planning.PlannerConfig(
      num_samples=_NUM_SAMPLES.value, horizon=_HORIZON.value,
      iterations=_ITERATIONS.value, gamma_k=_GAMMA_K.value,
      noise_beta=_NOISE_BETA.value))
  settings = make_settings(_PRESET.value, _AGENT.value, _CHECKPOINT.value,
                           _BASELINE_CHECKPOINT.value, planner,
                           _ACTIONS_PER_LATENT.value, _BASELINE_HORIZON.value)
  for s in settings:
    s.planner_config()  # Rejects bad planner values before any work.
  steps = {c: _checkpoint_step(c) for c in {s.checkpoint for s in settings}}
  os.makedirs(_OUTPUT.value, exist_ok=True)
  episodes_path = os.path.join(_OUTPUT.value, 'episodes.jsonl')
  finished = read_finished(episodes_path)
  keys, jobs = {}, []
  for i, s in enumerate(settings):
    for task in _TASKS.value:
      for e in range(_EPISODES.value):
        keys[i, task, e] = episode_key(s, steps[s.checkpoint], task, e,
                                       _MAX_STEPS.value, _SEED.value)
        if keys[i, task, e] not in finished:
          jobs.append((i, s, task, e, _MAX_STEPS.value, _SEED.value))
  if len(jobs) < len(keys):
    print(f'[evaluate] {len(keys) - len(jobs)} of {len(keys)} episodes '
          f'finished in an earlier run ({episodes_path}); running the other '
          f'{len(jobs)}.', flush=True)
  start = time.time()
  if jobs:
    with multiprocessing.get_context('spawn').Pool(
        _NUM_WORKERS.value) as pool, open(episodes_path, 'a') as log:
      for n, (i, task, e, total) in enumerate(
          pool.imap_unordered(_episode, jobs), 1):
        finished[keys[i, task, e]] = total
        log.write(json.dumps({'key': keys[i, task, e], 'return': total})
                  + '\n')
        log.flush()
        elapsed = time.time() - start
        print(f'[evaluate] {n}/{len(jobs)} episodes | {settings[i].label} | '
              f'{task}: {total:.1f} | elapsed {elapsed:.0f} s | ETA '
              f'{elapsed / n * (len(jobs) - n):.0f} s', flush=True)
  returns = {s.label: {task: [finished[keys[i, task, e]]
                              for e in range(_EPISODES.value)]
                       for task in _TASKS.value}
             for i, s in enumerate(settings)}
  rows = [{'setting': s.label, 'task': t, 'mean': float(np.mean(r)),
           'std': float(np.std(r)), 'episodes': len(r)}
          for s in settings for t, r in returns[s.label].items()]
  table = _table(settings, _TASKS.value, rows)
  with open(os.path.join(_OUTPUT.value, 'results.md'), 'w') as f:
    f.write(table + '\n')
  with open(os.path.join(_OUTPUT.value, 'results.csv'), 'w',
            newline='') as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
  with open(os.path.join(_OUTPUT.value, 'results.json'), 'w') as f:
    json.dump({'results': rows, 'returns': returns,
               'settings': [{**dataclasses.asdict(s),
                             'planner': dict(s.planner)} for s in settings],
               'config': {'preset': _PRESET.value, 'tasks': _TASKS.value,
                          'episodes': _EPISODES.value,
                          'max_steps': _MAX_STEPS.value, 'seed': _SEED.value,
                          'checkpoint_steps': steps},
               'versions': _versions(),
               'seconds': time.time() - start}, f, indent=1)
  print(table)


if __name__ == '__main__':
  app.run(main)
