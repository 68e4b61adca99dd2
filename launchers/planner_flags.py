"""The planner's flags, declared once for every launcher that plans.

  from jumpy_acme.launchers import planner_flags
  config = planner_flags.planner_config()   # PlannerConfig from the flags

A launcher whose default differs sets it with absl's flags.set_default
(train_rl.py plans with N = 200 by default).
"""

from absl import flags

from jumpy_acme.agents.planning import config as config_lib

NUM_SAMPLES = flags.DEFINE_integer('num_samples', 1000, 'Planner: N plans.')
HORIZON = flags.DEFINE_integer('horizon', 3, 'Planner: H jumps.')
ITERATIONS = flags.DEFINE_integer('iterations', 1, 'Planner: CEM I.')
GAMMA_K = flags.DEFINE_float('gamma_k', 1.0, 'Planner: discount per jump.')
NOISE_BETA = flags.DEFINE_float(
    'noise_beta', 0.0, 'Planner: coloured-noise exponent (0: white).')
PROPOSAL = flags.DEFINE_enum(
    'proposal', 'prior', list(config_lib.PROPOSALS),
    'Planner: first-iteration skills from the prior N(0, I) (the paper) or '
    "the model's fitted aggregate posterior (launchers/fit_proposal.py).")


def planner_config(**overrides) -> config_lib.PlannerConfig:
  """The PlannerConfig the flags give (a bad value raises ValueError
  naming the field)."""
  values = dict(num_samples=NUM_SAMPLES.value, horizon=HORIZON.value,
                iterations=ITERATIONS.value, gamma_k=GAMMA_K.value,
                noise_beta=NOISE_BETA.value, proposal=PROPOSAL.value)
  return config_lib.PlannerConfig(**{**values, **overrides})
