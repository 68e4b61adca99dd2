r"""A 30-second tour of the infrastructure: collect -> Reverb -> learn.

The paper's pipeline is launchers/pipeline.py (`make run`); this demo
exercises the distributed plumbing alone, on RGB-stacking (or, with
--environment=point_mass, a tiny debugging environment):

  random actors --SnippetAdder--> Reverb table of K-step snippets
  prefetching dataset iterator --> jitted SGD on a linear jumpy model
      (predicts s_{t+K} - s_t from s_t and the K actions)
  learner --VariablePublisher--> Reverb variable table --> VariableClient

and prints the model's error (in units of the K-step change's standard
deviation, per dimension) against the "no change" baseline. Logs land in
--output_dir: learner/logs.jsonl, actor/logs.jsonl, TensorBoard events.

  python -m jumpy_acme.launchers.pipeline_demo --output_dir=results/demo
"""

import json
import os
import time
from typing import NamedTuple

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import optax
import reverb

from jumpy_acme import actors
from jumpy_acme import datasets
from jumpy_acme import environments
from jumpy_acme import environment_loop
from jumpy_acme import replay
from jumpy_acme import specs
from jumpy_acme import variables
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.environments import point_mass
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers

_OUTPUT_DIR = flags.DEFINE_string('output_dir', 'results/demo',
                                  'Where logs and the summary go.')
_ENVIRONMENT = flags.DEFINE_enum('environment', 'rgb_stacking',
                                 ['rgb_stacking', 'point_mass'],
                                 'Where the random actors act.')
_NUM_EPISODES = flags.DEFINE_integer('num_episodes', 4,
                                     'Episodes to collect.')
_EPISODE_LENGTH = flags.DEFINE_integer('episode_length', 400,
                                       'Control steps per episode.')
_K = flags.DEFINE_integer('K', 10, 'Snippet length in actions.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 64, 'SGD batch size.')
_NUM_SGD_STEPS = flags.DEFINE_integer('num_sgd_steps', 300, 'SGD steps.')
_SEED = flags.DEFINE_integer('seed', 0, 'Random seed.')


class _Scales(NamedTuple):
  """Per-dimension scales that put states, actions and deltas near unit."""
  state_mean: np.ndarray
  state_std: np.ndarray
  action_scale: np.ndarray
  delta_std: np.ndarray


def _scales(observations, actions) -> _Scales:
  delta = observations[:, -1] - observations[:, 0]
  floor = lambda x: np.maximum(x, 1e-3)
  return _Scales(observations[:, 0].mean(0), floor(observations[:, 0].std(0)),
                 floor(np.abs(actions).max((0, 1))), floor(delta.std(0)))


def _features(scales, observations, actions):
  """[B, K+1, S], [B, K, A] -> [B, S + K*A + 1]: s_t, the actions, a bias."""
  batch = observations.shape[0]
  state = (observations[:, 0] - scales.state_mean) / scales.state_std
  return jnp.concatenate([state, (actions / scales.action_scale).reshape(
      batch, -1), jnp.ones((batch, 1))], axis=-1)


def _loss(weights, scales, observations, actions):
  """Mean squared error of the K-step state change, in delta-std units."""
  delta = (observations[:, -1] - observations[:, 0]) / scales.delta_std
  prediction = _features(scales, observations, actions) @ weights
  return jnp.mean(jnp.sum((prediction - delta) ** 2, axis=-1))


def main(_):
  output_dir = _OUTPUT_DIR.value
  os.makedirs(output_dir, exist_ok=True)
  K = _K.value  # pylint: disable=invalid-name
  if _ENVIRONMENT.value == 'point_mass':
    env = point_mass.PointMass(episode_length=_EPISODE_LENGTH.value,
                               seed=_SEED.value)
  else:
    env = environments.make('reach_red', seed=_SEED.value,
                            episode_length=_EPISODE_LENGTH.value)
  spec = specs.make_environment_spec(env)

  server = reverb.Server([
      replay.snippet_table('snippets', spec, K, max_size=100_000),
      variables.make_variable_table(),
  ])
  address = f'localhost:{server.port}'
  client = reverb.Client(address)
  counter = counting.Counter()

  # 1. Collection.
  adder = reverb_adders.SnippetAdder(client, K=K, environment_spec=spec)
  actor = actors.RandomActor(spec, adder=adder, seed=_SEED.value)
  actor_logger = loggers.make_default_logger(
      'actor', output_dir, time_delta=2.0, steps_key='actor_steps')
  loop = environment_loop.EnvironmentLoop(
      env, actor, counter=counting.Counter(counter, 'actor', time_delta=0),
      logger=actor_logger)
  start = time.time()
  steps = loop.run(num_episodes=_NUM_EPISODES.value)
  adder.close()
  num_items = client.server_info()['snippets'].current_size
  print(f'Collected {steps} steps -> {num_items} snippets of K={K} in '
        f'{time.time() - start:.1f} s.')

  # 2. Learning from the table, on scales measured from a first sample.
  stats_iterator = datasets.make_dataset_iterator(address, 'snippets',
                                                  batch_size=1024)
  sample = next(stats_iterator).data
  stats_iterator.close()
  scales = _scales(sample.observations, sample.actions)
  iterator = datasets.make_dataset_iterator(
      address, 'snippets', batch_size=_BATCH_SIZE.value, device_put=True)
  num_features = spec.observations.shape[0] + K * spec.actions.shape[0] + 1
  weights = jnp.zeros((num_features, spec.observations.shape[0]))
  optimizer = optax.adam(3e-3)
  opt_state = optimizer.init(weights)

  @jax.jit
  def update(weights, opt_state, observations, actions):
    loss, grads = jax.value_and_grad(_loss)(weights, scales, observations,
                                            actions)
    updates, opt_state = optimizer.update(grads, opt_state)
    return optax.apply_updates(weights, updates), opt_state, loss

  publisher = variables.VariablePublisher(client)
  learner_logger = loggers.make_default_logger(
      'learner', output_dir, time_delta=2.0, steps_key='learner_steps')
  learner_counter = counting.Counter(counter, 'learner', time_delta=0)
  losses = []
  start = time.time()
  for step in range(1, _NUM_SGD_STEPS.value + 1):
    batch = next(iterator).data
    weights, opt_state, loss = update(weights, opt_state, batch.observations,
                                      batch.actions)
    losses.append(float(loss))
    counts = learner_counter.increment(steps=1)
    if step % 50 == 0 or step == _NUM_SGD_STEPS.value:
      publisher.publish({'model': weights}, version=step)
      learner_logger.write({**counts, 'loss': losses[-1],
                            'steps_per_second': step / (time.time() - start),
                            'data_wait_share': iterator.wait_seconds /
                                               (time.time() - start)})
  iterator.close()

  # 3. Acting side: fetch the published model, score it on fresh batches.
  fetched = variables.VariableClient(client, {'model': weights}).params
  eval_iterator = datasets.make_dataset_iterator(address, 'snippets',
                                                 batch_size=512)
  batch = next(eval_iterator).data
  eval_iterator.close()
  model_error = float(_loss(fetched, scales, batch.observations,
                            batch.actions))
  baseline = float(np.mean(np.sum(
      ((batch.observations[:, -1] - batch.observations[:, 0]) /
       scales.delta_std) ** 2, -1)))
  summary = {
      'env_steps': steps, 'snippets': num_items, 'K': K,
      'sgd_steps': _NUM_SGD_STEPS.value, 'first_loss': losses[0],
      'last_loss': losses[-1], 'model_error': model_error,
      'no_change_error': baseline,
      'error_ratio_to_no_change': model_error / baseline,
      'counts': counter.get_counts(),
  }
  with open(os.path.join(output_dir, 'summary.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  print(f'Linear jumpy model: K-step error {model_error:.4f} vs {baseline:.4f}'
        f' for "no change" (ratio {model_error / baseline:.3f}).')
  print(f'Logs and summary.json in {os.path.abspath(output_dir)}')
  print(json.dumps(summary))
  actor_logger.close()
  learner_logger.close()
  server.stop()


if __name__ == '__main__':
  app.run(main)
