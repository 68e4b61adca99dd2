"""Does the planner, rather than the model, limit zero-shot planning?
(issue [skills-that-steer])

Runs jumpy planning on one task with several planner variants, every
variant on the same seeded initial states (episode e: environment seed
`--seed` * 100000 + e, the evaluation launcher's seeding), and prints for
each variant:
- the mean undiscounted return (+- standard error) and its paired
  difference to the first variant (+- standard error of the differences);
- the optimism of the chosen plan: the task reward the jumpy model
  predicts after the first jump of the best plan, minus the reward the
  environment gives when that skill has been held for K steps; the same
  for the median plan. A chosen plan whose optimism far exceeds the median
  plan's is picked for a model error (the winner's curse). Measured only
  with `--actions_per_latent` = K, where the prediction and the outcome are
  the same step.
- which objects the fingers held: at every step where the grasp sensor
  reads an inward grasp, the object nearest the pinch; the share of
  episodes that held red, and that held another object. (The base
  behaviours never grasp green or blue, so the model has not seen it.)

A variant is comma-separated settings: n (N plans), h (H jumps), it (CEM
iterations), std (the prior's standard deviation: z ~ N(0, std^2 I) in the
first iteration; 1 is the paper's prior). Variants are separated by ';'.

  python bench/planner_ablation.py --checkpoint=pretrained/k10 \
      --task=lift_red --episodes=10 --variants='n=1000;n=100;it=3;std=2'

One process; the last line is one JSON object.
"""

import argparse
import json
import time

import numpy as np

SETTINGS = {'n': ('num_samples', int), 'h': ('horizon', int),
            'it': ('iterations', int), 'std': ('prior_std', float)}


def parse_variant(text: str):
  """'n=100,std=2' -> ({'num_samples': 100}, prior std 2.0)."""
  fields, prior_std = {}, 1.0
  for item in filter(None, text.split(',')):
    name, _, value = item.partition('=')
    if name not in SETTINGS or not value:
      raise ValueError(f'variant {text!r}: expected settings name=value '
                       f'with name in {sorted(SETTINGS)}, got {item!r}.')
    field, kind = SETTINGS[name]
    if field == 'prior_std':
      prior_std = kind(value)
      if not prior_std > 0:
        raise ValueError(f'variant {text!r}: std expected > 0, got '
                         f'{prior_std}.')
    else:
      fields[field] = kind(value)
  return fields, prior_std


def _standard_error(values: np.ndarray) -> float:
  values = np.asarray(values, np.float64)
  if len(values) < 2:
    return 0.0
  return float(values.std(ddof=1) / np.sqrt(len(values)))


def nearest_object(state) -> str:
  """The colour of the object whose centre is nearest the pinch."""
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  pinch = state[layout.LAYOUT['pinch_pose_pos']]
  distances = {colour: np.linalg.norm(
      state[layout.LAYOUT[f'{colour}_pose_pos']] - pinch)
               for colour in layout.COLOURS}
  return min(distances, key=distances.get)


def run_variant(model, task: str, variant: str, episodes, max_steps: int,
                actions_per_latent: int, seed: int):
  """One variant's episodes: their returns, the objects held, the tie
  share and the mean optimism of the chosen and the median plan."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import config as config_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import models  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  fields, prior_std = parse_variant(variant)
  config = config_lib.PlannerConfig(**fields)
  latent = model.latent_size
  proposal = None
  if prior_std != 1.0:
    def proposal(state):
      del state
      return jnp.zeros(latent), prior_std * jnp.ones(latent)
  reward_fn = rewards.jax_reward(task)
  plan = models.make_skill_planner(model, reward_fn, config, proposal)

  @jax.jit
  def choose(key, state):
    result = plan(key, state)
    first = jax.vmap(reward_fn)(result.trajectories[:, 1])     # [N].
    return (result.z, first[jnp.argmax(result.scores)],
            jnp.median(first), result.tied)

  decode = jax.jit(model.decode_action)
  numpy_reward = rewards.numpy_reward(task)
  returns, best_gaps, median_gaps, ties, held = [], [], [], [], []
  for episode in episodes:
    episode_seed = seed * 100_000 + episode
    key = jax.random.PRNGKey(episode_seed)
    env = environments.make(task, seed=episode_seed, episode_length=max_steps)
    timestep = env.reset()
    total, z, predicted = 0.0, None, None
    held.append(set())
    for t in range(max_steps):
      state = timestep.observation
      if rewards.is_inward_grasp(state):
        held[-1].add(nearest_object(state))
      if t % actions_per_latent == 0:
        if predicted is not None and actions_per_latent == model.K:
          obtained = numpy_reward(state)
          best_gaps.append(predicted[0] - obtained)
          median_gaps.append(predicted[1] - obtained)
        key, plan_key = jax.random.split(key)
        new_z, best, median, tied = choose(plan_key, jnp.asarray(state))
        ties.append(bool(tied))
        if z is None or not bool(tied):  # A tie keeps the held skill.
          z = new_z
        predicted = (float(best), float(median))
      timestep = env.step(np.asarray(decode(jnp.asarray(state), z),
                                     np.float32))
      total += float(timestep.reward)
      if timestep.last():
        break
    env.close()
    returns.append(total)
    print(f'  {variant}: episode {episode} return {total:.1f}, held '
          f'{sorted(held[-1]) or "nothing"}', flush=True)
  return {'returns': returns,
          'held': [sorted(h) for h in held],
          'held_red_share': float(np.mean(['red' in h for h in held])),
          'held_other_share': float(np.mean([bool(h - {'red'})
                                             for h in held])),
          'optimism_best': float(np.mean(best_gaps)) if best_gaps else None,
          'optimism_median': (float(np.mean(median_gaps)) if median_gaps
                              else None),
          'tie_share': float(np.mean(ties))}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--checkpoint', default='pretrained/k10',
                      help='Phase-1 model (default: the shipped K = 10).')
  parser.add_argument('--task', default='lift_red')
  parser.add_argument('--variants', default='n=1000;n=100;it=3;std=2')
  parser.add_argument('--episodes', type=int, default=10)
  parser.add_argument('--max_steps', type=int, default=400)
  parser.add_argument('--actions_per_latent', type=int, default=10)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  for name in ('episodes', 'max_steps', 'actions_per_latent'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  variants = [v.strip() for v in args.variants.split(';') if v.strip()]
  try:
    for variant in variants:
      parse_variant(variant)
  except ValueError as e:
    parser.error(f'--variants: {e}')
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  try:
    rewards.get_task(args.task)
  except ValueError as e:
    parser.error(f'--task: {e}')
  model = skill_vae.load(args.checkpoint)
  start = time.time()
  results = {}
  for variant in variants:
    results[variant] = run_variant(model, args.task, variant,
                                   range(args.episodes), args.max_steps,
                                   args.actions_per_latent, args.seed)
  reference = np.asarray(results[variants[0]]['returns'])
  print(f'\n{args.task}, {args.episodes} paired episodes, skills held '
        f'{args.actions_per_latent} steps ({time.time() - start:.0f} s)')
  print(f'| variant | return | minus {variants[0]} | optimism: best plan | '
        'optimism: median plan | ties | held red | held another |')
  print('|---|---|---|---|---|---|---|---|')

  def fmt(value):
    return 'n/a' if value is None else f'{value:+.3f}'

  for variant in variants:
    row = results[variant]
    returns = np.asarray(row['returns'])
    difference = returns - reference
    row['return_mean'] = float(returns.mean())
    row['return_se'] = _standard_error(returns)
    row['paired_difference'] = float(difference.mean())
    row['paired_difference_se'] = _standard_error(difference)
    print(f'| {variant} | {row["return_mean"]:.1f} +- {row["return_se"]:.1f}'
          f' | {row["paired_difference"]:+.1f} +- '
          f'{row["paired_difference_se"]:.1f} | {fmt(row["optimism_best"])}'
          f' | {fmt(row["optimism_median"])} | '
          f'{100 * row["tie_share"]:.0f} % | '
          f'{100 * row["held_red_share"]:.0f} % | '
          f'{100 * row["held_other_share"]:.0f} % |')
  print(json.dumps({'task': args.task, 'checkpoint': args.checkpoint,
                    'episodes': args.episodes,
                    'actions_per_latent': args.actions_per_latent,
                    'seed': args.seed, 'variants': results,
                    'seconds': round(time.time() - start, 1)}))


if __name__ == '__main__':
  main()
