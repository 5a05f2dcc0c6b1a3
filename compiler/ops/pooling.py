"""Pooling (NCHW): ms.max_pool, its gradients ms.max_pool_grad and ms.max_pool_grad_grad, and
ms.avg_pool; lowerings and VJP rules.

- ms.max_pool: padded with -inf (conv.pad), then `linalg.pooling_nchw_max`.
- ms.avg_pool: padded with 0, `linalg.pooling_nchw_sum`, then a division by the number
  of input elements in each window (a constant: padding is not counted). Its VJP is linear:
  the cotangent divided by the same counts, spread back over each window, which is a
  transposed depthwise convolution by a filter of ones (ms.conv2d_backprop_input, groups = C).
- ms.max_pool_grad(x, dy): each window's dy goes to its first maximum (MindSpore's tie rule).
  One `linalg.generic` finds the index of each window's first maximum (strict comparison, the
  window's taps visited in row-major order); a second one, over the input, gathers for each
  element the dy of every window whose first maximum it is (overlapping windows add up). Its
  transpose in dy, ms.max_pool_grad_grad (g at each window's first maximum), and it are each
  other's VJPs, so max pooling differentiates to any order.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, tensor

from cellc.dialects import TensorSpec, ms

from . import linalg_builders as lb
from .conv import index_constant, pad, window_source
from .registry import dynamic_batch, lowering, vjp


def _window(kernel_size, element: ir.Type) -> ir.Value:
    """The shape-only window operand of linalg's pooling ops."""
    return tensor.empty(list(kernel_size), element)


def _filled(result: ir.RankedTensorType, value: ir.Value) -> ir.Value:
    fill = linalg.FillOp(result_tensors=[result], inputs=[value], outputs=[lb.empty(result)])
    linalg.fill_builtin_region(fill.operation)
    return fill.results[0]


@lowering(ms.MaxPoolOp)
def lower_max_pool(op, x, *, kernel_size, strides, padding):
    """ms.max_pool(x) -> linalg.pooling_nchw_max(pad(x, -inf)) into a -inf fill"""
    result = lb.ranked(op.results[0].type)
    lowest = lb.lowest(result.element_type)
    return linalg.pooling_nchw_max(
        pad(x, padding, float("-inf")),
        _window(kernel_size, result.element_type),
        outs=[_filled(result, lowest)],
        strides=list(strides),
        dilations=[1, 1],
    )


@vjp(ms.MaxPoolOp)
def vjp_max_pool(ct, x, *, out, **attrs):
    """d max_pool(x) = max_pool_grad(x, ct): ct to each window's first maximum."""
    return [ms.max_pool_grad(x, ct, **attrs)]


def _counts(x: ir.Value, kernel_size, strides, padding) -> np.ndarray:
    """The number of input elements (not padding) in each output window, (OH, OW)."""
    shape = ms.spec_of(x, batch=1).shape  # a dynamic batch: the counts are per window
    return ms.AvgPoolOp.counts(shape, kernel_size, strides, padding)


@lowering(ms.AvgPoolOp)
def lower_avg_pool(op, x, *, kernel_size, strides, padding):
    """ms.avg_pool(x) -> linalg.pooling_nchw_sum(pad(x, 0)) / window counts"""
    result = lb.ranked(op.results[0].type)
    sums = linalg.pooling_nchw_sum(
        pad(x, padding),
        _window(kernel_size, result.element_type),
        outs=[lb.zeros(result)],
        strides=list(strides),
        dilations=[1, 1],
    )
    counts = _counts(x, kernel_size, strides, padding)
    counts_type = ir.RankedTensorType.get(list(counts.shape), result.element_type)
    dtype = ms.spec_of(result, batch=1).numpy_dtype
    counts_value = arith.constant(
        counts_type, ir.DenseElementsAttr.get(counts.astype(dtype), type=counts_type)
    )
    return lb.elementwise(result, [sums, counts_value], lb.div)


@vjp(ms.AvgPoolOp)
def vjp_avg_pool(ct, x, *, out, kernel_size, strides, padding):
    """d avg_pool(x) = conv2d_backprop_input(ct / counts, ones(C, 1, KH, KW), groups=C)."""
    spec = ms.spec_of(x)
    channels = spec.shape[1]
    counts = _counts(x, kernel_size, strides, padding)
    scaled = ms.div(ct, ms.constant(counts, TensorSpec(counts.shape, spec.element)))
    ones = ms.constant(1.0, TensorSpec((channels, 1, *kernel_size), spec.element))
    return [
        ms.conv2d_backprop_input(
            scaled,
            ones,
            strides=strides,
            dilations=(1, 1),
            padding=padding,
            groups=channels,
            input_size=spec.shape[2:],
        )
    ]


def _first_maximum(xp: ir.Value, dy_type: ir.RankedTensorType, kernel_size, strides):
    """For each window, the row-major index i * KW + j of its first maximum (an i64 tensor
    shaped like dy): one linalg.generic reducing over (i, j) with a strict comparison."""
    element = dy_type.element_type
    i64 = ir.IntegerType.get_signless(64)
    n, c, oh, ow, i, j = (ir.AffineDimExpr.get(d) for d in range(6))
    (sh, sw), kw = strides, kernel_size[1]
    x_map = ir.AffineMap.get(6, 0, [n, c, oh * sh + i, ow * sw + j])
    window_map = ir.AffineMap.get(6, 0, [i, j])  # gives the loops over (i, j) their bounds
    out_map = ir.AffineMap.get(6, 0, [n, c, oh, ow])
    shape = list(dy_type.shape)
    best = _filled(dy_type, lb.lowest(element))
    first = _filled(ir.RankedTensorType.get(shape, i64), lb.zero(i64))
    op = linalg.GenericOp(
        result_tensors=[best.type, first.type],
        inputs=[xp, _window(kernel_size, element)],
        outputs=[best, first],
        indexing_maps=lb.maps_attribute((x_map, window_map, out_map, out_map)),
        iterator_types=lb.iterators_attribute([lb.PARALLEL] * 4 + [lb.REDUCTION] * 2),
    )
    block = op.regions[0].blocks.append(element, element, element, i64)
    value, _, best_so_far, first_so_far = block.arguments
    with ir.InsertionPoint(block):
        index = arith.addi(arith.muli(_index(4), lb.scalar_constant(i64, kw)), _index(5))
        better = arith.cmpf(arith.CmpFPredicate.OGT, value, best_so_far)
        linalg.YieldOp(
            [
                arith.select(better, value, best_so_far),
                arith.select(better, index, first_so_far),
            ]
        )
    return op.results[1]


def _index(dim: int) -> ir.Value:
    """linalg.index `dim` as an i64."""
    return arith.index_cast(ir.IntegerType.get_signless(64), linalg.IndexOp(dim).result)


@lowering(ms.MaxPoolGradOp)
def lower_max_pool_grad(op, x, dy, *, kernel_size, strides, padding):
    """ms.max_pool_grad(x, dy) -> first-maximum indices (linalg.generic), then a
    linalg.generic over (n, c, h, w | i, j) gathering dy: input (h, w) receives the dy of
    each window whose tap (i, j) reads it and whose first maximum that tap is"""
    result, dy_type = lb.ranked(op.results[0].type), lb.ranked(dy)
    oh, ow = dy_type.shape[2:]
    top, _, left, _ = padding
    first = _first_maximum(pad(x, padding, float("-inf")), dy_type, kernel_size, strides)
    if tuple(kernel_size) == tuple(strides):
        return _tiled_max_pool_grad(first, dy, result, kernel_size, padding)
    i64 = ir.IntegerType.get_signless(64)
    n, c, h, w, i, j = (ir.AffineDimExpr.get(d) for d in range(6))
    window_map = ir.AffineMap.get(6, 0, [i, j])  # gives the loops over (i, j) their bounds
    out_map = ir.AffineMap.get(6, 0, [n, c, h, w])

    def body(_, acc):
        index = [linalg.IndexOp(d).result for d in range(6)]
        row_ok, row = window_source(index[2], index[4], top, 1, strides[0], oh)
        col_ok, col = window_source(index[3], index[5], left, 1, strides[1], ow)
        window = [index[0], index[1], row, col]
        tap = arith.addi(arith.muli(_index(4), lb.scalar_constant(i64, kernel_size[1])), _index(5))
        is_first = arith.cmpi(arith.CmpIPredicate.eq, tensor.extract(first, window), tap)
        hit = arith.andi(arith.andi(row_ok, col_ok), is_first)
        return arith.select(hit, lb.add(acc, tensor.extract(dy, window)), acc)

    return lb.generic(
        [_window(kernel_size, result.element_type)],
        lb.zeros(result),
        [window_map, out_map],
        [lb.PARALLEL] * 4 + [lb.REDUCTION] * 2,
        body,
    )


def _tiled_max_pool_grad(first, dy, result, kernel_size, padding):
    """max_pool_grad where the windows tile the input (kernel = strides): input (h, w) is tap
    (p % KH, q % KW) of window (p / KH, q / KW) alone (p = h + top, q = w + left), so one
    elementwise linalg.generic over the input picks its window's dy or 0, instead of visiting
    every tap of every window that could read it."""
    (kh, kw), (oh, ow) = kernel_size, lb.ranked(dy).shape[2:]
    top, _, left, _ = padding
    i64 = ir.IntegerType.get_signless(64)

    def body(_):  # every element written: no zero fill to read (a memset of dx, otherwise)
        n, c, h, w = (linalg.IndexOp(d).result for d in range(4))
        p = arith.addi(h, index_constant(top))
        q = arith.addi(w, index_constant(left))
        row, col = arith.divui(p, index_constant(kh)), arith.divui(q, index_constant(kw))
        inside = arith.andi(
            arith.cmpi(arith.CmpIPredicate.ult, row, index_constant(oh)),
            arith.cmpi(arith.CmpIPredicate.ult, col, index_constant(ow)),
        )
        window = [
            n,
            c,
            arith.minui(row, index_constant(oh - 1)),
            arith.minui(col, index_constant(ow - 1)),
        ]
        tap = arith.addi(
            arith.muli(arith.remui(p, index_constant(kh)), index_constant(kw)),
            arith.remui(q, index_constant(kw)),
        )
        tap = arith.index_cast(i64, tap)
        is_first = arith.cmpi(arith.CmpIPredicate.eq, tensor.extract(first, window), tap)
        zero = lb.zero(result.element_type)
        return arith.select(arith.andi(inside, is_first), tensor.extract(dy, window), zero)

    identity = ir.AffineMap.get_identity(4)
    return lb.generic([], lb.empty(result), [identity], [lb.PARALLEL] * 4, body)


@lowering(ms.MaxPoolGradGradOp)
def lower_max_pool_grad_grad(op, x, g, *, kernel_size, strides, padding):
    """ms.max_pool_grad_grad(x, g) -> first-maximum indices (linalg.generic), then a
    linalg.generic over (n, c, oh, ow | i, j) picking tap (i, j) of pad(g, 0) where it is
    the window's first maximum"""
    result = lb.ranked(op.results[0].type)
    first = _first_maximum(pad(x, padding, float("-inf")), result, kernel_size, strides)
    i64 = ir.IntegerType.get_signless(64)
    n, c, oh, ow, i, j = (ir.AffineDimExpr.get(d) for d in range(6))
    (sh, sw), kw = strides, kernel_size[1]
    g_map = ir.AffineMap.get(6, 0, [n, c, oh * sh + i, ow * sw + j])
    window_map = ir.AffineMap.get(6, 0, [i, j])
    out_map = ir.AffineMap.get(6, 0, [n, c, oh, ow])

    def body(value, _, first_index, acc):
        tap = arith.addi(arith.muli(_index(4), lb.scalar_constant(i64, kw)), _index(5))
        return arith.select(arith.cmpi(arith.CmpIPredicate.eq, first_index, tap), value, acc)

    return lb.generic(
        [pad(g, padding), _window(kernel_size, result.element_type), first],
        lb.zeros(result),
        [g_map, window_map, out_map, out_map],
        [lb.PARALLEL] * 4 + [lb.REDUCTION] * 2,
        body,
    )


# max_pool_grad(x, dy) is linear in dy and locally constant in x; its transpose in dy is
# max_pool_grad_grad(x, .), and that one's is max_pool_grad(x, .) again.


@vjp(ms.MaxPoolGradOp)
def vjp_max_pool_grad(ct, x, dy, *, out, **attrs):
    """d max_pool_grad(x, dy) = (0, max_pool_grad_grad(x, ct))."""
    return [None, ms.max_pool_grad_grad(x, ct, **attrs)]


@vjp(ms.MaxPoolGradGradOp)
def vjp_max_pool_grad_grad(ct, x, g, *, out, **attrs):
    """d max_pool_grad_grad(x, g) = (0, max_pool_grad(x, ct))."""
    return [None, ms.max_pool_grad(x, ct, **attrs)]


dynamic_batch(ms.MaxPoolOp, ms.AvgPoolOp, ms.MaxPoolGradOp, ms.MaxPoolGradGradOp)
