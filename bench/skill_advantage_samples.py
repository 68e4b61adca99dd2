"""How many skill transitions does a critic need to see what z does?
(issue [rl-curves], item 3)

RL-HL's critic must learn how the reward after a skill depends on z at a
state. bench/rl_hl_critic.py found that after ~5k updates on ~4k skill
transitions it does not (Q ranks the planner's skill at the 50th
percentile of prior draws). This bench asks whether that many samples can
suffice even without TD: a supervised regression on a noise-free proxy.

At data states s (first states of the dataset's snippets) and skills
z ~ N(0, I), the label is the task reward one jump ahead under the jumpy
model, y = r(f(s, z)) (what the planner scores). An MLP g(s, z) (the DMPO
critic's torso: LayerNorm-MLP 512-512-256 on standardised s and z / 2)
is fit by Adam on N (s, z, y) triples, N in --sizes (--sgd_steps steps
of --batch_size, in shuffled epochs; --loss=pairs fits differences
between two skills at a state instead). On held-out states, each with
--skills draws of z, it reports
  - the Spearman correlation over z at a state between g and y (median
    over states where y varies with z): can g rank skills?
  - the share of y's variance that is within states (the part z
    controls).
RL-HL at 100k primitive steps sees 10k skill transitions; at 40k, 4k.
Ends with one JSON line.

  python bench/skill_advantage_samples.py --checkpoint=pretrained/k10 \
      --dataset=results/reference/data_k10
"""

import argparse
import json
import time

import numpy as np

from jumpy_acme.utils import stats



def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--checkpoint', default='pretrained/k10')
  parser.add_argument('--dataset', required=True)
  parser.add_argument('--task', default='reach_red')
  parser.add_argument('--sizes', default='4000,10000,40000,160000')
  parser.add_argument('--sgd_steps', type=int, default=5000,
                      help='SGD steps per size (RL-HL makes ~5k by 40k '
                      'primitive steps at make rl-curves\' ratio).')
  parser.add_argument('--batch_size', type=int, default=64)
  parser.add_argument('--test_states', type=int, default=300)
  parser.add_argument('--skills', type=int, default=64)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--loss', default='value', choices=['value', 'pairs'],
                      help='value: regress y (as a critic does); pairs: '
                      'regress g(s, z1) - g(s, z2) on y1 - y2 for two '
                      'skills at the same state (the state\'s share of y '
                      'cancels, as in an advantage head); N counts states.')
  parser.add_argument('--features', default='state',
                      choices=['state', 'model'],
                      help='state: g sees (s, z), as DMPO\'s critic; model: '
                      'g also sees the jumpy model\'s prediction f(s, z) '
                      '(standardised), as --critic_features=model does.')
  args = parser.parse_args()

  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import optax  # pylint: disable=g-import-not-at-top
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  from jumpy_acme import dataset_files  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents import skill_vae  # pylint: disable=g-import-not-at-top
  from jumpy_acme.agents.dmpo import networks as dmpo_networks  # pylint: disable=g-import-not-at-top
  from jumpy_acme.environments.rgb_stacking import rewards  # pylint: disable=g-import-not-at-top

  start = time.time()
  model = skill_vae.load(args.checkpoint)
  data = dataset_files.load(args.dataset)
  states_all = np.asarray(data.observations[:, 0], np.float32)
  rng = np.random.default_rng(args.seed)
  order = rng.permutation(len(states_all))
  test_states = states_all[order[:args.test_states]]
  train_pool = states_all[order[args.test_states:]]
  sizes = [int(s) for s in args.sizes.split(',')]
  reward_fn = rewards.jax_reward(args.task)
  latent = model.latent_size

  @jax.jit
  def label(s, z):
    return jax.vmap(lambda a, b: reward_fn(model.predict_next_state(a, b)))(
        s, z)

  def labelled(states, key):
    z = jax.random.normal(key, (len(states), latent))
    ys = [label(states[i:i + 4096], z[i:i + 4096])
          for i in range(0, len(states), 4096)]
    return np.asarray(z), np.concatenate([np.asarray(y) for y in ys])

  predict = jax.vmap(model.predict_next_state)
  mean = np.asarray(model.normalization.state_mean)
  std = np.asarray(model.normalization.state_std)

  class Critic(nn.Module):
    @nn.compact
    def __call__(self, s, z):
      inputs = [(s - mean) / std, z / 2.0]
      if args.features == 'model':
        inputs.append((predict(s, z) - mean) / std)
      x = jnp.concatenate(inputs, -1)
      x = dmpo_networks.LayerNormMLP((512, 512, 256))(x)
      return nn.Dense(1)(x)[..., 0]

  critic = Critic()
  key = jax.random.PRNGKey(args.seed)
  key, k_test = jax.random.split(key)
  test_z = jax.random.normal(k_test, (args.test_states, args.skills, latent))
  test_s = np.repeat(test_states[:, None], args.skills, 1)
  test_y = np.asarray(label(test_s.reshape(-1, test_s.shape[-1]),
                            test_z.reshape(-1, latent))).reshape(
                                args.test_states, args.skills)
  within = float(np.mean(np.var(test_y, 1)) / max(np.var(test_y), 1e-12))
  varies = np.ptp(test_y, 1) > 1e-6
  optimiser = optax.adam(1e-4)

  @jax.jit
  def update(params, opt_state, s, z, y):
    def loss(p):
      if args.loss == 'pairs':  # z, y: [B, 2, ...], the same state twice.
        g = critic.apply(p, jnp.repeat(s[:, None], 2, 1), z)
        return jnp.mean(((g[:, 0] - g[:, 1]) - (y[:, 0] - y[:, 1])) ** 2)
      return jnp.mean((critic.apply(p, s, z) - y) ** 2)
    value, grads = jax.value_and_grad(loss)(params)
    updates, opt_state = optimiser.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, value

  results = {}
  for size in sizes:
    if size > len(train_pool):
      print(f'size {size}: more than the {len(train_pool)} data states; '
            'skipped')
      continue
    key, k_data, k_init = jax.random.split(key, 3)
    s = train_pool[rng.choice(len(train_pool), size, replace=False)]
    if args.loss == 'pairs':
      z, y = labelled(np.repeat(s, 2, 0), k_data)
      z, y = z.reshape(size, 2, latent), y.reshape(size, 2)
    else:
      z, y = labelled(s, k_data)
    params = critic.init(k_init, s[:1], z[:1].reshape(-1, latent)[:1])
    opt_state = optimiser.init(params)
    steps = 0
    while steps < args.sgd_steps:  # Epochs of shuffled batches.
      perm = rng.permutation(size)
      for i in range(0, size - args.batch_size + 1, args.batch_size):
        b = perm[i:i + args.batch_size]
        params, opt_state, _ = update(params, opt_state, s[b], z[b], y[b])
        steps += 1
        if steps == args.sgd_steps:
          break
    pred = np.asarray(critic.apply(
        params, test_s.reshape(-1, test_s.shape[-1]),
        test_z.reshape(-1, latent))).reshape(test_y.shape)
    rho = [stats.spearman(pred[i], test_y[i]) for i in np.flatnonzero(varies)]
    results[size] = {'sgd_steps': steps,
                     'spearman_over_z_median': float(np.nanmedian(rho)),
                     'test_mse': float(np.mean((pred - test_y) ** 2))}
    print(f'{args.loss}: N = {size:>7,} (s, z, y) triples, {steps:,} SGD '
          f'steps of {args.batch_size}: rank correlation over z at a '
          'state, median '
          f'{results[size]["spearman_over_z_median"]:.2f}; held-out MSE '
          f'{results[size]["test_mse"]:.4f} ({time.time() - start:.0f} s)',
          flush=True)
  print(f'{args.task}: {100 * within:.1f} % of the one-jump reward\'s '
        f'variance is within states (what z controls); y varies with z at '
        f'{100 * np.mean(varies):.0f} % of {args.test_states} held-out '
        'states')
  print(json.dumps({'task': args.task, 'loss': args.loss,
                    'features': args.features,
                    'within_state_variance_share': within,
                    'states_where_z_matters': float(np.mean(varies)),
                    'results': {str(k): v for k, v in results.items()}}))


if __name__ == '__main__':
  main()
