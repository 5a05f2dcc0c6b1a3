"""`gpu-pad-matmuls`: matmuls whose sizes do not divide the tile run the tiled kernel on
zero-padded copies.

Contract
--------
Lowers: every `linalg.matmul` (any operand maps) on static f32 or f64 tensors whose M, N, K do
not divide the shared-memory kernel's 64x64x16 tile (gpu_ir.MATMUL_TILE_*) and that has at
least one tile of work (M * N * K >= 64 * 64 * 16; smaller products keep one thread per output:
padding them would cost more than it saves). Each runs on copies of A and B padded with zeros
to the tile multiples (one parallel linalg.generic each: out[i, j] = inside ? x[i, j] : 0, read
at clamped indices), into a padded accumulator (a fill at the padded size when the accumulator
is a fill, a padded copy otherwise); a last generic copies the M x N corner out. Zero K columns
add nothing: the result is exact.

Assumes: linalg on tensors with static shapes.

Leaves: linalg on tensors, every tiled-size matmul dividing the tile; no tensor.pad and no
slices (nothing a GPU host function would have to copy into a view). The CPU back end runs the
same IR, which is how tests/gpu/test_gpu_rewrites_on_cpu.py checks the numerics.

Why not upstream's `transform.structured.pad`
---------------------------------------------
Tried on tests/gpu/cases.py (pad_to_multiple_of [64, 64, 16], copy_back_op = "linalg.copy"): it
pads correctly but leaves `tensor.pad` + `tensor.extract_slice`, and
  * `tensor.pad` bufferizes to a fill and a `memref.copy` into a strided `memref.subview` on the
    host, which the launch plan cannot express (its copy step takes whole buffers);
  * rewritten first (`rewrite_in_destination_passing_style` + `insert_slice_to_copy`) into
    `linalg.fill` + `linalg.copy` into a slice, it breaks as soon as `cse` merges two equal
    zero fills (both back ends run cse before bufferizing): bufferization then copies the
    shared fill and copies each operand into a view of it on the host again (the mlp and
    mlp-gradient cases; on the CPU the strided copy needs `memrefCopy` from MLIR's runtime
    library); it also costs two kernels per operand instead of one.
The generics below read at clamped indices and select: one kernel per operand, no view.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg, tensor

from cellc.compiler import pass_pipelines

from .gpu_ir import (
    MATMUL_TILE_K,
    MATMUL_TILE_M,
    MATMUL_TILE_N,
    arith_op,
    constant,
    dim_position,
    divides_matmul_tile,
    filled,
    functions,
    index_constant,
    loop_index,
    matmul_maps,
    matmul_sizes,
    new_generic,
    producer,
    run_pipeline,
    unsigned_less,
    walk,
)


def _tile_multiple(size: int, tile: int) -> int:
    return -(-size // tile) * tile


def _pad_to(value: ir.Value, shape: list[int]) -> ir.Value:
    """A linalg.generic writing `value` into the top-left corner of a zero tensor of `shape`:
    out[i, j] = (i < rows and j < cols) ? value[min(i, rows-1), min(j, cols-1)] : 0."""
    source = ir.RankedTensorType(value.type)
    element = source.element_type
    out = tensor.EmptyOp(shape, element).result
    identity = ir.AffineMap.get_identity(len(shape))
    op, block = new_generic([], [out], [identity], ["parallel"] * len(shape), [element])
    with ir.InsertionPoint(block):
        valid, indices = None, []
        for dim, size in enumerate(source.shape):
            index = loop_index(dim)
            if size != shape[dim]:
                inside = unsigned_less(index, index_constant(size))
                valid = inside if valid is None else arith_op("arith.andi", valid, inside)
                index = arith_op("arith.minui", index, index_constant(size - 1))
            indices.append(index)
        loaded = tensor.ExtractOp(value, indices).result
        if valid is not None:
            zero = constant(ir.FloatAttr.get(element, 0.0))
            loaded = arith_op("arith.select", valid, loaded, zero)
        ir.Operation.create("linalg.yield", operands=[loaded])
    return op.results[0]


def _crop_to(value: ir.Value, shape: list[int]) -> ir.Value:
    """A linalg.generic reading the top-left `shape` corner of `value`."""
    element = ir.RankedTensorType(value.type).element_type
    out = tensor.EmptyOp(shape, element).result
    identity = ir.AffineMap.get_identity(len(shape))
    op, block = new_generic([], [out], [identity], ["parallel"] * len(shape), [element])
    with ir.InsertionPoint(block):
        indices = [loop_index(dim) for dim in range(len(shape))]
        ir.Operation.create("linalg.yield", operands=[tensor.ExtractOp(value, indices).result])
    return op.results[0]


def _pad_matmul(op: ir.Operation) -> bool:
    """C = A @ B with M, N, K not multiples of the tile -> pad A, B (zeros) and C's initial
    value to the tile multiples, run the tiled matmul on them, crop the result. Zero rows and
    columns of K add nothing, so the cropped result is exact. A zero-filled C is filled at the
    padded size directly. Small products (less than one tile of work) are left alone."""
    sizes = matmul_sizes(op)
    if sizes is None:
        return False
    if divides_matmul_tile(sizes):
        return False
    m, n, k = sizes
    tile = {0: MATMUL_TILE_M, 1: MATMUL_TILE_N, 2: MATMUL_TILE_K}
    if m * n * k < MATMUL_TILE_M * MATMUL_TILE_N * MATMUL_TILE_K:
        return False
    maps = matmul_maps(op)
    with ir.InsertionPoint(op), op.location:
        padded = []
        for operand, amap in zip(op.operands, maps):
            shape = [
                _tile_multiple(size, tile[dim_position(e)])
                for size, e in zip(ir.ShapedType(operand.type).shape, amap.results)
            ]
            if shape == list(ir.ShapedType(operand.type).shape):
                padded.append(operand)
                continue
            source = producer(operand)
            if source is not None and source.name == "linalg.fill" and amap == maps[-1]:
                padded.append(filled(shape, source.operands[0]))
            else:
                padded.append(_pad_to(operand, shape))
        result = linalg.matmul(padded[0], padded[1], outs=[padded[2]], indexing_maps=maps)
        cropped = _crop_to(result, list(ir.ShapedType(op.results[0].type).shape))
    op.results[0].replace_all_uses_with(cropped)
    op.erase()
    return True


def pad_matmuls(module: ir.Module) -> int:
    """Pads matmuls whose sizes do not divide the GPU tile with zeros to the tile multiples.

    The pass `gpu-pad-matmuls`: pads every matmul that `_pad_matmul` accepts; returns how
    many."""
    with module.context, ir.Location.unknown():
        matmuls = [
            op for func in functions(module) for op in walk(func) if op.name == "linalg.matmul"
        ]
        count = sum(_pad_matmul(op) for op in matmuls)
        run_pipeline(module, pass_pipelines.GPU_AFTER_REWRITE)
    return count
