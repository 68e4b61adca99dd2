"""Does the gripper command hold still while planning closes on an object?

Runs Zero-shot via Planning episodes exactly as `evaluate` does (same
planner settings, environment seed = agent seed = episode index) for each
model and each `actions_per_latent`, and records every state and action.
At the steps where the pinch is within 3 cm of the task's object and the
object has not been lifted (2 cm above its start), it measures:

  flips   the share of those steps whose grip command (action[4] > 0:
          close) differs from the previous step's: a planner that re-plans
          every step can hand the decoder a skill that opens half-closed
          fingers;
  closes  the share of those steps that command close;
and, at those steps, what the planner has to choose from: over --probe_skills
prior draws z ~ N(0, I) (the first CEM iteration's proposal),
  prior closes   the share whose decoded grip command is close,
  reward gap     the jumpy model's predicted task reward R(s_t+K) of the
                 closing draws minus that of the others (at steps where
                 both kinds occur),
  grasp gap      the same for the predicted inward grasp (|grasp - 2| <
                 0.5, the reward's test on predicted states);
and per episode whether the object was ever lifted 2 cm and for how many
steps. Prints one row per (model, actions_per_latent) and ends with one
JSON line. The per-episode returns equal `evaluate`'s for the same
setting run on the same kind of CPU (a check that the episodes are the
table's); across CPUs float rounding makes single episodes diverge.

  C=pretrained/candidates/hide_dynamics_gripper_free_bits_0.5
  python bench/gripper_decisions.py \
      --models=shipped=pretrained/k10,candidate=$C/k10 \
      --actions_per_latent=1,10 --task=lift_red --episodes=8
"""

import argparse
import json
import multiprocessing
import time

import numpy as np

NEAR = 0.03    # m: pinch to the object's centre.
LIFTED = 0.02  # m: object above its starting height.

_ACTORS = {}


def run_episode(job):
  """(name, checkpoint, apl, task, episode, iterations, steps,
  probe_skills) -> a row."""
  name, checkpoint, apl, task, episode, iterations, steps, probe_skills = job
  from jumpy_acme import environment_loop  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import acting  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import config as config_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import models  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  from jumpy_acme.utils import loggers  # pylint: disable=g-import-not-at-top
  if (checkpoint, apl, task) not in _ACTORS:
    model = _model(checkpoint)
    plan = models.make_skill_planner(
        model, rewards.jax_reward(task),
        config_lib.PlannerConfig(iterations=iterations))
    _ACTORS[checkpoint, apl, task] = acting.planning_actor(model, plan, apl)
  actor = _ACTORS[checkpoint, apl, task]
  actor.reseed(episode)
  recorder = environment_loop.EpisodeRecorder()
  env = environments.make(task, seed=episode, episode_length=steps)
  result = environment_loop.EnvironmentLoop(
      env, actor, logger=loggers.NoOpLogger(), should_update=False,
      observers=[recorder]).run_episode()
  env.close()
  states = np.asarray(recorder.episodes[-1]['states'])[:-1]   # s_t of a_t.
  actions = np.asarray(recorder.episodes[-1]['actions'])
  obj = rewards.task_object(task)
  pinch = states[:, layout.LAYOUT['pinch_pose_pos']]
  centre = states[:, layout.LAYOUT[f'{obj}_pose_pos']]
  up = centre[:, 2] > centre[0, 2] + LIFTED
  near = (np.linalg.norm(pinch - centre, axis=1) < NEAR) & ~up
  close = actions[:, 4] > 0
  flip = np.r_[False, close[1:] != close[:-1]]
  probe = _probe(checkpoint, task, states[near], probe_skills, episode)
  return {'model': name, 'apl': apl, 'episode': episode,
          'return': float(result['episode_return']),
          'near_steps': int(near.sum()), 'flips': int(flip[near].sum()),
          'closes': int(close[near].sum()), 'lifted': bool(up.any()),
          'lifted_steps': int(up.sum()),
          'first_lift': int(np.argmax(up)) if up.any() else None, **probe}


_MODELS = {}
_PROBES = {}


def _model(checkpoint):
  """One load per checkpoint and process, shared by actors and probes."""
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  if checkpoint not in _MODELS:
    _MODELS[checkpoint] = skill_vae.load(checkpoint)
  return _MODELS[checkpoint]


def _probe(checkpoint, task, states, skills, seed):
  """Prior draws at `states` [n, S]: sums over states of the share of
  draws that close, and over states with both kinds of draws of the
  reward and inward-grasp gaps (closing minus other draws)."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  if (checkpoint, task, skills) not in _PROBES:
    model = _model(checkpoint)
    reward = jax.vmap(rewards.jax_reward(task))
    inward_grasp = jax.vmap(lambda s: rewards.is_inward_grasp(s, jnp))

    @jax.jit
    def probe(state, key):
      z = jax.random.normal(key, (skills, model.latent_size))
      close = jax.vmap(lambda z: model.decode_action(state, z))(z)[:, 4] > 0
      after = jax.vmap(lambda z: model.predict_next_state(state, z))(z)
      return close, reward(after), inward_grasp(after)
    _PROBES[checkpoint, task, skills] = probe
  probe = _PROBES[checkpoint, task, skills]
  out = {'prior_closes': 0.0, 'gap_states': 0, 'reward_gap': 0.0,
         'grasp_gap': 0.0}
  for i, state in enumerate(states):
    close, reward, inward = map(np.asarray, probe(
        jnp.asarray(state, jnp.float32), jax.random.PRNGKey(seed * 1000 + i)))
    out['prior_closes'] += float(close.mean())
    if 0 < close.sum() < len(close):
      out['gap_states'] += 1
      out['reward_gap'] += float(reward[close].mean() - reward[~close].mean())
      out['grasp_gap'] += float(inward[close].mean() - inward[~close].mean())
  return out


def summarise(rows):
  near = sum(r['near_steps'] for r in rows)
  gap_states = sum(r['gap_states'] for r in rows)
  returns = np.array([r['return'] for r in rows])
  return {'episodes': len(rows),
          'lifted_episodes': sum(r['lifted'] for r in rows),
          'return_mean': float(returns.mean()),
          'return_se': float(returns.std(ddof=1) / np.sqrt(len(rows)))
                       if len(rows) > 1 else None,
          'near_steps': near,
          'flip_share': sum(r['flips'] for r in rows) / max(near, 1),
          'close_share': sum(r['closes'] for r in rows) / max(near, 1),
          'lifted_steps_mean': float(np.mean([r['lifted_steps']
                                              for r in rows])),
          'prior_close_share': sum(r['prior_closes'] for r in rows)
                               / max(near, 1),
          'gap_states': gap_states,
          'reward_gap': sum(r['reward_gap'] for r in rows)
                        / max(gap_states, 1),
          'grasp_gap': sum(r['grasp_gap'] for r in rows) / max(gap_states, 1)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--models', default='shipped=pretrained/k10',
                      help='Comma-separated name=checkpoint pairs.')
  parser.add_argument('--actions_per_latent', default='1,10')
  parser.add_argument('--task', default='lift_red')
  parser.add_argument('--episodes', type=int, default=8)
  parser.add_argument('--iterations', type=int, default=3,
                      help='CEM iterations (the Table 3 runs use 3).')
  parser.add_argument('--steps', type=int, default=400)
  parser.add_argument('--workers', type=int, default=2)
  parser.add_argument('--probe_skills', type=int, default=256,
                      help='Prior draws per near step for the probe.')
  args = parser.parse_args()
  models = []
  for pair in args.models.split(','):
    if '=' not in pair:
      parser.error(f'--models: expected name=checkpoint pairs, got {pair!r}.')
    models.append(tuple(pair.split('=', 1)))
  apls = [int(a) for a in args.actions_per_latent.split(',')]
  for name in ('episodes', 'iterations', 'steps', 'workers', 'probe_skills'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  if min(apls) < 1:
    parser.error(f'--actions_per_latent: expected >= 1 each, got {apls}.')
  jobs = [(name, checkpoint, apl, args.task, e, args.iterations, args.steps,
           args.probe_skills)
          for name, checkpoint in models for apl in apls
          for e in range(args.episodes)]
  start = time.time()
  rows = []
  with multiprocessing.get_context('spawn').Pool(args.workers) as pool:
    for n, row in enumerate(pool.imap_unordered(run_episode, jobs), 1):
      rows.append(row)
      print(f'[gripper_decisions] {n}/{len(jobs)} {row["model"]} apl '
            f'{row["apl"]} episode {row["episode"]}: return '
            f'{row["return"]:.1f}, lifted {row["lifted"]}, '
            f'{time.time() - start:.0f} s', flush=True)
  rows.sort(key=lambda r: (r['model'], r['apl'], r['episode']))
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  print(f'\n{args.task}, episodes 0-{args.episodes - 1}, CEM I = '
        f'{args.iterations}; near = pinch within {100 * NEAR:.0f} cm of '
        f'{rewards.task_object(args.task)}, not yet lifted')
  print('| model | apl | episodes lifted | return | near steps | grip flips '
        'per near step | near steps commanding close | lifted steps | '
        'prior draws closing | reward gap, closing - other draws (steps) | '
        'inward-grasp gap |')
  print('|---|---|---|---|---|---|---|---|---|---|---|')
  summary = {}
  for name, _ in models:
    for apl in apls:
      s = summarise([r for r in rows
                     if r['model'] == name and r['apl'] == apl])
      summary[f'{name}_apl{apl}'] = s
      se = '' if s['return_se'] is None else f' +- {s["return_se"]:.1f}'
      print(f'| {name} | {apl} | {s["lifted_episodes"]} / {s["episodes"]} '
            f'| {s["return_mean"]:.1f}{se} | {s["near_steps"]} | '
            f'{s["flip_share"]:.3f} | {s["close_share"]:.2f} | '
            f'{s["lifted_steps_mean"]:.0f} | {s["prior_close_share"]:.2f} | '
            f'{s["reward_gap"]:+.3f} ({s["gap_states"]}) | '
            f'{s["grasp_gap"]:+.2f} |')
  print(json.dumps({'bench': 'gripper_decisions', 'task': args.task,
                    'summary': summary, 'episodes': rows,
                    'seconds': round(time.time() - start, 1)}))


if __name__ == '__main__':
  main()
