"""DMPO's losses, written for one state and vmapped by the learner.

Shapes: N sampled actions per state, D action dimensions, L critic atoms.

Critic (Bellemare et al., 2017, "A Distributional Perspective on RL"):
  p_t = (1/N) sum_n softmax(logits_t[n])          next-state distribution
                                                  under the target policy
  target = Proj_atoms(r_t + discount_t * atoms, p_t)   (L2/Cramer projection)
  loss = -sum_l target_l log softmax(logits_tm1)_l
with discount_t = gamma * D_t (D_t from the n-step adder already holds
gamma^(n-1)). Projection is linear in p for a fixed support, so averaging
the N distributions before projecting equals Acme's project-then-average.

Policy: MPO with decoupled KL constraints (Abdolmaleki et al., 2018,
"Relative Entropy Regularized Policy Iteration", arXiv:1812.02256, Sec. 4):
  E-step (Eq. 7-8): w_n = softmax_n(Q_n / eta); the temperature eta
    minimises the dual  eta * (epsilon + log mean_n exp(Q_n / eta)).
  M-step (Eq. 9-10), with pi_mean = N(mu, sigma_target) and
    pi_std = N(mu_target, sigma):
    L = -sum_n w_n [log pi_mean(a_n) + log pi_std(a_n)]
        + sg(alpha_mu) KL(pi_target || pi_mean)
        + sg(alpha_sigma) KL(pi_target || pi_std)
        + alpha_mu (eps_mu - sg(KL_mu)) + alpha_sigma (eps_sigma - sg(KL_sigma))
  with KLs and alphas per action dimension when constraining per dimension.
Action penalization (MO-MPO; Abdolmaleki et al., 2020, arXiv:2005.07513): a
second E-step on the cost c_n = -||a_n - clip(a_n, -1, 1)||_2 with its own
temperature and bound epsilon_penalty; its weights are added to w.
Duals are kept in log space and pass through softplus(x) + 1e-8.

The E-step (rlax.mpo_compute_weights_and_temperature_loss), the KL
penalties and their duals (rlax.compute_parametric_kl_penalty_and_dual_loss)
and the L2 projection (rlax.categorical_l2_project) are rlax's; the wrappers
here fix our conventions: one state, duals passed in already positive
(identity projection), no gradient through Q or the E-step weights, and
in each KL constraint sg(alpha) in the penalty and sg(KL) in the dual.
rlax imports next to Reverb's TF 2.15 because constraints.txt pins
tensorflow-probability 0.23 (TFP 0.25 rejects TF < 2.18). The Gaussian
log-probabilities and per-dimension KLs stay closed forms: rlax's Gaussian
helpers are deprecated and sum over dimensions. rlax.mpo_loss is not used:
with action penalization the M-step weights are the sum of two E-steps'
weights, which it cannot express.
"""

from typing import Dict, NamedTuple, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import rlax

from jumpy_acme.agents.dmpo import config as config_lib

_MPO_FLOAT_EPSILON = 1e-8
MIN_LOG_DUAL = -18.0  # Duals are clipped below at this value (log space).


class DualParams(NamedTuple):
  """The MPO Lagrange multipliers, in log space (before softplus).

  Attributes:
    log_temperature: [] eta of the E-step.
    log_alpha_mean: [D] per-dimension, else [].
    log_alpha_stddev: [D] per-dimension, else [].
    log_penalty_temperature: [] eta of the action-penalty E-step (unused
      without action penalization).
  """
  log_temperature: jax.Array
  log_alpha_mean: jax.Array
  log_alpha_stddev: jax.Array
  log_penalty_temperature: jax.Array


def init_dual_params(config: config_lib.DMPOConfig,
                     action_size: int) -> DualParams:
  shape = (action_size,) if config.per_dim_constraining else ()
  full = lambda value, s=(): jnp.full(s, value, jnp.float32)
  return DualParams(
      log_temperature=full(config.init_log_temperature),
      log_alpha_mean=full(config.init_log_alpha_mean, shape),
      log_alpha_stddev=full(config.init_log_alpha_stddev, shape),
      log_penalty_temperature=full(config.init_log_temperature))


def clip_dual_params(params: DualParams) -> DualParams:
  """Keeps every log-dual >= MIN_LOG_DUAL (as Acme's clip_mpo_params)."""
  return jax.tree_util.tree_map(lambda x: jnp.maximum(x, MIN_LOG_DUAL), params)


def to_dual(log_value: jax.Array) -> jax.Array:
  """softplus(x) + 1e-8: a positive multiplier from its log-space value."""
  return jax.nn.softplus(log_value) + _MPO_FLOAT_EPSILON


def _already_positive(dual: jax.Array) -> jax.Array:
  """rlax's projection_operator for duals that went through to_dual."""
  return dual


def gaussian_log_prob(action: jax.Array, mean: jax.Array,
                      stddev: jax.Array) -> jax.Array:
  """log N(a; mean, diag(stddev^2)) for a [D] -> []."""
  chex.assert_rank([action, mean, stddev], 1)
  chex.assert_equal_shape([action, mean, stddev])
  z = (action - mean) / stddev
  return jnp.sum(-0.5 * z ** 2 - jnp.log(stddev) - 0.5 * np.log(2 * np.pi))


def gaussian_kl(mean_p: jax.Array, stddev_p: jax.Array, mean_q: jax.Array,
                stddev_q: jax.Array) -> jax.Array:
  """KL(N(mean_p, stddev_p^2) || N(mean_q, stddev_q^2)) per dimension [D].

  KL = log(s_q / s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2.
  """
  chex.assert_rank([mean_p, stddev_p, mean_q, stddev_q], 1)
  chex.assert_equal_shape([mean_p, stddev_p, mean_q, stddev_q])
  return (jnp.log(stddev_q / stddev_p) +
          (stddev_p ** 2 + (mean_p - mean_q) ** 2) / (2 * stddev_q ** 2) - 0.5)


def decoupled_kl(target_mean: jax.Array, target_stddev: jax.Array,
                 online_mean: jax.Array, online_stddev: jax.Array
                 ) -> Tuple[jax.Array, jax.Array]:
  """The two KLs of the decoupled M-step, per dimension [D].

  kl_mean = KL(N(mu_t, s_t) || N(mu, s_t)) = (mu_t - mu)^2 / (2 s_t^2);
  kl_stddev = KL(N(mu_t, s_t) || N(mu_t, s))
            = log(s / s_t) + s_t^2 / (2 s^2) - 1/2.
  """
  kl_mean = gaussian_kl(target_mean, target_stddev, online_mean,
                        target_stddev)
  kl_stddev = gaussian_kl(target_mean, target_stddev, target_mean,
                          online_stddev)
  return kl_mean, kl_stddev


def e_step(q_values: jax.Array, epsilon: float,
           temperature: jax.Array) -> Tuple[jax.Array, jax.Array]:
  """Weights of the non-parametric policy and the temperature's dual loss.

  Args:
    q_values: [N] Q(s, a_n) of actions sampled from the target policy.
    epsilon: the bound on KL(q || pi_target).
    temperature: [] eta > 0 (already through softplus).

  Returns:
    weights [N] = softmax(Q / eta) (no gradient), and the dual loss []
    eta * (epsilon + logsumexp(Q / eta) - log N) (gradient to eta only),
    both from rlax.mpo_compute_weights_and_temperature_loss.
  """
  chex.assert_rank([q_values, temperature], [1, 0])
  # rlax lets gradients reach Q through the weights and the dual; we stop
  # them (Q comes from the target critic; the weights are constants of the
  # M-step).
  loss, weights, _ = rlax.mpo_compute_weights_and_temperature_loss(
      jax.lax.stop_gradient(q_values),
      rlax.LagrangePenalty(alpha=temperature,
                           epsilon=jnp.asarray(epsilon, temperature.dtype)),
      projection_operator=_already_positive, sample_axis=0)
  return jax.lax.stop_gradient(weights), loss


def out_of_bound_cost(actions: jax.Array) -> jax.Array:
  """-||a_n - clip(a_n, -1, 1)||_2 for actions [N, D] -> [N] (0 inside)."""
  chex.assert_rank(actions, 2)
  excess = actions - jnp.clip(actions, -1.0, 1.0)
  # sqrt(sum^2) with a safe gradient at 0 (no gradient flows here anyway).
  squared = jnp.sum(excess ** 2, axis=-1)
  return -jnp.where(squared > 0, jnp.sqrt(jnp.where(squared > 0, squared, 1)),
                    0.0)


def kl_penalty_and_dual_loss(kl: jax.Array, alpha: jax.Array,
                             epsilon: float) -> Tuple[jax.Array, jax.Array]:
  """sum sg(alpha) * KL (to the policy), sum alpha * (eps - sg(KL)) (to
  alpha); kl and alpha both [D] (per dimension) or both []; alpha already
  positive. rlax.compute_parametric_kl_penalty_and_dual_loss with one
  constraint."""
  chex.assert_rank(kl, {0, 1})
  chex.assert_equal_shape([kl, alpha])
  penalty = rlax.LagrangePenalty(
      alpha=alpha, epsilon=jnp.asarray(epsilon, alpha.dtype),
      per_dimension=kl.ndim == 1)
  return rlax.compute_parametric_kl_penalty_and_dual_loss(
      [(kl, penalty)], _already_positive, use_stop_gradient=True)


def mpo_policy_loss(dual_params: DualParams, online_mean: jax.Array,
                    online_stddev: jax.Array, target_mean: jax.Array,
                    target_stddev: jax.Array, actions: jax.Array,
                    q_values: jax.Array, config: config_lib.DMPOConfig
                    ) -> Tuple[jax.Array, Dict[str, jax.Array]]:
  """The decoupled MPO loss (policy + KL penalties + all dual losses) for one
  state; its batch mean equals Acme's batched MPO loss.

  Args:
    dual_params: log-space duals (alphas [D] if per-dimension, else []).
    online_mean, online_stddev: [D] the online policy at the state.
    target_mean, target_stddev: [D] the target policy (no gradient).
    actions: [N, D] canonical actions sampled from the target policy.
    q_values: [N] the target critic's mean values of `actions`.
    config: epsilons, per_dim_constraining, action_penalization.

  Returns:
    The loss [] and a dict of scalar diagnostics.
  """
  chex.assert_rank([online_mean, online_stddev, target_mean, target_stddev,
                    actions, q_values], [1, 1, 1, 1, 2, 1])
  chex.assert_equal_shape([online_mean, online_stddev, target_mean,
                           target_stddev, actions[0]])
  chex.assert_equal_shape_prefix([actions, q_values], 1)
  target_mean = jax.lax.stop_gradient(target_mean)
  target_stddev = jax.lax.stop_gradient(target_stddev)
  actions = jax.lax.stop_gradient(actions)
  num_samples = actions.shape[0]

  temperature = to_dual(dual_params.log_temperature)
  alpha_mean = to_dual(dual_params.log_alpha_mean)
  alpha_stddev = to_dual(dual_params.log_alpha_stddev)

  # E-step: the non-parametric policy's weights and the temperature dual.
  weights, loss_temperature = e_step(q_values, config.epsilon, temperature)
  kl_q = jnp.sum(weights * jnp.log(num_samples * weights + 1e-8))
  stats = {}
  if config.action_penalization:
    penalty_temperature = to_dual(dual_params.log_penalty_temperature)
    penalty_weights, loss_penalty = e_step(
        out_of_bound_cost(actions), config.epsilon_penalty,
        penalty_temperature)
    weights = weights + penalty_weights
    loss_temperature = loss_temperature + loss_penalty
    stats['penalty_temperature'] = penalty_temperature
    stats['penalty_kl_q_rel'] = jnp.sum(penalty_weights * jnp.log(
        num_samples * penalty_weights + 1e-8)) / config.epsilon_penalty

  # M-step: weighted maximum likelihood, mean and stddev decoupled.
  log_prob_mean = jax.vmap(gaussian_log_prob, (0, None, None))(
      actions, online_mean, target_stddev)
  log_prob_stddev = jax.vmap(gaussian_log_prob, (0, None, None))(
      actions, target_mean, online_stddev)
  loss_policy = -jnp.sum(weights * (log_prob_mean + log_prob_stddev))

  kl_mean, kl_stddev = decoupled_kl(target_mean, target_stddev, online_mean,
                                    online_stddev)
  if not config.per_dim_constraining:
    kl_mean, kl_stddev = jnp.sum(kl_mean), jnp.sum(kl_stddev)
  loss_kl_mean, loss_alpha_mean = kl_penalty_and_dual_loss(
      kl_mean, alpha_mean, config.epsilon_mean)
  loss_kl_stddev, loss_alpha_stddev = kl_penalty_and_dual_loss(
      kl_stddev, alpha_stddev, config.epsilon_stddev)

  loss = (loss_policy + loss_kl_mean + loss_kl_stddev + loss_alpha_mean +
          loss_alpha_stddev + loss_temperature)
  stats.update({
      'policy_loss': loss_policy,
      'kl_penalty_loss': loss_kl_mean + loss_kl_stddev,
      'dual_loss': loss_alpha_mean + loss_alpha_stddev + loss_temperature,
      'temperature': temperature,
      'alpha_mean': jnp.mean(alpha_mean),
      'alpha_stddev': jnp.mean(alpha_stddev),
      'kl_q_rel': kl_q / config.epsilon,
      'kl_mean_rel': jnp.mean(kl_mean) / config.epsilon_mean,
      'kl_stddev_rel': jnp.mean(kl_stddev) / config.epsilon_stddev,
      'q_min': jnp.min(q_values),
      'q_max': jnp.max(q_values),
      'pi_stddev_min': jnp.min(online_stddev),
      'pi_stddev_max': jnp.max(online_stddev),
  })
  return loss, stats


def categorical_l2_project(z_p: jax.Array, probs: jax.Array,
                           z_q: jax.Array) -> jax.Array:
  """Projects (z_p, probs) onto the increasing support z_q (Cramer/L2).

  Each source atom, clipped to [z_q[0], z_q[-1]], splits its mass between
  its two neighbours on z_q in proportion to closeness:
    proj_i = sum_j probs_j max(0, 1 - |zc_j - z_q[i]| / w_ij),
  w_ij the gap from z_q[i] to its neighbour on zc_j's side (Bellemare et
  al., 2017, Eq. 7). rlax.categorical_l2_project, with a shape check.

  Args:
    z_p: [K] source atoms (any order).
    probs: [K] their probabilities.
    z_q: [L] target support, strictly increasing.

  Returns:
    [L] probabilities on z_q.
  """
  chex.assert_rank([z_p, probs, z_q], 1)
  chex.assert_equal_shape([z_p, probs])
  return rlax.categorical_l2_project(z_p, probs, z_q)


def categorical_target(r_t: jax.Array, discount_t: jax.Array,
                       logits_t: jax.Array, atoms: jax.Array) -> jax.Array:
  """The projected distributional target [L] for one transition.

  Args:
    r_t: [] the n-step return.
    discount_t: [] gamma * D_t (0 at a termination).
    logits_t: [N, L] target-critic logits of N target-policy actions at the
      next state.
    atoms: [L] the support, increasing.

  Returns:
    Proj_atoms(r_t + discount_t * atoms, mean_n softmax(logits_t[n])).
  """
  chex.assert_rank([r_t, discount_t, logits_t, atoms], [0, 0, 2, 1])
  chex.assert_equal_shape_suffix([logits_t, atoms], 1)
  probs_t = jnp.mean(jax.nn.softmax(logits_t, axis=-1), axis=0)
  target = categorical_l2_project(r_t + discount_t * atoms, probs_t, atoms)
  return jax.lax.stop_gradient(target)


def categorical_cross_entropy(target_probs: jax.Array,
                              logits: jax.Array) -> jax.Array:
  """-sum_l p_l log softmax(logits)_l for [L] -> []."""
  chex.assert_rank([target_probs, logits], 1)
  chex.assert_equal_shape([target_probs, logits])
  return -jnp.sum(target_probs * jax.nn.log_softmax(logits))


def critic_loss(logits_tm1: jax.Array, r_t: jax.Array, discount_t: jax.Array,
                logits_t: jax.Array, atoms: jax.Array) -> jax.Array:
  """Cross-entropy of the online critic at (o_tm1, a_tm1) [L] against the
  projected target (see `categorical_target`)."""
  target = categorical_target(r_t, discount_t, logits_t, atoms)
  return categorical_cross_entropy(target, logits_tm1)
