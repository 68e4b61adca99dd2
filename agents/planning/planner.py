"""CEM-MPC over skills with a jumpy model (paper, Algorithm 1 and Eq. 3).

For a state s_t, each of N plans samples H skills, z_h from the proposal at
the predicted state s_t+hK, and rolls the model out: s_t+(h+1)K =
model(s_t+hK, z_h) (a lax.scan over jumps, vmapped over plans). A plan's
score is sum_{h=0..H} gamma_k^h R(s_t+hK), h = 0 included (Eq. 3). Between
iterations the proposal becomes a per-jump diagonal Gaussian fitted to the
top eta * N plans (or, with mppi, to all plans weighted by softmax(score /
temperature)). The result is the first skill of the best plan of the last
iteration. With one iteration this is random shooting, as in the paper.
With noise_beta > 0 the standard-normal noise is coloured along the jumps
(power spectrum ~ 1/f^beta), so consecutive skills of a plan correlate.

The proposal is the prior N(0, I), or a learned pi(z | s) given as a pure
function s -> (mean, std) (RL-HL + planning). One jitted function; vmap it
over a batch of environments. A K = 1 model plans with the same code.
"""

from typing import Callable, NamedTuple, Optional, Tuple, Union

import chex
import jax
import jax.numpy as jnp

from jumpy_acme.agents.planning import config as config_lib

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]     # (s [S], z [Z]).


class JumpyModel(NamedTuple):
  """A jumpy model split where the planner can share work between plans.

  predict(features(s), s, z) = s_t+K. `features` holds the work on s alone
  (with the skill VAE: the embedding phi(s) and its share of the decoder's
  first layer); the planner computes it once for the current state, which
  all N plans start from, instead of N times.
  """
  features: Callable[[jax.Array], jax.Array]                    # s -> f.
  predict: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]  # f, s, z.


def as_jumpy_model(model_fn: ModelFn) -> JumpyModel:
  """A plain (s, z) -> s_t+K function as a JumpyModel with nothing shared."""
  return JumpyModel(features=lambda s: s,
                    predict=lambda f, s, z: model_fn(s, z))


RewardFn = Callable[[jax.Array], jax.Array]               # s [S] -> [].
ProposalFn = Callable[[jax.Array], Tuple[jax.Array, jax.Array]]


class PlanResult(NamedTuple):
  z: jax.Array             # [Z]: the first skill of the best plan.
  score: jax.Array         # []: its score.
  plans: jax.Array         # [N, H, Z] of the last iteration.
  scores: jax.Array        # [N].
  trajectories: jax.Array  # [N, H+1, S]: s_t, predicted s_t+K, ...
  tied: jax.Array          # [] bool: every one of the N scores is equal, so
  #                          "the best plan" is an arbitrary one (plan 0).


def discounted_score(rewards: jax.Array, gamma_k: float) -> jax.Array:
  """Eq. (3): sum_h gamma_k^h r_h over rewards [H+1] (h = 0 included)."""
  chex.assert_rank(rewards, 1)
  return jnp.sum(rewards * gamma_k ** jnp.arange(rewards.shape[0]))


def coloured_noise(key: jax.Array, shape: Tuple[int, int, int],
                   beta: float) -> jax.Array:
  """Unit-variance Gaussian noise [N, H, Z], coloured along axis 1.

  Each of the N * Z sequences of length H has power spectral density
  ~ 1/f^beta: random Fourier coefficients scaled by f^(-beta / 2) (the
  lowest frequency standing in for f = 0) and transformed back, divided
  by the analytic standard deviation. beta = 0 (or H = 1) is white noise;
  so, in effect, is H <= 3, where every frequency sits at the floor 1 / H:
  colouring matters for long horizons (the K = 1 model's H = 30).
  """
  samples, length, latent = shape
  if beta == 0 or length == 1:
    return jax.random.normal(key, shape)
  freqs = jnp.maximum(jnp.fft.rfftfreq(length), 1.0 / length)
  scale = freqs ** (-beta / 2.0)                           # [F].
  # Var of x_t = irfft(X)_t: (2 s_0^2 + 4 sum_mid s_k^2 + 2 s_nyq^2) / H^2
  # with E|X_k|^2 = 2 s_k^2 for every k (the real ones scaled by sqrt 2).
  weights = jnp.full_like(scale, 4.0).at[0].set(2.0)
  if length % 2 == 0:  # The Nyquist term is real.
    weights = weights.at[-1].set(2.0)
  sigma = jnp.sqrt(jnp.sum(weights * scale ** 2)) / length
  real_key, imag_key = jax.random.split(key)
  size = (samples, latent, scale.shape[0])
  real = jax.random.normal(real_key, size) * scale
  imag = jax.random.normal(imag_key, size) * scale
  imag = imag.at[..., 0].set(0.0)                          # f = 0 is real.
  real = real.at[..., 0].multiply(jnp.sqrt(2.0))
  if length % 2 == 0:
    imag = imag.at[..., -1].set(0.0)
    real = real.at[..., -1].multiply(jnp.sqrt(2.0))
  noise = jnp.fft.irfft(real + 1j * imag, n=length) / sigma  # [N, Z, H].
  return jnp.swapaxes(noise, 1, 2)


def make_planner(model_fn: Union[ModelFn, JumpyModel], reward_fn: RewardFn,
                 latent_size: int, config: config_lib.PlannerConfig,
                 proposal_fn: Optional[ProposalFn] = None,
                 state_size: Optional[int] = None):
  """Returns plan(key, state) -> PlanResult, pure (jit and vmap it).

  Args:
    model_fn: the jumpy model, (s [S], z [Z]) -> predicted s_t+K [S], or
      a JumpyModel (faster: the current state's features are shared).
    reward_fn: the task's reward, s [S] -> [].
    latent_size: Z.
    config: the planner's parameters.
    proposal_fn: a learned pi(z | s), s -> (mean [Z], std [Z]); None for
      the prior N(0, I).
    state_size: S, if given: plan() then rejects states of another size.
  """
  horizon, samples = config.horizon, config.num_samples
  model = (model_fn if isinstance(model_fn, JumpyModel)
           else as_jumpy_model(model_fn))

  def rollout(state, first_features, noise, means, stds,
              use_proposal_fn: bool):
    """One plan: noise, means, stds [H, Z] -> (zs [H, Z], states [H+1, S]).

    The first jump starts from `state`, whose features all plans share;
    the other H - 1 jumps are a lax.scan.
    """
    def skill(s, eps, mean, std):
      if use_proposal_fn:
        mean, std = proposal_fn(s)
      return mean + std * eps

    def jump(s, inputs):
      z = skill(s, *inputs)
      return model.predict(model.features(s), s, z), (z, s)

    z_0 = skill(state, noise[0], means[0], stds[0])
    s_1 = model.predict(first_features, state, z_0)
    final, (zs, states) = jax.lax.scan(jump, s_1,
                                       (noise[1:], means[1:], stds[1:]))
    return (jnp.concatenate([z_0[None], zs], axis=0),
            jnp.concatenate([state[None], states, final[None]], axis=0))

  def evaluate(key, state, means, stds, use_proposal_fn):
    noise = coloured_noise(key, (samples, horizon, latent_size),
                           config.noise_beta)
    first_features = model.features(state)
    zs, states = jax.vmap(lambda n: rollout(
        state, first_features, n, means, stds, use_proposal_fn))(noise)
    rewards = jax.vmap(jax.vmap(reward_fn))(states)          # [N, H+1].
    scores = jax.vmap(lambda r: discounted_score(r, config.gamma_k))(rewards)
    return zs, states, scores

  def refit(zs, scores):
    if config.mppi:
      weights = jax.nn.softmax((scores - scores.max()) / config.temperature)
    else:
      _, elite = jax.lax.top_k(scores, config.num_elites)
      weights = jnp.zeros_like(scores).at[elite].set(1.0 / config.num_elites)
    mean = jnp.einsum('n,nhz->hz', weights, zs)
    var = jnp.einsum('n,nhz->hz', weights, (zs - mean) ** 2)
    return mean, jnp.sqrt(var) + config.min_std

  def plan(key, state, init_mean=None, init_std=None) -> PlanResult:
    """Plans from `state` [S].

    Args:
      key: PRNG key.
      state: the current state.
      init_mean, init_std: [H, Z] proposal of the first iteration instead
        of the prior / proposal_fn (e.g. a warm start from the previous
        step's plan shifted by one jump).
    """
    chex.assert_rank(state, 1)
    if state_size is not None and state.shape[0] != state_size:
      raise ValueError(f'state: expected shape ({state_size},), got '
                       f'{tuple(state.shape)}.')
    for name, value in (('init_mean', init_mean), ('init_std', init_std)):
      if value is not None and value.shape != (horizon, latent_size):
        raise ValueError(f'{name}: expected shape ({horizon}, {latent_size})'
                         f' = (horizon, latent_size), got {value.shape}.')
    keys = jax.random.split(key, config.iterations)
    zeros = jnp.zeros((horizon, latent_size))
    warm = init_mean is not None
    means = init_mean if warm else zeros
    stds = init_std if init_std is not None else jnp.ones_like(zeros)
    zs, states, scores = evaluate(keys[0], state, means, stds,
                                  proposal_fn is not None and not warm)

    def iteration(carry, iteration_key):
      zs, _, scores = carry
      mean, std = refit(zs, scores)
      return evaluate(iteration_key, state, mean, std, False), None

    (zs, states, scores), _ = jax.lax.scan(iteration, (zs, states, scores),
                                           keys[1:])
    best = jnp.argmax(scores)
    return PlanResult(zs[best, 0], scores[best], zs, scores, states,
                      jnp.max(scores) == jnp.min(scores))

  return plan


def shift_plan(plan: jax.Array) -> jax.Array:
  """A warm start: the plan [H, Z] one jump later, the last jump zero."""
  return jnp.concatenate([plan[1:], jnp.zeros_like(plan[:1])], axis=0)


def make_batched_planner(plan, num_devices: int = 1):
  """plan over a batch of environments: (keys [E], states [E, S]) ->
  PlanResult with a leading [E]. Jitted; with num_devices > 1 the batch is
  split over the local devices (E must divide by it), each device planning
  for its environments with the model replicated (utils/sharding.py)."""
  batched = jax.jit(jax.vmap(plan))
  if num_devices == 1:
    return batched
  from jumpy_acme.utils import sharding  # pylint: disable=g-import-not-at-top
  mesh = sharding.data_mesh(num_devices)

  def run(keys, states):
    return batched(*sharding.shard(mesh, (keys, states)))

  return run
