"""Reverb adders: n-step transitions (DMPO) and K-step snippets (phase 1)."""

from jumpy_acme.adders.reverb.base import ReverbAdder
from jumpy_acme.adders.reverb.snippet import Snippet
from jumpy_acme.adders.reverb.snippet import SnippetAdder
from jumpy_acme.adders.reverb.transition import NStepTransitionAdder

__all__ = ['NStepTransitionAdder', 'ReverbAdder', 'Snippet', 'SnippetAdder']
