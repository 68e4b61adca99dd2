r"""The paper's Figure 2 for one Zero-shot via Planning episode, and a video.

  python -m jumpy_acme.launchers.figure2 --checkpoint=runs/phase1_k10_b100 \
      --task=red_hover_green --output=results/figure2

Runs one episode of --max_steps steps, planning a new skill (N plans of H
jumps, random shooting) whenever one is chosen, and writes to --output:

  figure2_plans.png   Fig. 2b: at each of --steps, the sampled plans in 3-D
                      pinch-position space (best orange, worst yellow,
                      --plans_drawn others grey), the objects and the pinch.
  figure2_scores.png  Fig. 2a: the planned score (the best plan's, Eq. 3)
                      and the reward obtained, per step.
  figure2_frames.png  Fig. 2c: the camera image at each of --steps (--video).
  episode.gif         The episode (--video).
  episode.json        Per-step records (reward, score, pinch and object
                      positions), the snapshot summaries and the config.
  plans.npz           The drawn steps' plan scores and pinch trajectories.

The paper's episode: red_hover_green, N = 1000, H = 3, K = 10, gamma_k = 1,
drawn at steps 3, 44, 100 and 151 (the defaults here).
"""

import dataclasses
import time

from absl import app
from absl import flags
from absl import logging
import jax

from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.launchers import planner_flags
from jumpy_acme.utils import versions

_CHECKPOINT = flags.DEFINE_string('checkpoint', None,
                                  'Phase-1 checkpoint directory.')
_TASK = flags.DEFINE_string('task', 'red_hover_green',
                            'The task planned for (the paper: '
                            'red_hover_green).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds the episode and the planner.')
_MAX_STEPS = flags.DEFINE_integer('max_steps', 400, 'Steps in the episode.')
_STEPS = flags.DEFINE_list('steps', ['3', '44', '100', '151'],
                           'Steps whose plans are drawn (those >= '
                           '--max_steps are dropped).')
_ACTIONS_PER_LATENT = flags.DEFINE_integer(
    'actions_per_latent', 1, 'Steps a chosen skill is held.')
_PLANS_DRAWN = flags.DEFINE_integer('plans_drawn', 100,
                                    'Grey plans drawn per panel.')
_VIDEO = flags.DEFINE_bool('video', True,
                           'Render the episode (GIF and Fig. 2c).')
_FRAME_SIZE = flags.DEFINE_list('frame_size', ['180', '240'],
                                'Video frame height,width.')
_FRAME_EVERY = flags.DEFINE_integer('frame_every', 2,
                                    'A video frame every this many steps.')
_LOG_EVERY = flags.DEFINE_integer('log_every', 50,
                                  'Print progress every this many steps.')
_OUTPUT = flags.DEFINE_string('output', 'results/figure2',
                              'Directory for the figures, GIF and JSON.')


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  if not _CHECKPOINT.value:
    raise app.UsageError('--checkpoint: a phase-1 checkpoint directory.')
  rewards.get_task(_TASK.value)  # Names the valid tasks if unknown.
  try:
    steps = sorted({int(s) for s in _STEPS.value})
    height, width = (int(v) for v in _FRAME_SIZE.value)
  except ValueError as e:
    raise app.UsageError(
        f'--steps / --frame_size: integers expected ({e}).') from e
  if any(s < 0 for s in steps):
    raise app.UsageError(f'--steps: expected steps >= 0, got {steps}.')
  steps = [s for s in steps if s < _MAX_STEPS.value]
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.experiments import figure2  # pylint: disable=g-import-not-at-top
  planner_config = planner_flags.planner_config()
  start = time.time()
  planner = figure2.load_planner(_CHECKPOINT.value, _TASK.value,
                                 planner_config)
  env = environments.make(_TASK.value, seed=_SEED.value,
                          episode_length=_MAX_STEPS.value)
  render = (lambda: env.render(height, width)) if _VIDEO.value else None
  episode = figure2.run_episode(
      env, planner, key=jax.random.PRNGKey(_SEED.value),
      max_steps=_MAX_STEPS.value, snapshot_steps=steps,
      actions_per_latent=_ACTIONS_PER_LATENT.value, render=render,
      frame_every=_FRAME_EVERY.value, log_every=_LOG_EVERY.value,
      log=lambda line: print(line, flush=True))
  config = {
      'checkpoint': _CHECKPOINT.value, 'task': _TASK.value,
      'seed': _SEED.value, 'max_steps': _MAX_STEPS.value,
      'steps': steps, 'actions_per_latent': _ACTIONS_PER_LATENT.value,
      'planner': dataclasses.asdict(planner_config), 'K': planner.K,
      'plans_drawn': _PLANS_DRAWN.value, 'video': _VIDEO.value,
      'frame_size': [height, width], 'frame_every': _FRAME_EVERY.value,
      'versions': versions.package_versions()}
  paths = figure2.write_outputs(
      episode, _OUTPUT.value, config, plans_drawn=_PLANS_DRAWN.value,
      scale=figure2.score_scale(planner.horizon, planner.gamma_k),
      steps_ahead=planner.horizon * planner.K,
      fps=20.0 / _FRAME_EVERY.value,
      title=f'{_TASK.value}, zero-shot via planning (N = '
            f'{planner_config.num_samples}, H = {planner.horizon}, K = '
            f'{planner.K}), return {episode.rewards.sum():.1f}')
  print(f'[figure2] {_TASK.value}: return {episode.rewards.sum():.2f} over '
        f'{episode.length} steps | episode {episode.seconds:.0f} s | total '
        f'{time.time() - start:.0f} s')
  for name, path in paths.items():
    print(f'[figure2] {name}: {path}')


if __name__ == '__main__':
  flags.mark_flag_as_required('checkpoint')
  app.run(main)
