"""Collection throughput on the local launcher and on Ray, in one run.

For 1 and 2 actors, runs `launchers/collect.py` with `--launcher=local` and
with `--launcher=ray` (a local Ray instance of --cpus CPUs) on the same
seeds and episodes, and reports environment steps/s end to end (process
start, Reverb, draining to disk included) and Ray's throughput as a ratio
of the local launcher's (goal: >= 0.9). Last line one JSON object.

Each configuration runs twice, with --episodes and with --long_episodes:
the difference of the two runs is the steady-state throughput (steps/s
once everything has started; fixed costs such as starting Ray, its Reverb
actor and the workers' imports cancel), and the fixed start-up cost is
what is left of the long run's time. On a small machine those fixed
seconds dominate short runs, so both figures are reported.

  python bench/launcher_overhead.py --episodes=4 --long_episodes=16
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def _collect(kind, actors, episodes, args, out):
  command = [sys.executable, '-m', 'jumpy_acme.launchers.collect',
             f'--launcher={kind}', f'--num_actors={actors}',
             f'--num_episodes={episodes}',
             f'--segment_length={args.segment_length}', '--K=10',
             f'--seed={args.seed}', f'--output={out}']
  if kind == 'ray':
    command.append(f'--ray_num_cpus={args.cpus}')
  start = time.time()
  result = subprocess.run(command, capture_output=True, text=True,
                          check=False,
                          env=dict(os.environ, RAY_AUTH_MODE='disabled'))
  wall = time.time() - start
  if result.returncode != 0:
    raise SystemExit(f'{kind} with {actors} actors failed:\n'
                     f'{result.stderr[-3000:]}')
  summary = json.loads([line for line in result.stdout.splitlines()
                        if line.startswith('{')][-1])
  return {'steps': summary['steps'], 'run_seconds': summary['seconds'],
          'wall_seconds': wall,
          'steps_per_second': summary['steps'] / summary['seconds']}


def _steady(short, long):
  """Steady-state steps/s and fixed seconds from a short and a long run."""
  rate = (long['steps'] - short['steps']) / max(
      long['run_seconds'] - short['run_seconds'], 1e-9)
  return rate, long['run_seconds'] - long['steps'] / rate


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--episodes', type=int, default=4)
  parser.add_argument('--long_episodes', type=int, default=16)
  parser.add_argument('--segment_length', type=int, default=100)
  parser.add_argument('--cpus', type=int, default=2)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  for name in ('episodes', 'segment_length', 'cpus'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  if args.long_episodes <= args.episodes:
    parser.error(f'--long_episodes: expected > --episodes '
                 f'({args.episodes}), got {args.long_episodes}.')
  rows = {}
  with tempfile.TemporaryDirectory() as tmp:
    for actors in (1, 2):
      for kind in ('local', 'ray'):
        for length, episodes in (('short', args.episodes),
                                 ('long', args.long_episodes)):
          key = f'{kind}_{actors}_{length}'
          rows[key] = _collect(kind, actors, episodes, args,
                               os.path.join(tmp, key))
          print(f'[launcher_overhead] {kind}, {actors} actor(s), '
                f'{episodes} episodes: {rows[key]}', flush=True)
  print('| actors | launcher | end to end steps/s (long run) | '
        'steady steps/s | fixed s |')
  print('|---|---|---|---|---|')
  summary = {'end_to_end': {}, 'steady': {}, 'fixed_seconds': {}}
  for actors in (1, 2):
    for kind in ('local', 'ray'):
      long = rows[f'{kind}_{actors}_long']
      rate, fixed = _steady(rows[f'{kind}_{actors}_short'], long)
      key = f'{kind}_{actors}'
      summary['end_to_end'][key] = long['steps_per_second']
      summary['steady'][key] = rate
      summary['fixed_seconds'][key] = fixed
      print(f'| {actors} | {kind} | {long["steps_per_second"]:.1f} | '
            f'{rate:.1f} | {fixed:.1f} |')
  ratios = {}
  for actors in (1, 2):
    ratios[actors] = {
        figure: summary[figure][f'ray_{actors}'] /
        summary[figure][f'local_{actors}']
        for figure in ('end_to_end', 'steady')}
    print(f'Ray / local, {actors} actor(s): end to end '
          f'{ratios[actors]["end_to_end"]:.2f}, steady '
          f'{ratios[actors]["steady"]:.2f} (goal >= 0.9)')
  print(json.dumps({**summary, 'rows': rows, 'ray_over_local': ratios,
                    'episodes': [args.episodes, args.long_episodes],
                    'steps_per_episode': 2 * args.segment_length}))


if __name__ == '__main__':
  main()
