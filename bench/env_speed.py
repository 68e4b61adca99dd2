"""RGB-stacking speed: control steps/s, reset time, and the physics bound.

Measured in one run on this machine:
  - the environment's control steps/s with random actions over whole
    400-step episodes, resets included;
  - the raw-physics bound of that same run: control steps divided by the
    time spent in the 100 physics substeps of each step (what the run would
    reach if the controller, observations, rewards and resets were free);
    and, as a cross-check, a bare mj_step loop under random commands;
  - reset time (median of 10), and for reference a reset that settles props
    the original's way (fixed 2 s of physics with noslip on).
Targets (issue [environment]): reset <= 0.3 s; steps/s >= 70 % of the bound.
Last line: one JSON object.

  python bench/env_speed.py [--episodes 3]
"""

import argparse
import json
import time

import mujoco
import numpy as np

from jumpy_acme import environments
from jumpy_acme.environments.rgb_stacking import scene as scene_lib


def physics_bound(env, rng, control_steps=60) -> float:
  """Control steps/s if a step cost only its 100 mj_step substeps."""
  env.reset()
  model, data = env.physics.model.ptr, env.physics.data.ptr
  elapsed = 0.0
  for _ in range(control_steps):
    env.scene.apply_action(rng.uniform(scene_lib.ACTION_MIN,
                                       scene_lib.ACTION_MAX))
    start = time.perf_counter()
    mujoco.mj_step(model, data, scene_lib.SUBSTEPS)
    elapsed += time.perf_counter() - start
  return control_steps / elapsed


def env_rate(env, rng, episodes):
  """(steps/s resets included, steps/s of the physics substeps alone)."""
  spec = env.action_spec()
  physics = env.physics
  physics_step = physics.step
  physics_s = [0.0]

  def timed_step(*args, **kwargs):
    start = time.perf_counter()
    physics_step(*args, **kwargs)
    physics_s[0] += time.perf_counter() - start

  physics.step = timed_step  # Instrumentation for this benchmark only.
  steps = 0
  start = time.perf_counter()
  try:
    for _ in range(episodes):
      timestep = env.reset()
      while not timestep.last():
        timestep = env.step(rng.uniform(spec.minimum, spec.maximum))
        steps += 1
  finally:
    physics.step = physics_step
  return steps / (time.perf_counter() - start), steps / physics_s[0]


def reset_times(env, n=10):
  times = []
  for _ in range(n):
    start = time.perf_counter()
    env.reset()
    times.append(time.perf_counter() - start)
  return np.array(times)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--episodes', type=int, default=3)
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  build_start = time.perf_counter()
  env = environments.make('red_stack_blue', seed=0)
  build_s = time.perf_counter() - build_start
  rate, bound = env_rate(env, rng, args.episodes)
  bare_loop = physics_bound(env, rng)
  resets = reset_times(env)
  original_style = environments.make(
      'red_stack_blue', seed=0, settle=scene_lib.SettleOptions(
          tolerance=None, noslip_iterations=5))
  original_resets = reset_times(original_style, n=3)

  print(f'scene build (once): {build_s:.2f} s')
  print(f'raw physics bound: {bound * scene_lib.SUBSTEPS:,.0f} substeps/s '
        f'-> {bound:.1f} control steps/s (bare mj_step loop: '
        f'{bare_loop:.1f})')
  print(f'environment: {rate:.1f} control steps/s over {args.episodes} x 400 '
        f'steps, resets included -> {rate / bound:.2f} of the bound')
  print(f'reset: median {np.median(resets):.3f} s, max {resets.max():.3f} s '
        f'(original-style 2 s settle with noslip: '
        f'{np.median(original_resets):.3f} s)')
  print(json.dumps({
      'steps_per_s': round(rate, 2),
      'reset_s': round(float(np.median(resets)), 4),
      'reset_s_max': round(float(resets.max()), 4),
      'physics_bound_steps_per_s': round(bound, 2),
      'bare_mj_step_loop_steps_per_s': round(bare_loop, 2),
      'ratio_to_physics_bound': round(rate / bound, 3),
      'original_style_reset_s': round(float(np.median(original_resets)), 4),
  }))


if __name__ == '__main__':
  main()
