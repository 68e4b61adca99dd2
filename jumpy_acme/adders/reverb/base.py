"""What the Reverb adders share: the writer's life cycle and input checks."""

import abc
from typing import Optional

import dm_env
import numpy as np
import reverb
import tensorflow as tf
import tree

from jumpy_acme import specs
from jumpy_acme import types
from jumpy_acme.adders import base


def spec_like(spec, leading_dims=()) -> tf.TensorSpec:
  """A tf.TensorSpec for a dm_env spec leaf, with optional leading dims."""
  return tf.TensorSpec(tuple(leading_dims) + tuple(spec.shape),
                       tf.as_dtype(np.dtype(spec.dtype)))


def cast_to_spec(spec, value, name: str):
  """Casts a reward/discount-like nest to its spec's dtype; checks shapes.

  Environments commonly return Python floats for rewards and discounts, so
  these are cast rather than refused; a wrong shape is still an error.
  """
  def cast(path, leaf_spec):
    leaf = value
    for key in path:
      leaf = leaf[key]
    array = np.asarray(leaf, dtype=leaf_spec.dtype)
    if array.shape != tuple(leaf_spec.shape):
      suffix = ''.join(f'[{k!r}]' for k in path)
      raise ValueError(f'{name}{suffix}: expected shape '
                       f'{tuple(leaf_spec.shape)}, got {array.shape}.')
    return array
  try:
    tree.assert_same_structure(spec, value, check_types=False)
  except (ValueError, TypeError) as e:
    raise ValueError(f'{name}: structure does not match the spec: {e}') from e
  return tree.unflatten_as(
      spec, [cast(p, s) for p, s in tree.flatten_with_path(spec)])


class ReverbAdder(base.Adder, abc.ABC):
  """Base of the Reverb adders: validates inputs and owns the writer.

  Subclasses implement `_on_first(timestep)` and `_on_step(action,
  next_timestep, extras)`; this class checks the call order and the values
  against the environment spec (naming the offending field), ends the
  episode in the writer at `last()`, and drops a half-written episode on
  `reset()` so that no item ever spans two episodes.
  """

  def __init__(self, client: reverb.Client, table: str,
               environment_spec: specs.EnvironmentSpec,
               max_sequence_length: int,
               extras_spec: types.NestedSpec = (),
               priority: float = 1.0,
               validate_items: bool = True):
    if max_sequence_length < 1:
      raise ValueError(
          f'max_sequence_length: expected >= 1, got {max_sequence_length}.')
    if priority < 0:
      raise ValueError(f'priority: expected >= 0, got {priority}.')
    self._client = client
    self._table = table
    self._spec = environment_spec
    self._extras_spec = extras_spec
    self._priority = float(priority)
    self._max_sequence_length = max_sequence_length
    self._validate_items = validate_items
    self._writer: Optional[reverb.TrajectoryWriter] = None
    self._in_episode = False

  @property
  def _trajectory_writer(self) -> reverb.TrajectoryWriter:
    if self._writer is None:
      self._writer = self._client.trajectory_writer(
          num_keep_alive_refs=self._max_sequence_length,
          validate_items=self._validate_items)
    return self._writer

  # The Adder interface.

  def add_first(self, timestep: dm_env.TimeStep):
    if not timestep.first():
      raise ValueError(
          'add_first: expected a FIRST timestep (step_type '
          f'{dm_env.StepType.FIRST}), got step_type {timestep.step_type}.')
    specs.validate(self._spec.observations, timestep.observation,
                   'observation')
    if self._in_episode:
      self.reset()  # The previous episode never saw last(): drop its rest.
    self._in_episode = True
    self._on_first(timestep)

  def add(self, action: types.NestedArray, next_timestep: dm_env.TimeStep,
          extras: types.NestedArray = ()):
    if not self._in_episode:
      raise ValueError('add() called before add_first(): start each '
                       'episode with add_first(timestep).')
    if next_timestep.first():
      raise ValueError('add: next_timestep is a FIRST timestep; start a new '
                       'episode with add_first().')
    specs.validate(self._spec.actions, action, 'action')
    specs.validate(self._spec.observations, next_timestep.observation,
                   'next_timestep.observation')
    specs.validate(self._extras_spec, extras, 'extras')
    next_timestep = next_timestep._replace(
        reward=cast_to_spec(self._spec.rewards, next_timestep.reward,
                            'next_timestep.reward'),
        discount=cast_to_spec(self._spec.discounts, next_timestep.discount,
                              'next_timestep.discount'))
    self._on_step(action, next_timestep, extras)
    if next_timestep.last():
      self._on_last()
      self._trajectory_writer.end_episode(clear_buffers=True)
      self._in_episode = False

  def reset(self, timeout_ms: Optional[int] = None):
    """Drops the episode in progress; items already created are kept."""
    if self._writer is not None:
      self._writer.end_episode(clear_buffers=True, timeout_ms=timeout_ms)
    self._in_episode = False
    self._on_reset()

  def close(self):
    """Flushes pending items and closes the connection's writer."""
    if self._writer is not None:
      self._writer.close()
      self._writer = None

  # What subclasses implement.

  @abc.abstractmethod
  def _on_first(self, timestep: dm_env.TimeStep):
    """Handles the (validated) first timestep."""

  @abc.abstractmethod
  def _on_step(self, action, next_timestep: dm_env.TimeStep, extras):
    """Handles a (validated) step; reward and discount are spec-typed."""

  def _on_last(self):
    """Called after the last step's `_on_step`, before the episode ends."""

  def _on_reset(self):
    """Clears per-episode state."""
