"""MindSpore 2.x's loss cells built on `cellc.ops.function`: LossBase (with `get_loss`),
CrossEntropyLoss, BCEWithLogitsLoss and NLLLoss."""

from __future__ import annotations

from cellc import ops
from cellc.ops import function
from cellc.ops import functional as F

from .cell import Cell
from .layers import L1Loss, MSELoss, SoftmaxCrossEntropyWithLogits  # noqa: F401  (mindspore.nn.loss's)

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "LossBase", "NLLLoss"]

_REDUCTIONS = ("mean", "sum", "none")


class LossBase(Cell):
    """Base of user losses: `construct` computes per-element losses and returns
    `self.get_loss(x, weights)`, which weights them and applies `reduction`."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"For '{type(self).__name__}', the 'reduction' must be in {list(_REDUCTIONS)}, "
                f"but got {reduction}."
            )
        self.reduction = reduction

    def get_axis(self, x):
        return tuple(range(F.as_tensor(x).ndim))

    def get_loss(self, x, weights=1.0):
        """x * weights, then its mean, sum or itself ('none'), in x's dtype."""
        x = F.as_tensor(x)
        if not (isinstance(weights, (int, float)) and weights == 1.0):
            x = F.mul(x, weights)
        return function.reduce_loss(x, self.reduction, type(self).__name__)

    def construct(self, logits, labels):
        raise NotImplementedError(f"{type(self).__name__} must define construct")


class CrossEntropyLoss(LossBase):
    """`ops.cross_entropy(logits, labels, weight, ignore_index, reduction, label_smoothing)`."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def construct(self, logits, labels):
        return ops.cross_entropy(
            logits, labels, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class NLLLoss(LossBase):
    """`ops.nll_loss(logits, labels, weight, ignore_index, reduction)`."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index

    def construct(self, logits, labels):
        return ops.nll_loss(logits, labels, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(LossBase):
    """`ops.binary_cross_entropy_with_logits(logits, labels, weight, pos_weight, reduction)`."""

    def __init__(self, reduction="mean", weight=None, pos_weight=None):
        super().__init__(reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def construct(self, logits, labels):
        return ops.binary_cross_entropy_with_logits(
            logits, labels, self.weight, self.pos_weight, self.reduction
        )
