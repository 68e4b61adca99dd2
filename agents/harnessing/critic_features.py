"""What the critic of a skill method sees of z: optionally, the jumpy model's
prediction of where the skill leads.

RL-HL's critic Q(s, z) must learn how the return after a skill depends on z
from rewards alone. Measured (docs/phase2.md, "Why RL-HL does not learn
yet"): on reach_red only 0.1 % of the one-jump reward's variance is within
a state, and neither the critic nor a noise-free regression of that reward
on (s, z) ranked skills at RL-HL's budget. The phase-1 jumpy model already
maps (s, z) to the state K steps on, p(s_t+K | s_t, z) (paper, Eq. 2), so
with `HarnessingConfig.critic_features='model'` the critic also sees its
mean, standardised with the phase-1 statistics:

  extra(s, a) = clip((f(s, latent_scale * a) - mu) / sigma, -10, 10)  [S]

Q then only has to learn a value of the predicted state, which varies
across states, where there is signal. The model is fixed here (phase-1
parameters), also when the method finetunes it for planning.
"""

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from jumpy_acme.agents.dmpo import networks as dmpo_networks
from jumpy_acme.agents.skill_vae import model as model_lib


def model_critic_features(
    model: model_lib.SkillModel,
    latent_scale: float) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """(raw s [B, S], canonical a [B, Z]) -> standardised s_t+K [B, S]."""
  mean = jnp.asarray(model.normalization.state_mean, jnp.float32)
  std = jnp.asarray(model.normalization.state_std, jnp.float32)
  predict = jax.vmap(model.predict_next_state)
  clip = dmpo_networks.OBSERVATION_CLIP

  def features(states, actions):
    z = latent_scale * jnp.clip(actions, -1.0, 1.0)
    return jnp.clip((predict(states, z) - mean) / std, -clip, clip)

  return features


def make(name: str, model: Optional[model_lib.SkillModel],
         latent_scale: float) -> Optional[Callable[[jax.Array, jax.Array],
                                                   jax.Array]]:
  """The critic's extra input for `HarnessingConfig.critic_features`
  `name`: None for 'state', model_critic_features for 'model'."""
  if name == 'model':
    return model_critic_features(model, latent_scale)
  return None
