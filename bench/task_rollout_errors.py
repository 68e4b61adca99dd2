"""Is the jumpy model worse on motion the phase-1 data never showed?

The phase-1 data holds red-centred behaviours only; six of the nine
evaluation tasks ask for other motion (carry red to green or to the bring
target, reach and lift green, stack). For each task this bench runs the
task's scripted controller (behaviours.make_controller) with the data's
velocity noise (ScriptedConfig()) for `--episodes` 400-step episodes, then
measures, as the phase-1 diagnostics do on held-out data
(phase1_diagnostics.rollout_errors / action_errors), the chained
prediction error of each model given the skills its encoder reads off the
true snippets: the mean position error of the pinch and of the task's
object 10 and 30 steps ahead (mm), and the decoder's action RMSE (vx, m/s).
The K = 1 model is the reference, measured on the same trajectories; the
ratio K = 10 / K = 1 below 1 means the jumpy model is the more accurate
one. Ends with one JSON line.

  python bench/task_rollout_errors.py --checkpoint=pretrained/k10 \
      --baseline_checkpoint=pretrained/k1 --episodes=4
"""

import argparse
import json
import time

import numpy as np


def _trajectories(task: str, episodes: int, steps: int, seed: int):
  """Scripted episodes of `task` with the data's noise: [{states, actions}]."""
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.scripted import behaviours  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.scripted import config as config_lib  # pylint: disable=g-import-not-at-top
  env = environments.make(task, seed=seed, episode_length=steps)
  out = []
  for episode in range(episodes):
    timestep = env.reset()
    controller = behaviours.make_controller(
        task, config=config_lib.ScriptedConfig(), seed=seed + episode)
    controller.reset()
    states, actions = [np.asarray(timestep.observation)], []
    while not timestep.last():
      action = controller(timestep.observation)
      timestep = env.step(action)
      states.append(np.asarray(timestep.observation))
      actions.append(np.asarray(action))
    out.append({'states': np.stack(states).astype(np.float32),
                'actions': np.stack(actions).astype(np.float32)})
  return out


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--checkpoint', default='pretrained/k10')
  parser.add_argument('--baseline_checkpoint', default='pretrained/k1')
  parser.add_argument('--tasks', default='all')
  parser.add_argument('--episodes', type=int, default=4)
  parser.add_argument('--steps', type=int, default=400)
  parser.add_argument('--seed', type=int, default=123)
  args = parser.parse_args()
  if args.episodes < 1 or args.steps < 31:
    parser.error(f'--episodes >= 1 and --steps >= 31 expected, got '
                 f'{args.episodes} and {args.steps}.')
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.experiments import phase1_diagnostics as diagnostics  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  tasks = (list(rewards.EVALUATION_TASKS) if args.tasks == 'all'
           else args.tasks.split(','))
  start = time.time()
  models = {'K10': skill_vae.load(args.checkpoint),
            'K1': skill_vae.load(args.baseline_checkpoint)}
  if models['K10'].K != 10 or models['K1'].K != 1:
    raise ValueError(f'checkpoints: expected K = 10 and K = 1 models, got '
                     f'K = {models["K10"].K} and K = {models["K1"].K}.')
  print(f'{args.episodes} scripted episodes per task (data noise); errors '
        'given posterior skills, mm; K = 10 / K = 1')
  print('| task | pinch at 10 | pinch at 30 | object at 10 | object at 30 | '
        'action RMSE vx (m/s) |')
  print('|---|---|---|---|---|---|')
  results = {}
  for task in tasks:
    trajs = _trajectories(task, args.episodes, args.steps, args.seed)
    part = f'{rewards.task_object(task)}_pose_pos'
    row = {}
    for name, model in models.items():
      errors = diagnostics.rollout_errors(model, trajs, spans=(10, 30))
      row[name] = {
          'pinch_10_mm': 1e3 * errors[10]['pinch_pose_pos'],
          'pinch_30_mm': 1e3 * errors[30]['pinch_pose_pos'],
          'object_10_mm': 1e3 * errors[10][part],
          'object_30_mm': 1e3 * errors[30][part],
          'action_vx': diagnostics.action_errors(model, trajs)['vx']}
    results[task] = row
    cells = [f'{row["K10"][key]:.1f} / {row["K1"][key]:.1f}'
             for key in ('pinch_10_mm', 'pinch_30_mm', 'object_10_mm',
                         'object_30_mm')]
    cells.append(f'{row["K10"]["action_vx"]:.3f} / '
                 f'{row["K1"]["action_vx"]:.3f}')
    print(f'| {task} | ' + ' | '.join(cells) + ' |', flush=True)
  print(json.dumps({'bench': 'task_rollout_errors', 'episodes': args.episodes,
                    'checkpoint': args.checkpoint,
                    'baseline_checkpoint': args.baseline_checkpoint,
                    'seconds': round(time.time() - start, 1),
                    'tasks': results}))


if __name__ == '__main__':
  main()
