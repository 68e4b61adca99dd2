"""The phase-1 learner: one jitted update (several SGD steps via lax.scan).

Acme's Learner interface: step() pulls one batch of sgd_steps_per_step x
batch_size snippets from the (prefetching) iterator, runs the jitted update
on device, logs the loss terms, per-group state errors in real units, the
gradient norm, steps/s and the share of time spent waiting for data, and
checkpoints periodically with orbax (params, optimizer state, step, key,
normalisation statistics, config). A learner given a checkpoint directory
that already holds checkpoints resumes from the latest one.
"""

import functools
from typing import Any, Iterator, List, Mapping, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jumpy_acme import checkpointing
from jumpy_acme import core
from jumpy_acme import learner_steps
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents.skill_vae import config as config_lib
from jumpy_acme.agents.skill_vae import losses
from jumpy_acme.agents.skill_vae import model as model_lib
from jumpy_acme.agents.skill_vae import networks as networks_lib
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers
from jumpy_acme.utils import sharding

# Configuration fields a checkpoint must agree on to be restored.
_STRUCTURAL_FIELDS = ('K', 'state_size', 'action_size', 'embed_sizes',
                      'conv_channels', 'encoder_sizes', 'latent_size',
                      'decoder_sizes', 'action_input_hidden',
                      'jumpy_input_action')


class TrainingState(NamedTuple):
  params: Any
  opt_state: Any
  step: jax.Array  # SGD steps taken.
  key: jax.Array


def check_batch(config: config_lib.SkillVAEConfig, observations, actions,
                num: Optional[int] = None):
  """Raises ValueError naming what does not fit the config (host side)."""
  expected_obs = (config.K + 1, config.state_size)
  expected_act = (config.K, config.action_size)
  if np.ndim(observations) != 3 or tuple(np.shape(observations)[1:]) != (
      expected_obs):
    raise ValueError(
        f'observations: expected [n, K+1={config.K + 1}, state_size='
        f'{config.state_size}], got {tuple(np.shape(observations))}; check '
        'that the data was collected with the config\'s K and state size.')
  if np.ndim(actions) != 3 or tuple(np.shape(actions)[1:]) != expected_act:
    raise ValueError(
        f'actions: expected [n, K={config.K}, action_size='
        f'{config.action_size}], got {tuple(np.shape(actions))}.')
  if num is not None and np.shape(observations)[0] != num:
    raise ValueError(f'observations: expected {num} snippets per step '
                     '(sgd_steps_per_step x batch_size), got '
                     f'{np.shape(observations)[0]}.')
  for name, array in (('observations', observations), ('actions', actions)):
    finite = np.isfinite(np.asarray(array))
    if not finite.all():
      bad = np.argwhere(~finite)[0]
      raise ValueError(f'{name}: batch holds NaN or inf (first at index '
                       f'{tuple(int(i) for i in bad)}).')


def make_update(networks: networks_lib.SkillVAENetworks,
                optimizer: optax.GradientTransformation,
                state_groups: Optional[Mapping[str, Sequence[int]]] = None,
               num_devices: int = 1):
  """update(state, normalization, observations, actions) -> (state, metrics)

  observations [S * B, K+1, D], actions [S * B, K, A] (or already split,
  [S, B, K+1, D] and [S, B, K, A]): S = the config's sgd_steps_per_step
  SGD steps run as a lax.scan. Pure; jit it.
  `state_groups` (name -> state indices, e.g. the environment's arm, gripper
  and objects) adds the jumpy prediction's RMSE per group to the metrics.
  """
  config = networks.config
  groups = {name: np.asarray(index, np.int32)
            for name, index in (state_groups or {}).items()}
  for name, index in groups.items():
    if index.size == 0 or index.min() < 0 or index.max() >= config.state_size:
      raise ValueError(f'state_groups: {name!r} holds indices outside '
                       f'[0, {config.state_size}): {index.tolist()}.')

  def sgd_step(normalization, state: TrainingState, batch):
    observations, actions = batch
    key, sample_key = jax.random.split(state.key)
    keys = jax.random.split(sample_key, observations.shape[0])

    def batch_loss(params):
      per_example = functools.partial(losses.snippet_loss, networks, params,
                                      normalization)
      loss, metrics = jax.vmap(per_example)(observations, actions, keys)
      return jnp.mean(loss), metrics

    (_, metrics), grads = jax.value_and_grad(batch_loss, has_aux=True)(
        state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state,
                                          state.params)
    params = optax.apply_updates(state.params, updates)
    error = metrics.pop('state_error')  # [B, D], real units.
    summary = {k: jnp.mean(v) for k, v in metrics.items()}
    summary['grad_norm'] = optax.global_norm(grads)
    summary['state_rmse'] = jnp.sqrt(jnp.mean(error ** 2))
    for group, index in groups.items():
      summary[f'state_rmse_{group}'] = jnp.sqrt(jnp.mean(error[:, index] ** 2))
    return TrainingState(params, opt_state, state.step + 1, key), summary

  def update(state, normalization, observations, actions):
    steps = config.sgd_steps_per_step
    if observations.ndim == 3:  # [S * B, ...] -> [S, B, ...].
      reshape = lambda x: x.reshape((steps, -1) + x.shape[1:])
      observations, actions = reshape(observations), reshape(actions)
    state, metrics = jax.lax.scan(
        functools.partial(sgd_step, normalization), state,
        (observations, actions))
    return state, jax.tree_util.tree_map(jnp.mean, metrics)

  return update


def make_optimizer(config: config_lib.SkillVAEConfig
                   ) -> optax.GradientTransformation:
  """Adam with gradient-norm clipping, as the learner uses it."""
  return optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                     optax.adam(config.learning_rate))


class SkillVAELearner(core.Learner):
  """Learns the skill space, low-level policy and jumpy model (phase 1)."""

  def __init__(self, networks: networks_lib.SkillVAENetworks,
               iterator: Iterator[reverb_adders.Snippet],
               normalization: losses.Normalization,
               random_key: Optional[jax.Array] = None,
               logger: Optional[loggers.Logger] = None,
               counter: Optional[counting.Counter] = None,
               checkpoint_dir: Optional[str] = None,
               wait_seconds_fn=None,
               state_groups: Optional[Mapping[str, Sequence[int]]] = None,
               num_devices: int = 1):
    """Initializes the learner (and resumes from `checkpoint_dir`).

    Args:
      networks: make_networks(config).
      iterator: batches of sgd_steps_per_step x batch_size snippets (a
        Snippet of numpy or jax arrays, or a ReplaySample whose data is).
      normalization: dataset statistics (losses.Normalization).
      random_key: initial key (default: PRNGKey(config.seed)).
      logger: receives one row per step.
      counter: counts learner steps.
      checkpoint_dir: orbax checkpoints go (and are resumed from) here.
      wait_seconds_fn: returns the iterator's cumulated wait; default: the
        time spent in next(iterator).
      state_groups: name -> state indices, for per-group error metrics
        (make_update); the program passes its environment's.
      num_devices: local devices each batch is split over (data parallel:
        parameters replicated, gradients averaged; utils/sharding.py).
    """
    self._networks = networks
    self._config = config = networks.config
    self._iterator = iterator
    self._normalization = normalization
    self._recorder = learner_steps.StepRecorder(
        counter, logger, config.sgd_steps_per_step, wait_seconds_fn)
    self._optimizer = make_optimizer(config)
    key = (jax.random.PRNGKey(config.seed) if random_key is None
           else random_key)
    init_key, key = jax.random.split(key)
    params = networks.init(init_key)
    self._state = TrainingState(params, self._optimizer.init(params),
                                jnp.zeros((), jnp.int32), key)
    self._update = jax.jit(make_update(networks, self._optimizer,
                                       state_groups))
    self._manager = None
    if checkpoint_dir is not None:
      self._manager = checkpointing.CheckpointManager(
          checkpoint_dir, config, _STRUCTURAL_FIELDS,
          max_to_keep=config.checkpoints_to_keep)
      restored = self._manager.restore_latest(state=self._state,
                                              normalization=normalization)
      if restored is not None:
        self._state = restored['state']
        self._normalization = restored['normalization']
        self._recorder.resume(int(self._state.step))
    self._mesh = sharding.learner_mesh(num_devices, config.batch_size)
    if self._mesh is not None:
      self._state = sharding.replicate(self._mesh, self._state)
      self._normalization = sharding.replicate(self._mesh,
                                               self._normalization)

  @property
  def state(self) -> TrainingState:
    return self._state

  @property
  def networks(self) -> networks_lib.SkillVAENetworks:
    return self._networks

  @property
  def normalization(self) -> losses.Normalization:
    return self._normalization

  def step(self):
    config = self._config
    batch = self._recorder.next_batch(self._iterator)
    batch = getattr(batch, 'data', batch)  # A reverb.ReplaySample's data.
    num = config.sgd_steps_per_step * config.batch_size
    check_batch(config, batch.observations, batch.actions, num)
    observations, actions = batch.observations, batch.actions
    if self._mesh is not None:  # [S, B, ...] split over B.
      observations, actions = sharding.shard_steps(
          self._mesh, (observations, actions), config.sgd_steps_per_step,
          config.batch_size)
    self._state, metrics = self._update(self._state, self._normalization,
                                        observations, actions)
    metrics = self._recorder.record(metrics)
    if (self._manager is not None and
        self._recorder.steps % config.checkpoint_every == 0):
      self.checkpoint()
    return metrics

  def checkpoint(self):
    """Saves now, if the learner has a checkpoint directory.

    One orbax checkpoint at the current SGD step with the items 'state'
    (the TrainingState), 'normalization' (the statistics) and 'config'.
    """
    if self._manager is not None:
      self._manager.save(int(self._state.step), state=self._state,
                         normalization=self._normalization)

  def get_variables(self, names: Sequence[str]) -> List[Any]:
    """'params' (all), 'normalization', or a module: 'embedder', 'encoder',
    'action_decoder', 'jumpy_decoder'."""
    out = []
    for name in names:
      if name == 'params':
        out.append(self._state.params)
      elif name == 'normalization':
        out.append(self._normalization)
      elif name in model_lib.MODULES:
        out.append(model_lib.module_params(self._state.params, name))
      else:
        raise ValueError(f'names: {name!r} is unknown; valid names: params, '
                         f'normalization, {sorted(model_lib.MODULES)}.')
    return out

  def save(self) -> TrainingState:
    return self._state

  def restore(self, state: TrainingState):
    self._state = state
