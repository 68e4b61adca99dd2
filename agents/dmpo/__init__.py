"""DMPO: MPO with a categorical (distributional) critic (Acme's JAX MPO
with CriticType.CATEGORICAL)."""

from jumpy_acme.agents.dmpo.acting import DMPOActor
from jumpy_acme.agents.dmpo.acting import make_policy
from jumpy_acme.agents.dmpo.builder import DMPOBuilder
from jumpy_acme.agents.dmpo.config import DMPOConfig
from jumpy_acme.agents.dmpo.learning import DMPOLearner
from jumpy_acme.agents.dmpo.learning import init_training_state
from jumpy_acme.agents.dmpo.learning import make_checkpoint_manager
from jumpy_acme.agents.dmpo.learning import make_update
from jumpy_acme.agents.dmpo.learning import TrainingState
from jumpy_acme.agents.dmpo.losses import DualParams
from jumpy_acme.agents.dmpo.networks import DMPONetworks
from jumpy_acme.agents.dmpo.networks import make_networks

__all__ = [
    'DMPOActor', 'DMPOBuilder', 'DMPOConfig', 'DMPOLearner', 'DMPONetworks',
    'DualParams', 'TrainingState', 'init_training_state',
    'make_checkpoint_manager', 'make_networks', 'make_policy', 'make_update']
