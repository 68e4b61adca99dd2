"""Which way can the skills go? The skill repertoire's reach per object.

The phase-1 data's behaviours all go to red (reach_red, lift_red,
red_hover_blue). A planner can only choose among the skills the prior
offers, so this bench asks, at `--states` seeded resets of the scene
(initial states drawn as the evaluation draws them), where the jumpy
model says `--skills` prior draws of z take the pinch in K steps:

  progress(colour) = |pinch - object| - |predicted pinch_t+K - object|,

the distance the pinch closes on each object (red, green, blue) in one
jump, in mm, and the same for the action decoder's actual K-step rollout
with `--rollouts` of the draws (the simulator; the states are restored by
resetting with the same seed). Per colour: the median over states of the
best draw's progress, the mean draw's, and the share of draws that close
in by more than 5 mm. Ends with one JSON line.

  python bench/skill_coverage.py --checkpoint=pretrained/k10 --states=10
"""

import argparse
import json
import time

import numpy as np

COLOURS = ('red', 'green', 'blue')


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--checkpoint', default='pretrained/k10')
  parser.add_argument('--states', type=int, default=10)
  parser.add_argument('--skills', type=int, default=1000)
  parser.add_argument('--rollouts', type=int, default=8)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  for name in ('states', 'skills', 'rollouts'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  if args.rollouts > args.skills:
    parser.error(f'--rollouts: expected <= --skills ({args.skills}), got '
                 f'{args.rollouts}.')
  import jax  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top

  start = time.time()
  model = skill_vae.load(args.checkpoint)
  k = model.K
  predict = jax.jit(jax.vmap(model.predict_next_state, in_axes=(None, 0)))
  act = jax.jit(model.decode_action)
  pinch = layout.LAYOUT['pinch_pose_pos']
  objects = {c: layout.LAYOUT[f'{c}_pose_pos'] for c in COLOURS}
  key = jax.random.PRNGKey(args.seed)
  predicted = {c: [] for c in COLOURS}
  realised = {c: [] for c in COLOURS}
  for seed in range(args.states):
    env = environments.make('reach_red', seed=seed, episode_length=k)
    state = np.asarray(env.reset().observation, np.float32)
    key, draw = jax.random.split(key)
    zs = jax.random.normal(draw, (args.skills, model.latent_size))
    ahead = np.asarray(predict(state, zs))
    for colour, index in objects.items():
      now = np.linalg.norm(state[pinch] - state[index])
      predicted[colour].append(1e3 * (now - np.linalg.norm(
          ahead[:, pinch] - state[index], axis=-1)))
    rolled = {c: [] for c in COLOURS}
    for z in np.asarray(zs[:args.rollouts]):
      env = environments.make('reach_red', seed=seed, episode_length=k)
      timestep = env.reset()
      if not np.allclose(timestep.observation, state, rtol=1e-5, atol=1e-6):
        raise RuntimeError(f'seed {seed}: the reset is not reproducible, so '
                           'rollouts would not start from the planned state.')
      for _ in range(k):
        timestep = env.step(np.asarray(act(np.asarray(
            timestep.observation, np.float32), z)))
      end = np.asarray(timestep.observation, np.float32)
      for colour, index in objects.items():
        now = np.linalg.norm(state[pinch] - state[index])
        rolled[colour].append(1e3 * (now - np.linalg.norm(
            end[pinch] - state[index])))
    for colour in COLOURS:
      realised[colour].append(np.asarray(rolled[colour]))

  def stats(per_state):
    return {'best_mm': float(np.median([p.max() for p in per_state])),
            'mean_mm': float(np.median([p.mean() for p in per_state])),
            'share_over_5mm': float(np.mean([np.mean(p > 5.0)
                                             for p in per_state]))}

  results = {c: {'predicted': stats(predicted[c]),
                 'realised': stats(realised[c])} for c in COLOURS}
  print(f'{args.checkpoint} (K = {k}): {args.states} initial states, '
        f'{args.skills} prior skills each ({args.rollouts} rolled out)')
  print('| object | predicted: best / mean progress (mm), share > 5 mm | '
        'rolled out: best / mean (mm), share > 5 mm |')
  print('|---|---|---|')
  for colour in COLOURS:
    p, r = results[colour]['predicted'], results[colour]['realised']
    print(f'| {colour} | {p["best_mm"]:.1f} / {p["mean_mm"]:.1f}, '
          f'{p["share_over_5mm"]:.2f} | {r["best_mm"]:.1f} / '
          f'{r["mean_mm"]:.1f}, {r["share_over_5mm"]:.2f} |')
  print(json.dumps({'bench': 'skill_coverage', 'checkpoint': args.checkpoint,
                    'K': k, 'states': args.states, 'skills': args.skills,
                    'rollouts': args.rollouts,
                    'seconds': round(time.time() - start, 1),
                    'objects': results}))


if __name__ == '__main__':
  main()
