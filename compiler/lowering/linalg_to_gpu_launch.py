"""`convert-linalg-to-gpu-launch`: linalg on memrefs -> one `gpu.launch` per linalg op.

Contract
--------
Lowers: every linalg op in the host functions that `gpu-bufferize` leaves (static memrefs,
identity layouts at function boundaries; views of them inside).

Strategy per op (chosen in Python from the op's static loop ranges, applied with the transform
dialect, one named sequence for the whole module):
  * `linalg.matmul` (f32 or f64, any operand maps) whose sizes divide the tile (64x64 output
    tiles, K steps of 16; `gpu-pad-matmuls` pads all but the small ones to it): one block per
    output tile, the K loop stages A and B tiles in shared memory (`structured.promote` to
    `#gpu.memory_space<workgroup>`), 16x16 threads each computing a 4x4 tile of C (accumulated
    in place in global memory); the shared-memory copies are spread over the same threads (a
    `linalg.copy` tiled onto them) and their buffers allocated inside the block's loop.
  * every other linalg op (generalized): the innermost two (three) parallel loops are tiled onto
    blocks x/y (z), then onto threads x/y inside the block tile; reduction loops stay serial
    inside each thread, so reductions are exact (no atomics, no races). An op with no parallel
    loop (a full reduction to a scalar) runs as one thread of one block: after
    `gpu-split-reductions` and `convert-linalg-to-gpu-block-reductions` (which already made
    the reductions along contiguous elements gpu.launch ops) that is only a reduction of fewer
    than 32 elements, or one the block reductions do not take (a combiner or element type
    they do not know).
Then `transform.gpu.map_forall_to_blocks generate_gpu_launch` and
`map_nested_forall_to_threads` (with a barrier after a thread loop that more work follows), and
`pass_pipelines.GPU_PREPARE_KERNELS`: the per-thread linalg tiles become loops.

Assumes: linalg ops only in host code, static shapes, no `scf.forall` of its own.

Illegal after it: linalg ops and `scf.forall` in host code; every kernel is a
`gpu.launch` with constant grid and block sizes whose body is scf loops, memref loads/stores,
arith/math, `gpu.barrier`, and `memref.alloc` in `#gpu.address_space<workgroup>` (shared memory).

Gaps: the matmul kernel accumulates in global memory (no register accumulators, no
double-buffering, no tensor cores: those are linalg_to_gpu_mma.py's, on sm_80+ for f16 and,
with allow_tf32, f32); matmuls of other element types (f16 below sm_80, integers) and batched
matmuls are not tiled; reductions over an outer axis with many outputs (>= 8192) stay one
thread per output (reads coalesced across threads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import scf

from cellc.compiler import pass_pipelines

from .gpu_ir import (
    MATMUL_TILE_K,
    MATMUL_TILE_M,
    MATMUL_TILE_N,
    GpuLoweringError,
    apply_transform,
    divides_matmul_tile,
    functions,
    iterator_kinds,
    loop_ranges,
    matmul_sizes,
    run_pipeline,
    walk,
)

MATMUL_THREADS = (16, 16)  # (y, x): each thread owns a 4x4 tile of the 64x64 block tile

# Generic tiling: threads per block along x (innermost parallel loop) and y.
MAX_THREADS_PER_BLOCK = 256
MAX_THREADS_X = 32


@dataclass
class KernelStrategy:
    """How one linalg op becomes one kernel launch."""

    index: int
    op_name: str
    kind: str  # "matmul_smem", "parallel", "single"
    block_tile: list[int] = field(default_factory=list)  # per loop, 0 = not tiled
    block_mapping: list[str] = field(default_factory=list)
    thread_counts: list[int] = field(default_factory=list)  # per loop, 0 = not distributed
    thread_mapping: list[str] = field(default_factory=list)
    block_dims: tuple[int, int, int] = (1, 1, 1)


def convert_linalg_to_gpu_launch(module: ir.Module) -> dict[int, KernelStrategy]:
    """Tiles every linalg op onto GPU blocks and threads, in gpu.launch regions.

    The pass `convert-linalg-to-gpu-launch`, in place; returns the strategy of each launch."""
    with module.context, ir.Location.unknown():
        strategies = tile_to_foralls(module)
        map_to_gpu_launches(module, strategies)
    return strategies


def _is_structured(op: ir.Operation) -> bool:
    """A linalg structured op (not one of the ops found only inside their bodies)."""
    return op.name.startswith("linalg.") and op.name not in ("linalg.yield", "linalg.index")


def _pow2_at_most(value: int, limit: int) -> int:
    return max(1, min(limit, 1 << max(0, math.ceil(math.log2(max(1, value))))))


def _is_fast_matmul(op: ir.Operation) -> bool:
    """A linalg.matmul (any operand maps) on f32 or f64 whose M, N, K divide the tile."""
    sizes = matmul_sizes(op)
    return sizes is not None and divides_matmul_tile(sizes)


def _parallel_strategy(index: int, op: ir.Operation) -> KernelStrategy:
    ranges = loop_ranges(op)
    kinds = iterator_kinds(op)
    parallel = [d for d, kind in enumerate(kinds) if kind == "parallel"]
    strategy = KernelStrategy(index, op.name, "parallel")
    if not parallel:
        strategy.kind = "single"
        return strategy
    # Innermost parallel loop -> x (contiguous in row-major outputs), then y, then z.
    x_dim = parallel[-1]
    y_dim = parallel[-2] if len(parallel) > 1 else None
    z_dim = parallel[-3] if len(parallel) > 2 else None
    threads_x = _pow2_at_most(ranges[x_dim], MAX_THREADS_X if y_dim is not None else 256)
    threads_y = 1
    if y_dim is not None:
        threads_y = _pow2_at_most(ranges[y_dim], MAX_THREADS_PER_BLOCK // threads_x)
    block_tile = [0] * len(ranges)
    thread_counts = [0] * len(ranges)
    block_tile[x_dim] = threads_x
    thread_counts[x_dim] = threads_x
    if y_dim is not None:
        block_tile[y_dim] = threads_y
        thread_counts[y_dim] = threads_y
    if z_dim is not None:
        block_tile[z_dim] = 1
    names = {x_dim: "x", y_dim: "y", z_dim: "z"}
    strategy.block_tile = block_tile
    strategy.block_mapping = [
        f"#gpu.block<{names[d]}>" for d in range(len(ranges)) if block_tile[d]
    ]
    strategy.thread_counts = thread_counts
    strategy.thread_mapping = [
        f"#gpu.thread<{names[d]}>" for d in range(len(ranges)) if thread_counts[d]
    ]
    strategy.block_dims = (threads_x, threads_y, 1)
    return strategy


def _generalize(module: ir.Module) -> None:
    """Every linalg op but the fast matmuls becomes a linalg.generic (one tiling recipe)."""
    tagged = 0
    for func in functions(module):
        for op in walk(func):
            is_linalg = _is_structured(op)
            if is_linalg and op.name != "linalg.generic" and not _is_fast_matmul(op):
                op.attributes["cellc.generalize"] = ir.UnitAttr.get(module.context)
                tagged += 1
    if tagged:
        apply_transform(
            module,
            '    %ops = transform.structured.match attributes{"cellc.generalize"} in %root'
            " : (!transform.any_op) -> !transform.any_op\n"
            "    %g = transform.structured.generalize %ops"
            " : (!transform.any_op) -> !transform.any_op\n",
        )


def _wrap_in_single_iteration_forall(op: ir.Operation) -> None:
    """An op with no parallel loop runs in a grid of one block: put it in a 1-trip forall."""
    mapping = ir.ArrayAttr.get([ir.Attribute.parse("#gpu.block<x>")])
    with ir.InsertionPoint(op), op.location:
        forall = scf.ForallOp([0], [1], [1], mapping=mapping)
        with ir.InsertionPoint(forall.body):
            scf.InParallelOp()
    op.move_before(forall.body.operations[0])
    forall.operation.attributes["cellc.launch"] = op.attributes["cellc.op"]


def _tile_script(strategy: KernelStrategy) -> str:
    i = strategy.index
    any_op = "!transform.any_op"
    lines = [
        (
            f"    %op{i} = transform.structured.match attributes{{cellc.op = {i} : i64}} in %root"
            f" : ({any_op}) -> {any_op}\n"
        ),
        f"    %tag{i} = transform.param.constant {i} : i64 -> !transform.param<i64>\n",
    ]
    if strategy.kind == "matmul_smem":
        ty, tx = MATMUL_THREADS
        lines += [
            (
                f"    %mm{i}, %blk{i} = transform.structured.tile_using_forall %op{i} tile_sizes "
                f"[{MATMUL_TILE_M}, {MATMUL_TILE_N}] (mapping = [#gpu.block<y>, #gpu.block<x>])"
                f" : ({any_op}) -> ({any_op}, {any_op})\n"
            ),
            (
                f"    %mmk{i}, %loopk{i} = transform.structured.tile_using_for %mm{i} tile_sizes "
                f"[0, 0, {MATMUL_TILE_K}] : ({any_op}) -> ({any_op}, {any_op})\n"
            ),
            (
                f"    %smem{i} = transform.structured.promote %mmk{i} "
                f"{{operands_to_promote = [0, 1],"
                f" mapping = [#gpu.memory_space<workgroup>]}} : ({any_op}) -> {any_op}\n"
            ),
            (
                f"    %mmt{i}, %thr{i} = transform.structured.tile_using_forall %smem{i} "
                f"num_threads [{ty}, {tx}] (mapping = [#gpu.thread<y>, #gpu.thread<x>])"
                f" : ({any_op}) -> ({any_op}, {any_op})\n"
            ),
        ]
    else:
        block_tile = ", ".join(map(str, strategy.block_tile))
        threads = ", ".join(map(str, strategy.thread_counts))
        lines += [
            (
                f"    %t{i}, %blk{i} = transform.structured.tile_using_forall %op{i} tile_sizes "
                f"[{block_tile}] (mapping = [{', '.join(strategy.block_mapping)}])"
                f" : ({any_op}) -> ({any_op}, {any_op})\n"
            ),
            (
                f"    %tt{i}, %thr{i} = transform.structured.tile_using_forall %t{i} num_threads "
                f"[{threads}] (mapping = [{', '.join(strategy.thread_mapping)}])"
                f" : ({any_op}) -> ({any_op}, {any_op})\n"
            ),
        ]
    lines.append(
        f'    transform.annotate %blk{i} "cellc.launch" = %tag{i}'
        f" : {any_op}, !transform.param<i64>\n"
    )
    return "".join(lines)


def tile_to_foralls(module: ir.Module) -> dict[int, KernelStrategy]:
    """Tiles every linalg op in host code into block-mapped foralls of thread-mapped foralls."""
    _generalize(module)
    i64 = ir.IntegerType.get_signless(64, module.context)
    strategies: dict[int, KernelStrategy] = {}
    for func in functions(module):
        for op in list(walk(func)):
            if not _is_structured(op):
                continue
            index = len(strategies)
            op.attributes["cellc.op"] = ir.IntegerAttr.get(i64, index)
            if _is_fast_matmul(op):
                strategy = KernelStrategy(index, op.name, "matmul_smem")
                strategy.block_dims = (MATMUL_THREADS[1], MATMUL_THREADS[0], 1)
            elif op.name == "linalg.generic":
                strategy = _parallel_strategy(index, op)
            else:
                raise GpuLoweringError(f"'{op.name}' op: no GPU tiling strategy for this op")
            if strategy.kind == "single":
                _wrap_in_single_iteration_forall(op)
            strategies[index] = strategy
    script = "".join(_tile_script(s) for s in strategies.values() if s.kind != "single")
    if script:
        apply_transform(module, script)
    _distribute_shared_memory_copies(module, strategies)
    return strategies


def _distribute_shared_memory_copies(module: ir.Module, strategies) -> None:
    """Promotion copies tiles with `memref.copy` (one thread would copy it all) and allocates the
    shared buffers in host code. Rewrite each such copy as a `linalg.copy` spread over the
    block's threads, and move the allocation into the block-level forall that uses it."""
    if not any(s.kind == "matmul_smem" for s in strategies.values()):
        return
    copies = []
    for func in functions(module):
        for op in list(walk(func)):
            if op.name == "memref.alloc" and "workgroup" in str(op.results[0].type):
                forall = _enclosing_launch_forall(next(iter(op.results[0].uses)).owner)
                op.move_before(forall.regions[0].blocks[0].operations[0])
            if op.name == "memref.copy" and "workgroup" in str(op.operands[1].type):
                copies.append(op)
    for index, op in enumerate(copies):
        source, target = op.operands
        with ir.InsertionPoint(op), op.location:
            copy = ir.Operation.create(
                "linalg.copy",
                operands=[source, target],
                regions=1,
                attributes={"operandSegmentSizes": ir.DenseI32ArrayAttr.get([1, 1])},
            )
            block = copy.regions[0].blocks.append(
                ir.MemRefType(source.type).element_type, ir.MemRefType(target.type).element_type
            )
            with ir.InsertionPoint(block):
                ir.Operation.create("linalg.yield", operands=[block.arguments[0]])
        copy.attributes["cellc.smem_copy"] = ir.IntegerAttr.get(
            ir.IntegerType.get_signless(64), index
        )
        op.erase()
    ty, tx = MATMUL_THREADS
    script = "".join(
        f"    %c{i} = transform.structured.match attributes{{cellc.smem_copy = {i} : i64}}"
        f" in %root : (!transform.any_op) -> !transform.any_op\n"
        f"    %ct{i}, %cf{i} = transform.structured.tile_using_forall %c{i} num_threads "
        f"[{ty}, {tx}] (mapping = [#gpu.thread<y>, #gpu.thread<x>])"
        " : (!transform.any_op) -> (!transform.any_op, !transform.any_op)\n"
        for i in range(len(copies))
    )
    apply_transform(module, script)


def _enclosing_launch_forall(op) -> ir.Operation:
    parent = op.operation
    while parent is not None:
        if parent.name == "scf.forall" and "cellc.launch" in parent.attributes:
            return parent
        parent = parent.parent
    raise GpuLoweringError(f"'{op.name}' op: shared memory used outside a block-level loop")


def map_to_gpu_launches(module: ir.Module, strategies: dict[int, KernelStrategy]) -> None:
    """Each block-level forall becomes a gpu.launch; the thread-level foralls inside it become
    thread ids (with a barrier after each one that is followed by more work)."""
    lines = []
    for i, strategy in strategies.items():
        x, y, z = strategy.block_dims
        lines.append(
            f'    %f{i} = transform.structured.match ops{{["scf.forall"]}} '
            f"attributes{{cellc.launch = {i} : i64}} in %root"
            " : (!transform.any_op) -> !transform.any_op\n"
            f"    %l{i} = transform.gpu.map_forall_to_blocks %f{i} generate_gpu_launch"
            " : (!transform.any_op) -> !transform.any_op\n"
            f"    %m{i} = transform.gpu.map_nested_forall_to_threads %l{i} "
            f"block_dims = [{x}, {y}, {z}] : (!transform.any_op) -> !transform.any_op\n"
        )
    if lines:
        apply_transform(module, "".join(lines))
    run_pipeline(module, pass_pipelines.GPU_PREPARE_KERNELS)
