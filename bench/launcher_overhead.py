"""Collection throughput on the local launcher and on Ray, in one run.

For 1 and 2 actors, runs `launchers/collect.py` with `--launcher=local` and
with `--launcher=ray` (a local Ray instance of --cpus CPUs) on the same
seeds and episodes, and reports environment steps/s end to end (process
start, Reverb, draining to disk included) and Ray's throughput as a ratio
of the local launcher's (goal: >= 0.9). Last line one JSON object.

  python bench/launcher_overhead.py --episodes=8 --segment_length=100
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def _collect(kind, actors, args, out):
  command = [sys.executable, '-m', 'jumpy_acme.launchers.collect',
             f'--launcher={kind}', f'--num_actors={actors}',
             f'--num_episodes={args.episodes}',
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


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--episodes', type=int, default=8)
  parser.add_argument('--segment_length', type=int, default=100)
  parser.add_argument('--cpus', type=int, default=2)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  for name in ('episodes', 'segment_length', 'cpus'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  rows = {}
  with tempfile.TemporaryDirectory() as tmp:
    for actors in (1, 2):
      for kind in ('local', 'ray'):
        out = os.path.join(tmp, f'{kind}{actors}')
        rows[f'{kind}_{actors}'] = _collect(kind, actors, args, out)
        print(f'[launcher_overhead] {kind}, {actors} actor(s): '
              f'{rows[f"{kind}_{actors}"]}', flush=True)
  print('| actors | local steps/s | Ray steps/s | Ray / local |')
  print('|---|---|---|---|')
  ratios = {}
  for actors in (1, 2):
    local, ray = rows[f'local_{actors}'], rows[f'ray_{actors}']
    ratios[actors] = ray['steps_per_second'] / local['steps_per_second']
    print(f'| {actors} | {local["steps_per_second"]:.1f} | '
          f'{ray["steps_per_second"]:.1f} | {ratios[actors]:.2f} |')
  print(json.dumps({'rows': rows, 'ray_over_local': ratios,
                    'episodes': args.episodes,
                    'steps_per_episode': 2 * args.segment_length}))


if __name__ == '__main__':
  main()
