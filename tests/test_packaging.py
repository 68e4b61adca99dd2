"""The installed package: import names live under jumpy_acme only."""

import os
import subprocess
import sys
import zipfile

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.integration
def test_imports_work_outside_the_source_folder(tmp_path):
  code = ('import jumpy_acme, jumpy_acme.agents, jumpy_acme.environments, '
          'jumpy_acme.launchers\n'
          'from jumpy_acme.environments import point_mass\n'
          'assert jumpy_acme.__version__\n'
          'try:\n'
          '  import agents\n'
          'except ImportError:\n'
          '  print("ok")\n'
          'else:\n'
          '  raise SystemExit("a top-level `agents` is importable")\n')
  result = subprocess.run([sys.executable, '-c', code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          check=False)
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == 'ok'


@pytest.mark.integration
def test_wheel_puts_every_module_under_jumpy_acme(tmp_path):
  try:
    import setuptools  # noqa: F401
  except ImportError:
    pytest.fail('setuptools is needed to build the wheel (make install).')
  result = subprocess.run(
      [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
       '--no-build-isolation', '-q', '-w', str(tmp_path), _ROOT],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr
  [wheel] = [f for f in os.listdir(tmp_path) if f.endswith('.whl')]
  with zipfile.ZipFile(tmp_path / wheel) as archive:
    tops = {name.split('/')[0] for name in archive.namelist()}
    names = archive.namelist()
  assert tops == {'jumpy_acme', wheel.split('-')[0] + '-' +
                  wheel.split('-')[1] + '.dist-info'}
  for module in ('jumpy_acme/agents/__init__.py',
                 'jumpy_acme/environments/point_mass.py',
                 'jumpy_acme/launchers/pipeline_demo.py',
                 'jumpy_acme/adders/reverb/snippet.py'):
    assert module in names, module
