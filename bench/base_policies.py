"""Success and speed of the scripted base behaviours (paper, Table 2).

For each behaviour: `--segments` segments of `--steps` control steps, each
from a fresh random initial state, with the data's velocity noise
(ScriptedConfig defaults). The initial states come in equal shares from the
five test triplets that rgb_test_random draws from (stratified: the same
distribution, less variance; `--triplets=rgb_test_random` draws instead).
Every behaviour sees the same initial states.

A segment succeeds when the behaviour's reward reaches its threshold at
some step (docs/tasks.md). reach_red, lift_red and red_hover_blue are
scored with the unstaged building blocks of rewards.py: reach(red) >= 0.9,
lift(red) >= 0.9 and hover(red, blue) >= 0.9; the others with their task's
reward and threshold.

Reach speed: the mean number of steps until reach(red) first reaches 0.5
(pinch within about 6 cm of red's centre), against the straight-line bound
measured on the same initial states: the pinch commanded straight at red
at the controller's speed limit (0.07 m/s on the norm of the linear
velocity: the Cartesian effector rescales a faster command), without noise.
A segment that never gets there counts `--steps`.

Physical bound for lift_red and red_hover_blue: from each initial state,
the straight-line path the object needs (pinch to red's centre less 2 cm,
then red's centre to the nearest point where the reward reaches 0.9), in
steps at the arm's top speed (the largest 20-step mean pinch speed seen
in any of the behaviour's segments, capped at the commanded limit of
0.07 m/s: a segment in which an object flings the gripper once measured
0.24 m/s), closing the fingers taking no time.
A segment whose bound exceeds `--steps` cannot succeed whatever the
controller; the table counts them and the success among the others. The
same path at the median segment's top speed (what the arm typically
reaches at full command) is printed beside it: a segment close to
`--steps` there is at the edge of what any controller can do.

A segment stops once everything it measures is known (`--full_segments`
runs all steps). Prints a table; the last line is one JSON object.

Goals (issue [data]): reach time <= 1.2x the bound's; lift_red and
red_hover_blue >= 95 %; the others >= 95 %.
"""

import argparse
import json
import multiprocessing
import time

import numpy as np

TEST_TRIPLETS = ('triplet1', 'triplet2', 'triplet3', 'triplet4',
                 'triplet5')
BOUND = 'reach_bound'  # The straight-line bound's row.
REACH_LEVEL = 0.5  # reach(red) >= this: "reached" for the speed figure.
GRASP_REACH = 0.02  # m: the pinch need not come closer to red's centre.
SPEED_WINDOW = 20  # Steps over which the arm's top speed is averaged.


def _scorer(name):
  """(state [86] -> score, success threshold) for a behaviour."""
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  unstaged = {
      'reach_red': lambda s: rewards.reach(s, 'red'),
      BOUND: lambda s: rewards.reach(s, 'red'),
      'lift_red': lambda s: rewards.lift(s, 'red'),
      'red_hover_blue': lambda s: rewards.hover(s, 'red', 'blue'),
  }
  if name in unstaged:
    return unstaged[name], 0.9
  return rewards.numpy_reward(name), rewards.get_task(name).success_threshold


def straight_path(name, state):
  """Length (m) of the shortest path that can score `name` >= 0.9 from
  `state`: the pinch straight to within GRASP_REACH of red's centre, then
  red's centre straight to the nearest point of the reward's 0.9 region
  (lift: z >= 0.1453; hover: the 1 cm box around blue + (0, 0, 0.1)).
  None for the other behaviours."""
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  lay = layout.LAYOUT
  red = np.asarray(state[lay['red_pose_pos']], np.float64)
  pinch = np.asarray(state[lay['pinch_pose_pos']], np.float64)
  approach = max(np.linalg.norm(red - pinch) - GRASP_REACH, 0.0)
  if name == 'lift_red':
    level = rewards.LIFT_Z_MIN + 0.9 * (rewards.LIFT_Z_MAX -
                                        rewards.LIFT_Z_MIN)
    carry = max(level - red[2], 0.0)
  elif name == 'red_hover_blue':
    goal = np.asarray(state[lay['blue_pose_pos']], np.float64) + [
        0.0, 0.0, rewards.HOVER_HEIGHT]
    carry = np.linalg.norm(np.maximum(np.abs(goal - red) -
                                      rewards.PLACE_TOLERANCE, 0.0))
  else:
    return None
  return approach + carry


def top_speed(pinches) -> float:
  """The largest mean pinch speed (m/step) over SPEED_WINDOW steps."""
  pinches = np.asarray(pinches)
  if len(pinches) <= SPEED_WINDOW:
    return 0.0
  moved = np.linalg.norm(pinches[SPEED_WINDOW:] - pinches[:-SPEED_WINDOW],
                         axis=-1)
  return float(moved.max() / SPEED_WINDOW)


def _run_segments(job):
  """One behaviour on one triplet: [(success, steps to success, steps to
  reach(red) >= REACH_LEVEL or None, last phase, grasp attempts,
  straight_path (m) or None, top_speed (m/step), {phase: steps in it})]."""
  name, triplet, env_seed, seeds, steps, noise, full, timed_all = job
  # Imported in the worker: each process builds its own simulator.
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import scripted  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.scripted import behaviours  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  score, threshold = _scorer(name)
  timed = name in ('reach_red', BOUND) or timed_all
  config = scripted.ScriptedConfig(linear_noise=noise[0],
                                   rotation_noise=noise[1])
  env = environments.make('reach_red', seed=env_seed, triplet=triplet,
                          episode_length=steps)
  outcomes = []
  for seed in seeds:
    if name == BOUND:
      behaviour = behaviours.make_reach_bound('red', seed=int(seed))
    else:
      behaviour = scripted.make_behaviour(name, config, seed=int(seed))
    timestep = env.reset()
    path = straight_path(name, timestep.observation)
    pinches = [timestep.observation[layout.LAYOUT['pinch_pose_pos']]]
    success_step = reach_step = None
    step = 0
    phase_steps = {}  # Controller phase -> steps spent in it.
    while not timestep.last():
      timestep = env.step(behaviour(timestep.observation))
      step += 1
      phase = getattr(behaviour, 'phase', None)
      if phase is not None:
        phase_steps[phase] = phase_steps.get(phase, 0) + 1
      state = np.asarray(timestep.observation, np.float64)
      pinches.append(state[layout.LAYOUT['pinch_pose_pos']])
      if success_step is None and score(state) >= threshold:
        success_step = step
      if (timed and reach_step is None and
          rewards.reach(state, 'red') >= REACH_LEVEL):
        reach_step = step
      if (not full and success_step is not None and
          (reach_step is not None or not timed)):
        break
    outcomes.append((success_step is not None, success_step, reach_step,
                     getattr(behaviour, 'phase', None),
                     getattr(behaviour, 'attempts', None), path,
                     top_speed(pinches), phase_steps))
  return name, triplet, outcomes


def _jobs(names, args):
  triplets = args.triplets.split(',')
  parts = np.array_split(np.arange(args.segments), len(triplets))
  noise = (args.linear_noise, args.rotation_noise)
  jobs = []
  for name in names:
    for index, (triplet, part) in enumerate(zip(triplets, parts)):
      if len(part):
        # Same env seed for every behaviour: the same initial states.
        jobs.append((name, triplet, 1000 + index, [int(s) for s in part],
                     args.steps, noise, args.full_segments,
                     bool(args.details)))
  # Long ones first, for balance.
  slow = ('red_hover_blue', 'lift_red')
  return sorted(jobs, key=lambda job: job[0] not in slow)


def bound_steps(segments, name, statistic=max):
  """(speed, {(triplet, index): the straight_path in steps at speed}):
  speed (m/step) is `statistic` over all the behaviour's segments' top
  speeds (max, the lenient bound; np.median, the typical one), at most
  the commanded limit; the dict
  is empty if the behaviour has no path."""
  from jumpy_acme.agents.scripted import behaviours  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking.scene import CONTROL_TIMESTEP  # pylint: disable=g-import-not-at-top
  speeds = [o[6] for (n, _), outcomes in segments.items() if n == name
            for o in outcomes]
  # Never above the commanded limit: a flung gripper is not the arm's pace.
  speed = min(float(statistic(speeds)) if speeds else 0.0,
              behaviours.MAX_SPEED * CONTROL_TIMESTEP)
  return speed, {(triplet, index): o[5] / speed
                 for (n, triplet), outcomes in segments.items() if n == name
                 for index, o in enumerate(outcomes)
                 if o[5] is not None and speed > 0}


def _write_details(path, segments):
  """One JSON line per segment; the same (triplet, index) is the same
  initial state for every behaviour."""
  with open(path, 'w') as f:
    for (name, triplet), outcomes in sorted(segments.items()):
      bound = segments.get((BOUND, triplet))
      _, steps = bound_steps(segments, name)
      _, typical = bound_steps(segments, name, np.median)
      for index, (ok, success, reach, phase, attempts, path_m,
                  speed, phase_steps) in enumerate(outcomes):
        f.write(json.dumps({
            'behaviour': name, 'triplet': triplet, 'index': index,
            'success': bool(ok), 'success_step': success,
            'reach_step': reach, 'last_phase': phase,
            'grasp_attempts': attempts,
            'bound_reach_step': bound[index][2] if bound else None,
            'straight_path_m': path_m, 'top_speed_m_per_step': speed,
            'path_bound_steps': steps.get((triplet, index)),
            'path_typical_steps': typical.get((triplet, index)),
            'phase_steps': phase_steps}) + '\n')


def _print_failures(segments, steps):
  """The failed segments, each beside the bound's reach time from the same
  initial state (is it the approach's speed, or what came after?)."""
  print('Failed segments (same initial state for every behaviour):')
  print('| behaviour | triplet | index | last phase | grasp attempts | '
        'own steps to reach(red) >= 0.5 | bound\'s | straight-line path, '
        'steps at top / median top speed |')
  print('|---|---|---|---|---|---|---|---|')
  for (name, triplet), outcomes in sorted(segments.items()):
    bound = segments.get((BOUND, triplet))
    _, path_steps = bound_steps(segments, name)
    _, typical = bound_steps(segments, name, np.median)
    for index, (ok, _, reach, phase, attempts, *_) in enumerate(outcomes):
      if ok:
        continue
      path = path_steps.get((triplet, index))
      median = typical.get((triplet, index))
      print(f'| {name} | {triplet} | {index} | {phase} | '
            f'{"-" if attempts is None else attempts} | '
            f'{reach if reach is not None else f"> {steps}"} | '
            f'{bound[index][2] if bound else "-"} | '
            f'{"-" if path is None else f"{path:.0f} / {median:.0f}"} |')
  post = {}
  for (name, _), outcomes in segments.items():
    post.setdefault(name, []).extend(
        success - reach for ok, success, reach, *_ in outcomes
        if ok and reach is not None and name not in ('reach_red', BOUND))
  for name, values in sorted(post.items()):
    if values:
      print(f'{name}: steps from reach(red) >= 0.5 to success: min '
            f'{min(values)}, median {int(np.median(values))}, max '
            f'{max(values)}')
  _print_phase_times(segments)


def _print_phase_times(segments):
  """Where the time goes: mean steps per controller phase over the
  segments with one grasp attempt, successes and failures apart (a
  failure's last phase runs to the end of the segment)."""
  phases = ('approach', 'close', 'carry')
  rows = []
  for name in sorted({n for n, _ in segments}):
    outcomes = [o for (n, _), os in segments.items() if n == name
                for o in os if o[4] == 1]
    for ok, label in ((True, 'successes'), (False, 'failures')):
      chosen = [o[7] for o in outcomes if o[0] == ok]
      if chosen:
        rows.append(f'| {name} | {label} | {len(chosen)} | ' + ' | '.join(
            f'{np.mean([c.get(p, 0) for c in chosen]):.1f}' for p in phases)
                    + ' |')
  if rows:
    print('One-grasp segments, mean steps per phase (to success, or to the '
          'end of the segment):')
    print('| behaviour | segments | count | ' + ' | '.join(phases) + ' |')
    print('|---|---|---|' + '---|' * len(phases))
    print('\n'.join(rows))


def main():
  from jumpy_acme.agents import scripted  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking.scene import CONTROL_TIMESTEP  # pylint: disable=g-import-not-at-top
  defaults = scripted.ScriptedConfig()
  parser = argparse.ArgumentParser()
  parser.add_argument('--segments', type=int, default=40)
  parser.add_argument('--steps', type=int, default=200)
  parser.add_argument('--workers', type=int, default=2)
  parser.add_argument('--behaviours', default='all')
  parser.add_argument('--triplets', default=','.join(TEST_TRIPLETS))
  parser.add_argument('--linear_noise', type=float,
                      default=defaults.linear_noise)
  parser.add_argument('--rotation_noise', type=float,
                      default=defaults.rotation_noise)
  parser.add_argument('--full_segments', action='store_true')
  parser.add_argument(
      '--details', default=None,
      help='Write one JSON line per segment here (behaviour, triplet, '
      'index, success, steps to success, steps to reach(red) >= 0.5, the '
      'controller\'s last phase, grasp attempts and steps per phase), with '
      'the bound\'s reach time on the same initial state when reach_red '
      'runs too; also prints the failed segments and the mean steps per '
      'phase of the one-grasp segments.')
  args = parser.parse_args()
  names = list(scripted.BEHAVIOURS if args.behaviours == 'all' else
               args.behaviours.split(','))
  if 'reach_red' in names:
    names.append(BOUND)
  start = time.time()
  results = {name: [] for name in names}
  by_triplet = {name: {} for name in names}
  segments = {}  # (name, triplet) -> outcomes in initial-state order.
  with multiprocessing.get_context('spawn').Pool(args.workers) as pool:
    for name, triplet, outcomes in pool.imap_unordered(
        _run_segments, _jobs(names, args)):
      results[name].extend(outcomes)
      segments[name, triplet] = outcomes
      by_triplet[name][triplet] = sum(o[0] for o in outcomes), len(outcomes)
  elapsed = time.time() - start
  if args.details:
    _write_details(args.details, segments)
    _print_failures(segments, args.steps)

  print(f'{args.steps}-step segments, noise {args.linear_noise} m/s, '
        f'{args.rotation_noise} rad/s, {elapsed:.0f} s')
  print('| behaviour | success | segments | steps to success | '
        'per triplet |')
  print('|---|---|---|---|---|')
  rates = {}
  for name in names:
    outcomes = results[name]
    rates[name] = float(np.mean([o[0] for o in outcomes]))
    steps = [o[1] for o in outcomes if o[0]]
    mean_steps = f'{np.mean(steps):.0f}' if steps else '-'
    split = ' '.join(f'{k}/{n}' for _, (k, n) in
                     sorted(by_triplet[name].items()))
    print(f'| {name} | {100 * rates[name]:.0f} % | {len(outcomes)} | '
          f'{mean_steps} | {split} |')
  summary = {'success_rate': {k: v for k, v in rates.items() if k != BOUND},
             'segments': args.segments, 'steps': args.steps,
             'noise': [args.linear_noise, args.rotation_noise],
             'triplets': args.triplets}
  if 'reach_red' in names:
    times = {}
    for name in ('reach_red', BOUND):
      reached = [o[2] if o[2] is not None else args.steps
                 for o in results[name]]
      times[name] = float(np.mean(reached))
      misses = sum(o[2] is None for o in results[name])
      print(f'{name}: mean steps to reach(red) >= {REACH_LEVEL}: '
            f'{times[name]:.1f} +- '
            f'{np.std(reached) / np.sqrt(len(reached)):.1f} (s.e.), '
            f'{misses} never')
    ratio = times['reach_red'] / times[BOUND]
    print(f'ratio reach_red / bound: {ratio:.3f} (goal <= 1.2)')
    summary.update(reach_time=times['reach_red'], bound_time=times[BOUND],
                   reach_time_ratio=ratio)
  beyond, feasible_rate, near_edge = {}, {}, {}
  for name in names:
    speed, path_steps = bound_steps(segments, name)
    if not path_steps:
      continue
    median_speed, typical = bound_steps(segments, name, np.median)
    over = {key for key, value in path_steps.items() if value > args.steps}
    edge = int(sum(value > 0.9 * args.steps for value in typical.values()))
    rest = [o[0] for (n, triplet), outcomes in segments.items() if n == name
            for index, o in enumerate(outcomes) if (triplet, index) not in over]
    beyond[name] = len(over)
    feasible_rate[name] = float(np.mean(rest)) if rest else None
    print(f'{name}: {len(over)} of {len(path_steps)} segments need more than '
          f'{args.steps} steps on straight lines at the arm\'s top speed '
          f'({speed / CONTROL_TIMESTEP:.3f} m/s, measured, capped at the '
          f'0.07 m/s commanded limit)'
          + (f'; success on the other {len(rest)}: '
             f'{100 * feasible_rate[name]:.0f} %' if rest else '') +
          f'; {edge} need more than {0.9 * args.steps:.0f} at the median '
          f'segment\'s top speed ({median_speed / CONTROL_TIMESTEP:.3f} m/s)')
    near_edge[name] = edge
  if beyond:
    summary.update(beyond_bound=beyond, success_rate_within_bound=feasible_rate,
                   beyond_90_percent_at_median_speed=near_edge)
  print(json.dumps(summary))


if __name__ == '__main__':
  main()
