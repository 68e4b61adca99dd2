"""Process-wide XLA settings that launchers choose before JAX computes."""

import os

THUNK_RUNTIME_FLAG = '--xla_cpu_use_thunk_runtime'


def prefer_legacy_cpu_runtime() -> bool:
  """Selects XLA's older CPU runtime for this process and its children.

  The CEM planner runs many mid-sized ops ([1000, 256] matmuls and ELUs);
  under jaxlib 0.4.34's default "thunk" CPU runtime a decision takes about
  twice as long as under the older runtime (bench/planner_speed.py measures
  both), while phase-1 training is no faster. Launchers that plan call this
  before their first JAX computation (XLA reads XLA_FLAGS when its backend
  starts, not at `import jax`). A choice already in XLA_FLAGS is kept.

  Returns:
    Whether the flag was added.
  """
  flags = os.environ.get('XLA_FLAGS', '')
  if THUNK_RUNTIME_FLAG in flags:
    return False
  os.environ['XLA_FLAGS'] = f'{flags} {THUNK_RUNTIME_FLAG}=false'.strip()
  return True
