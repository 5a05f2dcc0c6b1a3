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

Stage 0 (`rewrite_for_gpu`, linalg on tensors -> linalg on tensors, before bufferizing; the CPU
back end runs the same IR, which is how tests/gpu/test_gpu_rewrites_on_cpu.py checks it):
  * split reductions: a linalg.generic with one result, a body ending in a known combiner
    (addf, mulf, max/min, addi, muli, bitwise; `acc` used once) and no `linalg.index`, reducing
    N >= 256 elements into fewer than 8192 outputs, becomes
      stage 1: partial[..., p] (+)= f(x[..., g]), g = c * P + p delinearized over all reduced
               loops (merged into one), p parallel, c the serial chunk of C >= 32 elements;
               P x outputs <= 16384 threads; neighbouring threads read neighbouring elements;
      stage 2: init (+)= sum_p partial[..., p], split again while still large.
    Inputs that touch the reduced loops are read with `tensor.extract` at computed indices
    (a shape-only `tensor<Cxi8>` operand gives the c loop its range, as pooling windows do);
    when P * C > N the last chunk reads a clamped index and keeps its accumulator (`select`):
    no padded copy of the input.
  * pad matmuls: a `linalg.matmul` (any operand maps, f32 or f64, static) whose M, N, K do not
    divide 64x64x16 and that has at least one tile of work is run on copies of A and B padded
    with zeros to the tile multiples (a parallel generic each), into a padded accumulator (a
    fill at the padded size when the accumulator is a fill, a padded copy otherwise); a last
    generic copies the M x N corner out. Zero K columns add nothing: the result is exact.

Strategy per op (chosen in Python from the op's static loop ranges, applied with the transform
dialect, one named sequence per stage):
  * `linalg.matmul` (f32 or f64, any operand maps) whose sizes divide the tile (64x64 output
    tiles, K steps of 16) -- after stage 0, every matmul but the small ones: one block per output
    tile, the K loop stages A and B tiles in shared memory (`structured.promote` to
    `#gpu.address_space<workgroup>`), 16x16 threads each computing a 4x4 tile of C (accumulated
    in place in global memory); the shared-memory copies are spread over the same threads.
  * every other linalg op (generalized): the innermost two (three) parallel loops are tiled onto
    blocks x/y (z), then onto threads x/y inside the block tile; reduction loops stay serial
    inside each thread, so reductions are exact (no atomics, no races). An op with no parallel
    loop (a full reduction to a scalar) runs as one thread of one block: after stage 0 that is
    only the last, small stage of a split reduction (or a reduction of fewer than 256 elements).

Gaps (nothing here has been run on a GPU; the checks are the CPU run of stage 0, FileCheck,
ptxas for sm_80/sm_90 and the launch-plan checker):
  * no tree reduction inside a block (shared memory, shuffles) and no atomics: a split
    reduction costs 2-3 launches plus fills and O(P) temporary floats; its stage 2 is serial
    per output (P <= 255 terms once split again); float sums are reassociated (chunked
    order), so results differ from a serial sum in the last bits;
  * reductions with many outputs (>= 8192) stay one thread per output with a serial loop;
    reductions whose body reads `linalg.index`, has several results or no recognized combiner
    (e.g. argmax) are not split;
  * padded matmuls copy A, B (and a non-fill accumulator) and the result once each; products
    smaller than one tile (M*N*K < 64*64*16) keep one thread per output with a serial K loop;
    matmuls of other element types (f16, integers) and batched matmuls are not tiled;
  * the matmul kernel accumulates in global memory (no register accumulators, no
    double-buffering, no tensor cores).

Illegal after it: linalg ops and tensors in host code; `scf.forall`; `gpu.launch` (all outlined).
Host code keeps only memref.alloc / memref.get_global / view-like reshapes / memref.copy /
gpu.launch_func / constants / return, which `launch_plan.extract_launch_plan` turns into a plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import linalg, scf, tensor
from mlir.dialects.transform import interpreter
from mlir.passmanager import PassManager

from cellc.compiler import pass_pipelines
from cellc.compiler.lowering.read_only_arguments import mark_arguments_read_only

KERNEL_MODULE = "cellc_kernels"

# Matmul tiling (see the contract above).
MATMUL_TILE_M = 64
MATMUL_TILE_N = 64
MATMUL_TILE_K = 16
MATMUL_THREADS = (16, 16)  # (y, x): each thread owns a 4x4 tile of the 64x64 block tile
MATMUL_ELEMENT_TYPES = ("f32", "f64")

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


def _is_structured(op: ir.Operation) -> bool:
    """A linalg structured op (not one of the ops found only inside their bodies)."""
    return op.name.startswith("linalg.") and op.name not in ("linalg.yield", "linalg.index")


def _pow2_at_most(value: int, limit: int) -> int:
    return max(1, min(limit, 1 << max(0, math.ceil(math.log2(max(1, value))))))


# --------------------------------------------------------------------------------------------
# Stage 0: rewrite linalg on tensors so that reductions and odd matmuls spread over many threads
# (still linalg on tensors: the CPU back end runs the same IR, which is how tests check it)
# --------------------------------------------------------------------------------------------

# A reduction is split when its reduced extent is at least this and it has fewer outputs than
# SPLIT_MAX_OUTPUTS (with more, one thread per output already fills the GPU).
SPLIT_MIN_REDUCTION = 256
SPLIT_MAX_OUTPUTS = 8192
SPLIT_TARGET_THREADS = 16384  # outputs x partial results of the first stage
SPLIT_MIN_CHUNK = 32  # elements each thread of the first stage reduces serially (at least)

# The combining op a reduction body may end with, and its neutral element.
_NEUTRAL = {
    "arith.addf": 0.0,
    "arith.mulf": 1.0,
    "arith.maximumf": -math.inf,
    "arith.maxnumf": -math.inf,
    "arith.minimumf": math.inf,
    "arith.minnumf": math.inf,
    "arith.addi": 0,
    "arith.muli": 1,
    "arith.ori": 0,
    "arith.xori": 0,
    "arith.andi": -1,  # all ones
    "arith.maxui": 0,
    "arith.minui": -1,
    "arith.maxsi": "min",
    "arith.minsi": "max",
}


@dataclass
class _Reduction:
    """A linalg.generic `init (+)= body(inputs)` that `split_reductions` knows how to split."""

    op: ir.Operation
    ranges: list[int]
    kinds: list[str]
    maps: list[ir.AffineMap]
    combiner: ir.Operation  # the body's last op: combiner(contribution, acc)
    acc_first: bool  # whether acc is the combiner's first operand


def _neutral_constant(name: str, element: ir.Type) -> ir.Value:
    value = _NEUTRAL[name]
    if isinstance(element, ir.FloatType):
        return _constant(ir.FloatAttr.get(element, float(value)))
    width = ir.IntegerType(element).width
    if value == "min":
        value = -(1 << (width - 1))
    elif value == "max":
        value = (1 << (width - 1)) - 1
    return _constant(ir.IntegerAttr.get(element, value))


def _constant(attr: ir.Attribute) -> ir.Value:
    return ir.Operation.create(
        "arith.constant", results=[attr.type], attributes={"value": attr}
    ).result


def _index(value: int) -> ir.Value:
    return _constant(ir.IntegerAttr.get(ir.IndexType.get(), value))


def _arith(name: str, *operands: ir.Value, result: ir.Type | None = None, **attrs) -> ir.Value:
    result = result or operands[-1].type
    return ir.Operation.create(
        name, results=[result], operands=list(operands), attributes=attrs
    ).result


def _loop_index(dim: int) -> ir.Value:
    i64 = ir.IntegerType.get_signless(64)
    return ir.Operation.create(
        "linalg.index",
        results=[ir.IndexType.get()],
        attributes={"dim": ir.IntegerAttr.get(i64, dim)},
    ).result


def _ult(a: ir.Value, b: ir.Value) -> ir.Value:
    i64 = ir.IntegerType.get_signless(64)
    predicate = ir.IntegerAttr.get(i64, 6)  # ult
    return _arith("arith.cmpi", a, b, result=ir.IntegerType.get_signless(1), predicate=predicate)


def _generic(inputs, outputs, maps, kinds, arg_types) -> tuple[ir.Operation, ir.Block]:
    """A linalg.generic with an empty body block of `arg_types` (the caller fills it)."""
    op = ir.Operation.create(
        "linalg.generic",
        results=[v.type for v in outputs],
        operands=[*inputs, *outputs],
        attributes={
            "indexing_maps": ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
            "iterator_types": ir.ArrayAttr.get(
                [ir.Attribute.parse(f"#linalg.iterator_type<{k}>") for k in kinds]
            ),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([len(inputs), len(outputs)]),
        },
        regions=1,
    )
    return op, op.regions[0].blocks.append(*arg_types)


def _filled(shape: list[int], value: ir.Value) -> ir.Value:
    empty = tensor.EmptyOp(shape, value.type).result
    return linalg.fill(value, outs=[empty])


def _downcast(expr):
    return expr.maybe_downcast() if hasattr(expr, "maybe_downcast") else expr


def _dim_position(expr) -> int | None:
    """The loop an affine result reads (`d3` -> 3), None for a constant or anything else."""
    expr = _downcast(expr)
    return expr.position if isinstance(expr, ir.AffineDimExpr) else None


def _constant_value(expr) -> int | None:
    expr = _downcast(expr)
    return expr.value if isinstance(expr, ir.AffineConstantExpr) else None


def _producer(value: ir.Value) -> ir.Operation | None:
    """The op defining `value`, None for a block argument."""
    owner = value.owner
    return None if isinstance(owner, ir.Block) else owner.operation


def _as_reduction(op: ir.Operation) -> _Reduction | None:
    """The op as a splittable reduction, or None (left to the one-thread-per-output strategy)."""
    if op.name != "linalg.generic" or len(op.results) != 1:
        return None
    kinds = _iterator_kinds(op)
    if "reduction" not in kinds:
        return None
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    for amap in maps:
        for expr in amap.results:
            if _dim_position(expr) is None and _constant_value(expr) is None:
                return None
    body = op.regions[0].blocks[0]
    ops = [o.operation for o in body]
    if any(o.name == "linalg.index" for o in ops):
        return None
    acc = body.arguments[len(body.arguments) - 1]
    yielded = ops[-1].operands[0]
    combiner = _producer(yielded)
    if combiner is None or combiner.name not in _NEUTRAL or not any(o == combiner for o in ops):
        return None
    operands = list(combiner.operands)
    if operands.count(acc) != 1 or len(list(acc.uses)) != 1:
        return None
    if isinstance(acc.type, ir.FloatType) != isinstance(_NEUTRAL[combiner.name], float):
        return None
    return _Reduction(op, _loop_ranges(op), kinds, maps, combiner, operands[0] == acc)


def _split_sizes(outputs: int, extent: int) -> tuple[int, int] | None:
    """(chunks P, chunk length C) with P * C >= extent, or None when not worth splitting."""
    if extent < SPLIT_MIN_REDUCTION or outputs >= SPLIT_MAX_OUTPUTS:
        return None
    chunks = max(2, min(math.ceil(extent / SPLIT_MIN_CHUNK), SPLIT_TARGET_THREADS // outputs))
    chunk = math.ceil(extent / chunks)
    for exact in range(chunk, min(2 * chunk, extent) + 1):  # a divisor: no remainder to mask
        if extent % exact == 0:
            return extent // exact, exact
    return math.ceil(extent / chunk), chunk


def _split_reduction(red: _Reduction) -> ir.Operation | None:
    """init (+)= f(x[..., r...]) over reduction loops r (extent N in all) ->
         partial[..., p] = (+)_c f(x[..., delinearize(c * P + p)])   (stage 1: P x outputs threads)
         init (+)= (+)_p partial[..., p]                              (stage 2: P terms per output)
    Loop p is parallel. When P * C > N the last chunk is masked: a thread reads a clamped index
    and keeps its accumulator (`select`), so no padding buffer is needed. Returns stage 2."""
    op = red.op
    n_loops = len(red.ranges)
    parallel = [d for d in range(n_loops) if red.kinds[d] == "parallel"]
    reduced = [d for d in range(n_loops) if red.kinds[d] == "reduction"]
    outputs = math.prod(red.ranges[d] for d in parallel)
    extent = math.prod(red.ranges[d] for d in reduced)
    sizes = _split_sizes(outputs, extent)
    if sizes is None:
        return None
    chunks, chunk = sizes
    masked = chunks * chunk != extent
    # Stage-1 loops: the parallel loops in order, with (c: reduction, p: parallel) where the
    # first reduced loop was.
    first = reduced[0]
    order = [d for d in parallel if d < first] + ["c", "p"] + [d for d in parallel if d > first]
    position = {d: i for i, d in enumerate(order)}
    n1 = len(order)
    dims1 = [ir.AffineDimExpr.get(i) for i in range(n1)]
    element = op.results[0].type.element_type
    inputs = list(op.operands[: len(op.operands) - 1])
    init = op.operands[len(op.operands) - 1]
    out_map = red.maps[-1]
    body = op.regions[0].blocks[0]

    def uses_reduced(amap):
        return any(_dim_position(e) in reduced for e in amap.results)

    def remap(amap, n_dims, where):
        results = []
        for e in amap.results:
            dim = _dim_position(e)
            results.append(e if dim is None else ir.AffineDimExpr.get(where[dim]))
        return ir.AffineMap.get(n_dims, 0, results)

    kept = [i for i, amap in enumerate(red.maps[:-1]) if not uses_reduced(amap)]
    read = [i for i, amap in enumerate(red.maps[:-1]) if uses_reduced(amap)]
    with ir.InsertionPoint(op), op.location:
        neutral = _neutral_constant(red.combiner.name, element)
        partial_shape = [red.ranges[d] if d != "p" else chunks for d in order if d != "c"]
        partial = _filled(partial_shape, neutral)
        window = tensor.EmptyOp([chunk], ir.IntegerType.get_signless(8)).result
        maps1 = [remap(red.maps[i], n1, position) for i in kept]
        maps1.append(ir.AffineMap.get(n1, 0, [dims1[position["c"]]]))
        maps1.append(ir.AffineMap.get(n1, 0, [dims1[position[d]] for d in order if d != "c"]))
        arg_types = [body.arguments[i].type for i in kept]
        arg_types += [ir.IntegerType.get_signless(8), element]
        kinds1 = ["reduction" if d == "c" else "parallel" for d in order]
        stage1, block = _generic(
            [inputs[i] for i in kept] + [window], [partial], maps1, kinds1, arg_types
        )
    with ir.InsertionPoint(block), op.location:
        # linear reduced index g = c * P + p (p innermost: neighbouring threads read
        # neighbouring elements), delinearized row-major over the reduced loops
        g = _arith(
            "arith.addi",
            _arith("arith.muli", _loop_index(position["c"]), _index(chunks)),
            _loop_index(position["p"]),
        )
        valid = None
        if masked:
            valid = _ult(g, _index(extent))
            g = _arith("arith.minui", g, _index(extent - 1))
        loop_value = {d: _loop_index(position[d]) for d in parallel}
        stride = extent
        for d in reduced:
            stride //= red.ranges[d]
            quotient = _arith("arith.divui", g, _index(stride)) if stride > 1 else g
            outermost = d == reduced[0]  # g < extent: the quotient is already in range
            loop_value[d] = (
                quotient if outermost else _arith("arith.remui", quotient, _index(red.ranges[d]))
            )
        replacements = {}
        for i in read:
            indices = []
            for e in red.maps[i].results:
                dim = _dim_position(e)
                indices.append(_index(_constant_value(e)) if dim is None else loop_value[dim])
            replacements[i] = tensor.ExtractOp(inputs[i], indices).result
    for new_index, i in enumerate(kept):
        body.arguments[i].replace_all_uses_with(block.arguments[new_index])
    for i, value in replacements.items():
        body.arguments[i].replace_all_uses_with(value)
    acc = block.arguments[len(block.arguments) - 1]
    body.arguments[len(body.arguments) - 1].replace_all_uses_with(acc)
    _move_body(body, block)
    if masked:
        terminator = block.operations[len(block.operations) - 1]
        with ir.InsertionPoint(terminator), op.location:
            kept_value = _arith("arith.select", valid, terminator.operands[0], acc)
        terminator.operands[0] = kept_value
    # Stage 2: init (+)= partial[..., p] over the loops (parallel..., q).
    n2 = len(parallel) + 1
    where2 = {d: i for i, d in enumerate(parallel)}
    dims2 = [ir.AffineDimExpr.get(i) for i in range(n2)]
    partial_map = [dims2[where2[d]] if d != "p" else dims2[n2 - 1] for d in order if d != "c"]
    with ir.InsertionPoint(op), op.location:
        stage2, block2 = _generic(
            [stage1.results[0]],
            [init],
            [ir.AffineMap.get(n2, 0, partial_map), remap(out_map, n2, where2)],
            ["parallel"] * len(parallel) + ["reduction"],
            [element, element],
        )
    with ir.InsertionPoint(block2), op.location:
        term, acc2 = block2.arguments
        operands = [acc2, term] if red.acc_first else [term, acc2]
        attrs = {name: red.combiner.attributes[name] for name in red.combiner.attributes}
        combined = ir.Operation.create(
            red.combiner.name, results=[element], operands=operands, attributes=attrs
        ).result
        ir.Operation.create("linalg.yield", operands=[combined])
    op.results[0].replace_all_uses_with(stage2.results[0])
    op.erase()
    return stage2


def _move_body(source: ir.Block, target: ir.Block) -> None:
    """Moves every op of `source` to the end of `target`, in order."""
    for child in list(source):
        child = child.operation
        ops = list(target)
        if ops:
            child.move_after(ops[-1].operation)
        else:
            ir.InsertionPoint(target).insert(child.detach_from_parent())


def split_reductions(module: ir.Module) -> int:
    """Splits every large reduction (see `_split_reduction`) until none is left to split; the
    second stage of a split is itself split when it is still large. Returns how many splits."""
    count = 0
    work = [op for func in _functions(module) for op in _walk(func)]
    while work:
        op = work.pop()
        red = _as_reduction(op)
        if red is None:
            continue
        stage2 = _split_reduction(red)
        if stage2 is not None:
            count += 1
            work.append(stage2)
    return count


# --------------------------------------------------------------------------------------------
# Matmuls whose sizes do not divide the tile: pad to the tile multiple, run the tiled kernel
# --------------------------------------------------------------------------------------------


def _matmul_maps(op: ir.Operation) -> list[ir.AffineMap]:
    """linalg.matmul's maps over (m, n, k); a matmul built without them has the default ones."""
    if "indexing_maps" in op.attributes:
        return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    return [
        ir.AffineMap.get(3, 0, [ir.AffineDimExpr.get(d) for d in dims])
        for dims in ((0, 2), (2, 1), (0, 1))
    ]


def _matmul_sizes(op: ir.Operation) -> tuple[int, int, int] | None:
    """(M, N, K) of a linalg.matmul on static f32/f64 operands, else None."""
    if op.name != "linalg.matmul":
        return None
    types = [ir.ShapedType(v.type) for v in op.operands]
    if not all(t.has_static_shape for t in types):
        return None
    if not all(str(t.element_type) in MATMUL_ELEMENT_TYPES for t in types):
        return None
    if len({str(t.element_type) for t in types}) != 1:
        return None
    ranges = [0, 0, 0]
    for operand, amap in zip(op.operands, _matmul_maps(op)):
        for size, expr in zip(ir.ShapedType(operand.type).shape, amap.results):
            ranges[_dim_position(expr)] = size
    m, n, k = ranges
    return m, n, k


def _tile_multiple(size: int, tile: int) -> int:
    return -(-size // tile) * tile


def _pad_to(value: ir.Value, shape: list[int]) -> ir.Value:
    """A linalg.generic writing `value` into the top-left corner of a zero tensor of `shape`:
    out[i, j] = (i < rows and j < cols) ? value[min(i, rows-1), min(j, cols-1)] : 0."""
    source = ir.RankedTensorType(value.type)
    element = source.element_type
    out = tensor.EmptyOp(shape, element).result
    identity = ir.AffineMap.get_identity(len(shape))
    op, block = _generic([], [out], [identity], ["parallel"] * len(shape), [element])
    with ir.InsertionPoint(block):
        valid, indices = None, []
        for dim, size in enumerate(source.shape):
            index = _loop_index(dim)
            if size != shape[dim]:
                inside = _ult(index, _index(size))
                valid = inside if valid is None else _arith("arith.andi", valid, inside)
                index = _arith("arith.minui", index, _index(size - 1))
            indices.append(index)
        loaded = tensor.ExtractOp(value, indices).result
        if valid is not None:
            zero = _constant(ir.FloatAttr.get(element, 0.0))
            loaded = _arith("arith.select", valid, loaded, zero)
        ir.Operation.create("linalg.yield", operands=[loaded])
    return op.results[0]


def _crop_to(value: ir.Value, shape: list[int]) -> ir.Value:
    """A linalg.generic reading the top-left `shape` corner of `value`."""
    element = ir.RankedTensorType(value.type).element_type
    out = tensor.EmptyOp(shape, element).result
    identity = ir.AffineMap.get_identity(len(shape))
    op, block = _generic([], [out], [identity], ["parallel"] * len(shape), [element])
    with ir.InsertionPoint(block):
        indices = [_loop_index(dim) for dim in range(len(shape))]
        ir.Operation.create("linalg.yield", operands=[tensor.ExtractOp(value, indices).result])
    return op.results[0]


def _pad_matmul(op: ir.Operation) -> bool:
    """C = A @ B with M, N, K not multiples of the tile -> pad A, B (zeros) and C's initial
    value to the tile multiples, run the tiled matmul on them, crop the result. Zero rows and
    columns of K add nothing, so the cropped result is exact. A zero-filled C is filled at the
    padded size directly. Small products (less than one tile of work) are left alone."""
    sizes = _matmul_sizes(op)
    if sizes is None:
        return False
    m, n, k = sizes
    tile = {0: MATMUL_TILE_M, 1: MATMUL_TILE_N, 2: MATMUL_TILE_K}
    if m % tile[0] == 0 and n % tile[1] == 0 and k % tile[2] == 0:
        return False
    if m * n * k < MATMUL_TILE_M * MATMUL_TILE_N * MATMUL_TILE_K:
        return False
    maps = _matmul_maps(op)
    with ir.InsertionPoint(op), op.location:
        padded = []
        for operand, amap in zip(op.operands, maps):
            shape = [
                _tile_multiple(size, tile[_dim_position(e)])
                for size, e in zip(ir.ShapedType(operand.type).shape, amap.results)
            ]
            if shape == list(ir.ShapedType(operand.type).shape):
                padded.append(operand)
                continue
            producer = _producer(operand)
            if producer is not None and producer.name == "linalg.fill" and amap == maps[-1]:
                padded.append(_filled(shape, producer.operands[0]))
            else:
                padded.append(_pad_to(operand, shape))
        result = linalg.matmul(padded[0], padded[1], outs=[padded[2]], indexing_maps=maps)
        cropped = _crop_to(result, list(ir.ShapedType(op.results[0].type).shape))
    op.results[0].replace_all_uses_with(cropped)
    op.erase()
    return True


def pad_matmuls(module: ir.Module) -> int:
    """Pads every matmul that `_pad_matmul` accepts; returns how many."""
    matmuls = [
        op for func in _functions(module) for op in _walk(func) if op.name == "linalg.matmul"
    ]
    return sum(_pad_matmul(op) for op in matmuls)


def rewrite_for_gpu(module: ir.Module) -> dict[str, int]:
    """Stage 0 (linalg on tensors -> linalg on tensors, which the CPU back end runs too, so tests
    check its numerics there): split large reductions, pad odd-sized matmuls to the tile.
    Returns how many of each it rewrote."""
    with module.context, ir.Location.unknown():
        done = {"split_reductions": split_reductions(module), "padded_matmuls": pad_matmuls(module)}
        _run(module, pass_pipelines.GPU_AFTER_REWRITE)
    return done


# --------------------------------------------------------------------------------------------
# Stage 1: bufferize to destination-passing memrefs
# --------------------------------------------------------------------------------------------


def bufferize(module: ir.Module) -> None:
    """Tensors -> memrefs; results become out-params (`cellc.num_results` keeps the count)."""
    i64 = ir.IntegerType.get_signless(64, module.context)
    for func in _functions(module):
        results = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value).results
        func.attributes["cellc.num_results"] = ir.IntegerAttr.get(i64, len(results))
    mark_arguments_read_only(module)
    _run(module, pass_pipelines.GPU_BUFFERIZE)


# --------------------------------------------------------------------------------------------
# Stage 2: choose a strategy per linalg op and tile it onto blocks and threads
# --------------------------------------------------------------------------------------------


def _is_fast_matmul(op: ir.Operation) -> bool:
    """A linalg.matmul (any operand maps) on f32 or f64 whose M, N, K divide the tile."""
    sizes = _matmul_sizes(op)
    if sizes is None:
        return False
    m, n, k = sizes
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
            is_linalg = _is_structured(op)
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
    rewrite_for_gpu(module)
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
