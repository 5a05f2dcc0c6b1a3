"""cellc.nn: Cell (MindSpore) / Module (LuoJiaNET), layers and losses."""

from .cell import Cell, CellList, Module, SequentialCell
from .layers import Dense, MSELoss, ReLU, Sigmoid, Tanh, WithLossCell

__all__ = [
    "Cell",
    "CellList",
    "Dense",
    "MSELoss",
    "Module",
    "ReLU",
    "SequentialCell",
    "Sigmoid",
    "Tanh",
    "WithLossCell",
]
