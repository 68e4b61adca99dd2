"""The phase-1 jumpy model in the form the planner shares work with.

The split itself (the first layer's state part computed once per decision)
is the model handle's: skill_vae.SkillModel.split_jumpy_model.
"""

from typing import Callable, Optional

from jumpy_acme.agents.planning import config as config_lib
from jumpy_acme.agents.planning import planner
from jumpy_acme.agents.skill_vae import model as model_lib


def skill_vae_model(model: model_lib.SkillModel) -> planner.JumpyModel:
  """JumpyModel equal to model.predict_next_state (raw states in and out).

  features(s [S]) -> [D1]; predict(f [D1], s [S], z [Z]) -> s_t+K [S].
  """
  return planner.JumpyModel(*model.split_jumpy_model())


def make_skill_planner(model: model_lib.SkillModel,
                       reward_fn: Callable,
                       config: config_lib.PlannerConfig,
                       proposal_fn: Optional[Callable] = None):
  """Algorithm 1 over a phase-1 model's skills: plan(key, s [S]) ->
  PlanResult. The one way every agent builds its planner.

  Args:
    model: the phase-1 model (its jumpy model rolls plans out).
    reward_fn: a pure JAX reward, state [S] -> scalar (rewards.jax_reward).
    config: the planner's settings.
    proposal_fn: a learned skill proposal pi(z | s) (RL-HL + planning);
      None: config.proposal's, the prior N(0, I) or the model's aggregate
      posterior.

  Raises:
    ValueError: proposal 'aggregate_posterior' with a model that has none
      fitted, or beside a proposal_fn.
  """
  if config.proposal == 'aggregate_posterior':
    if proposal_fn is not None:
      raise ValueError("proposal: 'aggregate_posterior' replaces the prior, "
                       'not a learned proposal_fn; got both.')
    if model.aggregate_posterior is None:
      raise ValueError(
          "proposal: 'aggregate_posterior' needs the model's fitted q(z) "
          f'({model_lib.AGGREGATE_POSTERIOR} beside its checkpoint, fitted '
          'for this model); got a model without one. Fit it with: python -m '
          'jumpy_acme.launchers.fit_proposal --checkpoint=DIR --dataset=DATA')
    mean, std = model.aggregate_posterior
    proposal_fn = lambda state: (mean, std)  # pylint: disable=unused-argument
  return planner.make_planner(skill_vae_model(model), reward_fn,
                              model.latent_size, config,
                              proposal_fn=proposal_fn,
                              state_size=model.config.state_size)
