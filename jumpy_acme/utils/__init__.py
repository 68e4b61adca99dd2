"""Infrastructure shared by every agent: counters and loggers."""
