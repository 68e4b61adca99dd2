"""DMPO learner and actor speed: updates/s, FLOPs per update, share of peak.

In one run on this machine's default JAX device:
  - the matmul peak: a jitted float32 [2048, 2048] @ [2048, 2048] product,
    FLOP/s at its best of several repeats (utils.profiling);
  - the learner's jitted update (sgd_steps_per_step SGD steps as a
    lax.scan) with the default networks (policy 256x3, critic 512-512-256,
    51 atoms, N = 20 samples) at batch 256, for an 86-D observation and a
    5-D action (--action_size 32 for the latent-action case): SGD updates/s;
  - the analytic FLOPs one SGD update needs (multiply-adds x 2) for what
    the update computes (losses.py / learning.py):
      target policy forward on the 2B states [o_tm1; o_t],
      target critic forward on the 2B x N sampled actions,
      online policy forward + backward (x3) on the 2B states,
      online critic forward + backward (x3) on the B replayed actions;
    element-wise work (softmax, projection, log-probs) is left out;
  - actor steps/s: DMPOActor's jitted policy on one observation, then an
    environment loop with a cheap fake environment of the same spec;
  - with --end_to_end=method,...: each phase-2 method run by
    launchers/train_rl.py on RGB-stacking with --actors actor processes for
    --env_steps primitive steps (one evaluation episode at the start and
    one at the end): primitive environment steps/s over the whole run,
    process start and the two evaluations included.
Last line: one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import dm_env
from dm_env import specs as dm_env_specs
import jax
import numpy as np

from jumpy_acme import environment_loop
from jumpy_acme import specs
from jumpy_acme import variables
from jumpy_acme import types
from jumpy_acme.agents import dmpo
from jumpy_acme.utils import loggers
from jumpy_acme.utils import profiling


def mlp_macs(sizes) -> int:
  return sum(x * y for x, y in zip(sizes[:-1], sizes[1:]))


def flops_per_sgd_update(config: dmpo.DMPOConfig, observation_size: int,
                         action_size: int) -> float:
  """FLOPs of one SGD update on a batch (see the module docstring)."""
  policy = mlp_macs((observation_size,) + config.policy_hidden_sizes +
                    (2 * action_size,))           # Mean and scale heads.
  critic = mlp_macs((observation_size + action_size,) +
                    config.critic_hidden_sizes + (config.num_atoms,))
  b, n = config.batch_size, config.num_samples
  macs = (2 * b * policy            # Target policy, forward.
          + 2 * b * n * critic      # Target critic on the samples, forward.
          + 3 * 2 * b * policy      # Online policy, forward + backward.
          + 3 * b * critic)         # Online critic, forward + backward.
  return 2.0 * macs


class _FakeEnvironment(dm_env.Environment):
  """Random observations of the benchmark's spec; 100-step episodes."""

  def __init__(self, observation_size: int, action_size: int):
    self._observation_size = observation_size
    self._action_size = action_size
    self._rng = np.random.default_rng(0)
    self._t = 0

  def _observation(self):
    return self._rng.standard_normal(self._observation_size).astype(
        np.float32)

  def reset(self):
    self._t = 0
    return dm_env.restart(self._observation())

  def step(self, action):
    del action
    self._t += 1
    if self._t >= 100:
      return dm_env.truncation(np.float32(0.0), self._observation())
    return dm_env.transition(np.float32(0.0), self._observation())

  def observation_spec(self):
    return dm_env_specs.Array((self._observation_size,), np.float32)

  def action_spec(self):
    return dm_env_specs.BoundedArray((self._action_size,), np.float32, -1.0,
                                     1.0)

  def reward_spec(self):
    return dm_env_specs.Array((), np.float32)

  def discount_spec(self):
    return dm_env_specs.BoundedArray((), np.float32, 0.0, 1.0)


def _transitions(n, observation_size, action_size, seed=0):
  rng = np.random.default_rng(seed)
  f32 = lambda x: np.asarray(x, np.float32)
  return jax.device_put(types.Transition(
      observation=f32(rng.normal(size=(n, observation_size))),
      action=f32(rng.uniform(-1, 1, (n, action_size))),
      reward=f32(rng.normal(size=n)),
      discount=f32(np.full(n, 0.99 ** 4)),
      next_observation=f32(rng.normal(size=(n, observation_size)))))


def _timed(fn, min_seconds, min_calls=2):
  """Calls fn() until both bounds are met; returns (calls, seconds)."""
  calls, start = 0, time.perf_counter()
  while True:
    fn()
    calls += 1
    elapsed = time.perf_counter() - start
    if calls >= min_calls and elapsed >= min_seconds:
      return calls, elapsed


def end_to_end(method: str, args) -> dict:
  """Primitive steps/s of one train_rl run (NOT pure: processes)."""
  with tempfile.TemporaryDirectory() as out:
    command = [sys.executable, '-m', 'jumpy_acme.launchers.train_rl',
               f'--method={method}', '--task=reach_red',
               f'--num_actors={args.actors}', f'--env_steps={args.env_steps}',
               f'--eval_every={args.env_steps}', '--eval_episodes=1',
               f'--batch_size={args.rl_batch_size}',
               f'--samples_per_insert={args.rl_samples_per_insert}',
               # Every method, as make rl-curves: the skills, or (scratch)
               # only the observation statistics.
               f'--phase1_checkpoint={args.phase1_checkpoint}',
               f'--output={out}']
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True,
                            check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
      raise SystemExit(f'{method} failed:\n{result.stderr[-3000:]}')
    with open(os.path.join(out, 'reach_red', method, 'seed_0',
                           'done.json')) as f:
      counts = json.load(f)
  return {'env_steps': counts['env_steps'], 'seconds': round(wall, 1),
          'env_steps_per_s': round(counts['env_steps'] / wall, 1),
          'learner_steps': counts['learner_steps']}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--observation_size', type=int, default=86)
  parser.add_argument('--action_size', type=int, default=5)
  parser.add_argument('--batch_size', type=int, default=256)
  parser.add_argument('--sgd_steps_per_step', type=int, default=4)
  parser.add_argument('--seconds', type=float, default=5.0,
                      help='minimum timed seconds per measurement')
  parser.add_argument('--end_to_end', default='',
                       help='comma-separated train_rl methods to time end '
                       'to end (e.g. scratch,rl_hl,rl_hl_planning,'
                       'rl_hl_planning_finetune)')
  parser.add_argument('--actors', type=int, default=2)
  parser.add_argument('--env_steps', type=int, default=4000)
  parser.add_argument('--phase1_checkpoint', default='pretrained/k10')
  parser.add_argument('--rl_batch_size', type=int, default=64,
                      help='--end_to_end runs\' batch (make rl-curves).')
  parser.add_argument('--rl_samples_per_insert', type=float, default=8.0,
                      help='--end_to_end runs\' ratio (make rl-curves).')
  args = parser.parse_args()
  o, a = args.observation_size, args.action_size
  config = dmpo.DMPOConfig(
      batch_size=args.batch_size,
      sgd_steps_per_step=args.sgd_steps_per_step
  ).with_epsilon_mean_per_dimension(a)
  environment = _FakeEnvironment(o, a)
  spec = specs.make_environment_spec(environment)
  peak = profiling.matmul_peak_flops()

  # Learner.
  networks = dmpo.make_networks(spec, config)
  state = dmpo.init_training_state(networks, jax.random.PRNGKey(0))
  update = jax.jit(dmpo.make_update(networks))
  batch = _transitions(config.batch_size * config.sgd_steps_per_step, o, a)
  compile_start = time.perf_counter()
  state, metrics = update(state, batch)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - compile_start
  holder = {'state': state}

  def learner_call():  # Blocks, so that the time counted is compute time.
    holder['state'], holder['metrics'] = update(holder['state'], batch)
    jax.block_until_ready(holder['metrics'])

  calls, elapsed = _timed(learner_call, args.seconds)
  updates_per_s = calls * config.sgd_steps_per_step / elapsed
  flops = flops_per_sgd_update(config, o, a)
  achieved = flops * updates_per_s
  assert np.isfinite(float(holder['metrics']['loss']))

  # Actor: the jitted policy alone, then with an environment loop.
  actor = dmpo.DMPOActor(
      dmpo.make_policy(networks), jax.random.PRNGKey(1),
      variables.SourceVariableClient(
          variables.FixedVariableSource(holder['state'].policy_params),
          ['policy'], update_period=1000),
      action_dtype=np.float32)
  observation = environment.reset().observation
  actor.select_action(observation)
  select_calls, select_s = _timed(lambda: actor.select_action(observation),
                                  min(args.seconds, 2.0), min_calls=100)
  selects_per_s = select_calls / select_s
  loop = environment_loop.EnvironmentLoop(environment, actor,
                                          logger=loggers.NoOpLogger())
  loop_start = time.perf_counter()
  loop_steps = loop.run(num_steps=1000)
  actor_steps_per_s = loop_steps / (time.perf_counter() - loop_start)

  device = jax.devices()[0]
  print(f'device: {device.device_kind} ({jax.default_backend()})')
  print(f'matmul peak (2048^2 float32): {peak / 1e9:.1f} GFLOP/s')
  print(f'config: obs {o}, action {a}, batch {config.batch_size}, '
        f'N={config.num_samples}, policy {config.policy_hidden_sizes}, '
        f'critic {config.critic_hidden_sizes}, atoms {config.num_atoms}, '
        f'{config.sgd_steps_per_step} SGD steps per jitted call '
        f'(compile + first call {compile_s:.1f} s)')
  print(f'learner: {updates_per_s:.1f} SGD updates/s '
        f'({calls} calls in {elapsed:.2f} s)')
  print(f'FLOPs per SGD update (analytic): {flops / 1e9:.2f} GFLOP; achieved '
        f'{achieved / 1e9:.1f} GFLOP/s = {achieved / peak:.3f} of the peak')
  print(f'actor: {selects_per_s:.0f} select_action/s (jitted policy, one '
        f'observation); {actor_steps_per_s:.0f} steps/s with a fake '
        'environment in the environment loop')
  methods = {}
  for method in [m for m in args.end_to_end.split(',') if m]:
    methods[method] = end_to_end(method, args)
    print(f'end to end, {method}, {args.actors} actors: '
          f'{methods[method]["env_steps_per_s"]:.1f} primitive steps/s '
          f'({methods[method]})', flush=True)
  print(json.dumps({
      'end_to_end': methods,
      'updates_per_s': round(updates_per_s, 3),
      'sgd_steps_per_step_call': config.sgd_steps_per_step,
      'batch_size': config.batch_size,
      'observation_size': o, 'action_size': a,
      'flops_per_update': flops,
      'achieved_flops_per_s': achieved,
      'matmul_peak_flops_per_s': peak,
      'fraction_of_matmul_peak': round(achieved / peak, 4),
      'actor_steps_per_s': round(actor_steps_per_s, 1),
      'actor_select_action_per_s': round(selects_per_s, 1),
      'device': device.device_kind}))


if __name__ == '__main__':
  main()
