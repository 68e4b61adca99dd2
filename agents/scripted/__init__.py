"""Scripted base behaviours (paper, Table 2), the evaluation tasks' scripted
controllers, and the collection actor."""

from jumpy_acme.agents.scripted.acting import BehaviourScheduleActor
from jumpy_acme.agents.scripted.behaviours import BEHAVIOURS
from jumpy_acme.agents.scripted.behaviours import make_behaviour
from jumpy_acme.agents.scripted.behaviours import make_controller
from jumpy_acme.agents.scripted.behaviours import make_reach_bound
from jumpy_acme.agents.scripted.config import ScriptedConfig

__all__ = [
    'BEHAVIOURS', 'BehaviourScheduleActor', 'ScriptedConfig', 'make_behaviour',
    'make_controller', 'make_reach_bound']
