"""Does RL-HL's critic know which skills are good? (issue [rl-curves], item 3)

For a finished or running RL-HL run (`train_rl --method=rl_hl ...`), loads
its latest learner checkpoint and walks `--episodes` episodes of the task
acting with zero-shot planning (the paper's N = 1000, H = 3, prior
proposal), the skills that score 280 on reach_red where the learned policy's
mean scores ~100. At every skill choice (state s) it compares, in DMPO's
action units (z / latent_scale):
- Q(s, a) of the planner's choice, of pi's mean, and of `--candidates`
  prior draws z ~ N(0, I): where do the planner's and pi's choices rank
  among the prior draws (percentile; 50 % is a random skill)?
- the rank correlation (Spearman) over the prior draws between Q and the
  jumpy model's reward one jump ahead, r(s_t+K) with s_t+K predicted: on a
  dense reach reward a critic that steers should agree with it;
- Q's spread over prior draws and over pi's own samples, beside the value
  Q(s, .) itself;
- how far pi's mean has moved (pi starts at mean 0: DMPO's last layer is
  initialised near 0), and pi's stddev;
- the share of pi's samples with a dimension outside [-1, 1] (clipped in
  the environment, so z of a sample sits at +-latent_scale there).
Ends with one JSON line.

  python bench/rl_hl_critic.py --run=docs/rl_curves/reach_red/rl_hl/seed_0
"""

import argparse
import json
import time

import numpy as np

from jumpy_acme.utils import stats



def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--run', required=True,
                      help='An RL-HL run directory (config.json, learner/).')
  parser.add_argument('--episodes', type=int, default=2)
  parser.add_argument('--candidates', type=int, default=256)
  parser.add_argument('--seed', type=int, default=100)
  args = parser.parse_args()

  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.experiments import rl  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import config as planning_config  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.planning import models  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top

  config = rl.saved_config(args.run)
  if not config.uses_skills:
    raise ValueError(f'--run: expected a skill method\'s run, got method '
                     f'{config.method!r} ({args.run}).')
  task, scale = config.task, config.latent_scale
  parts = rl._parts(config, seed=args.seed)  # pylint: disable=protected-access
  env, networks, phase1 = parts.environment, parts.networks, parts.phase1
  state = rl.load_learner_state(config, networks, args.run)
  step = int(state.steps)
  reward_fn = rewards.jax_reward(task)
  plan = jax.jit(models.make_skill_planner(
      phase1, reward_fn, planning_config.PlannerConfig()))

  @jax.jit
  def probe(key, s, a_plan):
    """Everything measured at one state s [S]."""
    mean, std = networks.policy_apply(state.policy_params, s)
    k_prior, k_pi = jax.random.split(key)
    prior = jnp.clip(jax.random.normal(
        k_prior, (args.candidates, phase1.latent_size)) / scale, -1, 1)
    pi_samples = mean + std * jax.random.normal(k_pi, prior.shape)
    q = lambda a: networks.q_values(networks.critic_apply(
        state.critic_params, jnp.broadcast_to(s, a.shape[:-1] + s.shape), a))
    q_prior, q_pi_samples = q(prior), q(pi_samples)
    q_plan, q_mean = q(a_plan[None])[0], q(mean[None])[0]
    next_states = jax.vmap(phase1.predict_next_state, (None, 0))(
        s, scale * prior)
    r_prior = jax.vmap(reward_fn)(next_states)
    return dict(q_prior=q_prior, q_pi_samples=q_pi_samples, q_plan=q_plan,
                q_mean=q_mean, r_prior=r_prior, mean=mean, std=std,
                outside=jnp.mean(jnp.any(jnp.abs(pi_samples) > 1, -1)))

  key = jax.random.PRNGKey(args.seed)
  rows, returns = [], []
  start = time.time()
  for episode in range(args.episodes):
    timestep, ret = env.reset(), 0.0
    while not timestep.last():
      s = jnp.asarray(timestep.observation, jnp.float32)
      key, k_plan, k_probe = jax.random.split(key, 3)
      a_plan = jnp.clip(plan(k_plan, s).z / scale, -1, 1)
      rows.append(jax.device_get(probe(k_probe, s, a_plan)))
      timestep = env.step(np.asarray(a_plan))
      ret += float(timestep.reward)
    returns.append(ret)
    print(f'episode {episode}: return {ret:.1f} under planning '
          f'({time.time() - start:.0f} s)', flush=True)

  pct = lambda value, pool: 100.0 * float(np.mean(pool < value))
  plan_pct = np.array([pct(r['q_plan'], r['q_prior']) for r in rows])
  mean_pct = np.array([pct(r['q_mean'], r['q_prior']) for r in rows])
  rho = np.array([stats.spearman(r['q_prior'], r['r_prior'])
                  for r in rows])
  informative = np.array([np.ptp(r['r_prior']) > 1e-6 for r in rows])
  q_level = np.array([np.mean(r['q_prior']) for r in rows])
  q_spread_prior = np.array([np.std(r['q_prior']) for r in rows])
  q_spread_pi = np.array([np.std(r['q_pi_samples']) for r in rows])
  means = np.stack([r['mean'] for r in rows])
  stds = np.stack([r['std'] for r in rows])
  outside = np.array([r['outside'] for r in rows])
  result = {
      'run': args.run, 'task': task, 'learner_steps': step,
      'states': len(rows), 'planning_return': float(np.mean(returns)),
      'plan_q_percentile_median': float(np.median(plan_pct)),
      'pi_mean_q_percentile_median': float(np.median(mean_pct)),
      'spearman_q_vs_model_reward_median': float(
          np.nanmedian(rho[informative])) if informative.any() else None,
      'states_with_model_reward_spread': float(np.mean(informative)),
      'q_level_median': float(np.median(q_level)),
      'q_spread_over_prior_median': float(np.median(q_spread_prior)),
      'q_spread_over_pi_samples_median': float(np.median(q_spread_pi)),
      'pi_mean_abs': float(np.mean(np.abs(means))),
      'pi_mean_across_states_std': float(np.mean(np.std(means, axis=0))),
      'pi_std_mean': float(np.mean(stds)),
      'pi_samples_outside_box': float(np.mean(outside)),
  }
  print(f'RL-HL critic at learner step {step} ({task}), {len(rows)} states '
        f'visited by planning (return {result["planning_return"]:.1f}):')
  print(f'  planner\'s skill: Q percentile among prior draws, median '
        f'{result["plan_q_percentile_median"]:.0f} % (50 % = a random '
        'skill)')
  print(f'  pi\'s mean skill: median percentile '
        f'{result["pi_mean_q_percentile_median"]:.0f} %')
  print('  Spearman(Q, model reward one jump ahead) over prior draws, '
        f'median: {result["spearman_q_vs_model_reward_median"]} (at '
        f'{100 * result["states_with_model_reward_spread"]:.0f} % of states '
        'the model reward varies)')
  print(f'  Q level {result["q_level_median"]:.1f}; spread over prior '
        f'draws {result["q_spread_over_prior_median"]:.2f}, over pi\'s '
        f'samples {result["q_spread_over_pi_samples_median"]:.2f}')
  print(f'  pi: mean |mean| {result["pi_mean_abs"]:.3f} (0 at the start), '
        f'std across states {result["pi_mean_across_states_std"]:.3f}, '
        f'stddev {result["pi_std_mean"]:.3f}, samples outside [-1, 1] '
        f'{100 * result["pi_samples_outside_box"]:.0f} %')
  print(json.dumps(result))


if __name__ == '__main__':
  main()
