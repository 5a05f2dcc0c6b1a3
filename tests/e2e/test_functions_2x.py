"""MindSpore 2.x's functions at `cellc.ops` (math_func.py, nn_func.py): each against a numpy
formula of MindSpore's documented rule, evaluated eagerly (outside a cell) and compiled (all in
one cell, one compile); the gradients of the ones with derivatives of their own against float64
central finite differences of the compiled forward."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from support.cells import GradAll, Lambda
from support.finite_differences import numeric_vjp

from cellc import Parameter, Tensor, nn, ops
from cellc import dtype as mstype

RNG = np.random.default_rng(7)
A = RNG.uniform(-2, 2, (3, 4))
B = RNG.uniform(0.5, 2, (3, 4))
P = RNG.uniform(0.05, 0.95, (3, 4))  # probabilities
V = RNG.uniform(-1, 1, 4)
W = RNG.uniform(-1, 1, (5, 4))
IMG = RNG.uniform(-1, 1, (2, 3, 6, 6))
INDEX = np.array([2, 0, 2])
ELEMENTS = np.array([[3, 0], [1, 2], [2, 3]])  # an index per element along dim 1 of A
ROWS = np.array([[2, 0, 1, 2], [0, 0, 2, 1]])  # along dim 0 of A, repeating
ERF = np.vectorize(math.erf)


def _softplus(x):
    return np.log1p(np.exp(x))


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def _pool(x, k, s, reduce):
    n, c, h, w = x.shape
    rows, cols = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[:, :, i, j] = reduce(x[:, :, i * s : i * s + k, j * s : j * s + k], axis=(2, 3))
    return out


def _padded(x, p, value=0.0):
    return np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)], constant_values=value)


def _count(h, k, s, p):  # how many real (unpadded) rows each window of a padded axis covers
    return np.array(
        [min(i * s - p + k, h) - max(i * s - p, 0) for i in range((h + 2 * p - k) // s + 1)]
    )


def _index_added(x, index, rows):
    out = np.array(x, dtype=np.float64)
    np.add.at(out, index, rows)
    return out


SELU = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
CASES = {
    # name: (cellc function of (a, b, p, v, w, img, index), numpy reference of the same)
    "add": (lambda a, b, *_: ops.add(a, b), lambda a, b, *_: a + b),
    "sub": (lambda a, b, *_: ops.subtract(a, b), lambda a, b, *_: a - b),
    "mul": (lambda a, b, *_: ops.multiply(a, 2.0), lambda a, b, *_: a * 2),
    "div": (lambda a, b, *_: ops.div(a, b), lambda a, b, *_: a / b),
    "div-floor": (
        lambda a, b, *_: ops.div(a, b, rounding_mode="floor"),
        lambda a, b, *_: np.floor(a / b),
    ),
    "div-trunc": (
        lambda a, b, *_: ops.div(a, b, rounding_mode="trunc"),
        lambda a, b, *_: np.trunc(a / b),
    ),
    "neg": (lambda a, *_: ops.negative(a), lambda a, *_: -a),
    "maximum": (lambda a, b, *_: ops.maximum(a, b), lambda a, b, *_: np.maximum(a, b)),
    "minimum": (lambda a, b, *_: ops.minimum(a, b), lambda a, b, *_: np.minimum(a, b)),
    "pow": (lambda a, b, *_: ops.pow(b, a), lambda a, b, *_: b**a),
    "addcmul": (lambda a, b, p, *_: ops.addcmul(a, b, p, 0.5), lambda a, b, p, *_: a + 0.5 * b * p),
    "addcdiv": (lambda a, b, p, *_: ops.addcdiv(a, p, b, 2), lambda a, b, p, *_: a + 2 * p / b),
    "lerp": (lambda a, b, p, *_: ops.lerp(a, b, p), lambda a, b, p, *_: a + p * (b - a)),
    "xlogy": (
        lambda a, b, *_: ops.xlogy(ops.relu(a), b),
        lambda a, b, *_: np.where(a > 0, np.maximum(a, 0) * np.log(b), 0.0),
    ),
    "tanh": (lambda a, *_: ops.tanh(a), lambda a, *_: np.tanh(a)),
    "sin-cos": (lambda a, *_: ops.sin(a) + ops.cos(a), lambda a, *_: np.sin(a) + np.cos(a)),
    "erf": (lambda a, *_: ops.erf(a), lambda a, *_: ERF(a)),
    "sign": (lambda a, *_: ops.sign(a), lambda a, *_: np.sign(a)),
    "reciprocal": (lambda a, b, *_: ops.reciprocal(b), lambda a, b, *_: 1 / b),
    "rsqrt": (lambda a, b, *_: ops.rsqrt(b), lambda a, b, *_: 1 / np.sqrt(b)),
    "log1p": (lambda a, b, *_: ops.log1p(b), lambda a, b, *_: np.log1p(b)),
    "tan-atan": (
        lambda a, b, p, *_: ops.tan(p) + ops.arctan(a),
        lambda a, b, p, *_: np.tan(p) + np.arctan(a),
    ),
    "asin-acos": (
        lambda a, b, p, *_: ops.asin(p) * ops.arccos(-p),
        lambda a, b, p, *_: np.arcsin(p) * np.arccos(-p),
    ),
    "sinh-cosh": (lambda a, *_: ops.sinh(a) - ops.cosh(a), lambda a, *_: np.sinh(a) - np.cosh(a)),
    "asinh-acosh-atanh": (
        lambda a, b, p, *_: ops.asinh(a) + ops.acosh(b + 1.0) + ops.arctanh(p - 0.5),
        lambda a, b, p, *_: np.arcsinh(a) + np.arccosh(b + 1) + np.arctanh(p - 0.5),
    ),
    "log2-log10-exp2": (
        lambda a, b, *_: ops.log2(b) + ops.log10(b) + ops.exp2(a),
        lambda a, b, *_: np.log2(b) + np.log10(b) + np.exp2(a),
    ),
    "expm1": (lambda a, *_: ops.expm1(a * 1e-4), lambda a, *_: np.expm1(a * 1e-4)),
    "index_add": (
        lambda a, b, p, v, w, img, index: ops.index_add(w, index, a, 0),
        lambda a, b, p, v, w, img, index: _index_added(w, index, a),
    ),
    "unsorted_segment_sum": (
        lambda a, b, p, v, w, img, index: ops.unsorted_segment_sum(a, index, 4),
        lambda a, b, p, v, w, img, index: _index_added(np.zeros((4, 4)), index, a),
    ),
    "all-any": (
        lambda a, *_: (
            ops.all(a > -1.5, 1).astype(mstype.float32)
            + ops.any(a > 1.5, 1).astype(mstype.float32) * 2
            + ops.all(a).astype(mstype.float32) * 4
        ),
        lambda a, *_: (a > -1.5).all(1) + (a > 1.5).any(1) * 2 + (a != 0).all() * 4,
    ),
    "erfc": (lambda a, *_: ops.erfc(a), lambda a, *_: 1 - ERF(a)),
    "atan2": (lambda a, b, *_: ops.atan2(a, b - 1.2), lambda a, b, *_: np.arctan2(a, b - 1.2)),
    "trunc-round-frac": (
        lambda a, *_: ops.trunc(a * 3.0) + ops.round(a * 3.0) * 10 + ops.frac(a * 3.0) * 100,
        lambda a, *_: np.trunc(a * 3) + np.round(a * 3) * 10 + (a * 3 - np.trunc(a * 3)) * 100,
    ),
    "round-decimals": (
        lambda a, *_: ops.round(a, decimals=1),
        lambda a, *_: np.round(a * 10) / 10,
    ),
    "fmod-remainder": (
        lambda a, b, *_: ops.fmod(a * 3.0, b) + ops.remainder(a * 3.0, b) * 10,
        lambda a, b, *_: np.fmod(a * 3, b) + np.mod(a * 3, b) * 10,
    ),
    "logaddexp-hypot": (
        lambda a, b, *_: ops.logaddexp(a, b) + ops.hypot(a, b),
        lambda a, b, *_: np.logaddexp(a, b) + np.hypot(a, b),
    ),
    "deg2rad-rad2deg-sinc": (
        lambda a, *_: ops.deg2rad(a) + ops.rad2deg(a) + ops.sinc(a),
        lambda a, *_: np.deg2rad(a) + np.rad2deg(a) + np.sinc(a),
    ),
    "nansum-nan_to_num": (
        lambda a, b, *_: ops.nansum(ops.log(a), 1) + ops.nan_to_num(ops.log(a), 7.0).sum(1),
        lambda a, b, *_: np.nansum(np.log(a), 1) + np.nan_to_num(np.log(a), nan=7.0).sum(1),
    ),
    "signbit-count_nonzero-trace": (
        lambda a, *_: (
            ops.signbit(a).astype(mstype.float32).sum()
            + ops.count_nonzero(ops.trunc(a)).astype(mstype.float32)
            + ops.trace(a)
        ),
        lambda a, *_: np.signbit(a).sum() + np.count_nonzero(np.trunc(a)) + np.trace(a),
    ),
    "floor": (lambda a, *_: ops.floor(a * 3.0), lambda a, *_: np.floor(a * 3)),
    "ceil": (lambda a, *_: ops.ceil(a * 3.0), lambda a, *_: np.ceil(a * 3)),
    "isnan-isinf-isfinite": (
        lambda a, b, *_: ops.stack(
            [ops.isnan(ops.log(a)), ops.isinf(ops.log(a * 0.0)), ops.isfinite(ops.log(a))]
        ),
        lambda a, b, *_: np.stack([a < 0, a == a, a > 0]),
    ),
    "amax": (lambda a, *_: ops.amax(a, 1, True), lambda a, *_: a.max(1, keepdims=True)),
    "amin": (lambda a, *_: ops.amin(a), lambda a, *_: a.min()),
    "var": (lambda a, *_: ops.var(a, 1, ddof=1), lambda a, *_: a.var(1, ddof=1)),
    "std": (lambda a, *_: ops.std(a, (0, 1), keepdims=True), lambda a, *_: a.std(keepdims=True)),
    "logsumexp": (
        lambda a, *_: ops.logsumexp(a * 30.0, 1),
        lambda a, *_: (
            np.log(np.exp(a * 30 - (a * 30).max(1, keepdims=True)).sum(1)) + (a * 30).max(1)
        ),
    ),
    "norm": (lambda a, *_: ops.norm(a), lambda a, *_: np.linalg.norm(a)),
    "norm-1": (lambda a, *_: ops.norm(a, 1, 1), lambda a, *_: np.abs(a).sum(1)),
    "norm-inf": (lambda a, *_: ops.norm(a, float("inf"), 0), lambda a, *_: np.abs(a).max(0)),
    "broadcast-to": (
        lambda a, b, p, v, *_: ops.broadcast_to(v, (2, -1)),
        lambda a, b, p, v, *_: np.broadcast_to(v, (2, 4)),
    ),
    "expand-dims": (lambda a, *_: ops.expand_dims(a, 1), lambda a, *_: a[:, None]),
    "flatten": (
        lambda *args: ops.flatten(args[5], start_dim=2),
        lambda *args: args[5].reshape(2, 3, 36),
    ),
    "permute": (
        lambda *args: ops.permute(args[5], (0, 2, 3, 1)),
        lambda *args: args[5].transpose(0, 2, 3, 1),
    ),
    "swapaxes": (lambda *args: ops.swapaxes(args[5], 1, -1), lambda *args: args[5].swapaxes(1, 3)),
    "t": (lambda a, *_: ops.t(a), lambda a, *_: a.T),
    "flip": (lambda a, *_: ops.flip(a, (0, 1)), lambda a, *_: a[::-1, ::-1]),
    "narrow": (lambda a, *_: ops.narrow(a, 1, 1, 2), lambda a, *_: a[:, 1:3]),
    "chunk": (lambda a, *_: ops.chunk(a, 3, 1)[1], lambda a, *_: a[:, 2:4]),
    "index-select": (
        lambda *args: ops.index_select(args[0], 1, args[6]),
        lambda *args: args[0][:, args[6]],
    ),
    "masked-fill": (
        lambda a, *_: ops.masked_fill(a, a > 0.5, 9.0),
        lambda a, *_: np.where(a > 0.5, 9.0, a),
    ),
    "tril": (lambda a, *_: ops.tril(a, 1), lambda a, *_: np.tril(a, 1)),
    "triu": (lambda a, *_: ops.triu(a, -1), lambda a, *_: np.triu(a, -1)),
    "outer": (lambda a, b, p, v, *_: ops.outer(v, v), lambda a, b, p, v, *_: np.outer(v, v)),
    "bmm": (
        lambda *args: ops.bmm(args[5][0], args[5][1]),
        lambda *args: args[5][0] @ args[5][1],
    ),
    "vstack": (lambda a, b, p, v, *_: ops.vstack([v, v]), lambda a, b, p, v, *_: np.vstack([v, v])),
    "hstack": (lambda a, b, *_: ops.hstack([a, b]), lambda a, b, *_: np.hstack([a, b])),
    "one-hot": (
        lambda *args: ops.one_hot(args[6], 4, 2.0, -1.0, 0),
        lambda *args: np.where(np.arange(4)[:, None] == args[6], 2.0, -1.0),
    ),
    "clip": (lambda a, *_: ops.clip(a, -1, 1), lambda a, *_: np.clip(a, -1, 1)),
    "gelu": (lambda a, *_: ops.gelu(a), lambda a, *_: a * (1 + ERF(a / np.sqrt(2))) / 2),
    "leaky-relu": (lambda a, *_: ops.leaky_relu(a, 0.1), lambda a, *_: np.where(a > 0, a, 0.1 * a)),
    "elu": (lambda a, *_: ops.elu(a, 0.5), lambda a, *_: _elu(a, 0.5)),
    "celu": (lambda a, *_: ops.celu(a, 2.0), lambda a, *_: 2 * _elu(a / 2)),
    "selu": (lambda a, *_: ops.selu(a), lambda a, *_: SELU[0] * _elu(a, SELU[1])),
    "relu6": (lambda a, *_: ops.relu6(a * 4.0), lambda a, *_: np.clip(a * 4, 0, 6)),
    "hardtanh": (lambda a, *_: ops.hardtanh(a, -0.5, 1.5), lambda a, *_: np.clip(a, -0.5, 1.5)),
    "hardswish": (
        lambda a, *_: ops.hardswish(a * 2.0),
        lambda a, *_: 2 * a * np.clip(2 * a + 3, 0, 6) / 6,
    ),
    "hardsigmoid": (
        lambda a, *_: ops.hardsigmoid(a * 2.0),
        lambda a, *_: np.clip(2 * a + 3, 0, 6) / 6,
    ),
    "silu": (lambda a, *_: ops.silu(a), lambda a, *_: a / (1 + np.exp(-a))),
    "softplus": (
        lambda a, *_: ops.softplus(a, 2.0, 3.0),
        lambda a, *_: np.where(2 * a > 3, a, _softplus(2 * a) / 2),
    ),
    "mish": (lambda a, *_: ops.mish(a), lambda a, *_: a * np.tanh(_softplus(a))),
    "softsign": (lambda a, *_: ops.softsign(a), lambda a, *_: a / (1 + np.abs(a))),
    "logsigmoid": (lambda a, *_: ops.logsigmoid(a), lambda a, *_: -_softplus(-a)),
    "smooth-l1": (
        lambda a, b, *_: ops.smooth_l1_loss(a, b, 0.5),
        lambda a, b, *_: np.where(np.abs(a - b) < 0.5, (a - b) ** 2, np.abs(a - b) - 0.25),
    ),
    "kl-div": (
        lambda a, b, p, *_: ops.kl_div(a, p, "batchmean"),
        lambda a, b, p, *_: (p * (np.log(p) - a)).sum() / 3,
    ),
    "bce": (
        lambda a, b, p, *_: ops.binary_cross_entropy(p, ops.sigmoid(a), b),
        lambda a, b, p, *_: np.mean(
            -b * (_sig(a) * np.log(p + 1e-12) + (1 - _sig(a)) * np.log(1 - p + 1e-12))
        ),
    ),
    "dense": (
        lambda *args: ops.dense(args[0], args[4], args[3][:1]),
        lambda *args: args[0] @ args[4].T + args[3][0],
    ),
    "max-pool2d": (
        lambda *args: ops.max_pool2d(args[5], 3, 2, 1),
        lambda *args: _pool(_padded(args[5], 1, -np.inf), 3, 2, np.max),
    ),
    "avg-pool2d": (
        lambda *args: ops.avg_pool2d(args[5], 3, 2, 1),
        lambda *args: _pool(_padded(args[5], 1), 3, 2, np.mean),
    ),
    "avg-pool2d-exclude-pad": (
        lambda *args: ops.avg_pool2d(args[5], 3, 2, 1, count_include_pad=False),
        lambda *args: (
            _pool(_padded(args[5], 1), 3, 2, np.sum)
            / np.outer(_count(6, 3, 2, 1), _count(6, 3, 2, 1))
        ),
    ),
    "avg-pool2d-divisor": (
        lambda *args: ops.avg_pool2d(args[5], 2, divisor_override=3),
        lambda *args: _pool(args[5], 2, 2, np.sum) / 3,
    ),
    "gather-elements": (
        lambda *args: ops.gather_elements(args[0], 1, Tensor(ELEMENTS)),
        lambda *args: np.take_along_axis(args[0], ELEMENTS, 1),
    ),
    "gather-d-rows": (
        lambda *args: ops.gather_d(args[0], 0, Tensor(ROWS.astype(np.int32))),
        lambda *args: np.take_along_axis(args[0], ROWS, 0),
    ),
    "scatter": (
        lambda *args: ops.scatter(args[0], 1, Tensor(ELEMENTS), args[1][:, :2]),
        lambda *args: _put_along(args[0], ELEMENTS, args[1][:, :2], 1),
    ),
    "scatter-number": (
        lambda *args: args[0].scatter(1, Tensor(ELEMENTS), value=7.0),
        lambda *args: _put_along(args[0], ELEMENTS, 7.0, 1),
    ),
    "scatter-elements-add": (
        lambda *args: ops.tensor_scatter_elements(
            args[0], Tensor(ROWS), args[1][:2], 0, reduction="add"
        ),
        lambda *args: _added_along(args[0], ROWS, args[1][:2], 0),
    ),
    "aminmax": (
        lambda *args: ops.stack(ops.aminmax(args[0], axis=1, keepdims=True)),
        lambda *args: np.stack([args[0].min(1, keepdims=True), args[0].max(1, keepdims=True)]),
    ),
    "diff": (
        lambda *args: ops.diff(args[0], 2, 0, prepend=args[1][:1]),
        lambda *args: np.diff(args[0], 2, 0, prepend=args[1][:1]),
    ),
    "take-clip": (
        lambda *args: args[0].take(Tensor(np.array([[0, 11], [13, -2]]))),
        lambda *args: np.take(args[0], [[0, 11], [13, -2]], mode="clip"),
    ),
    "take-wrap": (
        lambda *args: ops.take(args[0], Tensor(np.array([5, -1])), 1, mode="wrap"),
        lambda *args: np.take(args[0], [5, -1], 1, mode="wrap"),
    ),
    "msort": (lambda *args: ops.msort(args[0]), lambda *args: np.sort(args[0], 0)),
    "median": (
        lambda *args: ops.median(args[4], 0)[0] + ops.median(args[0], 1, True)[0].sum(),
        lambda *args: np.sort(args[4], 0)[2] + np.sort(args[0], 1)[:, 1].sum(),
    ),
    "median-index": (
        lambda *args: ops.median(args[4], 0)[1],
        lambda *args: np.argsort(args[4], 0)[2],
    ),
    "logcumsumexp": (
        lambda *args: ops.logcumsumexp(args[0] * 300.0, 1),
        lambda *args: np.logaddexp.accumulate(args[0] * 300.0, 1),
    ),
    "logaddexp2-ldexp": (
        lambda *args: ops.logaddexp2(args[0], args[1]) + ops.ldexp(args[0], Tensor(INDEX[:1])),
        lambda *args: np.logaddexp2(args[0], args[1]) + np.ldexp(args[0], INDEX[0]),
    ),
    "diagflat": (lambda *args: ops.diagflat(args[3], -1), lambda *args: np.diagflat(args[3], -1)),
    "fill-diagonal-wrap": (
        lambda *args: ops.fill_diagonal(args[4], 9.0, wrap=True),
        lambda *args: _filled_diagonal(args[4], 9.0),
    ),
    "masked-scatter": (
        lambda *args: ops.masked_scatter(args[0], args[0] > 0.5, args[1]),
        lambda *args: _masked_scattered(args[0], args[0] > 0.5, args[1]),
    ),
    "histc": (
        lambda *args: ops.concat((ops.histc(args[0], 5, -1.0, 1.0), ops.histc(args[1], 3))),
        lambda *args: np.concatenate(
            [np.histogram(args[0], 5, (-1, 1))[0], np.histogram(args[1], 3)[0]]
        ),
    ),
    "conv2d": (
        lambda *args: ops.conv2d(args[5], args[5][:, :, :3, :3], pad_mode="same"),
        lambda *args: _conv_same(args[5], args[5][:, :, :3, :3]),
    ),
}


def _put_along(x, index, values, axis):
    out = np.array(x)
    np.put_along_axis(out, index, values, axis)
    return out


def _added_along(x, index, values, axis):
    out = np.array(x)
    coordinates = list(np.indices(index.shape))
    coordinates[axis] = index
    np.add.at(out, tuple(coordinates), values)
    return out


def _filled_diagonal(x, value):
    out = np.array(x)
    np.fill_diagonal(out, value, wrap=True)
    return out


def _masked_scattered(x, mask, source):
    out = np.array(x)
    out[mask] = source.reshape(-1)[: mask.sum()]
    return out


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _conv_same(x, w):
    padded = _padded(x, 1)
    out = np.zeros((x.shape[0], w.shape[0], 6, 6))
    for i in range(6):
        for j in range(6):
            out[:, :, i, j] = np.einsum("nchw,ochw->no", padded[:, :, i : i + 3, j : j + 3], w)
    return out


def _inputs(dtype=np.float64):
    arrays = [A, B, P, V, W, IMG]
    return [Tensor(a.astype(dtype)) for a in arrays] + [Tensor(INDEX.astype(np.int32))]


def _check(name, got, want, rtol):
    got = got.asnumpy()
    assert got.shape == np.shape(want), (name, got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.filterwarnings("ignore:.*encountered in log:RuntimeWarning")  # isnan's NaNs
@pytest.mark.parametrize("name", sorted(CASES))
def test_eager_matches_the_documented_rule(name):
    fn, reference = CASES[name]
    _check(name, fn(*_inputs()), reference(A, B, P, V, W, IMG, INDEX), 1e-12)


@pytest.mark.filterwarnings("ignore:.*encountered in log:RuntimeWarning")
def test_compiled_matches_the_documented_rule():
    names = sorted(CASES)
    outputs = Lambda(lambda *args: tuple(CASES[n][0](*args) for n in names))(*_inputs(np.float32))
    for name, got in zip(names, outputs, strict=True):
        _check(name, got, CASES[name][1](A, B, P, V, W, IMG, INDEX), 2e-5)


def test_math_functions_in_float16_float64_and_integers():
    """float16 computes through float32 (libm has no half functions); integers become Float32."""
    fns = (ops.atan, ops.sinh, ops.log1p, ops.expm1, ops.erfc, ops.round)
    refs = (np.arctan, np.sinh, np.log1p, np.expm1, lambda x: 1 - ERF(x), np.round)
    x = np.array([0.25, -0.5, 1.5, 2.0])
    for dtype, rtol in ((np.float16, 1e-3), (np.float64, 1e-12)):
        outputs = Lambda(lambda t: tuple(f(t) for f in fns))(Tensor(x.astype(dtype)))
        for f, ref, got in zip(fns, refs, outputs, strict=True):
            assert got.dtype == mstype.from_numpy(np.dtype(dtype)), f.__name__
            np.testing.assert_allclose(got.asnumpy(), ref(x), rtol=rtol, err_msg=f.__name__)
    integers = Tensor(np.array([1, 2, 3], np.int32))
    assert ops.tan(integers).dtype == mstype.float32
    assert ops.trunc(integers).dtype == mstype.int32


def test_dtypes_follow_mindspore():
    assert ops.one_hot(Tensor(INDEX), 3).dtype == mstype.int64
    assert ops.one_hot(Tensor(INDEX), 3, 1.0, 0.0).dtype == mstype.float32
    assert ops.reciprocal(Tensor(np.array([2, 4], np.int32))).dtype == mstype.float32
    assert ops.isnan(Tensor(A)).dtype == mstype.bool_
    assert ops.eye(3, 2).dtype == mstype.float32 and ops.eye(3, 2).shape == (3, 2)
    np.testing.assert_array_equal(
        ops.linspace(0, 1, 5).asnumpy(), np.linspace(0, 1, 5, dtype=np.float32)
    )
    assert ops.full_like(Tensor(INDEX.astype(np.int32)), 7).dtype == mstype.int32


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ops.div(Tensor(A), 2.0, rounding_mode="round"), "rounding_mode must be None"),
        (lambda: ops.norm(Tensor(A), 3), "ord=3"),
        (lambda: ops.max_pool2d(Tensor(IMG), 2, ceil_mode=True), "ceil_mode=True"),
        (lambda: ops.softplus(Tensor(A), 0), "'beta' cannot be 0"),
        (lambda: ops.kl_div(Tensor(A), Tensor(P), "avg"), "must be in"),
        (lambda: ops.dense(Tensor(A), Tensor(W.T)), r"input \(3, 4\) and weight \(4, 5\)"),
        (lambda: ops.chunk(Tensor(A), 0), "must be greater than 0"),
        (lambda: ops.geqrf(Tensor(A)), "cellc has no mindspore.ops.geqrf yet"),
    ],
)
def test_what_cellc_does_not_do_says_so(call, message):
    with pytest.raises((ValueError, NotImplementedError, AttributeError), match=message):
        call()


GRADIENTS = {
    "softplus": lambda a: ops.softplus(a, 2.0, 3.0),
    "silu-mish": lambda a: ops.silu(a) * ops.mish(a),
    "celu-selu": lambda a: ops.celu(a, 0.7) + ops.selu(a),
    "logsigmoid-softsign": lambda a: ops.logsigmoid(a) * ops.softsign(a),
    "logsumexp": lambda a: ops.logsumexp(a, 1, True),
    "var-std": lambda a: ops.var(a, 0) + ops.std(a, 1, keepdims=True),
    "norm": lambda a: ops.norm(a, dim=1),
    "smooth-l1": lambda a, b: ops.smooth_l1_loss(a, b, 0.8, "sum"),
    "kl-div": lambda a, p: ops.kl_div(a, p),
    "bce": lambda p, b: ops.binary_cross_entropy(p, b * 0.4, b),
    "lerp-xlogy": lambda a, b, p: ops.lerp(a, b, p) * ops.xlogy(p, b),
    "floor-is-flat": lambda a: ops.floor(a * 3.0) * a,
    "index-add": lambda a, w: ops.index_add(w, Tensor(INDEX.astype(np.int32)), a * a, 0),
    "inverse-trig": lambda p: ops.asin(p) * ops.acos(p) + ops.atanh(p) * ops.tan(p),
    "hyperbolic-logs": lambda a, b: ops.sinh(a) * ops.cosh(b) + ops.asinh(a) * ops.log2(b),
    "atan2-expm1-erfc": lambda a, b: ops.atan2(a, b) * ops.expm1(a) + ops.erfc(a) * ops.log10(b),
    "dense": lambda a, w: ops.dense(a, w),
    "avg-pool2d": lambda x: ops.avg_pool2d(x, 3, 2, 1),
    "logcumsumexp-logaddexp2-diff": lambda a, b: (
        (ops.logcumsumexp(a, 0) * ops.logaddexp2(a, b))[:, :3] + ops.diff(b, 1, 1)
    ),
    "gather-scatter-elements": lambda a, b: ops.tensor_scatter_elements(
        a, Tensor(ROWS), ops.tile(ops.gather_elements(b, 1, Tensor(ELEMENTS)), (1, 2))[:2], 0, "add"
    ),
}
SHAPES = {"a": A, "b": B, "p": P, "w": W, "x": IMG}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_compiled_vjp_matches_finite_differences(name):
    fn = GRADIENTS[name]
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    args = [SHAPES[n].copy() for n in names]
    if name == "floor-is-flat":  # away from the jumps
        args[0] = np.round(args[0] * 3) / 3 + 0.15
    if name == "smooth-l1":  # away from the switching point
        args[0] = np.where(np.abs(np.abs(args[0] - args[1]) - 0.8) < 0.05, args[1] + 0.3, args[0])
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    forward = Lambda(fn)
    out = forward(*[Tensor(a) for a in args]).asnumpy()
    sens = rng.uniform(-1, 1, out.shape)
    got = GradAll(Lambda(fn))(*[Tensor(a) for a in args], Tensor(sens))
    got = got if isinstance(got, tuple) else (got,)
    for g, e in zip(got, numeric_vjp(forward, args, sens), strict=True):
        np.testing.assert_allclose(g.asnumpy(), e, rtol=1e-6, atol=1e-7, err_msg=name)


def _methods(a, b, p):
    return (
        a.tanh() + a.sigmoid() * a.sin() - a.cos().erf().sign(),
        a.add(b).sub(p).mul(2.0).div(b).neg().pow(2),
        a.maximum(b).minimum(p).square() + b.reciprocal() + b.rsqrt() + b.log1p(),
        a.floor() + a.ceil() + a.clamp(-1.0, 1.0),
        a.softmax(0).matmul(b.t()),
        a.unsqueeze(0).permute(2, 0, 1).swapaxes(0, 1).flip(2).narrow(2, 1, 2),
        a.tril(1).triu(-1).masked_fill(a > 1.0, 5.0),
        a.var(1, 1) + a.std(1) + a.amax(1) + a.amin(1) + a.norm(dim=1) + a.logsumexp(1),
        a.gather(Tensor(INDEX.astype(np.int32)), 1).broadcast_to((2, 3, 3)),
        p.expand_as(a.unsqueeze(0).broadcast_to((2, 3, 4))),
    )


def _methods_reference(a, b, p):
    logsumexp = np.log(np.exp(a).sum(1))
    return (
        np.tanh(a) + _sig(a) * np.sin(a) - np.sign(ERF(np.cos(a))),
        (-((a + b - p) * 2 / b)) ** 2,
        np.minimum(np.maximum(a, b), p) ** 2 + 1 / b + 1 / np.sqrt(b) + np.log1p(b),
        np.floor(a) + np.ceil(a) + np.clip(a, -1, 1),
        (np.exp(a) / np.exp(a).sum(0)) @ b.T,
        a[None].transpose(2, 0, 1).swapaxes(0, 1)[:, :, ::-1][:, :, 1:3],
        np.where(a > 1, 5.0, np.triu(np.tril(a, 1), -1)),
        a.var(1, ddof=1) + a.std(1) + a.max(1) + a.min(1) + np.linalg.norm(a, axis=1) + logsumexp,
        np.broadcast_to(a[:, INDEX], (2, 3, 3)),
        np.broadcast_to(P, (2, 3, 4)),
    )


def test_tensor_methods_eager_and_compiled():
    want = _methods_reference(A, B, P)
    eager = _methods(Tensor(A), Tensor(B), Tensor(P))
    compiled = Lambda(_methods)(*(Tensor(x.astype(np.float32)) for x in (A, B, P)))
    for index, (e, c, w) in enumerate(zip(eager, compiled, want, strict=True)):
        _check(f"eager {index}", e, w, 1e-12)
        _check(f"compiled {index}", c, w, 2e-5)
    assert Tensor(INDEX).numpy().tolist() == Tensor(INDEX).tolist() == INDEX.tolist()


def _torch_like_nearest(x, out):  # source floor(i * in / out) per spatial axis
    for axis, new in enumerate(out, start=2):
        old = x.shape[axis]
        x = np.take(x, np.minimum((np.arange(new) * old) // new, old - 1), axis)
    return x


def _bilinear(x, out, align_corners):
    """Separable linear interpolation, written out per output pixel."""
    for axis, new in enumerate(out, start=2):
        old = x.shape[axis]
        moved = np.moveaxis(x, axis, -1)
        result = np.empty(moved.shape[:-1] + (new,))
        for i in range(new):
            if align_corners:
                src = i * (old - 1) / (new - 1) if new > 1 else 0.0
            else:
                src = max((i + 0.5) * old / new - 0.5, 0.0)
            lo = min(int(np.floor(src)), old - 1)
            hi = min(lo + 1, old - 1)
            result[..., i] = moved[..., lo] * (1 - (src - lo)) + moved[..., hi] * (src - lo)
        x = np.moveaxis(result, -1, axis)
    return x


RESIZES = {
    "nearest-up": (dict(scale_factor=2.0), lambda x: _torch_like_nearest(x, (12, 12))),
    "nearest-size": (dict(size=(4, 9)), lambda x: _torch_like_nearest(x, (4, 9))),
    "bilinear": (dict(size=(9, 4), mode="bilinear"), lambda x: _bilinear(x, (9, 4), False)),
    "bilinear-corners": (
        dict(size=(11, 7), mode="bilinear", align_corners=True),
        lambda x: _bilinear(x, (11, 7), True),
    ),
}


@pytest.mark.parametrize("name", sorted(RESIZES))
def test_interpolate_and_upsample(name):
    kwargs, reference = RESIZES[name]
    want = reference(IMG)
    _check(name, ops.interpolate(Tensor(IMG), **kwargs), want, 1e-12)
    _check(name, nn.Upsample(**kwargs)(Tensor(IMG.astype(np.float32))), want, 2e-6)


def test_linear_interpolation_of_sequences():
    seq = IMG[:, :, 0, :]
    got = ops.interpolate(Tensor(seq), size=10, mode="linear", align_corners=True)
    _check("linear", got, _bilinear(seq, (10,), True), 1e-12)
    with pytest.raises(NotImplementedError, match="mode 'bicubic'"):
        ops.interpolate(Tensor(IMG), size=3, mode="bicubic")
    with pytest.raises(ValueError, match="exactly one of 'size' and 'scale_factor'"):
        ops.interpolate(Tensor(IMG))


def test_resize_primitives_and_the_gradient_of_bilinear():
    x = Tensor(IMG.astype(np.float32))
    _check("nn", ops.ResizeNearestNeighbor((3, 5))(x), _torch_like_nearest(IMG, (3, 5)), 2e-6)
    resized = ops.ResizeBilinearV2(True, False)(x, (8, 8))
    _check("bilinear-v2", resized, _bilinear(IMG, (8, 8), True), 2e-6)
    forward = Lambda(lambda v: ops.interpolate(v, size=(5, 8), mode="bilinear"))
    sens = RNG.uniform(-1, 1, (2, 3, 5, 8))
    (got,) = GradAll(forward)(Tensor(IMG), Tensor(sens))
    (want,) = numeric_vjp(forward, [IMG.copy()], sens)
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-6, atol=1e-8)


def _primitives(a, b, p, mask):
    index, values = ops.ArgMaxWithValue(1, keep_dims=True)(a)
    loss, dlogits = ops.SoftmaxCrossEntropyWithLogits()(a, p / p.sum(1, keepdims=True))
    y, mean, variance = ops.LayerNorm(1, 1)(a, b[0], p[0])
    return (
        ops.Floor()(a) + ops.Ceil()(a) + ops.ReLU6()(a * 4.0),
        ops.Log1p()(b) + ops.Reciprocal()(b) + ops.Rsqrt()(b) + ops.Xlogy()(p, b),
        ops.SquaredDifference()(a, b) + ops.DivNoNan()(a, ops.relu(a)),
        ops.AddN()((a, b, p)) + ops.BiasAdd()(a, b[0]),
        ops.ReduceMin(keep_dims=True)(a, 1),
        ops.ReduceAny()(mask, 1),
        ops.ReduceAll()(mask, 0),
        index,
        values,
        ops.ArgMinWithValue()(a)[0],
        ops.Unstack(1)(a)[2],
        ops.L2Normalize(1)(a),
        ops.SigmoidCrossEntropyWithLogits()(a, p),
        loss,
        dlogits,
        ops.SparseSoftmaxCrossEntropyWithLogits()(a, Tensor(INDEX.astype(np.int32))),
        y,
        mean,
        variance,
        ops.StopGradient()(a) * ops.Size()(a) + ops.Rank()(a) + ops.Shape()(a)[1],
        ops.GatherD()(a, 1, Tensor(ELEMENTS)),
        ops.TensorScatterElements(1, "add")(a, Tensor(ELEMENTS), b[:, :2]),
    )


def _primitives_reference(a, b, p, mask):
    softmax = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    q = p / p.sum(1, keepdims=True)
    centered = a - a.mean(1, keepdims=True)
    variance = (centered**2).mean(1, keepdims=True)
    return (
        np.floor(a) + np.ceil(a) + np.clip(a * 4, 0, 6),
        np.log1p(b) + 1 / b + 1 / np.sqrt(b) + p * np.log(b),
        (a - b) ** 2 + np.where(a > 0, 1.0, 0.0),
        a + b + p + a + b[0],
        a.min(1, keepdims=True),
        mask.any(1),
        mask.all(0),
        a.argmax(1)[:, None],
        a.max(1, keepdims=True),
        a.argmin(0),
        a[:, 2],
        a / np.sqrt(np.maximum((a * a).sum(1, keepdims=True), 1e-4)),
        np.maximum(a, 0) - a * p + np.log1p(np.exp(-np.abs(a))),
        -(q * np.log(softmax)).sum(1),
        softmax - q,
        -np.log(softmax[np.arange(3), INDEX]).mean(),
        centered / np.sqrt(variance + 1e-7) * B[0] + P[0],
        a.mean(1, keepdims=True),
        variance,
        a * 12 + 2 + 4,
        np.take_along_axis(a, ELEMENTS, 1),
        _added_along(a, ELEMENTS, b[:, :2], 1),
    )


def test_primitives_eager_and_compiled():
    mask = A > 0
    want = _primitives_reference(A, B, P, mask)
    eager = _primitives(Tensor(A), Tensor(B), Tensor(P), Tensor(mask))
    arrays = [Tensor(x.astype(np.float32)) for x in (A, B, P)] + [Tensor(mask)]
    compiled = Lambda(_primitives)(*arrays)
    for index, (e, c, w) in enumerate(zip(eager, compiled, want, strict=True)):
        _check(f"eager {index}", e, w, 1e-12)
        _check(f"compiled {index}", c, w, 2e-5)
    assert compiled[7].dtype == mstype.int32 and compiled[5].dtype == mstype.bool_


def _small_ints(a, b):
    return (
        a + b,
        a * b,
        a // b,
        a % b,
        ops.maximum(a, b),
        a > b,
        ops.cast(a, mstype.float32) * 0.5,
        ops.cumsum(a, 0),
        ops.abs(a),
        ops.where(a > 0, a, b),
        ops.cast(a, mstype.int64),
        a / b,
    )


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_int8_and_int16_compute_like_numpy(dtype):
    a, b = np.array([3, -7, 5, 100], dtype), np.array([2, 3, -4, 27], dtype)
    want = (
        a + b,
        a * b,
        a // b,
        a % b,
        np.maximum(a, b),
        a > b,
        a.astype(np.float32) * 0.5,
        np.cumsum(a, dtype=dtype),
        np.abs(a),
        np.where(a > 0, a, b),
        a.astype(np.int64),
        (a / b).astype(np.float32),
    )
    eager = _small_ints(Tensor(a), Tensor(b))
    compiled = Lambda(_small_ints)(Tensor(a), Tensor(b))
    for index, (e, c, w) in enumerate(zip(eager, compiled, want, strict=True)):
        for got in (e, c):
            assert got.asnumpy().dtype == w.dtype, index
            np.testing.assert_array_equal(got.asnumpy(), w, err_msg=str(index))


def test_cumsum_and_division_modes():
    x = Tensor(A)
    _check("cumsum", ops.cumsum(x, 1), np.cumsum(A, 1), 1e-12)
    _check("method", x.cumsum(0), np.cumsum(A, 0), 1e-12)
    _check("exclusive", ops.CumSum(exclusive=True)(x, 1), np.cumsum(A, 1) - A, 1e-12)
    _check("reverse", ops.CumSum(reverse=True)(x, 0), np.cumsum(A[::-1], 0)[::-1], 1e-12)
    ints = Tensor(np.array([7, -7, 7, -7])), Tensor(np.array([2, 2, -2, -2]))
    assert (ints[0] / ints[1]).dtype == mstype.float32
    np.testing.assert_array_equal(ops.div(*ints, rounding_mode="trunc").asnumpy(), [3, -3, -3, 3])
    np.testing.assert_array_equal(ops.div(*ints, rounding_mode="floor").asnumpy(), [3, -4, -4, 3])
    np.testing.assert_array_equal(ops.addn(ints).asnumpy(), [9, -5, 5, -9])
    grad = GradAll(Lambda(lambda v: ops.cumsum(v, 1)))(Tensor(A), Tensor(np.ones_like(A)))[0]
    np.testing.assert_allclose(grad.asnumpy(), np.tile(np.arange(4, 0, -1.0), (3, 1)))


def test_tensor_comparisons_and_one_hot_cell():
    x, y = Tensor(np.array([1, 2, 3])), Tensor(np.array([1, 3, 2]))
    assert x.equal(y).tolist() == [True, False, False]
    assert x.ne(y).tolist() == [False, True, True]
    assert x.gt(y).tolist() == [False, False, True] and x.le(y).tolist() == [True, True, False]
    hot = nn.OneHot(axis=0, depth=3, on_value=5.0, off_value=-1.0)(
        Tensor(np.array([2, 0], np.int32))
    )
    np.testing.assert_array_equal(hot.asnumpy(), [[-1, 5], [-1, -1], [5, -1]])


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_dropout_primitives_return_the_mask_they_applied(compiled):
    x = Tensor(RNG.uniform(1, 2, (4, 8, 5, 5)).astype(np.float32))

    def run(fn):
        return Lambda(fn)(x) if compiled else fn(x)

    out, mask = run(lambda v: ops.Dropout(keep_prob=0.6)(v))
    m = mask.asnumpy()
    assert mask.dtype == mstype.float32 and set(np.unique(m)) <= {0.0, 1.0}
    assert 0.5 < m.mean() < 0.7
    np.testing.assert_allclose(out.asnumpy(), x.asnumpy() * m / np.float32(0.6), rtol=1e-6)
    again, _ = run(lambda v: ops.Dropout(keep_prob=0.6)(v))
    assert not np.array_equal(again.asnumpy(), out.asnumpy())  # a fresh mask per call
    out, mask = run(lambda v: ops.Dropout2D(keep_prob=0.5)(v))
    m = mask.asnumpy()
    assert mask.dtype == mstype.bool_ and m.shape == x.shape
    assert (m == m[:, :, :1, :1]).all()  # whole channels
    np.testing.assert_allclose(out.asnumpy(), np.where(m, x.asnumpy() * 2, 0), rtol=1e-6)


def test_astype_takes_numpy_dtypes_and_names():
    x = Tensor(np.array([1.5, -2.5]))
    assert x.astype(np.float32).dtype == mstype.float32
    assert x.astype("int16").dtype == mstype.int16
    assert x.astype(np.int32).tolist() == [1, -2]
    with pytest.raises(TypeError, match="unsupported dtype uint8; cellc supports bool, int8"):
        x.astype(np.uint8)


def _powers(x, y, n):
    return (x**y, x**3.0, x ** (-2), 2.0**y, n**n, n**2, x.astype(mstype.float16) ** 3.5, x**2.5)


@pytest.mark.filterwarnings("ignore:invalid value encountered in power:RuntimeWarning")
def test_pow_is_exact_for_integral_exponents_and_defined_for_negative_bases():
    """x ** y as one op (math.powf): (-2) ** 3 is -8 (exp(y log x) gave NaN), 3 ** 4 is 81
    exactly, integers raise integers; eager and compiled agree with numpy."""
    x = np.array([-2.0, 0.5, 3.0, -1.5], np.float32)
    y = np.array([3.0, -1.0, 4.0, 2.0], np.float32)
    n = np.array([1, 2, 3, 4], np.int32)
    want = (
        x**y,
        x**3,
        x ** (-2.0),
        2.0**y,
        n**n,
        n**2,
        x.astype(np.float16) ** np.float16(3.5),
        x**2.5,
    )
    args = (Tensor(x), Tensor(y), Tensor(n))
    for got_all in (_powers(*args), Lambda(_powers)(*args)):
        for index, (got, w) in enumerate(zip(got_all, want, strict=True)):
            assert got.asnumpy().dtype == w.dtype, index
            np.testing.assert_allclose(
                got.asnumpy(), w, rtol=2e-3 if w.dtype == np.float16 else 1e-6, err_msg=str(index)
            )
    grad = GradAll(Lambda(lambda a, b: a**b))(
        Tensor(x.astype(np.float64)), Tensor(y.astype(np.float64)), Tensor(np.ones(4))
    )
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_allclose(grad[0].asnumpy(), yd * xd ** (yd - 1), rtol=1e-12)
    np.testing.assert_allclose(
        grad[1].asnumpy(), np.where(xd < 0, 0.0, xd**yd * np.log(np.abs(xd))), rtol=1e-12
    )


def test_batch_norm_bias_add_avg_pool1d_and_slice_functions():
    from cellc import Parameter

    x = IMG.astype(np.float32)
    mean = Parameter(Tensor(np.zeros(3, np.float32)), name="running_mean")
    var = Parameter(Tensor(np.ones(3, np.float32)), name="running_var")
    gamma, beta = np.array([1.0, 2.0, 0.5], np.float32), np.array([0.0, -1.0, 1.0], np.float32)
    got = ops.batch_norm(
        Tensor(x), mean, var, Tensor(gamma), Tensor(beta), training=True, momentum=0.2
    )
    m, v = IMG.mean((0, 2, 3)), IMG.var((0, 2, 3))
    want = (IMG - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-5) * gamma[
        :, None, None
    ] + beta[:, None, None]
    _check("batch_norm", got, want, 2e-5)
    count = IMG.size // 3
    np.testing.assert_allclose(mean.asnumpy(), 0.2 * m, rtol=1e-5)
    np.testing.assert_allclose(var.asnumpy(), 0.8 + 0.2 * v * count / (count - 1), rtol=1e-5)
    inferred = ops.batch_norm(Tensor(x), mean, var, Tensor(gamma), Tensor(beta))
    running = (IMG - mean.asnumpy()[:, None, None]) / np.sqrt(var.asnumpy()[:, None, None] + 1e-5)
    _check(
        "batch_norm inference", inferred, running * gamma[:, None, None] + beta[:, None, None], 2e-5
    )
    _check("bias_add", ops.bias_add(Tensor(x), Tensor(beta)), x + beta[:, None, None], 1e-6)
    seq = IMG[:, :, 0, :]
    _check(
        "avg_pool1d",
        ops.avg_pool1d(Tensor(seq), 2, 2),
        (seq[:, :, 0::2] + seq[:, :, 1::2]) / 2,
        1e-12,
    )
    _check("slice", ops.slice(Tensor(IMG), (0, 1, 2, 0), (2, -1, 3, 4)), IMG[:, 1:, 2:5, :4], 1e-12)


def test_setitem_updates_the_tensor_eagerly_in_a_construct_and_a_parameter():
    """x[index] = value with numpy's rules (ints, slices, a bool mask, an int array); inside a
    construct the traced tensor takes the update, a Parameter is assigned it; the gradient
    reaches both the kept elements of x and the value."""
    from cellc import Parameter

    x = Tensor(np.arange(6.0).reshape(2, 3))
    x[0, 1] = 10.0
    x[:, 2] = Tensor(np.array([7.0, 8.0]))
    x[np.array([True, False])] = -1
    x[1, [0, 1]] = 5
    np.testing.assert_array_equal(x.asnumpy(), [[-1, -1, -1], [5, 5, 8]])

    def update(a, b):
        a[:, 0] = b
        a[a.shape[0] - 1] = 0.5
        return a * 2

    a, b = np.ones((3, 2)), np.array([1.0, 2.0, 3.0])
    want = a.copy()
    want[:, 0], want[-1] = b, 0.5
    np.testing.assert_array_equal(Lambda(update)(Tensor(a), Tensor(b)).asnumpy(), want * 2)
    sens = RNG.uniform(-1, 1, (3, 2))
    d_a, d_b = GradAll(Lambda(update))(Tensor(a), Tensor(b), Tensor(sens))
    kept = np.ones((3, 2))
    kept[:, 0], kept[-1] = 0, 0
    np.testing.assert_allclose(d_a.asnumpy(), 2 * sens * kept)
    np.testing.assert_allclose(d_b.asnumpy(), [2 * sens[0, 0], 2 * sens[1, 0], 0.0])

    weight = Parameter(Tensor(np.zeros(4, np.float32)), name="w")

    class Writes(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = weight

        def construct(self, v):
            self.w[1:3] = v
            return self.w * 1.0

    Writes()(Tensor(np.array([4.0, 5.0], np.float32)))
    np.testing.assert_array_equal(weight.asnumpy(), [0, 4, 5, 0])


def test_mutable_and_jit_config_are_accepted():
    import cellc

    assert cellc.mutable((1, 2)) == (1, 2)
    config = cellc.JitConfig(jit_level="O0")
    cell = nn.ReLU()
    cell.set_jit_config(config)
    assert config.jit_config_dict["jit_level"] == "O0"
    np.testing.assert_array_equal(cell(Tensor(np.array([-1.0, 2.0]))).asnumpy(), [0.0, 2.0])


def test_more_reductions_norms_diagonal_and_cropping_pad():
    x = Tensor(A)
    variance, mean = ops.var_mean(x, 1, ddof=1)
    _check("var_mean", variance, A.var(1, ddof=1), 1e-12)
    _check("var_mean mean", mean, A.mean(1), 1e-12)
    _check("std_mean", ops.std_mean(x, 0)[0], A.std(0), 1e-12)
    with_nan = A.copy()
    with_nan[0, 1] = np.nan
    _check("nanmean", ops.nanmean(Tensor(with_nan), 1), np.nanmean(with_nan, 1), 1e-12)
    for order in (2, 1, 3, float("inf"), 0):
        _check(
            f"vector_norm {order}",
            ops.vector_norm(x, order, 1),
            np.linalg.norm(A, order, axis=1),
            1e-12,
        )
    _check("diagonal", ops.diagonal(Tensor(IMG), 1, 2, 3), np.diagonal(IMG, 1, 2, 3), 1e-12)
    _check("diagonal below", ops.diagonal(x, -1), np.diagonal(A, -1), 1e-12)
    _check("tanhshrink", ops.tanhshrink(x), A - np.tanh(A), 1e-12)
    cropped = ops.pad(x, (-1, 2, 1, -1))
    _check("pad crops", cropped, np.pad(A[:-1, 1:], [(1, 0), (0, 2)]), 1e-12)
    import cellc

    made = cellc.tensor([1, 2, 3], cellc.float32)
    assert made.dtype == mstype.float32 and made.type() == "Float32"
    assert made.type(mstype.int32).dtype == mstype.int32


def _ranked(x):
    values, indices = ops.topk(x, 2)
    low, low_at = ops.topk(x, 3, dim=0, largest=False)
    ascending, order = ops.sort(x, 1)
    return values, indices, low, low_at, ascending, order, ops.argsort(x, 1, descending=True)


def test_topk_sort_and_argsort_pick_in_order_first_of_a_tie():
    x = np.array([[3.0, 1.0, 4.0, 1.0], [5.0, 9.0, 2.0, 6.0], [1.0, 1.0, 8.0, 0.5]])
    stable = np.argsort(x, 1, kind="stable")
    want = (
        -np.sort(-x, 1)[:, :2],
        np.argsort(-x, 1, kind="stable")[:, :2],
        np.sort(x, 0),
        np.argsort(x, 0, kind="stable"),
        np.sort(x, 1),
        stable,
        np.argsort(-x, 1, kind="stable"),
    )
    for got_all in (_ranked(Tensor(x)), Lambda(_ranked)(Tensor(x.astype(np.float32)))):
        for index, (got, w) in enumerate(zip(got_all, want, strict=True)):
            np.testing.assert_array_equal(got.asnumpy(), w, err_msg=str(index))
        assert got_all[1].dtype == mstype.int32
    sens = RNG.uniform(-1, 1, (3, 2))
    (grad,) = GradAll(Lambda(lambda v: ops.topk(v, 2)[0]))(Tensor(x), Tensor(sens))
    picked = np.zeros_like(x)
    np.put_along_axis(picked, want[1], sens, 1)
    np.testing.assert_allclose(grad.asnumpy(), picked)


def _products(x):
    return (
        ops.prod(x),
        ops.prod(x, 1, keep_dims=True),
        ops.prod(x, (0,)),
        ops.cumprod(x, 1),
        ops.repeat_interleave(x, 2, 1),
        ops.repeat_interleave(x, 3),
        ops.vecdot(x, x, axis=0),
    )


def test_prod_cumprod_repeat_interleave_vecdot():
    x = np.array([[2.0, 0.0, 3.0], [1.5, -2.0, 4.0], [0.5, 1.0, -1.0]])
    want = (
        np.prod(x),
        np.prod(x, 1, keepdims=True),
        np.prod(x, 0),
        np.cumprod(x, 1),
        np.repeat(x, 2, 1),
        np.repeat(x, 3),
        (x * x).sum(0),
    )
    for got_all in (_products(Tensor(x)), Lambda(_products)(Tensor(x.astype(np.float32)))):
        for index, (got, w) in enumerate(zip(got_all, want, strict=True)):
            np.testing.assert_allclose(got.asnumpy(), w, rtol=1e-6, err_msg=str(index))
    assert ops.prod(Tensor(np.arange(1, 8))).asnumpy() == 5040
    # d prod / dx_i = the product of the others, also where a factor is zero
    (grad,) = GradAll(Lambda(lambda v: ops.prod(v, 1)))(Tensor(x), Tensor(np.ones(3)))
    others = np.stack([[np.prod(np.delete(row, i)) for i in range(3)] for row in x])
    np.testing.assert_allclose(grad.asnumpy(), others)
    assert ops.upsample is ops.interpolate


def _methods_more(x):
    return (
        x.prod(1),
        x.all(),
        x.any(1),
        (x > 0).all(0),
        x.topk(1)[1],
        x.sort(0)[0],
        x.argsort(1, descending=True),
        x.diagonal(),
        x.repeat_interleave(2, 0),
        x.nanmean(0),
    )


def test_more_tensor_methods_eager_and_compiled():
    x = np.array([[1.0, 0.0, 2.0], [2.0, 3.0, -1.0], [0.5, 4.0, 1.0]])
    want = (
        np.prod(x, 1),
        np.array(x.all()),
        x.any(1),
        (x > 0).all(0),
        np.argsort(-x, 1, kind="stable")[:, :1],
        np.sort(x, 0),
        np.argsort(-x, 1, kind="stable"),
        np.diagonal(x),
        np.repeat(x, 2, 0),
        x.mean(0),
    )
    for got_all in (_methods_more(Tensor(x)), Lambda(_methods_more)(Tensor(x.astype(np.float32)))):
        for index, (got, w) in enumerate(zip(got_all, want, strict=True)):
            np.testing.assert_allclose(got.asnumpy(), w, rtol=1e-6, err_msg=str(index))


def test_tensor_methods_take_pytorch_spellings():
    """MindSpore 2.x's Tensor overloads: `dim`/`keepdim` for the axis, `max(dim=)` giving
    (values, indices), `mm`, `chunk`, the math functions as methods; eager and compiled."""

    def methods(a, b):
        values, indices = a.max(dim=1, keepdim=True)
        return (
            a.sum(dim=1, keepdim=True) + a.mean(dim=1, keepdim=True) + values,
            indices,
            a.cumsum(dim=0) + a.sort(dim=1)[0],
            a.mm(b.T) + a.chunk(2, dim=0)[0].sum(),
            a.atan2(b) + b.log2() + a.trunc() + a.nansum(dim=0),
        )

    def reference(a, b):
        keep = {"axis": 1, "keepdims": True}
        return (
            a.sum(**keep) + a.mean(**keep) + a.max(**keep),
            a.argmax(1)[:, None],
            np.cumsum(a, 0) + np.sort(a, 1),
            a @ b.T + a[:2].sum(),
            np.arctan2(a, b) + np.log2(b) + np.trunc(a) + a.sum(0),
        )

    want = reference(A, B)
    eager = methods(Tensor(A), Tensor(B))
    compiled = Lambda(methods)(Tensor(A.astype(np.float32)), Tensor(B.astype(np.float32)))
    for index, (e, c, w) in enumerate(zip(eager, compiled, want, strict=True)):
        _check(f"eager {index}", e, w, 1e-12)
        _check(f"compiled {index}", c, w, 2e-5)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # int(NaN)
def test_pytorch_style_functions_and_methods():
    """fmax/fmin (NaN-ignoring), copysign, heaviside, isclose, roll, inner, movedim, unbind,
    addmm/addmv/baddbmm/addbmm, float_power, dtype conversions: against numpy, eager and
    compiled."""
    x = A.copy()
    x[0, 1] = np.nan
    batch = RNG.uniform(-1, 1, (2, 3, 4))
    square = RNG.uniform(-1, 1, (2, 4, 4))

    def functions(a, b, p, w, bt, sq):
        return (
            a.fmax(b) + a.fmin(p),
            a.copysign(-b) + ops.heaviside(a, p),
            ops.isclose(a, a + 1e-9).astype(mstype.float32),
            a.roll(1, 1) + ops.roll(a, (1, -1), (0, 1)),
            a.inner(w),
            ops.movedim(bt, (0, 1), (2, 0)),
            a.unbind(0)[2],
            ops.addmm(a, a, sq[0], beta=0.5, alpha=2.0),
            ops.addmv(a[0], sq[1], w[0]) + ops.addbmm(sq[0], sq, sq),
            ops.baddbmm(bt, bt, sq, beta=2.0, alpha=0.5),
            a.float_power(2).astype(mstype.float32) + a.int().astype(mstype.float32),
        )

    def reference(a, b, p, w, bt, sq):
        return (
            np.fmax(a, b) + np.fmin(a, p),
            np.copysign(a, -b) + np.heaviside(a, p),
            np.isclose(a, a + 1e-9).astype(np.float32),
            np.roll(a, 1, 1) + np.roll(a, (1, -1), (0, 1)),
            np.inner(a, w),
            np.moveaxis(bt, (0, 1), (2, 0)),
            a[2],
            0.5 * a + 2 * (a @ sq[0]),
            a[0] + sq[1] @ w[0] + sq[0] + (sq @ sq).sum(0),
            2 * bt + 0.5 * (bt @ sq),
            a**2 + np.trunc(np.nan_to_num(a)),
        )

    args = (x, B, P, W, batch, square)
    want = reference(*args)
    eager = functions(*(Tensor(v) for v in args))
    compiled = Lambda(functions)(*(Tensor(v.astype(np.float32)) for v in args))
    for index, (e, c, w) in enumerate(zip(eager, compiled, want, strict=True)):
        exact = 1e-12
        if index == 10:  # int() of NaN is undefined: compare where a is a number (in float32)
            e, c, w = (np.delete(np.ravel(np.asarray(v)), 1) for v in (e.asnumpy(), c.asnumpy(), w))
            e, c, exact = Tensor(e), Tensor(c), 1e-6
        np.testing.assert_allclose(e.asnumpy(), w, rtol=exact, atol=exact, err_msg=f"eager {index}")
        np.testing.assert_allclose(
            c.asnumpy(), w, rtol=2e-5, atol=2e-5, err_msg=f"compiled {index}"
        )
    assert ops.allclose(Tensor(A), Tensor(A + 1e-9)) is True
    assert Tensor(A).numel() == 12 and Tensor(A).double().dtype == mstype.float64
    small = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(
        Tensor(small).repeat(2, 3, 4).asnumpy(), np.tile(small, (2, 3, 4))
    )
    np.testing.assert_array_equal(Tensor(small).repeat(2, axis=1).asnumpy(), small.repeat(2, 1))


def test_in_place_methods_update_the_tensor_eager_compiled_and_parameters():
    """`x.add_(y)` and its kin: x takes the result (its dtype and shape kept) and is returned;
    in a construct the traced tensor does, and a Parameter is assigned."""

    class InPlace(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(Tensor(np.zeros(4, np.float32)), name="w")

        def construct(self, a, b):
            x = a * 1.0
            x.add_(b, alpha=2.0).sub_(1.0).mul_(b).div_(2.0).clamp_(-3.0, 3.0)
            self.w.copy_(x)
            y = b * 1.0
            y.masked_fill_(y > 1.0, 0.0).addcmul_(y, y, 0.5).exp_()
            return x, y

    a, b = A[0], B[0]
    x = np.clip(((a + 2 * b - 1) * b) / 2, -3, 3)
    masked = np.where(b > 1, 0.0, b)
    y = np.exp(masked + 0.5 * masked * masked)
    cell = InPlace()
    got_x, got_y = cell(Tensor(a.astype(np.float32)), Tensor(b.astype(np.float32)))
    np.testing.assert_allclose(got_x.asnumpy(), x, rtol=2e-6)
    np.testing.assert_allclose(got_y.asnumpy(), y, rtol=2e-6)
    np.testing.assert_allclose(cell.w.asnumpy(), x, rtol=2e-6)
    eager = Tensor(a)
    assert eager.add_(b).mul_(2.0) is eager
    np.testing.assert_allclose(eager.asnumpy(), (a + b) * 2, rtol=1e-12)
    integers = Tensor(np.array([1, 2], np.int32))
    integers.fill_(7.9).zero_()
    assert integers.dtype == mstype.int32 and integers.asnumpy().tolist() == [0, 0]
    with pytest.raises(ValueError, match="in-place update of a tensor of shape \\(4,\\)"):
        Tensor(a).add_(Tensor(A))


def test_mindspore_2x_tensor_overloads():
    # the PyTorch-style overloads MindSpore 2.x's Tensor methods take beside their own
    a, x = Tensor(A), Tensor(IMG)
    index = Tensor(ELEMENTS)

    def overloads(a, x):
        return (
            a.gather(1, index),
            a.gather(dim=1, index=index),
            a.gather(Tensor(INDEX.astype(np.int32)), 1),  # Gather's own: slices
            x.flatten(1, 2),
            x.flatten(start_dim=2),
            a.round(1),
            a.index_select(dim=1, index=Tensor(INDEX)),
            a.matmul(Tensor(V)),
            abs(a),
            a.scatter_add(1, index, a[:, :2]),
        )

    want = (
        np.take_along_axis(A, ELEMENTS, 1),
        np.take_along_axis(A, ELEMENTS, 1),
        A[:, INDEX],
        IMG.reshape(2, 18, 6),
        IMG.reshape(2, 3, 36),
        np.round(A, 1),
        A[:, INDEX],
        A @ V,
        np.abs(A),
        _added_along(A, ELEMENTS, A[:, :2], 1),
    )
    for got in (overloads(a, x), Lambda(overloads)(a, x)):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda a: ops.gather_elements(a, 2, Tensor(ELEMENTS)), r"dim must be an int in range"),
        (lambda a: ops.gather_elements(a, 1, Tensor(INDEX)), r"must have input's rank"),
        (lambda a: ops.gather_elements(a, 0, Tensor(ROWS[:, :2] * 0.5)), r"must be int32 or int64"),
        (lambda a: ops.scatter(a, 1, Tensor(ELEMENTS), a[:1]), r"updates \(1, 4\) must have"),
    ],
)
def test_element_gathers_and_scatters_refuse_bad_indices(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(Tensor(A))
