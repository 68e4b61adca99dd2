"""The phase-1 model handle (agents/skill_vae/model.py)."""

import json
import subprocess
import sys

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


def _mixture_moments(model, snippets, draws, seed):
  """Mean and std of z sampled from q(z) = mean over snippets of
  q(z | snippet), by sampling: independent of the moment formula."""
  rng = np.random.default_rng(seed)
  samples = []
  for snippet in snippets:
    mu, sd = (np.asarray(v, np.float64) for v in model.encode(snippet))
    samples.append(mu + sd * rng.normal(size=(draws, mu.shape[0])))
  samples = np.concatenate(samples)
  return samples.mean(0), samples.std(0)


def test_aggregate_posterior_fits_q_z_and_is_refused_for_another_model(
    tmp_path):
  phase1.tiny_checkpoint(tmp_path / 'model')
  model = skill_vae.load(str(tmp_path / 'model'))
  assert model.aggregate_posterior is None  # None fitted yet.
  rng = np.random.default_rng(3)
  # Spread-out snippets: their posterior means differ, so the mixture's
  # variance is more than the mean of the posterior variances.
  snippets = 3.0 * rng.normal(size=(37, 11, 86)).astype(np.float32)
  posterior = skill_vae.fit_aggregate_posterior(model, snippets,
                                                batch_size=16)
  mean, std = _mixture_moments(model, snippets, draws=4000, seed=4)
  scale = np.abs(std).max()
  np.testing.assert_allclose(posterior.mean, mean, atol=0.02 * scale)
  np.testing.assert_allclose(posterior.std, std, rtol=0.03)
  with pytest.raises(ValueError, match=r'snippets: expected shape \[N >= 2, '
                     r'K\+1 = 11, S = 86\], got \[37, 2, 86\]'):
    skill_vae.fit_aggregate_posterior(model, snippets[:, :2])
  # Saved beside the checkpoint, `load` attaches it to this model ...
  skill_vae.save_aggregate_posterior(str(tmp_path / 'model'), posterior,
                                     {'dataset': 'test'})
  loaded = skill_vae.load(str(tmp_path / 'model'))
  np.testing.assert_array_equal(loaded.aggregate_posterior.mean,
                                posterior.mean)
  np.testing.assert_array_equal(loaded.aggregate_posterior.std,
                                posterior.std)
  # ... and not to another model exported into the same directory.
  out = str(tmp_path / 'shipped')
  skill_vae.export(model, out)
  skill_vae.save_aggregate_posterior(out, posterior)
  assert skill_vae.load(out).aggregate_posterior is not None
  skill_vae.export(phase1.tiny_model(seed=1), out)
  assert skill_vae.load(out).aggregate_posterior is None


def test_fit_proposal_writes_the_k1_models_posterior_from_k10_data(tmp_path):
  from jumpy_acme import dataset_files  # pylint: disable=g-import-not-at-top
  phase1.tiny_checkpoint(tmp_path / 'k1', K=1)
  rng = np.random.default_rng(5)
  writer = dataset_files.SnippetWriter(str(tmp_path / 'data'), K=10)
  writer.write(rng.normal(size=(30, 11, 86)).astype(np.float32),
               rng.normal(size=(30, 10, 5)).astype(np.float32),
               {'behaviour': np.zeros((30, 10), np.int32)})
  writer.close()
  command = [sys.executable, '-m', 'jumpy_acme.launchers.fit_proposal',
             f'--checkpoint={tmp_path / "k1"}',
             f'--dataset={tmp_path / "data"}', '--snippets=25']
  result = subprocess.run(command, capture_output=True, text=True,
                          timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert '25 snippets' in result.stdout
  model = skill_vae.load(str(tmp_path / 'k1'))
  with open(tmp_path / 'k1' / model_lib.AGGREGATE_POSTERIOR) as f:
    saved = json.load(f)
  assert saved['snippets'] == 25 and saved['step'] == 1
  # The K = 1 model encodes the first two states of each drawn snippet.
  index = np.sort(np.random.default_rng(0).choice(30, 25, replace=False))
  data = dataset_files.load(str(tmp_path / 'data'))
  expected = skill_vae.fit_aggregate_posterior(
      model, data.observations[index, :2])
  np.testing.assert_allclose(model.aggregate_posterior.std, expected.std,
                             rtol=1e-5)
  bad = subprocess.run(command[:-2] + [f'--dataset={tmp_path / "data"}',
                                       '--snippets=1'],
                       capture_output=True, text=True, timeout=300,
                       check=False)
  assert bad.returncode != 0
  assert '--snippets: expected >= 2, got 1' in bad.stderr
