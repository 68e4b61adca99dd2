"""Environment wrappers, as Acme's (acme/wrappers)."""

import dm_env


class StepLimitWrapper(dm_env.Environment):
  """Ends every episode after `step_limit` steps with a truncation (discount
  kept), as acme.wrappers.StepLimitWrapper; other calls pass through."""

  def __init__(self, environment: dm_env.Environment, step_limit: int):
    if step_limit < 1:
      raise ValueError(f'step_limit: expected >= 1, got {step_limit}.')
    self._environment = environment
    self._step_limit = step_limit
    self._steps = 0
    self._reset_next_step = True

  def reset(self) -> dm_env.TimeStep:
    self._steps = 0
    self._reset_next_step = False
    return self._environment.reset()

  def step(self, action) -> dm_env.TimeStep:
    if self._reset_next_step:
      return self.reset()
    timestep = self._environment.step(action)
    self._steps += 1
    if self._steps >= self._step_limit and not timestep.last():
      timestep = timestep._replace(step_type=dm_env.StepType.LAST)
    self._reset_next_step = timestep.last()
    return timestep

  def observation_spec(self):
    return self._environment.observation_spec()

  def action_spec(self):
    return self._environment.action_spec()

  def reward_spec(self):
    return self._environment.reward_spec()

  def discount_spec(self):
    return self._environment.discount_spec()

  def __getattr__(self, name):
    # Anything else (render, state, physics, ...) is the wrapped one's.
    if name.startswith('__'):
      raise AttributeError(name)
    return getattr(self._environment, name)
