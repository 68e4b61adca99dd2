"""Configuration of the skill VAE with its jumpy model (paper, Phase 1)."""

import dataclasses
from typing import Tuple


@dataclasses.dataclass
class SkillVAEConfig:
  """Sizes, loss weights and optimisation of the phase-1 learner.

  Sizes follow the paper's "Experiments" paragraph; K = 1 gives the
  non-jumpy baseline with the same code.
  """
  # Data.
  K: int = 10  # pylint: disable=invalid-name  # Actions per snippet.
  state_size: int = 86
  action_size: int = 5

  # Networks.
  embed_sizes: Tuple[int, ...] = (256, 256, 128)   # phi; LayerNorm after 1st.
  # The 1x1 convolution over time mixes the K+1 embeddings at each feature
  # (time as input channels) into `conv_channels` channels.
  conv_channels: int = 8
  encoder_sizes: Tuple[int, ...] = (256, 256)      # Then a linear 2 x latent.
  latent_size: int = 32
  decoder_sizes: Tuple[int, ...] = (256, 256, 256, 256)
  min_std: float = 1e-4  # std = softplus(raw) + min_std.
  # What the action decoder p(a | s, z) sees of s (the paper leaves it
  # open). State indices listed here reach it as the dataset's mean (0 after
  # standardising): hiding the velocities and torques keeps the decoder from
  # continuing the ongoing motion from s alone, so z must carry it
  # (docs/phase1.md, "Making z matter"). The encoder and the jumpy decoder
  # see the whole state.
  action_input_hidden: Tuple[int, ...] = ()
  # Training only: Gaussian noise of this std on the standardised state the
  # action decoder sees.
  action_input_noise: float = 0.0
  # Training only: with probability action_input_dropout per snippet, these
  # state indices too reach the action decoder as the mean, for the whole
  # snippet. z then has to carry what they would tell (e.g. whether the
  # fingers are closing), while at acting time the decoder still sees them.
  action_input_dropped: Tuple[int, ...] = ()
  action_input_dropout: float = 0.0

  # The jumpy decoder's input: phi(s_t) and z, and with this set also the
  # action decoder's first action a_t = p(a | s_t, z) (its mean, gradient
  # stopped), so that what the skill will do with the gripper is an input
  # rather than something to relearn from z (docs/results.md, session 28).
  jumpy_input_action: bool = False

  # Loss (Eq. 1-2): KL + beta_a * action L2 + beta_s * jumpy-state L2.
  beta_a: float = 100.0
  beta_s: float = 100.0
  # Free bits (Kingma et al., 2016): a latent dimension's KL below this many
  # nats is not penalised, so the encoder may use it for free. 0: Eq. (1).
  free_bits: float = 0.0

  # Optimisation.
  batch_size: int = 256
  learning_rate: float = 3e-4
  max_grad_norm: float = 10.0
  sgd_steps_per_step: int = 4  # SGD steps per learner.step(), via lax.scan.
  seed: int = 0

  # Checkpoints: every `checkpoint_every` learner steps; keep the last few.
  checkpoint_every: int = 500
  checkpoints_to_keep: int = 3

  def __post_init__(self):
    def positive_int(name):
      value = getattr(self, name)
      if not (isinstance(value, int) and value >= 1):
        raise ValueError(f'{name}: expected an integer >= 1, got {value!r}.')
    for name in ('K', 'state_size', 'action_size', 'conv_channels',
                 'latent_size', 'batch_size', 'sgd_steps_per_step',
                 'checkpoint_every', 'checkpoints_to_keep'):
      positive_int(name)
    for name in ('embed_sizes', 'encoder_sizes', 'decoder_sizes'):
      sizes = tuple(getattr(self, name))
      if not sizes or any(int(s) < 1 for s in sizes):
        raise ValueError(f'{name}: expected positive layer sizes, got '
                         f'{sizes!r}.')
      setattr(self, name, sizes)
    for name in ('min_std', 'learning_rate', 'max_grad_norm'):
      if not getattr(self, name) > 0:
        raise ValueError(f'{name}: expected > 0, got {getattr(self, name)}.')
    hidden = tuple(int(i) for i in self.action_input_hidden)
    bad = [i for i in hidden if not 0 <= i < self.state_size]
    if bad or len(set(hidden)) != len(hidden):
      raise ValueError(
          'action_input_hidden: expected distinct state indices in [0, '
          f'{self.state_size}), got {tuple(self.action_input_hidden)!r}.')
    self.action_input_hidden = tuple(sorted(hidden))
    dropped = tuple(int(i) for i in self.action_input_dropped)
    bad = [i for i in dropped if not 0 <= i < self.state_size or i in hidden]
    if bad or len(set(dropped)) != len(dropped):
      raise ValueError(
          'action_input_dropped: expected distinct state indices in [0, '
          f'{self.state_size}) not in action_input_hidden, got '
          f'{tuple(self.action_input_dropped)!r}.')
    self.action_input_dropped = tuple(sorted(dropped))
    if not 0 <= self.action_input_dropout < 1:
      raise ValueError('action_input_dropout: expected in [0, 1), got '
                       f'{self.action_input_dropout}.')
    if bool(dropped) != (self.action_input_dropout > 0):
      raise ValueError(
          'action_input_dropout: expected > 0 exactly when '
          f'action_input_dropped is set; got {self.action_input_dropout} '
          f'with action_input_dropped {dropped!r}.')
    if not isinstance(self.jumpy_input_action, bool):
      raise ValueError('jumpy_input_action: expected True or False, got '
                       f'{self.jumpy_input_action!r}.')
    for name in ('beta_a', 'beta_s', 'free_bits', 'action_input_noise'):
      if getattr(self, name) < 0:
        raise ValueError(f'{name}: expected >= 0, got {getattr(self, name)}.')
