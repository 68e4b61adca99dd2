"""The phase-1 model handle (agents/skill_vae/model.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme.agents import skill_vae
from jumpy_acme.agents.skill_vae import model as model_lib
from jumpy_acme.testing import phase1


def test_module_params_and_replacing_the_jumpy_decoder():
  model = phase1.tiny_model()
  decoder = model.jumpy_decoder_params()
  zeros = jax.tree_util.tree_map(jnp.zeros_like, decoder)
  changed = model.with_jumpy_decoder_params(zeros)
  # The jumpy decoder is zero: the model predicts s_t + denormalise(0),
  # the middle of the delta range ([-1, 1] -> 0 under identity statistics).
  state = jnp.asarray(np.random.default_rng(0).normal(size=86), jnp.float32)
  np.testing.assert_allclose(changed.predict_next_state(state, jnp.ones(4)),
                             state, atol=1e-6)
  # Nothing else changed, and the original model is untouched.
  for name in ('embedder', 'encoder', 'action_decoder'):
    assert model_lib.module_params(changed.params, name) is (
        model_lib.module_params(model.params, name))
  assert model.jumpy_decoder_params() is decoder
  with pytest.raises(ValueError, match=r"name: 'decoder' is unknown; valid "
                     r"modules: \['action_decoder', 'embedder', 'encoder', "
                     r"'jumpy_decoder'\]"):
    model_lib.module_params(model.params, 'decoder')


def test_decode_action_clips_to_the_spec_and_model_from_learner(tmp_path):
  learner = phase1.tiny_checkpoint(tmp_path / 'model')
  model = skill_vae.model_from_learner(learner)
  assert model.step == 1 and model.K == 10 and model.latent_size == 4
  state = jnp.asarray(np.random.default_rng(1).normal(size=86), jnp.float32)
  # A huge skill saturates the decoder: actions stay within the spec.
  action = np.asarray(model.decode_action(state, 100.0 * jnp.ones(4)))
  scale = np.array([0.07, 0.07, 0.07, 1.0, 255.0])
  assert np.all(np.abs(action) <= scale * (1 + 1e-6))
  raw = np.asarray(model.decode_action(state, 100.0 * jnp.ones(4),
                                       clip=False))
  assert np.any(np.abs(raw) > scale)  # It did saturate: the test can fail.
  loaded = skill_vae.load(str(tmp_path / 'model'))
  np.testing.assert_array_equal(loaded.decode_action(state, jnp.ones(4)),
                                model.decode_action(state, jnp.ones(4)))


def test_an_exported_model_loads_back_equal_and_is_checked(tmp_path):
  learner = phase1.tiny_checkpoint(tmp_path / 'model')
  model = skill_vae.load(str(tmp_path / 'model'))
  out = skill_vae.export(model, str(tmp_path / 'shipped'),
                         {'command': 'test'})
  assert sorted(p.name for p in (tmp_path / 'shipped').iterdir()) == [
      'manifest.json', 'model.npz']
  shipped = skill_vae.load(out)
  assert shipped.step == learner.state.step == 1
  assert shipped.config == model.config
  rng = np.random.default_rng(2)
  state = jnp.asarray(rng.normal(size=86), jnp.float32)
  z = jnp.asarray(rng.normal(size=4), jnp.float32)
  np.testing.assert_array_equal(shipped.decode_action(state, z),
                                model.decode_action(state, z))
  np.testing.assert_array_equal(shipped.predict_next_state(state, z),
                                model.predict_next_state(state, z))
  assert model_lib.saved_step(out) == 1
  # No optimiser state: smaller than the checkpoint's parameters + Adam.
  with np.load(tmp_path / 'shipped' / 'model.npz') as saved:
    assert not any('opt' in name for name in saved.files)
  # Parameters that do not fit the manifest's config are refused by name.
  with np.load(tmp_path / 'shipped' / 'model.npz') as saved:
    arrays = dict(saved)
  name = next(n for n in arrays if n.endswith('jumpy_decoder/Dense_0/bias'))
  arrays[name] = arrays[name][:3]
  np.savez(tmp_path / 'shipped' / 'model.npz', **arrays)
  with pytest.raises(ValueError, match='jumpy_decoder/Dense_0/bias: '
                     'expected shape'):
    skill_vae.load(out)
