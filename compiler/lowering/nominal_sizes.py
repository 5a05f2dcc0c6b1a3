"""What a dynamic size is at a given batch: the planning size of a dynamic (batch) dimension.

At a dynamic batch, every `?` of the program is the batch or a product of it: a Dense's rows
are the batch, a convolution's im2col columns the batch times its output pixels (N*OH*OW),
merged by a collapse and split again by an expand. A schedule chosen for all of them at one
nominal size plans one of the two wrong: 4096 makes a skinny Dense product (64x256x10 at the
usual batch) a cache-blocked one, and a batch-sized nominal makes a convolution look small.

Contract
- `size_at_batch(value, axis, batch)`: the extent of `value`'s dimension `axis` when each
  dynamic dimension of the function's arguments is `batch`, computed from the IR that makes
  it: the sizes given to a tensor.empty or a tensor.expand_shape, a collapse's product of its
  group, a destination-style op's result as large as its init, and the index arithmetic
  (arith, tensor.dim) between them. A static extent is itself; None where the chain leaves
  what this reads (then the caller plans as it did without it).
"""

from __future__ import annotations

from mlir import ir

from cellc.compiler.ops import linalg_builders as lb

# how far back through the ops that make a size it looks before giving up (chains are short:
# an op's init is a tensor.empty whose size is a tensor.dim of an argument)
_MAX_DEPTH = 32

_ARITH = {
    "arith.muli": lambda a, b: a * b,
    "arith.addi": lambda a, b: a + b,
    "arith.subi": lambda a, b: a - b,
    "arith.divui": lambda a, b: a // b if b else None,
    "arith.divsi": lambda a, b: a // b if b else None,
    "arith.ceildivui": lambda a, b: -(-a // b) if b else None,
    "arith.ceildivsi": lambda a, b: -(-a // b) if b else None,
    "arith.remui": lambda a, b: a % b if b else None,
    "arith.maxui": max,
    "arith.maxsi": max,
    "arith.minui": min,
    "arith.minsi": min,
}


def size_at_batch(value: ir.Value, axis: int, batch: int, depth: int = 0) -> int | None:
    """Dim `axis` of `value` when the batch is `batch` (see the contract), or None."""
    size = ir.ShapedType(value.type).shape[axis]
    if not ir.ShapedType.is_dynamic_size(size):
        return size
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, ir.BlockArgument):
        return batch if value.owner.owner.operation.name == "func.func" else None
    op = value.owner.operation
    name = op.name
    if name in ("tensor.empty", "tensor.expand_shape"):
        return _given_size(op, value, axis, batch, depth)
    if name == "tensor.collapse_shape":
        group = list(op.attributes["reassociation"])[axis]
        sizes = [
            size_at_batch(op.operands[0], ir.IntegerAttr(d).value, batch, depth + 1) for d in group
        ]
        return None if None in sizes else lb.product(sizes)
    if name in ("tensor.cast", "tensor.insert_slice"):  # as large as the source, the dest
        return size_at_batch(op.operands[0 if name == "tensor.cast" else 1], axis, batch, depth + 1)
    if name.startswith("linalg."):  # destination style: each result as large as its init
        index = ir.OpResult(value).result_number
        init = op.operands[len(op.operands) - len(op.results) + index]
        return size_at_batch(init, axis, batch, depth + 1)
    return None


def _given_size(op: ir.Operation, value: ir.Value, axis: int, batch: int, depth: int):
    """The size operand given for dynamic dim `axis` of a tensor.empty or tensor.expand_shape
    (the dynamic dims' sizes, in order, after the expand's source)."""
    shape = ir.ShapedType(value.type).shape
    position = sum(ir.ShapedType.is_dynamic_size(s) for s in shape[:axis])
    sizes = list(op.operands)[0 if op.name == "tensor.empty" else 1 :]
    if position >= len(sizes):
        return None
    return _index_value(sizes[position], batch, depth + 1)


def _index_value(value: ir.Value, batch: int, depth: int) -> int | None:
    """An index value's integer when the batch is `batch`, or None."""
    if depth > _MAX_DEPTH or isinstance(value, ir.BlockArgument):
        return None
    op = value.owner.operation
    if op.name == "arith.constant":
        return ir.IntegerAttr(op.attributes["value"]).value
    if op.name == "arith.index_cast":
        return _index_value(op.operands[0], batch, depth + 1)
    if op.name == "tensor.dim":
        axis = _index_value(op.operands[1], batch, depth + 1)
        return None if axis is None else size_at_batch(op.operands[0], axis, batch, depth + 1)
    if op.name in _ARITH:
        a, b = (_index_value(v, batch, depth + 1) for v in op.operands)
        return None if a is None or b is None else _ARITH[op.name](a, b)
    return None
