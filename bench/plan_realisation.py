"""Does the decoder do what the jumpy model predicted for the chosen skill?

Zero-shot planning scores a skill z by the jumpy model's prediction
s_t+K = p(s_t+K | s_t, z) and then lets the action decoder p(a | s, z) act
with z for K steps. This bench runs planning episodes (each skill held K
steps) and, at every decision t, compares the model's prediction for the
executed z with the state the decoder actually reached at t + K:

  realised   |predicted - actual| at t + K for the z the planner chose,
  posterior  the same model's error on the same real snippet s_t..s_t+K
             when z is the encoder's posterior mean of that snippet (the
             model's best case on exactly these transitions: the reference
             measured in the same run; ratio = realised / posterior),
  motion     |actual s_t+K - s_t| (the scale the errors are read against),
  z gap      |z_chosen - z_posterior| / sqrt(Z): how far the executed skill
             is, in prior standard deviations, from the skill the encoder
             reads off what the decoder did with it; z cosine: the cosine
             between the two (about 0 +- 0.18 for unrelated 32-D vectors),
  optimism   the chosen plan's score (Eq. 3, rewards at t, t+K, .., t+HK)
             minus the rewards the episode's states at those steps have.

Positions are the pinch and the task's object (red, or green for the
*_green reach and lift tasks), in mm. `--agent=random` holds prior draws of
z instead of planned ones (Random-HL), the same measures without the
planner's selection. Prints a table per task and ends with one JSON line.

  python bench/plan_realisation.py --checkpoint=pretrained/k10 \
      --tasks=lift_red,bring_red,lift_green --episodes=2
"""

import argparse
import json
import time

import numpy as np


def _episode(model, plan, act, task: str, seed: int, steps: int):
  """One episode, a skill chosen by `plan` every K steps and held.

  Returns (states [T+1] of [S], plans {t: (z [Z], the predicted s_t+K
  [S], the plan's score)}); measure() scores rewards from the states.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from jumpy_acme import core  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environment_loop  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.utils import loggers  # pylint: disable=g-import-not-at-top

  k = model.K

  class Actor(core.Actor):
    """Plans every K steps and keeps the plan and the states (NOT pure)."""

    def __init__(self):
      self.key, self.t, self.z = jax.random.PRNGKey(seed), 0, None
      self.states, self.plans = [], {}

    def observe_first(self, timestep):
      self.states.append(np.asarray(timestep.observation, np.float32))

    def select_action(self, observation):
      state = np.asarray(observation, np.float32)
      if self.t % k == 0:
        self.key, key = jax.random.split(self.key)
        result = plan(key, state)
        self.z = result[0]
        self.plans[self.t] = tuple(np.asarray(r) for r in result)
      return np.asarray(act(state, self.z), np.float32)

    def observe(self, action, next_timestep):
      self.t += 1
      self.states.append(np.asarray(next_timestep.observation, np.float32))

    def update(self, wait=False):
      del wait

  env = environments.make(task, seed=seed, episode_length=steps)
  actor = Actor()
  environment_loop.EnvironmentLoop(
      env, actor, logger=loggers.NoOpLogger(),
      should_update=False).run_episode()
  return actor.states, actor.plans


def measure(checkpoint: str, task: str, agent: str, episodes: int,
            steps: int, iterations: int):
  """Per-decision measures over `episodes` episodes of one task."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import config as config_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import models  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards as rewards_lib  # pylint: disable=g-import-not-at-top

  model = skill_vae.load(checkpoint)
  k, z_size = model.K, model.latent_size
  config = config_lib.PlannerConfig(iterations=iterations)
  planner = models.make_skill_planner(model, rewards_lib.jax_reward(task),
                                      config)

  @jax.jit
  def plan(key, state):
    if agent == 'random':
      z = jax.random.normal(key, (z_size,))
      return z, model.predict_next_state(state, z), jnp.zeros(())
    result = planner(key, state)
    best = jnp.argmax(result.scores)
    return result.z, result.trajectories[best, 1], result.score

  act = jax.jit(model.decode_action)

  @jax.jit
  def posterior(snippet):
    mean, _ = model.encode(snippet)
    return mean, model.predict_next_state(snippet[0], mean)

  task_object = rewards_lib.task_object(task)
  parts = {'pinch': layout.LAYOUT['pinch_pose_pos'],
           'object': layout.LAYOUT[f'{task_object}_pose_pos']}
  numpy_reward = rewards_lib.numpy_reward(task)
  reward = lambda s: float(numpy_reward(np.asarray(s, np.float64)))
  rows = []
  for seed in range(episodes):
    states, plans = _episode(model, plan, act, task, seed, steps)
    states = np.stack(states)
    for t, (z, predicted, score) in sorted(plans.items()):
      if t + k >= len(states):
        continue
      z_post, from_posterior = (np.asarray(v) for v in
                                posterior(jnp.asarray(states[t:t + k + 1])))
      row = {'z_gap': float(np.linalg.norm(z - z_post) / np.sqrt(z_size)),
             'z_cosine': float(np.dot(z, z_post) / max(
                 np.linalg.norm(z) * np.linalg.norm(z_post), 1e-9))}
      for name, index in parts.items():
        actual = states[t + k, index]
        row[f'{name}_realised'] = 1e3 * float(
            np.linalg.norm(predicted[index] - actual))
        row[f'{name}_posterior'] = 1e3 * float(
            np.linalg.norm(from_posterior[index] - actual))
        row[f'{name}_motion'] = 1e3 * float(
            np.linalg.norm(actual - states[t, index]))
      horizon = config.horizon
      if agent == 'planning' and t + horizon * k < len(states):
        reached = sum(reward(states[t + h * k]) for h in range(horizon + 1))
        row['optimism'] = float(score) - reached
      rows.append(row)
  return rows


def summarise(rows):
  keys = sorted({key for row in rows for key in row})
  return {key: float(np.mean([row[key] for row in rows if key in row]))
          for key in keys}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--checkpoint', default='pretrained/k10')
  parser.add_argument('--tasks', default='lift_red,bring_red,lift_green')
  parser.add_argument('--agent', default='planning',
                      choices=('planning', 'random'))
  parser.add_argument('--episodes', type=int, default=2)
  parser.add_argument('--steps', type=int, default=400)
  parser.add_argument('--iterations', type=int, default=3,
                      help='CEM iterations (1: random shooting).')
  args = parser.parse_args()
  if args.episodes < 1 or args.steps < 1:
    parser.error(f'--episodes and --steps: expected >= 1, got '
                 f'{args.episodes} and {args.steps}.')
  start = time.time()
  results = {}
  print(f'{args.agent}, {args.checkpoint}, {args.episodes} episodes of '
        f'{args.steps} steps per task, CEM iterations {args.iterations}')
  print('| task | decisions | pinch: realised / posterior (ratio) / motion, '
        'mm | object: realised / posterior (ratio) / motion, mm | z gap | '
        'z cosine | optimism |')
  print('|---|---|---|---|---|---|---|')
  for task in args.tasks.split(','):
    rows = measure(args.checkpoint, task, args.agent, args.episodes,
                   args.steps, args.iterations)
    s = summarise(rows)
    for name in ('pinch', 'object'):
      s[f'{name}_ratio'] = s[f'{name}_realised'] / max(
          s[f'{name}_posterior'], 1e-9)
    s['decisions'] = len(rows)
    results[task] = s
    cells = [f'{s[f"{n}_realised"]:.1f} / {s[f"{n}_posterior"]:.1f} '
             f'({s[f"{n}_ratio"]:.1f}x) / {s[f"{n}_motion"]:.1f}'
             for n in ('pinch', 'object')]
    optimism = f'{s["optimism"]:.3f}' if 'optimism' in s else '-'
    print(f'| {task} | {len(rows)} | {cells[0]} | {cells[1]} | '
          f'{s["z_gap"]:.2f} | {s["z_cosine"]:.2f} | {optimism} |',
          flush=True)
  print(json.dumps({'bench': 'plan_realisation', 'agent': args.agent,
                    'checkpoint': args.checkpoint,
                    'episodes': args.episodes, 'steps': args.steps,
                    'iterations': args.iterations,
                    'seconds': round(time.time() - start, 1),
                    'tasks': results}))


if __name__ == '__main__':
  main()
