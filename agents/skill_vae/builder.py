"""Assembling the phase-1 learner from a dataset or from a live table.

`make_learner_from_dataset`: a snippet dataset on disk -> prefetching
batches -> SkillVAELearner (statistics: the training split's).
`onthefly_learner_worker`: a launcher process body that learns from an
on-the-fly Reverb table while collection actors fill it (paper, footnote 3);
its statistics come from the first `stats_snippets` snippets sampled.
"""

from typing import Any, Dict, Optional

import jax
import numpy as np

from jumpy_acme import dataset_files
from jumpy_acme import datasets
from jumpy_acme.agents.skill_vae import config as config_lib
from jumpy_acme.agents.skill_vae import learning
from jumpy_acme.agents.skill_vae import losses
from jumpy_acme.agents.skill_vae import networks as networks_lib
from jumpy_acme.environments.rgb_stacking import scene as scene_lib
from jumpy_acme.utils import counting
from jumpy_acme.utils import loggers

ACTION_SCALE = np.maximum(np.abs(scene_lib.ACTION_MIN),
                          np.abs(scene_lib.ACTION_MAX))


def make_learner_from_dataset(config: config_lib.SkillVAEConfig,
                              dataset: dataset_files.SnippetDataset,
                              logger: Optional[loggers.Logger] = None,
                              checkpoint_dir: Optional[str] = None,
                              counter: Optional[counting.Counter] = None,
                              action_scale=ACTION_SCALE
                              ) -> learning.SkillVAELearner:
  """A learner over `dataset` (already split; its statistics are used)."""
  learning.check_batch(config, dataset.observations[:1], dataset.actions[:1])
  per_step = config.batch_size * config.sgd_steps_per_step
  source = dataset.iterator(per_step, seed=config.seed)
  iterator = datasets.PrefetchIterator(source, buffer_size=4,
                                       transform=jax.device_put)
  normalization = losses.Normalization.from_statistics(
      dataset.statistics, action_scale)
  return learning.SkillVAELearner(
      networks_lib.make_networks(config), iterator, normalization,
      logger=logger, counter=counter, checkpoint_dir=checkpoint_dir,
      wait_seconds_fn=lambda: iterator.wait_seconds)


def onthefly_learner_worker(context, *, config: Dict[str, Any], table: str,
                            num_steps: int, log_dir: Optional[str] = None,
                            checkpoint_dir: Optional[str] = None,
                            stats_snippets: int = 2000) -> None:
  """Learns from a live table (NOT jittable: a process body)."""
  config = config_lib.SkillVAEConfig(**config)
  sample = datasets.make_dataset_iterator(context.reverb_address, table,
                                          batch_size=stats_snippets)
  first = next(sample).data
  sample.close()
  normalization = losses.Normalization.from_statistics(
      dataset_files.statistics(np.asarray(first.observations)), ACTION_SCALE)
  iterator = datasets.make_dataset_iterator(
      context.reverb_address, table,
      batch_size=config.batch_size * config.sgd_steps_per_step,
      prefetch_size=4, device_put=True)
  logger = loggers.make_default_logger('learner', log_dir, time_delta=5.0,
                                       steps_key='steps')
  learner = learning.SkillVAELearner(
      networks_lib.make_networks(config), iterator, normalization,
      logger=logger, checkpoint_dir=checkpoint_dir,
      wait_seconds_fn=lambda: iterator.wait_seconds)
  for _ in range(num_steps):
    if context.stop.is_set():
      break
    learner.step()
    context.counter.increment(learner_steps=1)
  learner.checkpoint()
  logger.close()
  iterator.close()
