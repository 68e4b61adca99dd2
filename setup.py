"""Install script for jumpy-acme.

The repository keeps the layout our users asked for (agents/, environments/,
launchers/ beside jumpy_acme/), but every installed import name lives under
`jumpy_acme`: agents/ installs as `jumpy_acme.agents`, and so on. Nothing is
installed under a generic top-level name such as `agents`.

Reproducible installs use the checked-in pins:
  pip install -c constraints.txt -e '.[dev]'
"""

import os

import setuptools

_ROOT = os.path.dirname(os.path.abspath(__file__))

# Folder in the repository -> installed package name.
_PACKAGE_ROOTS = {
    'jumpy_acme': 'jumpy_acme',
    'agents': 'jumpy_acme.agents',
    'environments': 'jumpy_acme.environments',
    'launchers': 'jumpy_acme.launchers',
}


def _packages_and_dirs():
  packages, package_dir = [], {}
  for folder, name in _PACKAGE_ROOTS.items():
    package_dir[name] = folder
    packages.append(name)
    for sub in setuptools.find_packages(os.path.join(_ROOT, folder)):
      packages.append(f'{name}.{sub}')
      package_dir[f'{name}.{sub}'] = os.path.join(folder, *sub.split('.'))
  return packages, package_dir


def _version():
  about = {}
  with open(os.path.join(_ROOT, 'jumpy_acme', '_version.py')) as f:
    exec(f.read(), about)  # pylint: disable=exec-used
  return about['__version__']


_PACKAGES, _PACKAGE_DIR = _packages_and_dirs()

# Lower bounds only; constraints.txt pins the exact verified set.
_INSTALL_REQUIRES = [
    'absl-py>=1.0',
    'chex>=0.1.86',
    'dm-control>=1.0.15',
    'dm-env>=1.6',
    'dm-reverb>=0.14.0',
    'dm-robotics-agentflow>=0.9.0',
    'dm-robotics-controllers==0.9.0',  # 0.10.0 bundles another libmujoco.
    'dm-robotics-geometry>=0.9.0',
    'dm-robotics-manipulation>=0.9.0',
    'dm-robotics-moma>=0.9.0',
    'dm-robotics-transformations>=0.9.0',
    'dm-tree>=0.1.8',
    'flax>=0.10.4',
    'jax>=0.4.34',
    'jaxlib>=0.4.34',
    'mujoco>=3.1.6',
    'numpy>=1.24,<2',  # Reverb pins TF 2.15, which needs numpy < 2.
    'optax>=0.2.4',
    'orbax-checkpoint>=0.11.5',
    'matplotlib>=3.7',  # Diagnostic plots.
    'pillow>=10',  # Episode videos (GIF).
    'rlax>=0.1.7',
    'tensorboardX>=2.6',
    'tensorflow-cpu>=2.15,<2.16',  # dm-reverb 0.14 is built against TF 2.15.
    # rlax -> distrax -> TFP; TFP >= 0.24 refuses to import next to TF 2.15.
    'tensorflow-probability>=0.23,<0.24',
]

_EXTRAS_REQUIRE = {
    # JAX with CUDA 12 wheels, at the pinned JAX version.
    'cuda12': ['jax[cuda12]==0.4.34'],
    # The Ray launcher backend (--launcher=ray; docs/distributed.md).
    'ray': ['ray==2.60.0'],
    # Tests cover the Ray backend on a loopback-only local instance.
    'dev': ['pytest>=8', 'ruff>=0.6', 'ray==2.60.0'],
}

setuptools.setup(
    name='jumpy-acme',
    version=_version(),
    description=('Skills and jumpy models from unlabeled robot experience, '
                 'with planning and RL on top, in JAX on an Acme-style core.'),
    long_description=open(os.path.join(_ROOT, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10,<3.12',
    packages=_PACKAGES,
    package_dir=_PACKAGE_DIR,
    install_requires=_INSTALL_REQUIRES,
    extras_require=_EXTRAS_REQUIRE,
    classifiers=[
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
