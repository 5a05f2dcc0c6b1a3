"""cellc.nn: Cell (MindSpore) / Module (LuoJiaNET), layers and losses.

A layer module's public classes (its `__all__`) are exported here: a new layer in an existing
module needs no line of its own."""

from cellc import compat

from . import activation, conv, dropout, layers, loss, normalization, pooling
from .activation import *  # noqa: F403
from .cell import Cell, CellList, Module, SequentialCell
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .layers import *  # noqa: F403  (every layer: layers.__all__)
from .loss import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403

__all__ = [
    "Cell",
    "CellList",
    "Module",
    "SequentialCell",
    *layers.__all__,
    *loss.__all__,
    *dropout.__all__,
    *normalization.__all__,
    *activation.__all__,
    *conv.__all__,
    *pooling.__all__,
]


def __getattr__(name: str):
    raise compat.missing("nn", name)
