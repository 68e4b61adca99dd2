"""Common types, as in acme/types.py."""

from typing import Any, Mapping, NamedTuple, Sequence, Union

import numpy as np

# A nest (pytree) of arrays: the observation, action, extras, parameters...
NestedArray = Any
NestedSpec = Any
NestedTensorSpec = Any
Nest = Union[NestedArray, Sequence['Nest'], Mapping[Any, 'Nest']]

# Logged values: a flat mapping from name to number/string/array.
LoggingData = Mapping[str, Any]


class Transition(NamedTuple):
  """A (possibly n-step) transition, as written by the n-step adder.

  Attributes:
    observation: o_t.
    action: a_t.
    reward: the n-step return
      sum_{k<n} gamma^k (prod_{j<k} d_{t+j+1}) r_{t+k+1}.
    discount: gamma^(n-1) * prod_{k<n} d_{t+k+1}; the learner applies one
      more gamma: the TD target is reward + gamma * discount * V(next_obs).
    next_observation: o_{t+n} (o_T when the episode ended sooner).
    extras: whatever the actor passed along with a_t (e.g. policy logits).
  """
  observation: NestedArray
  action: NestedArray
  reward: NestedArray
  discount: NestedArray
  next_observation: NestedArray
  extras: NestedArray = ()


def as_float32(x) -> np.ndarray:
  return np.asarray(x, dtype=np.float32)
