"""cellc.nn: Cell (MindSpore) / Module (LuoJiaNET), layers and losses.

A layer module's public classes (its `__all__`) are exported here: a new layer in an existing
module needs no line of its own."""

from . import layers
from .cell import Cell, CellList, Module, SequentialCell
from .layers import *  # noqa: F403  (every layer: layers.__all__)

__all__ = ["Cell", "CellList", "Module", "SequentialCell", *layers.__all__]
