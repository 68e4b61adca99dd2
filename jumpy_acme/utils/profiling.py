"""Reference figures that benchmarks measure their throughput against."""

import time

import jax
import jax.numpy as jnp


def matmul_peak_flops(n: int = 2048, repeats: int = 10) -> float:
  """FLOP/s of a jitted float32 [n, n] @ [n, n] product on the default
  device, at its best of `repeats` runs (after compiling)."""
  a = jnp.ones((n, n), jnp.float32)
  product = jax.jit(lambda x, y: x @ y)
  product(a, a).block_until_ready()
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    product(a, a).block_until_ready()
    best = min(best, time.perf_counter() - start)
  return 2 * n ** 3 / best
