"""The ActorLearnerBuilder interface of acme/agents/jax/builders.py.

A builder makes every piece of a distributed agent from an environment
spec: replay tables, the dataset iterator, the adder, actors, the learner
and policies. Launchers (ours or an Acme user's) wire the pieces together.
"""

import abc
from typing import Callable, Generic, Iterator, List, Optional, TypeVar

import jax
import reverb

from jumpy_acme import adders
from jumpy_acme import core
from jumpy_acme import specs
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers

Networks = TypeVar('Networks')  # The agent's networks (pure init/apply fns).
Policy = TypeVar('Policy')      # What actors run: e.g. a jitted function.
Sample = TypeVar('Sample')      # What the dataset iterator yields.

LoggerFn = Callable[..., loggers.Logger]  # (label, steps_key=...) -> Logger.
PRNGKey = jax.Array


class ActorLearnerBuilder(abc.ABC, Generic[Networks, Policy, Sample]):
  """Makes the replay, acting and learning pieces of an agent."""

  @abc.abstractmethod
  def make_replay_tables(self, environment_spec: specs.EnvironmentSpec,
                         policy: Policy) -> List[reverb.Table]:
    """The Reverb tables the agent's actors write to and learner reads."""

  @abc.abstractmethod
  def make_dataset_iterator(self,
                            replay_client: reverb.Client) -> Iterator[Sample]:
    """An iterator over (batched) samples for the learner."""

  @abc.abstractmethod
  def make_adder(self, replay_client: reverb.Client,
                 environment_spec: Optional[specs.EnvironmentSpec],
                 policy: Optional[Policy]) -> Optional[adders.Adder]:
    """The adder an actor writes its experience through (None: no replay)."""

  @abc.abstractmethod
  def make_actor(self, random_key: PRNGKey, policy: Policy,
                 environment_spec: specs.EnvironmentSpec,
                 variable_source: Optional[core.VariableSource] = None,
                 adder: Optional[adders.Adder] = None) -> core.Actor:
    """An actor running `policy`, updated from `variable_source`."""

  @abc.abstractmethod
  def make_learner(self, random_key: PRNGKey, networks: Networks,
                   dataset: Iterator[Sample], logger_fn: LoggerFn,
                   environment_spec: specs.EnvironmentSpec,
                   replay_client: Optional[reverb.Client] = None,
                   counter: Optional[counting.Counter] = None) -> core.Learner:
    """The learner, reading `dataset`."""

  @abc.abstractmethod
  def make_policy(self, networks: Networks,
                  environment_spec: specs.EnvironmentSpec,
                  evaluation: bool = False) -> Policy:
    """The policy actors run (the evaluation one when `evaluation`)."""
