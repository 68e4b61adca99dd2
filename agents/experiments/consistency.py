"""Model-policy consistency: the jumpy model learns what its own low-level
policy does (paper, Discussion: "cycle consistency of the model and the
policy").

Phase 1 fits the jumpy decoder p(s_t+K | s_t, z) to the base behaviours'
snippets, with z the posterior of the snippet. The planner then executes a
skill with the action decoder p(a | s, z) instead, and what that policy
does differs from what the model predicts: for the skills the planner
chose, the predicted pinch at t + 10 misses by 1.4-2.1x the model's error
on data (bench/plan_realisation.py). This program measures the outcome of
the decoder's own skills and trains the jumpy decoder on them.

Collection (task-agnostic: no reward is read). Each episode starts from a
seeded random initial state, away from the evaluation's seeds. The base
behaviour schedule of phase-1 collection (agents/scripted) drives the arm
to varied states (reaching, grasping, carrying); every `segment` steps,
with probability `skill_share`, the action decoder takes over for the
segment instead, with a new prior skill z ~ N(0, I) every K steps. Each
skill step gives a transition (s_t, z, s_t+K). The scripted behaviours
keep running in the background so their schedule is the same either way.

Finetuning: the state term of the phase-1 loss (Eq. 2) on those
transitions, on the jumpy decoder's parameters only
(agents/harnessing/finetune.py, the update of RL-HL + Planning +
Finetune), validated on held-out episodes; the best validation step is
kept. Optionally (`anchor`) half of every batch is phase-1 snippets with
their posterior skills, so that the decoder keeps its phase-1 fit: on the
consistency transitions alone it does not (docs/results.md, session 14).
"""

import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

EPISODE_SEED_OFFSET = 10_000_000  # Away from evaluation's seed * 100_000 + e.
_ARRAYS = ('observation', 'z', 'next_observation')


def episode_path(directory: str, episode: int) -> str:
  return os.path.join(directory, f'episode_{episode:05d}.npz')


def _as_arrays(model, out: Dict[str, list]) -> Dict[str, np.ndarray]:
  """Collected lists of (s_t, z, s_t+K) as float32 arrays [T, S], [T, Z],
  [T, S] (T may be 0)."""
  size = model.config.state_size
  return {
      'observation': np.asarray(out['observation'], np.float32).reshape(
          -1, size),
      'z': np.asarray(out['z'], np.float32).reshape(-1, model.latent_size),
      'next_observation': np.asarray(out['next_observation'],
                                     np.float32).reshape(-1, size)}


def collect_episode(model, env, behaviour_actor, rng: np.random.Generator,
                    decode, segment: int = 10, skill_share: float = 0.6,
                    max_steps: int = 400) -> Dict[str, np.ndarray]:
  """One episode of mixed control (NOT jittable: steps the simulator).

  Args:
    model: the phase-1 SkillModel (its K and latent size).
    env: a reset-able RGB-stacking environment.
    behaviour_actor: a scripted BehaviourScheduleActor (already reseeded).
    rng: draws the control of each segment and the skills.
    decode: jitted decode_action(state [S], z [Z]) -> action [A].
    segment: steps between control switches (a multiple of K).
    skill_share: probability that a segment is the decoder's.
    max_steps: episode length.

  Returns:
    observation [T, S], z [T, Z], next_observation [T, S]: s_t, the skill
    held from t to t + K, and s_t+K, for the T skill steps of the episode.
  """
  K = model.K  # noqa: N806
  if segment % K:
    raise ValueError(f'segment: expected a multiple of K = {K}, got '
                     f'{segment}.')
  timestep = env.reset()
  behaviour_actor.observe_first(timestep)
  out = {name: [] for name in _ARRAYS}
  obs = np.asarray(timestep.observation, np.float32)
  for start in range(0, max_steps, segment):
    skills = rng.random() < skill_share
    for i in range(min(segment, max_steps - start)):
      scripted_action = behaviour_actor.select_action(obs)
      if skills and i % K == 0:
        z = rng.standard_normal(model.latent_size).astype(np.float32)
        first = obs
      action = (np.asarray(decode(obs, z), np.float32) if skills
                else scripted_action)
      timestep = env.step(action)
      behaviour_actor.observe(action, timestep)
      obs = np.asarray(timestep.observation, np.float32)
      if skills and (i + 1) % K == 0:
        out['observation'].append(first)
        out['z'].append(z)
        out['next_observation'].append(obs)
      if timestep.last():
        break
    if timestep.last():
      break
  return _as_arrays(model, out)


def _near_an_object(state: np.ndarray, radius: float) -> bool:
  """Whether the pinch is within `radius` m of an object's centre."""
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  L = layout.LAYOUT  # noqa: N806
  pinch = state[L['pinch_pose_pos']]
  return any(np.linalg.norm(state[L[f'{c}_pose_pos']] - pinch) < radius
             for c in layout.COLOURS)


def before_grasp(state: np.ndarray, radius: float) -> bool:
  """Whether the pinch is within `radius` m of an object's centre with no
  inward grasp: a moment where a skill decides whether to grasp."""
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  return (not rewards.is_inward_grasp(state) and
          _near_an_object(state, radius))


def holding(state: np.ndarray, radius: float) -> bool:
  """Whether an inward grasp holds an object within `radius` m of the
  pinch: a moment where a skill decides whether to keep the object."""
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  return (bool(rewards.is_inward_grasp(state)) and
          _near_an_object(state, radius))


# Where collect_branching_episode branches: moments -> predicate ('both',
# before_grasp or holding, is the pinch near an object whatever it holds).
BRANCH_MOMENTS = {
    'grasp': before_grasp,
    'hold': holding,
    'both': _near_an_object,
}


def collect_branching_episode(model, env, behaviour_actor,
                              rng: np.random.Generator, decode,
                              branches: int = 4, every: int = 5,
                              radius: float = 0.03, max_steps: int = 400,
                              moments: str = 'grasp'
                              ) -> Dict[str, np.ndarray]:
  """One episode of the base behaviours with skill branches at the moments
  that decide a grasp or a release (NOT jittable: steps the simulator).

  The scripted schedule drives the whole episode. At every `every`-th step
  that is one of the `moments` (BRANCH_MOMENTS: 'grasp', the pinch within
  `radius` of an object it does not hold, before_grasp; 'hold', an object
  held within `radius` of the pinch, holding; 'both'), the simulator is
  saved and,
  for each of `branches` prior skills z ~ N(0, I), the action decoder acts
  K steps from the saved state; each branch gives a transition (s_t, z,
  s_t+K), and the simulator is then put back, so the schedule goes on as if
  nothing happened. Several skills from one state show the jumpy decoder
  what z changes there (whether the fingers close on the object), which
  mixed control (collect_episode) rarely samples: the planner's grasp
  decisions are made at such states (docs/results.md, session 28). At
  'hold' moments they show what opening does to a held object, which the
  base behaviours almost never do (31 of 31,243 reference snippets that
  start holding start with an open command; session 29).

  Returns:
    observation [T, S], z [T, Z], next_observation [T, S].
  """
  from dm_control.rl import control  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import environment as env_lib  # pylint: disable=g-import-not-at-top
  K = model.K  # noqa: N806
  if branches < 1 or every < 1 or not radius > 0:
    raise ValueError('branches, every, radius: expected >= 1, >= 1, > 0; '
                     f'got {branches}, {every}, {radius}.')
  if moments not in BRANCH_MOMENTS:
    raise ValueError(f'moments: expected one of {sorted(BRANCH_MOMENTS)}, '
                     f'got {moments!r}.')
  at_moment = BRANCH_MOMENTS[moments]
  scene = env.scene
  timestep = env.reset()
  behaviour_actor.observe_first(timestep)
  out = {name: [] for name in _ARRAYS}
  obs = np.asarray(timestep.observation, np.float32)
  near_steps = 0
  for _ in range(max_steps):
    if at_moment(obs, radius):
      near_steps += 1
      if (near_steps - 1) % every == 0:
        saved = scene.get_state()
        for _ in range(branches):
          z = rng.standard_normal(model.latent_size).astype(np.float32)
          state = obs
          try:
            for _ in range(K):
              scene.step(np.asarray(decode(state, z), np.float32))
              state = env_lib.state_vector(scene.observe())
          except control.PhysicsError:  # A diverging branch is dropped.
            state = None
          finally:
            scene.set_state(saved)
          if state is not None and np.all(np.isfinite(state)):
            out['observation'].append(obs)
            out['z'].append(z)
            out['next_observation'].append(state)
    action = behaviour_actor.select_action(obs)
    timestep = env.step(action)
    behaviour_actor.observe(action, timestep)
    obs = np.asarray(timestep.observation, np.float32)
    if timestep.last():
      break
  return _as_arrays(model, out)


_WORKER: Dict[Any, Any] = {}  # Per process: the model, decoder, simulators.


def collect_worker(job) -> int:
  """Runs the job's episodes not yet on disk (a process body).

  job: (checkpoint, directory, episodes, seed, segment, skill_share,
  max_steps[, branches[, moments]]): with branches > 0,
  collect_branching_episode (branches skills at every `segment`-th step at
  the `moments`, default 'grasp') instead of
  mixed control. Episode e's objects, initial state, schedule and skills are
  drawn from seed + EPISODE_SEED_OFFSET + e alone, whichever process runs
  it and whatever it ran before; a process keeps one simulator per object
  triplet it has met. Returns the number of episodes written.
  """
  (checkpoint, directory, episodes, seed, segment, skill_share,
   max_steps) = job[:7]
  branches = job[7] if len(job) > 7 else 0
  moments = job[8] if len(job) > 8 else 'grasp'
  import jax  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.scripted import acting  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import scene as scene_lib  # pylint: disable=g-import-not-at-top
  if checkpoint not in _WORKER:
    model = model_lib.load(checkpoint)
    _WORKER[checkpoint] = (model, jax.jit(model.decode_action),
                           acting.BehaviourScheduleActor())
  model, decode, behaviour_actor = _WORKER[checkpoint]
  written = 0
  for episode in episodes:
    path = episode_path(directory, episode)
    if os.path.exists(path):
      continue
    episode_seed = seed + EPISODE_SEED_OFFSET + episode
    # The triplet as environments.make(seed=episode_seed) draws it.
    objects = scene_lib.resolve_triplet(
        'rgb_test_random', np.random.default_rng(episode_seed))
    if (objects, max_steps) not in _WORKER:
      _WORKER[objects, max_steps] = environments.make(
          'reach_red', triplet=objects, episode_length=max_steps)
    env = _WORKER[objects, max_steps]
    draws = np.random.default_rng(episode_seed)
    env.reseed(int(draws.integers(2**31)))
    behaviour_actor.reseed(int(draws.integers(2**31)))
    if branches:
      arrays = collect_branching_episode(model, env, behaviour_actor, draws,
                                         decode, branches, segment,
                                         max_steps=max_steps,
                                         moments=moments)
    else:
      arrays = collect_episode(model, env, behaviour_actor, draws, decode,
                               segment, skill_share, max_steps)
    np.savez(path + '.tmp.npz', **arrays)
    os.replace(path + '.tmp.npz', path)  # Whole episodes only.
    written += 1
  return written


def load_episodes(directory: str, episodes: Sequence[int]
                  ) -> Dict[str, np.ndarray]:
  """The transitions of the given episodes, concatenated."""
  parts = {name: [] for name in _ARRAYS}
  for e in episodes:
    with np.load(episode_path(directory, e)) as saved:
      for name in _ARRAYS:
        parts[name].append(saved[name])
  return {name: np.concatenate(parts[name]) for name in _ARRAYS}


def make_error_fn(model, dim_weights: Optional[np.ndarray] = None):
  """Jitted errors(params, s [B, S], z [B, Z], s_next [B, S]) ->
  (normalised squared error [B], predicted s_t+K [B, S]) of the jumpy
  decoder with `params` (the model's networks and statistics): compiled
  once, reused as finetuning changes the parameters. dim_weights [S]
  (default all 1) weights each dimension's squared error."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  networks, norm = model.networks, model.normalization
  weights = (np.ones(model.config.state_size, np.float32)
             if dim_weights is None else np.asarray(dim_weights, np.float32))

  def one(params, s, z, s_next):  # As losses.predict_next_state, Eq. 2.
    delta = networks.decode_jumpy(params, norm.standardise(s), z)
    error = jnp.sum(weights * (delta - norm.normalise_delta(s_next - s)) ** 2)
    return error, s + norm.denormalise_delta(delta)
  return jax.jit(jax.vmap(one, (None, 0, 0, 0)))


def jumpy_errors(model, transitions: Dict[str, np.ndarray],
                 batch: int = 4096, error_fn=None) -> Dict[str, float]:
  """The jumpy decoder's errors on transitions: the Eq. 2 state term
  (normalised squared error, summed over dimensions), the pinch
  position's error in mm (s_t+K predicted against realised), and of the
  transitions where an inward grasp starts (none at s_t, one at s_t+K)
  the share predicted ('grasp_onsets_predicted', NaN if none starts).
  `error_fn`: make_error_fn(model) (built here if None)."""
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  error_fn = error_fn or make_error_fn(model)
  pinch = layout.LAYOUT['pinch_pose_pos']
  sq, mm, onset, hit = [], [], [], []
  n = len(transitions['z'])
  for i in range(0, n, batch):
    s = transitions['observation'][i:i + batch]
    z = transitions['z'][i:i + batch]
    s_next = transitions['next_observation'][i:i + batch]
    error, predicted = error_fn(model.params, s, z, s_next)
    sq.append(np.asarray(error))
    mm.append(1000 * np.linalg.norm(
        np.asarray(predicted)[:, pinch] - s_next[:, pinch], axis=-1))
    onset.append(~rewards.is_inward_grasp(s.T) &
                 rewards.is_inward_grasp(s_next.T))
    hit.append(rewards.is_inward_grasp(np.asarray(predicted).T))
  sq, mm = np.concatenate(sq), np.concatenate(mm)
  onset, hit = np.concatenate(onset), np.concatenate(hit)
  return {'state_error': float(sq.mean()), 'pinch_mm': float(mm.mean()),
          'pinch_mm_median': float(np.median(mm)),
          'grasp_onsets_predicted': (float(hit[onset].mean()) if onset.any()
                                     else float('nan')),
          'transitions': int(n)}


def posterior_transitions(model, observations: np.ndarray,
                          batch: int = 2048) -> Dict[str, np.ndarray]:
  """Phase-1 snippets as transitions: (s_t, the encoder's posterior mean
  of the snippet, s_t+K), what phase 1 fitted the jumpy decoder to.

  observations: [N, K+1, S] snippet states.
  """
  import jax  # pylint: disable=g-import-not-at-top
  encode = jax.jit(jax.vmap(lambda states: model.encode(states)[0]))
  z = np.concatenate([np.asarray(encode(observations[i:i + batch]))
                      for i in range(0, len(observations), batch)])
  return {'observation': observations[:, 0], 'z': z.astype(np.float32),
          'next_observation': observations[:, -1]}


def finetune(model, train: Dict[str, np.ndarray],
             valid: Dict[str, np.ndarray], steps: int, batch_size: int,
             learning_rate: float, seed: int = 0, eval_every: int = 250,
             log=print, anchor: Optional[Dict[str, np.ndarray]] = None,
             anchor_valid: Optional[Dict[str, np.ndarray]] = None,
             anchor_share: float = 0.5,
             dim_weights: Optional[np.ndarray] = None):
  """Trains the jumpy decoder on `train`; returns (the model at the best
  validation error, the history of validation errors).

  dim_weights [S] (default all 1) weights each state dimension's squared
  error, in the loss and in the errors the best step is chosen by.

  With `anchor` (phase-1 transitions, posterior_transitions), a share
  `anchor_share` of every batch comes from them, so the decoder keeps what
  it learned in phase 1; the best step is then the one with the lowest
  mean of the two held-out errors (valid and anchor_valid), each history
  entry also giving the anchor's as 'anchor_*'.
  """
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import optax  # pylint: disable=g-import-not-at-top
  from jumpy_acme import types  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.harnessing import finetune as finetune_lib  # pylint: disable=g-import-not-at-top
  if (anchor is None) != (anchor_valid is None):
    raise ValueError('anchor_valid: expected held-out anchor transitions '
                     'exactly when anchor is given.')
  if anchor is not None and not 0 < anchor_share < 1:
    raise ValueError(f'anchor_share: expected a share in (0, 1), got '
                     f'{anchor_share}.')
  optimizer = optax.adam(learning_rate)
  if dim_weights is not None:
    dim_weights = np.asarray(dim_weights, np.float32)
    if (dim_weights.shape != (model.config.state_size,)
        or not np.all(dim_weights >= 0)):
      raise ValueError(
          f'dim_weights: expected {model.config.state_size} weights >= 0, '
          f'got shape {dim_weights.shape} with minimum '
          f'{dim_weights.min() if dim_weights.size else None}.')
  update = jax.jit(finetune_lib.make_finetune_update(
      model, optimizer, 1.0, model.config.beta_s,
      None if dim_weights is None else jnp.asarray(dim_weights)))
  state = finetune_lib.FinetuneState(
      model.params, optimizer.init(model.jumpy_decoder_params()),
      jnp.zeros((), jnp.int32))
  rng = np.random.default_rng(seed)
  from_anchor = (0 if anchor is None else
                 int(round(anchor_share * batch_size)))

  error_fn = make_error_fn(model, dim_weights)

  def errors_of(candidate):
    errors = jumpy_errors(candidate, valid, error_fn=error_fn)
    if anchor is not None:
      errors.update({f'anchor_{k}': v for k, v in jumpy_errors(
          candidate, anchor_valid, error_fn=error_fn).items()})
      errors['selection'] = 0.5 * (errors['state_error'] +
                                   errors['anchor_state_error'])
    else:
      errors['selection'] = errors['state_error']
    return errors

  def draw(source, size):
    index = rng.integers(len(source['z']), size=size)
    return {name: source[name][index] for name in _ARRAYS}

  best = errors_of(model)
  history: List[Dict[str, Any]] = [{'step': 0, **best}]
  best_params = model.params
  log(f'[consistency] step 0: valid {best}')
  for step in range(1, steps + 1):
    parts = [draw(train, batch_size - from_anchor)]
    if from_anchor:
      parts.append(draw(anchor, from_anchor))
    batch = {name: np.concatenate([p[name] for p in parts])
             for name in _ARRAYS}
    transitions = types.Transition(
        observation=jnp.asarray(batch['observation']),
        action=jnp.asarray(batch['z']), reward=(), discount=(),
        next_observation=jnp.asarray(batch['next_observation']))
    state, _ = update(state, transitions)
    if step % eval_every == 0 or step == steps:
      errors = errors_of(model.replace(params=state.params))
      history.append({'step': step, **errors})
      log(f'[consistency] step {step}: valid {errors}')
      if errors['selection'] < best['selection']:
        best, best_params = errors, state.params
  return model.replace(params=best_params), history


def summary(history: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
  """{'before': step 0's errors, 'best': the kept step's} of a history."""
  return {'before': history[0],
          'best': min(history, key=lambda h: h['selection'])}
