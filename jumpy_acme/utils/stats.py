"""Small statistics the diagnostics share."""

import numpy as np


def spearman(x: np.ndarray, y: np.ndarray) -> float:
  """Spearman's rank correlation of two 1-D samples. Ties are ranked by
  their order, so a constant sample is not detected here: callers keep
  only samples that vary. NaN for fewer than 2 values."""
  rx = np.argsort(np.argsort(x)).astype(np.float64)
  ry = np.argsort(np.argsort(y)).astype(np.float64)
  if rx.std() == 0 or ry.std() == 0:
    return float('nan')
  return float(np.corrcoef(rx, ry)[0, 1])
