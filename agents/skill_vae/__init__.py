"""The skill VAE with its jumpy model: phase 1 of the paper."""

from jumpy_acme.agents.skill_vae.config import SkillVAEConfig
from jumpy_acme.agents.skill_vae.learning import SkillVAELearner
from jumpy_acme.agents.skill_vae.learning import TrainingState
from jumpy_acme.agents.skill_vae.losses import Normalization
from jumpy_acme.agents.skill_vae.losses import predict_next_state
from jumpy_acme.agents.skill_vae.model import AggregatePosterior
from jumpy_acme.agents.skill_vae.model import export
from jumpy_acme.agents.skill_vae.model import fit_aggregate_posterior
from jumpy_acme.agents.skill_vae.model import load
from jumpy_acme.agents.skill_vae.model import model_from_learner
from jumpy_acme.agents.skill_vae.model import save_aggregate_posterior
from jumpy_acme.agents.skill_vae.model import SkillModel
from jumpy_acme.agents.skill_vae.networks import make_networks
from jumpy_acme.agents.skill_vae.networks import SkillVAENetworks

__all__ = [
    'AggregatePosterior', 'Normalization', 'SkillModel', 'SkillVAEConfig',
    'SkillVAELearner', 'SkillVAENetworks', 'TrainingState', 'export',
    'fit_aggregate_posterior', 'load', 'make_networks', 'model_from_learner',
    'predict_next_state', 'save_aggregate_posterior']
