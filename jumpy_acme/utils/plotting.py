"""matplotlib for files, headless: one place that sets it up."""


def pyplot():
  """matplotlib.pyplot on the Agg backend (PNG files, no display).

  Raises:
    ImportError: with the install command, when matplotlib is missing.
  """
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError('Plots need matplotlib: pip install matplotlib (or '
                      'install jumpy-acme with its dependencies).') from e
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt
