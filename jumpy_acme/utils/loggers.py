"""Loggers: terminal (rate-limited), CSV, JSONL and TensorBoard.

A logger takes flat mappings of name -> value. As in acme/utils/loggers, the
terminal logger prints at most once every `time_delta` seconds, and the
file loggers write every call. `make_default_logger` combines them.
"""

import abc
import csv
import json
import numbers
import os
import sys
import time
from typing import Any, Callable, List, Optional, Sequence, TextIO

import numpy as np

from jumpy_acme import types


class Logger(abc.ABC):
  """A place to send logging data to."""

  @abc.abstractmethod
  def write(self, data: types.LoggingData) -> None:
    """Writes one row of `data`."""

  def close(self) -> None:  # noqa: B027  # Optional for subclasses.
    """Flushes and releases resources. Safe to call twice."""

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc):
    self.close()


def to_python(value: Any) -> Any:
  """Converts numpy/jax scalars and 0-d arrays to Python numbers."""
  if isinstance(value, (str, bool, int, float)) or value is None:
    return value
  array = np.asarray(value)
  if array.ndim == 0:
    return array.item()
  return array.tolist()


def _format_value(value: Any) -> str:
  value = to_python(value)
  if isinstance(value, float):
    return f'{value:.4g}' if abs(value) < 1e4 else f'{value:.6g}'
  return str(value)


class NoOpLogger(Logger):
  """Discards everything."""

  def write(self, data: types.LoggingData) -> None:
    del data


class TerminalLogger(Logger):
  """Prints rows as 'Label | key = value | ...', at most every time_delta s.

  Rows written in between are dropped from the terminal only (file loggers
  see every row). The first row is always printed.
  """

  def __init__(self, label: str = '', time_delta: float = 0.0,
               print_fn: Optional[Callable[[str], None]] = None,
               stream: Optional[TextIO] = None):
    if time_delta < 0:
      raise ValueError(f'time_delta: expected >= 0, got {time_delta}.')
    self._label = label
    self._time_delta = time_delta
    self._stream = stream or sys.stdout
    self._print = print_fn or (
        lambda s: print(s, file=self._stream, flush=True))
    self._last_time = -float('inf')

  def format(self, data: types.LoggingData) -> str:
    parts = [f'{key.replace("_", " ").title()} = {_format_value(value)}'
             for key, value in sorted(data.items())]
    prefix = f'[{self._label.title()}] ' if self._label else ''
    return prefix + ' | '.join(parts)

  def write(self, data: types.LoggingData) -> None:
    now = time.monotonic()
    if now - self._last_time >= self._time_delta:
      self._print(self.format(data))
      self._last_time = now


def _ensure_parent(path: str) -> None:
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)


class CSVLogger(Logger):
  """Writes rows to a CSV file; the first row fixes the columns.

  A later row with a key the header lacks raises ValueError naming the key
  (silently dropping a metric would hide it). Missing keys are left empty.
  Appends to an existing file with the same header (a resumed run).
  """

  def __init__(self, path: str, flush_every: int = 1):
    _ensure_parent(path)
    self.path = path
    self._flush_every = max(1, flush_every)
    self._rows = 0
    self._fields: Optional[List[str]] = None
    if os.path.exists(path) and os.path.getsize(path) > 0:
      with open(path, newline='') as f:
        self._fields = next(csv.reader(f))
    self._file = open(path, 'a', newline='')
    self._writer = None
    if self._fields is not None:
      self._writer = csv.DictWriter(self._file, fieldnames=self._fields)

  def write(self, data: types.LoggingData) -> None:
    if self._file.closed:
      raise ValueError(f'CSVLogger({self.path!r}) is closed.')
    if self._writer is None:
      self._fields = sorted(data.keys())
      self._writer = csv.DictWriter(self._file, fieldnames=self._fields)
      self._writer.writeheader()
    extra = sorted(set(data) - set(self._fields))
    if extra:
      raise ValueError(
          f'CSVLogger({self.path!r}): keys {extra} are not among the columns '
          f'fixed by the first row: {self._fields}.')
    self._writer.writerow({k: to_python(v) for k, v in data.items()})
    self._rows += 1
    if self._rows % self._flush_every == 0:
      self._file.flush()

  def close(self) -> None:
    if not self._file.closed:
      self._file.close()


class JSONLLogger(Logger):
  """Writes one JSON object per row (keys may vary between rows)."""

  def __init__(self, path: str, add_time: bool = True):
    _ensure_parent(path)
    self.path = path
    self._add_time = add_time
    self._file = open(path, 'a')

  def write(self, data: types.LoggingData) -> None:
    row = {k: to_python(v) for k, v in data.items()}
    if self._add_time:
      row.setdefault('wall_time', time.time())
    self._file.write(json.dumps(row, allow_nan=True) + '\n')
    self._file.flush()

  def close(self) -> None:
    if not self._file.closed:
      self._file.close()


class TensorBoardLogger(Logger):
  """Writes the numeric scalars of each row as TensorBoard summaries.

  The step of a row is `data[steps_key]` when present, else a running count
  of rows. Non-scalar and non-numeric values are skipped.
  """

  def __init__(self, logdir: str, label: str = '',
               steps_key: Optional[str] = None):
    # Imported here: tensorboardX is only needed by runs that use it.
    import tensorboardX  # pylint: disable=g-import-not-at-top
    self.logdir = logdir
    self._label = label
    self._steps_key = steps_key
    self._rows = 0
    self._writer = tensorboardX.SummaryWriter(logdir)

  def write(self, data: types.LoggingData) -> None:
    step = self._rows
    if self._steps_key is not None and self._steps_key in data:
      step = int(to_python(data[self._steps_key]))
    for key, value in data.items():
      value = to_python(value)
      if isinstance(value, bool) or not isinstance(value, numbers.Number):
        continue
      tag = f'{self._label}/{key}' if self._label else key
      self._writer.add_scalar(tag, value, global_step=step)
    self._writer.flush()
    self._rows += 1

  def close(self) -> None:
    self._writer.close()


class Dispatcher(Logger):
  """Sends every row to several loggers."""

  def __init__(self, loggers: Sequence[Logger],
               serialize_fn: Optional[Callable[[Any], Any]] = to_python):
    self._loggers = list(loggers)
    self._serialize = serialize_fn

  def write(self, data: types.LoggingData) -> None:
    if self._serialize is not None:
      data = {k: self._serialize(v) for k, v in data.items()}
    for logger in self._loggers:
      logger.write(data)

  def close(self) -> None:
    for logger in self._loggers:
      logger.close()


def make_default_logger(label: str, directory: Optional[str] = None,
                        time_delta: float = 1.0,
                        steps_key: Optional[str] = None,
                        file_format: str = 'jsonl',
                        tensorboard: bool = True) -> Logger:
  """A terminal logger, plus files under `directory/label` when given.

  Args:
    label: name of the stream ('learner', 'actor', 'evaluator', ...).
    directory: where `{label}/logs.{jsonl,csv}` and TensorBoard events go.
      None: terminal only.
    time_delta: seconds between two terminal prints.
    steps_key: the key that gives TensorBoard's x-axis.
    file_format: 'jsonl' or 'csv'.
    tensorboard: also write TensorBoard events.
  """
  if file_format not in ('jsonl', 'csv'):
    raise ValueError(
        f"file_format: expected 'jsonl' or 'csv', got {file_format!r}.")
  loggers: List[Logger] = [TerminalLogger(label, time_delta=time_delta)]
  if directory is not None:
    base = os.path.join(directory, label)
    if file_format == 'jsonl':
      loggers.append(JSONLLogger(os.path.join(base, 'logs.jsonl')))
    else:
      loggers.append(CSVLogger(os.path.join(base, 'logs.csv')))
    if tensorboard:
      loggers.append(TensorBoardLogger(os.path.join(base, 'tensorboard'),
                                       steps_key=steps_key))
  return Dispatcher(loggers)
