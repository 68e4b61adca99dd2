"""The DMPO learner: one jitted update (several SGD steps via lax.scan).

One SGD step on a batch of B n-step transitions (o_tm1, a_tm1, r_t, D_t, o_t):
  1. The target policy at the 2B states [o_tm1; o_t] gives N sampled
     canonical actions per state; the target critic scores them once
     ([2B, N, L] logits, Q = mean of each distribution).
  2. Policy: the MPO loss (losses.mpo_policy_loss) at all 2B states (as
     Acme's learner does on the two-step sequence a transition makes).
  3. Critic: cross-entropy of the online critic at (o_tm1, a_tm1) against
     Proj(r_t + gamma D_t atoms, mean over the N next-state distributions).
  4. Adam on policy, critic (learning_rate) and duals (dual_learning_rate),
     each with global-norm clipping; duals clipped in log space; target
     networks copied every target_update_period SGD steps.

Acme's Learner interface: step() pulls sgd_steps_per_step x batch_size
transitions (a Transition, or a reverb.ReplaySample whose data is one),
runs the jitted update, logs metrics, publishes the policy to a variable
table when given a publisher, and checkpoints periodically with orbax. A
learner given a checkpoint directory that holds checkpoints resumes from the
latest one.
"""

import functools
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jumpy_acme import checkpointing
from jumpy_acme import core
from jumpy_acme import learner_steps
from jumpy_acme import types
from jumpy_acme import variables
from jumpy_acme.agents.dmpo import config as config_lib
from jumpy_acme.agents.dmpo import losses
from jumpy_acme.agents.dmpo import networks as networks_lib
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers
from jumpy_acme.utils import sharding

# Configuration fields a checkpoint must agree on to be restored.
_STRUCTURAL_FIELDS = ('policy_hidden_sizes', 'critic_hidden_sizes',
                      'num_atoms', 'per_dim_constraining',
                      'observation_mean', 'observation_std')


class TrainingState(NamedTuple):
  """Everything the update changes (a pytree)."""
  policy_params: Any
  critic_params: Any
  target_policy_params: Any
  target_critic_params: Any
  dual_params: losses.DualParams
  policy_opt_state: Any
  critic_opt_state: Any
  dual_opt_state: Any
  steps: jax.Array  # SGD steps taken, int32 [].
  key: jax.Array


class Optimizers(NamedTuple):
  policy: optax.GradientTransformation
  critic: optax.GradientTransformation
  dual: optax.GradientTransformation


def make_optimizers(config: config_lib.DMPOConfig) -> Optimizers:
  """Adam with global-norm clipping for policy, critic and duals."""
  def adam(learning_rate):
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                       optax.adam(learning_rate))
  return Optimizers(adam(config.learning_rate), adam(config.learning_rate),
                    adam(config.dual_learning_rate))


def init_training_state(networks: networks_lib.DMPONetworks,
                        key: jax.Array) -> TrainingState:
  """Fresh parameters (targets equal to online), duals and optimiser states."""
  config = networks.config
  optimizers = make_optimizers(config)
  policy_key, critic_key, key = jax.random.split(key, 3)
  policy_params = networks.policy_init(policy_key)
  critic_params = networks.critic_init(critic_key)
  dual_params = losses.init_dual_params(config, networks.action_size)
  return TrainingState(
      policy_params=policy_params, critic_params=critic_params,
      target_policy_params=policy_params, target_critic_params=critic_params,
      dual_params=dual_params,
      policy_opt_state=optimizers.policy.init(policy_params),
      critic_opt_state=optimizers.critic.init(critic_params),
      dual_opt_state=optimizers.dual.init(dual_params),
      steps=jnp.zeros((), jnp.int32), key=key)


def check_batch(networks: networks_lib.DMPONetworks,
                transitions: types.Transition,
                num: Optional[int] = None) -> None:
  """Raises ValueError naming the field that does not fit (host side)."""
  obs_shape = networks.observation_shape
  expected = {
      'observation': obs_shape, 'next_observation': obs_shape,
      'action': (networks.action_size,), 'reward': (), 'discount': ()}
  leading = None
  for name, shape in expected.items():
    value = getattr(transitions, name)
    got = tuple(np.shape(value))
    if len(got) != len(shape) + 1 or got[1:] != shape:
      raise ValueError(f'transitions.{name}: expected [batch, *{shape}], got '
                       f'{got}.')
    leading = got[0] if leading is None else leading
    if got[0] != leading:
      raise ValueError(f'transitions.{name}: expected batch {leading} like '
                       f'transitions.observation, got {got[0]}.')
  if num is not None and leading != num:
    raise ValueError(f'transitions: expected {num} transitions per step '
                     '(sgd_steps_per_step x batch_size), got '
                     f'{leading}.')


def make_update(networks: networks_lib.DMPONetworks,
                config: Optional[config_lib.DMPOConfig] = None):
  """update(state, transitions) -> (state, metrics). Pure; jit it.

  transitions: a Transition whose leaves are [S * B, ...] with S =
  sgd_steps_per_step; the S SGD steps run as a lax.scan over [S, B, ...].
  Metrics are means over the S steps.
  """
  config = config or networks.config
  optimizers = make_optimizers(config)
  num_samples = config.num_samples
  atoms = networks.atoms

  def sgd_step(state: TrainingState, transitions: types.Transition):
    key, sample_key = jax.random.split(state.key)
    batch = transitions.reward.shape[0]
    o_tm1, o_t = transitions.observation, transitions.next_observation
    observations = jnp.concatenate([o_tm1, o_t], axis=0)        # [2B, ...]
    a_tm1 = networks.to_canonical(transitions.action)             # [B, D]
    r_t = transitions.reward.astype(jnp.float32)                  # [B]
    discount_t = config.discount * transitions.discount.astype(jnp.float32)

    # Targets: N target-policy actions per state, scored by the target critic.
    target_mean, target_stddev = networks.policy_apply(
        state.target_policy_params, observations)                 # [2B, D]
    noise = jax.random.normal(sample_key,
                              (2 * batch, num_samples, networks.action_size))
    sampled_actions = (target_mean[:, None] +
                       target_stddev[:, None] * noise)             # [2B, N, D]
    tiled = jnp.broadcast_to(
        observations[:, None],
        (2 * batch, num_samples) + observations.shape[1:])
    target_logits = networks.critic_apply(
        state.target_critic_params, tiled, sampled_actions)       # [2B, N, L]
    q_values = networks.q_values(target_logits)                   # [2B, N]
    logits_t = target_logits[batch:]                              # [B, N, L]

    def loss_fn(policy_params, critic_params, dual_params):
      online_mean, online_stddev = networks.policy_apply(policy_params,
                                                         observations)
      policy_losses, policy_stats = jax.vmap(
          functools.partial(losses.mpo_policy_loss, config=config),
          in_axes=(None, 0, 0, 0, 0, 0, 0))(
              dual_params, online_mean, online_stddev, target_mean,
              target_stddev, sampled_actions, q_values)
      logits_tm1 = networks.critic_apply(critic_params, o_tm1, a_tm1)
      critic_losses = jax.vmap(losses.critic_loss, (0, 0, 0, 0, None))(
          logits_tm1, r_t, discount_t, logits_t, atoms)
      policy_loss = jnp.mean(policy_losses)
      critic_loss = jnp.mean(critic_losses)
      metrics = {k: jnp.mean(v) for k, v in policy_stats.items()}
      metrics.update(mpo_loss=policy_loss, critic_loss=critic_loss,
                     q_tm1=jnp.mean(networks.q_values(logits_tm1)))
      return policy_loss + critic_loss, metrics

    (loss, metrics), grads = jax.value_and_grad(
        loss_fn, argnums=(0, 1, 2), has_aux=True)(
            state.policy_params, state.critic_params, state.dual_params)
    policy_grads, critic_grads, dual_grads = grads

    updates, policy_opt_state = optimizers.policy.update(
        policy_grads, state.policy_opt_state, state.policy_params)
    policy_params = optax.apply_updates(state.policy_params, updates)
    updates, critic_opt_state = optimizers.critic.update(
        critic_grads, state.critic_opt_state, state.critic_params)
    critic_params = optax.apply_updates(state.critic_params, updates)
    updates, dual_opt_state = optimizers.dual.update(
        dual_grads, state.dual_opt_state, state.dual_params)
    dual_params = losses.clip_dual_params(
        optax.apply_updates(state.dual_params, updates))

    steps = state.steps + 1
    period = config.target_update_period
    new_state = TrainingState(
        policy_params=policy_params, critic_params=critic_params,
        target_policy_params=optax.periodic_update(
            policy_params, state.target_policy_params, steps, period),
        target_critic_params=optax.periodic_update(
            critic_params, state.target_critic_params, steps, period),
        dual_params=dual_params, policy_opt_state=policy_opt_state,
        critic_opt_state=critic_opt_state, dual_opt_state=dual_opt_state,
        steps=steps, key=key)
    metrics.update(loss=loss,
                   policy_grad_norm=optax.global_norm(policy_grads),
                   critic_grad_norm=optax.global_norm(critic_grads),
                   reward=jnp.mean(r_t))
    return new_state, metrics

  def update(state: TrainingState, transitions: types.Transition):
    transitions = types.Transition(
        transitions.observation, transitions.action, transitions.reward,
        transitions.discount, transitions.next_observation, ())
    steps = config.sgd_steps_per_step
    if transitions.reward.ndim == 1:  # [S * B, ...] -> [S, B, ...].
      reshape = lambda x: jnp.reshape(x, (steps, -1) + x.shape[1:])
      transitions = jax.tree_util.tree_map(reshape, transitions)
    state, metrics = jax.lax.scan(sgd_step, state, transitions)
    return state, jax.tree_util.tree_map(jnp.mean, metrics)

  return update


def _as_transitions(sample) -> types.Transition:
  data = getattr(sample, 'data', sample)  # A reverb.ReplaySample's data.
  if not isinstance(data, types.Transition):
    data = types.Transition(*data)
  return data


class DMPOLearner(core.Learner):
  """Learns DMPO's policy and categorical critic from n-step transitions."""

  def __init__(self, networks: networks_lib.DMPONetworks,
               iterator: Iterator[Any],
               random_key: Optional[jax.Array] = None,
               logger: Optional[loggers.Logger] = None,
               counter: Optional[counting.Counter] = None,
               checkpoint_dir: Optional[str] = None,
               publisher: Optional[variables.VariablePublisher] = None,
               num_devices: int = 1):
    """Initializes the learner (and resumes from `checkpoint_dir`).

    Args:
      networks: make_networks(environment_spec, config).
      iterator: batches of sgd_steps_per_step x batch_size transitions
        (a Transition of numpy/jax arrays, or a reverb.ReplaySample whose
        data is one).
      random_key: initial key (default: PRNGKey(config.seed)).
      logger: receives one row per step.
      counter: counts learner steps.
      checkpoint_dir: orbax checkpoints go (and are resumed from) here.
      publisher: if given, {'policy': params} is published to its variable
        table at start and every `variable_publish_period` steps.
      num_devices: local devices each batch is split over (data parallel:
        parameters replicated, gradients averaged; utils/sharding.py).
    """
    self._networks = networks
    self._config = config = networks.config
    self._iterator = iterator
    self._recorder = learner_steps.StepRecorder(counter, logger,
                                                config.sgd_steps_per_step)
    self._publisher = publisher
    key = (jax.random.PRNGKey(config.seed) if random_key is None
           else random_key)
    self._state = init_training_state(networks, key)
    self._update = jax.jit(make_update(networks, config))
    self._manager = None
    if checkpoint_dir is not None:
      self._manager = make_checkpoint_manager(checkpoint_dir, config)
      restored = self._manager.restore_latest(state=self._state)
      if restored is not None:
        self._state = restored['state']
        self._recorder.resume(int(self._state.steps))
    self._mesh = sharding.learner_mesh(num_devices, config.batch_size)
    if self._mesh is not None:
      self._state = sharding.replicate(self._mesh, self._state)
    self._publish()

  @property
  def state(self) -> TrainingState:
    return self._state

  def step(self) -> Dict[str, float]:
    """One learner step: sgd_steps_per_step SGD steps on one batch."""
    config = self._config
    transitions = _as_transitions(self._recorder.next_batch(self._iterator))
    check_batch(self._networks, transitions,
                config.sgd_steps_per_step * config.batch_size)
    if self._mesh is not None:  # [S, B, ...] split over B.
      transitions = types.Transition(
          transitions.observation, transitions.action, transitions.reward,
          transitions.discount, transitions.next_observation, ())
      transitions = sharding.shard_steps(
          self._mesh, transitions, config.sgd_steps_per_step,
          config.batch_size)
    self._state, metrics = self._update(self._state, transitions)
    metrics = self._recorder.record(metrics)
    steps = self._recorder.steps
    if steps % config.variable_publish_period == 0:
      self._publish()
    if (self._manager is not None and
        steps % config.checkpoint_every == 0):
      self.checkpoint()
    return metrics

  def _publish(self):
    if self._publisher is not None:
      self._publisher.publish({'policy': self._state.policy_params},
                              version=int(self._state.steps))

  def checkpoint(self):
    """Saves now, if the learner has a checkpoint directory.

    One orbax checkpoint at the current SGD step with the items 'state'
    (the TrainingState) and 'config'.
    """
    if self._manager is not None:
      self._manager.save(int(self._state.steps), state=self._state)

  def get_variables(self, names: Sequence[str]) -> List[Any]:
    """'policy', 'critic', 'target_policy', 'target_critic' or 'dual'."""
    state = self._state
    available = {
        'policy': state.policy_params,
        'critic': state.critic_params,
        'target_policy': state.target_policy_params,
        'target_critic': state.target_critic_params,
        'dual': state.dual_params,
    }
    unknown = [name for name in names if name not in available]
    if unknown:
      raise ValueError(f'names: {unknown} unknown; valid names: '
                       f'{sorted(available)}.')
    return [available[name] for name in names]

  def save(self) -> TrainingState:
    return self._state

  def restore(self, state: TrainingState):
    self._state = state
    self._publish()


def make_checkpoint_manager(directory: str, config: config_lib.DMPOConfig
                            ) -> checkpointing.CheckpointManager:
  """The learner's orbax checkpoints in `directory` (NOT jittable).

  Each checkpoint holds the items 'state' (the TrainingState) and 'config'
  (the DMPOConfig as JSON); restoring refuses a checkpoint whose network
  structure (_STRUCTURAL_FIELDS) differs from `config`'s.
  """
  return checkpointing.CheckpointManager(
      directory, config, _STRUCTURAL_FIELDS,
      max_to_keep=config.checkpoints_to_keep)
