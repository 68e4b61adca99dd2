"""Evaluating skill agents on tasks (paper, Tables 3-5), as library code.

A `Setting` is one column of a table: an agent ('random_hl' or 'planning'),
the phase-1 checkpoint it acts with, how long a chosen skill is held, and
the planner's parameters. `make_settings` gives the columns of the paper's
tables; `evaluate` runs every (setting, task, episode) in worker processes
and writes the results. launchers/evaluate.py is its command line.

Episode e of every setting starts from the same seeded state (environment
seed `seed * 100_000 + e`, which also reseeds the agent). Every finished
episode is appended to `output/episodes.jsonl` at once; `evaluate` reuses
the episodes found there for the same setting, checkpoint step, task,
episode index, max_steps and seed, so a rerun after a crash (or with more
episodes) runs only what is missing. Host-side orchestration: NOT jittable.
"""

import contextlib
import csv
import dataclasses
import json
import multiprocessing
import os
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from jumpy_acme.agents.planning import config as config_lib
from jumpy_acme.utils import versions

TABLE4_HORIZONS = (1, 2, 3, 5)
TABLE4_ACTIONS_PER_LATENT = (1, 2, 10, 100, 200)
TABLE5_HORIZONS = (1, 2, 3, 5, 10, 30, 50)
PRESETS = ('table3', 'table4', 'table5')
AGENTS = ('planning', 'random_hl')
EPISODES_FILE = 'episodes.jsonl'


@dataclasses.dataclass(frozen=True)
class Setting:
  """One column of a table: an agent, its model and its planner."""
  label: str
  agent: str                    # 'planning' | 'random_hl'.
  checkpoint: str
  actions_per_latent: int
  planner: tuple                # Sorted (name, value) of a PlannerConfig.

  def planner_config(self) -> config_lib.PlannerConfig:
    return config_lib.PlannerConfig(**dict(self.planner))


def make_settings(preset: Optional[str], agent: str,
                  checkpoint: Optional[str],
                  baseline_checkpoint: Optional[str], planner: Dict,
                  actions_per_latent: int,
                  baseline_horizon: int = 3) -> List[Setting]:
  """The settings a preset (or, with None, the single agent) evaluates.

  Args:
    preset: None, 'table3' (Random-HL, jumpy planning, K = 1 planning at
      `baseline_horizon` jumps), 'table4' (jumpy planning, H in {1, 2, 3,
      5} x actions per latent in {1, 2, 10, 100, 200}) or 'table5' (K = 1
      planning, H in {1, 2, 3, 5, 10, 30, 50}).
    agent: without a preset, 'planning' or 'random_hl'.
    checkpoint: the K = 10 phase-1 checkpoint directory.
    baseline_checkpoint: the K = 1 one (table3, table5).
    planner: PlannerConfig fields as a dict; presets change the horizon.
    actions_per_latent: steps a skill is held (table4 sets its own).
    baseline_horizon: table3's K = 1 horizon.

  Raises:
    ValueError: an unknown preset or agent, or a missing checkpoint, named.
  """
  def setting(label, agent, checkpoint, apl=actions_per_latent, **changes):
    fields = {**planner, **changes}
    if agent == 'random_hl':  # z ~ N(0, I) whatever the planner's proposal.
      fields.pop('proposal', None)
    return Setting(label, agent, checkpoint, apl, tuple(sorted(
        (name, value) for name, value in fields.items()
        if not (name in UNKEYED_VALUES and UNKEYED_VALUES[name] == value))))
  if preset is not None and preset not in PRESETS:
    raise ValueError(f'preset: expected one of {PRESETS} or None, got '
                     f'{preset!r}.')
  if preset in ('table3', 'table5') and not baseline_checkpoint:
    raise ValueError(f'baseline_checkpoint: preset {preset} needs a K = 1 '
                     'phase-1 checkpoint, got none.')
  if preset != 'table5' and not checkpoint:
    raise ValueError('checkpoint: a phase-1 checkpoint directory is needed, '
                     'got none.')
  if preset is None:
    if agent not in AGENTS:
      raise ValueError(f'agent: expected one of {AGENTS}, got {agent!r}.')
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
  return [setting(f'K=1, H={h}', 'planning', baseline_checkpoint, 1,
                  horizon=h) for h in TABLE5_HORIZONS]


# PlannerConfig fields added after episodes were first recorded, with the
# value they had implicitly: left out of a setting (and so of its episodes'
# keys) at that value, so earlier evaluations stay resumable and readable.
# Random-HL never keys by the proposal: its skills are N(0, I) draws.
UNKEYED_VALUES = {'proposal': 'prior'}

_ACTORS = {}  # Per worker process: (setting, task) -> a compiled actor.


def _actor(setting: Setting, task: str):
  """The setting's actor for `task`, built and compiled once per process."""
  if (setting, task) in _ACTORS:
    return _ACTORS[setting, task]
  from jumpy_acme.agents.planning import acting  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import models  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  model = model_lib.load(setting.checkpoint)
  if setting.agent == 'random_hl':
    actor = acting.random_hl_actor(model, setting.actions_per_latent)
  else:
    plan = models.make_skill_planner(model, rewards.jax_reward(task),
                                     setting.planner_config())
    actor = acting.planning_actor(model, plan, setting.actions_per_latent)
  _ACTORS[setting, task] = actor
  return actor


def run_episode(job):
  """One episode in a worker process (NOT jittable: a process body).

  Args:
    job: (index, setting, task, episode, max_steps, seed).

  Returns:
    (index, task, episode, {'return': undiscounted return, 'tied_share':
    the share of the episode's skill choices where every plan tied}).
  """
  index, setting, task, episode, max_steps, seed = job
  from jumpy_acme import environment_loop  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.utils import loggers  # pylint: disable=g-import-not-at-top
  actor = _actor(setting, task)
  episode_seed = seed * 100_000 + episode
  actor.reseed(episode_seed)
  env = environments.make(task, seed=episode_seed, episode_length=max_steps)
  result = environment_loop.EnvironmentLoop(
      env, actor, logger=loggers.NoOpLogger(),
      should_update=False).run_episode()
  env.close()
  return index, task, episode, {'return': float(result['episode_return']),
                                'tied_share': float(actor.tie_share)}


def _ray_episodes(stack, jobs, ray_address: str, num_workers: int):
  """Yields run_episode(job) for every job, run as Ray tasks, at most
  num_workers in flight (NOT pure: a cluster)."""
  import ray  # pylint: disable=g-import-not-at-top
  if not ray.is_initialized():
    from jumpy_acme import ray_launcher  # pylint: disable=g-import-not-at-top
    address = None if ray_address == 'local' else ray_address
    ray_launcher.check_address(address)
    ray.init(address=address, include_dashboard=False)
    stack.callback(ray.shutdown)
  task = ray.remote(num_cpus=1, max_retries=3)(run_episode)
  pending, queue = [], list(jobs)
  while pending or queue:
    while queue and len(pending) < num_workers:
      pending.append(task.remote(queue.pop(0)))
    done, pending = ray.wait(pending, num_returns=1)
    yield ray.get(done[0])


def checkpoint_step(directory: Optional[str],
                    field: str = 'checkpoint') -> Optional[int]:
  """The latest step of a phase-1 checkpoint (what skill_vae.load reads).

  Args:
    directory: the checkpoint directory (None: no checkpoint, None back).
    field: the name errors give the directory (e.g. a flag's name).

  Raises:
    ValueError: `directory` is not a directory or holds no checkpoint.
  """
  if not directory:
    return None
  if not os.path.isdir(directory):
    raise ValueError(f'{field}: {directory!r} is not a directory.')
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  step = model_lib.saved_step(directory)
  if step is None:
    raise ValueError(f'{field}: no checkpoint in {directory!r}.')
  return step


def episode_key(setting: Setting, step: Optional[int], task: str,
                episode: int, max_steps: int, seed: int,
                model: Optional[str] = None) -> str:
  """What makes an episode's return reusable by a later run, as JSON;
  `model` is the checkpoint's fingerprint (skill_vae.model.fingerprint),
  so a model retrained or replaced under the same path and step is not
  mixed with the old one's episodes."""
  return json.dumps({'setting': dataclasses.asdict(setting),
                     'checkpoint_step': step, 'model': model, 'task': task,
                     'episode': episode, 'max_steps': max_steps,
                     'seed': seed}, sort_keys=True)


def read_finished(path: str) -> Dict[str, Dict[str, Optional[float]]]:
  """{episode_key: {'return', 'tied_share'}} from an episodes.jsonl (a torn
  last line, from a crash mid-write, is ignored; records written before
  ties were counted have tied_share None)."""
  finished = {}
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          record = json.loads(line)
        except json.JSONDecodeError:
          continue
        finished[record['key']] = {'return': record['return'],
                                   'tied_share': record.get('tied_share')}
  return finished


def markdown_table(settings: Sequence[Setting], tasks: Sequence[str],
                   rows: Sequence[Dict]) -> str:
  """One row per task, one 'mean +- std' column per setting, a line saying
  so; then, for the planning settings, the share of decisions where every
  plan tied."""
  cell = {(r['setting'], r['task']): r for r in rows}
  lines = ['| task | ' + ' | '.join(s.label for s in settings) + ' |',
           '|---|' + '---|' * len(settings)]
  for task in tasks:
    lines.append(f'| {task} | ' + ' | '.join(
        f'{cell[s.label, task]["mean"]:.2f} +- {cell[s.label, task]["std"]:.2f}'
        for s in settings) + ' |')
  counts = sorted({cell[s.label, task]['episodes'] for s in settings
                   for task in tasks})
  lines += ['', 'Cells: mean +- standard deviation (ddof 0) of the returns '
            f'of {"/".join(map(str, counts))} episodes; the standard error '
            'is std / sqrt(episodes - 1). '
            'bench/paired_returns.py pairs two columns on the same initial '
            'states.']
  planners = [s for s in settings if s.agent == 'planning']
  if planners:
    lines += ['', 'Decisions where all plan scores tied (the agent kept its '
              'skill):', '',
              '| task | ' + ' | '.join(s.label for s in planners) + ' |',
              '|---|' + '---|' * len(planners)]
    for task in tasks:
      shares = [cell[s.label, task]['tied_share'] for s in planners]
      lines.append(f'| {task} | ' + ' | '.join(
          'n/a' if x is None else f'{100 * x:.0f} %' for x in shares) + ' |')
  return '\n'.join(lines)


def evaluate(settings: Sequence[Setting], tasks: Sequence[str],
             episodes: int, max_steps: int, seed: int, num_workers: int,
             output_dir: str, config: Optional[Dict] = None,
             log: Optional[Callable[[str], None]] = None,
             ray_address: Optional[str] = None) -> str:
  """Runs the episodes not yet in output_dir/episodes.jsonl; writes results.

  Writes results.md (the table), results.csv (setting, task, mean, std,
  episodes) and results.json (every return in episode order, the settings,
  `config`, the checkpoint steps and package versions) in `output_dir`.

  Args:
    settings, tasks: the table's columns and rows.
    episodes, max_steps: per (setting, task).
    seed: seeds the episodes (see the module docstring).
    num_workers: processes running episodes.
    output_dir: where the results and episodes.jsonl go.
    config: anything else to record in results.json (e.g. the preset).
    log: takes each progress line (default: print, flushed).
    ray_address: None runs episodes in a local process pool; otherwise
      they run as Ray tasks (one CPU each, at most num_workers at a time)
      on the cluster at this address ('local' starts a local instance).

  Returns:
    The Markdown table.
  """
  log = log or (lambda line: print(line, flush=True))
  for name, value in (('episodes', episodes), ('max_steps', max_steps),
                      ('num_workers', num_workers)):
    if not (isinstance(value, int) and value >= 1):
      raise ValueError(f'{name}: expected an integer >= 1, got {value!r}.')
  for s in settings:
    s.planner_config()  # Rejects bad planner values before any work.
  steps = {c: checkpoint_step(c) for c in {s.checkpoint for s in settings}}
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  for c in sorted({s.checkpoint for s in settings if s.agent == 'planning'
                   and s.planner_config().proposal == 'aggregate_posterior'}):
    if model_lib.load(c).aggregate_posterior is None:  # Before any worker.
      raise ValueError(
          f"proposal: 'aggregate_posterior' needs {c}/"
          f'{model_lib.AGGREGATE_POSTERIOR} fitted for the model there; got '
          'none (or one fitted for another model). Make it with: python -m '
          f'jumpy_acme.launchers.fit_proposal --checkpoint={c} '
          '--dataset=<its training data>')
  models = {c: c and model_lib.fingerprint(c) for c in steps}
  os.makedirs(output_dir, exist_ok=True)
  episodes_path = os.path.join(output_dir, EPISODES_FILE)
  finished = read_finished(episodes_path)
  keys, jobs = {}, []
  for i, s in enumerate(settings):
    for task in tasks:
      for e in range(episodes):
        keys[i, task, e] = episode_key(s, steps[s.checkpoint], task, e,
                                       max_steps, seed, models[s.checkpoint])
        if keys[i, task, e] not in finished:
          jobs.append((i, s, task, e, max_steps, seed))
  # Episode 0 of every cell first, then episode 1, ...: a run cut short
  # leaves every cell with about the same number of finished episodes.
  jobs.sort(key=lambda job: (job[3], tasks.index(job[2]), job[0]))
  if len(jobs) < len(keys):
    log(f'[evaluate] {len(keys) - len(jobs)} of {len(keys)} episodes '
        f'finished in an earlier run ({episodes_path}); running the other '
        f'{len(jobs)}.')
  start = time.time()
  if jobs:
    with contextlib.ExitStack() as stack:
      if ray_address is None:
        pool = stack.enter_context(
            multiprocessing.get_context('spawn').Pool(num_workers))
        outcomes = pool.imap_unordered(run_episode, jobs)
      else:
        outcomes = _ray_episodes(stack, jobs, ray_address, num_workers)
      record = stack.enter_context(open(episodes_path, 'a'))
      for n, (i, task, e, outcome) in enumerate(outcomes, 1):
        finished[keys[i, task, e]] = outcome
        total = outcome['return']
        record.write(json.dumps({'key': keys[i, task, e], **outcome})
                     + '\n')
        record.flush()
        elapsed = time.time() - start
        log(f'[evaluate] {n}/{len(jobs)} episodes | {settings[i].label} | '
            f'{task}: {total:.1f} | elapsed {elapsed:.0f} s | ETA '
            f'{elapsed / n * (len(jobs) - n):.0f} s')
  returns = {s.label: {task: [finished[keys[i, task, e]]['return']
                              for e in range(episodes)] for task in tasks}
             for i, s in enumerate(settings)}
  tied = {s.label: {task: [finished[keys[i, task, e]]['tied_share']
                           for e in range(episodes)] for task in tasks}
          for i, s in enumerate(settings)}
  rows = [{'setting': s.label, 'task': t, 'mean': float(np.mean(r)),
           'std': float(np.std(r)), 'episodes': len(r),
           'tied_share': (None if None in tied[s.label][t] else
                          float(np.mean(tied[s.label][t])))}
          for s in settings for t, r in returns[s.label].items()]
  table = markdown_table(settings, tasks, rows)
  with open(os.path.join(output_dir, 'results.md'), 'w') as f:
    f.write(table + '\n')
  with open(os.path.join(output_dir, 'results.csv'), 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
  with open(os.path.join(output_dir, 'results.json'), 'w') as f:
    json.dump({'results': rows, 'returns': returns, 'tied_shares': tied,
               'settings': [{**dataclasses.asdict(s),
                             'planner': dict(s.planner)} for s in settings],
               'config': {**(config or {}), 'tasks': list(tasks),
                          'episodes': episodes, 'max_steps': max_steps,
                          'seed': seed, 'checkpoint_steps': steps},
               'versions': versions.package_versions(),
               'seconds': time.time() - start}, f, indent=1)
  return table
