"""Where a program's processes run: flags shared by every launcher that
starts workers (collect, train_phase1 --on_the_fly, train_rl, evaluate).

  from jumpy_acme.launchers import launcher_flags
  launcher = launcher_flags.make(tables=functools.partial(...), ...)
  launcher.add_workers('actor', fn, num=2, resources=launcher_flags.actor())

--launcher=local (default) runs processes on this machine; --launcher=ray
runs them on a Ray cluster (--ray_address; none starts a local instance).
docs/distributed.md says more.
"""

from typing import Any, Dict

from absl import flags

from jumpy_acme import launcher as launcher_lib

LAUNCHER = flags.DEFINE_enum('launcher', 'local', list(launcher_lib.LAUNCHERS),
                             'Where workers run: this machine or Ray.')
RAY_ADDRESS = flags.DEFINE_string(
    'ray_address', None, 'With --launcher=ray: a running cluster ("auto", '
    'host:port or ray://host:port); unset starts a local Ray instance.')
RAY_ACTOR_CPUS = flags.DEFINE_float(
    'ray_actor_cpus', 1.0, 'With --launcher=ray: CPUs each actor or '
    'evaluator worker reserves.')
RAY_LEARNER_GPUS = flags.DEFINE_float(
    'ray_learner_gpus', 0.0, 'With --launcher=ray: GPUs the learner '
    'reserves (it then runs on a node that has them).')
RAY_NUM_CPUS = flags.DEFINE_integer(
    'ray_num_cpus', None, 'With --launcher=ray and no --ray_address: CPUs '
    'of the local instance (default: all).')


def make(**kwargs):
  """The launcher the flags choose, built with `kwargs` (ValueError names a
  bad flag)."""
  init = {}
  if RAY_NUM_CPUS.value is not None:
    init['num_cpus'] = RAY_NUM_CPUS.value
  return launcher_lib.make_launcher(LAUNCHER.value,
                                    ray_address=RAY_ADDRESS.value,
                                    ray_init_kwargs=init, **kwargs)


def actor() -> Dict[str, Any]:
  return {'num_cpus': RAY_ACTOR_CPUS.value}


def learner() -> Dict[str, Any]:
  return {'num_cpus': 1, 'num_gpus': RAY_LEARNER_GPUS.value}
