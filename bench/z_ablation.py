"""Which phase-1 setting makes the skill z steer? (issue [skills-that-steer])

Trains one K = 10 model per variant on the same dataset, seed and number of
learner steps (launchers/train_phase1.py), then measures each with
bench/controllability.py and the launcher's held-out rollout errors:

- the share of near-object data states where the gripper command changes
  with z (goal >= 50 %) and overall;
- Random-HL's median pinch motion per K steps against the data's (goal:
  within 2x, i.e. a ratio >= 0.5);
- the jumpy model's chained rollout RMSE at 10 and 30 steps (must not get
  worse than the baseline's by more than 10 %);
- the action decoder's held-out RMSE given the posterior z.

A variant's model and logs stay in --output/<variant> and a finished one is
not trained again (rerun the same command after a crash). Prints a
Markdown table (docs/phase1.md, "Making z matter") and ends with one JSON
line.

  python bench/z_ablation.py --dataset=results/reference/data_k10 \
      --output=results/z_ablation --num_steps=1000
"""

import argparse
import json
import os
import subprocess
import sys
import time

# Dynamic parts of the state: what the ongoing motion can be read from.
DYNAMICS = 'joint_velocities,joint_torques,tcp_velocity,gripper_velocity'

# Each variant names every flag it differs from the paper in, so none
# depends on the launcher's default (since 2026-12-02 hide_dynamics_gripper).
PAPER = '--action_input_hidden='
VARIANTS = {
    'baseline': [PAPER],
    'hide_dynamics': [f'--action_input_hidden={DYNAMICS}'],
    'input_noise_1': [PAPER, '--action_input_noise=1.0'],
    'free_bits_0.5': [PAPER, '--free_bits=0.5'],
    'hide_dynamics_free_bits_0.5': [f'--action_input_hidden={DYNAMICS}',
                                    '--free_bits=0.5'],
    'beta_a_1000': [PAPER, '--beta_a=1000'],
    # The gripper's own state too: the fingers' angle and the grasp sensor
    # (whether to keep closing can then only come from z and the scene).
    'hide_dynamics_gripper': [
        f'--action_input_hidden={DYNAMICS},gripper_angle,grasp'],
    # The fingers' state hidden in half the training snippets only: z must
    # carry the grip, yet when acting the decoder sees whether the fingers
    # are closing (session 26: hiding them always makes apl 1 planning
    # flip the grip command).
    'hide_dynamics_drop_gripper_0.5': [
        f'--action_input_hidden={DYNAMICS}',
        '--action_input_dropped=gripper_angle,grasp',
        '--action_input_dropout=0.5'],
}


def _run(command, log_path):
  print('[z_ablation] ' + ' '.join(command), flush=True)
  with open(log_path, 'w') as log:
    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                            check=False)
  if result.returncode != 0:
    raise SystemExit(f'[z_ablation] failed (exit {result.returncode}); see '
                     f'{log_path}')
  with open(log_path) as f:
    lines = [line for line in f.read().splitlines() if line.startswith('{')]
  return json.loads(lines[-1])


def _variant(name, args, flags):
  out = os.path.join(args.output, name)
  os.makedirs(out, exist_ok=True)
  summary_path = os.path.join(out, 'logs', 'summary.json')
  if not os.path.exists(summary_path):
    _run([sys.executable, '-m', 'jumpy_acme.launchers.train_phase1',
          f'--dataset={args.dataset}', '--K=10',
          f'--num_steps={args.num_steps}', f'--seed={args.seed}',
          f'--checkpoint_dir={os.path.join(out, "model")}',
          f'--logs={os.path.join(out, "logs")}'] + flags
         + args.train_flags.split(),
         os.path.join(out, 'train.log'))
  control_path = os.path.join(out, 'controllability.json')
  if not os.path.exists(control_path):
    control = _run([sys.executable, os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'controllability.py'),
                    f'--checkpoint={os.path.join(out, "model")}',
                    f'--dataset={args.dataset}', f'--states={args.states}',
                    f'--episodes={args.episodes}', f'--seed={args.seed}'],
                   os.path.join(out, 'controllability.log'))
    with open(control_path, 'w') as f:
      json.dump(control, f)
  with open(summary_path) as f:
    summary = json.load(f)
  with open(control_path) as f:
    control = json.load(f)
  rollout = summary['rollout']
  final = summary.get('final') or {}
  return {
      'flags': ' '.join(flags),
      'grip_near': control['controllability'][
          'grip_changes_with_z_near_an_object'],
      'grip_all': control['controllability']['grip_changes_with_z'],
      'motion_ratio': control['motion_ratio_random_hl_to_data'],
      'random_hl_motion_mm': 1000 * control['random_hl'][
          'pinch_motion_median'],
      'data_motion_mm': 1000 * control['data']['pinch_motion_median'],
      'random_hl_closes': control['random_hl']['closes_share'],
      'rollout_10': rollout['10']['all'],
      'rollout_30': rollout['30']['all'],
      'pinch_30_mm': 1000 * rollout['30']['pinch_pose_pos'],
      'action_rmse': summary['action_rmse'],
      'kl': final.get('kl'), 'train_seconds': summary['seconds'],
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--dataset', required=True)
  parser.add_argument('--output', required=True)
  parser.add_argument('--variants', default=','.join(VARIANTS),
                      help=f'Comma-separated, from {list(VARIANTS)}.')
  parser.add_argument('--num_steps', type=int, default=1000,
                      help='Learner steps (x 4 SGD steps) per variant.')
  parser.add_argument('--states', type=int, default=300)
  parser.add_argument('--episodes', type=int, default=4)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--train_flags', default='',
                      help='Space-separated flags added to every variant\'s '
                      'train_phase1 run (e.g. "--batch_size=64").')
  args = parser.parse_args()
  names = [n for n in args.variants.split(',') if n]
  unknown = [n for n in names if n not in VARIANTS]
  if unknown:
    parser.error(f'--variants: unknown {unknown}; known: {list(VARIANTS)}.')
  for name in ('num_steps', 'states', 'episodes'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  start = time.time()
  rows = {}
  for name in names:
    rows[name] = _variant(name, args, VARIANTS[name])
    print(f'[z_ablation] {name}: {json.dumps(rows[name])}', flush=True)
  base = rows.get('baseline')
  print(f'\nK = 10, {args.num_steps} learner steps ({4 * args.num_steps} '
        f'SGD steps of 256) each, seed {args.seed}, {args.dataset}')
  print('| variant | grip changes with z near an object | overall | '
        'Random-HL / data motion | Random-HL closes | rollout RMSE 10 | '
        'rollout RMSE 30 | pinch error 30 (mm) | action RMSE (vx, grip) | '
        'KL |')
  print('|---|---|---|---|---|---|---|---|---|---|')
  for name, r in rows.items():
    rel = ''
    if base is not None and name != 'baseline':
      rel = f' ({100 * (r["rollout_30"] / base["rollout_30"] - 1):+.0f} %)'
    near = 'n/a' if r['grip_near'] is None else f'{100 * r["grip_near"]:.0f} %'
    actions = r['action_rmse']
    print(f'| {name} | {near} | {100 * r["grip_all"]:.0f} % | '
          f'{r["motion_ratio"]:.2f} ({r["random_hl_motion_mm"]:.1f} / '
          f'{r["data_motion_mm"]:.1f} mm) | '
          f'{100 * r["random_hl_closes"]:.0f} % | {r["rollout_10"]:.3g} | '
          f'{r["rollout_30"]:.3g}{rel} | {r["pinch_30_mm"]:.1f} | '
          f'{actions.get("vx", float("nan")):.3g}, '
          f'{actions.get("grip", float("nan")):.3g} | '
          f'{r["kl"] if r["kl"] is None else round(r["kl"], 2)} |')
  print(json.dumps({'variants': rows, 'num_steps': args.num_steps,
                    'seed': args.seed, 'dataset': args.dataset,
                    'seconds': round(time.time() - start, 1)}))


if __name__ == '__main__':
  main()
