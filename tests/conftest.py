"""Shared test fixtures: a real Reverb server on localhost."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import pytest  # noqa: E402
import reverb  # noqa: E402

from jumpy_acme import replay  # noqa: E402


@pytest.fixture
def reverb_server():
  """Returns a factory: tables -> (server, client); servers stop at teardown."""
  servers = []

  def make(tables):
    server = reverb.Server(tables, port=None)
    servers.append(server)
    return server, reverb.Client(f'localhost:{server.port}')

  yield make
  for server in servers:
    server.stop()


def fifo_table(name, signature=None, max_size=1000):
  """A queue: items come out once, in insertion order."""
  return reverb.Table(
      name=name,
      sampler=reverb.selectors.Fifo(),
      remover=reverb.selectors.Fifo(),
      max_size=max_size,
      rate_limiter=reverb.rate_limiters.MinSize(1),
      max_times_sampled=1,
      signature=signature)


def drain(client, table):
  """All items currently in a Fifo `table`, in insertion order."""
  return replay.drain(client, table)
