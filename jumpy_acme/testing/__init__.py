"""Small, deterministic stand-ins for tests and smoke runs."""
