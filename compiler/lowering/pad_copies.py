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
from mlir.dialects import arith, linalg, tensor

from cellc.compiler.ops import linalg_builders as lb
from cellc.compiler.ops.conv import PAD_ATTR

from .parallel_loops import ops_named


def pads_to_copies(module: ir.Module) -> None:
    """Rewrites every marked padding gather into a fill and a slice insertion (in place)."""
    with module.context:
        marked = [op for op in ops_named(module, "linalg.generic") if PAD_ATTR in op.attributes]
        for op in marked:
            with ir.InsertionPoint(op), op.location:
                padded = _fill_and_copy(op)
            op.results[0].replace_all_uses_with(padded)
            op.erase()


def _fill_and_copy(op: ir.Operation) -> ir.Value:
    top, left = ir.DenseI64ArrayAttr(op.attributes[PAD_ATTR])
    body = op.regions[0].blocks[0].operations
    (extract,) = [inner for inner in body if inner.name == "tensor.extract"]
    (select,) = [inner for inner in body if inner.name == "arith.select"]
    x = extract.operands[0]
    outside = select.operands[2].owner  # the padding value, an arith.constant in the body
    value = arith.constant(outside.results[0].type, outside.attributes["value"])
    filled = linalg.fill(value, outs=[op.operands[-1]])
    x_type = lb.ranked(x)
    rank = x_type.rank
    dynamic = [lb.dim(x, d) for d in range(rank) if ir.ShapedType.is_dynamic_size(x_type.shape[d])]
    at = ([0] * (rank - 2) + [top, left], list(x_type.shape), [1] * rank)
    window = tensor.extract_slice(x_type, filled, [], dynamic, [], *at)
    copied = linalg.copy(x, outs=[window])  # a copy op that cpu-tile-parallel-generics cuts
    return tensor.insert_slice(copied, filled, [], dynamic, [], *at)
