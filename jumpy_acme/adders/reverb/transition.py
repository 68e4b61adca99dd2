"""N-step transitions into Reverb, with acme/adders/reverb/transition.py's
semantics.

For every step t of an episode one item is written,
  Transition(o_t, a_t, R_t, D_t, o_{t+m}, extras_t),  m = min(n, T - t),
with (rewards r and environment discounts d taken from the timesteps that
follow a_t, a_t+1, ...):
  R_t = r_{t+1} + gamma d_{t+1} r_{t+2} + ...
        + gamma^{m-1} (d_{t+1} ... d_{t+m-1}) r_{t+m}
  D_t = gamma^{m-1} d_{t+1} ... d_{t+m}
The learner multiplies by gamma once more: target = R_t + gamma D_t V(o_{t+m}).
Near the end of an episode the horizon m shrinks, so every step gets one item.
"""

import collections
from typing import Deque, NamedTuple

import dm_env
import numpy as np
import reverb
import tree

from jumpy_acme import specs
from jumpy_acme import types
from jumpy_acme.adders.reverb import base


class _Step(NamedTuple):
  observation: types.NestedArray
  action: types.NestedArray
  extras: types.NestedArray
  reward: types.NestedArray     # r_{t+1}
  discount: types.NestedArray   # d_{t+1}


class NStepTransitionAdder(base.ReverbAdder):
  """Writes n-step transitions (one item per environment step)."""

  def __init__(self, client: reverb.Client, n_step: int, discount: float,
               environment_spec: specs.EnvironmentSpec,
               table: str = 'priority_table',
               extras_spec: types.NestedSpec = (),
               priority: float = 1.0):
    """Initializes the adder.

    Args:
      client: a Reverb client.
      n_step: the n of the n-step return, >= 1.
      discount: gamma, in [0, 1].
      environment_spec: shapes and dtypes that inputs are checked against.
      table: the Reverb table items go to (its signature: `signature()`).
      extras_spec: spec of the extras passed to `add`.
      priority: every item's priority.
    """
    if n_step < 1:
      raise ValueError(f'n_step: expected >= 1, got {n_step}.')
    if not 0.0 <= discount <= 1.0:
      raise ValueError(f'discount: expected in [0, 1], got {discount}.')
    super().__init__(client, table, environment_spec, max_sequence_length=1,
                     extras_spec=extras_spec, priority=priority)
    self.n_step = n_step
    self._discount = float(discount)
    self._buffer: Deque[_Step] = collections.deque()
    self._observation = None  # The latest observation.

  @classmethod
  def signature(cls, environment_spec: specs.EnvironmentSpec,
                extras_spec: types.NestedSpec = ()) -> types.Transition:
    """The table signature of the items this adder writes."""
    spec = lambda s: tree.map_structure(base.spec_like, s)
    return types.Transition(
        observation=spec(environment_spec.observations),
        action=spec(environment_spec.actions),
        reward=spec(environment_spec.rewards),
        discount=spec(environment_spec.discounts),
        next_observation=spec(environment_spec.observations),
        extras=spec(extras_spec))

  def _on_first(self, timestep: dm_env.TimeStep):
    self._buffer.clear()
    self._observation = timestep.observation

  def _on_step(self, action, next_timestep: dm_env.TimeStep, extras):
    self._buffer.append(_Step(self._observation, action, extras,
                              next_timestep.reward, next_timestep.discount))
    self._observation = next_timestep.observation
    if len(self._buffer) == self.n_step:
      self._write_oldest()

  def _on_last(self):
    while self._buffer:  # Shrinking horizons: n-1, ..., 1 steps.
      self._write_oldest()

  def _on_reset(self):
    self._buffer.clear()
    self._observation = None

  def _write_oldest(self):
    steps = list(self._buffer)
    first = steps[0]
    n_step_return = tree.map_structure(np.copy, first.reward)
    total_discount = np.copy(first.discount)
    for step in steps[1:]:
      total_discount = total_discount * self._discount
      n_step_return = tree.map_structure(
          lambda acc, r, g=total_discount: acc + (g * r).astype(acc.dtype),
          n_step_return, step.reward)
      total_discount = total_discount * step.discount
    transition = types.Transition(
        observation=first.observation,
        action=first.action,
        reward=n_step_return,
        discount=np.asarray(total_discount, first.discount.dtype),
        next_observation=self._observation,
        extras=first.extras)
    writer = self._trajectory_writer
    writer.append(transition._asdict())
    history = writer.history
    item = types.Transition(**{
        field: tree.map_structure(lambda column: column[-1], history[field])
        for field in types.Transition._fields})
    writer.create_item(self._table, self._priority, item)
    self._buffer.popleft()
