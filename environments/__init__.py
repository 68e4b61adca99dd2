"""Environments (installed as jumpy_acme.environments).

  env = jumpy_acme.environments.make('red_stack_blue', seed=0)

`TASKS` names every task `make` accepts (the paper's nine evaluation tasks
and the eleven base behaviours; docs/tasks.md). Importing this package is
cheap; `make` builds the MuJoCo scene.

- rgb_stacking/: RGB-stacking rebuilt from dm_robotics parts.
- point_mass.py: a tiny debugging environment for tests and smoke runs.
"""

from jumpy_acme.environments.rgb_stacking import rewards as _rewards

TASKS = tuple(sorted(_rewards.TASKS))
EVALUATION_TASKS = _rewards.EVALUATION_TASKS
BASE_BEHAVIOURS = _rewards.BASE_BEHAVIOURS


def make(task_name: str, seed: int = 0, **options):
  """Returns the RGB-stacking environment for a task.

  Args:
    task_name: one of TASKS.
    seed: seeds the object triplet draw and every episode's initial state.
    **options: passed to rgb_stacking.environment.RGBStacking (triplet,
      observation_mode, episode_length, controller, settle).
  """
  if task_name not in _rewards.TASKS:
    raise ValueError(f'task_name: {task_name!r} is unknown; valid tasks: '
                     f'{list(TASKS)}.')
  from jumpy_acme.environments.rgb_stacking import environment  # pylint: disable=g-import-not-at-top
  return environment.RGBStacking(task=task_name, seed=seed, **options)
