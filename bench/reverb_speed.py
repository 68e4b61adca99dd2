"""Throughput of the Reverb plumbing at phase-1 sizes (86-D state, 5-D action).

Measures, in one run on this machine:
  - SnippetAdder (K = 10, stride 1): environment steps/s written, against a
    reference loop of bare TrajectoryWriter appends + create_item with the
    same item layout (the adder's own overhead: validation, bookkeeping);
  - the prefetching dataset iterator: batches/s of 256 snippets, against a
    reference of the bare tf.data pipeline it wraps.
The simulator makes ~40 steps/s per core, so the adder must be far faster.
Last line: one JSON object.
"""

import json
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import dm_env  # noqa: E402
from dm_env import specs as dm_env_specs  # noqa: E402
import numpy as np  # noqa: E402
import reverb  # noqa: E402

from jumpy_acme import datasets  # noqa: E402
from jumpy_acme import specs  # noqa: E402
from jumpy_acme.adders import reverb as reverb_adders  # noqa: E402

K = 10
STEPS = 4000
EPISODE = 400
BATCH = 256
BATCHES = 40


def _spec():
  return specs.EnvironmentSpec(
      observations=dm_env_specs.Array((86,), np.float32),
      actions=dm_env_specs.BoundedArray((5,), np.float32, -1, 1),
      rewards=dm_env_specs.Array((), np.float32),
      discounts=dm_env_specs.Array((), np.float32))


def _table(name, spec):
  return reverb.Table(name, reverb.selectors.Uniform(),
                      reverb.selectors.Fifo(), max_size=100_000,
                      rate_limiter=reverb.rate_limiters.MinSize(1),
                      signature=reverb_adders.SnippetAdder.signature(spec, K))


def bench_adder(client, spec, rng):
  states = rng.normal(size=(EPISODE + 1, 86)).astype(np.float32)
  actions = rng.uniform(-1, 1, size=(EPISODE, 5)).astype(np.float32)
  adder = reverb_adders.SnippetAdder(client, K=K, environment_spec=spec,
                                     table='adder')
  start = time.perf_counter()
  for _ in range(STEPS // EPISODE):
    adder.add_first(dm_env.restart(states[0]))
    for t in range(EPISODE):
      step = (dm_env.truncation if t == EPISODE - 1 else dm_env.transition)
      adder.add(actions[t], step(np.float32(0), states[t + 1]))
  adder.close()
  adder_rate = STEPS / (time.perf_counter() - start)

  writer = client.trajectory_writer(num_keep_alive_refs=K + 1)
  start = time.perf_counter()
  for _ in range(STEPS // EPISODE):
    writer.append({'observation': states[0]})
    for t in range(EPISODE):
      writer.append({'observation': states[t + 1], 'action': actions[t]})
      if t + 1 >= K:
        history = writer.history
        writer.create_item('reference', 1.0, reverb_adders.Snippet(
            history['observation'][-(K + 1):], history['action'][-K:], ()))
    writer.end_episode()
  writer.close()
  reference_rate = STEPS / (time.perf_counter() - start)
  return adder_rate, reference_rate


def bench_iterator(address):
  iterator = datasets.make_dataset_iterator(address, 'adder', BATCH)
  next(iterator)
  start = time.perf_counter()
  for _ in range(BATCHES):
    next(iterator)
  ours = BATCHES / (time.perf_counter() - start)
  iterator.close()
  bare = datasets.make_reverb_dataset(address, 'adder', BATCH)
  bare_iter = bare.as_numpy_iterator()
  next(bare_iter)
  start = time.perf_counter()
  for _ in range(BATCHES):
    next(bare_iter)
  reference = BATCHES / (time.perf_counter() - start)
  return ours, reference


def main():
  spec = _spec()
  server = reverb.Server([_table('adder', spec), _table('reference', spec)])
  address = f'localhost:{server.port}'
  client = reverb.Client(address)
  rng = np.random.default_rng(0)
  adder_rate, reference_rate = bench_adder(client, spec, rng)
  print(f'SnippetAdder (K={K}): {adder_rate:,.0f} env steps/s; bare writer '
        f'{reference_rate:,.0f}/s; ratio {adder_rate / reference_rate:.2f}')
  ours, reference = bench_iterator(address)
  print(f'Dataset iterator (batch {BATCH}): {ours:,.1f} batches/s; bare '
        f'tf.data {reference:,.1f}/s; ratio {ours / reference:.2f}')
  server.stop()
  print(json.dumps({
      'adder_steps_per_s': round(adder_rate, 1),
      'adder_ratio_to_bare_writer': round(adder_rate / reference_rate, 3),
      'iterator_batches_per_s': round(ours, 2),
      'iterator_ratio_to_bare_dataset': round(ours / reference, 3),
  }))


if __name__ == '__main__':
  main()
