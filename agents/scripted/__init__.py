"""Scripted base behaviours (paper, Table 2) and the collection actor."""

from jumpy_acme.agents.scripted.acting import BehaviourScheduleActor
from jumpy_acme.agents.scripted.behaviours import BEHAVIOURS
from jumpy_acme.agents.scripted.behaviours import make_behaviour
from jumpy_acme.agents.scripted.config import ScriptedConfig

__all__ = [
    'BEHAVIOURS', 'BehaviourScheduleActor', 'ScriptedConfig', 'make_behaviour']
