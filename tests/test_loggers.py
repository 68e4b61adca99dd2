"""Loggers write files that standard parsers read back."""

import csv
import json
import os

import numpy as np
import pytest

from jumpy_acme.utils import loggers


def test_csv_logger_writes_parseable_rows(tmp_path):
  path = str(tmp_path / 'logs' / 'learner.csv')
  with loggers.CSVLogger(path) as logger:
    logger.write({'step': 1, 'loss': np.float32(0.5)})
    logger.write({'step': 2, 'loss': 0.25})
  with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
  assert rows == [{'loss': '0.5', 'step': '1'}, {'loss': '0.25', 'step': '2'}]


def test_csv_logger_refuses_new_columns_and_resumes(tmp_path):
  path = str(tmp_path / 'a.csv')
  logger = loggers.CSVLogger(path)
  logger.write({'step': 1})
  with pytest.raises(ValueError, match=r"\['loss'\]"):
    logger.write({'step': 2, 'loss': 1.0})
  logger.close()
  resumed = loggers.CSVLogger(path)  # A resumed run appends, one header.
  resumed.write({'step': 3})
  resumed.close()
  with open(path, newline='') as f:
    assert [r['step'] for r in csv.DictReader(f)] == ['1', '3']


def test_jsonl_logger_writes_one_object_per_line(tmp_path):
  path = str(tmp_path / 'logs.jsonl')
  with loggers.JSONLLogger(path, add_time=False) as logger:
    logger.write({'step': np.int64(1), 'loss': np.float32(0.5)})
    logger.write({'step': 2, 'kl': 3.0})
  with open(path) as f:
    rows = [json.loads(line) for line in f]
  assert rows == [{'step': 1, 'loss': 0.5}, {'step': 2, 'kl': 3.0}]


def test_tensorboard_logger_writes_readable_scalars(tmp_path):
  from tensorboard.backend.event_processing import event_accumulator
  logdir = str(tmp_path / 'tb')
  logger = loggers.TensorBoardLogger(logdir, steps_key='step')
  logger.write({'step': 10, 'loss': 0.5, 'name': 'ignored'})
  logger.write({'step': 20, 'loss': 0.25})
  logger.close()
  acc = event_accumulator.EventAccumulator(logdir)
  acc.Reload()
  events = acc.Scalars('loss')
  assert [e.step for e in events] == [10, 20]
  np.testing.assert_allclose([e.value for e in events], [0.5, 0.25])
  assert 'name' not in acc.Tags()['scalars']


def test_terminal_logger_rate_limits_prints():
  printed = []
  logger = loggers.TerminalLogger('learner', time_delta=3600,
                                  print_fn=printed.append)
  logger.write({'steps_per_second': 12.5, 'loss': 1.0})
  logger.write({'loss': 2.0})  # Within time_delta: not printed.
  assert printed == ['[Learner] Loss = 1 | Steps Per Second = 12.5']
  every = loggers.TerminalLogger(time_delta=0, print_fn=printed.append)
  every.write({'a': 1})
  every.write({'a': 2})
  assert printed[-2:] == ['A = 1', 'A = 2']


def test_default_logger_writes_jsonl_and_tensorboard(tmp_path):
  logger = loggers.make_default_logger('actor', str(tmp_path), time_delta=0,
                                       steps_key='steps')
  logger.write({'steps': 5, 'episode_return': 3.0})
  logger.close()
  with open(tmp_path / 'actor' / 'logs.jsonl') as f:
    row = json.loads(f.readline())
  assert row['steps'] == 5 and row['episode_return'] == 3.0
  assert os.listdir(tmp_path / 'actor' / 'tensorboard')
  with pytest.raises(ValueError, match='file_format'):
    loggers.make_default_logger('x', str(tmp_path), file_format='xml')
