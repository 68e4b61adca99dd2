"""Adders: how actors' experience enters replay (acme/adders's contract)."""

from jumpy_acme.adders.base import Adder

__all__ = ['Adder']
