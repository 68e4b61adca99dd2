"""Phase-1 data collection: the actor process of the local launcher.

Each process builds its own RGB-stacking simulator and writes snippets of
the behaviour schedule through the SnippetAdder into a Reverb table. It
claims episodes from the shared counter before running them, so a program
runs exactly `max_episodes` episodes however many actors share the work.
Behaviours named in `dmpo_policies` act with the DMPO policy saved in the
given directory (agents/dmpo/saved_policy.py), loaded in each process.
Counter keys used: episodes_claimed, actor_episodes, actor_steps.

Episodes reproduce: episode n's objects (for a random triplet set), initial
state, behaviour schedule and noise are drawn from (episode_seed, n) alone,
whichever actor runs it; the actor keeps one simulator per triplet it has
met. (An episode an actor was killed in is lost, not rerun.)
"""

import dataclasses
from typing import Any, Dict, Optional, Sequence

import numpy as np

from jumpy_acme import environment_loop
from jumpy_acme import replay
from jumpy_acme import specs
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents.scripted import acting
from jumpy_acme.agents.scripted import behaviours as behaviours_lib
from jumpy_acme.agents.scripted import config as config_lib
from jumpy_acme.utils import loggers

COUNTER_KEYS = ('episodes_claimed', 'actor_episodes', 'actor_steps')


class _StepCounter(environment_loop.EnvLoopObserver):
  """Adds steps to the shared counter every `every` steps (for progress)."""

  def __init__(self, counter, every: int = 20):
    self._counter, self._every, self._pending = counter, every, 0

  def observe_first(self, env, timestep):
    del env, timestep

  def observe(self, env, timestep, action):
    del env, timestep, action
    self._pending += 1
    if self._pending >= self._every:
      self._counter.increment(actor_steps=self._pending)
      self._pending = 0

  def get_metrics(self) -> Dict[str, Any]:
    if self._pending:
      self._counter.increment(actor_steps=self._pending)
      self._pending = 0
    return {}


def environment_spec_and_extras(task: str = 'reach_red', **env_options):
  """The spec of the collected data, without building a simulator twice."""
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  env = environments.make(task, **env_options)
  return specs.make_environment_spec(env), acting.extras_spec()


def queue_tables(table: str, spec, K: int, extras_spec):  # noqa: N803
  """[the queue table collection writes to]: a picklable table factory, so
  that the Ray launcher can build it where the server runs."""
  return [replay.queue_table(table, spec, K, extras_spec)]


def collection_worker(context, *, table: str, K: int,  # noqa: N803
                      max_episodes: int, stride: int = 1,
                      config: Optional[Dict[str, Any]] = None,
                      behaviours: Sequence[str] = behaviours_lib.BEHAVIOURS,
                      triplet: str = 'rgb_test_random',
                      connect_timeout_s: float = 30.0,
                      dmpo_policies: Optional[Dict[str, str]] = None,
                      behaviour_weights: Optional[Dict[str, float]] = None,
                      episode_seed: int = 0,
                      skip_episodes: Sequence[int] = ()) -> None:
  """Runs claimed episodes until `max_episodes` are claimed or a stop.

  NOT jittable: a process body. `context` is a launcher.WorkerContext.
  `dmpo_policies`: behaviour name -> directory of a saved DMPO policy that
  acts for that behaviour (its mean, plus the scripted behaviours' noise).
  `behaviour_weights`: behaviour name -> relative weight of drawing it
  (acting.BehaviourScheduleActor). `episode_seed`: the program's seed, with
  each episode's number the seed of all its draws. `skip_episodes`: episode
  numbers a resumed run already has (claimed and passed over).
  """
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import scene as scene_lib  # pylint: disable=g-import-not-at-top
  config = config_lib.ScriptedConfig(**(config or {}))
  episode_length = config.behaviours_per_episode * config.segment_length
  envs = {}

  def env_for(objects):
    if objects not in envs:  # One simulator per triplet met (~1.5 s each).
      envs[objects] = environments.make('reach_red', triplet=objects,
                                        episode_length=episode_length)
    return envs[objects]

  spec = specs.make_environment_spec(env_for(
      scene_lib.resolve_triplet(triplet, np.random.default_rng(context.seed))))
  policies = {}
  if dmpo_policies:
    from jumpy_acme.agents.dmpo import saved_policy  # pylint: disable=g-import-not-at-top
    for name, directory in dmpo_policies.items():
      policies[name], _ = saved_policy.load_policy(directory, spec)
  client = replay.connect(context.reverb_address, connect_timeout_s)
  adder = reverb_adders.SnippetAdder(
      client, K=K, environment_spec=spec, table=table, stride=stride,
      extras_spec=acting.extras_spec())
  actor = acting.BehaviourScheduleActor(config, adder, seed=context.seed,
                                        actor_id=context.index,
                                        behaviours=behaviours,
                                        policies=policies,
                                        behaviour_weights=behaviour_weights)
  observers = [_StepCounter(context.counter)]
  skip = set(int(e) for e in skip_episodes)
  try:
    while not context.stop.is_set():
      claimed = context.counter.increment(episodes_claimed=1)
      if claimed['episodes_claimed'] > max_episodes:
        break
      episode = int(claimed['episodes_claimed']) - 1
      if episode in skip:
        continue
      draws = np.random.default_rng([episode_seed, episode])
      env = env_for(scene_lib.resolve_triplet(triplet, draws))
      env.reseed(int(draws.integers(2**31)))
      actor.reseed(int(draws.integers(2**31)))
      actor.next_episode_id = episode
      environment_loop.EnvironmentLoop(
          env, actor, logger=loggers.NoOpLogger(),
          observers=observers).run_episode()
      context.counter.increment(actor_episodes=1)
  finally:
    adder.close()


@dataclasses.dataclass
class CollectionPlan:
  """How many episodes a collection runs, from steps or episodes."""
  episodes: int
  episode_length: int

  @classmethod
  def make(cls, num_episodes: Optional[int], num_steps: Optional[int],
           episode_length: int) -> 'CollectionPlan':
    if (num_episodes is None) == (num_steps is None):
      raise ValueError('Give exactly one of num_episodes and num_steps; got '
                       f'num_episodes={num_episodes}, num_steps={num_steps}.')
    if num_episodes is not None:
      if num_episodes < 1:
        raise ValueError(f'num_episodes: expected >= 1, got {num_episodes}.')
      return cls(num_episodes, episode_length)
    if num_steps < 1:
      raise ValueError(f'num_steps: expected >= 1, got {num_steps}.')
    return cls(-(-num_steps // episode_length), episode_length)

  @property
  def steps(self) -> int:
    return self.episodes * self.episode_length
