"""How good is the jumpy model over long spans? (phase-1 diagnostics)

On held-out real trajectories, chain the model's predictions over a span of
H steps (H / K jumps), each jump's z inferred by the encoder (its mean) from
the true snippet it stands for, and compare with the true state H steps
ahead: per-group RMSE in real units (arm, gripper, each object). A K = 1
model chained over the same spans (H jumps) is the non-jumpy reference.
Also the action decoder's RMSE on held-out actions.
"""

from typing import Any, Dict, List, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme.agents.skill_vae import model as model_lib
from jumpy_acme.environments.rgb_stacking import events
from jumpy_acme.environments.rgb_stacking import layout
from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.utils import plotting

GROUPS = ('arm', 'gripper', 'red', 'green', 'blue')
# Positions alone (metres): the most readable error.
POSITIONS = ('pinch_pose_pos', 'red_pose_pos', 'green_pose_pos',
             'blue_pose_pos')


def heldout_episodes(episode_ids: np.ndarray, fraction: float, seed: int
                     ) -> List[int]:
  """The episodes train_phase1 holds out: `fraction` of the distinct ids
  (at least one), drawn with `seed` (its --heldout_fraction, --seed)."""
  episodes = np.unique(np.asarray(episode_ids))
  rng = np.random.default_rng(seed)
  return sorted(int(e) for e in rng.choice(
      episodes, size=max(1, int(len(episodes) * fraction)), replace=False))


def trajectories(dataset, episodes: Sequence[int]
                 ) -> List[Dict[str, np.ndarray]]:
  """Rebuilds whole trajectories of stride-1 snippets, by episode id."""
  out = []
  episode_ids = dataset.extras['episode'][:, 0]
  for episode in episodes:
    rows = np.flatnonzero(episode_ids == episode)
    rows = rows[np.argsort(dataset.extras['step'][rows, 0])]
    starts = dataset.extras['step'][rows, 0]
    if len(rows) == 0 or not np.array_equal(starts, np.arange(len(rows))):
      continue  # Not a complete stride-1 episode.
    states = np.concatenate([dataset.observations[rows, 0],
                             dataset.observations[rows[-1], 1:]])
    actions = np.concatenate([dataset.actions[rows, 0],
                              dataset.actions[rows[-1], 1:]])
    out.append({'states': states, 'actions': actions})
  return out


def _group_rmse(errors: np.ndarray) -> Dict[str, float]:
  result = {'all': float(np.sqrt(np.mean(errors ** 2)))}
  for group in GROUPS:
    index = list(layout.LAYOUT.indices(group))
    result[group] = float(np.sqrt(np.mean(errors[:, index] ** 2)))
  for part in POSITIONS:  # Mean Euclidean position error, metres.
    result[part] = float(np.mean(np.linalg.norm(
        errors[:, layout.LAYOUT[part]], axis=-1)))
  return result


def rollout_errors(model: model_lib.SkillModel,
                   trajs: Sequence[Mapping[str, np.ndarray]],
                   spans: Sequence[int] = (10, 20, 30, 50),
                   starts_every: int = 5) -> Dict[int, Dict[str, float]]:
  """Per-group RMSE of chained predictions H steps ahead, for each span H.

  Spans must be multiples of the model's K.
  """
  k = model.K

  @jax.jit
  def chain(start_state, snippets):
    """snippets [J, K+1, S] true windows -> predicted state J*K ahead."""
    def jump(state, snippet):
      mean, _ = model.encode(snippet)
      return model.predict_next_state(state, mean), None
    final, _ = jax.lax.scan(jump, start_state, snippets)
    return final

  batched = jax.jit(jax.vmap(chain))
  results = {}
  for span in spans:
    if span % k:
      raise ValueError(f'spans: {span} is not a multiple of K={k}.')
    jumps = span // k
    starts, windows, targets = [], [], []
    for traj in trajs:
      states = traj['states']
      for t in range(0, len(states) - span, starts_every):
        starts.append(states[t])
        windows.append(np.stack([states[t + j * k:t + j * k + k + 1]
                                 for j in range(jumps)]))
        targets.append(states[t + span])
    predicted = np.asarray(batched(jnp.asarray(np.stack(starts)),
                                   jnp.asarray(np.stack(windows))))
    results[span] = _group_rmse(predicted - np.stack(targets))
    results[span]['count'] = len(starts)
  return results


def action_errors(model: model_lib.SkillModel,
                  trajs: Sequence[Mapping[str, np.ndarray]]
                  ) -> Dict[str, float]:
  """RMSE of decoded actions (z from the true snippet, not clipped), per
  action dim."""
  k = model.K

  @jax.jit
  def decode(snippets):
    def one(snippet):
      mean, _ = model.encode(snippet)
      return model.decode_action(snippet[:-1], mean, clip=False)
    return jax.vmap(one)(snippets)

  predicted, true = [], []
  for traj in trajs:
    states, actions = traj['states'], traj['actions']
    for t in range(0, len(actions) - k + 1, k):
      predicted.append(states[t:t + k + 1])
      true.append(actions[t:t + k])
  decoded = np.asarray(decode(jnp.asarray(np.stack(predicted))))
  errors = (decoded - np.stack(true)).reshape(-1, decoded.shape[-1])
  names = ('vx', 'vy', 'vz', 'wz', 'grip')[:errors.shape[-1]]
  return {name: float(np.sqrt(np.mean(errors[:, i] ** 2)))
          for i, name in enumerate(names)}


def table(jumpy: Mapping[int, Mapping[str, float]],
          baseline: Mapping[int, Mapping[str, float]] = None) -> str:
  """A Markdown table of rollout errors: RMSE per group in native units,
  then mean position errors in metres."""
  columns = ('all',) + GROUPS + POSITIONS
  header = '| span (steps) | model | ' + ' | '.join(columns) + ' | starts |'
  rows = [header, '|' + '---|' * (len(columns) + 3)]
  for span in sorted(jumpy):
    for name, results in (('jumpy', jumpy), ('K=1', baseline)):
      if results is None or span not in results:
        continue
      r = results[span]
      rows.append(f'| {span} | {name} | ' + ' | '.join(
          f'{r[g]:.4f}' for g in columns) + f' | {r["count"]} |')
  return '\n'.join(rows)


def plot(jumpy, baseline, path: str, title: str = ''):
  """Rollout error against span, per group (PNG)."""
  plt = plotting.pyplot()
  fig, axes = plt.subplots(1, len(GROUPS), figsize=(3 * len(GROUPS), 3))
  spans = sorted(jumpy)
  for ax, group in zip(axes, GROUPS):
    ax.plot(spans, [jumpy[s][group] for s in spans], 'o-', label='jumpy')
    if baseline:
      ax.plot(spans, [baseline[s][group] for s in spans], 's--', label='K=1')
    ax.set_title(group)
    ax.set_xlabel('span (steps)')
  axes[0].set_ylabel('RMSE (real units)')
  axes[0].legend()
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


# Controllability: does the skill z steer the low-level policy?

ACTION_NAMES = ('vx', 'vy', 'vz', 'wz', 'grip')
# m: the pinch "at" an object, as the dataset manifests count it.
NEAR_OBJECT = events.PINCH_AT_OBJECT


def near_an_object(states: np.ndarray) -> np.ndarray:
  """[n] bool: the pinch within NEAR_OBJECT of some object's centre."""
  pinch = states[:, layout.LAYOUT['pinch_pose_pos']]
  distances = [np.linalg.norm(states[:, layout.LAYOUT[f'{c}_pose_pos']] -
                              pinch, axis=-1) for c in layout.COLOURS]
  return np.min(np.stack(distances, axis=-1), axis=-1) <= NEAR_OBJECT


def controllability(model: model_lib.SkillModel, states: np.ndarray,
                    num_skills: int = 256, seed: int = 0
                    ) -> Dict[str, Any]:
  """How much the action decoder's output depends on z at given states.

  For each state, the decoded action (spec units, clipped) for num_skills
  prior draws z ~ N(0, I): the standard deviation over z per action
  dimension (median over states, in the action's units), and whether the
  gripper command changes sign with z (its share of states, overall and at
  states where the pinch is within 2 cm of an object), and at those
  near-object states the share of z that command a close. The near-object
  share is also split by whether an object is held (`holding_an_object`):
  a decoder that sees the fingers keeps a held object closed whatever z
  says, so the two halves read differently (docs/results.md, session 30).

  Args:
    model: the phase-1 model.
    states: [n, S] raw states (e.g. held-out data states).
    num_skills: prior draws per state.
    seed: of the draws.
  """
  states = np.asarray(states, np.float32)
  zs = jax.random.normal(jax.random.PRNGKey(seed),
                         (num_skills, model.latent_size))

  @jax.jit
  def decode(state):
    return jax.vmap(lambda z: model.decode_action(state, z))(zs)

  actions = np.stack([np.asarray(decode(jnp.asarray(s))) for s in states])
  spread = actions.std(axis=1)                          # [n, A].
  grip = actions[..., -1]
  grip_changes = (grip.max(axis=1) > 0) & (grip.min(axis=1) <= 0)
  near = near_an_object(states)
  holding = holding_an_object(states)

  def near_share(mask):
    return float(np.mean(grip_changes[mask])) if mask.any() else None

  names = ACTION_NAMES[:actions.shape[-1]]
  return {
      'states': int(len(states)),
      'skills_per_state': int(num_skills),
      'action_spread': {n: float(np.median(spread[:, i]))
                        for i, n in enumerate(names)},
      'grip_changes_with_z': float(np.mean(grip_changes)),
      'states_near_an_object': int(near.sum()),
      'grip_changes_with_z_near_an_object': near_share(near),
      'states_near_and_holding': int((near & holding).sum()),
      'grip_changes_with_z_near_and_holding': near_share(near & holding),
      'grip_changes_with_z_near_not_holding': near_share(near & ~holding),
      # The share of z that command a close (grip > 0), averaged over the
      # near-object states: whether the fingers close there at all.
      'close_share_near_an_object': (
          float(np.mean((grip[near] > 0).mean(axis=1))) if near.any()
          else None),
  }


def holding_an_object(states: np.ndarray) -> np.ndarray:
  """[n] bool: an inward grasp with the pinch near an object's centre."""
  return rewards.is_inward_grasp(states.T) & near_an_object(states)


def held_openings(model: model_lib.SkillModel, states: np.ndarray,
                  num_skills: int = 256, seed: int = 0) -> Dict[str, Any]:
  """What the jumpy model says opening does to a held object.

  At states holding an object (`holding_an_object`), for num_skills prior
  draws z ~ N(0, I): whether the decoded first action opens the gripper
  (grip <= 0), and whether the jumpy model's s_t+K (its mean) still has an
  inward grasp (the grasp sensor within 0.5 of INWARD_GRASP). A planner
  that trusts a model which keeps the object after opening sees no cost in
  skills that drop it (docs/results.md, sessions 27-30).

  Returns the number of held states, the share of draws that open
  (averaged over states), and the share predicted to keep the grasp among
  the opening draws and among the closing ones (pooled over states; None
  where there are none).
  """
  states = np.asarray(states, np.float32)
  held = states[holding_an_object(states)]
  result = {'held_states': int(len(held)), 'open_share': None,
            'kept_when_opening': None, 'kept_when_closing': None}
  if not len(held):
    return result
  zs = jax.random.normal(jax.random.PRNGKey(seed),
                         (num_skills, model.latent_size))

  @jax.jit
  def outcome(state):
    grip = jax.vmap(lambda z: model.decode_action(state, z))(zs)[:, -1]
    after = jax.vmap(lambda z: model.predict_next_state(state, z))(zs)
    return grip, rewards.is_inward_grasp(after.T, jnp)

  grips, kept = map(np.stack, zip(*[
      [np.asarray(x) for x in outcome(jnp.asarray(s))] for s in held]))
  opening = grips <= 0
  result['open_share'] = float(opening.mean())
  if opening.any():
    result['kept_when_opening'] = float(kept[opening].mean())
  if (~opening).any():
    result['kept_when_closing'] = float(kept[~opening].mean())
  return result


def data_motion(observations: np.ndarray, actions: np.ndarray
                ) -> Dict[str, float]:
  """What the data's K-step snippets do: the median and mean pinch
  displacement (m) from s_t to s_t+K and the share of snippets commanding
  a close. (Scripted data is bimodal: many snippets hold still at the
  workspace's edge, so the median is small and the mean says more.)"""
  pinch = layout.LAYOUT['pinch_pose_pos']
  moved = np.linalg.norm(observations[:, -1, pinch] -
                         observations[:, 0, pinch], axis=-1)
  return {'pinch_motion_median': float(np.median(moved)),
          'pinch_motion_mean': float(np.mean(moved)),
          'closes_share': float(np.mean((actions[..., -1] > 0).any(axis=1)))}
