"""Data parallelism over the local devices with jax.sharding.

A learner given `num_devices` > 1 keeps its parameters and optimiser state
replicated on every device and splits each batch along its batch axis; the
jitted update is unchanged, and XLA inserts the all-reduce that averages
the gradients (the loss is a mean over the whole batch), so one update on
n devices equals the one-device update on the same batch up to float
rounding (tests/test_sharding.py). One device, the default, leaves arrays
where jax puts them.

  mesh = sharding.data_mesh(2)
  state = sharding.replicate(mesh, state)
  batch = sharding.shard(mesh, batch, axis=1)   # [S, B, ...] over B
"""

from typing import Any, Optional

import jax
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec
import numpy as np

AXIS = 'data'


def data_mesh(num_devices: Optional[int] = None) -> Mesh:
  """A 1-D mesh over the first `num_devices` local devices (None: all).

  Raises:
    ValueError: naming num_devices, when fewer devices exist.
  """
  devices = jax.local_devices()
  n = len(devices) if num_devices is None else num_devices
  if not (isinstance(n, int) and 1 <= n <= len(devices)):
    raise ValueError(
        f'num_devices: expected an integer in [1, {len(devices)}] (the '
        f'local {devices[0].platform} devices), got {num_devices!r}. On CPU, '
        'XLA_FLAGS=--xla_force_host_platform_device_count=N makes N.')
  return Mesh(np.asarray(devices[:n]), (AXIS,))


def replicate(mesh: Mesh, tree: Any) -> Any:
  """Every leaf copied to every device of the mesh."""
  return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard(mesh: Mesh, tree: Any, axis: int = 0) -> Any:
  """Every leaf split along `axis` over the mesh's devices.

  Raises:
    ValueError: when a leaf's `axis` does not divide by the device count.
  """
  n = mesh.devices.size

  def put(x):
    if x.shape[axis] % n:
      raise ValueError(f'batch: axis {axis} of size {x.shape[axis]} does '
                       f'not split over {n} devices; choose a batch_size '
                       'divisible by num_devices.')
    spec = PartitionSpec(*([None] * axis + [AXIS]))
    return jax.device_put(x, NamedSharding(mesh, spec))

  return jax.tree_util.tree_map(put, tree)


def learner_mesh(num_devices: int, batch_size: int) -> Optional[Mesh]:
  """A learner's mesh: None for one device; else data_mesh(num_devices),
  after checking that batch_size splits over it (ValueError naming
  num_devices)."""
  if num_devices == 1:
    return None
  mesh = data_mesh(num_devices)
  if batch_size % num_devices:
    raise ValueError(f'num_devices: batch_size {batch_size} does not split '
                     f'over {num_devices} devices.')
  return mesh


def shard_steps(mesh: Mesh, tree: Any, steps: int, batch_size: int) -> Any:
  """[steps * batch_size, ...] leaves as [steps, batch_size, ...], split
  over the mesh along the batch axis (what a learner's lax.scan over SGD
  steps consumes)."""
  split = lambda x: np.asarray(x).reshape((steps, batch_size) + x.shape[1:])
  return shard(mesh, jax.tree_util.tree_map(split, tree), axis=1)
