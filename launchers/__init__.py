"""Launchers (installed as jumpy_acme.launchers): absl-flag entry points,
run as `python -m jumpy_acme.launchers.NAME`. Flags live only here."""
