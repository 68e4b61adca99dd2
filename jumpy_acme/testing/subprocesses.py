"""Child processes that tests stop with Ctrl-C."""

import sys
from typing import List, Sequence


def interruptible_module(module: str, argv: Sequence[str]) -> List[str]:
  """The command that runs `python -m module *argv` with Ctrl-C's handler
  reinstated first.

  A suite started in the background inherits SIGINT as ignored, and Python
  keeps an inherited SIG_IGN, so the child would never see the test's
  Ctrl-C. The handler is set inside the child (no preexec_fn: forking a
  process that runs JAX threads is unsafe).
  """
  name = module.rsplit('.', 1)[-1]
  bootstrap = ('import runpy, signal, sys; '
               'signal.signal(signal.SIGINT, signal.default_int_handler); '
               f'sys.argv = [{name!r}] + {list(argv)!r}; '
               f'runpy.run_module({module!r}, run_name="__main__")')
  return [sys.executable, '-c', bootstrap]
