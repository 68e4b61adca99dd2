"""The phase-1 skill VAE on a tiny synthetic dataset with known structure.

Structure: a skill is a constant action a in [-1, 1]^2 held for K steps;
s_t+1 = s_t + B a with a fixed B, so a snippet's K-step change is K B a.
The encoder can read a off the snippet, the action decoder can return it,
and the jumpy decoder can predict s_t+K = s_t + K B a.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents import skill_vae
from jumpy_acme.agents.skill_vae import learning
from jumpy_acme.agents.skill_vae import losses

K, S, A = 3, 6, 2


def _synthetic(n, seed=0):
  rng = np.random.default_rng(seed)
  b = np.random.default_rng(123).normal(size=(S, A)) * 0.2
  start = rng.normal(size=(n, S))
  action = rng.uniform(-1, 1, size=(n, A))
  steps = np.arange(K + 1)[None, :, None]
  observations = start[:, None] + steps * (action @ b.T)[:, None]
  actions = np.repeat(action[:, None], K, axis=1)
  return observations.astype(np.float32), actions.astype(np.float32)


def _config(**overrides):
  values = dict(K=K, state_size=S, action_size=A, embed_sizes=(32, 32, 16),
                conv_channels=2, encoder_sizes=(32, 32), latent_size=4,
                decoder_sizes=(32, 32), batch_size=32, sgd_steps_per_step=2,
                learning_rate=3e-3, checkpoint_every=1000)
  values.update(overrides)
  return skill_vae.SkillVAEConfig(**values)


def _normalization(observations):
  from jumpy_acme import dataset_files
  return losses.Normalization.from_statistics(
      dataset_files.statistics(observations), np.ones(A))


def _iterator(observations, actions, per_step, seed=0):
  rng = np.random.default_rng(seed)
  while True:
    index = rng.integers(0, len(observations), per_step)
    yield reverb_adders.Snippet(observations[index], actions[index], ())


def _learner(config, data, seed=0, **kwargs):
  observations, actions = data
  per_step = config.batch_size * config.sgd_steps_per_step
  return skill_vae.SkillVAELearner(
      skill_vae.make_networks(config),
      _iterator(observations, actions, per_step, seed),
      _normalization(observations), random_key=jax.random.PRNGKey(seed),
      **kwargs)


def test_kl_of_standard_normal_is_zero_and_matches_formula():
  np.testing.assert_allclose(losses.gaussian_kl(jnp.zeros(4), jnp.ones(4)),
                             0.0, atol=1e-7)
  # KL(N(1, 0.5^2) || N(0, 1)) = 0.5 (1 + 0.25 - 1 - 2 ln 0.5) per dim.
  expected = 0.5 * (1 + 0.25 - 1 - 2 * np.log(0.5))
  np.testing.assert_allclose(
      losses.gaussian_kl(jnp.ones(3), jnp.full(3, 0.5)), 3 * expected,
      rtol=1e-6)


def test_normalised_delta_round_trips_and_spans_minus_one_to_one():
  observations, _ = _synthetic(200)
  norm = _normalization(observations)
  delta = observations[:, -1] - observations[:, 0]
  normalised = norm.normalise_delta(delta)
  assert float(normalised.min()) == pytest.approx(-1, abs=1e-5)
  assert float(normalised.max()) == pytest.approx(1, abs=1e-5)
  np.testing.assert_allclose(norm.denormalise_delta(normalised), delta,
                             atol=1e-5)


def test_loss_falls_below_threshold_on_known_structure():
  data = _synthetic(2000)
  learner = _learner(_config(), data)
  first = learner.step()
  for _ in range(400):
    metrics = learner.step()
  # Untrained, the errors are O(1) per snippet; trained, a and K B a are
  # recovered from the snippet.
  assert first['action_l2'] > 1.0 and first['state_l2'] > 1.0, first
  assert metrics['action_l2'] < 0.1, metrics
  assert metrics['state_l2'] < 0.1, metrics
  assert metrics['loss'] < 0.3 * first['loss']
  # The jumpy model predicts s_t+K in real units on held-out snippets.
  observations, actions = _synthetic(100, seed=9)
  networks, params = skill_vae.make_networks(learner._config), (
      learner.state.params)
  norm = learner.normalization
  mean, _ = jax.vmap(lambda o: networks.encode(params, norm.standardise(o)))(
      jnp.asarray(observations))
  predicted = jax.vmap(lambda s, z: skill_vae.predict_next_state(
      networks, params, norm, s, z))(jnp.asarray(observations[:, 0]), mean)
  error = np.sqrt(np.mean((np.asarray(predicted) - observations[:, -1]) ** 2))
  spread = np.sqrt(np.mean((observations[:, -1] - observations[:, 0]) ** 2))
  assert error < 0.2 * spread, (error, spread)


def test_second_update_does_not_recompile():
  config = _config()
  learner = _learner(config, _synthetic(200))
  learner.step()
  before = learner._update._cache_size()  # pylint: disable=protected-access
  learner.step()
  learner.step()
  assert learner._update._cache_size() == before == 1  # pylint: disable=protected-access


def test_save_restore_and_continue_equals_an_uninterrupted_run(tmp_path):
  data = _synthetic(500)
  config = _config(checkpoint_every=3)
  straight = _learner(config, data, seed=1)
  for _ in range(6):
    straight.step()
  # Interrupted after 3 steps (checkpointed), resumed by a new learner whose
  # iterator continues where the first one's left off.
  first = _learner(config, data, seed=1,
                   checkpoint_dir=str(tmp_path / 'ckpt'))
  iterator = first._iterator  # pylint: disable=protected-access
  for _ in range(3):
    first.step()
  resumed = _learner(config, data, seed=7,
                     checkpoint_dir=str(tmp_path / 'ckpt'))
  assert int(resumed.state.step) == 3 * config.sgd_steps_per_step
  resumed._iterator = iterator  # pylint: disable=protected-access
  for _ in range(3):
    resumed.step()
  # Its step count (rows, periodic checkpoints) goes on from 3, not 0.
  assert resumed._recorder.steps == 6  # pylint: disable=protected-access
  for a, b in zip(jax.tree_util.tree_leaves(straight.state.params),
                  jax.tree_util.tree_leaves(resumed.state.params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  for a, b in zip(straight.normalization, resumed.normalization):
    np.testing.assert_array_equal(a, b)


def test_mismatches_and_nan_raise_clear_errors(tmp_path):
  data = _synthetic(200)
  config = _config()
  learner = _learner(config, data, checkpoint_dir=str(tmp_path / 'c'))
  learner.step()
  learner.checkpoint()
  with pytest.raises(ValueError, match=r'checkpoint was written with another '
                     r'model: K: checkpoint 3, config 4'):
    _learner(_config(K=4), _synthetic_k(4), checkpoint_dir=str(tmp_path / 'c'))
  # Data of another K or state size than the config.
  observations, actions = data
  with pytest.raises(ValueError, match=r'observations: expected \[n, K\+1=5'):
    learning.check_batch(_config(K=4), observations, actions)
  with pytest.raises(ValueError, match=r'state_size=7\], got \(200, 4, 6\)'):
    learning.check_batch(_config(state_size=7), observations, actions)
  bad = observations.copy()
  bad[3, 1, 2] = np.nan
  with pytest.raises(ValueError, match=r'NaN or inf \(first at index '
                     r'\(3, 1, 2\)\)'):
    learning.check_batch(config, bad, actions)
  nan_learner = skill_vae.SkillVAELearner(
      skill_vae.make_networks(config),
      _iterator(bad[3:4].repeat(200, 0), actions, 64),
      _normalization(observations))
  with pytest.raises(ValueError, match='NaN'):
    nan_learner.step()
  with pytest.raises(ValueError, match='K: expected an integer >= 1'):
    _config(K=0)


def _synthetic_k(k):
  global K
  saved, K = K, k
  try:
    return _synthetic(100)
  finally:
    K = saved


def test_free_bits_leave_each_dimension_kl_below_the_floor_unpenalised():
  mean, std = jnp.array([0.0, 2.0]), jnp.array([1.0, 1.0])
  # Per dimension: 0 and 0.5 * 2^2 = 2 nats.
  np.testing.assert_allclose(losses.free_bits_kl(mean, std, 0.0), 2.0,
                             rtol=1e-6)
  np.testing.assert_allclose(losses.free_bits_kl(mean, std, 0.5), 2.5,
                             rtol=1e-6)
  np.testing.assert_allclose(losses.free_bits_kl(mean, std, 3.0), 6.0,
                             rtol=1e-6)


def test_hidden_state_dimensions_do_not_reach_the_action_decoder():
  hidden = (1, 4)
  networks = skill_vae.make_networks(_config(action_input_hidden=hidden))
  params = networks.init(jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  states = jnp.asarray(rng.normal(size=(K + 1, S)), jnp.float32)
  z = jnp.asarray(rng.normal(size=(4,)), jnp.float32)
  moved_hidden = states.at[:, hidden].add(3.0)
  moved_visible = states.at[:, 0].add(3.0)
  base = networks.decode_actions(params, states, z)
  np.testing.assert_array_equal(
      networks.decode_actions(params, moved_hidden, z), base)
  assert np.abs(networks.decode_actions(params, moved_visible, z)
                - base).max() > 1e-3
  # The jumpy decoder and the encoder still see every dimension.
  assert np.abs(networks.decode_jumpy(params, moved_hidden[0], z)
                - networks.decode_jumpy(params, states[0], z)).max() > 1e-3
  # Training decodes the same actions as acting does.
  _, _, actions, _ = networks.forward(params, states, z * 0)
  mean, _ = networks.encode(params, states)
  np.testing.assert_allclose(
      actions, networks.decode_actions(params, states[:-1], mean), rtol=1e-5,
      atol=1e-5 * float(np.abs(actions).max()))


def test_dropped_dimensions_are_hidden_only_in_dropped_training_snippets():
  """action_input_dropped: hidden from the decoder in a snippet drawn for
  dropout (drop = 1), seen in the others and always when acting."""
  networks = skill_vae.make_networks(_config(
      action_input_hidden=(1,), action_input_dropped=(4,),
      action_input_dropout=0.5))
  params = networks.init(jax.random.PRNGKey(0))
  rng = np.random.default_rng(1)
  states = jnp.asarray(rng.normal(size=(K + 1, S)), jnp.float32)
  z = jnp.asarray(rng.normal(size=(4,)), jnp.float32)
  moved = states.at[:, 4].add(3.0)
  acting = networks.decode_actions(params, states, z)
  assert np.abs(networks.decode_actions(params, moved, z)
                - acting).max() > 1e-3
  # Training with z = the posterior mean (zero noise): a dropped snippet
  # decodes what acting decodes from states with dimension 4 at its mean
  # (0, standardised); an undropped one what acting decodes from them as
  # they are. The two differ.
  mean, _ = networks.encode(params, states)
  actions = lambda drop: networks.forward(params, states, jnp.zeros((4,)),
                                          None, jnp.float32(drop))[2]
  close = lambda a, b: np.testing.assert_allclose(
      a, b, rtol=1e-5, atol=1e-5 * float(np.abs(b).max()))
  close(actions(1), networks.decode_actions(
      params, states[:-1].at[:, 4].set(0.0), mean))
  close(actions(0), networks.decode_actions(params, states[:-1], mean))
  assert np.abs(actions(1) - actions(0)).max() > 1e-3


def test_action_input_dropout_is_validated_and_still_learns():
  with pytest.raises(ValueError, match=r'action_input_dropped: expected '
                     r'distinct state indices in \[0, 6\) not in '
                     r'action_input_hidden, got \(1,\)'):
    _config(action_input_hidden=(1,), action_input_dropped=(1,),
            action_input_dropout=0.5)
  with pytest.raises(ValueError, match=r'action_input_dropout: expected in '
                     r'\[0, 1\), got 1.0'):
    _config(action_input_dropped=(1,), action_input_dropout=1.0)
  with pytest.raises(ValueError, match=r'action_input_dropout: expected > 0 '
                     r'exactly when action_input_dropped is set; got 0.0'):
    _config(action_input_dropped=(1,))
  learner = _learner(_config(action_input_hidden=(5,),
                             action_input_dropped=(4,),
                             action_input_dropout=0.5), _synthetic(2000))
  for _ in range(400):
    metrics = learner.step()
  # As below: a learner that ignored the data would sit near 2.0.
  assert metrics['action_l2'] < 0.2, metrics


def test_action_input_options_are_validated_and_part_of_the_checkpoint(
    tmp_path):
  with pytest.raises(ValueError, match=r'action_input_hidden: expected '
                     r'distinct state indices in \[0, 6\), got \(2, 6\)'):
    _config(action_input_hidden=(2, 6))
  with pytest.raises(ValueError, match=r'free_bits: expected >= 0, got -1'):
    _config(free_bits=-1.0)
  data = _synthetic(200)
  learner = _learner(_config(action_input_hidden=(0,)), data,
                     checkpoint_dir=str(tmp_path / 'c'))
  learner.step()
  learner.checkpoint()
  with pytest.raises(ValueError, match=r'action_input_hidden: checkpoint '
                     r'\[0\], config \(\)'):
    _learner(_config(), data, checkpoint_dir=str(tmp_path / 'c'))


def test_input_noise_and_free_bits_still_learn_the_known_structure():
  data = _synthetic(2000)
  learner = _learner(_config(action_input_noise=0.1, free_bits=0.1,
                             action_input_hidden=(5,)), data)
  for _ in range(400):
    metrics = learner.step()
  # Zero-error targets: a learner that ignored the data would sit near the
  # actions' variance, 2 dims x 1/3 x K = 2.0.
  assert metrics['action_l2'] < 0.2, metrics


def test_jumpy_input_action_feeds_the_decoded_action_without_training_it():
  """jumpy_input_action: the jumpy prediction depends on the action
  decoder's output for (s_t, z), and the jumpy loss sends no gradient into
  the action decoder; without it, the action decoder does not matter."""
  from jumpy_acme.agents.skill_vae import model as model_lib
  rng = np.random.default_rng(3)
  states = jnp.asarray(rng.normal(size=(K + 1, S)), jnp.float32)
  z = jnp.asarray(rng.normal(size=(4,)), jnp.float32)
  for with_action in (True, False):
    networks = skill_vae.make_networks(
        _config(action_input_hidden=(2,), jumpy_input_action=with_action))
    params = networks.init(jax.random.PRNGKey(0))
    decoder = model_lib.module_params(params, 'action_decoder')
    moved = model_lib.with_module_params(
        params, 'action_decoder',
        jax.tree_util.tree_map(lambda w: w + 0.5, decoder))
    base = networks.decode_jumpy(params, states[0], z)
    changed = np.abs(networks.decode_jumpy(moved, states[0], z) - base).max()
    assert (changed > 1e-3) == with_action, (with_action, changed)
    # Training predicts what acting predicts (posterior mean, no noise).
    mean, _ = networks.encode(params, states)
    np.testing.assert_allclose(
        networks.forward(params, states, jnp.zeros((4,)))[3],
        networks.decode_jumpy(params, states[0], mean), rtol=1e-5,
        atol=1e-5 * float(np.abs(base).max()))
    # The jumpy term's gradient reaches no action decoder parameter.
    grads = jax.grad(lambda p, n=networks: jnp.sum(
        n.decode_jumpy(p, states[0], z) ** 2))(params)
    leaves = jax.tree_util.tree_leaves(
        model_lib.module_params(grads, 'action_decoder'))
    assert all(float(jnp.abs(g).max()) == 0.0 for g in leaves)
  with pytest.raises(ValueError, match=r'jumpy_input_action: expected True '
                     r'or False, got 1'):
    _config(jumpy_input_action=1)


def test_jumpy_input_action_is_part_of_the_checkpoint(tmp_path):
  data = _synthetic(200)
  learner = _learner(_config(jumpy_input_action=True), data,
                     checkpoint_dir=str(tmp_path / 'c'))
  learner.step()
  learner.checkpoint()
  with pytest.raises(ValueError, match=r'jumpy_input_action: checkpoint '
                     r'True, config False'):
    _learner(_config(), data, checkpoint_dir=str(tmp_path / 'c'))
  # A checkpoint written before the field existed was trained without it.
  manager = learner._manager  # pylint: disable=protected-access
  saved = manager.saved_config(manager.latest_step())
  del saved['jumpy_input_action']
  with pytest.raises(ValueError, match=r'jumpy_input_action: checkpoint '
                     r'False, config True'):
    manager.check_structure(saved)
