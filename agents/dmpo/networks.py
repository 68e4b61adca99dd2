"""DMPO's networks: a Gaussian policy and a categorical critic.

  policy:  o [O] -> LayerNorm-MLP (256, 256, 256) -> mean [D],
           stddev [D] = softplus(raw) * init_scale / softplus(0) + min_scale
  critic:  concat(o [O], clip(a, -1, 1) [D]) -> LayerNorm-MLP
           (512, 512, 256) -> logits [L] over L atoms on [-vmax, vmax]

A LayerNorm-MLP is Linear + LayerNorm + tanh, then Linear + ELU per size
(Acme's LayerNormMLP with activate_final). The policy mean has no tanh, as in
MPO; action penalization (losses.py) keeps it near the action box instead.

Actions inside the agent are *canonical*: the spec's box [min, max] mapped
affinely onto [-1, 1]. `to_canonical` / `to_environment` convert; the critic
clips canonical actions to [-1, 1] (Acme's ClipToSpec), the actor clips before
acting. An unbounded action spec (specs.Array) is used as is, unclipped.
Observations are flattened to [O] after any batch dimensions.
"""

import dataclasses
from typing import Callable, Optional, Sequence, Tuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme import specs
from jumpy_acme.agents.dmpo import config as config_lib
from jumpy_acme.utils import activations


# Standardised observations are clipped to +-this many data standard
# deviations (a state far outside the data, e.g. a diverging simulation,
# stays a bounded input).
OBSERVATION_CLIP = 10.0


class LayerNormMLP(nn.Module):
  """Linear + LayerNorm + tanh, then Linear + ELU for each further size."""
  sizes: Sequence[int]

  @nn.compact
  def __call__(self, x):
    x = jnp.tanh(nn.LayerNorm()(nn.Dense(self.sizes[0])(x)))
    for size in self.sizes[1:]:
      x = activations.elu(nn.Dense(size)(x))
    return x


class GaussianPolicy(nn.Module):
  """o [..., O] -> (mean [..., D], stddev [..., D])."""
  hidden_sizes: Sequence[int]
  action_size: int
  init_scale: float
  min_scale: float

  @nn.compact
  def __call__(self, observation):
    x = LayerNormMLP(self.hidden_sizes)(observation)
    small = nn.initializers.variance_scaling(1e-4, 'fan_in',
                                             'truncated_normal')
    mean = nn.Dense(self.action_size, kernel_init=small, name='mean')(x)
    raw = nn.Dense(self.action_size, kernel_init=small, name='scale')(x)
    stddev = (jax.nn.softplus(raw) * self.init_scale / jax.nn.softplus(0.0)
              + self.min_scale)
    return mean, stddev


class CategoricalCritic(nn.Module):
  """(o [..., O], canonical a [..., D], extra [..., F]) -> logits [..., L].

  extra: fixed (untrained) features of (o, a) concatenated to the input, or
  None (F = 0), the default.
  """
  hidden_sizes: Sequence[int]
  num_atoms: int
  clip_actions: bool

  @nn.compact
  def __call__(self, observation, action, extra=None):
    if self.clip_actions:
      action = jnp.clip(action, -1.0, 1.0)
    inputs = [observation, action]
    if extra is not None:
      inputs.append(jax.lax.stop_gradient(extra))
    x = LayerNormMLP(self.hidden_sizes)(jnp.concatenate(inputs, axis=-1))
    small = nn.initializers.variance_scaling(1e-5, 'fan_in',
                                             'truncated_normal')
    return nn.Dense(self.num_atoms, kernel_init=small, name='logits')(x)


@dataclasses.dataclass(frozen=True)
class DMPONetworks:
  """Pure functions of DMPO's networks (params first) and the action box.

  Attributes:
    policy_init: key -> policy params.
    policy_apply: (params, o [..., *obs_shape]) -> (mean, stddev) [..., D],
      in canonical action units.
    critic_init: key -> critic params.
    critic_apply: (params, o [..., *obs_shape], canonical a [..., D]) ->
      logits [..., L].
    atoms: [L] the critic's support, linspace(-vmax, vmax, L).
    observation_shape: the spec's observation shape.
    action_size: D.
    action_minimum, action_maximum: [D] the spec's bounds (None: unbounded).
    config: the config the networks were made with.
  """
  policy_init: Callable[[jax.Array], chex.ArrayTree]
  policy_apply: Callable[..., Tuple[jax.Array, jax.Array]]
  critic_init: Callable[[jax.Array], chex.ArrayTree]
  critic_apply: Callable[..., jax.Array]
  atoms: jax.Array
  observation_shape: Tuple[int, ...]
  action_size: int
  action_minimum: Optional[np.ndarray]
  action_maximum: Optional[np.ndarray]
  config: config_lib.DMPOConfig

  @property
  def bounded(self) -> bool:
    return self.action_minimum is not None

  def to_canonical(self, action: jax.Array) -> jax.Array:
    """Environment units [..., D] -> canonical units ([min, max] -> [-1, 1])."""
    if not self.bounded:
      return action
    low, high = self.action_minimum, self.action_maximum
    return 2.0 * (action - low) / (high - low) - 1.0

  def to_environment(self, canonical: jax.Array) -> jax.Array:
    """Canonical units [..., D] -> clipped to [-1, 1] -> environment units."""
    if not self.bounded:
      return canonical
    low, high = self.action_minimum, self.action_maximum
    return low + (jnp.clip(canonical, -1.0, 1.0) + 1.0) * 0.5 * (high - low)

  def q_values(self, logits: jax.Array) -> jax.Array:
    """Mean of the categorical value distribution: [..., L] -> [...]."""
    return jnp.sum(jax.nn.softmax(logits, axis=-1) * self.atoms, axis=-1)


def _action_bounds(action_spec):
  size = int(np.prod(action_spec.shape))
  if len(action_spec.shape) != 1:
    raise ValueError('environment_spec.actions: expected a 1-D action '
                     f'spec, got shape {tuple(action_spec.shape)}.')
  if not hasattr(action_spec, 'minimum'):
    return size, None, None
  low = np.broadcast_to(np.asarray(action_spec.minimum, np.float32),
                        action_spec.shape).copy()
  high = np.broadcast_to(np.asarray(action_spec.maximum, np.float32),
                         action_spec.shape).copy()
  if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and
          np.all(high > low)):
    raise ValueError('environment_spec.actions: expected finite bounds with '
                     f'maximum > minimum, got minimum {low}, maximum {high}.')
  return size, low, high


def make_networks(
    environment_spec: specs.EnvironmentSpec,
    config: config_lib.DMPOConfig,
    critic_features: Optional[Callable[[jax.Array, jax.Array],
                                       jax.Array]] = None) -> DMPONetworks:
  """DMPO's networks for a flat-array observation and a 1-D action spec.

  Args:
    environment_spec: a flat-array observation, a 1-D action.
    config: DMPO's settings.
    critic_features: optional fixed function (raw flattened o [B, O],
      canonical a [B, D]) -> [B, F] whose output the critic also sees (no
      gradient flows into it). For a skill action, the jumpy model's
      prediction of the state after the skill
      (harnessing.critic_features.model_critic_features): what z does,
      which the critic otherwise has to learn from rewards alone.

  Raises:
    ValueError: naming the spec field that does not fit (nested
      observations, a non-1-D action, an unbounded action with
      action_penalization on).
  """
  observation_spec = environment_spec.observations
  if not hasattr(observation_spec, 'shape'):
    raise ValueError('environment_spec.observations: expected one array '
                     f'spec, got {type(observation_spec).__name__}.')
  observation_shape = tuple(observation_spec.shape)
  action_size, low, high = _action_bounds(environment_spec.actions)
  if low is None and config.action_penalization:
    raise ValueError('environment_spec.actions: action_penalization needs a '
                     'bounded action spec (BoundedArray); got an unbounded '
                     'Array. Set action_penalization=False for unbounded '
                     'actions.')
  obs_ndim = len(observation_shape)
  flat_size = int(np.prod(observation_shape))
  if config.observation_mean is None:
    shift, scale = None, None
  elif len(config.observation_mean) != flat_size:
    raise ValueError(
        f'config.observation_mean: expected {flat_size} values (the '
        f'flattened observation spec {observation_shape}), got '
        f'{len(config.observation_mean)}.')
  else:
    shift = np.asarray(config.observation_mean, np.float32)
    scale = np.asarray(config.observation_std, np.float32)

  def raw_flat(observation):
    """[..., *obs_shape] -> [..., O] float32."""
    batch_shape = observation.shape[:observation.ndim - obs_ndim]
    return jnp.reshape(observation, batch_shape + (flat_size,)).astype(
        jnp.float32)

  def flatten(observation):
    """[..., *obs_shape] -> [..., O], standardised if the config says so."""
    flat = raw_flat(observation)
    if shift is None:
      return flat
    return jnp.clip((flat - shift) / scale, -OBSERVATION_CLIP,
                    OBSERVATION_CLIP)

  def extra(observation, action):
    """None, or critic_features over any batch shape: [..., F]."""
    if critic_features is None:
      return None
    flat = raw_flat(observation)
    batch_shape = flat.shape[:-1]
    out = critic_features(flat.reshape((-1, flat_size)),
                          action.reshape((-1, action_size)))
    return out.reshape(batch_shape + out.shape[-1:])

  def critic_apply(params, o, a):
    return critic.apply(params, flatten(o), a, extra(o, a))

  policy = GaussianPolicy(config.policy_hidden_sizes, action_size,
                          config.init_scale, config.min_scale)
  critic = CategoricalCritic(config.critic_hidden_sizes, config.num_atoms,
                             clip_actions=low is not None)
  dummy_observation = jnp.zeros((flat_size,), jnp.float32)
  dummy_action = jnp.zeros((action_size,), jnp.float32)

  return DMPONetworks(
      policy_init=lambda key: policy.init(key, dummy_observation),
      policy_apply=lambda params, o: policy.apply(params, flatten(o)),
      critic_init=lambda key: critic.init(
          key, dummy_observation, dummy_action,
          extra(dummy_observation, dummy_action)),
      critic_apply=critic_apply,
      atoms=jnp.linspace(-config.vmax, config.vmax, config.num_atoms,
                         dtype=jnp.float32),
      observation_shape=observation_shape,
      action_size=action_size,
      action_minimum=low,
      action_maximum=high,
      config=config)
