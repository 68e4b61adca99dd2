"""RGB-stacking's scene constants, defined once (no MuJoCo imports here).

The simulator (scene.py) and the rewards (rewards.py, which the JAX planner
imports without a simulator) both read these. Values are the original's
(../shared/spec/rgb_stacking.md).
"""

# The basket's origin (metres, world frame); its floor is at z 0.0498.
BASKET_ORIGIN = (0.6, 0.0, 0.0498)
BASKET_HEIGHT = BASKET_ORIGIN[2]
# The box the pinch is kept in by the workspace limiter.
WORKSPACE_CENTER = (0.6, 0.0, 0.1698)
WORKSPACE_SIZE = (0.25, 0.25, 0.2)
# The 5-D action: [vx, vy, vz (m/s, world), wz (rad/s), gripper (<= 0 open)].
ACTION_MAXIMUM = (0.07, 0.07, 0.07, 1.0, 255.0)
ACTION_MINIMUM = tuple(-x for x in ACTION_MAXIMUM)
