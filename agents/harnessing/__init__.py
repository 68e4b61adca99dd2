"""Phase 2 with learning (paper, Table 1): DMPO over primitive actions or
skills, with the planner as behaviour and the jumpy model finetuned."""

from jumpy_acme.agents.harnessing.acting import make_planning_policy
from jumpy_acme.agents.harnessing.acting import PlanningActor
from jumpy_acme.agents.harnessing.config import HarnessingConfig
from jumpy_acme.agents.harnessing.config import METHODS
from jumpy_acme.agents.harnessing.environment import SkillEnvironment
from jumpy_acme.agents.harnessing.finetune import JumpyFinetuner
from jumpy_acme.agents.harnessing.finetune import make_finetune_update

__all__ = ['HarnessingConfig', 'JumpyFinetuner', 'METHODS', 'PlanningActor',
           'SkillEnvironment', 'make_finetune_update', 'make_planning_policy']
