"""One handle on a trained phase-1 model: load it, act with it, plan with it.

  model = skill_vae.load('runs/phase1_k10')      # or model_from_learner(...)
  action = model.decode_action(state, z)        # p(a | s, z): the LL policy
  next_state = model.predict_next_state(state, z)  # p(s_t+K | s_t, z)
  features, predict = model.split_jumpy_model()    # what the planner shares
  model.aggregate_posterior   # q(z) fitted by fit_aggregate_posterior, or None

Everything that reads the phase-1 parameter tree by module or layer name
lives here: the planner's split model, the jumpy decoder's parameters for
finetuning, the learner's variables by module. States and actions are raw
(the environment's units) at this interface; normalisation is internal.
"""

import dataclasses
import json
import os
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

from absl import logging
import chex
import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme import checkpointing
from jumpy_acme import dataset_files
from jumpy_acme.agents.skill_vae import config as config_lib
from jumpy_acme.agents.skill_vae import losses
from jumpy_acme.agents.skill_vae import networks as networks_lib
from jumpy_acme.utils import activations

JUMPY_DECODER = 'jumpy_decoder'
MODULES = ('embedder', 'encoder', 'action_decoder', JUMPY_DECODER)


def module_params(params, name: str):
  """The parameters of one module ('embedder', ..., 'jumpy_decoder')."""
  modules = params['params']
  if name not in modules:
    raise ValueError(f'name: {name!r} is unknown; valid modules: '
                     f'{sorted(modules)}.')
  return modules[name]


def with_module_params(params, name: str, module):
  """`params` with one module's parameters replaced (a new tree)."""
  module_params(params, name)  # Checks the name.
  return {**params, 'params': {**params['params'], name: module}}


class AggregatePosterior(NamedTuple):
  """A diagonal Gaussian moment-matched to the aggregate posterior
  q(z) = E_data[q(z | s_t:t+K)]: mean [Z], std [Z]."""
  mean: Any
  std: Any


@dataclasses.dataclass(frozen=True)
class SkillModel:
  """A phase-1 model: config, networks, parameters and normalisation.

  Attributes:
    config: the SkillVAEConfig it was trained with.
    networks: pure init/apply functions of its modules.
    params: the Flax parameter tree.
    normalization: the dataset statistics of its inputs and targets.
    step: the learner step it was saved at (None if not from a checkpoint).
    aggregate_posterior: q(z) over its training data, if fitted
      (fit_aggregate_posterior; `load` reads it from the directory's
      aggregate_posterior.json when that was fitted for this model).
  """
  config: config_lib.SkillVAEConfig
  networks: networks_lib.SkillVAENetworks
  params: Any
  normalization: losses.Normalization
  step: Optional[int] = None
  aggregate_posterior: Optional[AggregatePosterior] = None

  @property
  def latent_size(self) -> int:
    return self.config.latent_size

  @property
  def K(self) -> int:  # pylint: disable=invalid-name
    return self.config.K

  def replace(self, **changes) -> 'SkillModel':
    return dataclasses.replace(self, **changes)

  def embed(self, state):
    """phi(s): raw state [S] -> features [E] (Figure 1's embedder)."""
    return self.networks.embed(self.params,
                               self.normalization.standardise(state))

  def encode(self, states):
    """q(z | s_t:t+K): raw snippet states [K+1, S] -> (mean [Z], std [Z])."""
    return self.networks.encode(self.params,
                                self.normalization.standardise(states))

  def decode_action(self, state, z, clip: bool = True):
    """The low-level policy's mean: (s [..., S] raw, z [Z]) -> a [..., A] in
    the action spec's units, clipped to it unless `clip` is False."""
    scaled = self.networks.decode_actions(
        self.params, self.normalization.standardise(state), z)
    if clip:
      scaled = jnp.clip(scaled, -1.0, 1.0)
    return scaled * self.normalization.action_scale

  def predict_next_state(self, state, z):
    """The jumpy model's mean: (s_t [S] raw, z [Z]) -> s_t+K [S] raw."""
    return losses.predict_next_state(self.networks, self.params,
                                     self.normalization, state, z)

  def split_jumpy_model(self) -> Tuple[Callable, Callable]:
    """The jumpy model split at its first layer, for the planner.

    The decoder's first layer acts on concat(phi(s), z): with
    W1 = [W1_phi; W1_z], W1^T [phi; z] = W1_phi^T phi + W1_z^T z. The first
    term depends on the state alone, so for the current state, which all N
    plans start from, the planner computes it once.

    With config.jumpy_input_action the input is concat(phi(s), z, a), a the
    action decoder's first action for (s, z) (networks.jumpy_input), and
    W1 = [W1_phi; W1_z; W1_a]: `predict` adds W1_a^T a for each z.

    Returns:
      features(s [S]) -> [D1]: W1_phi^T phi(standardise(s)) + b1;
      predict(f [D1], s [S], z [Z]) -> s + denormalise(MLP(elu(f + W1_z^T
      z [+ W1_a^T a(s, z)]))), equal to predict_next_state(s, z) when
      f = features(s).
    """
    decoder = module_params(self.params, JUMPY_DECODER)
    layers = [decoder[f'Dense_{i}'] for i in range(len(decoder))]
    embed_size = self.config.embed_sizes[-1]
    latent_end = embed_size + self.config.latent_size
    first = layers[0]
    w_phi = first['kernel'][:embed_size]
    w_z = first['kernel'][embed_size:latent_end]
    w_a = first['kernel'][latent_end:]
    chex.assert_shape(w_a, (self.config.action_size
                            if self.config.jumpy_input_action else 0, None))
    normalization = self.normalization
    networks, params = self.networks, self.params

    def features(state):
      return self.embed(state) @ w_phi + first['bias']

    def predict(first_features, state, z):
      pre = first_features + z @ w_z
      if self.config.jumpy_input_action:
        action = networks.decode_actions(params,
                                         normalization.standardise(state), z)
        pre = pre + action @ w_a
      x = activations.elu(pre)
      for layer in layers[1:-1]:
        x = activations.elu(x @ layer['kernel'] + layer['bias'])
      delta = x @ layers[-1]['kernel'] + layers[-1]['bias']
      return state + normalization.denormalise_delta(delta)

    return features, predict

  def jumpy_decoder_params(self):
    """The jumpy decoder's parameters (what finetuning changes)."""
    return module_params(self.params, JUMPY_DECODER)

  def with_jumpy_decoder_params(self, decoder) -> 'SkillModel':
    """This model with the jumpy decoder's parameters replaced."""
    return self.replace(
        params=with_module_params(self.params, JUMPY_DECODER, decoder))


def model_from_learner(learner) -> SkillModel:
  """The handle on a live SkillVAELearner's current parameters."""
  return SkillModel(learner.networks.config, learner.networks,
                    learner.state.params, learner.normalization,
                    int(learner.state.step))


EXPORT_PARAMS = 'model.npz'
EXPORT_MANIFEST = 'manifest.json'


def export(model: SkillModel, directory: str,
           manifest: Optional[Dict[str, Any]] = None) -> str:
  """Writes a model to ship: parameters and normalisation (no optimiser
  state) as one .npz, and a manifest.json with the config, the learner step
  and anything in `manifest` (command, commit, data, metrics). `load`
  reads it back. Returns the directory."""
  os.makedirs(directory, exist_ok=True)
  arrays = {'params/' + '/'.join(str(getattr(k, 'key', k)) for k in path):
            np.asarray(leaf) for path, leaf in
            jax.tree_util.tree_flatten_with_path(model.params)[0]}
  for name, value in model.normalization._asdict().items():
    arrays['normalization/' + name] = np.asarray(value)
  np.savez_compressed(os.path.join(directory, EXPORT_PARAMS), **arrays)
  with open(os.path.join(directory, EXPORT_MANIFEST), 'w') as f:
    json.dump({**(manifest or {}), 'format': 'jumpy_acme skill model 1',
               'step': model.step,
               'config': dataclasses.asdict(model.config)}, f, indent=1)
  return directory


def is_export(directory: str) -> bool:
  return os.path.exists(os.path.join(directory, EXPORT_PARAMS))


def _config_from_json(saved) -> config_lib.SkillVAEConfig:
  return config_lib.SkillVAEConfig(**{
      k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})


def _load_export(directory: str) -> SkillModel:
  with open(os.path.join(directory, EXPORT_MANIFEST)) as f:
    manifest = json.load(f)
  config = _config_from_json(manifest['config'])
  networks = networks_lib.make_networks(config)
  template = networks.init(jax.random.PRNGKey(0))
  with np.load(os.path.join(directory, EXPORT_PARAMS)) as saved:
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for path, leaf in paths:
      name = 'params/' + '/'.join(str(getattr(k, 'key', k)) for k in path)
      if name not in saved or saved[name].shape != leaf.shape:
        raise ValueError(
            f'checkpoint: {directory!r} does not fit its own config at '
            f'{name}: expected shape {leaf.shape}, got '
            f'{saved[name].shape if name in saved else "nothing"}.')
      leaves.append(jnp.asarray(saved[name]))
    normalization = losses.Normalization(**{
        name: jnp.asarray(saved['normalization/' + name])
        for name in losses.Normalization._fields})
  return SkillModel(config, networks,
                    jax.tree_util.tree_unflatten(treedef, leaves),
                    normalization, manifest.get('step'))


def saved_step(directory: str) -> Optional[int]:
  """The learner step of a checkpoint directory or an exported model."""
  if is_export(directory):
    with open(os.path.join(directory, EXPORT_MANIFEST)) as f:
      return json.load(f).get('step')
  return checkpointing.latest_step(directory)


def fingerprint(directory: str) -> str:
  """A sha256 of the model `load(directory)` returns: of an export's
  parameter file, or of a checkpoint directory's latest step (so a run
  trained further, or a model replaced under the same path, changes it).

  Raises:
    FileNotFoundError: naming the directory, when it holds no checkpoint.
  """
  if is_export(directory):
    return dataset_files.sha256(os.path.join(directory, EXPORT_PARAMS))
  step = saved_step(directory)
  if step is None:
    raise FileNotFoundError(f'checkpoint: no checkpoint in {directory!r}.')
  step_dir = os.path.join(directory, str(step))
  return dataset_files.tree_sha256(step_dir if os.path.isdir(step_dir)
                                   else directory)


AGGREGATE_POSTERIOR = 'aggregate_posterior.json'


def fit_aggregate_posterior(model: SkillModel, snippets,
                            batch_size: int = 1024) -> AggregatePosterior:
  """Moment-matches a diagonal Gaussian to q(z) = E_x[q(z | x)].

  With posterior means mu(x) and standard deviations sd(x) over the
  snippets x: mean = E[mu], std^2 = E[mu^2 + sd^2] - mean^2 (the mixture's
  variance). The paper draws plans from N(0, I); under free bits the
  encoder's q(z) can sit well inside the prior (docs/results.md,
  session 24), and this is the Gaussian that covers the skills the
  decoders were trained on.

  Args:
    model: the phase-1 model.
    snippets: [N, K+1, S] raw states, N >= 2 (e.g. a dataset's observations).
    batch_size: snippets encoded per jitted call.

  Raises:
    ValueError: snippets of another shape than [N, K+1, S], named.
  """
  snippets = np.asarray(snippets)
  expected = (model.K + 1, model.config.state_size)
  if snippets.ndim != 3 or snippets.shape[1:] != expected or (
      snippets.shape[0] < 2):
    raise ValueError(f'snippets: expected shape [N >= 2, K+1 = {expected[0]}, '
                     f'S = {expected[1]}], got {list(snippets.shape)}.')
  encode = jax.jit(jax.vmap(model.encode))
  first = np.zeros(model.latent_size)
  second = np.zeros(model.latent_size)
  for start in range(0, len(snippets), batch_size):
    mu, sd = encode(jnp.asarray(snippets[start:start + batch_size],
                                jnp.float32))
    mu, sd = np.asarray(mu, np.float64), np.asarray(sd, np.float64)
    first += mu.sum(0)
    second += (mu ** 2 + sd ** 2).sum(0)
  mean = first / len(snippets)
  std = np.sqrt(np.maximum(second / len(snippets) - mean ** 2, 0.0))
  return AggregatePosterior(jnp.asarray(mean, jnp.float32),
                            jnp.asarray(std, jnp.float32))


def save_aggregate_posterior(directory: str, posterior: AggregatePosterior,
                             provenance: Optional[Dict[str, Any]] = None
                             ) -> str:
  """Writes directory/aggregate_posterior.json for the model `load`
  returns from `directory` now (its fingerprint is recorded: a model
  retrained or replaced there no longer gets it). Returns the path."""
  path = os.path.join(directory, AGGREGATE_POSTERIOR)
  with open(path, 'w') as f:
    json.dump({**(provenance or {}), 'model': fingerprint(directory),
               'mean': np.asarray(posterior.mean).tolist(),
               'std': np.asarray(posterior.std).tolist()}, f, indent=1)
  return path


def _with_aggregate_posterior(model: SkillModel,
                              directory: str) -> SkillModel:
  """The model with its directory's aggregate posterior, if one was
  fitted for it."""
  path = os.path.join(directory, AGGREGATE_POSTERIOR)
  if not os.path.exists(path):
    return model
  with open(path) as f:
    saved = json.load(f)
  current = fingerprint(directory)
  if saved.get('model') != current:
    logging.warning('%s was fitted for another model (%s), not this one (%s):'
                    ' not used.', path, saved.get('model'), current)
    return model
  for name in ('mean', 'std'):
    if len(saved[name]) != model.latent_size:
      raise ValueError(f'{path}: {name} has {len(saved[name])} values, '
                       f'expected latent_size = {model.latent_size}.')
  return model.replace(aggregate_posterior=AggregatePosterior(
      jnp.asarray(saved['mean'], jnp.float32),
      jnp.asarray(saved['std'], jnp.float32)))


def load(checkpoint_dir: str, step: Optional[int] = None) -> SkillModel:
  """A saved phase-1 model (the latest checkpoint unless `step` is given),
  from a learner's checkpoint directory or an `export`ed model, with the
  aggregate posterior fitted for it if the directory holds one.

  Raises:
    FileNotFoundError: naming the directory, when it holds no checkpoint.
  """
  model = _load(checkpoint_dir, step)
  if step is not None and step != saved_step(checkpoint_dir):
    return model  # The fitted posterior belongs to the latest step.
  return _with_aggregate_posterior(model, checkpoint_dir)


def _load(checkpoint_dir: str, step: Optional[int] = None) -> SkillModel:
  from jumpy_acme.agents.skill_vae import learning  # pylint: disable=g-import-not-at-top
  if not os.path.isdir(checkpoint_dir):
    raise FileNotFoundError(
        f'checkpoint: no checkpoint in {checkpoint_dir!r} (not a directory).')
  if is_export(checkpoint_dir):
    return _load_export(checkpoint_dir)
  manager = checkpointing.CheckpointManager(checkpoint_dir, read_only=True)
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'checkpoint: no checkpoint in {checkpoint_dir!r}.')
  saved = manager.saved_config(step)
  config = _config_from_json(saved)
  networks = networks_lib.make_networks(config)
  params = networks.init(jax.random.PRNGKey(0))
  template = learning.TrainingState(
      params, learning.make_optimizer(config).init(params),
      jnp.zeros((), jnp.int32), jax.random.PRNGKey(0))
  normalization = losses.Normalization(*(jnp.zeros(config.state_size),) * 4,
                                       jnp.zeros(config.action_size))
  restored = manager.restore(step, state=template, normalization=normalization)
  return SkillModel(config, networks, restored['state'].params,
                    restored['normalization'], int(step))
