"""The variable store: a Flax parameter tree round-trips through Reverb."""

import subprocess
import sys
import textwrap
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme import variables


class _MLP(nn.Module):

  @nn.compact
  def __call__(self, x):
    x = nn.LayerNorm()(nn.Dense(8)(x))
    return nn.Dense(3)(nn.elu(x))


def _params(seed):
  return _MLP().init(jax.random.PRNGKey(seed), jnp.zeros((1, 5)))


def _assert_trees_equal(a, b):
  assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture
def store(reverb_server):
  _, client = reverb_server([variables.make_variable_table()])
  return client


def test_flax_params_round_trip(store):
  params = _params(0)
  variables.VariablePublisher(store).publish({'policy': params}, version=3)
  client = variables.VariableClient(store, {'policy': _params(1)})
  [fetched] = client.get_variables(['policy'])
  _assert_trees_equal(fetched, params)
  assert client.version == 3
  # The fetched tree runs through the network like the original.
  x = jnp.ones((2, 5))
  np.testing.assert_allclose(_MLP().apply(fetched, x),
                             _MLP().apply(params, x))
  assert store.server_info()['variables'].current_size == 1


def test_several_names_and_newest_wins(store):
  publisher = variables.VariablePublisher(store)
  publisher.publish({'policy': _params(0), 'critic': _params(1)}, version=1)
  publisher.publish({'policy': _params(2), 'critic': _params(3)}, version=2)
  assert store.server_info()['variables'].current_size == 1
  client = variables.VariableClient(
      store, {'policy': _params(0), 'critic': _params(0)})
  critic, policy = client.get_variables(['critic', 'policy'])
  _assert_trees_equal(critic, _params(3))
  _assert_trees_equal(policy, _params(2))
  with pytest.raises(ValueError, match="names: \\['value'\\]"):
    client.get_variables(['value'])


def test_update_fetches_every_update_period_calls(store):
  publisher = variables.VariablePublisher(store)
  publisher.publish({'policy': _params(0)}, version=1)
  client = variables.VariableClient(store, {'policy': _params(0)},
                                    update_period=3)
  client.update_and_wait()
  assert client.version == 1
  publisher.publish({'policy': _params(5)}, version=2)
  client.update(wait=True)
  client.update(wait=True)
  assert client.version == 1  # Two calls: no fetch yet.
  client.update(wait=True)
  assert client.version == 2
  _assert_trees_equal(client.params, _params(5))
  # Asynchronous: the third call starts a fetch; a later call applies it.
  publisher.publish({'policy': _params(6)}, version=3)
  for _ in range(3):
    client.update()
  deadline = time.monotonic() + 10
  while client.version != 3 and time.monotonic() < deadline:
    time.sleep(0.02)
    client.update()
  assert client.version == 3
  client.close()


def test_mismatched_template_names_the_leaf(store):
  variables.VariablePublisher(store).publish({'policy': _params(0)})
  wrong = _params(0)
  wrong = jax.tree_util.tree_map(lambda x: x, wrong)
  wrong['params']['Dense_1']['kernel'] = jnp.zeros((8, 4))
  client = variables.VariableClient(store, {'policy': wrong})
  with pytest.raises(ValueError, match=r"Dense_1'\]\['kernel'\]: expected "
                     r"\(8, 4\) float32, got \(8, 3\) float32"):
    client.update_and_wait()


def test_empty_store_times_out_with_a_clear_error(store):
  client = variables.VariableClient(store, {'policy': _params(0)},
                                    timeout_s=0.3)
  with pytest.raises(TimeoutError, match='is the learner running'):
    client.update_and_wait()


def test_bad_arguments(store):
  with pytest.raises(ValueError, match='update_period: expected >= 1'):
    variables.VariableClient(store, {'policy': _params(0)}, update_period=0)
  with pytest.raises(ValueError, match='no table'):
    variables.VariableClient(store, {'policy': _params(0)},
                             table='nope').update_and_wait()


class _CountingSource(variables.core.VariableSource):
  """A learner stand-in whose 'policy' is the number of fetches so far."""

  def __init__(self):
    self.fetches = 0

  def get_variables(self, names):
    self.fetches += 1
    return [np.float32(self.fetches) for _ in names]


def test_source_client_fetches_every_update_period_calls():
  source = _CountingSource()
  client = variables.SourceVariableClient(source, ['policy'],
                                          update_period=4)
  assert client.latest('policy') == 1  # The first read fetches.
  for _ in range(3):
    client.update(wait=True)
  assert source.fetches == 1 and client.latest('policy') == 1
  client.update(wait=True)  # The 4th call.
  assert source.fetches == 2 and client.latest('policy') == 2
  assert client.version == 2  # The count of fetches (no version given).
  with pytest.raises(ValueError, match=r"names: \['critic'\] are not among"):
    client.latest('critic')
  with pytest.raises(ValueError, match='source: expected a VariableSource'):
    variables.SourceVariableClient(None, ['policy'])
  client.close()


def test_a_fixed_source_gives_its_tree_under_every_name():
  tree = {'w': np.arange(3.0)}
  client = variables.SourceVariableClient(
      variables.FixedVariableSource(tree), ['policy', 'critic'])
  policy, critic = client.get_variables(['policy', 'critic'])
  np.testing.assert_array_equal(policy['w'], [0.0, 1.0, 2.0])
  assert critic is policy


def test_a_fetch_that_never_returns_does_not_block_exit():
  """A background fetch stuck on a source that went away (a stopped Reverb
  server) must not keep the actor's process alive at exit."""
  script = textwrap.dedent('''
      import threading
      from jumpy_acme import variables

      class Stuck(variables.core.VariableSource):
        def __init__(self):
          self.calls = 0
        def get_variables(self, names):
          self.calls += 1
          if self.calls > 1:  # The first read answers; later ones hang.
            threading.Event().wait()
          return [0.0 for _ in names]

      client = variables.SourceVariableClient(Stuck(), ['policy'])
      client.latest('policy')
      client.update()  # Starts a fetch that never returns.
      print('done')
      ''')
  result = subprocess.run([sys.executable, '-c', script], capture_output=True,
                          text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip() == 'done'
