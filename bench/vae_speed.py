"""Phase-1 learner speed: SGD steps/s, FLOPs per step, share of matmul peak.

In one run on this machine's default JAX device:
  - the matmul peak: a jitted float32 [2048, 2048] @ [2048, 2048] product,
    FLOP/s at its best of several repeats;
  - the learner's jitted update (sgd_steps_per_step SGD steps as a
    lax.scan) at batch 256, K = 10, the paper's sizes: SGD steps/s;
  - the analytic FLOPs one SGD step needs: the network's multiply-adds
    (each state embedded once), x2 for FLOPs, x3 for forward + backward.
Last line: one JSON object.
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme.agents import skill_vae
from jumpy_acme.agents.skill_vae import learning
from jumpy_acme.agents.skill_vae import losses
from jumpy_acme.utils import profiling


def flops_per_sgd_step(config: skill_vae.SkillVAEConfig) -> float:
  k, s, a, z = config.K, config.state_size, config.action_size, \
      config.latent_size
  e = (s,) + tuple(config.embed_sizes)
  embed = (k + 1) * sum(x * y for x, y in zip(e[:-1], e[1:]))
  f = e[-1]
  conv = f * (k + 1) * config.conv_channels
  enc = (f * config.conv_channels,) + tuple(config.encoder_sizes) + (2 * z,)
  encoder = sum(x * y for x, y in zip(enc[:-1], enc[1:]))
  def mlp(inputs, output):
    sizes = (inputs,) + tuple(config.decoder_sizes) + (output,)
    return sum(x * y for x, y in zip(sizes[:-1], sizes[1:]))
  actions = k * mlp(f + z, a)
  jumpy = mlp(f + z, s)
  macs = embed + conv + encoder + actions + jumpy
  return 3 * 2 * macs * config.batch_size


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--batch_size', type=int, default=256)
  parser.add_argument('--K', type=int, default=10)
  parser.add_argument('--sgd_steps_per_step', type=int, default=4)
  parser.add_argument('--updates', type=int, default=10)
  args = parser.parse_args()
  config = skill_vae.SkillVAEConfig(K=args.K, batch_size=args.batch_size,
                                    sgd_steps_per_step=args.sgd_steps_per_step)
  peak = profiling.matmul_peak_flops()
  networks = skill_vae.make_networks(config)
  rng = np.random.default_rng(0)
  n = config.batch_size * config.sgd_steps_per_step
  observations = jnp.asarray(rng.normal(size=(n, config.K + 1, 86)),
                             jnp.float32)
  actions = jnp.asarray(rng.uniform(-1, 1, size=(n, config.K, 5)),
                        jnp.float32)
  normalization = losses.Normalization(
      jnp.zeros(86), jnp.ones(86), -jnp.ones(86), jnp.ones(86), jnp.ones(5))
  optimizer = learning.make_optimizer(config)
  params = networks.init(jax.random.PRNGKey(0))
  state = learning.TrainingState(params, optimizer.init(params),
                                 jnp.zeros((), jnp.int32),
                                 jax.random.PRNGKey(1))
  update = jax.jit(learning.make_update(networks, optimizer))
  state, metrics = update(state, normalization, observations, actions)
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for _ in range(args.updates):
    state, metrics = update(state, normalization, observations, actions)
  jax.block_until_ready(metrics)
  elapsed = time.perf_counter() - start
  steps_per_s = args.updates * config.sgd_steps_per_step / elapsed
  flops = flops_per_sgd_step(config)
  achieved = flops * steps_per_s
  print(f'device: {jax.devices()[0].device_kind} ({jax.default_backend()})')
  print(f'matmul peak (2048^2 float32): {peak / 1e9:.1f} GFLOP/s')
  print(f'SGD steps/s at batch {config.batch_size}, K={config.K}: '
        f'{steps_per_s:.2f}')
  print(f'FLOPs per SGD step (analytic): {flops / 1e9:.2f} GFLOP; achieved '
        f'{achieved / 1e9:.1f} GFLOP/s = {achieved / peak:.2f} of the peak')
  print(json.dumps({'sgd_steps_per_s': round(steps_per_s, 3),
                    'flops_per_sgd_step': flops,
                    'achieved_flops_per_s': achieved,
                    'matmul_peak_flops_per_s': peak,
                    'fraction_of_matmul_peak': round(achieved / peak, 3),
                    'device': jax.devices()[0].device_kind}))


if __name__ == '__main__':
  main()
