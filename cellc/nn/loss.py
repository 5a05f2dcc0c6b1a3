"""MindSpore 2.x's loss cells built on `cellc.ops`' functions: LossBase (with `get_loss`),
CrossEntropyLoss, BCEWithLogitsLoss, NLLLoss, BCELoss, SmoothL1Loss, HuberLoss, KLDivLoss."""

from __future__ import annotations

from cellc import ops
from cellc.ops import function
from cellc.ops import functional as F

from .cell import Cell
from .layers import L1Loss, MSELoss, SoftmaxCrossEntropyWithLogits  # noqa: F401  (mindspore.nn.loss's)

__all__ = [
    "BCELoss",
    "CosineEmbeddingLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelSoftMarginLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "LossBase",
    "NLLLoss",
    "SmoothL1Loss",
]

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


class BCELoss(LossBase):
    """`ops.binary_cross_entropy(logits, labels, weight, reduction)`: logits are the predicted
    probabilities."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight

    def construct(self, logits, labels):
        return ops.binary_cross_entropy(logits, labels, self.weight, self.reduction)


class SmoothL1Loss(LossBase):
    """`ops.smooth_l1_loss(logits, labels, beta, reduction)` (MindSpore's default reduction
    here is 'none')."""

    def __init__(self, beta=1.0, reduction="none"):
        super().__init__(reduction)
        self.beta = beta

    def construct(self, logits, labels):
        return ops.smooth_l1_loss(logits, labels, self.beta, self.reduction)


class HuberLoss(LossBase):
    """0.5 d**2 where |d| <= delta, delta * (|d| - 0.5 delta) elsewhere (d = logits - labels)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"For 'HuberLoss', delta must be > 0, got {delta!r}")
        self.delta = float(delta)

    def construct(self, logits, labels):
        diff = F.abs(F.sub(logits, labels))
        quadratic = F.mul(F.mul(diff, diff), 0.5)
        linear = F.mul(F.sub(diff, 0.5 * self.delta), self.delta)
        return self.get_loss(F.select(F.less_equal(diff, self.delta), quadratic, linear))


class KLDivLoss(LossBase):
    """`ops.kl_div(logits, labels, reduction)`: logits are log-probabilities; reduction also
    'batchmean'."""

    def __init__(self, reduction="mean"):
        Cell.__init__(self)
        if reduction not in ("none", "mean", "batchmean", "sum"):
            raise ValueError(
                "For 'KLDivLoss', the 'reduction' must be in ['none', 'mean', 'batchmean', "
                f"'sum'], but got {reduction}."
            )
        self.reduction = reduction

    def construct(self, logits, labels):
        return ops.kl_div(logits, labels, self.reduction)


class MarginRankingLoss(LossBase):
    """`ops.margin_ranking_loss(input1, input2, target, margin, reduction)`."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def construct(self, input1, input2, target):
        return ops.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class HingeEmbeddingLoss(LossBase):
    """`ops.hinge_embedding_loss(logits, labels, margin, reduction)`."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def construct(self, logits, labels):
        return ops.hinge_embedding_loss(logits, labels, self.margin, self.reduction)


class SoftMarginLoss(LossBase):
    """`ops.soft_margin_loss(logits, labels, reduction)`."""

    def construct(self, logits, labels):
        return ops.soft_margin_loss(logits, labels, self.reduction)


class MultiLabelSoftMarginLoss(LossBase):
    """`ops.multilabel_soft_margin_loss(x, target, weight, reduction)`."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight

    def construct(self, x, target):
        return ops.multilabel_soft_margin_loss(x, target, self.weight, self.reduction)


class GaussianNLLLoss(LossBase):
    """`ops.gaussian_nll_loss(logits, labels, var, full, eps, reduction)`."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def construct(self, logits, labels, var):
        return ops.gaussian_nll_loss(logits, labels, var, self.full, self.eps, self.reduction)


class CosineEmbeddingLoss(LossBase):
    """`ops.cosine_embedding_loss(logits_x1, logits_x2, labels, margin, reduction)`."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def construct(self, logits_x1, logits_x2, labels):
        return ops.cosine_embedding_loss(logits_x1, logits_x2, labels, self.margin, self.reduction)


class TripletMarginLoss(LossBase):
    """`ops.triplet_margin_loss(x, positive, negative, margin, p, eps, swap, reduction)`."""

    def __init__(self, p=2, swap=False, eps=1e-06, reduction="mean", margin=1.0):
        super().__init__(reduction)
        self.p, self.swap, self.eps, self.margin = p, swap, eps, margin

    def construct(self, x, positive, negative, margin=None):
        margin = self.margin if margin is None else margin
        return ops.triplet_margin_loss(
            x, positive, negative, margin, self.p, self.eps, self.swap, self.reduction
        )
