"""A tiny 2-D point mass: a fast, dependency-free debugging environment.

Not part of the paper: it stands in for RGB-stacking wherever a test, a
smoke run or a debug preset needs real continuous control in milliseconds.

State (float32, 4): position x, y in [-1, 1]^2, velocity vx, vy.
Action (float32, 2): force in [-1, 1]^2 (clipped).
Reward in [0, 1]: 1 - tanh(|position - goal| / 0.3)^2; the goal is fixed
by `goal`. Episodes last `episode_length` steps; the discount is always 1.
"""

import dm_env
from dm_env import specs
import numpy as np


class PointMass(dm_env.Environment):
  """x'' = force - damping x', integrated with semi-implicit Euler."""

  def __init__(self, episode_length: int = 100, dt: float = 0.05,
               damping: float = 1.0, goal=(0.5, 0.5), seed: int = 0):
    if episode_length < 1:
      raise ValueError(f'episode_length: expected >= 1, got {episode_length}.')
    if dt <= 0:
      raise ValueError(f'dt: expected > 0, got {dt}.')
    self._length = episode_length
    self._dt = dt
    self._damping = damping
    self.goal = np.asarray(goal, np.float32)
    if self.goal.shape != (2,):
      raise ValueError(f'goal: expected 2 numbers, got {goal!r}.')
    self._rng = np.random.default_rng(seed)
    self._state = np.zeros(4, np.float32)
    self._t = 0

  def reward(self, state: np.ndarray) -> float:
    distance = np.linalg.norm(state[:2] - self.goal)
    return float(1.0 - np.tanh(distance / 0.3) ** 2)

  def reset(self) -> dm_env.TimeStep:
    self._state = np.zeros(4, np.float32)
    self._state[:2] = self._rng.uniform(-1.0, 1.0, size=2)
    self._t = 0
    return dm_env.restart(self._state.copy())

  def step(self, action) -> dm_env.TimeStep:
    action = np.asarray(action, np.float32)
    if action.shape != (2,) or not np.all(np.isfinite(action)):
      raise ValueError(f'action: expected 2 finite numbers, got {action!r}.')
    force = np.clip(action, -1.0, 1.0)
    velocity = self._state[2:] + self._dt * (force - self._damping *
                                             self._state[2:])
    position = np.clip(self._state[:2] + self._dt * velocity, -1.0, 1.0)
    self._state = np.concatenate([position, velocity]).astype(np.float32)
    self._t += 1
    reward = np.float32(self.reward(self._state))
    if self._t >= self._length:
      return dm_env.truncation(reward, self._state.copy())
    return dm_env.transition(reward, self._state.copy())

  def observation_spec(self):
    return specs.Array((4,), np.float32, 'state')

  def action_spec(self):
    return specs.BoundedArray((2,), np.float32, -1.0, 1.0, 'action')

  def reward_spec(self):
    return specs.Array((), np.float32, 'reward')

  def discount_spec(self):
    return specs.BoundedArray((), np.float32, 0.0, 1.0, 'discount')
