"""Configuration of DMPO: MPO with a categorical (distributional) critic.

Defaults are Acme's (acme/agents/jax/mpo; ../shared/spec/acme.md, "DMPO").
Acme's reference control run differs in a few places: policy init scale
0.5, epsilon_mean 0.01, samples_per_insert 64, learning rate 3e-4, n-step 4.
With per-dimension constraints, Acme's rule of thumb is to divide
epsilon_mean by the action dimension (e.g. a 32-D latent action space):
`config.with_epsilon_mean_per_dimension(action_size)` does that.
"""

import dataclasses
from typing import Optional, Tuple


@dataclasses.dataclass
class DMPOConfig:
  """Hyperparameters of the DMPO learner, actors and replay."""

  # Returns and replay.
  discount: float = 0.99       # gamma.
  n_step: int = 5              # n of the n-step transitions in replay.
  batch_size: int = 256        # Transitions per SGD step.
  # Items sampled per item inserted, enforced by Reverb's SampleToInsertRatio
  # (a batch of B transitions counts B samples). None: no ratio, only
  # MinSize(min_replay_size) (then the caller paces learner and actors).
  samples_per_insert: Optional[float] = 32.0
  # The limiter's error buffer: max(min_replay_size * rate * spi, 2 * spi).
  samples_per_insert_tolerance_rate: float = 0.1
  min_replay_size: int = 1000
  max_replay_size: int = 1_000_000
  replay_table_name: str = 'dmpo_replay'
  # A size-one table the learner publishes its policy parameters to (None:
  # no table, no publishing; actors then read the learner directly).
  variable_table_name: Optional[str] = 'dmpo_variables'
  prefetch_size: int = 4       # Batches the dataset iterator keeps ready.

  # Networks: LayerNorm-MLPs (first layer Linear + LayerNorm + tanh, then
  # Linear + ELU).
  policy_hidden_sizes: Tuple[int, ...] = (256, 256, 256)
  critic_hidden_sizes: Tuple[int, ...] = (512, 512, 256)
  init_scale: float = 0.7      # Policy stddev at init (softplus(0) scaled).
  min_scale: float = 1e-6      # Added to the policy stddev.
  num_atoms: int = 51          # Critic support: num_atoms points on
  vmax: float = 150.0          # [-vmax, vmax].
  # Observation standardisation in both networks: (o - mean) / std, clipped
  # to [-OBSERVATION_CLIP, OBSERVATION_CLIP] (networks.py), per flattened
  # dimension. None: raw observations. The RGB-stacking state mixes scales
  # (the gripper angle is 0-255, std 84; positions vary by centimetres):
  # unscaled, the angle makes 99 % of the first layer's expected squared
  # input and the LayerNorm after it leaves the rest, the critic's action
  # included (0.2 %), nearly invisible. train_rl.py fills these from the
  # phase-1 data's statistics.
  observation_mean: Optional[Tuple[float, ...]] = None
  observation_std: Optional[Tuple[float, ...]] = None

  # Optimisation (Adam for policy, critic and duals; separate states).
  learning_rate: float = 1e-4
  dual_learning_rate: float = 1e-2
  max_grad_norm: float = 40.0  # Global-norm clip, per optimiser.
  target_update_period: int = 100  # SGD steps between target copies.
  sgd_steps_per_step: int = 1    # SGD steps per learner.step() (lax.scan).
  seed: int = 0

  # MPO policy loss: E-step (temperature) and M-step (decoupled KL bounds).
  num_samples: int = 20        # Actions sampled per state for the E-step.
  epsilon: float = 0.1         # KL(non-parametric || target policy).
  epsilon_mean: float = 0.0025   # KL bound on the mean (per dimension).
  epsilon_stddev: float = 1e-6   # KL bound on the stddev (per dimension).
  init_log_temperature: float = 10.0   # Duals pass through softplus.
  init_log_alpha_mean: float = 10.0
  init_log_alpha_stddev: float = 1000.0
  per_dim_constraining: bool = True
  # MO-MPO action penalization: a second E-step on the cost
  # -||a - clip(a, -1, 1)|| with its own temperature, keeping the policy's
  # actions inside the canonical [-1, 1] box.
  action_penalization: bool = True
  epsilon_penalty: float = 0.001

  # Acting and parameter exchange.
  variable_update_period: int = 1000   # Actor steps between fetches.
  variable_publish_period: int = 1     # Learner steps between publishes.

  # Checkpoints: every `checkpoint_every` learner steps; keep the last few.
  checkpoint_every: int = 1000
  checkpoints_to_keep: int = 3

  def __post_init__(self):
    def fail(name, expected):
      raise ValueError(f'{name}: expected {expected}, got '
                       f'{getattr(self, name)!r}.')

    for name in ('n_step', 'batch_size', 'min_replay_size', 'max_replay_size',
                 'prefetch_size', 'num_atoms', 'target_update_period',
                 'sgd_steps_per_step', 'num_samples',
                 'variable_update_period', 'variable_publish_period',
                 'checkpoint_every', 'checkpoints_to_keep'):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        fail(name, 'an integer >= 1')
    if self.num_atoms < 2:
      fail('num_atoms', 'an integer >= 2')
    if self.min_replay_size > self.max_replay_size:
      fail('min_replay_size', f'<= max_replay_size={self.max_replay_size}')
    if not 0.0 <= self.discount <= 1.0:
      fail('discount', 'a number in [0, 1]')
    if self.samples_per_insert is not None and not self.samples_per_insert > 0:
      fail('samples_per_insert', 'None or > 0')
    for name in ('samples_per_insert_tolerance_rate', 'init_scale',
                 'vmax', 'learning_rate', 'dual_learning_rate',
                 'max_grad_norm', 'epsilon', 'epsilon_mean', 'epsilon_stddev',
                 'epsilon_penalty'):
      if not getattr(self, name) > 0:
        fail(name, '> 0')
    if not self.min_scale >= 0:
      fail('min_scale', '>= 0')
    for name in ('policy_hidden_sizes', 'critic_hidden_sizes'):
      sizes = getattr(self, name)
      if (not isinstance(sizes, (tuple, list)) or not sizes or
          any(isinstance(s, bool) or not isinstance(s, int) or s < 1
              for s in sizes)):
        fail(name, 'a non-empty sequence of integers >= 1')
      setattr(self, name, tuple(sizes))
    if (self.observation_mean is None) != (self.observation_std is None):
      missing, given = (('observation_std', 'observation_mean')
                        if self.observation_std is None else
                        ('observation_mean', 'observation_std'))
      fail(missing, f'given together with {given}')
    if self.observation_mean is not None:
      for name in ('observation_mean', 'observation_std'):
        values = getattr(self, name)
        if (not isinstance(values, (tuple, list)) or not values or
            any(isinstance(v, bool) or not isinstance(v, (int, float)) or
                v != v or abs(v) == float('inf') for v in values)):
          fail(name, 'None or a non-empty sequence of finite numbers')
        setattr(self, name, tuple(float(v) for v in values))
      if len(self.observation_mean) != len(self.observation_std):
        fail('observation_std', f'{len(self.observation_mean)} values (as '
             f'observation_mean), not {len(self.observation_std)}')
      if not all(v > 0 for v in self.observation_std):
        fail('observation_std', 'values > 0')
    if not (isinstance(self.replay_table_name, str) and
            self.replay_table_name):
      fail('replay_table_name', 'a non-empty string')
    if self.variable_table_name is not None and (
        not isinstance(self.variable_table_name, str) or
        not self.variable_table_name or
        self.variable_table_name == self.replay_table_name):
      fail('variable_table_name',
           f'None or a non-empty name other than {self.replay_table_name!r}')

  def with_epsilon_mean_per_dimension(self, action_size: int) -> 'DMPOConfig':
    """A copy whose epsilon_mean is divided by `action_size` (Acme's rule of
    thumb for per-dimension constraints, e.g. 32-D latent actions)."""
    if isinstance(action_size, bool) or not isinstance(action_size, int) or (
        action_size < 1):
      raise ValueError(
          f'action_size: expected an integer >= 1, got {action_size!r}.')
    if not self.per_dim_constraining:
      return dataclasses.replace(self)
    return dataclasses.replace(self,
                               epsilon_mean=self.epsilon_mean / action_size)
