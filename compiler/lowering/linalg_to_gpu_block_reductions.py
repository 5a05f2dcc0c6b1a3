"""`convert-linalg-to-gpu-block-reductions`: reductions along contiguous elements -> one GPU
block per output, its threads combining their partial results in a tree.

Contract
--------
Lowers: every linalg.generic on memrefs (after `gpu-bufferize`) with one output that
`gpu_ir.as_reduction` accepts (a body ending in a known combiner, maps of loops and
constants, no `linalg.index`) on f32, f64, i32 or i64 elements, that reduces N >= 32 elements
per output and whose first reduced input has a reduced loop as its innermost index (so that
neighbouring threads read neighbouring elements). Each becomes one `gpu.launch`:

    grid  = (outputs, 1, 1)    block b computes output b (the parallel loops, delinearized)
    block = (T, 1, 1)          T = a power of two in [32, 256], about N / 4
    thread t:  partial = (+)_{g = t, t + T, ...} body(x[..., delinearize(g)])  (scf.for)
               total   = gpu.all_reduce <combiner> partial uniform
               t == 0:  out[b] = total (+) out[b]                             (scf.if)

The strided share keeps reads coalesced. `gpu.all_reduce` is lowered by upstream MLIR
(`convert-gpu-to-nvvm` runs `populateGpuAllReducePatterns`): warp shuffles (xor butterfly,
offsets 1, 2, 4, 8, 16) within each warp, the warps' results through shared memory, then one
more shuffle tree in the first warp: a fixed combine order, so results are deterministic run to
run (float sums are reassociated: they differ from a serial sum in the last bits).

Assumes: static shapes; runs after `gpu-split-reductions` (whose stage 1, one thread per
partial result along the parallel innermost loop, is left alone: its innermost index is a
parallel loop or it reads through `linalg.index`) and before `convert-linalg-to-gpu-launch`,
which tiles what is left.

Illegal after it: nothing new; the launches it creates hold scf loops, memref loads and
stores, arith/math and `gpu.all_reduce`, which `gpu-outline-kernels` outlines with the others.

Why not upstream's transform ops: `transform.structured.tile_reduction_using_forall` gives each
thread a contiguous chunk (uncoalesced reads) and merges the partial results with a serial
`linalg` op after the `scf.forall`, not inside the block; `split_reduction` leaves two kernels.
`gpu.all_reduce` (the combine itself) is upstream's.
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import gpu, memref, scf

from .gpu_ir import (
    COMBINERS,
    Reduction,
    arith_op,
    as_reduction,
    constant_value,
    dim_position,
    functions,
    index_constant,
    neutral_constant,
    walk,
)

BLOCK_REDUCE_MIN_EXTENT = 32  # one warp: below this a thread per output is as good
BLOCK_REDUCE_MAX_THREADS = 256  # eight warps per block; several blocks share an SM
BLOCK_REDUCE_SERIAL = 4  # elements each thread combines serially, at least (before the tree)
BLOCK_REDUCE_ELEMENTS = ("f32", "f64", "i32", "i64")  # gpu.shuffle's 32- and 64-bit types


def block_threads(extent: int) -> int:
    """Threads of a block that reduces `extent` elements: a power of two in [32, 256]."""
    wanted = max(1, math.ceil(extent / BLOCK_REDUCE_SERIAL))
    return max(
        BLOCK_REDUCE_MIN_EXTENT, min(BLOCK_REDUCE_MAX_THREADS, 1 << (wanted - 1).bit_length())
    )


def _is_memref_generic(op: ir.Operation) -> bool:
    return op.name == "linalg.generic" and not op.results


def as_block_reduction(op: ir.Operation) -> Reduction | None:
    """The op as a reduction this pass rewrites (see the contract), else None."""
    if not _is_memref_generic(op):
        return None
    red = as_reduction(op)
    if red is None:
        return None
    element = ir.MemRefType(op.operands[len(op.operands) - 1].type).element_type
    if str(element) not in BLOCK_REDUCE_ELEMENTS:
        return None
    extent = math.prod(red.ranges[d] for d in red.loops("reduction"))
    if extent < BLOCK_REDUCE_MIN_EXTENT or not red.reads_along_reduction():
        return None
    return red


def _delinearize(linear: ir.Value, loops: list[int], ranges: list[int]) -> dict[int, ir.Value]:
    """Row-major indices of `loops` (extents `ranges[loop]`) from a linear index below their
    product (so the outermost needs no remainder)."""
    values = {}
    stride = math.prod(ranges[d] for d in loops)
    for position, d in enumerate(loops):
        stride //= ranges[d]
        quotient = arith_op("arith.divui", linear, index_constant(stride)) if stride > 1 else linear
        if position == 0:
            values[d] = quotient
        else:
            values[d] = arith_op("arith.remui", quotient, index_constant(ranges[d]))
    return values


def _indices(amap: ir.AffineMap, loop_values: dict[int, ir.Value]) -> list[ir.Value]:
    indices = []
    for expr in amap.results:
        dim = dim_position(expr)
        indices.append(index_constant(constant_value(expr)) if dim is None else loop_values[dim])
    return indices


def _combine(red: Reduction, contribution: ir.Value, acc: ir.Value) -> ir.Value:
    """The combiner applied as the body applies it (operand order and attributes kept)."""
    operands = [acc, contribution] if red.acc_first else [contribution, acc]
    attrs = {name: red.combiner.attributes[name] for name in red.combiner.attributes}
    return ir.Operation.create(
        red.combiner.name, results=[acc.type], operands=operands, attributes=attrs
    ).result


def _thread_partial(red: Reduction, block_loops: dict, thread: ir.Value, threads: ir.Value):
    """scf.for g = thread to N step threads: acc = body(inputs at (block_loops, g), acc)."""
    op = red.op
    reduced = red.loops("reduction")
    extent = math.prod(red.ranges[d] for d in reduced)
    inputs = list(op.operands[: len(op.operands) - 1])
    out = op.operands[len(op.operands) - 1]
    element = ir.MemRefType(out.type).element_type
    neutral = neutral_constant(red.combiner.name, element)
    loop = scf.ForOp(thread, index_constant(extent), threads, [neutral])
    body = op.regions[0].blocks[0]
    with ir.InsertionPoint(loop.body):
        loop_values = {**block_loops, **_delinearize(loop.induction_variable, reduced, red.ranges)}
        mapping = {}
        for argument, value, amap in zip(body.arguments, inputs, red.maps):
            if isinstance(value.type, ir.MemRefType):
                value = memref.LoadOp(value, _indices(amap, loop_values)).result
            mapping[argument] = value
        mapping[body.arguments[len(body.arguments) - 1]] = loop.inner_iter_args[0]
        yielded = _clone_body(body, mapping)
        scf.YieldOp([yielded])
    return loop.results[0]


def _clone_body(body: ir.Block, mapping: dict) -> ir.Value:
    """Clones the ops of a linalg body at the insertion point, operands remapped; returns the
    value the body yields."""
    operations = [o.operation for o in body]
    for child in operations[:-1]:
        clone = child.clone()
        for index, operand in enumerate(clone.operands):
            if operand in mapping:
                clone.operands[index] = mapping[operand]
        for old, new in zip(child.results, clone.results):
            mapping[old] = new
    yielded = operations[-1].operands[0]
    return mapping.get(yielded, yielded)


def _rewrite(red: Reduction) -> None:
    """`red` -> one gpu.launch (see the contract); the linalg op is erased."""
    op = red.op
    parallel = red.loops("parallel")
    outputs = math.prod(red.ranges[d] for d in parallel)
    extent = math.prod(red.ranges[d] for d in red.loops("reduction"))
    threads = block_threads(extent)
    out = op.operands[len(op.operands) - 1]
    with ir.InsertionPoint(op), op.location:
        one = index_constant(1)
        launch = gpu.LaunchOp(
            (index_constant(outputs), one, one), (index_constant(threads), one, one)
        )
    region = launch.regions[0].blocks[0]
    block_id, thread_id = region.arguments[0], region.arguments[3]
    with ir.InsertionPoint(region), op.location:
        block_loops = _delinearize(block_id, parallel, red.ranges) if parallel else {}
        partial = _thread_partial(red, block_loops, thread_id, index_constant(threads))
        kind = ir.Attribute.parse(f"#gpu<all_reduce_op {COMBINERS[red.combiner.name].all_reduce}>")
        total = gpu.AllReduceOp(partial, op=kind, uniform=True).result
        first = arith_op(
            "arith.cmpi",
            thread_id,
            index_constant(0),
            result=ir.IntegerType.get_signless(1),
            predicate=ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 0),  # eq
        )
        store = scf.IfOp(first)
        with ir.InsertionPoint(store.then_block):
            where = _indices(red.maps[-1], block_loops)
            init = memref.LoadOp(out, where).result
            memref.StoreOp(_combine(red, total, init), out, where)
            scf.YieldOp([])
        gpu.TerminatorOp()
    op.erase()


def convert_reductions_to_gpu_blocks(module: ir.Module) -> int:
    """Rewrites each reduction `as_block_reduction` accepts into a gpu.launch of one block per
    output with a tree combine (see the contract).

    The pass `convert-linalg-to-gpu-block-reductions`, in place; returns how many it
    rewrote."""
    with module.context, ir.Location.unknown():
        reductions = [
            red
            for func in functions(module)
            for op in list(walk(func))
            if (red := as_block_reduction(op)) is not None
        ]
        for red in reductions:
            _rewrite(red)
    return len(reductions)
