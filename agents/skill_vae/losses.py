"""The phase-1 loss of Eq. (1)-(2), written for one snippet.

  L = KL(q(z | phi_t:t+K) || N(0, I))     (with free bits: sum_i max(KL_i, fb))
      + beta_a * sum_k || a_hat_t+k - a_t+k ||^2          (scaled actions)
      + beta_s * || d_hat - d ||^2                        (normalised delta)

with isotropic Gaussian decoders, whose negative log-likelihoods reduce to
L2 errors (paper, after Eq. 2). d = normalise(s_t+K - s_t) in [-1, 1] with
the dataset's per-dimension delta min and max.
"""

from typing import Dict, NamedTuple, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme.agents.skill_vae import networks as networks_lib

_MIN_RANGE = 1e-6


class Normalization(NamedTuple):
  """Dataset statistics the networks' inputs and targets are scaled with."""
  state_mean: jax.Array    # [S]
  state_std: jax.Array     # [S]
  delta_min: jax.Array     # [S]
  delta_max: jax.Array     # [S]
  action_scale: jax.Array  # [A]: actions / action_scale lie in [-1, 1].

  @classmethod
  def from_statistics(cls, statistics, action_scale) -> 'Normalization':
    """From dataset_files statistics ({'state': {...}, 'delta': {...}})."""
    state, delta = statistics['state'], statistics['delta']
    as_array = lambda x: jnp.asarray(np.asarray(x, np.float32))
    return cls(as_array(state['mean']),
               as_array(np.maximum(np.asarray(state['std']), 1e-3)),
               as_array(delta['min']), as_array(delta['max']),
               as_array(action_scale))

  def standardise(self, states):
    return (states - self.state_mean) / self.state_std

  def normalise_delta(self, delta):
    span = jnp.maximum(self.delta_max - self.delta_min, _MIN_RANGE)
    return 2.0 * (delta - self.delta_min) / span - 1.0

  def denormalise_delta(self, normalised):
    span = jnp.maximum(self.delta_max - self.delta_min, _MIN_RANGE)
    return (normalised + 1.0) / 2.0 * span + self.delta_min


def gaussian_kl(mean, std):
  """KL(N(mean, std^2) || N(0, I)), summed over the latent dims."""
  return jnp.sum(gaussian_kl_per_dim(mean, std), axis=-1)


def gaussian_kl_per_dim(mean, std):
  """KL(N(mean, std^2) || N(0, 1)) of each latent dimension: [..., Z]."""
  return 0.5 * (mean ** 2 + std ** 2 - 1.0 - 2.0 * jnp.log(std))


def free_bits_kl(mean, std, free_bits: float):
  """sum_i max(KL_i, free_bits): the KL term with free bits (Kingma et
  al., 2016); equals gaussian_kl when free_bits is 0."""
  per_dim = gaussian_kl_per_dim(mean, std)
  if free_bits:
    per_dim = jnp.maximum(per_dim, free_bits)
  return jnp.sum(per_dim, axis=-1)


def predict_next_state(networks: networks_lib.SkillVAENetworks, params,
                       normalization: Normalization, state_t, z):
  """The jumpy model: s_t [S] (raw), z [Z] -> predicted s_t+K [S] (raw)."""
  delta = normalization.denormalise_delta(
      networks.decode_jumpy(params, normalization.standardise(state_t), z))
  return state_t + delta


def snippet_loss(networks: networks_lib.SkillVAENetworks, params,
                 normalization: Normalization, observations, actions,
                 key) -> Tuple[jax.Array, Dict[str, jax.Array]]:
  """Loss and metrics of one snippet.

  Args:
    networks: the phase-1 networks.
    params: their parameters.
    normalization: dataset statistics.
    observations: [K+1, S] raw states s_t..s_t+K.
    actions: [K, A] raw actions a_t..a_t+K-1.
    key: for sampling z ~ q (reparameterised).

  Returns:
    (scalar loss, metrics including the predicted s_t+K in raw units).
  """
  config = networks.config
  chex.assert_shape(observations, (config.K + 1, config.state_size))
  chex.assert_shape(actions, (config.K, config.action_size))
  states = normalization.standardise(observations)
  noise = jax.random.normal(key, (config.latent_size,))
  input_noise = None
  if config.action_input_noise:
    input_noise = config.action_input_noise * jax.random.normal(
        jax.random.fold_in(key, 1), (config.K, config.state_size))
  drop = None
  if config.action_input_dropout:  # One draw per snippet.
    drop = jax.random.bernoulli(jax.random.fold_in(key, 2),
                                config.action_input_dropout).astype(
                                    jnp.float32)
  mean, std, predicted_actions, predicted_delta = networks.forward(
      params, states, noise, input_noise, drop)
  kl = gaussian_kl(mean, std)
  action_l2 = jnp.sum((predicted_actions - actions /
                       normalization.action_scale) ** 2)
  target = normalization.normalise_delta(observations[-1] - observations[0])
  state_l2 = jnp.sum((predicted_delta - target) ** 2)
  loss = (free_bits_kl(mean, std, config.free_bits)
          + config.beta_a * action_l2 + config.beta_s * state_l2)
  predicted_state = observations[0] + normalization.denormalise_delta(
      predicted_delta)
  return loss, {'loss': loss, 'kl': kl, 'action_l2': action_l2,
                'state_l2': state_l2, 'posterior_std': jnp.mean(std),
                'state_error': predicted_state - observations[-1]}
