"""CEM-MPC over skills with a jumpy model (paper, Algorithm 1 and Eq. 3).

For a state s_t, each of N plans samples H skills, z_h from the proposal at
the predicted state s_t+hK, and rolls the model out: s_t+(h+1)K =
model(s_t+hK, z_h) (a lax.scan over jumps, vmapped over plans). A plan's
score is sum_{h=0..H} gamma_k^h R(s_t+hK), h = 0 included (Eq. 3). Between
iterations the proposal becomes a per-jump diagonal Gaussian fitted to the
top eta * N plans (or, with mppi, to all plans weighted by softmax(score /
temperature)). The result is the first skill of the best plan of the last
iteration. With one iteration this is random shooting, as in the paper.

The proposal is the prior N(0, I), or a learned pi(z | s) given as a pure
function s -> (mean, std) (RL-HL + planning). One jitted function; vmap it
over a batch of environments. A K = 1 model plans with the same code.
"""

from typing import Callable, NamedTuple, Optional, Tuple

import chex
import jax
import jax.numpy as jnp

from jumpy_acme.agents.planning import config as config_lib

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]     # (s [S], z [Z]).
RewardFn = Callable[[jax.Array], jax.Array]               # s [S] -> [].
ProposalFn = Callable[[jax.Array], Tuple[jax.Array, jax.Array]]


class PlanResult(NamedTuple):
  z: jax.Array             # [Z]: the first skill of the best plan.
  score: jax.Array         # []: its score.
  plans: jax.Array         # [N, H, Z] of the last iteration.
  scores: jax.Array        # [N].
  trajectories: jax.Array  # [N, H+1, S]: s_t, predicted s_t+K, ...


def discounted_score(rewards: jax.Array, gamma_k: float) -> jax.Array:
  """Eq. (3): sum_h gamma_k^h r_h over rewards [H+1] (h = 0 included)."""
  chex.assert_rank(rewards, 1)
  return jnp.sum(rewards * gamma_k ** jnp.arange(rewards.shape[0]))


def make_planner(model_fn: ModelFn, reward_fn: RewardFn, latent_size: int,
                 config: config_lib.PlannerConfig,
                 proposal_fn: Optional[ProposalFn] = None):
  """Returns plan(key, state) -> PlanResult, pure (jit and vmap it)."""
  horizon, samples = config.horizon, config.num_samples

  def rollout(state, noise, means, stds, use_proposal_fn: bool):
    """One plan: noise, means, stds [H, Z] -> (zs [H, Z], states [H+1, S])."""
    def jump(s, inputs):
      eps, mean, std = inputs
      if use_proposal_fn:
        mean, std = proposal_fn(s)
      z = mean + std * eps
      return model_fn(s, z), (z, s)
    final, (zs, states) = jax.lax.scan(jump, state, (noise, means, stds))
    return zs, jnp.concatenate([states, final[None]], axis=0)

  def evaluate(key, state, means, stds, use_proposal_fn):
    noise = jax.random.normal(key, (samples, horizon, latent_size))
    zs, states = jax.vmap(
        lambda n: rollout(state, n, means, stds, use_proposal_fn))(noise)
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
    return PlanResult(zs[best, 0], scores[best], zs, scores, states)

  return plan


def shift_plan(plan: jax.Array) -> jax.Array:
  """A warm start: the plan [H, Z] one jump later, the last jump zero."""
  return jnp.concatenate([plan[1:], jnp.zeros_like(plan[:1])], axis=0)
