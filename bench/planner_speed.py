"""Planner speed: decision latency, FLOPs per decision, share of matmul peak.

Random-shooting planning as in the paper (N = 1000 plans, H = 3 jumps,
I = 1 iteration) with the phase-1 jumpy model at the paper's sizes
(randomly initialised: speed does not depend on training) and the JAX
red_stack_blue reward, on this machine's default JAX device:
  - latency of one decision (median and p99 over --decisions calls): the
    jitted plan(key, state).z that the planning agent runs at every control
    step (XLA drops the outputs it does not use); `latency_ms_median_with_plans`
    is the same decision returning every plan, score and predicted
    trajectory as well (for plots, Figure 2);
  - the analytic FLOPs a decision needs (the first state's embedding, and
    its share of the decoder's first layer, are shared by all plans, so
    they count once; later states are embedded per plan) and achieved
    FLOP/s over the matmul peak measured in the same run;
  - decisions/s batched over 50 environments (jax.vmap);
  - the K = 1 planner at the same primitive horizon (H = 30 jumps):
    jumpy_speedup = its latency / the K = 10 planner's.
On CPU the whole measurement runs twice, in child processes, under each of
XLA's CPU runtimes (the default "thunk" runtime and the older one, chosen
with XLA_FLAGS=--xla_cpu_use_thunk_runtime=false): the planner's many
mid-sized ops run at different speeds under them. The figures reported are
the faster runtime's, and the peak is the best matmul peak either runtime
reached, so the fraction is never flattered by a slow reference. (With
jaxlib 0.4.34 and our exp-based ELU the default runtime is the faster.)
Last line: one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme.agents import planning
from jumpy_acme.agents import skill_vae
from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.utils import profiling


def _timed(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def flops_per_decision(config: skill_vae.SkillVAEConfig, samples: int,
                       horizon: int) -> float:
  """Multiply-adds x 2 of the matmuls: per state, phi and the phi part of
  the decoder's first layer; per plan and jump, the rest of the decoder."""
  s, z = config.state_size, config.latent_size
  e = (s,) + tuple(config.embed_sizes)
  first = config.decoder_sizes[0]
  embed = sum(x * y for x, y in zip(e[:-1], e[1:])) + e[-1] * first
  d = tuple(config.decoder_sizes) + (s,)
  decode = z * first + sum(x * y for x, y in zip(d[:-1], d[1:]))
  embeddings = 1 + samples * (horizon - 1)
  return 2 * (embeddings * embed + samples * horizon * decode)


def make_plan(k: int, samples: int, horizon: int):
  config = skill_vae.SkillVAEConfig(K=k)
  networks = skill_vae.make_networks(config)
  params = networks.init(jax.random.PRNGKey(0))
  norm = skill_vae.Normalization(jnp.zeros(86), jnp.ones(86), -jnp.ones(86),
                                 jnp.ones(86), jnp.ones(5))
  model = skill_vae.SkillModel(config, networks, params, norm)
  plan = planning.make_skill_planner(
      model, rewards.jax_reward('red_stack_blue'),
      planning.PlannerConfig(num_samples=samples, horizon=horizon))
  return config, plan


def latencies(plan, decisions: int, with_plans: bool = False) -> np.ndarray:
  """Seconds per decision: plan(key, state).z, or the whole PlanResult."""
  fn = jax.jit(plan if with_plans else lambda k, s: plan(k, s).z)
  state = jnp.asarray(np.random.default_rng(0).normal(size=86), jnp.float32)
  jax.block_until_ready(fn(jax.random.PRNGKey(0), state))
  return np.array([_timed(lambda i=i: jax.block_until_ready(
      fn(jax.random.PRNGKey(i), state))) for i in range(decisions)])


LEGACY_RUNTIME = '--xla_cpu_use_thunk_runtime=false'


def _child(runtime: str, argv) -> dict:
  env = dict(os.environ)
  if runtime == 'legacy':
    env['XLA_FLAGS'] = (env.get('XLA_FLAGS', '') + ' ' + LEGACY_RUNTIME)
  result = subprocess.run([sys.executable, __file__, '--measure', *argv],
                          env=env, capture_output=True, text=True,
                          check=True)
  print(f'-- XLA CPU runtime: {runtime}')
  print(result.stdout.strip())
  return json.loads(result.stdout.strip().splitlines()[-1])


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--samples', type=int, default=1000)
  parser.add_argument('--horizon', type=int, default=3)
  parser.add_argument('--decisions', type=int, default=30)
  parser.add_argument('--batch', type=int, default=50)
  parser.add_argument('--measure', action='store_true',
                      help='Measure in this process (else: one child per '
                      'XLA runtime on CPU).')
  args = parser.parse_args()
  if not args.measure and jax.default_backend() == 'cpu':
    argv = list(sys.argv[1:])
    runs = {r: _child(r, argv) for r in ('thunk', 'legacy')}
    peak = max(r['matmul_peak_flops'] for r in runs.values())
    best = min(runs, key=lambda r: runs[r]['latency_ms_median'])
    out = dict(runs[best])
    out['fraction_of_matmul_peak'] = round(
        out['flops_per_decision'] / (out['latency_ms_median'] / 1e3) / peak,
        3)
    out.update(runtime=best, matmul_peak_flops=peak,
               latency_ms_median_by_runtime={
                   r: v['latency_ms_median'] for r, v in runs.items()})
    print(f'-- reported: the {best} runtime ({out["latency_ms_median"]} ms '
          f'median), against the best peak of both ({peak / 1e9:.1f} '
          f'GFLOP/s): {out["fraction_of_matmul_peak"]:.2f} of the peak')
    print(json.dumps(out))
    return
  peak = profiling.matmul_peak_flops()
  config, plan = make_plan(10, args.samples, args.horizon)
  times = latencies(plan, args.decisions)
  median, p99 = np.median(times), np.percentile(times, 99)
  with_plans = np.median(latencies(plan, args.decisions, with_plans=True))
  flops = flops_per_decision(config, args.samples, args.horizon)
  achieved = flops / median

  batched = jax.jit(jax.vmap(lambda k, s: plan(k, s).z))
  keys = jax.random.split(jax.random.PRNGKey(0), args.batch)
  states = jnp.asarray(np.random.default_rng(1).normal(
      size=(args.batch, 86)), jnp.float32)
  batched(keys, states).block_until_ready()
  batch_time = min(_timed(lambda: batched(keys, states).block_until_ready())
                   for _ in range(3))

  _, plan_k1 = make_plan(1, args.samples, args.horizon * 10)
  times_k1 = latencies(plan_k1, max(5, args.decisions // 3))
  speedup = float(np.median(times_k1) / median)

  device = jax.devices()[0].device_kind
  print(f'device: {device}; matmul peak {peak / 1e9:.1f} GFLOP/s')
  print(f'K=10 decision (N={args.samples}, H={args.horizon}, I=1): median '
        f'{1e3 * median:.2f} ms, p99 {1e3 * p99:.2f} ms; returning every '
        f'plan too: {1e3 * with_plans:.2f} ms')
  print(f'FLOPs per decision: {flops / 1e9:.3f} GFLOP; achieved '
        f'{achieved / 1e9:.1f} GFLOP/s = {achieved / peak:.2f} of the peak')
  print(f'batched over {args.batch} environments: {batch_time * 1e3:.1f} ms '
        f'per batch = {args.batch / batch_time:.1f} decisions/s')
  print(f'K=1 planner at H={10 * args.horizon}: median '
        f'{1e3 * np.median(times_k1):.2f} ms -> jumpy speed-up {speedup:.1f}x')
  print(json.dumps({
      'latency_ms_median': round(1e3 * median, 3),
      'latency_ms_p99': round(1e3 * p99, 3),
      'latency_ms_median_with_plans': round(1e3 * with_plans, 3),
      'flops_per_decision': flops,
      'fraction_of_matmul_peak': round(achieved / peak, 3),
      'batched_decisions_per_s': round(args.batch / batch_time, 2),
      'jumpy_speedup': round(speedup, 2),
      'matmul_peak_flops': peak,
      'device': device}))


if __name__ == '__main__':
  main()
