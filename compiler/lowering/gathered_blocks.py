"""A convolution's B, gathered into panels, gathered by each parallel block for its own panels.

packed_matmuls.py gathers a convolution's im2col straight into the panels a packed product
reads (`_gathered_in_panels`): a generic G whose result, collapsed, is (panels, depth, width).
PANEL_SCHEDULE cuts the product into parallel blocks of a few panels each and moves the
collapse into them, where each block slices its panels out of it; G itself stayed before the
blocks, a pass over all of B written to memory and read back by the blocks (4.7 MB for a
ResNet block's 64-channel 3x3 convolution at a batch of 8). Fused into the blocks, each block
gathers its own panels and reads them from cache right away, as the copy into panels already
was (PANEL_ROWS in linalg_to_llvm.py).

A tileable G can be fused only where the blocks slice G itself, not its collapse: upstream's
`bubble_up_extract_slice` patterns move a slice above a collapse only where each collapsed
group has one dim of size > 1, or the offsets are static, and a block's panels are a slice of
(batch, output rows / split) at a dynamic offset (the forall's induction variable times the
block's panel count).

Contract
- `slice_gathers_in_blocks(module)` (after PANEL_SCHEDULE): each slice of a tagged gather's
  collapse (`GATHERED_ATTR`, set by packed_matmuls.py) with static sizes and offsets that are
  static or a multiple of the sliced size (an `affine.apply` of `d0 * c`), and whose sizes each
  divide, or are a multiple of, the collapsed dims they span, becomes a collapse of a slice of
  the gather: the same elements. A gather whose every use became such a slice inside one
  `scf.forall` is tagged `FUSE_ATTR` for GATHER_SCHEDULE (linalg_to_llvm.py), which fuses it
  into the forall; it returns whether it tagged one.
- `panels_fitting_gather(panels, rhs)` (when a packed product's blocks are planned): the
  number of panels a block of a product reading `rhs` should be wide so that its slice of a
  gather is one slice of the gather's dims.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import affine, tensor

from .parallel_loops import ops_named

GATHERED_ATTR = "cellc.gathered_panels"
FUSE_ATTR = "cellc.gather_in_blocks"


def slice_gathers_in_blocks(module: ir.Module) -> bool:
    tagged = False
    with module.context, ir.Location.unknown():
        for gather in ops_named(module, "linalg.generic"):
            if GATHERED_ATTR not in gather.attributes:
                continue
            for collapse in [use.owner for use in gather.results[0].uses]:
                if collapse.name != "tensor.collapse_shape":
                    continue
                for piece in [use.owner for use in collapse.results[0].uses]:
                    if piece.name == "tensor.extract_slice":
                        _slice_before_collapse(piece, collapse, gather)
                if not list(collapse.results[0].uses):
                    collapse.erase()
            foralls = {_enclosing_forall(use.owner) for use in gather.results[0].uses}
            if (
                len(foralls) == 1
                and None not in foralls
                and all(use.owner.name == "tensor.extract_slice" for use in gather.results[0].uses)
            ):
                gather.attributes[FUSE_ATTR] = ir.UnitAttr.get()
                tagged = True
    return tagged


def panels_fitting_gather(panels: int, rhs: ir.Value) -> int:
    """A block's width in panels, at most `panels`, fitted to B's gather if B is one: a
    divisor or a multiple of the innermost dim of the gather's panel dims (a convolution's
    output rows, or their pairs, per image), so that each block's panels are one slice of the
    gather and it can be fused into the blocks."""
    if not isinstance(rhs, ir.OpResult) or rhs.owner.name != "tensor.collapse_shape":
        return panels
    source = rhs.owner.operands[0]
    if not isinstance(source, ir.OpResult) or GATHERED_ATTR not in source.owner.attributes:
        return panels
    first_group = list(rhs.owner.attributes["reassociation"][0])
    inner = ir.RankedTensorType(source.type).shape[ir.IntegerAttr(first_group[-1]).value]
    if panels >= inner:
        return panels - panels % inner
    return max(d for d in range(1, panels + 1) if inner % d == 0)


def _slice_before_collapse(piece, collapse, gather) -> None:
    """Replaces `piece` (a slice of `collapse`, itself of `gather`) by a collapse of a slice of
    `gather`, where each collapsed group's slice is one slice of its dims."""
    shape = ir.RankedTensorType(gather.results[0].type).shape
    offsets, sizes = _mixed(piece.static_offsets, piece.offsets), list(piece.static_sizes)
    groups = [
        [ir.IntegerAttr(i).value for i in group] for group in collapse.attributes["reassociation"]
    ]
    if any(ir.ShapedType.is_dynamic_size(size) for size in sizes) or any(
        stride != 1 for stride in piece.static_strides
    ):
        return
    new_offsets: list = []
    new_sizes: list[int] = []
    for group, offset, size in zip(groups, offsets, sizes):
        group_slice = _group_slice([shape[d] for d in group], offset, size)
        if group_slice is None:
            return
        new_offsets += group_slice[0]
        new_sizes += group_slice[1]
    with ir.InsertionPoint(piece):
        new_offsets = [_digit_value(o) if isinstance(o, tuple) else o for o in new_offsets]
        element = ir.RankedTensorType(gather.results[0].type).element_type
        dynamic = ir.ShapedType.get_dynamic_size()
        sliced = tensor.ExtractSliceOp(
            ir.RankedTensorType.get(new_sizes, element),
            gather.results[0],
            [o for o in new_offsets if isinstance(o, ir.Value)],
            [],
            [],
            [dynamic if isinstance(o, ir.Value) else o for o in new_offsets],
            new_sizes,
            [1] * len(new_sizes),
        )
        collapsed = tensor.CollapseShapeOp(
            piece.results[0].type, sliced.result, collapse.attributes["reassociation"]
        )
    piece.results[0].replace_all_uses_with(collapsed.result)
    piece.erase()


def _group_slice(dims: list[int], offset: int | ir.Value, size: int):
    """(offsets, sizes) over a collapsed group's `dims` that select the collapsed elements
    [offset, offset + size), or None where they are not one slice of the dims (or it cannot be
    proven: a dynamic offset must be a known multiple of `size`). An offset of a dynamic
    `offset` is given as (offset, stride, dim) for `_digit_value`, so that no op is made for a
    slice that turns out impossible."""
    if isinstance(offset, ir.Value) and not _multiple_of(offset, size):
        return None
    if isinstance(offset, int) and offset % size:
        return None
    offsets: list[int | ir.Value] = []
    sizes: list[int] = []
    remaining, stride = size, 1
    for index in reversed(range(len(dims))):  # innermost first
        dim = dims[index]
        if remaining > 1:
            if ir.ShapedType.is_dynamic_size(dim):
                return None
            if remaining >= dim:
                if remaining % dim:
                    return None
                offsets.insert(0, 0)
                sizes.insert(0, dim)
                remaining //= dim
            else:
                if dim % remaining:
                    return None
                offsets.insert(0, _digit(offset, stride, dim))
                sizes.insert(0, remaining)
                remaining = 1
        else:
            if index and ir.ShapedType.is_dynamic_size(dim):
                return None  # (a dynamic dim only outermost: the batch)
            offsets.insert(0, _digit(offset, stride, dim if index else None))
            sizes.insert(0, 1)
        if not ir.ShapedType.is_dynamic_size(dim):
            stride *= dim
    if remaining != 1:
        return None
    return offsets, sizes


def _digit(offset: int | ir.Value, stride: int, dim: int | None):
    """(offset floordiv stride) mod dim (no mod for the outermost dim, `dim` None); of a
    dynamic offset, what `_digit_value` computes."""
    if isinstance(offset, int):
        digit = offset // stride
        return digit if dim is None else digit % dim
    return offset, stride, dim


def _digit_value(digit: tuple[ir.Value, int, int | None]) -> ir.Value:
    """An `affine.apply` computing a `_digit` of a dynamic offset, at the insertion point."""
    offset, stride, dim = digit
    expr = ir.AffineExpr.get_floor_div(ir.AffineDimExpr.get(0), stride)
    if dim is not None:
        expr = ir.AffineExpr.get_mod(expr, dim)
    return affine.AffineApplyOp(ir.AffineMap.get(1, 0, [expr]), [offset]).result


def _multiple_of(value: ir.Value, size: int) -> bool:
    """Whether `value` is an `affine.apply` of `d0 * c` (or `c * d0`) with `c % size == 0`."""
    if not isinstance(value, ir.OpResult) or value.owner.name != "affine.apply":
        return False
    results = ir.AffineMapAttr(value.owner.attributes["map"]).value.results
    if len(results) != 1 or not isinstance(results[0], ir.AffineMulExpr):
        return False
    constants = [
        f for f in (results[0].lhs, results[0].rhs) if isinstance(f, ir.AffineConstantExpr)
    ]
    return len(constants) == 1 and constants[0].value % size == 0


def _mixed(static: ir.Attribute, dynamic) -> list[int | ir.Value]:
    """An op's offsets, each a static int or its dynamic operand."""
    values = iter(dynamic)
    return [next(values) if ir.ShapedType.is_dynamic_size(s) else s for s in static]


def _enclosing_forall(op: ir.Operation) -> ir.Operation | None:
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        if parent.name == "scf.forall":
            return parent
        parent = parent.parent
    return None
