"""Float comparisons whose tolerance follows each value's scale.

Jitted and eager XLA code, or two CPUs (with and without AVX-512), round
float32 differently: two results of the same computation can differ by a few
ulps of their magnitude. An absolute tolerance is then wrong for a 255-scaled
grip command and loose for a 0.07 m/s velocity; these helpers compare each
dimension against `rtol` times that dimension's scale.
"""

from typing import Optional

import numpy as np


def assert_close_to_scale(actual, desired, scale, rtol: float = 1e-5,
                          err_msg: Optional[str] = None) -> None:
  """Asserts |actual - desired| <= rtol * scale, elementwise.

  Args:
    actual, desired: arrays of the same shape [..., D].
    scale: the magnitude of each value, broadcastable to [..., D] (for
      actions: the action spec's largest absolute bound per dimension).
    rtol: tolerance as a fraction of `scale`; the default 1e-5 is about 80
      float32 ulps.
    err_msg: added to the failure message.
  """
  actual, desired = np.asarray(actual), np.asarray(desired)
  scale = np.broadcast_to(np.abs(np.asarray(scale, np.float64)),
                          np.broadcast_shapes(actual.shape, desired.shape))
  if np.any(scale <= 0):
    raise ValueError(f'scale: expected > 0 everywhere, got {scale}.')
  np.testing.assert_array_less(
      np.abs(actual.astype(np.float64) - desired.astype(np.float64)),
      rtol * scale + np.finfo(np.float64).tiny,
      err_msg=(err_msg or '') + f' (tolerance {rtol} of scale {scale})')
