"""A hierarchical, thread-safe counter (acme/utils/counting.py's contract).

A counter keeps named counts (`steps`, `episodes`, ...). A child counter made
with a parent and a prefix forwards its increments to the parent under
'{prefix}_{key}', so a learner's and actors' counts meet in one place.
"""

import threading
import time
from typing import Dict, Mapping, Optional, Union

Number = Union[int, float]


class Counter:
  """Counts events, optionally forwarding them to a parent counter."""

  def __init__(self, parent: Optional['Counter'] = None, prefix: str = '',
               time_delta: float = 1.0, return_only_prefixed: bool = False):
    """Initializes the counter.

    Args:
      parent: a counter that receives every increment, prefixed.
      prefix: prepended as '{prefix}_' to the keys sent to the parent.
      time_delta: at most one forward to the parent per `time_delta` seconds
        (increments in between are accumulated, never lost).
      return_only_prefixed: if True, `get_counts()` returns only the keys
        that carry this counter's prefix, with the prefix stripped.
    """
    if time_delta < 0:
      raise ValueError(f'time_delta: expected >= 0, got {time_delta}.')
    self._parent = parent
    self._prefix = prefix
    self._time_delta = time_delta
    self._return_only_prefixed = return_only_prefixed
    self._counts: Dict[str, Number] = {}
    self._cache: Dict[str, Number] = {}  # Not yet forwarded to the parent.
    self._last_sync = 0.0
    self._lock = threading.Lock()

  def increment(self, **counts: Number) -> Dict[str, Number]:
    """Increments the named counts and returns all counts."""
    with self._lock:
      for key, value in counts.items():
        self._counts[key] = self._counts.get(key, 0) + value
        self._cache[key] = self._cache.get(key, 0) + value
    return self.get_counts()

  def get_counts(self) -> Dict[str, Number]:
    """Returns all counts, with this counter's keys prefixed.

    Keys are '{prefix}_{key}' for this counter's own counts; the parent's
    counts (which include ours once forwarded) are merged on top. With
    `return_only_prefixed`, only this counter's keys remain, unprefixed.
    """
    now = time.time()
    if self._parent is not None and (
        now - self._last_sync >= self._time_delta):
      with self._lock:
        cache, self._cache = self._cache, {}
        self._last_sync = now
      self._parent.increment(**{self._prefixed(k): v for k, v in cache.items()})
    with self._lock:
      counts = {self._prefixed(k): v for k, v in self._counts.items()}
    if self._parent is not None:
      counts.update(self._parent.get_counts())
    if self._return_only_prefixed and self._prefix:
      start = len(self._prefix) + 1
      counts = {k[start:]: v for k, v in counts.items()
                if k.startswith(f'{self._prefix}_')}
    return counts

  def _prefixed(self, key: str) -> str:
    return f'{self._prefix}_{key}' if self._prefix else key

  def save(self) -> Mapping[str, Mapping[str, Number]]:
    with self._lock:
      return {'counts': dict(self._counts), 'cache': dict(self._cache)}

  def restore(self, state: Mapping[str, Mapping[str, Number]]):
    with self._lock:
      self._counts = dict(state['counts'])
      self._cache = dict(state['cache'])
