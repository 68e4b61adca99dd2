"""A phase-2 run as a local distributed program (Acme's distributed layout).

  Reverb server: DMPO's n-step replay (rate-limited) and variable tables;
                 with finetuning also a table of skill transitions and the
                 model's variable table.
  actors (N):    environment (primitive, or SkillEnvironment over z) ->
                 DMPO actor, or the planning actor -> adders.
  learner:       DMPOLearner, publishes pi.
  finetuner:     (finetune only) JumpyFinetuner, publishes the model.
  evaluator:     every `eval_every` environment steps, `eval_episodes`
                 episodes with the current parameters (pi's mean, or the
                 planner with pi as its proposal); one CSV/JSONL row each.
The shared counter counts primitive environment steps, so every method's
curve has the same x axis. Worker functions run in their own processes
(NOT pure: process bodies).
"""

import dataclasses
import functools
import json
import os
import shutil
import time
import typing
from typing import Any, Callable, Dict, List, Optional

import jax
import numpy as np
import reverb

from jumpy_acme import checkpointing
from jumpy_acme import environment_loop
from jumpy_acme import replay
from jumpy_acme import specs
from jumpy_acme import variables
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents import dmpo
from jumpy_acme.agents.harnessing import acting
from jumpy_acme.agents.harnessing import config as config_lib
from jumpy_acme.agents.harnessing import critic_features
from jumpy_acme.agents.harnessing import environment as skill_env
from jumpy_acme.agents.harnessing import finetune
from jumpy_acme.launcher import LocalLauncher
from jumpy_acme.utils import loggers

# The replay tables' checkpoints (output_dir/REPLAY_DIR), written every
# REPLAY_CHECKPOINT_EVERY_S seconds and when the run stops: a resumed run
# samples what the stopped one had, not a buffer refilled from empty.
REPLAY_DIR = 'replay'
REPLAY_CHECKPOINT_EVERY_S = 600.0
# The finetuned jumpy decoder's checkpoints (+ Finetune), output_dir/this.
FINETUNER_DIR = 'finetuner'
# One row per actor episode: actor, env_steps, episode_return (sampled
# skills or actions: the behaviour policy), episode_length.
ACTORS_LOG = 'actors.jsonl'
COUNTER_KEYS = ('env_steps', 'actor_episodes', 'learner_steps',
                'finetune_steps', 'evaluations')
MODEL_TABLE = 'model_transitions'
MODEL_VARIABLES = 'model_variables'


@dataclasses.dataclass
class _Parts:
  """What every process builds from the config."""
  environment: object
  spec: specs.EnvironmentSpec
  networks: dmpo.DMPONetworks
  phase1: Optional[Any] = None  # The phase-1 skill_vae.SkillModel.


def _environment(config: config_lib.HarnessingConfig, seed: int, phase1):
  """The task's environment, seen through the skills for skill methods."""
  from jumpy_acme import environments  # pylint: disable=g-import-not-at-top
  env = environments.make(config.task, seed=seed,
                          episode_length=config.episode_length)
  if config.uses_skills:
    env = skill_env.SkillEnvironment(
        env, phase1.decode_action, phase1.latent_size,
        config.actions_per_latent, config.latent_scale)
  return env


def _parts(config: config_lib.HarnessingConfig, seed: int) -> _Parts:
  phase1 = None
  if config.uses_skills:
    from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
    phase1 = model_lib.load(config.phase1_checkpoint)
  env = _environment(config, seed, phase1)
  spec = specs.make_environment_spec(env)
  features = critic_features.make(config.critic_features, phase1,
                                  config.latent_scale)
  return _Parts(env, spec, dmpo.make_networks(spec, config.dmpo, features),
                phase1)


class _EnvSteps(environment_loop.EnvLoopObserver):
  """Adds each step's primitive environment steps to the program's counter
  (a skill step of a SkillEnvironment is actions_per_latent of them)."""

  def __init__(self, counter):
    self._counter = counter
    self._last = None

  def observe_first(self, env, timestep):
    del timestep
    self._last = getattr(env, 'primitive_steps', None)

  def observe(self, env, timestep, action):
    del timestep, action
    now = getattr(env, 'primitive_steps', None)
    self._counter.increment(env_steps=1 if now is None else now - self._last)
    self._last = now

  def get_metrics(self):
    return {}


class _Return(environment_loop.EnvLoopObserver):
  """The episode's undiscounted return, summed in float64."""

  def __init__(self):
    self.value = 0.0

  def observe_first(self, env, timestep):
    del env, timestep
    self.value = 0.0

  def observe(self, env, timestep, action):
    del env, action
    self.value += float(timestep.reward)

  def get_metrics(self):
    return {}


def _planning_policy(config, parts: _Parts):
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top
  return acting.make_planning_policy(
      parts.phase1, parts.networks, rewards.jax_reward(config.task),
      config.planner, config.latent_scale)


class _Tee:
  """Forwards an actor's experience to several adders."""

  def __init__(self, *adders):
    self._adders = adders

  def add_first(self, timestep):
    for adder in self._adders:
      adder.add_first(timestep)

  def add(self, action, next_timestep, extras=()):
    for adder in self._adders:
      adder.add(action, next_timestep, extras)

  def reset(self):
    for adder in self._adders:
      adder.reset()


def _policy_source(client, parts, config, update_period: int = 1):
  template = parts.networks.policy_init(jax.random.PRNGKey(0))
  return variables.VariableClient(client, {'policy': template},
                                  table=config.dmpo.variable_table_name,
                                  update_period=update_period)


def actor_worker(context, config: config_lib.HarnessingConfig,
                 output_dir: Optional[str] = None):
  """Collects experience until the budget of environment steps is spent;
  with output_dir, one row per episode goes to output_dir/ACTORS_LOG (the
  behaviour policy's return, beside the evaluator's greedy one)."""
  parts = _parts(config, seed=context.seed)
  client = replay.connect(context.reverb_address)
  builder = dmpo.DMPOBuilder(config.dmpo)
  adder = builder.make_adder(client, parts.spec, None)
  key = jax.random.PRNGKey(context.seed)
  if config.plans:
    # One update() per skill step, as a skill method's DMPO actor.
    period = config.dmpo.variable_update_period
    model_client = None
    if config.finetunes:
      adder = _Tee(adder, reverb_adders.NStepTransitionAdder(
          client, n_step=1, discount=1.0, environment_spec=parts.spec,
          table=MODEL_TABLE))
      model_client = variables.VariableClient(
          client, {'model': parts.phase1.params}, table=MODEL_VARIABLES,
          update_period=period)
    actor = acting.PlanningActor(
        _planning_policy(config, parts), key,
        _policy_source(client, parts, config, period), parts.phase1.params,
        model_client, adder)
  else:
    source = _policy_source(client, parts, config)
    actor = builder.make_actor(key, builder.make_policy(parts.networks,
                                                        parts.spec),
                               parts.spec, source, adder)
  loop = environment_loop.EnvironmentLoop(
      parts.environment, actor, logger=loggers.NoOpLogger(),
      observers=[_EnvSteps(context.counter)])
  log = (loggers.JSONLLogger(os.path.join(output_dir, ACTORS_LOG))
         if output_dir is not None else loggers.NoOpLogger())
  while (not context.stop.is_set() and
         context.counter.get_counts()['env_steps'] < config.env_steps):
    row = loop.run_episode()
    counts = context.counter.increment(actor_episodes=1)
    log.write({'actor': context.index, 'env_steps': counts['env_steps'],
               'episode_return': row['episode_return'],
               'episode_length': row['episode_length'],
               'steps_per_second': row['steps_per_second']})
  log.close()


def _batches(context, table: str, batch_size: int):
  """Batches from `table` until the program stops. A dataset whose rate
  limiter blocks for 2 s ends (so a stop is noticed) and is reopened."""
  from jumpy_acme import datasets  # pylint: disable=g-import-not-at-top
  while not context.stop.is_set():
    yield from datasets.make_dataset_iterator(
        context.reverb_address, table, batch_size, device_put=True,
        rate_limiter_timeout_ms=2000)


def learner_worker(context, config: config_lib.HarnessingConfig,
                   output_dir: str):
  """DMPO's learner: steps until the program stops, then checkpoints."""
  parts = _parts(config, seed=context.seed)
  client = replay.connect(context.reverb_address)
  builder = dmpo.DMPOBuilder(config.dmpo,
                             checkpoint_dir=os.path.join(output_dir,
                                                         'learner'),
                             num_devices=config.num_devices)
  jsonl = os.path.join(output_dir, 'learner.jsonl')
  learner = builder.make_learner(
      jax.random.PRNGKey(context.seed), parts.networks,
      _batches(context, config.dmpo.replay_table_name,
               config.dmpo.batch_size * config.dmpo.sgd_steps_per_step),
      lambda label, steps_key=None: loggers.JSONLLogger(jsonl), parts.spec,
      client)
  try:
    while not context.stop.is_set():
      learner.step()
      context.counter.increment(learner_steps=1)
  except StopIteration:
    pass  # The program stopped while the learner waited for data.
  finally:  # Also on Ctrl-C: a resumed run continues from here.
    learner.checkpoint()


def finetune_worker(context, config: config_lib.HarnessingConfig,
                    output_dir: str):
  """Finetunes the jumpy decoder on the actors' skill transitions; a
  resumed run's finetuner continues from output_dir/FINETUNER_DIR."""
  parts = _parts(config, seed=context.seed)
  client = replay.connect(context.reverb_address)
  finetuner = finetune.JumpyFinetuner(
      parts.phase1,
      _batches(context, MODEL_TABLE, config.finetune_batch_size),
      config.finetune_learning_rate, config.latent_scale,
      variables.VariablePublisher(client, MODEL_VARIABLES),
      config.model_publish_period,
      checkpoint_dir=os.path.join(output_dir, FINETUNER_DIR))
  try:
    while not context.stop.is_set():
      finetuner.step()
      context.counter.increment(finetune_steps=1)
  except StopIteration:
    pass
  finally:  # Also on Ctrl-C: a resumed run continues from here.
    finetuner.checkpoint()


EVALUATION_FILE = 'evaluation.csv'
PROGRESS_FILE = 'progress.json'


def read_evaluations(path: str) -> List[Dict[str, Any]]:
  """The rows of an evaluation.csv so far (env_steps as int), or []."""
  import csv  # pylint: disable=g-import-not-at-top
  if not os.path.exists(path):
    return []
  with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
  return [{**row, 'env_steps': int(float(row['env_steps']))}
          for row in rows if row.get('env_steps')]


def resume_state(output_dir: str) -> Optional[Dict[str, float]]:
  """The counts a stopped or killed run reached (its progress.json, the
  evaluations it wrote), or None for a fresh run."""
  path = os.path.join(output_dir, PROGRESS_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    counts = json.load(f)['counts']
  counts = {k: float(v) for k, v in counts.items() if k in COUNTER_KEYS}
  counts['evaluations'] = float(len(read_evaluations(
      os.path.join(output_dir, EVALUATION_FILE))))
  return counts


def prepare_resume(config: config_lib.HarnessingConfig,
                   output_dir: str) -> Optional[Dict[str, float]]:
  """The counts a run in output_dir continues from, or None to start from 0
  (NOT pure: may clear output_dir; writes its config.json).

  Refuses other settings than the run started with (check_resumable). A
  run without counts, or whose learner never checkpointed (killed before
  its first one), starts again from 0 with its leftovers removed: a fresh
  learner under old counts and evaluation rows, or an old learner under
  fresh counts, would put a seam in the curve.
  """
  os.makedirs(output_dir, exist_ok=True)
  settings = run_settings(config)
  initial = resume_state(output_dir)
  if initial is None:
    restart(output_dir)
  else:
    check_resumable(output_dir, settings)
    if learner_checkpoint_step(output_dir) is None:
      print(f'[train_rl] {config.method} seed {config.seed}: stopped at '
            f'{int(initial["env_steps"]):,} env steps with no learner '
            'checkpoint; starting this seed again from 0.', flush=True)
      restart(output_dir)
      initial = None
  with open(os.path.join(output_dir, 'config.json'), 'w') as f:
    json.dump(settings, f, indent=1)
  return initial


def stored_env_steps(output_dir: str) -> int:
  """The env_steps budget output_dir/config.json was last run with (0 if
  there is none)."""
  path = os.path.join(output_dir, 'config.json')
  if not os.path.exists(path):
    return 0
  with open(path) as f:
    return int(json.load(f).get('env_steps', 0))


def learner_checkpoint_step(output_dir: str) -> Optional[int]:
  """The learner step of output_dir/learner's latest checkpoint, or None."""
  return checkpointing.latest_step(os.path.join(output_dir, 'learner'))


def restart(output_dir: str) -> None:
  """Removes what a run wrote to output_dir (counts, evaluations, logs,
  learner, replay and finetuner checkpoints) so the seed starts from 0;
  config.json stays."""
  for name in (PROGRESS_FILE, EVALUATION_FILE, 'learner.jsonl', ACTORS_LOG):
    path = os.path.join(output_dir, name)
    if os.path.exists(path):
      os.remove(path)
  for name in ('learner', REPLAY_DIR, FINETUNER_DIR):
    shutil.rmtree(os.path.join(output_dir, name), ignore_errors=True)


# Settings a resumed run may change: a larger budget continues the curve.
RESUMABLE_CHANGES = ('env_steps',)


def phase1_fingerprint(path: Optional[str]) -> Optional[str]:
  """The phase-1 model's fingerprint (skill_vae.model.fingerprint): a
  shipped model replaced, or a run trained further, under the same path
  changes it. None without a checkpoint (scratch)."""
  if not path:
    return None
  from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
  return model_lib.fingerprint(path)


def run_settings(config: config_lib.HarnessingConfig) -> Dict[str, Any]:
  """What output_dir/config.json holds: the config (as JSON types) and the
  phase-1 model's fingerprint."""
  settings = json.loads(json.dumps(dataclasses.asdict(config), default=str))
  settings['phase1_fingerprint'] = phase1_fingerprint(
      config.phase1_checkpoint)
  return settings


def _from_json(cls, values: Dict[str, Any]):
  """A (nested) config dataclass from its run_settings() JSON: lists back
  to tuples, dataclass fields rebuilt; keys it does not know are refused."""
  hints = typing.get_type_hints(cls)
  known = {field.name for field in dataclasses.fields(cls)}
  unknown = sorted(set(values) - known)
  if unknown:
    raise ValueError(f'{cls.__name__}: config.json has fields this code '
                     f'does not know: {unknown}.')
  kwargs = {}
  for name, value in values.items():
    if dataclasses.is_dataclass(hints[name]):
      value = _from_json(hints[name], value)
    elif isinstance(value, list):
      value = tuple(value)
    kwargs[name] = value
  return cls(**kwargs)


def saved_config(output_dir: str) -> config_lib.HarnessingConfig:
  """The HarnessingConfig a run in output_dir was last started with (its
  config.json), for tools that load the run's checkpoints."""
  path = os.path.join(output_dir, 'config.json')
  if not os.path.exists(path):
    raise FileNotFoundError(f'{output_dir}: no config.json; expected the '
                            '--output directory of one train_rl run '
                            '(<root>/<task>/<method>/seed_<s>).')
  with open(path) as f:
    settings = json.load(f)
  settings.pop('phase1_fingerprint', None)
  return _from_json(config_lib.HarnessingConfig, settings)


def load_learner_state(config: config_lib.HarnessingConfig,
                       networks: dmpo.DMPONetworks, output_dir: str,
                       step: Optional[int] = None) -> dmpo.TrainingState:
  """The DMPO TrainingState of output_dir/learner's checkpoint at `step`
  (None: the latest; `.steps` says which); refuses a checkpoint of another
  network (a structural field of config.dmpo differs)."""
  manager = dmpo.make_checkpoint_manager(
      os.path.join(output_dir, 'learner'), config.dmpo)
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'{output_dir}/learner: no learner checkpoint.')
  manager.check_structure(manager.saved_config(step))
  template = dmpo.init_training_state(networks, jax.random.PRNGKey(0))
  return manager.restore(step, state=template)['state']


# Fields added to HarnessingConfig after runs were started, with the value
# that keeps what those runs did: such a run resumes when the field is at it.
LATER_FIELDS = {'critic_features': config_lib.PAPER_CRITIC_FEATURES}


def check_resumable(output_dir: str, settings: Dict[str, Any]) -> None:
  """Refuses to resume a run with other settings than it started with (a
  curve would silently mix two settings, or two phase-1 models); raises
  ValueError naming each field, its stored and its new value. Runs that
  predate the fingerprint are compared without it."""
  path = os.path.join(output_dir, 'config.json')
  if not os.path.exists(path):
    return
  with open(path) as f:
    stored = json.load(f)

  def differences(old, new, prefix=''):
    for key in sorted(set(old) | set(new)):
      name = prefix + key
      if name in RESUMABLE_CHANGES or (
          key == 'phase1_fingerprint' and key not in old):
        continue
      a, b = old.get(key, '<absent>'), new.get(key, '<absent>')
      if key not in old and LATER_FIELDS.get(name, '<absent>') == b:
        continue  # A field added since the run began, at its old behaviour.
      if isinstance(a, dict) and isinstance(b, dict):
        yield from differences(a, b, name + '.')
      elif a != b:
        yield f'{name}: started with {a!r}, now {b!r}'

  found = list(differences(stored, settings))
  if found:
    raise ValueError(
        f'{output_dir} holds a run started with other settings; resuming '
        'would mix them in one curve. Use another --output, or delete the '
        'directory to start over. Differences: ' + '; '.join(found) + '.')


def _write_progress(output_dir: str, counts: Dict[str, float]) -> None:
  path = os.path.join(output_dir, PROGRESS_FILE)
  with open(path + '.tmp', 'w') as f:
    json.dump({'counts': counts, 'time': time.time()}, f)
  os.replace(path + '.tmp', path)


def evaluation_points(config: config_lib.HarnessingConfig) -> List[int]:
  """Environment steps at which the evaluator evaluates: 0, every
  eval_every, and the budget."""
  points = list(range(0, config.env_steps, config.eval_every))
  return points + [config.env_steps]


EVALUATION_SEED_OFFSET = 10_000


def evaluation_returns(config: config_lib.HarnessingConfig, actor, phase1,
                       seed: int, observers=()) -> List[float]:
  """Undiscounted returns of config.eval_episodes episodes from the same
  initial states at every call: the environment is made afresh with
  `seed` (NOT pure: runs the simulator). `actor` does not update;
  `observers` (EnvLoopObservers) watch the episodes too."""
  environment = _environment(config, seed, phase1)
  episode_return = _Return()
  loop = environment_loop.EnvironmentLoop(
      environment, actor, logger=loggers.NoOpLogger(),
      should_update=False, observers=[episode_return, *observers])
  returns = []
  for _ in range(config.eval_episodes):
    loop.run_episode()
    returns.append(episode_return.value)
  environment.close()
  return returns


def evaluator_worker(context, config: config_lib.HarnessingConfig,
                     output_dir: str):
  """Evaluates at each evaluation point; the return is the primitive
  environment's undiscounted episode return.

  Every point runs the same `eval_episodes` initial states: the
  environment is made afresh with seed EVALUATION_SEED_OFFSET + seed. A
  curve then shows learning, not which initial states a point drew
  (measured in session 8: with one environment stepping on through the
  points, five RL-HL variants all fell from ~150 to 18-36 at the 30k
  point, whose five states were hard ones), and a resumed run evaluates
  on the states a straight run would have.
  """
  eval_seed = EVALUATION_SEED_OFFSET + config.seed
  parts = _parts(config, seed=eval_seed)
  client = replay.connect(context.reverb_address)
  source = _policy_source(client, parts, config)
  if config.plans:
    model_source = (variables.VariableClient(
        client, {'model': parts.phase1.params}, table=MODEL_VARIABLES)
                    if config.finetunes else None)
    actor = acting.PlanningActor(
        _planning_policy(config, parts), jax.random.PRNGKey(context.seed),
        source, parts.phase1.params, model_source)
  else:
    actor = dmpo.DMPOActor(
        jax.jit(dmpo.make_policy(parts.networks, evaluation=True)),
        jax.random.PRNGKey(context.seed), source)
  parts.environment.close()
  path = os.path.join(output_dir, EVALUATION_FILE)
  done = {row['env_steps'] for row in read_evaluations(path)}
  log = loggers.CSVLogger(path)  # Appends to a resumed run's rows.
  for point in evaluation_points(config):
    if point in done:
      continue
    while context.counter.get_counts()['env_steps'] < point:
      if context.stop.is_set():
        return
      time.sleep(0.5)
    counts = context.counter.get_counts()
    actor.update(wait=True)
    returns = evaluation_returns(config, actor, parts.phase1, eval_seed)
    log.write({'env_steps': point, 'actual_env_steps': counts['env_steps'],
               'learner_steps': counts['learner_steps'],
               'return_mean': float(np.mean(returns)),
               'return_std': float(np.std(returns)),
               'returns': json.dumps(returns)})
    print(f'[evaluate] {config.method} seed {config.seed}: '
          f'{point:,} env steps -> return {np.mean(returns):.1f} +- '
          f'{np.std(returns):.1f}', flush=True)
    context.counter.increment(evaluations=1)
  log.close()


def make_tables(config: config_lib.HarnessingConfig) -> List[reverb.Table]:
  parts = _parts(config, seed=config.seed)
  tables = dmpo.DMPOBuilder(config.dmpo).make_replay_tables(parts.spec)
  tables.append(variables.make_variable_table(config.dmpo.variable_table_name))
  if config.finetunes:
    spi = config.dmpo.samples_per_insert or 32.0
    tables += [
        # A whole finetune batch of samples fits in the limiter's slack, so
        # the finetuner draws batches while the actors insert.
        replay.rate_limited_table(
            MODEL_TABLE,
            reverb_adders.NStepTransitionAdder.signature(parts.spec),
            config.dmpo.max_replay_size, config.finetune_batch_size, spi,
            error_buffer=config.finetune_batch_size * spi),
        variables.make_variable_table(MODEL_VARIABLES)]
  parts.environment.close()
  return tables


def run(config: config_lib.HarnessingConfig, output_dir: str,
        num_actors: int = 1,
        make_launcher: Optional[Callable[..., Any]] = None,
        actor_resources: Optional[Dict[str, float]] = None,
        learner_resources: Optional[Dict[str, float]] = None
        ) -> Dict[str, float]:
  """Runs actors, learner, (finetuner) and evaluator until the last
  evaluation; returns the final counts. The learner resumes from
  output_dir/learner if a checkpoint is there.

  `make_launcher(tables=..., counter_keys=...)` builds the launcher
  (default: the local one; launcher.make_launcher('ray', ...) for Ray),
  with each group's resources on a cluster."""
  initial = prepare_resume(config, output_dir)
  make_launcher = make_launcher or LocalLauncher
  launcher = make_launcher(
      tables=functools.partial(make_tables, config),
      counter_keys=COUNTER_KEYS,
      replay_checkpoint_dir=os.path.join(output_dir, REPLAY_DIR),
      replay_checkpoint_every_s=REPLAY_CHECKPOINT_EVERY_S)
  launcher.add_workers('actor', actor_worker, num=num_actors,
                       seed=config.seed, config=config,
                       output_dir=output_dir, resources=actor_resources)
  launcher.add_workers('learner', learner_worker, seed=config.seed,
                       config=config, output_dir=output_dir,
                       resources=learner_resources)
  if config.finetunes:
    launcher.add_workers('finetuner', finetune_worker, seed=config.seed,
                         config=config, output_dir=output_dir,
                         resources=learner_resources)
  launcher.add_workers('evaluator', evaluator_worker, seed=config.seed,
                       config=config, output_dir=output_dir,
                       resources=actor_resources)
  total = len(evaluation_points(config))
  if initial is not None:
    print(f'[train_rl] {config.method} seed {config.seed}: resuming at '
          f'{int(initial["env_steps"]):,} env steps, '
          f'{int(initial["evaluations"])}/{total} evaluations done (the '
          'learner continues from its last checkpoint, the replay from '
          f'its own, {REPLAY_DIR}/; a run from before replay checkpoints '
          'refills it with the restored policy).', flush=True)
    if config.finetunes:
      saved = checkpointing.latest_step(os.path.join(output_dir,
                                                     FINETUNER_DIR))
      print(f'[train_rl] {config.method} seed {config.seed}: ' + (
          f'the finetuned jumpy decoder resumes at its step {saved:,}.'
          if saved is not None else 'no finetuner checkpoint (a run from '
          'before they were kept): the jumpy decoder finetunes again from '
          'the phase-1 model.'), flush=True)
  resumed_at = 0.0 if initial is None else float(initial['env_steps'])
  start = time.time()
  last = [0.0]
  saved = [0.0]

  told = [False]

  def progress(counts):
    if not told[0]:
      told[0] = True
      restored = getattr(launcher, 'restored_items', {})
      if any(restored.values()):
        print(f'[train_rl] {config.method} seed {config.seed}: replay '
              'restored from its checkpoint: ' + ', '.join(
                  f'{n:,} items in {t}' for t, n in sorted(restored.items())
                  if n), flush=True)
    if time.time() - saved[0] >= 5:
      saved[0] = time.time()
      _write_progress(output_dir, counts)
    if time.time() - last[0] >= 15:
      last[0] = time.time()
      elapsed = time.time() - start
      # Steps made by this process (a resumed run starts from its counts).
      rate = (counts['env_steps'] - resumed_at) / max(elapsed, 1e-9)
      print(f'[train_rl] {config.method} seed {config.seed}: '
            f'{int(counts["env_steps"]):,}/{config.env_steps:,} env steps '
            f'({rate:.0f}/s) | learner {int(counts["learner_steps"])} | '
            f'evaluations {int(counts["evaluations"])}/{total} | elapsed '
            f'{elapsed:.0f} s', flush=True)

  counts = launcher.run(stop_when=lambda c: c['evaluations'] >= total,
                        on_poll=progress, initial_counts=initial)
  _write_progress(output_dir, counts)
  return counts


def zero_shot_references(path: str, task: str):
  """[(setting, mean return)] of the jumpy zero-shot agents on `task`, from
  an evaluate.py results.json or a launchers/table3.py table3.json (its
  skills-held-10-steps columns, as RL-HL acts)."""
  with open(path) as f:
    data = json.load(f)
  if 'cells' in data:  # table3.json
    return [(name, data['cells'][f'{name}|{apl}|{task}']['mean'])
            for name, apl in data['columns']
            if apl == 10 and 'K=1' not in name and
            f'{name}|{apl}|{task}' in data['cells']]
  return [(row['setting'], row['mean']) for row in data['results']
          if row['task'] == task and 'K=1' not in row['setting']]
