"""jumpy-acme: skills and jumpy models from unlabeled robot experience.

Importing the package is cheap: it exposes Acme's core interfaces. Reverb-
and TensorFlow-backed pieces live in submodules imported on demand:
jumpy_acme.adders.reverb, jumpy_acme.datasets, jumpy_acme.variables.
"""

from jumpy_acme._version import __version__
from jumpy_acme.core import Actor
from jumpy_acme.core import Learner
from jumpy_acme.core import Saveable
from jumpy_acme.core import VariableSource
from jumpy_acme.core import Worker
from jumpy_acme.environment_loop import EnvironmentLoop
from jumpy_acme.specs import EnvironmentSpec
from jumpy_acme.specs import make_environment_spec
from jumpy_acme.types import Transition

__all__ = [
    '__version__', 'Actor', 'EnvironmentLoop', 'EnvironmentSpec', 'Learner',
    'Saveable', 'Transition', 'VariableSource', 'Worker',
    'make_environment_spec',
]
