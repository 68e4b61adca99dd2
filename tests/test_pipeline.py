"""launchers/pipeline.py: stages, resumption, and (slow) the whole job."""

import subprocess
import sys

from absl import app
from absl import flags
import pytest

from jumpy_acme.launchers import pipeline


def test_finished_stages_are_skipped_and_failures_name_the_stage(
    tmp_path, capsys):
  flags.FLAGS(['pipeline'])  # Parse defaults for the launcher's flags.
  (tmp_path / '.collect.done').write_text('{}')
  pipeline._stage('collect', ['no_such_launcher'], str(tmp_path))  # pylint: disable=protected-access
  assert 'collect: done in an earlier run, skipped' in capsys.readouterr().out
  with pytest.raises(SystemExit, match='phase1_k1 failed'):
    pipeline._stage('phase1_k1', ['no_such_launcher'], str(tmp_path))  # pylint: disable=protected-access
  assert not (tmp_path / '.phase1_k1.done').exists()


def test_scales_grow_from_smoke_to_paper():
  smoke, small, paper = (pipeline.SCALES[n]
                         for n in ('smoke', 'small', 'paper'))
  for field in ('collect_episodes', 'k10_steps', 'k1_steps', 'episodes'):
    assert (getattr(smoke, field) < getattr(small, field)
            < getattr(paper, field)), field
  assert paper.episodes == 50 and len(paper.tasks.split(',')) == 9


def test_phase1_flags_extend_the_scale_and_bad_ones_are_named():
  flags.FLAGS(['pipeline', '--phase1_flags=--free_bits=0.5,--beta_a=10'])
  try:
    scale = pipeline._override(pipeline.SCALES['reference'])  # pylint: disable=protected-access
    assert scale.phase1_flags[-2:] == ('--free_bits=0.5', '--beta_a=10')
    assert scale.k10_steps == pipeline.SCALES['reference'].k10_steps
    flags.FLAGS(['pipeline', '--phase1_flags=free_bits=0.5'])
    with pytest.raises(app.UsageError, match="phase1_flags.*'free_bits=0.5'"):
      pipeline._override(pipeline.SCALES['reference'])  # pylint: disable=protected-access
  finally:
    flags.FLAGS(['pipeline', '--phase1_flags='])


@pytest.mark.slow
def test_smoke_scale_runs_every_stage(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'jumpy_acme.launchers.pipeline',
       '--scale=smoke', f'--output_dir={tmp_path}'],
      capture_output=True, text=True, timeout=1800, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert '| reach_red |' in result.stdout
  for stage in ('collect', 'phase1_k1', 'phase1_k10', 'evaluate'):
    assert (tmp_path / f'.{stage}.done').exists()
