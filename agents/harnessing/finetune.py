"""RL-HL + Planning + Finetune: the jumpy decoder learns from phase 2.

From the skill transitions the planning actors collect (s_t, z, s_t+K),
with z held for K primitive steps, the jumpy decoder p(s_t+K | s_t, z) is
trained with the state term of the phase-1 loss (Eq. 2):
  L = beta_s * || decode_jumpy(phi(s_t), z) - normalise(s_t+K - s_t) ||^2,
averaged over the batch. Only the jumpy decoder's parameters change: the
embedding phi is shared with the action decoder, which must keep acting as
it learned to.
"""

import dataclasses
from typing import Any, Dict, Iterator, NamedTuple, Optional

import chex
import jax
import jax.numpy as jnp
import optax

from jumpy_acme import checkpointing
from jumpy_acme import types
from jumpy_acme import variables
from jumpy_acme.agents.skill_vae import model as model_lib

_DECODER = model_lib.JUMPY_DECODER


class FinetuneState(NamedTuple):
  params: Any          # All phase-1 parameters (only the decoder changes).
  opt_state: Any       # Of the jumpy decoder's parameters.
  steps: jax.Array


def make_finetune_update(model: model_lib.SkillModel,
                         optimizer: optax.GradientTransformation,
                         latent_scale: float, beta_s: float,
                         dim_weights: Optional[jax.Array] = None):
  """Pure update(state, transitions [B]) -> (state, metrics).

  `model` gives the networks and normalisation; the parameters are the
  state's. dim_weights [S] (default all 1) weights each state dimension's
  squared error: sum_d w_d (d_hat_d - d_d)^2.

  transitions: observation s_t [B, S], action u [B, Z] (z = latent_scale *
  u), next_observation s_t+K [B, S] (one skill step later).
  """
  networks, normalization = model.networks, model.normalization
  if dim_weights is None:
    dim_weights = jnp.ones((model.config.state_size,), jnp.float32)
  chex.assert_shape(dim_weights, (model.config.state_size,))

  def loss_fn(decoder, params, transitions):
    params = model_lib.with_module_params(params, _DECODER, decoder)

    def one(s_t, u, s_tpk):
      chex.assert_rank([s_t, u, s_tpk], 1)
      predicted = networks.decode_jumpy(
          params, normalization.standardise(s_t), latent_scale * u)
      target = normalization.normalise_delta(s_tpk - s_t)
      return jnp.sum(dim_weights * (predicted - target) ** 2)
    errors = jax.vmap(one)(transitions.observation, transitions.action,
                           transitions.next_observation)
    return beta_s * jnp.mean(errors), jnp.mean(errors)

  def update(state: FinetuneState, transitions: types.Transition):
    decoder = model_lib.module_params(state.params, _DECODER)
    (loss, error), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        decoder, state.params, transitions)
    updates, opt_state = optimizer.update(grads, state.opt_state, decoder)
    decoder = optax.apply_updates(decoder, updates)
    params = model_lib.with_module_params(state.params, _DECODER, decoder)
    return (FinetuneState(params, opt_state, state.steps + 1),
            {'model_loss': loss, 'model_squared_error': error})
  return update


@dataclasses.dataclass(frozen=True)
class FinetuneSettings:
  """What a finetuner's checkpoint records besides its state."""
  learning_rate: float
  latent_scale: float
  beta_s: float


class JumpyFinetuner:
  """Finetunes the jumpy decoder and publishes {'model': params} (NOT pure:
  holds the state, the iterator, the publisher and the checkpoints)."""

  def __init__(self, model: model_lib.SkillModel,
               iterator: Iterator[Any], learning_rate: float,
               latent_scale: float,
               publisher: Optional[variables.VariablePublisher] = None,
               publish_period: int = 50,
               checkpoint_dir: Optional[str] = None,
               checkpoint_every: int = 500):
    """Starts from `model`'s parameters, or from the latest checkpoint in
    `checkpoint_dir` (parameters, optimiser state, steps: a resumed run
    goes on with the decoder it had finetuned); saves one there every
    `checkpoint_every` steps and at checkpoint()."""
    if checkpoint_every < 1:
      raise ValueError(f'checkpoint_every: expected >= 1, got '
                       f'{checkpoint_every}.')
    optimizer = optax.adam(learning_rate)
    self._state = FinetuneState(
        model.params, optimizer.init(model.jumpy_decoder_params()),
        jnp.zeros((), jnp.int32))
    self._manager = None
    if checkpoint_dir is not None:
      self._manager = checkpointing.CheckpointManager(
          checkpoint_dir, FinetuneSettings(learning_rate, latent_scale,
                                           model.config.beta_s))
      step = self._manager.latest_step()
      if step is not None:
        self._state = self._manager.restore(step, state=self._state)['state']
    self._checkpoint_every = checkpoint_every
    self._update = jax.jit(make_finetune_update(
        model, optimizer, latent_scale, model.config.beta_s))
    self._iterator = iterator
    self._publisher = publisher
    self._period = publish_period
    self._publish()

  @property
  def steps(self) -> int:
    return int(self._state.steps)

  def checkpoint(self) -> None:
    """Saves the state now (if there is a checkpoint_dir and it moved)."""
    if (self._manager is not None and
        self._manager.latest_step() != self.steps):
      self._manager.save(self.steps, state=self._state)

  @property
  def params(self):
    return self._state.params

  def _publish(self):
    if self._publisher is not None:
      self._publisher.publish({'model': self._state.params},
                              version=int(self._state.steps))

  def step(self) -> Dict[str, float]:
    sample = next(self._iterator)
    transitions = getattr(sample, 'data', sample)
    self._state, metrics = self._update(self._state, transitions)
    if self.steps % self._period == 0:
      self._publish()
    if self.steps % self._checkpoint_every == 0:
      self.checkpoint()
    return {k: float(v) for k, v in metrics.items()}
