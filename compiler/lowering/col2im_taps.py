"""The col2im gather as one slice update per kernel tap, on the CPU.

Contract
- `cpu-col2im-by-taps` (linalg on tensors, before the CPU schedules): every `linalg.generic`
  marked `cellc.col2im = array<i64: top, left, sh, sw, dh, dw>` (conv.py's col2im input
  gradient: dx (N, C, H, W) gathers dcols (C, KH, KW, N, OH, OW) with bounds checks, through a
  `tensor.extract` in its body) becomes, from its zero-filled init, one update per tap (i, j):
  the window of dx that the tap read (a static, strided slice clipped to the image) plus the
  tap's columns, by an elementwise `linalg.generic` between `tensor.extract_slice` and
  `tensor.insert_slice`. No bounds checks remain, and the innermost loop runs along w in both
  (LeNet's second convolution: the gather was 18% of a step on one thread).
- CPU only: the CUDA launch plan cannot run the strided views these slices bufferize to, so
  the GPU back end keeps the gather (the mark is ignored there).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import tensor

from cellc.compiler.ops import linalg_builders as lb
from cellc.compiler.ops.conv import COL2IM_ATTR

from .parallel_loops import rewrite_marked_generics


def col2im_by_taps(module: ir.Module) -> None:
    """Rewrites every marked col2im gather into one slice update per tap (in place)."""
    rewrite_marked_generics(module, COL2IM_ATTR, _by_taps)


def _by_taps(op: ir.Operation) -> ir.Value:
    top, left, sh, sw, dh, dw = ir.DenseI64ArrayAttr(op.attributes[COL2IM_ATTR])
    (extract,) = [
        inner for inner in op.regions[0].blocks[0].operations if inner.name == "tensor.extract"
    ]
    dcols = extract.operands[0]
    _, kh, kw, _, oh, ow = lb.ranked(dcols).shape
    dx = op.operands[-1]  # the zero-filled init
    height, width = lb.ranked(dx).shape[2:]
    for i in range(kh):
        rows = _tap_window(i * dh - top, sh, oh, height)
        for j in range(kw):
            cols = _tap_window(j * dw - left, sw, ow, width)
            if rows is not None and cols is not None:
                dx = _add_tap(dx, dcols, (i, j), rows, cols, (sh, sw))
    return dx


def _tap_window(shift: int, stride: int, out_size: int, size: int):
    """The outputs o whose tap reads inside the image, position o * stride + shift in
    [0, size): (first o, count, first position), or None when there is none."""
    first = max(0, -(shift // stride))  # the least o with o * stride + shift >= 0
    last = min(out_size - 1, (size - 1 - shift) // stride)
    if last < first:
        return None
    return first, last - first + 1, first * stride + shift


def _add_tap(dx, dcols, tap, rows, cols, strides) -> ir.Value:
    """dx[:, :, h0 + a*sh, w0 + b*sw] += dcols[:, i, j, :, o0 + a, p0 + b] over the window."""
    (o0, count_h, h0), (p0, count_w, w0) = rows, cols
    n_size, c_size = lb.ranked(dx).shape[:2]
    element = lb.ranked(dx).element_type
    # a dynamic batch: the slices' batch is dx's
    batch = [lb.dim(dx, 0)] if ir.ShapedType.is_dynamic_size(n_size) else []
    columns_type = ir.RankedTensorType.get([c_size, n_size, count_h, count_w], element)
    columns_at = ([0, *tap, 0, o0, p0], [c_size, 1, 1, n_size, count_h, count_w], [1] * 6)
    columns = tensor.extract_slice(columns_type, dcols, [], batch, [], *columns_at)
    window_type = ir.RankedTensorType.get([n_size, c_size, count_h, count_w], element)
    window_at = ([0, 0, h0, w0], [n_size, c_size, count_h, count_w], [1, 1, *strides])
    window = tensor.extract_slice(window_type, dx, [], batch, [], *window_at)
    d = [ir.AffineDimExpr.get(k) for k in range(4)]
    maps = [ir.AffineMap.get(4, 0, [d[1], d[0], d[2], d[3]]), ir.AffineMap.get_identity(4)]
    summed = lb.generic([columns], window, maps, [lb.PARALLEL] * 4, lb.add)
    return tensor.insert_slice(summed, dx, [], batch, [], *window_at)
