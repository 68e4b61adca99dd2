"""Environment specs (acme/specs.py) and checks of values against them."""

from typing import Any, List, NamedTuple

import dm_env
from dm_env import specs as dm_env_specs
import numpy as np
import tree

from jumpy_acme import types

Array = dm_env_specs.Array
BoundedArray = dm_env_specs.BoundedArray
DiscreteArray = dm_env_specs.DiscreteArray


class EnvironmentSpec(NamedTuple):
  """Full specification of the domains used by a given environment."""
  observations: types.NestedSpec
  actions: types.NestedSpec
  rewards: types.NestedSpec
  discounts: types.NestedSpec


def make_environment_spec(environment: dm_env.Environment) -> EnvironmentSpec:
  """Returns an `EnvironmentSpec` filled from the environment's *_spec()."""
  return EnvironmentSpec(
      observations=environment.observation_spec(),
      actions=environment.action_spec(),
      rewards=environment.reward_spec(),
      discounts=environment.discount_spec())


def _path_name(prefix: str, path) -> str:
  name = prefix
  for key in path:
    name += f'[{key!r}]' if isinstance(key, str) else f'[{key}]'
  return name


def validation_errors(spec: types.NestedSpec, value: Any,
                      name: str = 'value') -> List[str]:
  """Returns one message per leaf of `value` that does not match `spec`.

  Checks the nest structure, then each leaf's shape and dtype (a value whose
  dtype can be cast safely, like float64 -> float32, is *not* accepted: the
  Reverb table signature would reject it later, far from the cause). Bounds are
  not checked: actors may clip.

  Args:
    spec: a nest of dm_env specs.
    value: a nest of arrays with the same structure.
    name: the field's name, used as the prefix of every message.
  """
  try:
    tree.assert_same_structure(spec, value, check_types=False)
  except (ValueError, TypeError) as e:
    return [f'{name}: structure does not match the spec: {e}']
  errors = []
  for path, leaf_spec in tree.flatten_with_path(spec):
    leaf = value
    for key in path:
      leaf = leaf[key]
    leaf_name = _path_name(name, path)
    shape = np.shape(leaf)
    dtype = np.asarray(leaf).dtype
    if tuple(shape) != tuple(leaf_spec.shape):
      errors.append(f'{leaf_name}: expected shape {tuple(leaf_spec.shape)}, '
                    f'got {tuple(shape)}.')
    if dtype != np.dtype(leaf_spec.dtype):
      errors.append(f'{leaf_name}: expected dtype {np.dtype(leaf_spec.dtype)}, '
                    f'got {dtype}.')
  return errors


def validate(spec: types.NestedSpec, value: Any, name: str = 'value') -> None:
  """Raises ValueError naming each field of `value` that does not fit `spec`."""
  errors = validation_errors(spec, value, name)
  if errors:
    raise ValueError(' '.join(errors))
