"""Tiny phase-1 models for tests: one place for the sizes every test uses.

A test-support module: it reaches up into jumpy_acme.agents (imported when
called, so importing jumpy_acme.testing stays free of agent code).

  config = tiny_config(K=1)
  model = tiny_model()                              # random, identity stats
  directory = tiny_checkpoint(tmp_path / 'model')   # one SGD step, saved
"""

from typing import Optional

import numpy as np

TINY = dict(embed_sizes=(16, 16, 8), encoder_sizes=(16,), latent_size=4,
            decoder_sizes=(16, 16), batch_size=4, sgd_steps_per_step=1)
STATE_SIZE, ACTION_SIZE = 86, 5


def tiny_config(K: int = 10, **overrides):  # noqa: N803
  """A SkillVAEConfig with (16, 16, 8) embedder, Z = 4, (16, 16) decoders."""
  from jumpy_acme.agents.skill_vae import config as config_lib  # pylint: disable=g-import-not-at-top
  return config_lib.SkillVAEConfig(K=K, **{**TINY, **overrides})


def identity_normalization(action_scale=1.0):
  """Statistics that leave states as they are: mean 0, std 1, deltas in
  [-1, 1]; actions divided by `action_scale` ([A] or a scalar)."""
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import losses  # pylint: disable=g-import-not-at-top
  return losses.Normalization(
      jnp.zeros(STATE_SIZE), jnp.ones(STATE_SIZE), -jnp.ones(STATE_SIZE),
      jnp.ones(STATE_SIZE),
      jnp.broadcast_to(jnp.asarray(action_scale, jnp.float32),
                       (ACTION_SIZE,)))


def tiny_model(K: int = 10, seed: int = 0, normalization=None,  # noqa: N803
               **overrides):
  """A randomly initialised SkillModel (identity statistics by default)."""
  import jax  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import networks as networks_lib  # pylint: disable=g-import-not-at-top
  config = tiny_config(K, **overrides)
  networks = networks_lib.make_networks(config)
  return model_lib.SkillModel(
      config, networks, networks.init(jax.random.PRNGKey(seed)),
      normalization if normalization is not None else
      identity_normalization())


def tiny_checkpoint(directory, K: int = 10, snippets: int = 4,  # noqa: N803
                    seed: int = 0, action_scale: Optional[np.ndarray] = None):
  """Trains a tiny model one SGD step on random snippets and saves it.

  Statistics are the random snippets' (dataset_files.statistics); the
  action scale defaults to RGB-stacking's spec (0.07, 0.07, 0.07, 1, 255).
  Returns the learner.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from jumpy_acme import dataset_files  # pylint: disable=g-import-not-at-top
  from jumpy_acme.adders import reverb as reverb_adders  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import learning  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import losses  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.skill_vae import networks as networks_lib  # pylint: disable=g-import-not-at-top
  if action_scale is None:
    action_scale = np.array([0.07, 0.07, 0.07, 1.0, 255.0], np.float32)
  config = tiny_config(K, batch_size=snippets)
  rng = np.random.default_rng(seed)
  observations = rng.normal(size=(snippets, K + 1, STATE_SIZE)).astype(
      np.float32)
  actions = rng.uniform(-0.05, 0.05, size=(snippets, K, ACTION_SIZE)).astype(
      np.float32)
  norm = losses.Normalization.from_statistics(
      dataset_files.statistics(observations), action_scale)
  learner = learning.SkillVAELearner(
      networks_lib.make_networks(config),
      iter([reverb_adders.Snippet(observations, actions, ())]), norm,
      random_key=jax.random.PRNGKey(seed), checkpoint_dir=str(directory))
  learner.step()
  learner.checkpoint()
  return learner
