"""EnvironmentSpec and value checks that name the offending field."""

from dm_env import specs as dm_env_specs
import numpy as np
import pytest

from jumpy_acme import specs
from jumpy_acme.testing import fakes


def test_make_environment_spec_reads_every_spec():
  env = fakes.SequenceEnvironment(observation_size=4, action_size=3)
  spec = specs.make_environment_spec(env)
  assert spec.observations.shape == (4,)
  assert spec.actions.shape == (3,)
  assert spec.rewards.shape == ()
  assert spec.discounts.shape == ()


def test_validate_names_the_field_shape_and_dtype():
  spec = {'state': dm_env_specs.Array((86,), np.float32),
          'grasp': dm_env_specs.Array((), np.int32)}
  good = {'state': np.zeros(86, np.float32), 'grasp': np.int32(1)}
  specs.validate(spec, good, 'observation')

  with pytest.raises(ValueError) as info:
    specs.validate(spec, {'state': np.zeros(85, np.float32),
                          'grasp': np.int32(1)}, 'observation')
  assert "observation['state']" in str(info.value)
  assert '(86,)' in str(info.value) and '(85,)' in str(info.value)

  with pytest.raises(ValueError) as info:
    specs.validate(spec, {'state': np.zeros(86, np.float64),
                          'grasp': np.int32(1)}, 'observation')
  assert "observation['state']" in str(info.value)
  assert 'float32' in str(info.value) and 'float64' in str(info.value)


def test_validate_reports_structure_mismatch():
  spec = {'state': dm_env_specs.Array((2,), np.float32)}
  with pytest.raises(ValueError, match='action: structure'):
    specs.validate(spec, np.zeros(2, np.float32), 'action')
