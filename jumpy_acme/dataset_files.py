"""Snippet datasets on disk: written while collecting, loaded by later runs.

Format (a directory):
  shard-00000.npz, shard-00001.npz, ...  numpy archives with arrays
      observations [n, K+1, S], actions [n, K, A] and extras_<name> [n, K];
  manifest.json  written last, atomically: format version, K, item count,
      per-shard item counts and SHA-256 digests, shapes and dtypes, dataset
      statistics, counts of flagged events (e.g. grasp onsets) when the
      writer was given a flagging function, and the collection's metadata
      (seed, actors, behaviours, package versions).
Loading orders the items by episode id and step when the extras carry
them, so a dataset's order does not depend on which actor finished first.

A directory without manifest.json is the remains of an interrupted run and
is refused by `load`; a shard whose digest or size does not match is
refused too. Shards are written to a temporary name and renamed, so a
crash never leaves a half-written shard under a shard's name.

Statistics (the jumpy decoder's normalisation): per dimension min, max,
mean and std of the snippets' first states s_t and of their K-step deltas
s_{t+K} - s_t, over every item.

  dataset = dataset_files.load('data/phase1')
  for batch in dataset.iterator(batch_size=256, seed=0): ...
  dataset.insert_into(client, 'snippets')        # Back into a Reverb table.
"""

import dataclasses
import hashlib
import json
import os
import time
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Tuple)

import numpy as np
import reverb

from jumpy_acme.adders import reverb as reverb_adders

FORMAT_VERSION = 1
MANIFEST = 'manifest.json'


class IncompleteDatasetError(ValueError):
  """The directory does not hold a complete, intact dataset."""


class RunningStatistics:
  """Per-dimension count, min, max, mean and std over rows, in float64."""

  def __init__(self, size: int):
    self.count = 0
    self._sum = np.zeros(size)
    self._sum_sq = np.zeros(size)
    self._min = np.full(size, np.inf)
    self._max = np.full(size, -np.inf)

  def update(self, rows: np.ndarray):
    rows = np.asarray(rows, np.float64)
    self.count += rows.shape[0]
    self._sum += rows.sum(0)
    # Sums of squares about a running shift would be steadier; the states'
    # scales (<= 255) keep float64 sums exact enough for a std.
    self._sum_sq += (rows ** 2).sum(0)
    self._min = np.minimum(self._min, rows.min(0))
    self._max = np.maximum(self._max, rows.max(0))

  def result(self) -> Dict[str, List[float]]:
    if self.count == 0:
      raise ValueError('statistics: no rows were seen.')
    mean = self._sum / self.count
    var = np.maximum(self._sum_sq / self.count - mean ** 2, 0.0)
    return {'min': self._min.tolist(), 'max': self._max.tolist(),
            'mean': mean.tolist(), 'std': np.sqrt(var).tolist()}


def statistics(observations: np.ndarray) -> Dict[str, Dict[str, List[float]]]:
  """Dataset statistics of snippets' observations [n, K+1, S]."""
  states = RunningStatistics(observations.shape[-1])
  deltas = RunningStatistics(observations.shape[-1])
  states.update(observations[:, 0])
  deltas.update(observations[:, -1] - observations[:, 0])
  return {'state': states.result(), 'delta': deltas.result()}


def sha256(path: str) -> str:
  """The hex sha256 of one file's contents (read in 1 MiB blocks)."""
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def tree_sha256(path: str) -> str:
  """The hex sha256 over every file under `path` (relative paths and
  contents, in a fixed order): equal for copies of a directory."""
  digest = hashlib.sha256()
  for root, dirs, files in os.walk(path):
    dirs.sort()
    for name in sorted(files):
      full = os.path.join(root, name)
      digest.update(f'{os.path.relpath(full, path)}\0{sha256(full)}\0'
                    .encode())
  return digest.hexdigest()


class SnippetWriter:
  """Writes snippets to shards as they arrive; `close` seals the dataset."""

  def __init__(self, directory: str, K: int,  # noqa: N803
               shard_size: int = 20_000,
               events: Optional[Callable[[np.ndarray],
                                         Mapping[str, np.ndarray]]] = None):
    """Starts a dataset in `directory`.

    Args:
      directory: where shards and the manifest go (must not hold a dataset).
      K: actions per snippet.
      shard_size: snippets per shard file.
      events: observations [n, K+1, S] -> {name: bool [n]}, flags of rare
        moments (e.g. environments.rgb_stacking.events.snippet_events);
        the manifest's 'events' gives each one's count and fraction.
    """
    if os.path.exists(os.path.join(directory, MANIFEST)):
      raise FileExistsError(
          f'output: {directory!r} already holds a complete dataset; choose '
          'another directory or delete it.')
    if os.path.isdir(directory) and any(
        name.startswith('shard-') for name in os.listdir(directory)):
      raise FileExistsError(
          f'output: {directory!r} holds shards but no manifest (an '
          'interrupted run); resume it (collect.py does: recover_partial) '
          'or delete it before collecting into it again.')
    os.makedirs(directory, exist_ok=True)
    self.directory = directory
    self.K = K  # pylint: disable=invalid-name
    self._shard_size = shard_size
    self._buffer: List[Dict[str, np.ndarray]] = []
    self._buffered = 0
    self._shards: List[Dict[str, Any]] = []
    self._states: Optional[RunningStatistics] = None
    self._deltas: Optional[RunningStatistics] = None
    self._shapes: Dict[str, Any] = {}
    self._events = events
    self._event_counts: Dict[str, int] = {}
    self.num_items = 0

  def write(self, observations: np.ndarray, actions: np.ndarray,
            extras: Mapping[str, np.ndarray]):
    """Adds n snippets: observations [n, K+1, S], actions [n, K, A],
    extras {name: [n, K]}."""
    observations = np.asarray(observations)
    if observations.ndim != 3 or observations.shape[1] != self.K + 1:
      raise ValueError(f'observations: expected [n, K+1={self.K + 1}, S], '
                       f'got shape {observations.shape}.')
    if self._states is None:
      self._states = RunningStatistics(observations.shape[-1])
      self._deltas = RunningStatistics(observations.shape[-1])
    arrays = {'observations': observations, 'actions': np.asarray(actions),
              **{f'extras_{k}': np.asarray(v) for k, v in extras.items()}}
    for name, array in arrays.items():
      spec = (list(array.shape[1:]), str(array.dtype))
      if self._shapes.setdefault(name, spec) != spec:
        raise ValueError(f'{name}: expected per-item shape and dtype '
                         f'{self._shapes[name]}, got {spec}.')
    self._states.update(observations[:, 0])
    self._deltas.update(observations[:, -1] - observations[:, 0])
    if self._events is not None:
      for name, flags in self._events(observations).items():
        self._event_counts[name] = (self._event_counts.get(name, 0) +
                                    int(np.count_nonzero(flags)))
    self._buffer.append(arrays)
    self._buffered += observations.shape[0]
    self.num_items += observations.shape[0]
    while self._buffered >= self._shard_size:
      self._flush(self._shard_size)

  def flush(self) -> None:
    """Writes whatever is buffered as a shard now (e.g. recovered items,
    so that a second interruption keeps them)."""
    if self._buffered:
      self._flush(self._buffered)

  def _flush(self, count: int):
    merged = {k: np.concatenate([b[k] for b in self._buffer])
              for k in self._buffer[0]}
    shard = {k: v[:count] for k, v in merged.items()}
    rest = {k: v[count:] for k, v in merged.items()}
    self._buffer = [rest] if len(next(iter(rest.values()))) else []
    self._buffered -= count
    name = f'shard-{len(self._shards):05d}.npz'
    path = os.path.join(self.directory, name)
    temporary = path + '.tmp.npz'
    np.savez(temporary, **shard)
    os.replace(temporary, path)
    self._shards.append({'file': name, 'items': count,
                         'sha256': sha256(path)})

  def close(self, metadata: Optional[Mapping[str, Any]] = None) -> str:
    """Writes the last shard and the manifest; returns the manifest path."""
    if self.num_items == 0:
      raise ValueError('SnippetWriter.close: no snippets were written; the '
                       'dataset would be empty.')
    if self._buffered:
      self._flush(self._buffered)
    manifest = {
        'format_version': FORMAT_VERSION,
        'K': self.K,
        'num_items': self.num_items,
        'shards': self._shards,
        'arrays': self._shapes,
        'statistics': {'state': self._states.result(),
                       'delta': self._deltas.result()},
        'events': {name: {'count': count,
                          'fraction': count / self.num_items}
                   for name, count in self._event_counts.items()},
        'created': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'metadata': dict(metadata or {}),
    }
    path = os.path.join(self.directory, MANIFEST)
    with open(path + '.tmp', 'w') as f:
      json.dump(manifest, f, indent=1)
    os.replace(path + '.tmp', path)
    return path


PARTIAL = '.partial'  # Where a resumed run keeps the shards it recovers.


def recover_partial(directory: str, items_per_episode: int
                    ) -> Tuple[Dict[str, np.ndarray], List[int]]:
  """What an interrupted collection left that a resumed one can keep.

  Moves the shard files of `directory` (a dataset without a manifest) into
  `directory`/.partial, and returns the items of the episodes found whole
  there (every one of their `items_per_episode` snippets) and those
  episodes' numbers. Shards are written atomically, so each one found is
  complete; snippets still buffered at the interruption are lost, and their
  episodes run again. Call `discard_partial` once the kept items are
  written again.

  Returns:
    ({array name: [n, ...]} as in a shard, sorted episode numbers).
  """
  partial = os.path.join(directory, PARTIAL)
  os.makedirs(partial, exist_ok=True)
  for name in sorted(os.listdir(directory)):
    if name.startswith('shard-'):
      os.replace(os.path.join(directory, name),
                 os.path.join(partial, f'{time.time_ns()}-{name}'))
  parts: Dict[str, List[np.ndarray]] = {}
  for name in sorted(os.listdir(partial)):
    if not name.endswith('.npz') or '.tmp' in name:
      continue
    with np.load(os.path.join(partial, name)) as archive:
      for key in archive.files:
        parts.setdefault(key, []).append(archive[key])
  if not parts:
    return {}, []
  arrays = {k: np.concatenate(v) for k, v in parts.items()}
  episodes = arrays['extras_episode'][:, 0]
  numbers, counts = np.unique(episodes, return_counts=True)
  whole = numbers[counts == items_per_episode]
  keep = np.isin(episodes, whole)
  return {k: v[keep] for k, v in arrays.items()}, [int(e) for e in whole]


def discard_partial(directory: str) -> None:
  """Deletes what recover_partial moved aside (after it was rewritten)."""
  partial = os.path.join(directory, PARTIAL)
  if os.path.isdir(partial):
    for name in os.listdir(partial):
      os.remove(os.path.join(partial, name))
    os.rmdir(partial)


@dataclasses.dataclass
class SnippetDataset:
  """A loaded dataset: arrays with one row per snippet."""
  observations: np.ndarray        # [N, K+1, S] float32
  actions: np.ndarray             # [N, K, A] float32
  extras: Dict[str, np.ndarray]   # name -> [N, K]
  manifest: Dict[str, Any]

  @property
  def K(self) -> int:  # pylint: disable=invalid-name
    return int(self.manifest['K'])

  @property
  def statistics(self) -> Dict[str, Dict[str, np.ndarray]]:
    return {group: {k: np.asarray(v, np.float32) for k, v in values.items()}
            for group, values in self.manifest['statistics'].items()}

  def __len__(self) -> int:
    return self.observations.shape[0]

  def with_K(self, k: int) -> 'SnippetDataset':  # pylint: disable=invalid-name
    """The first k actions of every snippet (k <= K), e.g. K = 1 windows
    for the non-jumpy baseline from a K = 10 stride-1 dataset."""
    if not 1 <= k <= self.K:
      raise ValueError(f'k: expected in [1, K={self.K}], got {k}.')
    observations = self.observations[:, :k + 1]
    manifest = dict(self.manifest, K=k,
                    statistics=statistics(observations))
    return SnippetDataset(observations, self.actions[:, :k],
                          {n: v[:, :k] for n, v in self.extras.items()},
                          manifest)

  def select(self, rows) -> 'SnippetDataset':
    """A subset of rows (statistics recomputed on it)."""
    observations = self.observations[rows]
    manifest = dict(self.manifest, num_items=int(observations.shape[0]),
                    statistics=statistics(observations))
    return SnippetDataset(observations, self.actions[rows],
                          {n: v[rows] for n, v in self.extras.items()},
                          manifest)

  def iterator(self, batch_size: int, seed: int = 0,
               shuffle: bool = True) -> Iterator[reverb_adders.Snippet]:
    """Endless batches (a new permutation per epoch when shuffling)."""
    if not 1 <= batch_size <= len(self):
      raise ValueError(f'batch_size: expected in [1, {len(self)}], got '
                       f'{batch_size}.')
    rng = np.random.default_rng(seed)
    while True:
      order = rng.permutation(len(self)) if shuffle else np.arange(len(self))
      for start in range(0, len(self) - batch_size + 1, batch_size):
        index = order[start:start + batch_size]
        yield reverb_adders.Snippet(
            self.observations[index], self.actions[index],
            {k: v[index] for k, v in self.extras.items()})

  def insert_into(self, client: reverb.Client, table: str,
                  priority: float = 1.0) -> int:
    """Writes every snippet into a Reverb table (signature: the adder's)."""
    with client.trajectory_writer(num_keep_alive_refs=1) as writer:
      for i in range(len(self)):
        writer.append({'observations': self.observations[i],
                       'actions': self.actions[i],
                       'extras': {k: v[i] for k, v in self.extras.items()}})
        history = writer.history
        writer.create_item(table, priority, reverb_adders.Snippet(
            history['observations'][-1], history['actions'][-1],
            {k: history['extras'][k][-1] for k in self.extras}))
        if i % 1000 == 999:
          writer.flush()
      writer.flush()
    return len(self)


def load(directory: str, verify: bool = True) -> SnippetDataset:
  """Loads a complete dataset, or raises IncompleteDatasetError saying why."""
  path = os.path.join(directory, MANIFEST)
  if not os.path.isdir(directory):
    raise FileNotFoundError(f'dataset: no directory {directory!r}.')
  if not os.path.exists(path):
    raise IncompleteDatasetError(
        f'dataset: {directory!r} has no {MANIFEST}: the run that wrote it '
        'did not finish (interrupted?), so it may be partial. Delete it and '
        'collect again.')
  with open(path) as f:
    manifest = json.load(f)
  if manifest.get('format_version') != FORMAT_VERSION:
    raise IncompleteDatasetError(
        f'dataset: format_version {manifest.get("format_version")!r} in '
        f'{path}, expected {FORMAT_VERSION}.')
  parts: Dict[str, List[np.ndarray]] = {}
  for shard in manifest['shards']:
    shard_path = os.path.join(directory, shard['file'])
    if not os.path.exists(shard_path):
      raise IncompleteDatasetError(f'dataset: shard {shard_path} is missing.')
    if verify and sha256(shard_path) != shard['sha256']:
      raise IncompleteDatasetError(
          f'dataset: shard {shard_path} does not match its SHA-256 in the '
          'manifest (corrupted or replaced).')
    with np.load(shard_path) as archive:
      if archive['observations'].shape[0] != shard['items']:
        raise IncompleteDatasetError(
            f'dataset: shard {shard_path} holds '
            f'{archive["observations"].shape[0]} items, the manifest says '
            f'{shard["items"]}.')
      for name in archive.files:
        parts.setdefault(name, []).append(archive[name])
  arrays = {name: np.concatenate(chunks) for name, chunks in parts.items()}
  if arrays['observations'].shape[0] != manifest['num_items']:
    raise IncompleteDatasetError('dataset: item count does not match the '
                                 'manifest.')
  extras = {name[len('extras_'):]: array for name, array in arrays.items()
            if name.startswith('extras_')}
  if 'episode' in extras and 'step' in extras:
    # Items arrive in whatever order the actors finish; sorted by (episode,
    # step), the same episodes give the same dataset.
    order = np.lexsort((extras['step'][:, 0], extras['episode'][:, 0]))
    extras = {name: array[order] for name, array in extras.items()}
    arrays['observations'] = arrays['observations'][order]
    arrays['actions'] = arrays['actions'][order]
  return SnippetDataset(arrays['observations'], arrays['actions'], extras,
                        manifest)
