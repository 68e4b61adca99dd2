"""Frames and episode videos, headless.

Rendering needs an OpenGL backend without a display: MUJOCO_GL=osmesa with
Debian's libosmesa6 installed (`make install-render`); the scene picks
osmesa by itself when the library is present. EGL did not render on our
2-core machines. Videos are animated GIFs (Pillow), so no ffmpeg is needed.
"""

from typing import Callable, List, Optional

import mujoco
import numpy as np


class FrameRenderer:
  """Renders RGB frames of a scene's physics from one of its cameras."""

  def __init__(self, physics, height: int = 240, width: int = 320,
               camera: str = 'main_camera'):
    try:
      self._renderer = mujoco.Renderer(physics.model.ptr, height, width)
    except Exception as e:  # pylint: disable=broad-except  # GL setup.
      raise RuntimeError(
          'Could not create an OpenGL context for rendering (MUJOCO_GL='
          f'{mujoco.__dict__.get("_MUJOCO_GL", "?")}). On a headless machine '
          'install libosmesa6 (make install-render) and set MUJOCO_GL=osmesa '
          'before importing mujoco.') from e
    self._physics = physics
    self._camera = camera

  def render(self) -> np.ndarray:
    """[height, width, 3] uint8."""
    self._renderer.update_scene(self._physics.data.ptr, camera=self._camera)
    return self._renderer.render().copy()

  def close(self):
    self._renderer.close()


def write_gif(frames: List[np.ndarray], path: str, fps: float = 20.0):
  """Writes frames [H, W, 3] uint8 as an animated GIF."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  if not frames:
    raise ValueError('frames: expected at least one frame, got none.')
  images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
  images[0].save(path, save_all=True, append_images=images[1:],
                 duration=int(round(1000 / fps)), loop=0)


def record_episode(env, policy: Callable[[np.ndarray], np.ndarray],
                   path: str, max_steps: Optional[int] = None,
                   every: int = 2, height: int = 240, width: int = 320
                   ) -> float:
  """Runs one episode of `policy(observation) -> action`, writes a GIF.

  Args:
    env: an RGBStacking environment.
    policy: maps an observation to a 5-D action.
    path: where the GIF goes.
    max_steps: stop after this many steps (default: the whole episode).
    every: keep one frame every `every` control steps (2: 10 frames/s).
    height, width: frame size.

  Returns:
    The episode's return.
  """
  renderer = FrameRenderer(env.physics, height, width)
  try:
    timestep = env.reset()
    frames, total, steps = [renderer.render()], 0.0, 0
    while not timestep.last() and (max_steps is None or steps < max_steps):
      timestep = env.step(policy(timestep.observation))
      total += float(timestep.reward)
      steps += 1
      if steps % every == 0:
        frames.append(renderer.render())
    write_gif(frames, path, fps=20.0 / every)
  finally:
    renderer.close()
  return total
