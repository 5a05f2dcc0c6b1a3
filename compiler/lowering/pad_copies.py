"""Padding as a fill and a copy, on the CPU.

Contract
- `cpu-pads-to-copies` (linalg on tensors, before elementwise fusion): every `linalg.generic`
  marked `cellc.pad = array<i64: top, left>` (conv.py's `pad`: the padded tensor gathers x at
  clamped indices, through a `tensor.extract` in its body, and selects the padding value
  outside) becomes a `linalg.fill` of the padded shape with that value and a `linalg.copy` of x
  into the window at (top, left) of its last two dims (`tensor.extract_slice`, then
  `tensor.insert_slice` of the copy: in place once bufferized; a large copy runs in parallel
  blocks, cpu-tile-parallel-generics). Left as a gather, elementwise
  fusion folds it into its reader, and an im2col then checks bounds and gathers for every
  column it writes (a ResNet block's three im2cols were 15% of its training step); after this
  pass the im2col reads the padded tensor along rows, and the copy of x is a loop nest along w.
- CPU only: the CUDA launch plan cannot run the strided view the slice bufferizes to, so the
  GPU back end keeps the gather (the mark is ignored there).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, bufferization, linalg, tensor

from cellc.compiler.ops import linalg_builders as lb
from cellc.compiler.ops.conv import PAD_ATTR

from .parallel_loops import ops_named


def pads_to_copies(module: ir.Module) -> None:
    """Rewrites every marked padding gather into a fill and a slice insertion (in place). The
    same padding of the same tensor twice in a block (a convolution's input, padded for its
    product and again for its filter gradient) is made once: CSE would not merge the two
    gathers when it had replaced the padding constant in one of their bodies only."""
    made: dict[tuple, ir.Value] = {}
    with module.context:
        marked = [op for op in ops_named(module, "linalg.generic") if PAD_ATTR in op.attributes]
        for op in marked:
            x, value, offsets = _padding(op)
            # the first of a block's equal paddings comes first in it (a pre-order walk)
            key = (op.operation.block, x, str(op.results[0].type), str(value), offsets)
            if key not in made:
                with ir.InsertionPoint(op), op.location:
                    made[key] = _fill_and_copy(op, x, value, offsets)
            init = op.operands[-1].owner  # the gather's tensor.empty
            op.results[0].replace_all_uses_with(made[key])
            op.erase()
            if not isinstance(init, ir.Block) and not list(init.results[0].uses):
                init.erase()


def _padding(op: ir.Operation) -> tuple[ir.Value, ir.Attribute, tuple[int, int]]:
    """(x, the padding value, (top, left)) of a marked gather."""
    body = op.regions[0].blocks[0].operations
    (extract,) = [inner for inner in body if inner.name == "tensor.extract"]
    (select,) = [inner for inner in body if inner.name == "arith.select"]
    outside = select.operands[2].owner  # an arith.constant, in the body or before the gather
    top, left = ir.DenseI64ArrayAttr(op.attributes[PAD_ATTR])
    return extract.operands[0], outside.attributes["value"], (top, left)


def _fill_and_copy(op: ir.Operation, x: ir.Value, value, offsets) -> ir.Value:
    top, left = offsets
    x_type = lb.ranked(x)
    rank = x_type.rank
    dynamic = [lb.dim(x, d) for d in range(rank) if ir.ShapedType.is_dynamic_size(x_type.shape[d])]
    # A buffer of its own: CSE merges equal fills of tensor.empty (two images of one shape,
    # padded alike), and the two insertions into one filled tensor then bufferize to copies.
    buffer = bufferization.alloc_tensor(op.results[0].type, dynamic)
    filled = linalg.fill(arith.constant(value.type, value), outs=[buffer])
    at = ([0] * (rank - 2) + [top, left], list(x_type.shape), [1] * rank)
    window = tensor.extract_slice(x_type, filled, [], dynamic, [], *at)
    copied = linalg.copy(x, outs=[window])  # a copy op that cpu-tile-parallel-generics cuts
    return tensor.insert_slice(copied, filled, [], dynamic, [], *at)
