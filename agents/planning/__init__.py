"""Planning over skills with the jumpy model (paper, Algorithm 1)."""

from jumpy_acme.agents.planning.acting import planning_actor
from jumpy_acme.agents.planning.acting import random_hl_actor
from jumpy_acme.agents.planning.acting import SkillActor
from jumpy_acme.agents.planning.config import PlannerConfig
from jumpy_acme.agents.planning.models import make_skill_planner
from jumpy_acme.agents.planning.models import skill_vae_model
from jumpy_acme.agents.planning.planner import as_jumpy_model
from jumpy_acme.agents.planning.planner import coloured_noise
from jumpy_acme.agents.planning.planner import discounted_score
from jumpy_acme.agents.planning.planner import JumpyModel
from jumpy_acme.agents.planning.planner import make_batched_planner
from jumpy_acme.agents.planning.planner import make_planner
from jumpy_acme.agents.planning.planner import PlanResult
from jumpy_acme.agents.planning.planner import shift_plan

__all__ = ['JumpyModel', 'PlanResult', 'PlannerConfig', 'SkillActor',
           'as_jumpy_model', 'coloured_noise', 'discounted_score',
           'make_batched_planner', 'make_planner', 'make_skill_planner',
           'planning_actor', 'random_hl_actor', 'shift_plan',
           'skill_vae_model']
