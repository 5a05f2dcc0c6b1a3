"""`convert-linalg-to-gpu`: linalg on tensors -> bufferized host code launching outlined GPU
kernels.

Contract
--------
Lowers: every `func.func` holding linalg/tensor/arith/math ops on statically shaped tensors (the
output of `convert-ms-to-linalg`).

Assumes: static shapes, identity layouts, no calls between functions (the tracer inlines),
float or integer element types. Weights are ordinary arguments (`{ms.weight = "name"}`).

Produces, for every function:
  * destination-passing memrefs: the results become trailing `memref` arguments (the caller
    allocates outputs); temporaries are host-side `memref.alloc`; the function attribute
    `cellc.num_results` records how many trailing arguments are outputs;
  * one `gpu.launch_func` per linalg op, with constant grid and block sizes, into a single
    `gpu.module @cellc_kernels` (kernel names are unique within it);
  * kernels made of scf loops, memref loads/stores and arith/math ops, ready for
    `gpu-lower-to-nvvm-pipeline`.

Strategy per op (chosen in Python from the op's static loop ranges, applied with the transform
dialect, one named sequence per stage):
  * `linalg.matmul` whose sizes divide the tile (64x64 output tiles, K steps of 16): one block per
    output tile, the K loop stages A and B tiles in shared memory (`structured.promote` to
    `#gpu.address_space<workgroup>`), 16x16 threads each computing a 4x4 tile of C
    (accumulated in place, see gaps); the shared-memory copies are spread over the same threads.
  * every other linalg op (generalized): the innermost two (three) parallel loops are tiled onto
    blocks x/y (z), then onto threads x/y inside the block tile; reduction loops stay serial
    inside each thread, so reductions are exact (no atomics, no races). An op with no parallel
    loop (a full reduction to a scalar) runs as one thread of one block.

Illegal after it: linalg ops and tensors in host code; `scf.forall`; `gpu.launch` (all outlined).
Host code keeps only memref.alloc / memref.get_global / view-like reshapes / memref.copy /
gpu.launch_func / constants / return, which `launch_plan.extract_launch_plan` turns into a plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import scf
from mlir.dialects.transform import interpreter
from mlir.passmanager import PassManager

from cellc.compiler import pass_pipelines

KERNEL_MODULE = "cellc_kernels"

# Matmul tiling (see the contract above).
MATMUL_TILE_M = 64
MATMUL_TILE_N = 64
MATMUL_TILE_K = 16
MATMUL_THREADS = (16, 16)  # (y, x): each thread owns a 4x4 tile of the 64x64 block tile

# Generic tiling: threads per block along x (innermost parallel loop) and y.
MAX_THREADS_PER_BLOCK = 256
MAX_THREADS_X = 32


class GpuLoweringError(RuntimeError):
    """The linalg module cannot be mapped onto the GPU; the message names the op and why."""


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


# --------------------------------------------------------------------------------------------
# Small IR helpers
# --------------------------------------------------------------------------------------------


def _walk(op: ir.Operation):
    """Pre-order walk of every operation nested in `op` (not `op` itself)."""
    for region in op.regions:
        for block in region:
            for child in block:
                yield child.operation
                yield from _walk(child.operation)


def _functions(module: ir.Module) -> list[ir.Operation]:
    return [op.operation for op in module.body if op.operation.name == "func.func"]


def _run(module: ir.Module, pipeline: str) -> None:
    PassManager.parse(pipeline, module.context).run(module.operation)


def _apply_transform(module: ir.Module, body: str) -> None:
    """Parses a named sequence `@__transform_main` with `body` and applies it to `module`."""
    script = (
        "module attributes {transform.with_named_sequence} {\n"
        "  transform.named_sequence @__transform_main("
        "%root: !transform.any_op {transform.readonly}) {\n"
        f"{body}"
        "    transform.yield\n  }\n}\n"
    )
    library = ir.Module.parse(script, module.context)
    entry = library.body.operations[0]
    interpreter.apply_named_sequence(module.operation, entry, library)


def _loop_ranges(op: ir.Operation) -> list[int]:
    """Static trip counts of a linalg.generic's loops, read off its operands and indexing maps."""
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    ranges: list[int | None] = [None] * maps[0].n_dims
    for operand, amap in zip(op.operands, maps):
        if not isinstance(operand.type, ir.ShapedType):
            continue
        shape = operand.type.shape
        for size, expr in zip(shape, amap.results):
            expr = expr.maybe_downcast() if hasattr(expr, "maybe_downcast") else expr
            if isinstance(expr, ir.AffineDimExpr):
                ranges[expr.position] = size
    if any(r is None or r < 0 for r in ranges):
        raise GpuLoweringError(
            f"'{op.name}' op: cannot read static loop ranges from its operands ({ranges}); "
            "the GPU target needs static shapes"
        )
    return ranges


def _iterator_kinds(op: ir.Operation) -> list[str]:
    kinds = []
    for attr in ir.ArrayAttr(op.attributes["iterator_types"]):
        kinds.append("reduction" if "reduction" in str(attr) else "parallel")
    return kinds


def _pow2_at_most(value: int, limit: int) -> int:
    return max(1, min(limit, 1 << max(0, math.ceil(math.log2(max(1, value))))))


# --------------------------------------------------------------------------------------------
# Stage 1: bufferize to destination-passing memrefs
# --------------------------------------------------------------------------------------------


def bufferize(module: ir.Module) -> None:
    """Tensors -> memrefs; results become out-params (`cellc.num_results` keeps the count)."""
    i64 = ir.IntegerType.get_signless(64, module.context)
    for func in _functions(module):
        results = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value).results
        func.attributes["cellc.num_results"] = ir.IntegerAttr.get(i64, len(results))
    _run(module, pass_pipelines.GPU_BUFFERIZE)


# --------------------------------------------------------------------------------------------
# Stage 2: choose a strategy per linalg op and tile it onto blocks and threads
# --------------------------------------------------------------------------------------------


def _is_fast_matmul(op: ir.Operation) -> bool:
    if op.name != "linalg.matmul":
        return False
    a, b, c = (ir.MemRefType(v.type) for v in op.operands)
    if not all(str(t.element_type) == "f32" for t in (a, b, c)):
        return False
    if not all(t.has_static_shape for t in (a, b, c)):
        return False
    m, k = a.shape
    n = b.shape[1]
    return m % MATMUL_TILE_M == 0 and n % MATMUL_TILE_N == 0 and k % MATMUL_TILE_K == 0


def _parallel_strategy(index: int, op: ir.Operation) -> KernelStrategy:
    ranges = _loop_ranges(op)
    kinds = _iterator_kinds(op)
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
    for func in _functions(module):
        for op in _walk(func):
            is_linalg = op.name.startswith("linalg.") and op.name != "linalg.yield"
            if is_linalg and op.name != "linalg.generic" and not _is_fast_matmul(op):
                op.attributes["cellc.generalize"] = ir.UnitAttr.get(module.context)
                tagged += 1
    if tagged:
        _apply_transform(
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
    for func in _functions(module):
        for op in list(_walk(func)):
            if not op.name.startswith("linalg.") or op.name == "linalg.yield":
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
        _apply_transform(module, script)
    _distribute_shared_memory_copies(module, strategies)
    return strategies


def _distribute_shared_memory_copies(module: ir.Module, strategies) -> None:
    """Promotion copies tiles with `memref.copy` (one thread would copy it all) and allocates the
    shared buffers in host code. Rewrite each such copy as a `linalg.copy` spread over the
    block's threads, and move the allocation into the block-level forall that uses it."""
    if not any(s.kind == "matmul_smem" for s in strategies.values()):
        return
    copies = []
    for func in _functions(module):
        for op in list(_walk(func)):
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
    _apply_transform(module, script)


def _enclosing_launch_forall(op) -> ir.Operation:
    parent = op.operation
    while parent is not None:
        if parent.name == "scf.forall" and "cellc.launch" in parent.attributes:
            return parent
        parent = parent.parent
    raise GpuLoweringError(f"'{op.name}' op: shared memory used outside a block-level loop")


# --------------------------------------------------------------------------------------------
# Stage 3: map foralls to gpu.launch, then outline into one gpu.module
# --------------------------------------------------------------------------------------------


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
        _apply_transform(module, "".join(lines))
    _run(module, pass_pipelines.GPU_PREPARE_KERNELS)


def merge_kernel_modules(module: ir.Module) -> None:
    """Outlining makes one gpu.module per launch; gather every kernel into `@cellc_kernels` (one
    PTX image), naming each kernel after its old module (unique), and give each workgroup
    `memref.alloc` a `memref.global` in address space 3 instead (shared memory)."""
    gpu_modules = [op.operation for op in module.body if op.operation.name == "gpu.module"]
    if not gpu_modules:
        return
    merged = gpu_modules[0]
    merged_body = merged.regions[0].blocks[0]
    renames: dict[str, str] = {}
    for gmod in gpu_modules:
        module_name = ir.StringAttr(gmod.attributes["sym_name"]).value
        for kernel in list(gmod.regions[0].blocks[0]):
            kernel = kernel.operation
            old_name = ir.StringAttr(kernel.attributes["sym_name"]).value
            renames[f"@{module_name}::@{old_name}"] = module_name
            kernel.attributes["sym_name"] = ir.StringAttr.get(module_name)
            if gmod != merged:
                kernel.move_after(list(merged_body)[-1].operation)
        if gmod != merged:
            gmod.erase()
    merged.attributes["sym_name"] = ir.StringAttr.get(KERNEL_MODULE)
    shared_count = 0
    for kernel in list(merged_body):
        shared_count = _allocs_to_shared_globals(kernel.operation, merged_body, shared_count)
    for func in _functions(module):
        for op in _walk(func):
            if op.name == "gpu.launch_func":
                old = str(op.attributes["kernel"])
                op.attributes["kernel"] = ir.SymbolRefAttr.get([KERNEL_MODULE, renames[old]])


def _allocs_to_shared_globals(kernel: ir.Operation, module_body: ir.Block, count: int) -> int:
    for op in list(_walk(kernel)):
        if op.name == "memref.alloc" and "workgroup" in str(op.results[0].type):
            memref_type = op.results[0].type
            name = f"__shared_{count}"
            count += 1
            with ir.InsertionPoint.at_block_begin(module_body), op.location:
                ir.Operation.create(
                    "memref.global",
                    attributes={
                        "sym_name": ir.StringAttr.get(name),
                        "sym_visibility": ir.StringAttr.get("private"),
                        "type": ir.TypeAttr.get(memref_type),
                        "alignment": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 16),
                    },
                )
            with ir.InsertionPoint(op), op.location:
                get = ir.Operation.create(
                    "memref.get_global",
                    results=[memref_type],
                    attributes={"name": ir.FlatSymbolRefAttr.get(name)},
                )
            op.results[0].replace_all_uses_with(get.results[0])
            for use in list(get.results[0].uses):
                if use.owner.name == "memref.dealloc":
                    use.owner.erase()
            op.erase()
    return count


def convert_linalg_to_gpu(module: ir.Module) -> dict[int, KernelStrategy]:
    """The pass `convert-linalg-to-gpu`: bufferize, tile, map to blocks/threads, outline."""
    with module.context, ir.Location.unknown():
        return _convert(module)


def _convert(module: ir.Module) -> dict[int, KernelStrategy]:
    _run(module, pass_pipelines.GPU_PRE_BUFFERIZE)
    bufferize(module)
    strategies = tile_to_foralls(module)
    map_to_gpu_launches(module, strategies)
    _run(module, pass_pipelines.GPU_OUTLINE)
    merge_kernel_modules(module)
    _run(module, pass_pipelines.GPU_CLEANUP)
    return strategies


# --------------------------------------------------------------------------------------------
# The whole GPU back end: linalg on tensors -> PTX (+ cubin) + launch plan
# --------------------------------------------------------------------------------------------


@dataclass
class GpuProgram:
    """What `--target cuda` produces for a module.

    `ptx`: one PTX image holding every kernel; `cubin`: the same assembled by `ptxas` (None when
    ptxas is absent); `plan`: the launch plan (launch_plan.py, JSON-serializable);
    `stages`: printable IR per stage: "gpu" (host + outlined kernels), "nvvm", "ptx".
    """

    ptx: str
    cubin: bytes | None
    plan: dict
    stages: dict[str, str]
    chip: str = "sm_80"


def lower_linalg_to_gpu(
    module: ir.Module, chip: str = "sm_80", ptx_features: str = "+ptx80"
) -> GpuProgram:
    """linalg on tensors -> GpuProgram. `module` is transformed in place (to the "gpu" stage)."""
    from . import gpu_to_nvvm, launch_plan

    convert_linalg_to_gpu(module)
    gpu_text = str(module)
    plan = launch_plan.extract_launch_plan(module)
    plan["target"] = {
        "kind": "cuda",
        "chip": chip,
        "ptx_features": ptx_features,
        "module": KERNEL_MODULE,
    }
    nvvm_text, ptx = gpu_to_nvvm.lower_gpu_to_nvvm(module, chip, ptx_features)
    cubin = gpu_to_nvvm.ptx_to_cubin(ptx, chip)
    return GpuProgram(
        ptx=ptx,
        cubin=cubin,
        plan=plan,
        stages={"gpu": gpu_text, "nvvm": nvvm_text, "ptx": ptx},
        chip=chip,
    )
