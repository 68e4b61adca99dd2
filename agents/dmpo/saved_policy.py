"""A saved DMPO policy: load it back and act with its mean.

A saved policy is a directory as `launchers/train_rl.py --method=scratch
--save_policy=DIR` writes it:

  DIR/<step>/...    the DMPOLearner's orbax checkpoints (learning.py)
  DIR/policy.json   {'task': the task it was trained on,
                     'config': dataclasses.asdict(HarnessingConfig), whose
                               'dmpo' entry is the DMPOConfig}

`load_policy(directory)` rebuilds DMPO's networks from the saved config,
restores the latest checkpoint's policy parameters and returns a jitted
deterministic policy: observation [*obs_shape] -> the policy's mean [D],
clipped to the action box and in the spec's units (acting.make_policy with
evaluation=True). The networks need the environment spec of the training
run; by default it is read from `environments.make(task)` (its standard
observation: the 86-D state for RGB-stacking), which builds a simulator;
callers that hold one pass its spec instead.
"""

import dataclasses
import json
import os
from typing import Callable, Optional, Tuple

import jax
import numpy as np

from jumpy_acme import specs
from jumpy_acme.agents.dmpo import acting
from jumpy_acme.agents.dmpo import config as config_lib
from jumpy_acme.agents.dmpo import learning
from jumpy_acme.agents.dmpo import networks as networks_lib

POLICY_FILE = 'policy.json'

PolicyFn = Callable[[np.ndarray], np.ndarray]


def _fail(directory: str, what: str) -> None:
  raise FileNotFoundError(
      f'{directory}: {what} (a saved DMPO policy holds orbax step '
      f'directories and {POLICY_FILE}, as written by launchers/train_rl.py '
      '--method=scratch --save_policy=DIR).')


def read_policy_info(directory: str) -> Tuple[str, config_lib.DMPOConfig]:
  """Checks the directory and reads (task, DMPO config) from policy.json.

  Cheap (no checkpoint is read), so launchers can check a directory before
  starting processes that load it.

  Raises:
    FileNotFoundError: naming the directory and what it lacks (the
      directory itself, policy.json or any checkpoint).
    ValueError: policy.json is not what train_rl.py writes.
  """
  if not os.path.isdir(directory):
    _fail(directory, 'no such directory')
  path = os.path.join(directory, POLICY_FILE)
  if not os.path.isfile(path):
    _fail(directory, f'no {POLICY_FILE}')
  steps = [name for name in os.listdir(directory)
           if name.isdigit() and os.path.isdir(os.path.join(directory, name))]
  if not steps:
    _fail(directory, 'no checkpoint (no orbax step directory)')
  try:
    with open(path) as f:
      saved = json.load(f)
    task = saved['task']
    dmpo = saved['config']['dmpo']
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(f'{path}: expected JSON with "task" and "config" -> '
                     f'"dmpo" (train_rl.py --save_policy); {e!r}.') from e
  fields = {field.name for field in dataclasses.fields(config_lib.DMPOConfig)}
  config = config_lib.DMPOConfig(
      **{name: value for name, value in dmpo.items() if name in fields})
  return task, config


def _environment_spec(task: str) -> specs.EnvironmentSpec:
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  env = environments.make(task, episode_length=1)
  try:
    return specs.make_environment_spec(env)
  finally:
    env.close()


def load_policy(
    directory: str,
    environment_spec: Optional[specs.EnvironmentSpec] = None,
) -> Tuple[PolicyFn, str]:
  """(policy, task) from a saved DMPO policy (NOT jittable: reads files).

  Args:
    directory: a saved policy (see the module docstring).
    environment_spec: the spec the policy was trained on; default: that of
      `environments.make(task)`, read from policy.json's task.

  Returns:
    policy: observation [*obs_shape] -> action [D] float32 numpy, the mean
      of the latest checkpoint's policy, clipped to the action box, in the
      spec's units; jitted (compiled on the first call).
    task: the task the policy was trained on.

  Raises:
    FileNotFoundError / ValueError: as read_policy_info; ValueError when the
      checkpoint was written with other network sizes than policy.json says.
  """
  task, config = read_policy_info(directory)
  if environment_spec is None:
    environment_spec = _environment_spec(task)
  networks = networks_lib.make_networks(environment_spec, config)
  template = learning.init_training_state(networks, jax.random.PRNGKey(0))
  restored = learning.make_checkpoint_manager(directory, config).restore_latest(
      state=template)
  if restored is None:
    _fail(directory, 'no checkpoint that orbax can read')
  params = restored['state'].policy_params
  key = jax.random.PRNGKey(0)  # Unused: the evaluation policy is the mean.
  step = jax.jit(acting.make_policy(networks, evaluation=True))
  dtype = np.dtype(environment_spec.actions.dtype)

  def policy(observation: np.ndarray) -> np.ndarray:
    return np.asarray(step(params, key, np.asarray(observation)), dtype)

  return policy, task
