r"""Phase 2 with learning: DMPO from scratch, RL-HL, RL-HL + Planning (+
Finetune), with learning curves (paper, Table 1, Figures 3-4).

  python -m jumpy_acme.launchers.train_rl --method=rl_hl --task=reach_red \
      --phase1_checkpoint=runs/phase1_k10 --env_steps=50000 --num_seeds=2
  python -m jumpy_acme.launchers.train_rl --method=scratch --task=reach_red \
      --env_steps=50000 --num_seeds=2 \
      --zero_shot=results/table3/results.json

Each seed is one local distributed program (Reverb, --num_actors actor
processes, the learner, the evaluator; agents/harnessing/rl.py)
that stops after the evaluation at --env_steps primitive environment steps.
The learner checkpoints to --output/<method>/seed_<s>/learner (also on
Ctrl-C and SIGTERM) and a rerun resumes from it (docs/phase2.md says what
a resume keeps). Output in --output/<method>: per-seed evaluation.csv and
learner.jsonl, curve.csv (mean +- std over seeds of the evaluation return
against environment steps) and curve.png, drawing every method found under
--output (so a second method's run adds to the same plot) and, from
--zero_shot (evaluate.py's results.json), Random-HL and Zero-shot via
Planning as horizontal reference lines.

--task may be any task, base behaviours included (docs/tasks.md): with
--method=scratch and --save_policy the run trains that behaviour with DMPO
on its shaped reward, and collect.py --dmpo_policies uses the saved policy
in place of the scripted one.
"""

import csv
import dataclasses
import json
import os
import shutil
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np

from jumpy_acme.agents.dmpo import config as dmpo_config
from jumpy_acme.agents.harnessing import config as config_lib
from jumpy_acme.environments.rgb_stacking import rewards
from jumpy_acme.launchers import launcher_flags
from jumpy_acme.launchers import planner_flags

_METHOD = flags.DEFINE_enum('method', 'rl_hl', list(config_lib.METHODS),
                            'Harnessing option (paper, Table 1).')
_TASK = flags.DEFINE_string('task', 'reach_red', 'Task (reward) to learn.')
_PHASE1 = flags.DEFINE_string('phase1_checkpoint', None,
                              'Phase-1 checkpoint (every method but '
                              'scratch).')
_SEED = flags.DEFINE_integer('seed', 0, 'First seed.')
_NUM_SEEDS = flags.DEFINE_integer('num_seeds', 1,
                                  'Seeds seed, seed+1, ... run one after '
                                  'the other.')
_NUM_ACTORS = flags.DEFINE_integer('num_actors', 1, 'Actor processes.')
_ENV_STEPS = flags.DEFINE_integer('env_steps', 50_000,
                                  'Primitive environment steps per seed.')
_EVAL_EVERY = flags.DEFINE_integer('eval_every', 5_000,
                                   'Environment steps between evaluations.')
_EVAL_EPISODES = flags.DEFINE_integer('eval_episodes', 3,
                                      'Episodes per evaluation.')
_EPISODE_LENGTH = flags.DEFINE_integer('episode_length', 400,
                                       'Steps per episode.')
_ACTIONS_PER_LATENT = flags.DEFINE_integer(
    'actions_per_latent', 10, 'Skill methods: steps a z is held.')
_LATENT_SCALE = flags.DEFINE_float(
    'latent_scale', 2.0, 'Skill methods: z = latent_scale * action.')
_CRITIC_FEATURES = flags.DEFINE_enum(
    'critic_features', config_lib.PAPER_CRITIC_FEATURES,
    list(config_lib.CRITIC_FEATURES),
    'Skill methods: what the critic sees besides (s, z). state: nothing '
    '(the paper\'s RL-HL); model: also the jumpy model\'s predicted state '
    'after the skill (agents/harnessing/critic_features.py).')
# DMPO (defaults: agents/dmpo/config.py, from Acme).
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 256, 'DMPO batch.')
_LEARNING_RATE = flags.DEFINE_float('learning_rate', 1e-4, 'DMPO Adam.')
_SAMPLES_PER_INSERT = flags.DEFINE_float('samples_per_insert', 32.0,
                                         'Replay samples per insert.')
_MIN_REPLAY = flags.DEFINE_integer('min_replay_size', 1000,
                                   'Transitions before learning starts.')
_N_STEP = flags.DEFINE_integer('n_step', 5, 'n-step returns.')
_DISCOUNT = flags.DEFINE_float(
    'discount', 0.99, 'gamma per primitive step; skill methods discount a '
    'skill step by gamma ** actions_per_latent (--replay_counts=env_steps) '
    'or by gamma (transitions).')
_POLICY_SIZES = flags.DEFINE_list('policy_sizes', ['256', '256', '256'],
                                  'Policy LayerNorm-MLP sizes.')
_CRITIC_SIZES = flags.DEFINE_list('critic_sizes', ['512', '512', '256'],
                                  'Critic LayerNorm-MLP sizes.')
_VMAX = flags.DEFINE_float(
    'vmax', None, 'Critic support [-vmax, vmax]. Default: Acme\'s 150, or '
    'for skill methods enough for a skill step\'s summed reward '
    '(harnessing.config.default_vmax).')
_INIT_SCALE = flags.DEFINE_float(
    'init_scale', 0.7, 'DMPO policy stddev at init, in canonical action '
    'units (Acme\'s 0.7; z = latent_scale * action for skill methods).')
_ALPHA_STDDEV = flags.DEFINE_float(
    'init_log_alpha_stddev', 1000.0, 'Initial (pre-softplus) multiplier of '
    'DMPO\'s KL bound on the policy stddev (Acme DMPO\'s 1000). It falls by '
    'about the dual learning rate (1e-2) per update, so at 1000 the stddev '
    'stays at --init_scale for about 1e5 updates. A small value alone does '
    'not free it: the bound itself (--epsilon_stddev, 1e-6) then binds and '
    'the multiplier grows (docs/phase2.md, v11).')
_EPSILON_STDDEV = flags.DEFINE_float(
    'epsilon_stddev', None, 'DMPO\'s KL bound on the policy stddev, per '
    'action dimension. Default: Acme\'s 1e-6, under which the stddev moves '
    'by at most about 0.1 percent per target period (100 updates): it '
    'stays near --init_scale over our budgets (docs/phase2.md).')
_EPSILON_MEAN = flags.DEFINE_float(
    'epsilon_mean', None, 'DMPO\'s KL bound on the policy mean, per action '
    'dimension. Default: Acme\'s 0.0025, divided by the latent size (32) '
    'for skill methods (spec/acme.md), so their mean moves under a bound '
    'of 7.8e-5 per dimension (docs/phase2.md). A value is used as given, '
    'for every method, with no division.')
_NORMALIZE = flags.DEFINE_bool(
    'normalize_observations', True, 'Standardise DMPO\'s observations with '
    'the state mean and std of --phase1_checkpoint\'s training data (every '
    'method, scratch included, when --phase1_checkpoint is given; scratch '
    'reads only those statistics from it).')
_UPDATE_PERIOD = flags.DEFINE_integer(
    'variable_update_period', 200, 'Actor steps between parameter fetches.')
_REPLAY_COUNTS = flags.DEFINE_enum(
    'replay_counts', 'env_steps', ['env_steps', 'transitions'],
    'Skill methods: what --samples_per_insert, --min_replay_size and '
    '--variable_update_period count. env_steps: primitive environment '
    'steps, so every method makes the same learner updates per environment '
    'step and the same discount per environment step '
    '(harnessing.config.per_environment_step); transitions: DMPO\'s own '
    'unit, a skill step (10x fewer updates per environment step, gamma per '
    'skill step).')
# Planning methods.
flags.set_default(planner_flags.NUM_SAMPLES, 200)  # N = 200 while learning.
_FINETUNE_BATCH = flags.DEFINE_integer(
    'finetune_batch_size', 64, 'Finetune: skill transitions per step.')
_FINETUNE_LR = flags.DEFINE_float('finetune_learning_rate', 1e-4,
                                  'Finetune: Adam step size.')
_OUTPUT = flags.DEFINE_string('output', 'results/rl',
                              'Root of per-method results.')
_ZERO_SHOT = flags.DEFINE_string(
    'zero_shot', None, 'Zero-shot returns to draw as reference lines: an '
    'evaluate.py results.json or a launchers/table3.py table3.json.')
_NUM_DEVICES = flags.DEFINE_integer(
    'num_devices', 1, 'Local devices (GPUs, TPU cores) the learner splits '
    'each batch over; --batch_size must divide by it.')
_CEILINGS = flags.DEFINE_string(
    'ceilings', 'docs/tables/ceilings.json', 'bench/ceilings.py output: '
    'the scripted controller\'s return is drawn as a reference line (skipped '
    'when the file is missing).')
_SAVE_POLICY = flags.DEFINE_string(
    'save_policy', None, 'scratch: save the first seed\'s final policy here '
    '(replacing what is there) for collect.py --dmpo_policies.')


def _sizes(flag) -> tuple:
  try:
    return tuple(int(s) for s in flag.value)
  except ValueError as e:
    raise app.UsageError(f'--{flag.name}: integers expected, got '
                         f'{flag.value}.') from e


def make_config(seed: int) -> config_lib.HarnessingConfig:
  dmpo = dmpo_config.DMPOConfig(
      batch_size=_BATCH_SIZE.value, learning_rate=_LEARNING_RATE.value,
      samples_per_insert=_SAMPLES_PER_INSERT.value,
      min_replay_size=_MIN_REPLAY.value, n_step=_N_STEP.value,
      discount=_DISCOUNT.value, init_scale=_INIT_SCALE.value,
      init_log_alpha_stddev=_ALPHA_STDDEV.value,
      **({} if _EPSILON_MEAN.value is None else
         {'epsilon_mean': _EPSILON_MEAN.value}),
      **({} if _EPSILON_STDDEV.value is None else
         {'epsilon_stddev': _EPSILON_STDDEV.value}),
      policy_hidden_sizes=_sizes(_POLICY_SIZES),
      critic_hidden_sizes=_sizes(_CRITIC_SIZES),
      variable_update_period=_UPDATE_PERIOD.value, seed=seed)
  if _NORMALIZE.value and _PHASE1.value:
    from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
    statistics = model_lib.load(_PHASE1.value).normalization
    dmpo = dataclasses.replace(
        dmpo,
        observation_mean=tuple(np.asarray(statistics.state_mean).tolist()),
        observation_std=tuple(np.asarray(statistics.state_std).tolist()))
  if _METHOD.value != 'scratch':
    # A latent action space: epsilon_mean per dimension (spec/acme.md).
    from jumpy_acme.agents.skill_vae import model as model_lib  # pylint: disable=g-import-not-at-top
    if not _PHASE1.value:
      raise app.UsageError(f'--phase1_checkpoint: --method={_METHOD.value} '
                           'acts with a phase-1 model; give its directory.')
    latent = model_lib.load(_PHASE1.value).latent_size
    if _EPSILON_MEAN.value is None:
      dmpo = dmpo.with_epsilon_mean_per_dimension(latent)
    if _REPLAY_COUNTS.value == 'env_steps':
      dmpo = config_lib.per_environment_step(dmpo, _ACTIONS_PER_LATENT.value)
  # The support from the discount DMPO uses (per skill step, after
  # per_environment_step's scaling, for skill methods).
  dmpo = dataclasses.replace(dmpo, vmax=(
      _VMAX.value if _VMAX.value is not None else config_lib.default_vmax(
          _ACTIONS_PER_LATENT.value, _EPISODE_LENGTH.value, dmpo.discount,
          _METHOD.value in config_lib.SKILL_METHODS)))
  return config_lib.HarnessingConfig(
      method=_METHOD.value, task=_TASK.value, dmpo=dmpo,
      phase1_checkpoint=_PHASE1.value,
      actions_per_latent=_ACTIONS_PER_LATENT.value,
      latent_scale=_LATENT_SCALE.value,
      critic_features=_CRITIC_FEATURES.value,
      planner=planner_flags.planner_config(),
      finetune_batch_size=_FINETUNE_BATCH.value,
      finetune_learning_rate=_FINETUNE_LR.value,
      episode_length=_EPISODE_LENGTH.value, env_steps=_ENV_STEPS.value,
      eval_every=_EVAL_EVERY.value, eval_episodes=_EVAL_EPISODES.value,
      seed=seed, num_devices=_NUM_DEVICES.value)


def write_curve(method_dir: str) -> list:
  from jumpy_acme.agents.experiments import rl_curves  # pylint: disable=g-import-not-at-top
  rows = [{'env_steps': x, **rl_curves.summary(v)}
          for x, v in rl_curves.read_method(method_dir).items()]
  with open(os.path.join(method_dir, 'curve.csv'), 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=['env_steps', 'mean', 'std',
                                           'seeds'])
    writer.writeheader()
    writer.writerows(rows)
  return rows


def plot(root: str, task: str, zero_shot: str = None,
         ceilings: str = None) -> str:
  """curve.png in the style of Figures 3-4: every method under `root`, with
  the zero-shot agents' returns and the scripted ceiling as lines."""
  from jumpy_acme.agents.experiments import rl_curves  # pylint: disable=g-import-not-at-top
  from jumpy_acme.utils import plotting  # pylint: disable=g-import-not-at-top
  plt = plotting.pyplot()
  fig, ax = plt.subplots(figsize=(6.4, 4))
  for method in config_lib.METHODS:
    curves = rl_curves.read_method(os.path.join(root, method))
    if not curves:
      continue
    x = np.array(list(curves))
    mean = np.array([np.mean(v) for v in curves.values()])
    std = np.array([np.std(v) for v in curves.values()])
    name = rl_curves.label(os.path.join(root, method), method)
    ax.plot(x, mean, label=f'{name} ({rl_curves.seeds_label(curves)})')
    ax.fill_between(x, mean - std, mean + std, alpha=0.2)
  if zero_shot:
    styles = iter(['--', ':', '-.'])
    from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
    for setting, mean in rl.zero_shot_references(zero_shot, task):
      ax.axhline(mean, color='grey', linestyle=next(styles, '--'),
                 label=f'{setting} (zero-shot)')
  if ceilings and os.path.exists(ceilings):
    with open(ceilings) as f:
      scripted = json.load(f)['returns'].get(task, {}).get('scripted')
    if scripted:
      ax.axhline(scripted['mean'], color='black', linestyle='-', lw=0.8,
                 label='scripted controller (ceiling)')
  ax.set_xlabel('environment steps')
  ax.set_ylabel('evaluation return (400 steps)')
  ax.set_title(task)
  # Below the axes: inside, it covered the curves it names.
  ax.legend(fontsize=8, loc='upper center', bbox_to_anchor=(0.5, -0.16))
  path = os.path.join(root, 'curve.png')
  fig.savefig(path, dpi=120, bbox_inches='tight')
  plt.close(fig)
  return path


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  rewards.get_task(_TASK.value)  # Names the valid tasks if unknown.
  if _NUM_SEEDS.value < 1:
    raise app.UsageError(f'--num_seeds: expected >= 1, got '
                         f'{_NUM_SEEDS.value}.')
  if _SAVE_POLICY.value and _METHOD.value != 'scratch':
    raise app.UsageError('--save_policy: only with --method=scratch (a '
                         'policy on primitive actions).')
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  root = os.path.join(_OUTPUT.value, _TASK.value)
  method_dir = os.path.join(root, _METHOD.value)
  print('[train_rl] The learner samples a live Reverb table while actors '
        'fill it, in several processes: a run does not reproduce exactly '
        'from its seed.', flush=True)
  for seed in range(_SEED.value, _SEED.value + _NUM_SEEDS.value):
    config = make_config(seed)  # Validates every value first.
    seed_dir = os.path.join(method_dir, f'seed_{seed}')
    done = os.path.join(seed_dir, 'done.json')
    if os.path.exists(done):
      if rl.stored_env_steps(seed_dir) >= config.env_steps:
        print(f'[train_rl] seed {seed}: finished earlier, skipped.')
        continue
      # A larger budget continues a finished run (the one setting a
      # resumed run may change).
      print(f'[train_rl] seed {seed}: finished at '
            f'{rl.stored_env_steps(seed_dir):,} env steps; continuing to '
            f'{config.env_steps:,}.', flush=True)
      os.remove(done)
    counts = rl.run(config, seed_dir, _NUM_ACTORS.value,
                    make_launcher=launcher_flags.make,
                    actor_resources=launcher_flags.actor(),
                    learner_resources=launcher_flags.learner())
    if counts['evaluations'] < len(rl.evaluation_points(config)):
      print(f'[train_rl] seed {seed}: stopped at {int(counts["env_steps"]):,}'
            ' env steps, before its last evaluation; run the same command '
            'again to resume it.', flush=True)
      sys.exit(130)
    with open(os.path.join(seed_dir, 'done.json'), 'w') as f:
      json.dump(counts, f)
  rows = write_curve(method_dir)
  if _SAVE_POLICY.value:
    learner = os.path.join(method_dir, f'seed_{_SEED.value}', 'learner')
    if os.path.exists(_SAVE_POLICY.value):  # No stale steps to load later.
      shutil.rmtree(_SAVE_POLICY.value)
    shutil.copytree(learner, _SAVE_POLICY.value)
    with open(os.path.join(_SAVE_POLICY.value, 'policy.json'), 'w') as f:
      json.dump({'task': _TASK.value, 'config': dataclasses.asdict(
          make_config(_SEED.value))}, f, indent=1, default=str)
    print(f'[train_rl] policy saved to {_SAVE_POLICY.value}')
  path = plot(root, _TASK.value, _ZERO_SHOT.value, _CEILINGS.value)
  from jumpy_acme.agents.experiments import rl_curves  # pylint: disable=g-import-not-at-top
  print(f'[train_rl] {rl_curves.LABELS[_METHOD.value]} on {_TASK.value}:')
  for row in rows:
    print(f'  {row["env_steps"]:>8,} env steps: {row["mean"]:8.2f} +- '
          f'{row["std"]:.2f} ({rl_curves.seeds_text(str(row["seeds"]))})')
  print(f'[train_rl] curve: {os.path.join(method_dir, "curve.csv")}, '
        f'{path}')


if __name__ == '__main__':
  app.run(main)
