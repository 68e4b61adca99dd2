"""The phase-1 jumpy model in the form the planner shares work with.

The jumpy decoder's first layer acts on concat(phi(s), z):
W1 = [W1_phi; W1_z], so W1^T [phi(s); z] = W1_phi^T phi(s) + W1_z^T z. The
first term depends on the state alone: for the current state, which all N
plans start from, the planner computes it (and phi(s)) once.
"""


from jumpy_acme.agents.planning import planner
from jumpy_acme.agents.skill_vae import losses
from jumpy_acme.agents.skill_vae import networks as networks_lib
from jumpy_acme.utils import activations


def skill_vae_model(networks: networks_lib.SkillVAENetworks, params,
                    normalization: losses.Normalization
                    ) -> planner.JumpyModel:
  """JumpyModel equal to losses.predict_next_state (raw states in and out).

  features(s [S]) -> [D1]: W1_phi^T phi(standardise(s)) + b1.
  predict(f [D1], s [S], z [Z]) -> s + denormalise(MLP(elu(f + W1_z^T z))).
  """
  decoder = params['params']['jumpy_decoder']
  layers = [decoder[f'Dense_{i}'] for i in range(len(decoder))]
  embed_size = networks.config.embed_sizes[-1]
  first = layers[0]
  w_phi, w_z = first['kernel'][:embed_size], first['kernel'][embed_size:]

  def features(state):
    phi = networks.embed(params, normalization.standardise(state))
    return phi @ w_phi + first['bias']

  def predict(first_features, state, z):
    x = activations.elu(first_features + z @ w_z)
    for layer in layers[1:-1]:
      x = activations.elu(x @ layer['kernel'] + layer['bias'])
    delta = x @ layers[-1]['kernel'] + layers[-1]['bias']
    return state + normalization.denormalise_delta(delta)

  return planner.JumpyModel(features, predict)
