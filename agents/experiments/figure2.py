"""The paper's Figure 2: one zero-shot planning episode, drawn.

Figure 2 of the paper shows one "Zero-shot via Planning" episode of
red_hover_green: (a) the planned score (Eq. 3, the best plan's score at
each step) against the reward obtained per step; (b) at a few steps, the N
sampled plans in 3-D pinch-position space (best plan orange, worst yellow,
the others grey) with the objects' positions and the actual pinch; (c) the
camera images at those steps.

  planner = load_planner(checkpoint_dir, task, planner_config)
  episode = run_episode(env, planner, key=jax.random.PRNGKey(0),
                        max_steps=400, snapshot_steps=(3, 44, 100, 151))
  paths = write_outputs(episode, 'results/figure2', config={...})

`run_episode` is the one impure piece (NOT jittable: it steps a simulator,
through the core EnvironmentLoop with a recording observer); the planner
and the action decoder inside it are jitted once. The drawing
helpers take the recorded `Episode` and need matplotlib (imported lazily).
"""

import dataclasses
import json
import os
import time
from typing import (Any, Callable, Dict, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple)

import jax
import numpy as np

from jumpy_acme import core
from jumpy_acme import environment_loop
from jumpy_acme import wrappers
from jumpy_acme.environments.rgb_stacking import layout as layout_lib
from jumpy_acme.utils import loggers
from jumpy_acme.utils import plotting

L = layout_lib.LAYOUT
PINCH = 'pinch_pose_pos'  # The pinch (gripper) position, xyz in metres.
OBJECTS = {c: f'{c}_pose_pos' for c in layout_lib.COLOURS}

# Colours of the drawn plans (paper: orange best, yellow worst, grey others).
BEST_COLOUR = 'tab:orange'
WORST_COLOUR = 'gold'
OTHER_COLOUR = '0.55'


class Planner(NamedTuple):
  """Jitted pieces of Zero-shot via Planning.

  plan: (key, state [S]) -> planner.PlanResult.
  act: (state [S], z [Z]) -> action [A] from the action decoder.
  horizon: H jumps per plan.
  K: primitive steps per jump of the model.
  gamma_k: the score's discount per jump (Eq. 3).
  """
  plan: Callable[..., Any]
  act: Callable[[jax.Array, jax.Array], jax.Array]
  horizon: int
  K: int
  gamma_k: float


def load_planner(checkpoint_dir: str, task: str, config) -> Planner:
  """The planner and decoder of a phase-1 checkpoint, for one task.

  Args:
    checkpoint_dir: a phase-1 learner's checkpoint directory.
    task: the reward the plans are scored with (rewards.TASKS).
    config: a planner config.PlannerConfig.
  """
  from jumpy_acme.agents.planning import models  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  model = model_lib.load(checkpoint_dir)
  plan = models.make_skill_planner(model, rewards.jax_reward(task), config)
  return Planner(jax.jit(plan), jax.jit(model.decode_action), config.horizon,
                 model.K, config.gamma_k)


class Snapshot(NamedTuple):
  """The sampled plans in force at one drawn step.

  step: the drawn step t.
  plan_step: the step the plans were made at (t unless a skill is held
    for several steps, see run_episode's actions_per_latent).
  scores: [N] the plans' scores (Eq. 3).
  pinch: [N, H+1, 3] each plan's predicted pinch positions at
    plan_step + hK, h = 0..H (h = 0: the state planned from).
  """
  step: int
  plan_step: int
  scores: np.ndarray
  pinch: np.ndarray


@dataclasses.dataclass
class Episode:
  """What one planning episode of T steps recorded.

  Step t is the state s_t the agent acted in; its reward is the one the
  environment returned for that action.
  """
  rewards: np.ndarray       # [T].
  scores: np.ndarray        # [T]: the best plan's score of the plan in force.
  replanned: np.ndarray     # [T] bool: a new skill was chosen at t.
  pinch: np.ndarray         # [T+1, 3]: the pinch position of s_0..s_T.
  objects: Dict[str, np.ndarray]  # colour -> [T+1, 3] object positions.
  snapshots: Dict[int, Snapshot]  # Drawn step -> its plans.
  frames: List[np.ndarray] = dataclasses.field(default_factory=list)
  frame_steps: List[int] = dataclasses.field(default_factory=list)
  key_frames: Dict[int, np.ndarray] = dataclasses.field(default_factory=dict)
  seconds: float = 0.0

  @property
  def length(self) -> int:
    return len(self.rewards)


class _PlanningActor(core.Actor):
  """Zero-shot via Planning that keeps what Figure 2 draws (NOT pure: the
  key, the plan in force and the step count)."""

  def __init__(self, planner: Planner, key: jax.Array,
               actions_per_latent: int):
    self._planner, self._key, self._every = planner, key, actions_per_latent
    self.t = 0
    self.result = None        # The plan in force (planner.PlanResult).
    self.plan_step = 0        # The step it was made at.
    self.replanned = False    # Whether step t made a new plan.

  def observe_first(self, timestep):
    del timestep
    self.t, self.result = 0, None

  def select_action(self, observation):
    state = np.asarray(observation, np.float32)
    self.replanned = self.result is None or self.t % self._every == 0
    if self.replanned:
      self._key, plan_key = jax.random.split(self._key)
      self.result = self._planner.plan(plan_key, state)
      self.plan_step = self.t
    return np.asarray(self._planner.act(state, self.result.z), np.float32)

  def observe(self, action, next_timestep):
    del action, next_timestep
    self.t += 1

  def update(self, wait: bool = False):
    del wait


class _EpisodeRecorder(environment_loop.EnvLoopObserver):
  """Records states, rewards, planned scores, snapshots and frames."""

  def __init__(self, actor: _PlanningActor, max_steps: int,
               snapshot_steps, render, frame_every: int, log_every: int,
               log: Callable[[str], None]):
    self._actor, self._max_steps = actor, max_steps
    self._snapshot_steps = set(int(s) for s in snapshot_steps)
    self._render, self._frame_every = render, frame_every
    self._log_every, self._log = log_every, log
    self.rewards, self.scores, self.replanned, self.states = [], [], [], []
    self.snapshots, self.frames, self.frame_steps = {}, [], []
    self.key_frames = {}
    self._start = time.time()

  def _frame(self, t: int, final: bool):
    """The frame of s_t: every frame_every steps, at snapshots, and s_T."""
    if self._render is None:
      return
    regular = t % self._frame_every == 0
    if final or regular or t in self._snapshot_steps:
      frame = self._render()
      if final or regular:
        self.frames.append(frame)
        self.frame_steps.append(t)
      if not final and t in self._snapshot_steps:
        self.key_frames[t] = frame

  def observe_first(self, env, timestep):
    del env
    self.states.append(np.asarray(timestep.observation, np.float32))
    self._frame(0, final=timestep.last())

  def observe(self, env, timestep, action):
    del env, action
    actor, t = self._actor, self._actor.t - 1  # The step just taken.
    result = actor.result
    if t in self._snapshot_steps:
      self.snapshots[t] = Snapshot(
          t, actor.plan_step, np.asarray(result.scores),
          np.asarray(result.trajectories)[..., L[PINCH]])
    self.rewards.append(float(timestep.reward))
    self.scores.append(float(result.score))
    self.replanned.append(actor.replanned)
    self.states.append(np.asarray(timestep.observation, np.float32))
    self._frame(t + 1, final=timestep.last())
    done = t + 1
    if self._log_every and (done % self._log_every == 0 or timestep.last()):
      self._log(f'[figure2] step {done}/{self._max_steps} | reward '
                f'{self.rewards[-1]:.3f} | score {self.scores[-1]:.3f} | '
                f'return {sum(self.rewards):.2f} | elapsed '
                f'{time.time() - self._start:.0f} s')

  def get_metrics(self) -> Dict[str, Any]:
    return {}


def run_episode(env, planner: Planner, *, key: jax.Array, max_steps: int,
                snapshot_steps: Sequence[int] = (),
                actions_per_latent: int = 1,
                render: Optional[Callable[[], np.ndarray]] = None,
                frame_every: int = 2, log_every: int = 0,
                log: Callable[[str], None] = print) -> Episode:
  """Runs one Zero-shot via Planning episode and records it (NOT jittable).

  The core EnvironmentLoop runs the episode (cut at max_steps) with an
  observer that records it. A new skill is planned from s_t whenever
  t % actions_per_latent == 0 (one planner call per chosen skill); in
  between, the decoder acts with the held skill. The best plan's score is
  the planned score of Fig. 2a.

  Args:
    env: an environment whose observation is the 86-D state.
    planner: from load_planner (or any Planner of jitted functions).
    key: PRNG key; split once per planner call.
    max_steps: stop after this many steps (or when the episode ends).
    snapshot_steps: steps whose plans are kept (their pinch trajectories).
    actions_per_latent: steps a chosen skill is held.
    render: () -> frame [h, w, 3] of the current scene, or None (no video).
    frame_every: keep a video frame every this many steps (and of s_T).
    log_every: print progress every this many steps (0: never).
    log: where progress lines go.

  Returns:
    The Episode.
  """
  if actions_per_latent < 1:
    raise ValueError('actions_per_latent: expected >= 1, got '
                     f'{actions_per_latent}.')
  if frame_every < 1:
    raise ValueError(f'frame_every: expected >= 1, got {frame_every}.')
  start = time.time()
  actor = _PlanningActor(planner, key, actions_per_latent)
  recorder = _EpisodeRecorder(actor, max_steps, snapshot_steps, render,
                              frame_every, log_every, log)
  environment_loop.EnvironmentLoop(
      wrappers.StepLimitWrapper(env, max_steps), actor,
      logger=loggers.NoOpLogger(), should_update=False,
      observers=[recorder]).run_episode()
  states = np.stack(recorder.states)
  return Episode(
      rewards=np.asarray(recorder.rewards, np.float64),
      scores=np.asarray(recorder.scores, np.float64),
      replanned=np.asarray(recorder.replanned, bool),
      pinch=states[:, L[PINCH]],
      objects={c: states[:, L[s]] for c, s in OBJECTS.items()},
      snapshots=recorder.snapshots, frames=recorder.frames,
      frame_steps=recorder.frame_steps, key_frames=recorder.key_frames,
      seconds=time.time() - start)


def assign_colours(scores: np.ndarray, plans_drawn: int
                   ) -> Tuple[np.ndarray, Tuple[str, ...]]:
  """Which plans to draw and in which colour (Fig. 2b).

  The best plan (argmax of the scores) is orange, the worst (argmin) yellow,
  and up to `plans_drawn` others grey, picked evenly by score rank so that
  they span the distribution. Drawing order: grey, worst, best (on top).
  With all scores equal, the worst is another plan than the best.

  Args:
    scores: [N] plan scores.
    plans_drawn: how many grey plans at most.

  Returns:
    (indices [M], colours [M]), M = min(plans_drawn, N - 2) + 2 (or N).
  """
  scores = np.asarray(scores)
  if scores.ndim != 1 or not scores.size:
    raise ValueError(f'scores: expected shape [N], N >= 1, got {scores.shape}.')
  if plans_drawn < 0:
    raise ValueError(f'plans_drawn: expected >= 0, got {plans_drawn}.')
  best = int(np.argmax(scores))
  if scores.size == 1:
    return np.array([best]), (BEST_COLOUR,)
  worst = int(np.argmin(scores))
  order = np.argsort(scores, kind='stable')
  if worst == best:  # All scores equal.
    worst = int(order[1] if order[0] == best else order[0])
  others = order[(order != best) & (order != worst)]
  count = min(plans_drawn, others.size)
  if count:
    picks = np.unique(np.round(np.linspace(0, others.size - 1, count)
                               ).astype(int))
    grey = others[picks]
  else:
    grey = others[:0]
  indices = np.concatenate([grey, [worst, best]]).astype(int)
  return indices, (OTHER_COLOUR,) * grey.size + (WORST_COLOUR, BEST_COLOUR)


def score_scale(horizon: int, gamma_k: float) -> float:
  """sum_{h=0..H} gamma_k^h: a plan's score when every reward is 1."""
  return float(np.sum(gamma_k ** np.arange(horizon + 1)))


def plot_plans(episode: Episode, path: str, plans_drawn: int = 100,
               steps_ahead: int = 30, title: str = ''):
  """Fig. 2b: two 3-D panels per snapshot, in pinch-position space (PNG).

  Top row: the scene (objects as red, green, blue squares) with the plans;
  bottom row: the same, zoomed on the drawn plans (objects outside the
  zoom are left out). In each: grey / yellow (worst) / orange (best) plans
  as lines through their predicted pinch positions, the actual pinch (black
  star) and its actual path over the next `steps_ahead` steps (dashed).
  Both rows have equal scales on x, y and z, so distances read true.
  """
  plt = plotting.pyplot()
  from matplotlib import lines  # pylint: disable=g-import-not-at-top
  steps = sorted(episode.snapshots)
  if not steps:
    raise ValueError('plot_plans: the episode has no snapshots.')
  cols = len(steps)
  fig = plt.figure(figsize=(4.0 * cols + 0.5, 9.2))
  for n, step in enumerate(steps):
    snap = episode.snapshots[step]
    indices, colours = assign_colours(snap.scores, plans_drawn)
    for row in range(2):
      ax = fig.add_subplot(2, cols, row * cols + n + 1, projection='3d')
      _draw_panel(ax, episode, snap, indices, colours, steps_ahead,
                  zoom=row == 1)
      if row == 0:
        tie = ' (all equal)' if snap.scores.max() == snap.scores.min() else ''
        held = (f', planned at {snap.plan_step}'
                if snap.plan_step != step else '')
        ax.set_title(f'step {step}{held}\nscores: best '
                     f'{snap.scores.max():.3f}, worst '
                     f'{snap.scores.min():.3f}{tie}', fontsize=9)
      else:
        ax.set_title(f'step {step}, zoomed on the plans', fontsize=9)
  handles = [
      lines.Line2D([], [], color=BEST_COLOUR, lw=2.2, marker='o', ms=3,
                   label='best plan'),
      lines.Line2D([], [], color=WORST_COLOUR, lw=2.2, marker='o', ms=3,
                   label='worst plan'),
      lines.Line2D([], [], color=OTHER_COLOUR, lw=1,
                   label=f'other plans (<= {plans_drawn} drawn)'),
      lines.Line2D([], [], color='black', ls='--', lw=1.2,
                   label=f'actual pinch, next {steps_ahead} steps'),
      lines.Line2D([], [], color='black', marker='*', ls='', ms=10,
                   label='pinch now'),
  ] + [lines.Line2D([], [], color=c, marker='s', ls='', ms=8,
                    markeredgecolor='black', label=f'{c} object')
       for c in layout_lib.COLOURS]
  fig.legend(handles=handles, loc='lower center', ncol=4, fontsize=9,
             frameon=False)
  if title:
    fig.suptitle(title)
  # tight_layout misplaces 3-D axes: fixed margins leave room for titles.
  fig.subplots_adjust(left=0.02, right=0.96, bottom=0.1, top=0.9,
                      wspace=0.12, hspace=0.22)
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _draw_panel(ax, episode: Episode, snap: Snapshot, indices, colours,
                steps_ahead: int, zoom: bool):
  """One 3-D panel of plot_plans."""
  step = snap.step
  for i, colour in zip(indices, colours):
    other = colour == OTHER_COLOUR
    xyz = snap.pinch[i]
    ax.plot(xyz[:, 0], xyz[:, 1], xyz[:, 2], color=colour,
            lw=0.6 if other else 2.2, alpha=0.4 if other else 1.0,
            marker=None if other else 'o', ms=3)
  path_xyz = episode.pinch[step:step + steps_ahead + 1]
  ax.plot(path_xyz[:, 0], path_xyz[:, 1], path_xyz[:, 2], 'k--', lw=1.2)
  x, y, z = episode.pinch[step]
  ax.scatter([x], [y], [z], color='black', marker='*', s=120,
             depthshade=False)
  objects = {c: episode.objects[c][step] for c in layout_lib.COLOURS}
  drawn = [snap.pinch[indices].reshape(-1, 3), path_xyz]
  low, high = _equal_limits(ax, drawn + ([] if zoom else list(
      objects.values())), pad=0.005 if zoom else 0.02)
  for colour, xyz in objects.items():
    if np.all((xyz >= low) & (xyz <= high)):
      ax.scatter(*xyz[:, None], color=colour, marker='s', s=70,
                 edgecolors='black', depthshade=False)
  ax.set_xlabel('x (m)', fontsize=8, labelpad=-1)
  ax.set_ylabel('y (m)', fontsize=8, labelpad=-1)
  ax.set_zlabel('z (m)', fontsize=8, labelpad=-1)
  ax.tick_params(labelsize=7, pad=0)


def _equal_limits(ax, points: Sequence[np.ndarray], pad: float = 0.02
                  ) -> Tuple[np.ndarray, np.ndarray]:
  """Cube-shaped limits around the points; returns (low [3], high [3])."""
  points = np.concatenate([np.asarray(p).reshape(-1, 3) for p in points])
  points = points[np.all(np.isfinite(points), axis=1)]
  low, high = points.min(0), points.max(0)
  centre, half = (low + high) / 2, (high - low).max() / 2 + pad
  ax.set_xlim(centre[0] - half, centre[0] + half)
  ax.set_ylim(centre[1] - half, centre[1] + half)
  ax.set_zlim(centre[2] - half, centre[2] + half)
  ax.set_box_aspect((1, 1, 1))
  return centre - half, centre + half


def plot_scores(episode: Episode, path: str, scale: float = 1.0,
                title: str = ''):
  """Fig. 2a: planned score and obtained reward against the step (PNG).

  Twin axes, aligned so that a score of `scale` (score_scale(H, gamma_k):
  every predicted reward 1) sits level with a reward of 1: where the plans'
  predicted rewards equal the reward obtained now, the curves meet.
  """
  plt = plotting.pyplot()
  steps = np.arange(episode.length)
  fig, left = plt.subplots(figsize=(8, 3.6))
  right = left.twinx()
  left.set_zorder(right.get_zorder() + 1)  # The reward on top.
  left.patch.set_visible(False)
  left.plot(steps, episode.rewards, color='tab:blue', lw=1.2,
            label='obtained reward')
  score_line, = right.plot(steps, episode.scores, color=BEST_COLOUR, lw=1.2,
                           label='planned score (best plan)')
  for n, step in enumerate(sorted(episode.snapshots)):
    left.axvline(step, color='0.6', ls=':', lw=1,
                 label='drawn steps' if n == 0 else None)
  values = np.concatenate([episode.rewards, episode.scores / scale])
  values = values[np.isfinite(values)]
  low = min(0.0, float(values.min(initial=0.0)))
  high = float(values.max(initial=0.0))
  if high <= low:
    high = low + 1.0
  margin = 0.05 * (high - low)
  left.set_ylim(low - margin, high + margin)
  right.set_ylim((low - margin) * scale, (high + margin) * scale)
  left.set_xlim(0, max(1, episode.length - 1))
  left.set_xlabel('step')
  left.set_ylabel('reward per step', color='tab:blue')
  right.set_ylabel(f'planned score (Eq. 3), axis x {scale:g}',
                   color=BEST_COLOUR)
  handles, _ = left.get_legend_handles_labels()
  left.legend(handles=handles[:1] + [score_line] + handles[1:],
              loc='upper left', fontsize=8)
  left.set_title(title or f'return {episode.rewards.sum():.1f}', fontsize=10)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_frames(episode: Episode, path: str):
  """Fig. 2c: the camera image at each snapshot step (PNG)."""
  plt = plotting.pyplot()
  steps = sorted(episode.key_frames)
  if not steps:
    raise ValueError('plot_frames: the episode has no key frames.')
  fig, axes = plt.subplots(1, len(steps), figsize=(3 * len(steps), 2.5),
                           squeeze=False)
  for ax, step in zip(axes[0], steps):
    ax.imshow(episode.key_frames[step])
    ax.set_title(f'step {step}', fontsize=10)
    ax.axis('off')
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def records(episode: Episode) -> List[Dict[str, Any]]:
  """Per-step records (JSON-ready): reward, score, positions of s_t."""
  out = []
  for t in range(episode.length):
    out.append({
        'step': t, 'reward': float(episode.rewards[t]),
        'score': float(episode.scores[t]),
        'replanned': bool(episode.replanned[t]),
        'pinch': [float(v) for v in episode.pinch[t]],
        **{c: [float(v) for v in episode.objects[c][t]]
           for c in layout_lib.COLOURS}})
  return out


def write_outputs(episode: Episode, output_dir: str,
                  config: Mapping[str, Any], plans_drawn: int = 100,
                  scale: float = 1.0, steps_ahead: int = 30,
                  fps: float = 10.0, title: str = '') -> Dict[str, str]:
  """Writes the figures, the GIF (if frames), episode.json and plans.npz.

  Returns:
    name -> path of everything written.
  """
  os.makedirs(output_dir, exist_ok=True)
  paths = {name: os.path.join(output_dir, file) for name, file in (
      ('plans', 'figure2_plans.png'), ('scores', 'figure2_scores.png'),
      ('json', 'episode.json'), ('npz', 'plans.npz'))}
  if episode.snapshots:
    plot_plans(episode, paths['plans'], plans_drawn, steps_ahead, title)
  else:
    del paths['plans']
  plot_scores(episode, paths['scores'], scale, title)
  if episode.key_frames:
    paths['frames'] = os.path.join(output_dir, 'figure2_frames.png')
    plot_frames(episode, paths['frames'])
  if episode.frames:
    from jumpy_acme.environments.rgb_stacking import video  # pylint: disable=g-import-not-at-top
    paths['video'] = os.path.join(output_dir, 'episode.gif')
    video.write_gif(episode.frames, paths['video'], fps=fps)
  steps = sorted(episode.snapshots)
  np.savez_compressed(
      paths['npz'], steps=np.asarray(steps, int),
      plan_steps=np.asarray([episode.snapshots[s].plan_step for s in steps],
                            int),
      **{f'scores_{s}': episode.snapshots[s].scores for s in steps},
      **{f'pinch_{s}': episode.snapshots[s].pinch for s in steps})
  summary = {
      'config': dict(config),
      'return': float(episode.rewards.sum()),
      'length': episode.length,
      'seconds': episode.seconds,
      'snapshots': [{
          'step': s, 'plan_step': episode.snapshots[s].plan_step,
          'num_plans': int(episode.snapshots[s].scores.size),
          'best_score': float(episode.snapshots[s].scores.max()),
          'worst_score': float(episode.snapshots[s].scores.min()),
          'mean_score': float(episode.snapshots[s].scores.mean())}
                    for s in steps],
      'video_frame_steps': list(episode.frame_steps),
      'final': {'pinch': [float(v) for v in episode.pinch[-1]],
                **{c: [float(v) for v in episode.objects[c][-1]]
                   for c in layout_lib.COLOURS}},
      'steps': records(episode),
      'paths': paths,
  }
  with open(paths['json'], 'w') as f:
    json.dump(summary, f, indent=1)
  return paths
