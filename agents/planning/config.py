"""Configuration of the CEM / random-shooting planner over skills."""

import dataclasses
from typing import Optional

PROPOSALS = ('prior', 'aggregate_posterior')


@dataclasses.dataclass
class PlannerConfig:
  """Algorithm 1's parameters, and options beyond the paper (off by default).

  The paper plans with num_samples = 1000, horizon = 3 jumps, one CEM
  iteration (random shooting) and gamma_k = 1.
  """
  num_samples: int = 1000     # N plans per iteration.
  horizon: int = 3            # H jumps of the model (H * K primitive steps).
  iterations: int = 1         # I CEM iterations.
  elite_fraction: float = 0.1  # eta: top share refitted between iterations.
  elites: Optional[int] = None  # The elite count itself, if given.
  gamma_k: float = 1.0        # Discount per jump in the score (Eq. 3).
  min_std: float = 1e-3       # Floor of the refitted standard deviation.
  # Beyond the paper.
  mppi: bool = False          # Refit by softmax(score / temperature) weights.
  temperature: float = 1.0
  # Coloured noise over the H jumps (power spectrum ~ 1/f^noise_beta, as in
  # iCEM, Pinneri et al. 2020); 0 is white noise, the paper's sampling.
  noise_beta: float = 0.0
  # The first iteration's skill distribution: 'prior' is the paper's
  # N(0, I); 'aggregate_posterior' is the model's fitted q(z)
  # (skill_vae.fit_aggregate_posterior), for encoders whose q(z) sits
  # inside the prior (free bits).
  proposal: str = 'prior'

  def __post_init__(self):
    for name in ('num_samples', 'horizon', 'iterations'):
      value = getattr(self, name)
      if not (isinstance(value, int) and value >= 1):
        raise ValueError(f'{name}: expected an integer >= 1, got {value!r}.')
    if not 0 < self.elite_fraction <= 1:
      raise ValueError(
          f'elite_fraction: expected in (0, 1], got {self.elite_fraction}.')
    if self.elites is not None and not (
        isinstance(self.elites, int) and 1 <= self.elites <= self.num_samples):
      raise ValueError(f'elites: expected an integer in [1, num_samples = '
                       f'{self.num_samples}], got {self.elites!r}.')
    if not 0 <= self.gamma_k <= 1:
      raise ValueError(f'gamma_k: expected in [0, 1], got {self.gamma_k}.')
    if not 0 <= self.noise_beta <= 4:
      raise ValueError(
          f'noise_beta: expected in [0, 4], got {self.noise_beta}.')
    if self.proposal not in PROPOSALS:
      raise ValueError(f'proposal: expected one of {PROPOSALS}, got '
                       f'{self.proposal!r}.')
    for name in ('min_std', 'temperature'):
      if not getattr(self, name) > 0:
        raise ValueError(f'{name}: expected > 0, got {getattr(self, name)}.')

  @property
  def num_elites(self) -> int:
    if self.elites is not None:
      return self.elites
    return max(1, int(round(self.elite_fraction * self.num_samples)))
