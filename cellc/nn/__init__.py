"""cellc.nn: Cell (MindSpore) / Module (LuoJiaNET), layers and losses."""

from .cell import Cell, CellList, Module, SequentialCell
from .layers import (
    Dense,
    L1Loss,
    LogSoftmax,
    MSELoss,
    ReLU,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropyWithLogits,
    Tanh,
    WithLossCell,
)

__all__ = [
    "Cell",
    "CellList",
    "Dense",
    "L1Loss",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ReLU",
    "SequentialCell",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropyWithLogits",
    "Tanh",
    "WithLossCell",
]
