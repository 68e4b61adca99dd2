"""The launchers' choice of XLA CPU runtime."""

import os

from jumpy_acme.utils import xla_flags


def test_adds_the_legacy_runtime_once_and_keeps_a_users_choice(monkeypatch):
  monkeypatch.setenv('XLA_FLAGS', '--xla_dump_to=/tmp/x')
  assert xla_flags.prefer_legacy_cpu_runtime()
  assert xla_flags.prefer_legacy_cpu_runtime() is False  # Already there.
  assert os.environ['XLA_FLAGS'] == (
      '--xla_dump_to=/tmp/x --xla_cpu_use_thunk_runtime=false')
  monkeypatch.setenv('XLA_FLAGS', '--xla_cpu_use_thunk_runtime=true')
  assert xla_flags.prefer_legacy_cpu_runtime() is False
  assert os.environ['XLA_FLAGS'] == '--xla_cpu_use_thunk_runtime=true'
  monkeypatch.delenv('XLA_FLAGS')
  assert xla_flags.prefer_legacy_cpu_runtime()
  assert os.environ['XLA_FLAGS'] == '--xla_cpu_use_thunk_runtime=false'
