"""Collection throughput with 1 and 2 actor processes, and the scaling.

Runs the real collection program (scripted behaviour schedule, RGB-stacking
simulators in actor processes, snippet adder, one Reverb server, the queue
drained by the launcher's process) for `--episodes_per_actor` episodes per
actor, first with one actor, then with two. Steps/s counts from the first
collected step to the end, so process start-up and scene building are left
out. scaling_efficiency = steps/s with 2 / (2 x steps/s with 1).
Last line: one JSON object.
"""

import argparse
import json
import time

from jumpy_acme import launcher as launcher_lib
from jumpy_acme import replay
from jumpy_acme.agents.experiments import collection


def run(num_actors: int, episodes_per_actor: int, segment_length: int,
        K: int = 10) -> float:  # noqa: N803
  episode_length = 2 * segment_length
  spec, extras_spec = collection.environment_spec_and_extras(
      episode_length=episode_length, triplet='triplet1')
  launcher = launcher_lib.LocalLauncher(
      tables=[replay.queue_table('snippets', spec, K, extras_spec)],
      counter_keys=collection.COUNTER_KEYS)
  episodes = num_actors * episodes_per_actor
  launcher.add_workers(
      'actor', collection.collection_worker, num=num_actors,
      table='snippets', K=K, max_episodes=episodes,
      config={'segment_length': segment_length}, triplet='triplet1')
  state = {'client': None, 'first': None, 'first_steps': 0}

  def on_poll(counts):
    if launcher.address is None:
      return
    if state['client'] is None:
      state['client'] = replay.connect(launcher.address)
    # Drained and dropped: the disk write is not measured here.
    replay.drain(state['client'], 'snippets')
    if state['first'] is None and counts['actor_steps'] > 0:
      state['first'], state['first_steps'] = (time.time(),
                                              counts['actor_steps'])

  counts = launcher.run(stop_when=lambda c: c['actor_episodes'] >= episodes,
                        on_poll=on_poll, poll_s=0.1)
  elapsed = time.time() - state['first']
  return (counts['actor_steps'] - state['first_steps']) / elapsed


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--episodes_per_actor', type=int, default=2)
  parser.add_argument('--segment_length', type=int, default=200)
  args = parser.parse_args()
  one = run(1, args.episodes_per_actor, args.segment_length)
  two = run(2, args.episodes_per_actor, args.segment_length)
  efficiency = two / (2 * one)
  print(f'1 actor : {one:.1f} steps/s')
  print(f'2 actors: {two:.1f} steps/s')
  print(f'scaling efficiency (2 / (2 x 1)): {efficiency:.2f}')
  print(json.dumps({'steps_per_s_1': round(one, 2),
                    'steps_per_s_2': round(two, 2),
                    'scaling_efficiency': round(efficiency, 3)}))


if __name__ == '__main__':
  main()
