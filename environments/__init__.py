"""Environments (installed as jumpy_acme.environments).

- point_mass.PointMass: a tiny debugging environment for tests and smoke runs.
- RGB-stacking (the paper's environment) is built here from dm_robotics parts.
"""
