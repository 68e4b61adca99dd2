"""RGB-stacking rebuilt from dm_robotics parts (see docs/tasks.md)."""
