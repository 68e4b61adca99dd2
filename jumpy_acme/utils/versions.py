"""Installed package versions, recorded beside results."""

import importlib.metadata
from typing import Dict, Optional, Sequence

PACKAGES = ('jumpy-acme', 'jax', 'jaxlib', 'flax', 'optax', 'numpy',
            'dm-reverb', 'mujoco', 'dm-control', 'dm-robotics-moma',
            'matplotlib')


def package_versions(names: Sequence[str] = PACKAGES
                     ) -> Dict[str, Optional[str]]:
  """{name: installed version, or None where it is not installed}."""
  out = {}
  for name in names:
    try:
      out[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      out[name] = None
  return out
