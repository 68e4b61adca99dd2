"""Networks of the skill VAE (paper, Figure 1 and "Experiments").

  phi:      s -> Linear 256 + LayerNorm + ELU, Linear 256 + ELU,
            Linear 128 + ELU                       (shared by all states)
  encoder:  phi(s_t..s_t+K) [K+1, 128] -> 1x1 conv over time + ELU ->
            Linear 256 + ELU, Linear 256 + ELU, Linear 64 -> mean, std [32]
  action decoder p(a | s, z):      concat(phi(s'_t+k), z) -> 4 x (Linear 256
            + ELU) -> 5   (actions scaled to [-1, 1] by the action spec;
            s' = s with the config's action_input_hidden dims at the mean)
  jumpy decoder p(s_t+K | s_t, z): concat(phi(s_t), z) -> 4 x (Linear 256 +
            ELU) -> 86    (the delta s_t+K - s_t normalised to [-1, 1])

Our readings, where the paper is brief:
- The 1x1 convolution over the time dimension: the K+1 embeddings are the
  convolution's input channels and the 128 features its positions, so a
  kernel of size 1 mixes time steps feature by feature (weights shared over
  features) into `conv_channels` channels, flattened to 128 x channels.
- The standard deviation is softplus(raw) + min_std, positive and smooth.
- Inputs: states enter phi standardised by the dataset's mean and std.
All functions are written for one snippet; vmap them over a batch.
"""

import dataclasses
from typing import Callable, Sequence, Tuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme.agents.skill_vae import config as config_lib
from jumpy_acme.utils import activations


class MLP(nn.Module):
  """Linear + ELU layers, then an optional linear output layer."""
  sizes: Sequence[int]
  output_size: int = 0

  @nn.compact
  def __call__(self, x):
    for size in self.sizes:
      x = activations.elu(nn.Dense(size)(x))
    if self.output_size:
      x = nn.Dense(self.output_size)(x)
    return x


class StateEmbedder(nn.Module):
  """phi: [..., S] -> [..., 128]; LayerNorm after the first layer."""
  sizes: Sequence[int]

  @nn.compact
  def __call__(self, state):
    x = activations.elu(nn.LayerNorm()(nn.Dense(self.sizes[0])(state)))
    for size in self.sizes[1:]:
      x = activations.elu(nn.Dense(size)(x))
    return x


class Encoder(nn.Module):
  """q(z | phi_t..phi_t+K): [K+1, F] -> mean [Z], std [Z]."""
  conv_channels: int
  sizes: Sequence[int]
  latent_size: int
  min_std: float

  @nn.compact
  def __call__(self, features):
    # 1x1 convolution over time: time steps are channels -> [F, C].
    mixed = activations.elu(nn.Dense(self.conv_channels, name='time_conv')(
        jnp.swapaxes(features, -1, -2)))
    x = mixed.reshape(mixed.shape[:-2] + (-1,))
    out = MLP(self.sizes, 2 * self.latent_size)(x)
    mean, raw_std = jnp.split(out, 2, axis=-1)
    return mean, jax.nn.softplus(raw_std) + self.min_std


class SkillVAE(nn.Module):
  """Embedder, encoder and the two decoders, sharing phi."""
  config: config_lib.SkillVAEConfig

  def setup(self):
    c = self.config
    self.embedder = StateEmbedder(c.embed_sizes)
    self.encoder = Encoder(c.conv_channels, c.encoder_sizes, c.latent_size,
                           c.min_std)
    self.action_decoder = MLP(c.decoder_sizes, c.action_size)
    self.jumpy_decoder = MLP(c.decoder_sizes, c.state_size)

  def embed(self, states):
    return self.embedder(states)

  def encode(self, states):
    """[K+1, S] (standardised) -> mean, std [Z]."""
    return self.encoder(self.embedder(states))

  def action_input(self, states, drop=None):
    """What the action decoder sees of standardised states [..., S]: the
    config's `action_input_hidden` dimensions set to 0 (the data's mean),
    and with drop [] = 1 (a training snippet drawn for dropout) its
    `action_input_dropped` ones too."""
    hidden = self.config.action_input_hidden
    if not hidden and drop is None:
      return states
    keep = np.ones(self.config.state_size, np.float32)
    keep[list(hidden)] = 0.0
    if drop is None:
      return states * keep
    dropped = np.zeros(self.config.state_size, np.float32)
    dropped[list(self.config.action_input_dropped)] = 1.0
    return states * (keep - drop * dropped)

  def decode_actions(self, states, z):
    """[..., S] standardised states, z [Z] (broadcast) -> [..., A]."""
    features = self.embedder(self.action_input(states))
    z = jnp.broadcast_to(z, features.shape[:-1] + z.shape[-1:])
    return self.action_decoder(jnp.concatenate([features, z], axis=-1))

  def jumpy_input(self, state, features, z):
    """The jumpy decoder's input for standardised s_t [S] with phi(s_t)
    [F]: [phi(s_t), z], and with config.jumpy_input_action the action
    decoder's a_t for (s_t, z) too, its gradient stopped so that the
    jumpy loss does not train the policy."""
    parts = [features, z]
    if self.config.jumpy_input_action:
      parts.append(jax.lax.stop_gradient(self.decode_actions(state, z)))
    return jnp.concatenate(parts, axis=-1)

  def decode_jumpy(self, state, z):
    """[S] standardised s_t, z [Z] -> normalised delta [S]."""
    features = self.embedder(state)
    return self.jumpy_decoder(self.jumpy_input(state, features, z))

  def forward(self, states, noise, input_noise=None, drop=None):
    """The training pass.

    Args:
      states: [K+1, S] standardised s_t..s_t+K.
      noise: [Z] standard normal (z = mean + std * noise).
      input_noise: optional [K, S], added to the states the action decoder
        sees (after hiding the config's `action_input_hidden`).
      drop: optional [] in {0, 1}: 1 hides the config's
        `action_input_dropped` dimensions from the action decoder too.

    Returns:
      mean [Z], std [Z], actions [K, A] (scaled), delta [S] (normalised).
    """
    features = self.embedder(states)
    mean, std = self.encoder(features)
    z = mean + std * noise
    if (self.config.action_input_hidden or input_noise is not None
        or drop is not None):
      action_states = self.action_input(states[:-1], drop)
      if input_noise is not None:
        action_states = action_states + input_noise
      action_features = self.embedder(action_states)
    else:  # The decoder sees s_t..s_t+K-1 as the encoder does: embed once.
      action_features = features[:-1]
    zs = jnp.broadcast_to(z, action_features.shape[:-1] + z.shape)
    actions = self.action_decoder(jnp.concatenate([action_features, zs],
                                                  axis=-1))
    delta = self.jumpy_decoder(self.jumpy_input(states[0], features[0], z))
    return mean, std, actions, delta

  def __call__(self, states, noise):
    """Touches every parameter (for init): [K+1, S], [Z]."""
    return self.forward(states, noise)


@dataclasses.dataclass(frozen=True)
class SkillVAENetworks:
  """Pure functions of the phase-1 networks (params first)."""
  init: Callable[[jax.Array], chex.ArrayTree]
  forward: Callable[..., Tuple[jax.Array, ...]]
  encode: Callable[..., Tuple[jax.Array, jax.Array]]
  decode_actions: Callable[..., jax.Array]
  decode_jumpy: Callable[..., jax.Array]
  embed: Callable[..., jax.Array]
  config: config_lib.SkillVAEConfig


def make_networks(config: config_lib.SkillVAEConfig) -> SkillVAENetworks:
  module = SkillVAE(config)

  def init(key):
    states = jnp.zeros((config.K + 1, config.state_size))
    return module.init(key, states, jnp.zeros((config.latent_size,)))

  def method(name):
    return lambda params, *args: module.apply(
        params, *args, method=getattr(SkillVAE, name))

  return SkillVAENetworks(
      init=init, forward=method('forward'), encode=method('encode'),
      decode_actions=method('decode_actions'),
      decode_jumpy=method('decode_jumpy'), embed=method('embed'),
      config=config)
