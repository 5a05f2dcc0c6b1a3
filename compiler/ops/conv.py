"""Convolution (NCHW): ms.conv2d and its two transposes, ms.conv2d_backprop_input and
ms.conv2d_backprop_filter; lowerings and VJP rules.

The three ops are bilinear, and each one's transposes are the other two (as in MindSpore,
whose Conv2D's gradients are Conv2DBackpropInput and Conv2DBackpropFilter, and JAX, whose
conv's transposes are convs again). So every VJP rule is one op of the family, and derivatives
of any order stay in it: no dilation, flipping or slicing appears at the `ms` level, where the
interpreter, the fuzzer and every later pass would have to understand it. The index juggling
lives in the lowerings only:

- ms.conv2d: padding (`pad`, below), then, with groups = 1, im2col and one matmul:
  cols[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw] (a copying
  `linalg.generic` with an affine map) and out = w (O, C*KH*KW) @ cols, transposed back to NCHW.
  The matmul is a `linalg.matmul`, so it gets the CPU back end's tiled, vectorized matmul
  schedule (the named `linalg.conv_2d_nchw_fchw` compiled to plain loops: a ResNet block ran
  ~50x slower than PyTorch). With groups > 1, `linalg.conv_2d_ngchw_gfchw` between
  `tensor.expand_shape` and `collapse_shape` (depthwise is groups = C).
- ms.conv2d_backprop_filter: with groups = 1, dw^T (C*KH*KW, O) = cols @ dy (N*OH*OW, O), then
  transposed: the im2col is the forward's (CSE keeps one in a training step), and the two
  transposes move dy's and dw's elements, far fewer than the im2col's, which a transposed
  layout would gather again (3x3 taps innermost: 7% of a ResNet block's step); otherwise one
  `linalg.generic`
  summing x * dy over (n, oh, ow) for each filter tap: dw[g, f, c, i, j] = sum x_pad[n, g, c,
  oh*sh + i*dh, ow*sw + j*dw] * dy[n, g, f, oh, ow].
- ms.conv2d_backprop_input, two ways that cost the same matmul (2*C*O*KH*KW*N*OH*OW flops)
  but gather different amounts:
  - with strides 1 (and padding within the kernel's reach), an ordinary convolution of dy,
    padded by the reach less the padding, by the flipped filter with in and out channels swapped
    (one `linalg.generic` gathering w[o, c, KH-1-i, KW-1-j]), so the convolution's code is
    reused: its im2col gathers O*KH*KW elements per input position;
  - col2im (groups = 1): the columns' gradient dcols = w^T (C*KH*KW, O) @ dy (O, N*OH*OW),
    then each input position sums the taps that read it: input (h, w) receives
    dcols[(c, i, j), (n, (h + top - i*dh) / sh, (w + left - j*dw) / sw)] from every window whose
    tap (i, j) reads it (the division exact, the window inside dy). It gathers KH*KW elements
    per input position and channel: C*KH*KW, fewer when dx has fewer channels than dy (LeNet's
    second convolution: 6 against 16; a step 7.4 -> 6.7 ms on one thread), and it takes any
    stride and padding to a matmul.
  The first is taken where it applies and dx has as many channels as dy or more; col2im
  otherwise; with groups > 1 and strides or padding the first cannot take, one `linalg.generic`
  over (n, g, c, h, w | f, i, j) that gathers dy and multiplies by w directly.

Padding is a gathering `linalg.generic` too (`pad`), never `tensor.pad`/`insert_slice`: those
bufferize to copies into strided views, which the CPU back end would need MLIR's runtime
library for and the GPU launch plan cannot express.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, linalg, tensor

from cellc.compiler.autodiff.rules import defbilinear
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering


def pad(x: ir.Value, padding, value: float = 0.0) -> ir.Value:
    """x (.., H, W) padded by (top, bottom, left, right) with `value`; x itself when there is
    no padding. A linalg.generic over the padded shape that gathers x at clamped indices and
    selects `value` outside (no `tensor.pad`: on either back end it bufferizes to a copy
    into a strided view, which the CPU would call MLIR's runtime library for and the GPU
    launch plan cannot express). Marked PAD_ATTR: the CPU fills and copies instead, before
    elementwise fusion would fold the bounds checks into every reader (an im2col)."""
    if not any(padding):
        return x
    x_type = lb.ranked(x)
    rank, element = x_type.rank, x_type.element_type
    top, bottom, left, right = padding
    shape = list(x_type.shape)
    shape[-2] += top + bottom
    shape[-1] += left + right

    def body(_):
        indices = [linalg.IndexOp(d).result for d in range(rank)]
        inside = None
        for dim, before in ((rank - 2, top), (rank - 1, left)):
            index = arith.subi(indices[dim], index_constant(before))
            in_range = arith.cmpi(arith.CmpIPredicate.ult, index, index_constant(x_type.shape[dim]))
            inside = in_range if inside is None else arith.andi(inside, in_range)
            indices[dim] = arith.minui(index, index_constant(x_type.shape[dim] - 1))
        loaded = tensor.extract(x, indices)
        return arith.select(inside, loaded, lb.scalar_constant(element, value))

    result = ir.RankedTensorType.get(shape, element)
    padded = lb.generic(
        [], lb.empty(result), [ir.AffineMap.get_identity(rank)], [lb.PARALLEL] * rank, body
    )
    padded.owner.attributes[PAD_ATTR] = ir.DenseI64ArrayAttr.get([top, left])
    return padded


# Marks pad's gather with the (top, left) offset of x in it: the CPU back end fills the padded
# tensor and copies x into it instead (compiler/lowering/pad_copies.py).
PAD_ATTR = "cellc.pad"


def index_constant(value: int) -> ir.Value:
    return arith.constant(ir.IndexType.get(), value)


def _expand(x: ir.Value, groups: int, axis: int) -> ir.Value:
    """Splits dim `axis` of x into (groups, dim / groups)."""
    x_type = lb.ranked(x)
    shape = list(x_type.shape)
    shape[axis : axis + 1] = [groups, shape[axis] // groups]
    reassociation = [[d] for d in range(axis)] + [[axis, axis + 1]]
    reassociation += [[d + 1] for d in range(axis + 1, x_type.rank)]
    result = ir.RankedTensorType.get(shape, x_type.element_type)
    dynamic = [  # a dynamic batch: the dims other than `axis` keep their sizes
        lb.dim(x, d) for d, size in enumerate(x_type.shape) if ir.ShapedType.is_dynamic_size(size)
    ]
    return tensor.expand_shape(result, x, _indices(reassociation), dynamic, shape)


def _collapse(x: ir.Value, axis: int) -> ir.Value:
    """Merges dims `axis` and `axis + 1` of x."""
    x_type = lb.ranked(x)
    shape = list(x_type.shape)
    shape[axis : axis + 2] = [lb.product(shape[axis : axis + 2])]
    reassociation = [[d] for d in range(axis)] + [[axis, axis + 1]]
    reassociation += [[d] for d in range(axis + 2, x_type.rank)]
    result = ir.RankedTensorType.get(shape, x_type.element_type)
    return tensor.collapse_shape(result, x, _indices(reassociation))


def _indices(reassociation) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get(
        [ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in group]) for group in reassociation]
    )


def im2col(xp: ir.Value, kernel, out_hw, strides, dilations) -> ir.Value:
    """cols (C*KH*KW, N*OH*OW) of the padded xp (N, C, Hp, Wp): cols[(c, i, j), (n, oh, ow)] =
    xp[n, c, oh*sh + i*dh, ow*sw + j*dw], one copying linalg.generic."""
    x_type = lb.ranked(xp)
    (n_size, c_size), (kh, kw), (oh, ow) = x_type.shape[:2], kernel, out_hw
    c, i, j, n, y, x = (ir.AffineDimExpr.get(d) for d in range(6))
    shape = [c_size, kh, kw, n_size, oh, ow]
    (sh, sw), (dh, dw) = strides, dilations
    x_map = ir.AffineMap.get(6, 0, [n, c, y * sh + i * dh, x * sw + j * dw])
    element = x_type.element_type
    cols = lb.generic(
        [xp],
        lb.empty(ir.RankedTensorType.get(shape, element)),
        [x_map, ir.AffineMap.get_identity(6)],
        [lb.PARALLEL] * 6,
        lambda value, _: value,
    )
    rows_and_columns = [c_size * kh * kw, lb.product((n_size, oh, ow))]
    return lb.reshape(cols, ir.RankedTensorType.get(rows_and_columns, element))


def _matmul(a: ir.Value, b: ir.Value) -> ir.Value:
    """a @ b into a zeroed accumulator, its sizes a's rows and b's columns."""
    element = lb.ranked(a).element_type
    init = tensor.empty([lb.dim(a, 0), lb.dim(b, 1)], element)
    fill = linalg.fill(lb.zero(element), outs=[init])
    return linalg.matmul(a, b, outs=[fill])


def convolve(xp: ir.Value, w: ir.Value, result: ir.RankedTensorType, strides, dilations, groups):
    """The unpadded convolution of xp (N, C, Hp, Wp) by w (O, C/groups, KH, KW) into
    `result` (N, O, OH, OW): im2col and a matmul (groups = 1), else linalg's named grouped
    NCHW convolution."""
    if groups == 1:
        n_size, o_size, oh, ow = result.shape
        w_type = lb.ranked(w)
        k_size = w_type.shape[1] * w_type.shape[2] * w_type.shape[3]
        cols = im2col(xp, w_type.shape[2:], (oh, ow), strides, dilations)
        w_flat = lb.reshape(w, ir.RankedTensorType.get([o_size, k_size], w_type.element_type))
        out = _matmul(w_flat, cols)
        out = lb.reshape(
            out, ir.RankedTensorType.get([o_size, n_size, oh, ow], result.element_type)
        )
        return lb.transpose(out, [1, 0, 2, 3])
    out_shape = list(result.shape)
    out_shape[1:2] = [groups, out_shape[1] // groups]
    init = lb.zeros(ir.RankedTensorType.get(out_shape, result.element_type))
    grouped = linalg.conv_2d_ngchw_gfchw(
        _expand(xp, groups, 1),
        _expand(w, groups, 0),
        outs=[init],
        strides=list(strides),
        dilations=list(dilations),
    )
    return _collapse(grouped, 1)


@lowering(ms.Conv2DOp)
def lower_conv2d(op, x, w, *, strides, dilations, padding, groups):
    """ms.conv2d(x, w) -> linalg.conv_2d_nchw_fchw(pad(x, 0), w), or with groups > 1
    linalg.conv_2d_ngchw_gfchw on the grouped views of both"""
    result = lb.ranked(op.results[0].type)
    return convolve(pad(x, padding), w, result, strides, dilations, groups)


def window_source(out: ir.Value, tap: ir.Value, before: int, dilation: int, stride: int, size: int):
    """The window of a sliding-window op that reads padded-input position `out + before`
    through kernel tap `tap`: (valid, index). p = out + before - tap * dilation must be a
    multiple of `stride` with p / stride < size; index is p / stride, clamped into [0, size)
    so that a load at it is in bounds even where it is not valid."""
    p = arith.subi(
        arith.addi(out, index_constant(before)), arith.muli(tap, index_constant(dilation))
    )
    last = (size - 1) * stride
    valid = arith.cmpi(arith.CmpIPredicate.ule, p, index_constant(last))  # p >= 0 too
    if stride > 1:
        aligned = arith.cmpi(
            arith.CmpIPredicate.eq,
            arith.remui(p, index_constant(stride)),
            index_constant(0),
        )
        valid = arith.andi(valid, aligned)
    index = arith.divui(arith.minui(p, index_constant(last)), index_constant(stride))
    return valid, index


def _flipped_transposed_filter(w: ir.Value, groups: int) -> ir.Value:
    """w (O, C/g, KH, KW) as the filter (C, O/g, KH, KW) of the transposed convolution:
    wt[g, c, o, i, j] = w[g, o, c, KH-1-i, KW-1-j] on the grouped views. One linalg.generic
    gathering w (an input map with -i would be read correctly, but the GPU back end's tiling
    aborts on maps that are not projected permutations)."""
    w_type = lb.ranked(w)
    out_channels, group_channels, kh, kw = w_type.shape
    wg = _expand(w, groups, 0)  # (g, O/g, C/g, KH, KW)

    def body(_):
        g, c, o, i, j = (linalg.IndexOp(d).result for d in range(5))
        rows = arith.subi(index_constant(kh - 1), i)
        cols = arith.subi(index_constant(kw - 1), j)
        return tensor.extract(wg, [g, o, c, rows, cols])

    shape = [groups, group_channels, out_channels // groups, kh, kw]
    init = lb.empty(ir.RankedTensorType.get(shape, w_type.element_type))
    wt = lb.generic([], init, [ir.AffineMap.get_identity(5)], [lb.PARALLEL] * 5, body)
    return _collapse(wt, 0)


def _full_padding(kernel, dilations, padding):
    """The padding (top, bottom, left, right) of dy that makes a stride-1 transposed
    convolution an ordinary one: the dilated kernel's reach less the forward padding; None
    when the forward padding exceeds the reach (dy would have to be cropped)."""
    reach = [dilations[0] * (kernel[0] - 1)] * 2 + [dilations[1] * (kernel[1] - 1)] * 2
    full = [r - p for r, p in zip(reach, padding)]
    return full if min(full) >= 0 else None


@lowering(ms.Conv2DBackpropInputOp)
def lower_conv2d_backprop_input(op, dy, w, *, strides, dilations, padding, groups, input_size):
    """ms.conv2d_backprop_input(dy, w) -> with groups = 1, col2im(w^T @ dy) (see
    _col2im_input_gradient), unless strides are 1, the padding is within the kernel's reach and
    dx has as many channels as dy or more: then, as with groups > 1 under those conditions, the
    convolution of pad(dy) by the flipped, transposed filter; otherwise (groups > 1) a
    linalg.generic over (n, g, c, h, w | f, i, j): dx[n, g, c, h, w] += dy[n, g, f, p / sh,
    q / sw] * w[g, f, c, i, j] wherever p = h + top - i*dh and q = w + left - j*dw are stride
    multiples inside dy (dy gathered)"""
    result = lb.ranked(op.results[0].type)
    full = _full_padding(lb.ranked(w).shape[2:], dilations, padding)
    transposable = tuple(strides) == (1, 1) and full is not None
    if groups == 1 and (not transposable or result.shape[1] < lb.ranked(dy).shape[1]):
        return _col2im_input_gradient(dy, w, result, strides, dilations, padding)
    if transposable:
        filter_t = _flipped_transposed_filter(w, groups)
        return convolve(pad(dy, full), filter_t, result, (1, 1), dilations, groups)
    oh, ow = lb.ranked(dy).shape[2:]
    top, _, left, _ = padding
    dyg = _expand(dy, groups, 1)  # (N, G, O/G, OH, OW)
    wg = _expand(w, groups, 0)  # (G, O/G, C/G, KH, KW)
    n, g, c, h, w_, f, i, j = (ir.AffineDimExpr.get(d) for d in range(8))
    w_map = ir.AffineMap.get(8, 0, [g, f, c, i, j])
    out_map = ir.AffineMap.get(8, 0, [n, g, c, h, w_])

    def body(weight, acc):
        index = [linalg.IndexOp(d).result for d in range(8)]
        row_ok, row = window_source(index[3], index[6], top, dilations[0], strides[0], oh)
        col_ok, col = window_source(index[4], index[7], left, dilations[1], strides[1], ow)
        grad = tensor.extract(dyg, [index[0], index[1], index[5], row, col])
        return arith.select(arith.andi(row_ok, col_ok), lb.add(acc, lb.mul(grad, weight)), acc)

    shape = [result.shape[0], groups, result.shape[1] // groups, *result.shape[2:]]
    init = lb.zeros(ir.RankedTensorType.get(shape, result.element_type))
    dx = lb.generic([wg], init, [w_map, out_map], [lb.PARALLEL] * 5 + [lb.REDUCTION] * 3, body)
    return _collapse(dx, 1)


def _col2im_input_gradient(dy, w, result, strides, dilations, padding):
    """dx = col2im(w^T (C*KH*KW, O) @ dy as (O, N*OH*OW)): the columns' gradient, then each
    input position sums the columns that read it (one gathering linalg.generic over
    (n, c | i, j | h, w), w innermost; an empty (KH, KW) operand gives (i, j) their ranges).
    The gather is marked COL2IM_ATTR: the CPU back end sums it by taps instead."""
    dy_type, w_type = lb.ranked(dy), lb.ranked(w)
    n_size, o_size, oh, ow = dy_type.shape
    _, c_size, kh, kw = w_type.shape
    element = dy_type.element_type
    k_size = c_size * kh * kw
    w_flat = lb.reshape(w, ir.RankedTensorType.get([o_size, k_size], element))
    w_t = lb.transpose(w_flat, [1, 0])
    dy_t = lb.transpose(dy, [1, 0, 2, 3])
    dy_flat = lb.reshape(
        dy_t, ir.RankedTensorType.get([o_size, lb.product((n_size, oh, ow))], element)
    )
    dcols = _matmul(w_t, dy_flat)
    dcols = lb.reshape(dcols, ir.RankedTensorType.get([c_size, kh, kw, n_size, oh, ow], element))
    top, _, left, _ = padding

    def body(_, acc):
        n, c, i, j, h, w_ = (linalg.IndexOp(d).result for d in range(6))
        row_ok, row = window_source(h, i, top, dilations[0], strides[0], oh)
        col_ok, col = window_source(w_, j, left, dilations[1], strides[1], ow)
        grad = tensor.extract(dcols, [c, i, j, n, row, col])
        return arith.select(arith.andi(row_ok, col_ok), lb.add(acc, grad), acc)

    d = [ir.AffineDimExpr.get(k) for k in range(6)]
    taps = lb.empty(ir.RankedTensorType.get([kh, kw], element))  # gives (i, j) their ranges
    maps = [ir.AffineMap.get(6, 0, d[2:4]), ir.AffineMap.get(6, 0, [d[0], d[1], d[4], d[5]])]
    iterators = [lb.PARALLEL] * 2 + [lb.REDUCTION] * 2 + [lb.PARALLEL] * 2
    dx = lb.generic([taps], lb.zeros(result), maps, iterators, body)
    # what the CPU back end needs to rewrite the gather by taps (cpu-col2im-by-taps)
    geometry = [top, left, *strides, *dilations]
    dx.owner.attributes[COL2IM_ATTR] = ir.DenseI64ArrayAttr.get(geometry)
    return dx


# The col2im gather's geometry (top, left, sh, sw, dh, dw), for cpu-col2im-by-taps.
COL2IM_ATTR = "cellc.col2im"


def _im2col_filter_gradient(x, dy, result, strides, dilations, padding):
    """dw (O, C, KH, KW) from the forward's im2col columns cols (C*KH*KW, N*OH*OW) of x:
    dw^T = cols @ dy as (N*OH*OW, O), transposed. (The other orientation, dw = dy @ cols^T,
    transposes the columns instead: a LeNet step on one thread took 7.0 ms so, against 5.4.)"""
    dy_type = lb.ranked(dy)
    n_size, o_size, oh, ow = dy_type.shape
    element = dy_type.element_type
    cols = im2col(pad(x, padding), result.shape[2:], (oh, ow), strides, dilations)
    dy_t = lb.transpose(dy, [0, 2, 3, 1])
    dy_rows = lb.reshape(
        dy_t, ir.RankedTensorType.get([lb.product((n_size, oh, ow)), o_size], element)
    )
    dw_t = _matmul(cols, dy_rows)
    dw = lb.transpose(dw_t, [1, 0])
    return lb.reshape(dw, result)


@lowering(ms.Conv2DBackpropFilterOp)
def lower_conv2d_backprop_filter(op, x, dy, *, strides, dilations, padding, groups, kernel_size):
    """ms.conv2d_backprop_filter(x, dy) -> with groups = 1, a matmul of im2col(pad(x)) and dy
    (_im2col_filter_gradient); otherwise a linalg.generic over (g, f, c, i, j | n, oh, ow):
    dw[g, f, c, i, j] += x_pad[n, g, c, oh*sh + i*dh, ow*sw + j*dw] * dy[n, g, f, oh, ow]"""
    result = lb.ranked(op.results[0].type)
    if groups == 1:
        return _im2col_filter_gradient(x, dy, result, strides, dilations, padding)
    xg = _expand(pad(x, padding), groups, 1)  # (N, G, C/G, Hp, Wp)
    dyg = _expand(dy, groups, 1)  # (N, G, O/G, OH, OW)
    g, f, c, i, j, n, oh, ow = (ir.AffineDimExpr.get(d) for d in range(8))
    (sh, sw), (dh, dw) = strides, dilations
    x_map = ir.AffineMap.get(8, 0, [n, g, c, oh * sh + i * dh, ow * sw + j * dw])
    dy_map = ir.AffineMap.get(8, 0, [n, g, f, oh, ow])
    out_map = ir.AffineMap.get(8, 0, [g, f, c, i, j])
    shape = [groups, result.shape[0] // groups, *result.shape[1:]]
    init = lb.zeros(ir.RankedTensorType.get(shape, result.element_type))
    dw_grouped = lb.generic(
        [xg, dyg],
        init,
        [x_map, dy_map, out_map],
        [lb.PARALLEL] * 5 + [lb.REDUCTION] * 3,
        lambda a, b, acc: lb.add(acc, lb.mul(a, b)),
    )
    return _collapse(dw_grouped, 0)


# VJPs. conv2d(x, w) is bilinear; writing bpi = conv2d_backprop_input and bpf =
# conv2d_backprop_filter (same strides, dilations, padding, groups) and ct for the result's
# cotangent, the adjoint identities <ct, conv(x, w)> = <bpi(ct, w), x> = <bpf(x, ct), w> give
#     conv2d(x, w):   dx = bpi(ct, w)     dw = bpf(x, ct)
#     bpi(dy, w):     ddy = conv(ct, w)   dw = bpf(ct, dy)
#     bpf(x, dy):     dx = bpi(dy, ct)    ddy = conv(x, ct)


def _conv_attrs(attrs: dict) -> dict:
    return {key: attrs[key] for key in ("strides", "dilations", "padding", "groups")}


def _input_size(x: ir.Value) -> tuple[int, int]:
    return tuple(ms.spec_of(x).shape[2:])


defbilinear(
    ms.Conv2DOp,
    lambda ct, x, w, **attrs: ms.conv2d_backprop_input(
        ct, w, input_size=_input_size(x), **_conv_attrs(attrs)
    ),
    lambda ct, x, w, **attrs: ms.conv2d_backprop_filter(
        x, ct, kernel_size=_input_size(w), **_conv_attrs(attrs)
    ),
)

defbilinear(
    ms.Conv2DBackpropInputOp,
    lambda ct, dy, w, **attrs: ms.conv2d(ct, w, **_conv_attrs(attrs)),
    lambda ct, dy, w, **attrs: ms.conv2d_backprop_filter(
        ct, dy, kernel_size=_input_size(w), **_conv_attrs(attrs)
    ),
)

defbilinear(
    ms.Conv2DBackpropFilterOp,
    lambda ct, x, dy, **attrs: ms.conv2d_backprop_input(
        dy, ct, input_size=_input_size(x), **_conv_attrs(attrs)
    ),
    lambda ct, x, dy, **attrs: ms.conv2d(x, ct, **_conv_attrs(attrs)),
)

# Every `?` they build is the batch (lb.empty) or a dim merged with it, sized from the operands
# (lb.reshape, _expand, _matmul).
dynamic_batch(ms.Conv2DOp, ms.Conv2DBackpropInputOp, ms.Conv2DBackpropFilterOp)
