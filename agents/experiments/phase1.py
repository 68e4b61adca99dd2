"""Phase-1 programs: the skill-VAE learner from a dataset or a live table.

`make_learner_from_dataset`: a snippet dataset on disk -> prefetching
batches -> SkillVAELearner (statistics: the training split's).
`onthefly_learner_worker`: a launcher process body that learns from an
on-the-fly Reverb table while collection actors fill it (paper, footnote 3);
its statistics come from the first `stats_snippets` snippets sampled.

The learner itself knows nothing of RGB-stacking: this program gives it the
action scale (from the environment's action spec) and the state groups its
metrics are reported for (from the environment's layout).
"""

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import jax
import numpy as np

from jumpy_acme import dataset_files
from jumpy_acme import datasets
from jumpy_acme.agents.skill_vae import config as config_lib
from jumpy_acme.agents.skill_vae import learning
from jumpy_acme.agents.skill_vae import losses
from jumpy_acme.agents.skill_vae import networks as networks_lib
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers


def action_scale(action_spec) -> np.ndarray:
  """max(|minimum|, |maximum|) per action dimension of a BoundedArray spec:
  the decoder's actions are the scaled actions a / scale in [-1, 1]."""
  if not hasattr(action_spec, 'minimum'):
    raise ValueError('action_spec: expected a bounded spec (with minimum and '
                     f'maximum), got {action_spec!r}.')
  scale = np.maximum(np.abs(np.broadcast_to(action_spec.minimum,
                                            action_spec.shape)),
                     np.abs(np.broadcast_to(action_spec.maximum,
                                            action_spec.shape)))
  if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
    raise ValueError('action_spec: expected finite bounds not both zero, got '
                     f'minimum {action_spec.minimum}, maximum '
                     f'{action_spec.maximum}.')
  return scale.astype(np.float32)


def rgb_stacking_action_spec():
  """RGB-stacking's action spec, without building a simulator."""
  from dm_env import specs  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import constants  # pylint: disable=g-import-not-at-top
  return specs.BoundedArray((5,), np.float32, constants.ACTION_MINIMUM,
                            constants.ACTION_MAXIMUM, 'action')


def rgb_stacking_state_groups() -> Dict[str, Sequence[int]]:
  """RGB-stacking's state groups (arm, gripper, red, green, blue)."""
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  return {group: layout.LAYOUT.indices(group)
          for group in layout.LAYOUT.groups}


def state_indices(parts: Sequence[str],
                  field: str = 'action_input_hidden') -> Tuple[int, ...]:
  """RGB-stacking state indices of named parts (layout.PARTS names, or
  their '_pos', '_quat', '_linear', '_angular' slices), sorted; an unknown
  name raises ValueError naming `field`."""
  from jumpy_acme.environments.rgb_stacking import layout  # pylint: disable=g-import-not-at-top
  out = set()
  for part in parts:
    part = part.strip()
    if not part:
      continue
    try:
      piece = layout.LAYOUT[part]
    except KeyError as e:
      raise ValueError(f'{field}: {e.args[0]}') from None
    out.update(range(piece.start, piece.stop))
  return tuple(sorted(out))


def make_learner_from_dataset(
    config: config_lib.SkillVAEConfig,
    dataset: dataset_files.SnippetDataset,
    action_spec,
    logger: Optional[loggers.Logger] = None,
    checkpoint_dir: Optional[str] = None,
    counter: Optional[counting.Counter] = None,
    state_groups: Optional[Mapping[str, Sequence[int]]] = None,
    num_devices: int = 1
) -> learning.SkillVAELearner:
  """A learner over `dataset` (already split; its statistics are used).

  Args:
    config: the phase-1 config.
    dataset: the training snippets.
    action_spec: the environment's bounded action spec (the action scale).
    logger, checkpoint_dir, counter: the learner's.
    state_groups: name -> state indices for per-group metrics.
    num_devices: local devices each batch is split over.
  """
  learning.check_batch(config, dataset.observations[:1], dataset.actions[:1])
  per_step = config.batch_size * config.sgd_steps_per_step
  source = dataset.iterator(per_step, seed=config.seed)
  iterator = datasets.PrefetchIterator(
      source, buffer_size=4,
      transform=jax.device_put if num_devices == 1 else None)
  normalization = losses.Normalization.from_statistics(
      dataset.statistics, action_scale(action_spec))
  return learning.SkillVAELearner(
      networks_lib.make_networks(config), iterator, normalization,
      logger=logger, counter=counter, checkpoint_dir=checkpoint_dir,
      wait_seconds_fn=lambda: iterator.wait_seconds,
      state_groups=state_groups, num_devices=num_devices)


def onthefly_learner_worker(context, *, config: Dict[str, Any], table: str,
                            num_steps: int, log_dir: Optional[str] = None,
                            checkpoint_dir: Optional[str] = None,
                            stats_snippets: int = 2000) -> None:
  """Learns from a live RGB-stacking table (NOT jittable: a process body)."""
  config = config_lib.SkillVAEConfig(**config)
  sample = datasets.make_dataset_iterator(context.reverb_address, table,
                                          batch_size=stats_snippets)
  first = next(sample).data
  sample.close()
  normalization = losses.Normalization.from_statistics(
      dataset_files.statistics(np.asarray(first.observations)),
      action_scale(rgb_stacking_action_spec()))
  iterator = datasets.make_dataset_iterator(
      context.reverb_address, table,
      batch_size=config.batch_size * config.sgd_steps_per_step,
      prefetch_size=4, device_put=True)
  logger = loggers.make_default_logger('learner', log_dir, time_delta=5.0,
                                       steps_key='steps')
  learner = learning.SkillVAELearner(
      networks_lib.make_networks(config), iterator, normalization,
      logger=logger, checkpoint_dir=checkpoint_dir,
      wait_seconds_fn=lambda: iterator.wait_seconds,
      state_groups=rgb_stacking_state_groups())
  for _ in range(num_steps):
    if context.stop.is_set():
      break
    learner.step()
    context.counter.increment(learner_steps=1)
  learner.checkpoint()
  logger.close()
  iterator.close()
