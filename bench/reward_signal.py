"""Can the planner see each evaluation task's reward? (issue [tasks-and-data])

Random shooting scores a plan by Eq. 3 over the states it predicts at steps
0, 10, 20, 30 (H = 3 jumps of K = 10). If every state reachable in 30 steps
has the same reward, all N scores tie and the planner picks an arbitrary
plan. This bench measures that in the simulator, with no model in between:

1. Reward signal. From each of `--initial_states` random initial states,
   `--rollouts` rollouts of three 10-step segments, each segment a base
   behaviour drawn at random (with the data's noise). For every evaluation
   task, the Eq. 3 score (gamma = 1) of each rollout; an initial state
   "ties" when all its rollouts' scores are within `--tie_tolerance`
   (about float32 rounding of a score <= 4). Printed: the fraction of tied
   initial states per task, and the median spread (max - min score).
2. A Random-HL proxy. `--episodes` 400-step episodes whose behaviour is
   re-drawn every 10 steps; each task's return relative to reach_red's,
   beside the paper's Random-HL ratios (Table 3), and the mean absolute log
   ratio between the two.

Runs in `--workers` processes; the last line is one JSON object.
"""

import argparse
import json
import multiprocessing
import time

import numpy as np

HORIZON_STEPS = (0, 10, 20, 30)  # Eq. 3's states for H = 3, K = 10.
SEGMENT = 10
# The paper's Table 3, Random-HL column (mean return over 50 episodes).
PAPER_RANDOM_HL = {
    'reach_red': 70.91, 'lift_red': 15.63, 'red_hover_blue': 13.90,
    'red_stack_blue': 8.25, 'red_hover_green': 13.08,
    'red_stack_green': 7.80, 'bring_red': 15.26, 'reach_green': 36.01,
    'lift_green': 12.95}


def _task_rewards(variant):
  """{evaluation task: reward name}: the tasks, or their unstaged forms."""
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  names = {}
  for task in rewards.EVALUATION_TASKS:
    unstaged = f'{task}_unstaged'
    names[task] = (unstaged if variant == 'unstaged' and
                   unstaged in rewards.TASKS else task)
  return names


def _setup(seed, variant):
  """Imports in the worker (each process builds its own simulator)."""
  from jumpy_acme.agents import scripted  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import environment as env_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import scene as scene_lib  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  scene = scene_lib.Scene(scene_lib.resolve_triplet('rgb_test_random', rng))
  reward_fns = {task: rewards.numpy_reward(name)
                for task, name in _task_rewards(variant).items()}
  return scripted, env_lib, scene, reward_fns, rng


def _rewards(reward_fns, state):
  return np.array([fn(state) for fn in reward_fns.values()])


def _segments(scripted, env_lib, scene, rng, num_steps, observe):
  """Runs behaviours re-drawn every SEGMENT steps; observe(t, state)."""
  behaviour = None
  for t in range(num_steps):
    if t % SEGMENT == 0:
      name = scripted.BEHAVIOURS[rng.integers(len(scripted.BEHAVIOURS))]
      behaviour = scripted.make_behaviour(name, seed=int(rng.integers(2**31)))
    state = env_lib.state_vector(scene.observe())
    scene.step(behaviour(state))
    observe(t + 1, env_lib.state_vector(scene.observe()))


def _signal_job(args):
  """Eq. 3 scores [initial states, rollouts, tasks] for a chunk of seeds."""
  seeds, rollouts, variant = args
  scripted, env_lib, scene, reward_fns, rng = _setup(int(seeds[0]), variant)
  out = np.zeros((len(seeds), rollouts, len(reward_fns)))
  for i, seed in enumerate(seeds):
    scene.reset(np.random.default_rng(int(seed)))
    start = scene.get_state()
    first = _rewards(reward_fns, env_lib.state_vector(scene.observe()))
    for r in range(rollouts):
      scene.set_state(start)
      out[i, r] = first

      def observe(t, state, i=i, r=r):
        if t in HORIZON_STEPS:
          out[i, r] += _rewards(reward_fns, state)
      _segments(scripted, env_lib, scene, rng, HORIZON_STEPS[-1], observe)
  return out


def _proxy_job(args):
  """Returns [episodes, tasks] of 400-step behaviour-switching episodes."""
  seeds, steps, variant = args
  scripted, env_lib, scene, reward_fns, rng = _setup(int(seeds[0]) + 7,
                                                     variant)
  out = np.zeros((len(seeds), len(reward_fns)))
  for i, seed in enumerate(seeds):
    scene.reset(np.random.default_rng(int(seed)))

    def observe(t, state, i=i):
      del t
      out[i] += _rewards(reward_fns, state)
    _segments(scripted, env_lib, scene, rng, steps, observe)
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--initial_states', type=int, default=20)
  parser.add_argument('--rollouts', type=int, default=20)
  parser.add_argument('--episodes', type=int, default=16)
  parser.add_argument('--episode_steps', type=int, default=400)
  parser.add_argument('--tie_tolerance', type=float, default=1e-6)
  parser.add_argument('--workers', type=int, default=2)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--rewards', choices=('staged', 'unstaged'),
                      default='staged',
                      help='unstaged: score lift, hover and bring with '
                      'their *_unstaged rewards (the flat ones).')
  args = parser.parse_args()
  for name in ('initial_states', 'rollouts', 'episodes', 'workers'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  tasks = rewards.EVALUATION_TASKS
  chunks = max(1, args.workers)
  signal_seeds = np.array_split(
      args.seed * 100_000 + np.arange(args.initial_states), chunks)
  proxy_seeds = np.array_split(
      args.seed * 100_000 + 50_000 + np.arange(args.episodes), chunks)
  start = time.time()
  ctx = multiprocessing.get_context('spawn')
  with ctx.Pool(args.workers) as pool:
    signal = pool.map_async(_signal_job, [(s, args.rollouts, args.rewards)
                                          for s in signal_seeds if len(s)])
    proxy = pool.map_async(_proxy_job, [(s, args.episode_steps, args.rewards)
                                        for s in proxy_seeds if len(s)])
    scores = np.concatenate(signal.get())      # [initial, rollouts, tasks]
    returns = np.concatenate(proxy.get())      # [episodes, tasks]
  elapsed = time.time() - start

  spread = scores.max(1) - scores.min(1)       # [initial, tasks]
  tied = (spread <= args.tie_tolerance).mean(0)
  mean_returns = returns.mean(0)
  reach = mean_returns[tasks.index('reach_red')]
  ratios = mean_returns / reach if reach > 0 else np.full(len(tasks), np.nan)
  paper = np.array([PAPER_RANDOM_HL[t] / PAPER_RANDOM_HL['reach_red']
                    for t in tasks])
  others = np.array([t != 'reach_red' for t in tasks])
  # A task whose proxy return is 0 has an infinite log error: it is named
  # apart and the mean is over the others.
  zero = [t for j, t in enumerate(tasks) if others[j] and not ratios[j] > 0]
  scored = others & (ratios > 0)
  log_error = np.abs(np.log(ratios[scored]) - np.log(paper[scored]))
  print(f'Rewards: {args.rewards}. Reward signal: {args.initial_states} '
        f'initial states x {args.rollouts} rollouts of random 10-step '
        f'behaviour segments; '
        f'Eq. 3 over steps {HORIZON_STEPS}. Random-HL proxy: '
        f'{args.episodes} episodes of {args.episode_steps} steps, behaviour '
        f're-drawn every {SEGMENT} ({elapsed:.0f} s).')
  print('| task | tied initial states | median score spread | proxy return '
        '(+- std) | proxy / reach_red | paper Random-HL / reach_red |')
  print('|---|---|---|---|---|---|')
  for j, task in enumerate(tasks):
    print(f'| {task} | {100 * tied[j]:.0f} % | {np.median(spread[:, j]):.4f} '
          f'| {mean_returns[j]:.2f} +- {returns[:, j].std():.2f} '
          f'| {ratios[j]:.3f} | {paper[j]:.3f} |')
  mean_error = float(np.mean(log_error)) if log_error.size else None
  print(f'Mean absolute log ratio error over the {int(scored.sum())} tasks '
        f'besides reach_red with a return: '
        f'{"n/a" if mean_error is None else f"{mean_error:.3f}"}'
        + (f'; zero return (infinite error): {", ".join(zero)}' if zero
           else ''))
  print(json.dumps({
      'tied_fraction': {t: float(tied[j]) for j, t in enumerate(tasks)},
      'median_spread': {t: float(np.median(spread[:, j]))
                        for j, t in enumerate(tasks)},
      'proxy_return': {t: float(mean_returns[j]) for j, t in enumerate(tasks)},
      'proxy_ratio': {t: float(ratios[j]) for j, t in enumerate(tasks)},
      'paper_ratio': {t: float(paper[j]) for j, t in enumerate(tasks)},
      'mean_abs_log_ratio_error': mean_error,
      'zero_return_tasks': zero,
      'rewards': args.rewards,
      'initial_states': args.initial_states, 'rollouts': args.rollouts,
      'episodes': args.episodes, 'seconds': round(elapsed, 1)}))


if __name__ == '__main__':
  main()
