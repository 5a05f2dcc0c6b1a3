"""`mindspore.mint.nn`: MindSpore's PyTorch-style layers (`Linear`, `Conv2d` with `bias` and
`padding`, `LayerNorm` with `elementwise_affine`...), built on cellc.nn's."""

from __future__ import annotations

import numpy as np

from cellc import compat
from cellc import nn as _nn
from cellc.tensor import Tensor

from . import functional

__all__ = [
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GELU",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "Linear",
    "MSELoss",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
]

GELU, ReLU, SiLU, Sigmoid, Tanh, Identity = (
    _nn.GELU,
    _nn.ReLU,
    _nn.SiLU,
    _nn.Sigmoid,
    _nn.Tanh,
    _nn.Identity,
)
L1Loss, MSELoss, CrossEntropyLoss, Flatten = (
    _nn.L1Loss,
    _nn.MSELoss,
    _nn.CrossEntropyLoss,
    _nn.Flatten,
)


class Linear(_nn.Dense):
    """y = x @ weight.T + bias, weight (out_features, in_features)."""

    def __init__(
        self, in_features, out_features, bias=True, weight_init=None, bias_init=None, dtype=None
    ):
        super().__init__(in_features, out_features, weight_init, bias_init, bias, dtype=dtype)


class Conv2d(_nn.Conv2d):
    """`padding` an int, (height, width), 'same' or 'valid'; `bias` True by default."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"mint.nn.Conv2d: padding_mode={padding_mode!r} is not supported"
            )
        if isinstance(padding, str):
            pad_mode, pads = padding, 0
        else:
            pad_h, pad_w = (padding, padding) if isinstance(padding, int) else tuple(padding)
            pad_mode, pads = "pad", (pad_h, pad_h, pad_w, pad_w)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            pad_mode,
            pads,
            dilation,
            groups,
            has_bias=bias,
        )


class LayerNorm(_nn.LayerNorm):
    """Over the last len(normalized_shape) dims, eps 1e-5; `elementwise_affine` learns the scale
    (and `bias` the shift)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        axis = -len(shape)
        super().__init__(shape, axis, axis, epsilon=eps, dtype=dtype)
        self.gamma.requires_grad = elementwise_affine
        self.beta.requires_grad = elementwise_affine and bias


class BatchNorm2d(_nn.BatchNorm2d):
    """PyTorch's momentum (the new batch's weight, 0.1) is MindSpore's 1 - momentum."""

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        dtype=None,
    ):
        super().__init__(
            num_features,
            eps,
            1.0 - momentum,
            affine,
            use_batch_statistics=None if track_running_stats else True,
            dtype=dtype,
        )


class Dropout(_nn.Dropout):
    def __init__(self, p=0.5, inplace=False):
        super().__init__(p=p)


class Softmax(_nn.Softmax):
    def __init__(self, dim=None):
        super().__init__(-1 if dim is None else dim)


class Embedding(_nn.Embedding):
    """Rows of `weight` (num_embeddings, embedding_dim) by index, N(0, 1) initially."""

    def __init__(
        self,
        num_embeddings,
        embedding_dim,
        padding_idx=None,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        sparse=False,
        _weight=None,
        _freeze=False,
        dtype=None,
    ):
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError(
                "mint.nn.Embedding: max_norm, scale_grad_by_freq and sparse are not supported"
            )
        if _weight is None:
            _weight = Tensor(np.random.standard_normal((num_embeddings, embedding_dim)), dtype=None)
        table = _weight
        super().__init__(
            num_embeddings, embedding_dim, embedding_table=table, padding_idx=padding_idx
        )
        self.embedding_table.requires_grad = not _freeze


def __getattr__(name: str):
    raise compat.missing("mint.nn", name)
