"""Agents (installed as jumpy_acme.agents), one package per agent in Acme's
layout: config.py, networks.py, losses.py, learning.py, acting.py,
builder.py. The skill VAE, the planner agents and DMPO land here."""
