r"""Phase-1 data collection: scripted base behaviours -> Reverb -> disk.

Each episode runs base behaviours drawn at random (2 x 200 steps by
default, paper "Experiments"); --num_actors processes each simulate their
own scene and write K-step snippets (K+1 states, K actions, extras with the
behaviour id, episode id and step) into one Reverb server. With --output,
the launcher drains the table into a dataset on disk (format:
jumpy_acme/dataset_files.py, docs/data.md), with its statistics. With
--reverb_address, the actors join a running server's table instead (e.g. a
phase-1 learner's on-the-fly buffer).

--dmpo_policies=behaviour:DIR[,behaviour:DIR...] makes the named base
behaviours act with a DMPO policy trained on their shaped reward and saved
by train_rl.py (--method=scratch --task=<behaviour> --save_policy=DIR)
instead of their scripted controller: the policy's mean on the same 86-D
state, plus the same velocity noise, recorded under the same behaviour id.

  python -m jumpy_acme.launchers.collect --num_actors=2 --num_episodes=10 \
      --output=data/phase1
  python -m jumpy_acme.launchers.collect --num_actors=2 --num_episodes=10 \
      --dmpo_policies=lift_red:policies/lift_red --output=data/phase1_dmpo
"""

import functools
import json
import os
import sys
import time
from typing import List

from absl import app
from absl import flags
import numpy as np

from jumpy_acme import replay
from jumpy_acme.agents import scripted
from jumpy_acme.agents.experiments import collection
from jumpy_acme.environments.rgb_stacking import scene as scene_lib
from jumpy_acme.launchers import launcher_flags
from jumpy_acme.utils import versions

_NUM_ACTORS = flags.DEFINE_integer('num_actors', 2, 'Actor processes.')
_NUM_EPISODES = flags.DEFINE_integer(
    'num_episodes', None, 'Episodes to collect (or --num_steps).')
_NUM_STEPS = flags.DEFINE_integer(
    'num_steps', None, 'Environment steps to collect, rounded up to whole '
    'episodes (or --num_episodes).')
_K = flags.DEFINE_integer('K', 10, 'Actions per snippet (1: non-jumpy).')
_STRIDE = flags.DEFINE_integer('stride', 1, 'Steps between snippet starts.')
_SEED = flags.DEFINE_integer('seed', 0, 'Base seed of the actors.')
_OUTPUT = flags.DEFINE_string('output', None,
                              'Directory for the dataset on disk.')
_REVERB_ADDRESS = flags.DEFINE_string(
    'reverb_address', None, 'host:port of a running Reverb server to write '
    'to instead of starting one (no --output then).')
_TABLE = flags.DEFINE_string('table', 'snippets', 'Reverb table name.')
_SEGMENT_LENGTH = flags.DEFINE_integer('segment_length', 200,
                                       'Steps per base behaviour.')
_BEHAVIOURS_PER_EPISODE = flags.DEFINE_integer('behaviours_per_episode', 2,
                                               'Base behaviours per episode.')
_BEHAVIOURS = flags.DEFINE_list('behaviours', list(scripted.BEHAVIOURS),
                                'Base behaviours to draw from.')
_LINEAR_NOISE = flags.DEFINE_float('linear_noise', 0.01,
                                   'Velocity noise std (m/s).')
_RELEASE_RATE = flags.DEFINE_float(
    'release_rate', 0.0, 'Per carry step, the probability that a pick '
    'behaviour opens its fingers on purpose and grasps again (data with '
    "releases; 0: the paper's behaviours, which never let go mid-carry).")
_TRIPLET = flags.DEFINE_enum('triplet', 'rgb_test_random',
                             list(scene_lib.TRIPLET_NAMES),
                             'Object triplet (drawn per actor when random).')
_SHARD_SIZE = flags.DEFINE_integer('shard_size', 20_000,
                                   'Snippets per file on disk.')
_CONNECT_TIMEOUT = flags.DEFINE_float(
    'connect_timeout_s', 30.0, 'How long to wait for a Reverb server.')
_BEHAVIOUR_WEIGHTS = flags.DEFINE_list(
    'behaviour_weights', [], 'behaviour:WEIGHT pairs: relative weights of '
    'drawing each base behaviour (unnamed ones weigh 1; default: uniform, the '
    "paper's schedule), e.g. lift_red:3,red_hover_blue:3.")
_DMPO_POLICIES = flags.DEFINE_list(
    'dmpo_policies', [], 'behaviour:DIR pairs: these base behaviours act with '
    'the DMPO policy saved in DIR (train_rl.py --save_policy) instead of '
    'their scripted controller.')


def parse_dmpo_policies(values, behaviours):
  """{behaviour: absolute DIR} from --dmpo_policies, each DIR checked."""
  if not values:
    return {}  # All scripted; no JAX in this process.
  from jumpy_acme.agents.dmpo import saved_policy  # pylint: disable=g-import-not-at-top
  policies = {}
  for value in values:
    name, _, directory = value.partition(':')
    if name not in scripted.BEHAVIOURS or not directory:
      raise app.UsageError(
          '--dmpo_policies: expected behaviour:DIR pairs with behaviour one '
          f'of {list(scripted.BEHAVIOURS)}; got {value!r}.')
    if name in policies:
      raise app.UsageError(f'--dmpo_policies: {name!r} given twice.')
    if name not in behaviours:
      raise app.UsageError(f'--dmpo_policies: {name!r} is not among '
                           f'--behaviours={",".join(behaviours)}.')
    try:
      task, _ = saved_policy.read_policy_info(directory)
    except (OSError, ValueError) as e:
      raise app.UsageError(f'--dmpo_policies: {e}') from e
    if task != name:
      raise app.UsageError(f'--dmpo_policies: {directory} holds a policy for '
                           f'{task!r}, given for {name!r}.')
    policies[name] = os.path.abspath(directory)
  return policies


def parse_behaviour_weights(values, behaviours):
  """{behaviour: weight} from --behaviour_weights, each pair checked."""
  weights = {}
  for value in values:
    name, _, weight = value.partition(':')
    try:
      number = float(weight)
    except ValueError:
      number = float('nan')
    if name not in behaviours or not number >= 0:
      raise app.UsageError(
          '--behaviour_weights: expected behaviour:WEIGHT pairs with '
          f'behaviour one of --behaviours={",".join(behaviours)} and WEIGHT '
          f'>= 0; got {value!r}.')
    if name in weights:
      raise app.UsageError(f'--behaviour_weights: {name!r} given twice.')
    weights[name] = number
  if weights and not sum(weights.get(b, 1.0) for b in behaviours) > 0:
    raise app.UsageError('--behaviour_weights: every behaviour weighs 0.')
  return weights


class _Progress:
  """Prints steps, steps/s and ETA every few seconds (and drains to disk)."""

  def __init__(self, total_steps, drain=None, every_s=5.0):
    self._total = total_steps
    self._drain = drain
    self._every_s = every_s
    self._start = time.time()
    self._last = 0.0
    self.first_step_time = None

  def __call__(self, counts):
    if self._drain is not None:
      self._drain()
    steps = counts['actor_steps']
    now = time.time()
    if steps > 0 and self.first_step_time is None:
      self.first_step_time = now
    if now - self._last < self._every_s:
      return
    self._last = now
    elapsed = now - self._start
    rate = steps / max(now - (self.first_step_time or now), 1e-9)
    eta = (self._total - steps) / rate if rate > 0 else float('nan')
    print(f'[collect] {int(steps):,}/{self._total:,} steps '
          f'({int(counts["actor_episodes"])} episodes) | {rate:.1f} steps/s '
          f'| elapsed {elapsed:.0f} s | ETA {eta:.0f} s', flush=True)


class _Drain:
  """Moves snippets from the queue table into the dataset writer."""

  def __init__(self, launcher, table, writer):
    self._launcher, self._table, self._writer = launcher, table, writer
    self._client = None

  def __call__(self):
    if self._launcher.address is None:
      return
    if self._client is None:
      self._client = replay.connect(self._launcher.address)
    data = replay.drain(self._client, self._table)
    if not data:
      return
    self._writer.write(
        np.stack([d.observations for d in data]),
        np.stack([d.actions for d in data]),
        {k: np.stack([d.extras[k] for d in data]) for k in data[0].extras})


def main(argv):
  del argv
  if _OUTPUT.value and _REVERB_ADDRESS.value:
    raise app.UsageError('--output drains a table this launcher starts; it '
                         'cannot be combined with --reverb_address.')
  if not _OUTPUT.value and not _REVERB_ADDRESS.value:
    raise app.UsageError('Give --output (a dataset on disk) or '
                         '--reverb_address (write to a running server).')
  if _NUM_EPISODES.value is None and _NUM_STEPS.value is None:
    raise app.UsageError('Give --num_episodes or --num_steps.')
  dmpo_policies = parse_dmpo_policies(_DMPO_POLICIES.value, _BEHAVIOURS.value)
  behaviour_weights = parse_behaviour_weights(_BEHAVIOUR_WEIGHTS.value,
                                              _BEHAVIOURS.value)
  config = scripted.ScriptedConfig(
      segment_length=_SEGMENT_LENGTH.value,
      behaviours_per_episode=_BEHAVIOURS_PER_EPISODE.value,
      linear_noise=_LINEAR_NOISE.value, release_rate=_RELEASE_RATE.value)
  plan = collection.CollectionPlan.make(
      _NUM_EPISODES.value, _NUM_STEPS.value,
      config.behaviours_per_episode * config.segment_length)
  writer = None
  done: List[int] = []
  if _OUTPUT.value:
    from jumpy_acme import dataset_files  # pylint: disable=g-import-not-at-top
    from jumpy_acme.environments.rgb_stacking import events  # pylint: disable=g-import-not-at-top
    kept = {}
    if not os.path.exists(os.path.join(_OUTPUT.value,
                                       dataset_files.MANIFEST)) and (
        os.path.isdir(os.path.join(_OUTPUT.value, dataset_files.PARTIAL)) or
        (os.path.isdir(_OUTPUT.value) and any(
            n.startswith('shard-') for n in os.listdir(_OUTPUT.value)))):
      # An interrupted run: episodes reproduce from (--seed, number), so
      # keep its whole episodes and run only the others.
      per_episode = (plan.episode_length - _K.value) // _STRIDE.value + 1
      kept, done = dataset_files.recover_partial(_OUTPUT.value, per_episode)
      done = [e for e in done if e < plan.episodes]
      print(f'[collect] Resuming {_OUTPUT.value}: {len(done)} whole '
            'episodes kept from the interrupted run.', flush=True)
    writer = dataset_files.SnippetWriter(_OUTPUT.value, _K.value,
                                         _SHARD_SIZE.value,
                                         events=events.snippet_events)
    if kept:
      keep = np.isin(kept['extras_episode'][:, 0], done)
      writer.write(kept['observations'][keep], kept['actions'][keep],
                   {k[len('extras_'):]: v[keep] for k, v in kept.items()
                    if k.startswith('extras_')})
      writer.flush()
    dataset_files.discard_partial(_OUTPUT.value)
    spec, extras_spec = collection.environment_spec_and_extras(
        episode_length=plan.episode_length)
    make = dict(tables=functools.partial(
        collection.queue_tables, _TABLE.value, spec, _K.value, extras_spec))
  else:
    make = dict(reverb_address=_REVERB_ADDRESS.value,
                connect_timeout_s=_CONNECT_TIMEOUT.value)
  try:
    launcher = launcher_flags.make(counter_keys=collection.COUNTER_KEYS,
                                   **make)
  except (ValueError, ImportError) as e:
    raise app.UsageError(f'--{e}') from e
  launcher.add_workers(
      'actor', collection.collection_worker, num=_NUM_ACTORS.value,
      resources=launcher_flags.actor(),
      seed=_SEED.value, table=_TABLE.value, K=_K.value,
      max_episodes=plan.episodes, stride=_STRIDE.value,
      config=vars(config), behaviours=tuple(_BEHAVIOURS.value),
      triplet=_TRIPLET.value, connect_timeout_s=_CONNECT_TIMEOUT.value,
      dmpo_policies=dmpo_policies, behaviour_weights=behaviour_weights,
      episode_seed=_SEED.value, skip_episodes=done)
  drain = _Drain(launcher, _TABLE.value, writer) if writer else None
  progress = _Progress(plan.steps, drain)
  print(f'[collect] {plan.episodes} episodes x {plan.episode_length} steps '
        f'with {_NUM_ACTORS.value} actors, K={_K.value}.', flush=True)
  start = time.time()
  to_run = plan.episodes - len(done)
  counts = launcher.run(stop_when=lambda c: c['actor_episodes'] >= to_run,
                        on_poll=progress)
  elapsed = time.time() - start
  summary = {'episodes': int(counts['actor_episodes']) + len(done),
             'resumed_episodes': len(done),
             'steps': int(counts['actor_steps']), 'seconds': elapsed,
             'restarts': launcher.restarts,
             'interrupted': launcher.interrupted}
  if launcher.interrupted:
    print('[collect] Interrupted: the dataset was not sealed (no manifest); '
          'run the same command again to resume it (its whole episodes are '
          'kept).', flush=True)
    sys.exit(130)
  if writer is not None:
    if summary['episodes'] < plan.episodes:
      print(f'[collect] Only {summary["episodes"]} of {plan.episodes} '
            'episodes completed (an actor died mid-episode); sealing what '
            'was collected.', flush=True)
    path = writer.close({
        'seed': _SEED.value, 'num_actors': _NUM_ACTORS.value, 'K': _K.value,
        'stride': _STRIDE.value, 'behaviours': list(_BEHAVIOURS.value),
        'behaviour_names': list(scripted.BEHAVIOURS),
        'scripted_config': vars(config), 'dmpo_policies': dmpo_policies,
        'behaviour_weights': behaviour_weights,
        'action_spec': {'minimum': np.asarray(spec.actions.minimum).tolist(),
                        'maximum': np.asarray(spec.actions.maximum).tolist()},
        'triplet': _TRIPLET.value,
        'versions': versions.package_versions(), **summary})
    size = sum(os.path.getsize(os.path.join(_OUTPUT.value, f))
               for f in os.listdir(_OUTPUT.value))
    summary.update(items=writer.num_items, bytes=size, manifest=path)
    with open(path) as f:
      for name, event in json.load(f)['events'].items():
        print(f'[collect] snippets with {name}: {event["count"]:,} '
              f'({100 * event["fraction"]:.2f} %)')
  print(f'[collect] done: {summary["steps"]:,} steps in {elapsed:.0f} s '
        f'({summary["steps"] / max(elapsed, 1e-9):.1f} steps/s overall).')
  print(json.dumps(summary))


if __name__ == '__main__':
  app.run(main)
