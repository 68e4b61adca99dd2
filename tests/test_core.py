"""Acme's core interfaces: Learner.run and registration with Acme's ABCs."""

import abc
import types as pytypes

import pytest

from jumpy_acme import core


class _StepCounter(core.Learner):

  def __init__(self):
    self.steps = 0

  def step(self):
    self.steps += 1

  def get_variables(self, names):
    return [self.steps for _ in names]


def test_learner_run_calls_step_num_steps_times():
  learner = _StepCounter()
  learner.run(num_steps=7)
  assert learner.steps == 7
  assert learner.get_variables(['a', 'b']) == [7, 7]


def test_learner_run_rejects_negative_steps():
  with pytest.raises(ValueError, match='num_steps'):
    _StepCounter().run(num_steps=-1)


def test_learner_is_variable_source_worker_and_saveable():
  learner = _StepCounter()
  for cls in (core.VariableSource, core.Worker, core.Saveable):
    assert isinstance(learner, cls)


def _fake_acme_core():
  """A stand-in for acme.core: the same class names, as independent ABCs."""
  module = pytypes.ModuleType('acme.core')
  for name in ('Actor', 'VariableSource', 'Worker', 'Saveable', 'Learner',
               'PrefetchingIterator'):
    setattr(module, name, abc.ABCMeta(name, (abc.ABC,), {}))
  return module


def test_register_with_acme_makes_isinstance_hold():
  fake = _fake_acme_core()
  learner = _StepCounter()
  assert not isinstance(learner, fake.Saveable)

  def import_module(name):
    assert name == 'acme.core'
    return fake

  registered = core.register_with_acme(import_module)
  assert len(registered) == 6
  for name in ('Learner', 'Saveable', 'VariableSource', 'Worker'):
    assert isinstance(learner, getattr(fake, name)), name
  assert not isinstance(learner, fake.Actor)


def test_register_with_acme_without_acme_does_nothing():
  def import_module(name):
    raise ImportError(f'No module named {name!r}')
  assert core.register_with_acme(import_module) == []
