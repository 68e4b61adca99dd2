"""Acme's core interfaces, kept here because dm-acme cannot be installed.

Same names, methods and signatures as acme/core.py, so that an Acme user can
drop our actors, learners and workers into their own code. Where `acme` is
importable, `register_with_acme()` (run at import) makes these classes virtual
subclasses of Acme's, so Acme's `isinstance(x, core.Saveable)` checks hold.
"""

import abc
import importlib
import importlib.util
import itertools
from typing import Generic, Iterator, List, Optional, Sequence, TypeVar

import dm_env

from jumpy_acme import types

T = TypeVar('T')


class Actor(abc.ABC):
  """Interface for an agent that can act.

  The environment loop calls, per episode:
    observe_first(timestep_0)
    repeat: a_t = select_action(o_t); observe(a_t, timestep_t+1); update()
  """

  @abc.abstractmethod
  def select_action(self, observation: types.NestedArray) -> types.NestedArray:
    """Samples from the policy and returns an action."""

  @abc.abstractmethod
  def observe_first(self, timestep: dm_env.TimeStep):
    """Makes a first observation from the environment."""

  @abc.abstractmethod
  def observe(self, action: types.NestedArray, next_timestep: dm_env.TimeStep):
    """Makes an observation of the timestep that `action` led to."""

  @abc.abstractmethod
  def update(self, wait: bool = False):
    """Performs an update of the actor's parameters (e.g. fetches them).

    Args:
      wait: if True, block until the update is complete.
    """


class VariableSource(abc.ABC):
  """Abstract source of variables (usually a learner)."""

  @abc.abstractmethod
  def get_variables(self, names: Sequence[str]) -> List[types.NestedArray]:
    """Returns the named variables, one nest per name, in the given order."""


class Worker(abc.ABC):
  """An entity that runs until told (or until done)."""

  @abc.abstractmethod
  def run(self):
    """Runs the worker."""


class Saveable(abc.ABC, Generic[T]):
  """An object whose state can be saved and restored."""

  @abc.abstractmethod
  def save(self) -> T:
    """Returns the state to be saved."""

  @abc.abstractmethod
  def restore(self, state: T):
    """Restores the state returned by `save()`."""


class Learner(VariableSource, Worker, Saveable):
  """Abstract learner: a worker whose `step()` consumes data and updates."""

  @abc.abstractmethod
  def step(self):
    """Performs one update step (which may be several SGD steps)."""

  def run(self, num_steps: Optional[int] = None) -> None:
    """Runs `step()` `num_steps` times, or forever if `num_steps` is None."""
    if num_steps is not None and num_steps < 0:
      raise ValueError(f'num_steps: expected None or >= 0, got {num_steps}.')
    iterator = range(num_steps) if num_steps is not None else itertools.count()
    for _ in iterator:
      self.step()

  def save(self):
    raise NotImplementedError('This learner does not implement save().')

  def restore(self, state):
    raise NotImplementedError('This learner does not implement restore().')


class PrefetchingIterator(Iterator[T], abc.ABC):
  """An iterator that prefetches elements and can say how many are ready."""

  @abc.abstractmethod
  def ready(self) -> bool:
    """Whether `next()` would return without waiting."""

  @abc.abstractmethod
  def retrieved_elements(self) -> int:
    """How many elements have been returned so far."""


# Our class -> (Acme module, Acme class name). Used by register_with_acme.
_ACME_TWINS = (
    ('Actor', 'acme.core', 'Actor'),
    ('VariableSource', 'acme.core', 'VariableSource'),
    ('Worker', 'acme.core', 'Worker'),
    ('Saveable', 'acme.core', 'Saveable'),
    ('Learner', 'acme.core', 'Learner'),
    ('PrefetchingIterator', 'acme.core', 'PrefetchingIterator'),
)


def register_with_acme(import_module=importlib.import_module) -> List[str]:
  """Registers our interfaces as virtual subclasses of Acme's, if present.

  Never requires Acme: when it is not installed (or fails to import, as it
  does without Launchpad), nothing happens.

  Args:
    import_module: how to import an Acme module (tests inject a fake one).

  Returns:
    Names of the Acme classes our classes were registered with.
  """
  ours = globals()
  registered = []
  for our_name, module_name, acme_name in _ACME_TWINS:
    try:
      module = import_module(module_name)
    except Exception:  # pylint: disable=broad-except  # Acme absent or broken.
      continue
    acme_cls = getattr(module, acme_name, None)
    if isinstance(acme_cls, abc.ABCMeta):
      acme_cls.register(ours[our_name])
      registered.append(f'{module_name}.{acme_name}')
  return registered


def _acme_present() -> bool:
  try:
    return importlib.util.find_spec('acme') is not None
  except (ImportError, ValueError):
    return False


if _acme_present():
  register_with_acme()

__all__ = [
    'Actor', 'Learner', 'PrefetchingIterator', 'Saveable', 'VariableSource',
    'Worker', 'register_with_acme',
]
