"""MindSpore 2.x's neural-network functions (`mindspore.ops.function.nn_func`), exported by
`cellc.ops`: activations (`ops.silu`, `ops.gelu`...), losses (`ops.smooth_l1_loss`...),
`ops.dense`, `ops.conv2d` and the 2-D pools.

Like math_func.py, each is composed of the `ms` dialect's ops, with MindSpore's signatures and
defaults; what cellc lacks raises NotImplementedError saying which argument.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from .function import reduce_loss

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "bias_add",
    "bidense",
    "binary_cross_entropy",
    "celu",
    "conv2d",
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "upsample",
    "dense",
    "elu",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "interpolate",
    "kl_div",
    "leaky_relu",
    "logsigmoid",
    "max_pool2d",
    "mish",
    "relu6",
    "selu",
    "silu",
    "smooth_l1_loss",
    "softplus",
    "softsign",
    "tanhshrink",
]

# --- activations ---------------------------------------------------------------------------


def gelu(input, approximate="none"):  # noqa: A002  (MindSpore's parameter names)
    """x * Phi(x), with erf ('none', ops.gelu's default) or its tanh approximation ('tanh')."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"For 'gelu', approximate must be 'none' or 'tanh', got {approximate!r}")
    return F.gelu(input, approximate)


def leaky_relu(input, alpha=0.2):  # noqa: A002
    return F.leaky_relu(input, alpha)


def elu(input_x, alpha=1.0):
    return F.elu(input_x, alpha)


def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("For 'celu', alpha cannot be 0")
    x = F.as_tensor(x)
    return F.mul(F.elu(F.div(x, float(alpha))), float(alpha))


def selu(input_x):
    """scale * elu(x, alpha) with SELU's fixed alpha and scale."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return F.mul(F.elu(input_x, alpha), scale)


def relu6(x):
    """min(max(x, 0), 6)."""
    return F.clip_by_value(x, 0.0, 6.0)


def hardtanh(input, min_val=-1.0, max_val=1.0):  # noqa: A002
    return F.clip_by_value(input, float(min_val), float(max_val))


def hardswish(x):
    return F.hswish(x)


def hardsigmoid(input):  # noqa: A002
    return F.hsigmoid(input)


def silu(input):  # noqa: A002
    """input * sigmoid(input)."""
    x = F.as_tensor(input)
    return F.mul(x, F.sigmoid(x))


def softplus(input, beta=1, threshold=20):  # noqa: A002
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (MindSpore's
    rule: the curve is then linear to float precision)."""
    if beta == 0:
        raise ValueError("For 'softplus', the value of 'beta' cannot be 0.")
    x = F.as_tensor(input)
    scaled = F.mul(x, float(beta))
    curve = F.softplus(scaled) if beta == 1 else F.div(F.softplus(scaled), float(beta))
    return F.select(F.greater(scaled, float(threshold)), x, curve)


def mish(x):
    """x * tanh(softplus(x))."""
    x = F.as_tensor(x)
    return F.mul(x, F.tanh(F.softplus(x)))


def softsign(x):
    """x / (1 + |x|)."""
    x = F.as_tensor(x)
    return F.div(x, F.add(F.abs(x), 1.0))


def tanhshrink(input):  # noqa: A002
    """x - tanh(x)."""
    x = F.as_tensor(input)
    return F.sub(x, F.tanh(x))


def logsigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), which never overflows."""
    return F.neg(F.softplus(F.neg(F.as_tensor(x))))


# --- losses --------------------------------------------------------------------------------


def smooth_l1_loss(input, target, beta=1.0, reduction="none"):  # noqa: A002
    """0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target)."""
    if beta < 0:
        raise ValueError(f"For 'smooth_l1_loss', beta must be >= 0, got {beta!r}")
    diff = F.abs(F.sub(input, target))
    if beta == 0:
        return reduce_loss(diff, reduction, "smooth_l1_loss")
    quadratic = F.mul(F.mul(diff, diff), 0.5 / beta)
    linear = F.sub(diff, 0.5 * beta)
    loss = F.select(F.less(diff, float(beta)), quadratic, linear)
    return reduce_loss(loss, reduction, "smooth_l1_loss")


def kl_div(logits, labels, reduction="mean"):
    """labels * (log(labels) - logits) (0 where labels is 0), summed and divided by the
    element count ('mean'), by the batch size ('batchmean'), or summed ('sum'), or not
    reduced ('none')."""
    x, y = F.as_tensor(logits), F.as_tensor(labels)
    product = F.mul(y, F.log(y))
    loss = F.sub(F.select(F.equal(y, 0), 0, product), F.mul(y, x))
    if reduction == "batchmean":
        return F.div(F.reduce_sum(loss), float(x.shape[0] if x.ndim else 1))
    if reduction == "mean":
        return F.div(F.reduce_sum(loss), float(max(int(np.prod(x.shape)), 1)))
    if reduction in ("sum", "none"):
        return reduce_loss(loss, reduction, "kl_div")
    raise ValueError(
        "For 'kl_div', the 'reduction' must be str and must be in "
        f"'['none', 'mean', 'batchmean', 'sum']', but got '{reduction}'."
    )


def binary_cross_entropy(logits, labels, weight=None, reduction="mean"):
    """-w (y log(x + eps) + (1 - y) log(1 - x + eps)), x the predicted probabilities and eps
    1e-12 (MindSpore's CPU kernel)."""
    x, y = F.as_tensor(logits), F.as_tensor(labels)
    eps = 1e-12
    positive = F.mul(y, F.log(F.add(x, eps)))
    negative = F.mul(F.sub(1.0, y), F.log(F.add(F.sub(1.0, x), eps)))
    loss = F.neg(F.add(positive, negative))
    if weight is not None:
        loss = F.mul(loss, weight)
    return reduce_loss(loss, reduction, "binary_cross_entropy")


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    loss = F.maximum(F.add(F.neg(F.mul(target, F.sub(input1, input2))), float(margin)), 0.0)
    return reduce_loss(loss, reduction, "margin_ranking_loss")


def hinge_embedding_loss(inputs, targets, margin=1.0, reduction="mean"):
    """x where the target is 1, max(0, margin - x) where it is -1 (MindSpore's rule: each part
    masked by the target's sign)."""
    x, t = F.as_tensor(inputs), F.as_tensor(targets)
    positive = F.mul(F.cast(F.greater(t, 0), x.dtype), x)
    negative_mask = F.cast(F.less(t, 0), x.dtype)
    negative = F.maximum(F.sub(F.mul(negative_mask, float(margin)), F.mul(negative_mask, x)), 0.0)
    return reduce_loss(F.add(positive, negative), reduction, "hinge_embedding_loss")


def soft_margin_loss(input, target, reduction="mean"):  # noqa: A002
    """log(1 + exp(-target * input))."""
    return reduce_loss(F.softplus(F.neg(F.mul(target, input))), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):  # noqa: A002
    """The mean over classes (the last dim) of t log(1 + e^-x) + (1 - t) log(1 + e^x),
    weighted by `weight`."""
    x, t = F.as_tensor(input), F.as_tensor(target)
    loss = F.add(F.mul(t, F.softplus(F.neg(x))), F.mul(F.sub(1.0, t), F.softplus(x)))
    if weight is not None:
        loss = F.mul(loss, weight)
    loss = F.div(F.reduce_sum(loss, x.ndim - 1), float(x.shape[-1]))
    return reduce_loss(loss, reduction, "multilabel_soft_margin_loss")


def gaussian_nll_loss(x, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log(max(var, eps)) + (x - target)^2 / max(var, eps)), plus 0.5 log(2 pi) when
    `full`; a var without the last dim of x is broadcast along it."""
    if not isinstance(eps, float) or eps <= 0:
        raise ValueError(f"For 'gaussian_nll_loss', 'eps' must be a positive float, but got {eps}.")
    x, var = F.as_tensor(x), F.as_tensor(var)
    if x.shape != var.shape and x.shape[:-1] == var.shape:
        var = F.expand_dims(var, -1)
    clamped = F.maximum(var, eps)
    loss = F.mul(F.add(F.log(clamped), F.div(F.square(F.sub(x, target)), clamped)), 0.5)
    if full:
        loss = F.add(loss, 0.5 * float(np.log(2 * np.pi)))
    return reduce_loss(loss, reduction, "gaussian_nll_loss")


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 - cos(input1, input2) where the target is 1, max(0, cos - margin) where it is -1
    (the cosine over dim 1)."""
    x1, x2, t = F.as_tensor(input1), F.as_tensor(input2), F.as_tensor(target)
    dot = F.reduce_sum(F.mul(x1, x2), 1)
    norms = F.mul(F.sqrt(F.reduce_sum(F.square(x1), 1)), F.sqrt(F.reduce_sum(F.square(x2), 1)))
    cosine = F.div(dot, norms)
    positive = F.select(F.equal(t, 1), F.sub(1.0, cosine), 0.0)
    negative = F.select(F.equal(t, -1), F.maximum(F.sub(cosine, float(margin)), 0.0), 0.0)
    return reduce_loss(F.add(positive, negative), reduction, "cosine_embedding_loss")


def triplet_margin_loss(
    anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction="mean"
):
    """max(d(a, pos) - d(a, neg) + margin, 0), d the p-norm of the difference plus eps over
    dim 1; `swap` uses the smaller of d(a, neg) and d(pos, neg)."""

    def distance(a, b):
        diff = F.abs(F.add(F.sub(a, b), float(eps)))
        if p == 2:
            return F.sqrt(F.reduce_sum(F.square(diff), 1))
        return F.pow(F.reduce_sum(F.pow(diff, float(p)), 1), 1.0 / p)

    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = F.minimum(d_neg, distance(positive, negative))
    loss = F.maximum(F.add(F.sub(d_pos, d_neg), float(margin)), 0.0)
    return reduce_loss(loss, reduction, "triplet_margin_loss")


# --- layers as functions -------------------------------------------------------------------


def dense(input, weight, bias=None):  # noqa: A002
    """input @ weight.T + bias, over the last dim of input (weight (out, in))."""
    x, w = F.as_tensor(input), F.as_tensor(weight)
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"For 'dense', input {x.shape} and weight {w.shape} do not agree: the weight must "
            "be (out, in) with in the input's last dim"
        )
    flat = F.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
    out = F.matmul(flat, w, transpose_b=True)
    if bias is not None:
        out = F.add(out, bias)
    return out if x.ndim == 2 else F.reshape(out, (*x.shape[:-1], w.shape[0]))


def bidense(input1, input2, weight, bias=None):
    """x1^T A x2 (+ bias) per output, weight A (out, in1, in2), over the last dims."""
    x1, x2, w = F.as_tensor(input1), F.as_tensor(input2), F.as_tensor(weight)
    out, in1, in2 = w.shape
    lead = x1.shape[:-1]
    flat1, flat2 = F.reshape(x1, (-1, in1)), F.reshape(x2, (-1, in2))
    partial = F.reshape(
        F.matmul(flat1, F.reshape(F.transpose(w, (1, 0, 2)), (in1, out * in2))), (-1, out, in2)
    )
    result = F.reduce_sum(F.mul(partial, F.expand_dims(flat2, 1)), 2)
    if bias is not None:
        result = F.add(result, bias)
    return F.reshape(result, (*lead, out))


def conv2d(input, weight, bias=None, stride=1, pad_mode="valid", padding=0, dilation=1, groups=1):  # noqa: A002
    return F.conv2d(input, weight, bias, stride, pad_mode, padding, dilation, groups)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    return F.adaptive_avg_pool2d(input, output_size)


def max_pool2d(
    x, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
):
    """The maximum of each window (NCHW); `padding`: an int or (height, width) on both sides."""
    _pool_options(
        "max_pool2d", dilation=dilation, return_indices=return_indices, ceil_mode=ceil_mode
    )
    pads = _symmetric("max_pool2d", padding)
    mode = "pad" if any(pads) else "valid"
    return F.max_pool(x, kernel_size, kernel_size if stride is None else stride, mode, pads)


def avg_pool2d(
    input_x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """The mean of each window (NCHW); the zeros of `padding` count in it when
    count_include_pad; `divisor_override` divides each window's sum instead."""
    _pool_options("avg_pool2d", ceil_mode=ceil_mode)
    x = F.as_tensor(input_x)
    pads = _symmetric("avg_pool2d", padding)
    strides = kernel_size if stride is None else stride
    kernel = F._pair("avg_pool2d", "kernel_size", kernel_size)
    if any(pads) and not count_include_pad and divisor_override is None:
        return F.avg_pool(x, kernel_size, strides, "pad", pads)
    if any(pads):
        x = F.pad(x, [(0, 0), (0, 0), pads[:2], pads[2:]])
    mean = F.avg_pool(x, kernel_size, strides, "valid")
    if divisor_override is None:
        return mean
    if not isinstance(divisor_override, int) or divisor_override == 0:
        raise ValueError(
            f"For 'avg_pool2d', divisor_override must be a nonzero int, got {divisor_override!r}"
        )
    return F.mul(mean, kernel[0] * kernel[1] / divisor_override)


def avg_pool1d(
    input_x, kernel_size=1, stride=1, padding=0, ceil_mode=False, count_include_pad=True
):
    """The mean of each window of (N, C, L): avg_pool2d over a unit height."""
    x = F.as_tensor(input_x)
    if x.ndim != 3:
        raise ValueError(f"For 'avg_pool1d', the input must be 3-D (N, C, L), got {x.shape}")
    if not isinstance(padding, int):
        raise ValueError(f"For 'avg_pool1d', padding must be an int, got {padding!r}")
    pooled = avg_pool2d(
        F.expand_dims(x, 2),
        (1, kernel_size),
        (1, stride),
        (0, padding),
        ceil_mode,
        count_include_pad,
    )
    return F.squeeze(pooled, 2)


def bias_add(input_x, bias):
    """input_x + bias along the channel axis 1."""
    x = F.as_tensor(input_x)
    if not 2 <= x.ndim <= 5:
        raise ValueError(f"For 'bias_add', the input must be 2-D to 5-D, got shape {x.shape}")
    return F.add(x, F.reshape(bias, (-1,) + (1,) * (x.ndim - 2)))


def _symmetric(name: str, padding) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of an int or (height, width) padding."""
    pair = (padding, padding) if isinstance(padding, int) else tuple(padding)
    if len(pair) != 2 or not all(isinstance(p, int) and p >= 0 for p in pair):
        raise ValueError(
            f"For '{name}', padding must be a non-negative int or two of them, got {padding!r}"
        )
    return (pair[0], pair[0], pair[1], pair[1])


def _pool_options(name: str, dilation=1, return_indices=False, ceil_mode=False) -> None:
    if dilation not in (1, (1, 1)):
        raise NotImplementedError(f"ops.{name}: dilation={dilation!r} is not supported (only 1)")
    if return_indices:
        raise NotImplementedError(f"ops.{name}: return_indices=True is not supported")
    if ceil_mode:
        raise NotImplementedError(f"ops.{name}: ceil_mode=True is not supported")


# --- resizing ------------------------------------------------------------------------------


def interpolate(
    input,  # noqa: A002
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
):
    """`input` (N, C, L) or (N, C, H, W) resized to `size`, or to floor(size * scale_factor),
    by 'nearest' (source index floor(i * in / out), as MindSpore's ResizeNearestNeighborV2),
    'linear' (3-D) or 'bilinear' (4-D): source coordinate i * (in - 1) / (out - 1) with
    `align_corners`, else (i + 0.5) * in / out - 0.5 clamped at 0. Each axis is a gather of
    constant indices (two, weighted, for the linear modes), so the gradient flows back to the
    source pixels."""
    x = F.as_tensor(input)
    spatial = x.ndim - 2
    if spatial not in (1, 2):
        raise ValueError(f"For 'interpolate', the input must be 3-D or 4-D, got shape {x.shape}")
    linear = {1: "linear", 2: "bilinear"}[spatial]
    if mode not in ("nearest", linear):
        raise NotImplementedError(
            f"ops.interpolate: mode {mode!r} on a {x.ndim}-D input is not supported (only "
            f"'nearest' and '{linear}')"
        )
    if align_corners is not None and mode == "nearest":
        raise ValueError("For 'interpolate', 'align_corners' is only valid in the linear modes")
    sizes = _output_sizes(x.shape[2:], size, scale_factor, recompute_scale_factor)
    for axis, (old, new) in enumerate(zip(x.shape[2:], sizes), start=2):
        if old == new and mode == "nearest":
            continue
        if mode == "nearest":
            x = F.gather(x, F.as_tensor(_nearest(old, new)), axis)
        else:
            x = _lerp_along(x, axis, old, new, bool(align_corners))
    return x


def _output_sizes(shape, size, scale_factor, recompute_scale_factor) -> tuple[int, ...]:
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "For 'interpolate', exactly one of 'size' and 'scale_factor' must be given"
        )
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(
                "For 'interpolate', it is incorrect to set 'recompute_scale_factor' to True"
                " after specifying an explicit 'size'."
            )
        sizes = (size,) * len(shape) if isinstance(size, int) else tuple(size)
    else:
        factors = (
            (scale_factor,) * len(shape)
            if isinstance(scale_factor, (int, float))
            else tuple(scale_factor)
        )
        if len(factors) != len(shape) or not all(f > 0 for f in factors):
            raise ValueError(
                f"For 'interpolate', scale_factor must be {len(shape)} positive numbers, got "
                f"{scale_factor!r}"
            )
        sizes = tuple(int(np.floor(n * f)) for n, f in zip(shape, factors))
    if len(sizes) != len(shape) or not all(isinstance(n, int) and n > 0 for n in sizes):
        raise ValueError(
            f"For 'interpolate', size must be {len(shape)} positive ints, got {size!r}"
        )
    return sizes


def _nearest(old: int, new: int) -> np.ndarray:
    return np.minimum(np.floor(np.arange(new) * (old / new)).astype(np.int32), old - 1)


def _lerp_along(x, axis: int, old: int, new: int, align_corners: bool):
    """x resized along `axis` by linear interpolation between the two nearest sources."""
    target = np.arange(new, dtype=np.float64)
    if align_corners:
        source = target * ((old - 1) / (new - 1)) if new > 1 else np.zeros(new)
    else:
        source = np.maximum((target + 0.5) * (old / new) - 0.5, 0.0)
    lower = np.minimum(np.floor(source).astype(np.int32), old - 1)
    upper = np.minimum(lower + 1, old - 1)
    weight = (source - lower).reshape((new,) + (1,) * (x.ndim - axis - 1))
    below = F.gather(x, F.as_tensor(lower), axis)
    above = F.gather(x, F.as_tensor(upper), axis)
    if not x.dtype.is_float:
        raise TypeError(f"For 'interpolate', the linear modes need a float input, got {x.dtype}")
    fraction = F.as_tensor(weight.astype(x.dtype.numpy))
    return F.add(below, F.mul(F.sub(above, below), fraction))


upsample = interpolate  # MindSpore's `ops.upsample`: the same function
