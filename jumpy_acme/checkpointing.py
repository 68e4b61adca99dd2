"""Orbax checkpoints of named pytrees and of the config that made them.

A checkpoint is one orbax step directory, `directory/<step>/`, holding one
item per pytree given to `CheckpointManager.save` (orbax StandardSave of the
tree as a dict; a NamedTuple is saved as its `_asdict()`) and the item
'config': the config dataclass as JSON (`dataclasses.asdict`). A learner uses
it so:

  manager = checkpointing.CheckpointManager(
      directory, config, structural_fields=('K', 'latent_size'),
      max_to_keep=config.checkpoints_to_keep)
  restored = manager.restore_latest(state=state)  # None: nothing saved yet.
  ...
  manager.save(int(state.step), state=state)

`restore_latest` first compares the fields of the saved config that fix the
model's structure (network sizes: the parameters' shapes) with the current
config, and refuses a checkpoint written with another model with an error
naming each field that differs, instead of orbax failing on mismatched
shapes. Host-side file I/O: NOT jittable.
"""

import dataclasses
import os
from typing import Any, Dict, Mapping, Optional, Sequence

CONFIG_ITEM = 'config'  # The item that holds the config's JSON.


def latest_step(directory: str) -> Optional[int]:
  """The step of the latest checkpoint in `directory` (read only), or None
  when there is none or the directory does not exist."""
  if not os.path.isdir(directory):
    return None
  return CheckpointManager(directory, read_only=True).latest_step()


class CheckpointManager:
  """Saves and restores named pytrees plus the config (NOT jittable)."""

  def __init__(self, directory: str, config: Any = None,
               structural_fields: Sequence[str] = (),
               max_to_keep: Optional[int] = None, read_only: bool = False):
    """Opens (and, unless read_only, creates) a checkpoint directory.

    Args:
      directory: where the step directories are (or go).
      config: a dataclass instance; saved with every checkpoint and checked
        against the saved one by `restore_latest`. Needed to save.
      structural_fields: names of config fields a checkpoint must agree on
        to be restored (lists and tuples compare equal).
      max_to_keep: keep only the latest few checkpoints (default: all).
      read_only: only read checkpoints; do not create the directory.
    """
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
    if config is not None and not dataclasses.is_dataclass(config):
      raise TypeError(f'config: expected a dataclass instance, got '
                      f'{type(config).__name__}.')
    missing = [name for name in structural_fields
               if config is None or not hasattr(config, name)]
    if missing:
      raise ValueError(f'structural_fields: {missing} are not fields of the '
                       f'config ({type(config).__name__}).')
    self._ocp = ocp
    self._config = config
    self._structural_fields = tuple(structural_fields)
    if read_only:
      options = ocp.CheckpointManagerOptions(read_only=True, create=False)
    else:
      options = ocp.CheckpointManagerOptions(
          max_to_keep=max_to_keep, create=True,
          enable_async_checkpointing=False)
    self._manager = ocp.CheckpointManager(os.path.abspath(directory),
                                          options=options)

  def latest_step(self) -> Optional[int]:
    """The step of the latest checkpoint; None when there is none."""
    return self._manager.latest_step()

  def save(self, step: int, **trees: Any) -> None:
    """Saves each tree under its name, and the config; returns once written.

    Args:
      step: the checkpoint's step (its directory name).
      **trees: name=tree, each tree a dict or NamedTuple of arrays.
    """
    if self._config is None:
      raise ValueError('config: a CheckpointManager without a config cannot '
                       'save (every checkpoint holds the config).')
    if not trees:
      raise ValueError('trees: nothing to save; pass name=tree.')
    if CONFIG_ITEM in trees:
      raise ValueError(f'trees: {CONFIG_ITEM!r} is the config\'s item; give '
                       'the tree another name.')
    ocp = self._ocp
    items = {name: ocp.args.StandardSave(_as_dict(name, tree))
             for name, tree in trees.items()}
    items[CONFIG_ITEM] = ocp.args.JsonSave(dataclasses.asdict(self._config))
    self._manager.save(int(step), args=ocp.args.Composite(**items))
    self._manager.wait_until_finished()

  def saved_config(self, step: int) -> Dict[str, Any]:
    """The config saved at `step`, as JSON gives it back (lists for tuples)."""
    ocp = self._ocp
    return self._manager.restore(step, args=ocp.args.Composite(
        **{CONFIG_ITEM: ocp.args.JsonRestore()}))[CONFIG_ITEM]

  def check_structure(self, saved_config: Mapping[str, Any]) -> None:
    """Raises ValueError naming each structural field that differs. A field
    the checkpoint lacks (written before the field existed) counts as the
    config class's default, which that checkpoint was trained with."""
    defaults = {f.name: f.default for f in dataclasses.fields(self._config)
                if f.default is not dataclasses.MISSING}
    saved = lambda name: saved_config.get(name, defaults.get(name))
    mismatched = [
        f'{name}: checkpoint {saved(name)!r}, config '
        f'{getattr(self._config, name)!r}'
        for name in self._structural_fields
        if _as_tuple(saved(name)) != _as_tuple(getattr(self._config, name))]
    if mismatched:
      raise ValueError('checkpoint_dir: the checkpoint was written with '
                       'another model: ' + '; '.join(mismatched) + '.')

  def restore(self, step: int, **templates: Any) -> Dict[str, Any]:
    """The trees saved at `step` (no config check).

    Args:
      step: which checkpoint.
      **templates: name=template, a tree of the saved structure, shapes and
        dtypes (a dict or NamedTuple).

    Returns:
      {name: tree}: each tree of its template's type (a NamedTuple template
      gives a NamedTuple back; a dict, a dict).
    """
    if not templates:
      raise ValueError('templates: nothing to restore; pass name=template.')
    ocp = self._ocp
    restored = self._manager.restore(step, args=ocp.args.Composite(**{
        name: ocp.args.StandardRestore(_as_dict(name, template))
        for name, template in templates.items()}))
    return {name: (type(template)(**restored[name])
                   if _is_namedtuple(template) else dict(restored[name]))
            for name, template in templates.items()}

  def restore_latest(self, **templates: Any) -> Optional[Dict[str, Any]]:
    """The latest checkpoint's trees, as `restore`; None if there is none.

    Raises:
      ValueError: the checkpoint was written with another model (a
        structural field of its config differs from this config's).
    """
    step = self.latest_step()
    if step is None:
      return None
    self.check_structure(self.saved_config(step))
    return self.restore(step, **templates)


def _is_namedtuple(tree: Any) -> bool:
  return isinstance(tree, tuple) and hasattr(tree, '_asdict')


def _as_dict(name: str, tree: Any) -> Dict[str, Any]:
  if _is_namedtuple(tree):
    return tree._asdict()
  if isinstance(tree, Mapping):
    return dict(tree)
  raise TypeError(f'{name}: expected a dict or NamedTuple, got '
                  f'{type(tree).__name__}.')


def _as_tuple(value):
  return tuple(value) if isinstance(value, (list, tuple)) else value
