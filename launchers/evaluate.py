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
The work is done by agents/experiments/evaluation.py; this is its command
line.
"""

import dataclasses

from absl import app
from absl import flags
from absl import logging

from jumpy_acme.agents.experiments import evaluation
from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.launchers import launcher_flags
from jumpy_acme.launchers import planner_flags

_AGENT = flags.DEFINE_enum('agent', 'planning', list(evaluation.AGENTS),
                           'Which agent to evaluate (without --preset).')
_PRESET = flags.DEFINE_enum('preset', None, list(evaluation.PRESETS),
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
_NUM_WORKERS = flags.DEFINE_integer('num_workers', 2,
                                    'Processes running episodes.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds episodes and agents.')
_OUTPUT = flags.DEFINE_string('output', 'results/evaluation',
                              'Directory for results.md, .csv, .json.')


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  for task in _TASKS.value:
    rewards.get_task(task)  # Names the valid tasks if one is unknown.
  try:  # Bad values name their flag.
    planner = dataclasses.asdict(planner_flags.planner_config())
    settings = evaluation.make_settings(
        _PRESET.value, _AGENT.value, _CHECKPOINT.value,
        _BASELINE_CHECKPOINT.value, planner, _ACTIONS_PER_LATENT.value,
        _BASELINE_HORIZON.value)
  except ValueError as e:
    raise app.UsageError(f'--{e}') from e
  for flag in (_CHECKPOINT, _BASELINE_CHECKPOINT):
    if flag.value and flag.value in {s.checkpoint for s in settings}:
      try:  # Named by its flag here, before any worker starts.
        evaluation.checkpoint_step(flag.value, field=flag.name)
      except ValueError as e:
        raise app.UsageError(f'--{e}') from e
  ray_address = None
  if launcher_flags.LAUNCHER.value == 'ray':
    ray_address = launcher_flags.RAY_ADDRESS.value or 'local'
  elif launcher_flags.RAY_ADDRESS.value:
    raise app.UsageError('--ray_address: only used with --launcher=ray.')
  try:
    table = evaluation.evaluate(
        settings, _TASKS.value, _EPISODES.value, _MAX_STEPS.value,
        _SEED.value, _NUM_WORKERS.value, _OUTPUT.value,
        config={'preset': _PRESET.value}, ray_address=ray_address)
  except ValueError as e:
    if str(e).startswith(('ray_address', 'proposal')):
      raise app.UsageError(f'--{e}') from e
    raise
  print(table)


if __name__ == '__main__':
  app.run(main)
