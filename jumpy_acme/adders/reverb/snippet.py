"""K-step snippets into Reverb: the phase-1 data of the skill VAE.

An item is a window of K+1 consecutive observations and the K actions
between them (paper, "Methods": tau = {s_t, a_t, ..., a_{t+K-1}, s_{t+K}}):
  Snippet(observations [K+1, ...] = o_t .. o_{t+K},
          actions      [K, ...]   = a_t .. a_{t+K-1},
          extras       [K, ...]   = extras passed with a_t .. a_{t+K-1})
Windows start every `stride` steps from the episode's first step and never
span two episodes; an episode shorter than K steps gives no item. Rows are
written once and shared by the windows that overlap them.
"""

from typing import NamedTuple

import dm_env
import reverb
import tree

from jumpy_acme import specs
from jumpy_acme import types
from jumpy_acme.adders.reverb import base


class Snippet(NamedTuple):
  """One phase-1 training item; shapes are for one item (no batch dim)."""
  observations: types.NestedArray  # [K+1, *observation_shape]
  actions: types.NestedArray       # [K, *action_shape]
  extras: types.NestedArray = ()   # [K, *extras_shape]


class SnippetAdder(base.ReverbAdder):
  """Writes every `stride`-th window of K+1 observations and K actions."""

  def __init__(self, client: reverb.Client, K: int,  # pylint: disable=invalid-name
               environment_spec: specs.EnvironmentSpec,
               table: str = 'snippets', stride: int = 1,
               extras_spec: types.NestedSpec = (),
               priority: float = 1.0):
    """Initializes the adder.

    Args:
      client: a Reverb client.
      K: the number of actions per snippet (the jumpy model's horizon), >= 1.
      environment_spec: shapes and dtypes that inputs are checked against.
      table: the Reverb table items go to (its signature: `signature()`).
      stride: steps between the starts of two consecutive windows, >= 1.
      extras_spec: spec of the per-step extras (e.g. the behaviour id).
      priority: every item's priority.
    """
    if K < 1:
      raise ValueError(f'K: expected >= 1, got {K}.')
    if stride < 1:
      raise ValueError(f'stride: expected >= 1, got {stride}.')
    super().__init__(client, table, environment_spec,
                     max_sequence_length=K + 1, extras_spec=extras_spec,
                     priority=priority)
    self.K = K  # pylint: disable=invalid-name
    self.stride = stride
    self._has_extras = bool(tree.flatten(extras_spec))
    self._num_rows = 0

  @classmethod
  def signature(cls, environment_spec: specs.EnvironmentSpec, K: int,  # pylint: disable=invalid-name
                extras_spec: types.NestedSpec = ()) -> Snippet:
    """The table signature of the items this adder writes."""
    def spec(s, length):
      return tree.map_structure(lambda x: base.spec_like(x, (length,)), s)
    return Snippet(observations=spec(environment_spec.observations, K + 1),
                   actions=spec(environment_spec.actions, K),
                   extras=spec(extras_spec, K))

  def _on_first(self, timestep: dm_env.TimeStep):
    # Row 0 holds o_0 only; row i >= 1 holds o_i with the a_{i-1} (and
    # extras) that led to it, so a window's rows are all complete steps.
    self._trajectory_writer.append({'observation': timestep.observation})
    self._num_rows = 1

  def _on_step(self, action, next_timestep: dm_env.TimeStep, extras):
    row = {'observation': next_timestep.observation, 'action': action}
    if self._has_extras:
      row['extras'] = extras
    writer = self._trajectory_writer
    writer.append(row)
    self._num_rows += 1
    start = self._num_rows - 1 - self.K  # Step index of the window's o_t.
    if start >= 0 and start % self.stride == 0:
      history = writer.history
      last = lambda n: (lambda column: column[-n:])
      item = Snippet(
          observations=tree.map_structure(last(self.K + 1),
                                          history['observation']),
          actions=tree.map_structure(last(self.K), history['action']),
          extras=(tree.map_structure(last(self.K), history['extras'])
                  if self._has_extras else ()))
      writer.create_item(self._table, self._priority, item)

  def _on_reset(self):
    self._num_rows = 0
