"""The fast ELU against jax.nn.elu (its definition, with expm1)."""

import jax
import jax.numpy as jnp
import numpy as np

from jumpy_acme.utils import activations


def test_elu_equals_jax_elu_and_its_gradient():
  x = jnp.concatenate([jnp.linspace(-30.0, 30.0, 20001),
                       jnp.array([-1e-6, 0.0, 1e-6, -88.0, 88.0])])
  np.testing.assert_allclose(activations.elu(x), jax.nn.elu(x), rtol=1e-6,
                             atol=2e-7)
  grad = jax.vmap(jax.grad(activations.elu))(x)
  np.testing.assert_allclose(grad, jax.vmap(jax.grad(jax.nn.elu))(x),
                             rtol=1e-6, atol=2e-7)
  assert np.all(np.isfinite(grad))
  # By hand: elu(-1) = e^-1 - 1, elu(2) = 2; slopes e^-1 and 1.
  np.testing.assert_allclose(activations.elu(jnp.array([-1.0, 2.0])),
                             [np.exp(-1.0) - 1.0, 2.0], rtol=1e-6)
