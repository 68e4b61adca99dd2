"""Worker functions for launcher tests (module-level: spawn pickles them)."""

import time

import numpy as np

from jumpy_acme import replay


def counting_worker(context, steps: int, sleep_s: float = 0.0):
  """Counts `steps` steps, or until stopped."""
  for _ in range(steps):
    if context.stop.is_set():
      return
    context.counter.increment(actor_steps=1)
    time.sleep(sleep_s)


def forever_worker(context):
  """Counts until stopped (a stand-in for an actor)."""
  while not context.stop.is_set():
    context.counter.increment(actor_steps=1)
    time.sleep(0.01)


def failing_worker(context):
  raise RuntimeError(f'worker {context.index} fails on purpose')


def inserting_worker(context, table: str, size: int):
  """Inserts vectors into `table` until stopped (the rate limiter may hold
  it), counting inserts."""
  client = replay.connect(context.reverb_address)
  with client.trajectory_writer(num_keep_alive_refs=1) as writer:
    while not context.stop.is_set():
      writer.append(np.full(size, context.index, np.float32))
      writer.create_item(table, 1.0, writer.history[-1])
      try:
        writer.flush(timeout_ms=200)
      except Exception:  # pylint: disable=broad-except  # Rate limited.
        continue
      context.counter.increment(actor_steps=1)


def sampling_worker(context, table: str, batches: int, batch_size: int):
  """Samples `batches` batches from `table`, counting sampled items."""
  client = replay.connect(context.reverb_address)
  for _ in range(batches):
    if context.stop.is_set():
      return
    samples = list(client.sample(table, num_samples=batch_size,
                                 emit_timesteps=False))
    context.counter.increment(learner_samples=len(samples))


def publishing_learner(context, versions: int):
  """Publishes {'policy': w} with w = version, versions 1..n."""
  from jumpy_acme import variables  # pylint: disable=g-import-not-at-top
  client = replay.connect(context.reverb_address)
  publisher = variables.VariablePublisher(client)
  for version in range(1, versions + 1):
    if context.stop.is_set():
      return
    publisher.publish({'policy': {'w': np.full((3,), version, np.float32)}},
                      version=version)
    context.counter.increment(learner_steps=1)
    time.sleep(0.2)


def fetching_actor(context, want_version: int):
  """Fetches until it sees `want_version`, checking the values match it."""
  from jumpy_acme import variables  # pylint: disable=g-import-not-at-top
  client = replay.connect(context.reverb_address)
  source = variables.VariableClient(
      client, {'policy': {'w': np.zeros((3,), np.float32)}}, timeout_s=30)
  while not context.stop.is_set():
    source.update_and_wait()
    params = source.params
    assert np.all(params['w'] == source.version), (params, source.version)
    if source.version >= want_version:
      context.counter.increment(actor_steps=1)
      return
    time.sleep(0.05)


def make_queue_tables(name: str = 't', size: int = 100):
  """A picklable table factory (the Ray launcher builds tables remotely)."""
  import reverb  # pylint: disable=g-import-not-at-top
  return [reverb.Table.queue(name, size)]


def stubborn_worker(context, path: str):
  """Ignores the stop event (a learner inside a long step) and writes
  `path` in its cleanup, as a learner writes its checkpoint; `path`.started
  says it is running."""
  with open(f'{path}.started.{context.index}', 'w') as f:
    f.write('started')
  try:
    while True:
      context.counter.increment(actor_steps=1)
      time.sleep(0.01)
  finally:
    with open(f'{path}.{context.index}', 'w') as f:
      f.write('cleaned up')
