r"""The whole pipeline: collect -> phase 1 (K = 10 and K = 1) -> evaluate.

  python -m jumpy_acme.launchers.pipeline                  # ~15 min, 2 cores
  python -m jumpy_acme.launchers.pipeline --scale=paper --num_actors=64 \
      --num_workers=64                                     # a big machine

Stages, each a launcher of its own run as a subprocess (its progress lines
are shown as they come):
  1. collect.py: the scripted base behaviours in --num_actors processes
     write K = 10 snippets to Reverb, drained to a dataset on disk;
  2. train_phase1.py twice on that dataset: the non-jumpy K = 1 model, then
     the jumpy K = 10 model (with rollout diagnostics against K = 1);
  3. evaluate.py --preset=table3: Random-HL, Zero-shot via Planning with the
     jumpy model and with the K = 1 model, side by side (paper, Table 3).
--phase1_flags=--free_bits=0.5,... adds train_phase1 flags to both trainings
(they are recorded in the exported manifests' command).
A stage that finished is marked done in --output_dir and skipped when the
pipeline runs again (after a crash or Ctrl-C, rerun the same command;
phase-1 training also resumes from its last checkpoint). The final table
is printed and saved as --output_dir/evaluation/results.{md,csv,json}.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import List, Optional, Tuple

from absl import app
from absl import flags

from jumpy_acme.launchers import launcher_flags


@dataclasses.dataclass(frozen=True)
class Scale:
  """How much of everything a run does."""
  collect_episodes: int      # 400-step episodes of base-behaviour data.
  k10_steps: int             # Learner steps (x 4 SGD steps of 256) for K=10.
  k1_steps: int              # ... and for the K = 1 baseline.
  tasks: str                 # Evaluation tasks.
  episodes: int              # Evaluation episodes per task and agent.
  num_samples: int = 1000    # Planner: N.
  # Extra train_phase1 flags for both models (the phase-1 setting chosen by
  # bench/z_ablation.py; docs/phase1.md).
  phase1_flags: Tuple[str, ...] = ()


SCALES = {
    # About 15 minutes on 2 cores: 36k environment steps of data.
    'small': Scale(collect_episodes=90, k10_steps=2000, k1_steps=1000,
                   tasks='reach_red,lift_red,red_hover_blue', episodes=3),
    # A few minutes: to check that every stage runs.
    'smoke': Scale(collect_episodes=6, k10_steps=20, k1_steps=20,
                   tasks='reach_red', episodes=1, num_samples=100),
    # Data and models fit about 2 hours on 2 cores (issue
    # [skills-that-steer]); measured on a 2-core AMD EPYC (docs/results.md):
    # 120k steps of data (~25 min), 20k SGD steps for K = 1 (~10 min) and
    # 40k for K = 10 (~75 min); Table 3 on all nine tasks with 20 episodes
    # a cell takes about 2.5 h more. Every stage resumes across sessions
    # (collection keeps whole episodes, learners their checkpoints,
    # evaluation its finished episodes).
    'reference': Scale(collect_episodes=300, k10_steps=10_000,
                       k1_steps=5_000,
                       tasks=('reach_red,lift_red,red_hover_blue,'
                              'red_stack_blue,red_hover_green,'
                              'red_stack_green,bring_red,reach_green,'
                              'lift_green'), episodes=20),
    # The paper's evaluation (nine tasks, 50 episodes each); its phase-1
    # data and training are far larger than fits one machine's day.
    'paper': Scale(collect_episodes=5000, k10_steps=100_000,
                   k1_steps=100_000,
                   tasks=('reach_red,reach_green,lift_red,lift_green,'
                          'red_hover_blue,red_hover_green,red_stack_blue,'
                          'red_stack_green,bring_red'), episodes=50),
}

_SCALE = flags.DEFINE_enum('scale', 'small', list(SCALES),
                           'How much data, training and evaluation.')
_OUTPUT_DIR = flags.DEFINE_string('output_dir', 'results/pipeline',
                                  'Data, models, logs and results.')
_NUM_ACTORS = flags.DEFINE_integer('num_actors', 2,
                                   'Collection actor processes.')
_NUM_WORKERS = flags.DEFINE_integer('num_workers', 2,
                                    'Evaluation processes.')
_COLLECT_EPISODES = flags.DEFINE_integer(
    'collect_episodes', None, 'Overrides the scale: episodes collected.')
_K10_STEPS = flags.DEFINE_integer(
    'k10_steps', None, 'Overrides the scale: K = 10 learner steps.')
_K1_STEPS = flags.DEFINE_integer(
    'k1_steps', None, 'Overrides the scale: K = 1 learner steps.')
_TASKS = flags.DEFINE_list('tasks', None,
                           'Overrides the scale: evaluation tasks.')
_EPISODES = flags.DEFINE_integer(
    'episodes', None, 'Overrides the scale: evaluation episodes per task.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of every stage.')
_PHASE1_FLAGS = flags.DEFINE_list(
    'phase1_flags', [], 'Extra train_phase1 flags for both models, after '
    "the scale's own (e.g. --phase1_flags=--free_bits=0.5).")
_EXPORT_DIR = flags.DEFINE_string(
    'export_dir', None, 'If set, the trained K = 10 and K = 1 models are '
    'also written there as shipped models (<export_dir>/k10, k1: '
    'parameters, normalisation and a manifest, no optimiser state).')


def _override(scale: Scale) -> Scale:
  changes = {}
  for field, flag in (('collect_episodes', _COLLECT_EPISODES),
                      ('k10_steps', _K10_STEPS), ('k1_steps', _K1_STEPS),
                      ('episodes', _EPISODES)):
    if flag.value is not None:
      if flag.value < 1:
        raise app.UsageError(f'--{flag.name}: expected >= 1, got '
                             f'{flag.value}.')
      changes[field] = flag.value
  if _TASKS.value:
    changes['tasks'] = ','.join(_TASKS.value)
  for extra in _PHASE1_FLAGS.value:
    if not extra.startswith('--'):
      raise app.UsageError(f'--phase1_flags: expected train_phase1 flags '
                           f'such as --free_bits=0.5, got {extra!r}.')
  if _PHASE1_FLAGS.value:
    changes['phase1_flags'] = (tuple(scale.phase1_flags)
                               + tuple(_PHASE1_FLAGS.value))
  return dataclasses.replace(scale, **changes)


def _stage(name: str, args: List[str], output_dir: str,
           done: Optional[str] = None) -> None:
  """Runs `python -m jumpy_acme.launchers.<args>` unless marked done (NOT
  pure: a subprocess, and a marker file once it succeeded)."""
  marker = os.path.join(output_dir, f'.{name}.done')
  if os.path.exists(marker):
    print(f'[pipeline] {name}: done in an earlier run, skipped '
          f'(delete {marker} to redo it).', flush=True)
    return
  command = [sys.executable, '-m', 'jumpy_acme.launchers.' + args[0]]
  command += args[1:]
  print(f'[pipeline] {name}: {" ".join(command[2:])}', flush=True)
  start = time.time()
  result = subprocess.run(command, check=False)
  if result.returncode != 0:
    raise SystemExit(f'[pipeline] {name} failed (exit {result.returncode});'
                     ' fix the cause and run the same command again: '
                     'finished stages are skipped.')
  with open(marker, 'w') as f:
    json.dump({'seconds': time.time() - start, 'command': command}, f)
  print(f'[pipeline] {name}: finished in {time.time() - start:.0f} s',
        flush=True)


def _launcher_args() -> List[str]:
  """The launcher flags for the stages that start workers (collect,
  evaluate): --launcher=ray runs them on a Ray cluster."""
  args = [f'--launcher={launcher_flags.LAUNCHER.value}']
  for flag in (launcher_flags.RAY_ADDRESS, launcher_flags.RAY_NUM_CPUS):
    if flag.value is not None:
      args.append(f'--{flag.name}={flag.value}')
  return args


def main(argv):
  del argv
  scale = _override(SCALES[_SCALE.value])
  out = _OUTPUT_DIR.value
  os.makedirs(out, exist_ok=True)
  data, k10, k1 = (os.path.join(out, name)
                   for name in ('data_k10', 'phase1_k10', 'phase1_k1'))
  evaluation = os.path.join(out, 'evaluation')
  seed = f'--seed={_SEED.value}'
  start = time.time()
  print(f'[pipeline] scale {_SCALE.value}: {scale}', flush=True)
  _stage('collect', ['collect', f'--num_actors={_NUM_ACTORS.value}',
                     f'--num_episodes={scale.collect_episodes}', '--K=10',
                     f'--output={data}', seed] + _launcher_args(), out)
  _stage('phase1_k1', ['train_phase1', f'--dataset={data}', '--K=1',
                       f'--num_steps={scale.k1_steps}',
                       f'--checkpoint_dir={k1}',
                       f'--logs={os.path.join(k1, "logs")}', seed]
         + list(scale.phase1_flags), out)
  _stage('phase1_k10', ['train_phase1', f'--dataset={data}', '--K=10',
                        f'--num_steps={scale.k10_steps}',
                        f'--checkpoint_dir={k10}',
                        f'--logs={os.path.join(k10, "logs")}',
                        f'--baseline_checkpoint_dir={k1}', seed]
         + list(scale.phase1_flags), out)
  if _EXPORT_DIR.value:
    command = ' '.join(['python -m jumpy_acme.launchers.pipeline'] +
                       sys.argv[1:])
    for name, checkpoint in (('k10', k10), ('k1', k1)):
      _stage(f'export_{name}', [
          'export_model', f'--checkpoint={checkpoint}', f'--dataset={data}',
          f'--output={os.path.join(_EXPORT_DIR.value, name)}',
          f'--command={command}'], out)
  _stage('evaluate', ['evaluate', '--preset=table3', f'--checkpoint={k10}',
                      f'--baseline_checkpoint={k1}',
                      f'--tasks={scale.tasks}',
                      f'--episodes={scale.episodes}',
                      f'--num_samples={scale.num_samples}',
                      f'--num_workers={_NUM_WORKERS.value}',
                      f'--output={evaluation}', seed] + _launcher_args(),
         out)
  with open(os.path.join(evaluation, 'results.md')) as f:
    table = f.read()
  print(f'\n[pipeline] done in {time.time() - start:.0f} s. Undiscounted '
        f'return per episode (mean +- std over {scale.episodes} episodes, '
        f'400 steps each):\n{table}')
  print(f'[pipeline] data: {data}; models: {k10}, {k1} (diagnostics in '
        f'{k10}/logs); results: {evaluation}')


if __name__ == '__main__':
  app.run(main)
