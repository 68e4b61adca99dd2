"""pi's mean against pi's samples on a phase-2 run's evaluation states
(issue [rl-curves], item 3).

The curves' evaluator acts with the mean of DMPO's Gaussian policy; the
actors that fill the replay act with samples from it. For a skill policy
the two can differ more than for primitive actions: the mean of the skills
pi weighs well is itself a skill, and not necessarily one that behaves like
any of them. This loads a run's learner checkpoint (`--step`, default the
latest) and runs the evaluator's `eval_episodes` initial states (seed
10,000 + the run's seed, as rl.evaluator_worker) once with pi's mean and
`--samples` times with sampled actions. Prints both means, the paired
difference per initial state (sampled minus mean, averaged over the
samples) with its standard error over states, and pi's stddev.

And what the critic believes: at every decision of the mean's episodes,
Q(s, pi's mean) against Q(s, a) for `--candidates` samples a of pi (the
mean's percentile among them: above 50 % means the critic ranks the mean
above a typical sample), and how far a sample lies from the mean (RMS
over dimensions, DMPO action units: about the stddev, 0.7, in every
dimension, so in 32-D no sample the critic trained on comes near the
mean). The last line is one JSON object.

  python bench/rl_policy_modes.py --run=docs/rl_curves/bring_red/rl_hl/seed_0

RL-HL and RL-from-scratch runs only: the planning methods' evaluator acts
with the planner, whose proposal is pi.
"""

import argparse
import json
import time

import numpy as np


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--run', required=True,
                      help='One train_rl run: <root>/<task>/<method>/seed_<s>.')
  parser.add_argument('--step', type=int, default=None,
                      help='Learner checkpoint step (default: the latest).')
  parser.add_argument('--samples', type=int, default=3,
                      help='Sampled-policy episodes per initial state.')
  parser.add_argument('--candidates', type=int, default=256,
                      help='Samples of pi per state for the critic probe.')
  args = parser.parse_args()
  for name in ('samples', 'candidates'):
    if getattr(args, name) < 1:
      raise ValueError(f'--{name}: expected >= 1, got '
                       f'{getattr(args, name)}.')

  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme import environment_loop  # pylint: disable=g-import-not-at-top
  from jumpy_acme import variables  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import dmpo  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top

  config = rl.saved_config(args.run)
  if config.plans:
    raise ValueError(f'--run: expected an rl_hl or scratch run, got method '
                     f'{config.method!r} ({args.run}): its evaluator '
                     'plans, it does not act with pi.')
  start = time.time()
  seed = rl.EVALUATION_SEED_OFFSET + config.seed
  parts = rl._parts(config, seed=seed)  # pylint: disable=protected-access
  parts.environment.close()
  state = rl.load_learner_state(config, parts.networks, args.run, args.step)
  params, step = state.policy_params, int(state.steps)

  def returns(evaluation: bool, key: int, observers=()):
    actor = dmpo.DMPOActor(
        jax.jit(dmpo.make_policy(parts.networks, evaluation=evaluation)),
        jax.random.PRNGKey(key),
        variables.SourceVariableClient(
            variables.FixedVariableSource(params), ['policy']))
    return rl.evaluation_returns(config, actor, parts.phase1, seed,
                                 observers)

  networks = parts.networks

  @jax.jit
  def probe(key, s):
    """At one state s [S]: the mean's Q percentile among pi's samples, the
    samples' RMS distance from the mean, Q's spread over them, and Q of the
    mean minus their mean Q, their mean Q (all scalars)."""
    mean, stddev = networks.policy_apply(params, s)
    samples = mean + stddev * jax.random.normal(
        key, (args.candidates,) + mean.shape)
    q = lambda a: networks.q_values(networks.critic_apply(
        state.critic_params, jnp.broadcast_to(s, a.shape[:-1] + s.shape), a))
    q_samples, q_mean = q(samples), q(mean[None])[0]
    distance = jnp.sqrt(jnp.mean(jnp.square(samples - mean), -1))
    return (100.0 * jnp.mean(q_samples < q_mean), jnp.mean(distance),
            jnp.std(q_samples), q_mean - jnp.mean(q_samples),
            jnp.mean(q_samples))

  visited = environment_loop.EpisodeRecorder()
  mean = np.array(returns(True, 0, [visited]))
  acted_on = [s for episode in visited.episodes
              for s in episode['states'][:-1]]  # Not the last: no action.
  probes = np.array([jax.device_get(probe(jax.random.PRNGKey(i), s))
                     for i, s in enumerate(acted_on)])
  percentile, distance, spread, gap, level = np.median(probes, axis=0)
  sampled = np.array([returns(False, 100 + k) for k in range(args.samples)])
  per_state = sampled.mean(0) - mean
  stderr = per_state.std(ddof=1) / np.sqrt(len(mean)) if len(mean) > 1 else 0
  initial = [np.asarray(episode['states'][0]) for episode in visited.episodes]
  stddevs = [float(np.mean(networks.policy_apply(params, s[None])[1]))
             for s in initial]
  print(f'{args.run}: {config.method} on {config.task}, learner step '
        f'{step:,}, {len(mean)} initial states, {time.time() - start:.0f} s')
  print('| policy | return | per initial state |')
  print('|---|---|---|')
  row = lambda returns: ' / '.join(f'{r:.1f}' for r in returns)
  print(f'| mean | {mean.mean():.1f} | {row(mean)} |')
  print(f'| sampled ({args.samples} per state) | {sampled.mean():.1f} | '
        f'{row(sampled.mean(0))} |')
  print(f'sampled minus mean, paired over initial states: '
        f'{per_state.mean():+.1f} +- {stderr:.1f}; pi\'s stddev at the '
        f'initial states {np.mean(stddevs):.2f} (DMPO action units)')
  print(f'critic at the {len(probes)} states the mean acted on (medians): '
        f'Q(s, mean) ranks at percentile {percentile:.0f} among '
        f'{args.candidates} samples of pi; the samples\' mean Q '
        f'{level:.2f}, Q(s, mean) minus it {gap:+.2f}, their spread (std) '
        f'{spread:.2f}; a sample lies {distance:.2f} (RMS per dimension) '
        'from the mean')
  print(json.dumps({
      'run': args.run, 'method': config.method, 'task': config.task,
      'learner_step': step, 'mean_returns': mean.round(2).tolist(),
      'sampled_returns': sampled.round(2).tolist(),
      'sampled_minus_mean': round(float(per_state.mean()), 2),
      'sampled_minus_mean_stderr': round(float(stderr), 2),
      'stddev': round(float(np.mean(stddevs)), 4),
      'critic_states': len(probes),
      'q_mean_percentile_among_samples': round(float(percentile), 1),
      'q_mean_minus_samples': round(float(gap), 3),
      'q_samples_level': round(float(level), 3),
      'q_spread_over_samples': round(float(spread), 3),
      'sample_rms_distance_from_mean': round(float(distance), 3)}))


if __name__ == '__main__':
  main()
