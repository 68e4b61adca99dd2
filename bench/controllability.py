"""Does the skill z steer the low-level policy? (issue [skills-that-steer])

For a phase-1 checkpoint and the dataset it was trained on:
1. At `--states` data states (first states of snippets, drawn with
   `--seed`): the spread over `--skills` prior draws of z of each decoded
   action dimension (median over states, the action's units), and the share
   of states where the gripper command changes sign with z; the same share
   at up to `--states` more data states drawn among those where the pinch
   is within 2 cm of an object (goal: >= 50 % there), also split by
   whether an object is held there.
2. Random-HL in the simulator, each skill held K steps, `--episodes`
   episodes of `--steps` steps: the median pinch motion per K steps and the
   share of K-step segments that command a close, beside the data's own
   K-step snippets (goal: motion within 2x of the data's).
Prints a table, writes a PNG with `--plot`, and ends with one JSON line.

  python bench/controllability.py --checkpoint=runs/phase1_k10 \
      --dataset=data/phase1_k10
"""

import argparse
import json
import time

import numpy as np


def _random_hl_motion(checkpoint: str, episodes: int, steps: int, seed: int):
  """Pinch motion per K steps and close share of Random-HL (K steps held)."""
  import jax  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environment_loop  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import planning  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  from jumpy_acme.utils import loggers  # pylint: disable=g-import-not-at-top
  del jax
  model = skill_vae.load(checkpoint)
  k = model.K
  actor = planning.random_hl_actor(model, actions_per_latent=k, seed=seed)

  record = environment_loop.EpisodeRecorder()
  env = environments.make('reach_red', seed=seed, episode_length=steps)
  loop = environment_loop.EnvironmentLoop(
      env, actor, logger=loggers.NoOpLogger(), should_update=False,
      observers=[record])
  for episode in range(episodes):
    actor.reseed(seed * 1000 + episode)
    loop.run_episode()
  pinch = layout.LAYOUT['pinch_pose_pos']
  moved, closes = [], []
  for episode in record.episodes:
    states = np.asarray(episode['states'])
    actions = np.asarray(episode['actions'])
    for t in range(0, len(actions) - k + 1, k):
      moved.append(np.linalg.norm(states[t + k, pinch] - states[t, pinch]))
      closes.append(bool((actions[t:t + k, -1] > 0).any()))
  return {'pinch_motion_median': float(np.median(moved)),
          'pinch_motion_mean': float(np.mean(moved)),
          'closes_share': float(np.mean(closes)), 'segments': len(moved)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--checkpoint', required=True)
  parser.add_argument('--dataset', required=True)
  parser.add_argument('--states', type=int, default=200)
  parser.add_argument('--skills', type=int, default=256)
  parser.add_argument('--episodes', type=int, default=4)
  parser.add_argument('--steps', type=int, default=200)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--heldout_fraction', type=float, default=0.0,
                      help='If > 0, draw states only from the episodes '
                      'train_phase1 held out with this --heldout_fraction '
                      'and --seed (0: the whole dataset).')
  parser.add_argument('--plot', default=None, help='PNG path.')
  args = parser.parse_args()
  for name in ('states', 'skills', 'episodes', 'steps'):
    if getattr(args, name) < 1:
      parser.error(f'--{name}: expected >= 1, got {getattr(args, name)}.')
  if not 0.0 <= args.heldout_fraction < 1.0:
    parser.error('--heldout_fraction: expected in [0, 1), got '
                 f'{args.heldout_fraction}.')
  from jumpy_acme import dataset_files  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.experiments import phase1_diagnostics as diag  # pylint: disable=g-import-not-at-top
  start = time.time()
  model = skill_vae.load(args.checkpoint)
  dataset = dataset_files.load(args.dataset)
  if model.K > dataset.K:
    parser.error(f'--dataset: its K={dataset.K} is smaller than the '
                 f"model's K={model.K}.")
  data = dataset.with_K(model.K) if model.K < dataset.K else dataset
  if args.heldout_fraction > 0:
    heldout = diag.heldout_episodes(dataset.extras['episode'][:, 0],
                                    args.heldout_fraction, args.seed)
    data = data.select(np.flatnonzero(np.isin(
        data.extras['episode'][:, 0], heldout)))
  rng = np.random.default_rng(args.seed)
  rows = rng.choice(len(data), size=min(args.states, len(data)),
                    replace=False)
  # The near-object share from its own draw of states with the pinch
  # within 2 cm of an object (a few % of the data), so that it rests on
  # --states of them rather than on the few a uniform draw holds.
  near_rows = np.flatnonzero(diag.near_an_object(data.observations[:, 0]))
  near_rows = rng.choice(near_rows, size=min(args.states, len(near_rows)),
                         replace=False)
  states = data.observations[np.concatenate([rows, near_rows]), 0]
  control = diag.controllability(model, states, args.skills, args.seed)
  uniform = diag.controllability(model, data.observations[rows, 0],
                                 args.skills, args.seed)
  # The data's own first action at the same near-object states.
  drawn = np.concatenate([rows, near_rows])
  drawn = drawn[diag.near_an_object(data.observations[drawn, 0])]
  control['data_close_share_near_an_object'] = float(
      np.mean(data.actions[drawn, 0, -1] > 0)) if len(drawn) else None
  control['grip_changes_with_z'] = uniform['grip_changes_with_z']
  control['action_spread'] = uniform['action_spread']
  control['states'] = uniform['states']
  held_rows = np.flatnonzero(diag.holding_an_object(data.observations[:, 0]))
  held_rows = rng.choice(held_rows, size=min(args.states, len(held_rows)),
                         replace=False)
  held = diag.held_openings(model, data.observations[held_rows, 0],
                            args.skills, args.seed)
  data_motion = diag.data_motion(data.observations, data.actions)
  random_hl = _random_hl_motion(args.checkpoint, args.episodes, args.steps,
                                args.seed)
  ratio = (random_hl['pinch_motion_median'] /
           max(data_motion['pinch_motion_median'], 1e-9))
  elapsed = time.time() - start
  k = model.K
  print(f'Controllability of {args.checkpoint} (K={k}; {elapsed:.0f} s)')
  print('| decoded action over prior z | ' + ' | '.join(
      control['action_spread']) + ' |')
  print('|---|' + '---|' * len(control['action_spread']))
  print('| median std over z | ' + ' | '.join(
      f'{v:.4g}' for v in control['action_spread'].values()) + ' |')
  def pct(value):
    return 'n/a' if value is None else f'{100 * value:.0f} %'

  changes = 100 * control['grip_changes_with_z']
  print(f'gripper command changes with z at {changes:.0f} % '
        f'of {control["states"]} states; near an object (2 cm): '
        f'{pct(control["grip_changes_with_z_near_an_object"])} of '
        f'{control["states_near_an_object"]}')
  held_near = control['states_near_and_holding']
  print(f'  of those, holding an object: '
        f'{pct(control["grip_changes_with_z_near_and_holding"])} of '
        f'{held_near}; not holding: '
        f'{pct(control["grip_changes_with_z_near_not_holding"])} of '
        f'{control["states_near_an_object"] - held_near}')
  close = control['close_share_near_an_object']
  if close is not None:
    print(f'near an object, {100 * close:.0f} % of prior z command a close '
          f'(the data\'s own action, at the same states: '
          f'{100 * control["data_close_share_near_an_object"]:.0f} %)')
  if held['open_share'] is not None:
    print(f'holding an object ({held["held_states"]} states): '
          f'{pct(held["open_share"])} of prior z open the gripper; the '
          'jumpy model keeps the grasp after '
          f'{pct(held["kept_when_opening"])} of those (after '
          f'{pct(held["kept_when_closing"])} of the closing ones)')
  print(f'| per {k} steps | data | Random-HL (skill held {k} steps) |')
  print('|---|---|---|')
  print(f'| median pinch motion (mm) | '
        f'{1000 * data_motion["pinch_motion_median"]:.1f} | '
        f'{1000 * random_hl["pinch_motion_median"]:.1f} |')
  print(f'| mean pinch motion (mm) | '
        f'{1000 * data_motion["pinch_motion_mean"]:.1f} | '
        f'{1000 * random_hl["pinch_motion_mean"]:.1f} |')
  print(f'| share commanding a close | '
        f'{100 * data_motion["closes_share"]:.0f} % | '
        f'{100 * random_hl["closes_share"]:.0f} % |')
  mean_ratio = (random_hl['pinch_motion_mean'] /
                max(data_motion['pinch_motion_mean'], 1e-9))
  print(f'Random-HL motion / data motion: median {ratio:.2f}, mean '
        f'{mean_ratio:.2f} (goal: within 2x, 0.5 to 2; the data is bimodal, '
        'so the mean is the fairer of the two)')
  if args.plot:
    from jumpy_acme.utils import plotting  # pylint: disable=g-import-not-at-top
    plt = plotting.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    names = list(control['action_spread'])
    scale = np.array([0.07, 0.07, 0.07, 1.0, 255.0])[:len(names)]
    left.bar(names, np.array(list(control['action_spread'].values())) /
             scale)
    left.set_ylabel('std over z / action bound')
    left.set_title('decoded actions at data states')
    right.bar(['data', 'Random-HL'],
              [1000 * data_motion['pinch_motion_median'],
               1000 * random_hl['pinch_motion_median']])
    right.set_ylabel(f'median pinch motion per {k} steps (mm)')
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    plt.close(fig)
  print(json.dumps({'controllability': control, 'held_openings': held,
                    'data': data_motion,
                    'random_hl': random_hl,
                    'motion_ratio_random_hl_to_data': ratio,
                    'mean_motion_ratio_random_hl_to_data': mean_ratio,
                    'checkpoint': args.checkpoint,
                    'seconds': round(elapsed, 1)}))


if __name__ == '__main__':
  main()
