"""Batches from a real Reverb table, and the prefetching iterator."""

import time

import jax
import numpy as np
import pytest
import reverb

from jumpy_acme import datasets
from jumpy_acme import environment_loop
from jumpy_acme import specs
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.testing import fakes
from jumpy_acme.utils import loggers


def _uniform_table(name, signature):
  return reverb.Table(name=name, sampler=reverb.selectors.Uniform(),
                      remover=reverb.selectors.Fifo(), max_size=1000,
                      rate_limiter=reverb.rate_limiters.MinSize(1),
                      signature=signature)


@pytest.mark.parametrize('device_put', [False, True])
def test_snippet_batches_have_the_shapes_and_contents(reverb_server,
                                                      device_put):
  env = fakes.SequenceEnvironment(episode_length=8)
  spec = specs.make_environment_spec(env)
  signature = reverb_adders.SnippetAdder.signature(spec, K=3)
  server, client = reverb_server([_uniform_table('snippets', signature)])
  adder = reverb_adders.SnippetAdder(client, K=3, environment_spec=spec)
  actor = fakes.CountingActor(spec, adder=adder)
  environment_loop.EnvironmentLoop(env, actor, logger=loggers.NoOpLogger()
                                   ).run(num_episodes=3)
  iterator = datasets.make_dataset_iterator(
      f'localhost:{server.port}', 'snippets', batch_size=4,
      device_put=device_put)
  for _ in range(3):
    batch = next(iterator).data
    assert batch.observations.shape == (4, 4, 3)
    assert batch.actions.shape == (4, 3, 2)
    if device_put:
      assert isinstance(batch.observations, jax.Array)
    obs = np.asarray(batch.observations)
    actions = np.asarray(batch.actions)
    for b in range(4):
      start = obs[b, 0, 1]
      np.testing.assert_array_equal(obs[b, :, 1], start + np.arange(4))
      np.testing.assert_array_equal(actions[b, :, 0], obs[b, :-1, 1])
  assert iterator.retrieved_elements() == 3
  iterator.close()


def test_prefetch_iterator_reraises_and_stops():
  def source():
    yield 1
    yield 2
    raise RuntimeError('source broke')
  iterator = datasets.PrefetchIterator(source(), buffer_size=1)
  assert [next(iterator), next(iterator)] == [1, 2]
  with pytest.raises(RuntimeError, match='source broke'):
    next(iterator)

  finite = datasets.PrefetchIterator(iter([1, 2, 3]), buffer_size=2,
                                     transform=lambda x: 10 * x)
  assert list(finite) == [10, 20, 30]
  with pytest.raises(StopIteration):
    next(finite)


def test_prefetch_iterator_measures_waiting():
  def slow():
    for i in range(3):
      time.sleep(0.1)
      yield i
  iterator = datasets.PrefetchIterator(slow(), buffer_size=1)
  assert list(iterator) == [0, 1, 2]
  assert iterator.wait_seconds > 0.15  # The consumer waited for ~3 x 0.1 s.

  fast = datasets.PrefetchIterator(iter(range(3)), buffer_size=5)
  time.sleep(0.2)
  assert fast.ready()
  assert list(fast) == [0, 1, 2]
  assert fast.wait_seconds < 0.05
  with pytest.raises(ValueError, match='buffer_size: expected >= 1'):
    datasets.PrefetchIterator(iter([]), buffer_size=0)
