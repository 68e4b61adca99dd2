"""Configuration of a phase-2 run: which harnessing option, on what."""

import dataclasses
import math
from typing import Optional

from jumpy_acme.agents.dmpo import config as dmpo_config
from jumpy_acme.agents.planning import config as planning_config

# Paper, Table 1: the options that learn in phase 2.
METHODS = ('scratch', 'rl_hl', 'rl_hl_planning', 'rl_hl_planning_finetune')
SKILL_METHODS = METHODS[1:]
PLANNING_METHODS = METHODS[2:]
# What the critic sees besides (s, a): critic_features.py.
CRITIC_FEATURES = ('state', 'model')
# The paper's RL-HL critic: the default, and the setting of runs from before
# the field existed.
PAPER_CRITIC_FEATURES = CRITIC_FEATURES[0]


def default_vmax(actions_per_latent: int, episode_length: int,
                 discount: float, uses_skills: bool) -> float:
  """DMPO's critic support bound [-vmax, vmax] for a phase-2 run.

  Args:
    actions_per_latent: primitive steps per skill step (K).
    episode_length: primitive steps per episode.
    discount: gamma per DMPO step: per skill step for a skill method (with
      per_environment_step, the primitive gamma to the power K).
    uses_skills: False for primitive actions (scratch).

  Acme's 150 covers primitive-action control (our task rewards lie in
  [0, 1], so Q <= 1 / (1 - gamma) = 100 at gamma 0.99). A skill step's
  reward sums up to K primitive rewards. Episodes end by truncation
  (discount 1), so the critic bootstraps through their ends and its values
  are the infinite-horizon sum, Q <= K / (1 - gamma); with gamma = 1 they
  are bounded by nothing, and episode_length is used. The support is that
  bound rounded up to a multiple of 50, at least 150: with gamma 0.99 per
  primitive step (0.904 per 10-step skill), 104.6 -> 150.

  Measured (session 8, bench/rl_hl_critic.py): with gamma 0.99 per SKILL
  step the true bound is 10 / 0.01 = 1000; the support then stopped at the
  finite-episode 331 -> 350, the critic's values sat at its top (median
  332 at the states planning visits on reach_red) and Q did not rank
  skills (the planner's skill at the 47th percentile of prior draws).
  """
  if not uses_skills:
    return 150.0
  if discount >= 1:
    bound = float(episode_length)
  else:
    bound = actions_per_latent / (1 - discount)
  return float(max(150, 50 * math.ceil(bound / 50 - 1e-9)))


def per_environment_step(dmpo: dmpo_config.DMPOConfig,
                         actions_per_latent: int) -> dmpo_config.DMPOConfig:
  """`dmpo` with its replay settings and discount read per primitive
  environment step, for actors whose every step is a skill of
  `actions_per_latent` steps.

  DMPO counts transitions; a skill transition covers `actions_per_latent`
  primitive steps. With the same samples_per_insert a skill method makes
  `actions_per_latent` times fewer learner updates per environment step
  than scratch (measured: 316 updates in RL-HL's first 42k steps, against
  scratch's ~5k), starts learning after `actions_per_latent` times more
  steps (min_replay_size), and fetches parameters that much less often.
  With the same discount per skill step it looks `actions_per_latent`
  times further ahead (gamma 0.99: a horizon of 100 skills, 1000 primitive
  steps, longer than the episode). Scaled here, every method gets the same
  updates per environment step and the same horizon in environment steps
  (the paper's gamma_K, Eq. 3, discounts K-step intervals the same way):

    samples_per_insert     * actions_per_latent
    min_replay_size        / actions_per_latent (rounded up)
    variable_update_period / actions_per_latent (rounded up)
    discount               ** actions_per_latent
  """
  if not (isinstance(actions_per_latent, int) and actions_per_latent >= 1):
    raise ValueError(f'actions_per_latent: expected an integer >= 1, got '
                     f'{actions_per_latent!r}.')
  spi = dmpo.samples_per_insert
  return dataclasses.replace(
      dmpo,
      discount=dmpo.discount ** actions_per_latent,
      samples_per_insert=None if spi is None else spi * actions_per_latent,
      min_replay_size=-(-dmpo.min_replay_size // actions_per_latent),
      variable_update_period=-(-dmpo.variable_update_period //
                               actions_per_latent))


@dataclasses.dataclass(frozen=True)
class HarnessingConfig:
  """One run of DMPO on primitive actions or over the skill space.

  scratch: DMPO on the 5-D action (RL-from-scratch).
  rl_hl: DMPO over z; the phase-1 action decoder acts with z held for
    actions_per_latent steps.
  rl_hl_planning: the CEM planner with the learned pi(z | s) as its
    proposal is the behaviour policy; pi learns off-policy from its data.
  rl_hl_planning_finetune: as rl_hl_planning, and the jumpy decoder is
    also trained on the collected (s_t, z, s_t+K) with the phase-1 loss's
    state term.
  """
  method: str
  task: str
  dmpo: dmpo_config.DMPOConfig = dataclasses.field(
      default_factory=dmpo_config.DMPOConfig)
  # Skills (every method but scratch).
  phase1_checkpoint: Optional[str] = None
  actions_per_latent: int = 10
  latent_scale: float = 2.0     # z = latent_scale * DMPO's action in [-1, 1].
  # What the critic sees besides (s, z): 'state' nothing (the paper's
  # RL-HL), 'model' the jumpy model's predicted s_t+K (critic_features.py).
  critic_features: str = PAPER_CRITIC_FEATURES
  # Planning methods: the planner with the learned proposal.
  planner: planning_config.PlannerConfig = dataclasses.field(
      default_factory=lambda: planning_config.PlannerConfig(num_samples=200))
  # Finetuning the jumpy decoder.
  finetune_learning_rate: float = 1e-4
  finetune_batch_size: int = 64
  model_publish_period: int = 50     # Finetune steps between publishes.
  # The run.
  episode_length: int = 400
  env_steps: int = 100_000           # Primitive environment steps.
  eval_every: int = 10_000           # Environment steps between evaluations.
  eval_episodes: int = 5
  seed: int = 0
  num_devices: int = 1               # Local devices the learner uses.

  def __post_init__(self):
    if self.method not in METHODS:
      raise ValueError(f'method: expected one of {METHODS}, got '
                       f'{self.method!r}.')
    if self.method in SKILL_METHODS and not self.phase1_checkpoint:
      raise ValueError(f'phase1_checkpoint: method {self.method!r} needs a '
                       'phase-1 checkpoint directory, got None.')
    if self.critic_features not in CRITIC_FEATURES:
      raise ValueError(f'critic_features: expected one of '
                       f'{CRITIC_FEATURES}, got {self.critic_features!r}.')
    if self.critic_features == 'model' and self.method not in SKILL_METHODS:
      raise ValueError(f'critic_features: \'model\' needs a skill method '
                       f'(one of {SKILL_METHODS}), got method '
                       f'{self.method!r}.')
    for name in ('actions_per_latent', 'finetune_batch_size',
                 'model_publish_period', 'episode_length', 'env_steps',
                 'eval_every', 'eval_episodes', 'num_devices'):
      value = getattr(self, name)
      if not (isinstance(value, int) and value >= 1):
        raise ValueError(f'{name}: expected an integer >= 1, got {value!r}.')
    if self.dmpo.batch_size % self.num_devices:
      raise ValueError(f'num_devices: the learner splits each batch of '
                       f'dmpo.batch_size={self.dmpo.batch_size} over them; '
                       f'expected a divisor of it, got {self.num_devices}.')
    for name in ('latent_scale', 'finetune_learning_rate'):
      if not getattr(self, name) > 0:
        raise ValueError(f'{name}: expected > 0, got {getattr(self, name)}.')

  @property
  def uses_skills(self) -> bool:
    return self.method in SKILL_METHODS

  @property
  def plans(self) -> bool:
    return self.method in PLANNING_METHODS

  @property
  def finetunes(self) -> bool:
    return self.method == 'rl_hl_planning_finetune'
