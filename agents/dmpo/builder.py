"""DMPOBuilder: every piece of a DMPO agent, from an environment spec.

Data flow: actor (make_actor) -> NStepTransitionAdder (make_adder) -> the
replay table (make_replay_tables) -> make_dataset_iterator -> DMPOLearner
(make_learner) -> the learner itself, or a variable table when the program
serves one -> actors.

make_replay_tables gives the replay table alone, as Acme's builders do, so
Acme's run_experiment can rewrite its rate limiter. A program whose actors
live in other processes adds `variables.make_variable_table(
config.variable_table_name)` to its server; the learner publishes to it when
it is there.

  builder = DMPOBuilder(config)
  networks = make_networks(environment_spec, config)
  server = reverb.Server(builder.make_replay_tables(environment_spec, None))
  client = reverb.Client(f'localhost:{server.port}')
  learner = builder.make_learner(key, networks,
                                 builder.make_dataset_iterator(client),
                                 logger_fn, environment_spec, client)
  actor = builder.make_actor(key, builder.make_policy(networks, spec),
                             environment_spec, learner,
                             builder.make_adder(client, spec, None))
"""

from typing import Iterator, List, Optional

import jax
import reverb

from jumpy_acme import adders
from jumpy_acme import builders
from jumpy_acme import core
from jumpy_acme import datasets
from jumpy_acme import replay
from jumpy_acme import specs
from jumpy_acme import variables
from jumpy_acme.adders import reverb as reverb_adders
from jumpy_acme.agents.dmpo import acting
from jumpy_acme.agents.dmpo import config as config_lib
from jumpy_acme.agents.dmpo import learning
from jumpy_acme.agents.dmpo import networks as networks_lib
from jumpy_acme.utils import counting


class DMPOBuilder(builders.ActorLearnerBuilder):
  """Makes DMPO's replay, acting and learning pieces."""

  def __init__(self, config: config_lib.DMPOConfig,
               checkpoint_dir: Optional[str] = None, num_devices: int = 1):
    """Initializes the builder.

    Args:
      config: the agent's configuration.
      checkpoint_dir: where the learner checkpoints (and resumes from).
      num_devices: local devices the learner splits each batch over (data
        parallel; config.batch_size must divide by it).
    """
    self.config = config
    self._checkpoint_dir = checkpoint_dir
    self._num_devices = num_devices

  def make_replay_tables(self, environment_spec: specs.EnvironmentSpec,
                         policy: Optional[acting.Policy] = None
                         ) -> List[reverb.Table]:
    """The n-step transition table (uniform, FIFO-evicted, rate-limited)."""
    del policy  # No extras: the signature is the environment's alone.
    config = self.config
    error_buffer = None
    if config.samples_per_insert is not None:
      error_buffer = replay.default_error_buffer(
          config.min_replay_size, config.samples_per_insert,
          config.samples_per_insert_tolerance_rate)
    tables = [replay.rate_limited_table(
        config.replay_table_name,
        reverb_adders.NStepTransitionAdder.signature(environment_spec),
        config.max_replay_size, config.min_replay_size,
        config.samples_per_insert, error_buffer)]
    return tables

  def make_dataset_iterator(self, replay_client: reverb.Client
                            ) -> Iterator[reverb.ReplaySample]:
    """Batches of sgd_steps_per_step x batch_size transitions, prefetched
    onto the default device."""
    config = self.config
    return datasets.make_dataset_iterator(
        replay_client.server_address, config.replay_table_name,
        batch_size=config.batch_size * config.sgd_steps_per_step,
        prefetch_size=config.prefetch_size, device_put=True)

  def make_adder(self, replay_client: reverb.Client,
                 environment_spec: Optional[specs.EnvironmentSpec],
                 policy: Optional[acting.Policy]) -> Optional[adders.Adder]:
    del policy
    if environment_spec is None:
      raise ValueError('environment_spec: the n-step adder checks values '
                       'against it; got None.')
    return reverb_adders.NStepTransitionAdder(
        replay_client, n_step=self.config.n_step,
        discount=self.config.discount, environment_spec=environment_spec,
        table=self.config.replay_table_name)

  def make_actor(self, random_key: jax.Array, policy: acting.Policy,
                 environment_spec: specs.EnvironmentSpec,
                 variable_source: Optional[core.VariableSource] = None,
                 adder: Optional[adders.Adder] = None) -> core.Actor:
    """An actor whose parameters come from `variable_source` (a learner, or
    a variables.VariableClient of a remote one), fetched every
    config.variable_update_period calls to update(), as Acme's builders do.
    """
    if variable_source is None:
      raise ValueError('variable_source: expected a VariableSource (e.g. the '
                       'learner or a variables.VariableClient), got None.')
    client = variables.SourceVariableClient(
        variable_source, ['policy'],
        update_period=self.config.variable_update_period)
    return acting.DMPOActor(policy, random_key, client, adder,
                            action_dtype=environment_spec.actions.dtype)

  def make_learner(self, random_key: jax.Array,
                   networks: networks_lib.DMPONetworks,
                   dataset: Iterator[reverb.ReplaySample],
                   logger_fn: builders.LoggerFn,
                   environment_spec: specs.EnvironmentSpec,
                   replay_client: Optional[reverb.Client] = None,
                   counter: Optional[counting.Counter] = None
                   ) -> core.Learner:
    """The learner; it publishes its policy to config.variable_table_name
    when the replay client's server has that table (programs with actors in
    other processes); otherwise actors read the learner itself."""
    del environment_spec  # The networks carry what the learner needs.
    publisher = None
    if (replay_client is not None and self.config.variable_table_name and
        self.config.variable_table_name in replay_client.server_info()):
      publisher = variables.VariablePublisher(
          replay_client, self.config.variable_table_name)
    return learning.DMPOLearner(
        networks, dataset, random_key=random_key,
        logger=logger_fn('learner', steps_key='learner_steps'),
        counter=counter, checkpoint_dir=self._checkpoint_dir,
        publisher=publisher, num_devices=self._num_devices)

  def make_policy(self, networks: networks_lib.DMPONetworks,
                  environment_spec: specs.EnvironmentSpec,
                  evaluation: bool = False) -> acting.Policy:
    del environment_spec  # The networks carry the action box.
    return acting.make_policy(networks, evaluation)
