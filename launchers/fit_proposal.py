r"""Fits a phase-1 model's aggregate posterior, the planner's other proposal.

  C=pretrained/candidates/hide_dynamics_gripper_free_bits_0.5
  python -m jumpy_acme.launchers.fit_proposal --checkpoint=$C/k10 \
      --dataset=results/reference_fb05/data_k10

Encodes --snippets snippets of the dataset (drawn with --seed) and writes
<checkpoint>/aggregate_posterior.json: the mean and standard deviation of
the diagonal Gaussian moment-matched to q(z) = E_data[q(z | s_t:t+K)], with
the model's fingerprint, the dataset and the draw. `skill_vae.load` then
attaches it to the model, and `--proposal=aggregate_posterior` (evaluate,
figure2, every launcher with the planner's flags) draws the first CEM
iteration's skills from it instead of the paper's N(0, I). A model
retrained or replaced in that directory no longer gets it.
"""

from absl import app
from absl import flags
import numpy as np

from jumpy_acme import dataset_files
from jumpy_acme.agents import skill_vae

_CHECKPOINT = flags.DEFINE_string(
    'checkpoint', None, 'Phase-1 checkpoint directory or exported model.')
_DATASET = flags.DEFINE_string(
    'dataset', None, 'Its training data (snippets of K >= the model\'s; '
    'the first K steps are used).')
_SNIPPETS = flags.DEFINE_integer('snippets', 20000,
                                 'Snippets to encode (all if fewer).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds the draw of snippets.')


def main(argv):
  del argv
  for flag in (_CHECKPOINT, _DATASET):
    if not flag.value:
      raise app.UsageError(f'--{flag.name}: required.')
  if _SNIPPETS.value < 2:
    raise app.UsageError(f'--snippets: expected >= 2, got {_SNIPPETS.value}.')
  model = skill_vae.load(_CHECKPOINT.value)
  data = dataset_files.load(_DATASET.value)
  if data.K < model.K:
    raise app.UsageError(f'--dataset: expected snippets of K >= the model\'s '
                         f'K = {model.K}, got K = {data.K} in '
                         f'{_DATASET.value!r}.')
  if data.K > model.K:  # A K = 1 model from the K = 10 data it trained on.
    data = data.with_K(model.K)
  count = min(_SNIPPETS.value, len(data))
  index = np.sort(np.random.default_rng(_SEED.value).choice(
      len(data), count, replace=False))
  posterior = skill_vae.fit_aggregate_posterior(model,
                                                data.observations[index])
  path = skill_vae.save_aggregate_posterior(
      _CHECKPOINT.value, posterior,
      {'dataset': _DATASET.value, 'snippets': int(count),
       'seed': _SEED.value, 'step': model.step})
  std = np.asarray(posterior.std)
  print(f'{path}: {count} snippets; std per dimension median '
        f'{np.median(std):.3f} (min {std.min():.3f}, max {std.max():.3f}); '
        f'|mean| max {np.abs(np.asarray(posterior.mean)).max():.3f}; the '
        'prior N(0, I) has std 1 and mean 0.')


if __name__ == '__main__':
  app.run(main)
