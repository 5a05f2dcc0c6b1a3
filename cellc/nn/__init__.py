"""cellc.nn: Cell (MindSpore) / Module (LuoJiaNET), layers and losses.

A layer module's public classes (its `__all__`) are exported here: a new layer in an existing
module needs no line of its own."""

from cellc import compat
from cellc.train import metrics  # nn.Accuracy, ...: mindspore.train's metrics, as MindSpore has
from cellc.train.metrics import *  # noqa: F403

from . import (
    activation,
    conv,
    dropout,
    dynamic_lr,
    layers,
    loss,
    loss_scale,
    normalization,
    optim,
    padding,
    pooling,
    rnns,
    transformer,
    wrap,
)
from .activation import *  # noqa: F403
from .cell import Cell, CellList, Module, SequentialCell
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .dynamic_lr import *  # noqa: F403  (learning-rate lists)
from .layers import *  # noqa: F403  (every layer: layers.__all__)
from .loss import *  # noqa: F403
from .loss_scale import *  # noqa: F403  (float16 training)
from .normalization import *  # noqa: F403
from .optim import *  # noqa: F403  (optimizers and learning-rate cells)
from .padding import *  # noqa: F403
from .pooling import *  # noqa: F403
from .rnns import *  # noqa: F403  (RNN, GRU, LSTM)
from .transformer import *  # noqa: F403  (MultiheadAttention, Transformer layers)
from .wrap import *  # noqa: F403  (training cells)

__all__ = [
    "Cell",
    "CellList",
    "Module",
    "SequentialCell",
    *layers.__all__,
    *loss.__all__,
    *dropout.__all__,
    *dynamic_lr.__all__,
    *normalization.__all__,
    *activation.__all__,
    *conv.__all__,
    *padding.__all__,
    *pooling.__all__,
    *rnns.__all__,
    *transformer.__all__,
    *optim.__all__,
    *wrap.__all__,
    *loss_scale.__all__,
    *metrics.__all__,
]


def __getattr__(name: str):
    raise compat.missing("nn", name)
