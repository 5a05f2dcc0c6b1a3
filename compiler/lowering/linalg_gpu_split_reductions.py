"""`gpu-split-reductions`: large reductions -> a parallel first stage and a small second one.

Contract
--------
Lowers: every linalg.generic on static tensors with one result, a body ending in a known
combiner (addf, mulf, max/min, addi, muli, bitwise; `acc` used once) and no `linalg.index`,
that reduces N >= 256 elements into fewer than 8192 outputs (with more, one thread per output
already fills the GPU), unless it reads along the reduction (its innermost index is reduced)
into outputs x 256 >= 65536 threads (then one block per output is better: rows are read
coalesced, in one launch). It becomes
    stage 1: partial[..., p] (+)= f(x[..., g]), g = c * P + p over the reduced loops (merged
             into one), p parallel, c the serial chunk of C >= 32 elements; P x outputs <= 65536
             threads; neighbouring threads read neighbouring elements (g: p innermost);
    stage 2: init (+)= sum_p partial[..., p] (P terms per output), not split again: after
             bufferization, `convert-linalg-to-gpu-block-reductions` gives each output one
             block whose threads combine the P terms in a tree.
Float sums are reassociated (chunked order): results differ from a serial sum in the last bits.

Assumes: linalg on tensors with static shapes (the output of `convert-ms-to-linalg`).

Leaves: linalg on tensors (which the CPU back end runs too: tests/gpu/test_gpu_rewrites_on_cpu.py
checks the numerics there). Nothing is illegal after it; reductions it does not accept (several
results, `linalg.index`, no recognized combiner such as argmax) stay as they are.

Upstream and hand-written
-------------------------
When the reduction has ONE reduced loop and P divides N, this is upstream's
`transform.structured.split_reduction {split_factor = P, inner_parallel}` (the input is read
through a `tensor.expand_shape` to [..., N / P, P, ...]). Two cases it refuses (it fails to
apply), tried on tests/gpu/cases.py, are rewritten here by hand (`_split_by_hand`):
  * N with no divisor near the chunk size (sum_prime: 100003, column_sum: 3001 rows):
    upstream requires `N % split_factor == 0`;
    padding the input to a multiple first (`transform.structured.pad`) would copy it. Here the
    last chunk reads a clamped index and keeps its accumulator (`arith.select`): no copy.
  * several reduced loops (sum_squares_2d, the full sum of reduce_sum): upstream splits exactly
    one reduction dimension. Here they are merged into one linear index g, delinearized.
The hand-written stage 1 reads the reduced inputs with `tensor.extract` at computed indices (a
shape-only `tensor<Cxi8>` operand gives the c loop its range, as pooling windows do).
`transform.structured.tile_reduction_using_forall` would handle a remainder, but it gives each
thread a contiguous chunk (uncoalesced reads) and leaves an `scf.forall` on tensors, which the
CPU back end (the numeric check) does not run.
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import tensor

from cellc.compiler import pass_pipelines

from .gpu_ir import (
    Reduction,
    apply_transform,
    arith_op,
    as_reduction,
    constant_value,
    dim_position,
    filled,
    functions,
    index_constant,
    loop_index,
    neutral_constant,
    new_generic,
    run_pipeline,
    unsigned_less,
    walk,
)
from .linalg_to_gpu_block_reductions import BLOCK_REDUCE_MAX_THREADS

# A reduction is split when its reduced extent is at least this and it has fewer outputs than
# SPLIT_MAX_OUTPUTS (with more, one thread per output already fills the GPU).
SPLIT_MIN_REDUCTION = 256
SPLIT_MAX_OUTPUTS = 8192
# outputs x partial results of the first stage: a quarter of the threads an H100/H200 holds
# at once (132 SMs x 2048), enough loads in flight for a memory-bound first stage; the second
# stage (at most this many terms) is one block per output.
SPLIT_TARGET_THREADS = 65536
SPLIT_MIN_CHUNK = 32  # elements each thread of the first stage reduces serially (at least)


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


def _split(module: ir.Module, red: Reduction) -> ir.Operation | None:
    """Splits `red` (stage 1 + stage 2, see the header) upstream when it can, else by hand.
    Returns stage 2, None when the reduction is too small (or has too many outputs)."""
    parallel = [d for d, kind in enumerate(red.kinds) if kind == "parallel"]
    reduced = [d for d, kind in enumerate(red.kinds) if kind == "reduction"]
    outputs = math.prod(red.ranges[d] for d in parallel)
    extent = math.prod(red.ranges[d] for d in reduced)
    if red.reads_along_reduction() and outputs * BLOCK_REDUCE_MAX_THREADS >= SPLIT_TARGET_THREADS:
        return None  # one block per output already runs as many threads, reading coalesced
    sizes = _split_sizes(outputs, extent)
    if sizes is None:
        return None
    chunks, chunk = sizes
    projected = all(dim_position(e) is not None for amap in red.maps for e in amap.results)
    if len(reduced) == 1 and chunks * chunk == extent and projected:
        return _split_upstream(module, red, chunks, sum(1 for d in parallel if d < reduced[0]))
    return _split_by_hand(red, parallel, reduced, chunks, chunk)


def _split_upstream(
    module: ir.Module, red: Reduction, chunks: int, split_dimension: int
) -> ir.Operation:
    """`transform.structured.split_reduction`, p the inner (parallel) half of the reduced loop:
    g = c * P + p, as by hand. Returns stage 2 (the combining op), found by its tag."""
    red.op.attributes["cellc.split"] = ir.UnitAttr.get()
    any_op = "!transform.any_op"
    apply_transform(
        module,
        f'    %op = transform.structured.match attributes{{"cellc.split"}} in %root'
        f" : ({any_op}) -> {any_op}\n"
        f"    %init, %fill, %stage1, %stage2 = transform.structured.split_reduction %op"
        f" {{split_factor = {chunks}, insert_split_dimension = {split_dimension}, inner_parallel}}"
        f" : ({any_op}) -> ({any_op}, {any_op}, {any_op}, {any_op})\n"
        f'    transform.annotate %stage2 "cellc.split_stage2" : {any_op}\n',
    )
    stage2 = next(op for func in functions(module) for op in walk(func) if _is_stage2(op))
    del stage2.attributes["cellc.split_stage2"]
    return stage2


def _is_stage2(op: ir.Operation) -> bool:
    return "cellc.split_stage2" in op.attributes


def _split_by_hand(
    red: Reduction, parallel: list[int], reduced: list[int], chunks: int, chunk: int
) -> ir.Operation:
    """init (+)= f(x[..., r...]) over reduction loops r (extent N in all) ->
         partial[..., p] = (+)_c f(x[..., delinearize(c * P + p)])   (stage 1: P x outputs threads)
         init (+)= (+)_p partial[..., p]                              (stage 2: P terms per output)
    Loop p is parallel. When P * C > N the last chunk is masked: a thread reads a clamped index
    and keeps its accumulator (`select`), so no padding buffer is needed. Returns stage 2."""
    op = red.op
    extent = math.prod(red.ranges[d] for d in reduced)
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
        return any(dim_position(e) in reduced for e in amap.results)

    def remap(amap, n_dims, where):
        results = []
        for e in amap.results:
            dim = dim_position(e)
            results.append(e if dim is None else ir.AffineDimExpr.get(where[dim]))
        return ir.AffineMap.get(n_dims, 0, results)

    kept = [i for i, amap in enumerate(red.maps[:-1]) if not uses_reduced(amap)]
    read = [i for i, amap in enumerate(red.maps[:-1]) if uses_reduced(amap)]
    with ir.InsertionPoint(op), op.location:
        neutral = neutral_constant(red.combiner.name, element)
        partial_shape = [red.ranges[d] if d != "p" else chunks for d in order if d != "c"]
        partial = filled(partial_shape, neutral)
        window = tensor.EmptyOp([chunk], ir.IntegerType.get_signless(8)).result
        maps1 = [remap(red.maps[i], n1, position) for i in kept]
        maps1.append(ir.AffineMap.get(n1, 0, [dims1[position["c"]]]))
        maps1.append(ir.AffineMap.get(n1, 0, [dims1[position[d]] for d in order if d != "c"]))
        arg_types = [body.arguments[i].type for i in kept]
        arg_types += [ir.IntegerType.get_signless(8), element]
        kinds1 = ["reduction" if d == "c" else "parallel" for d in order]
        stage1, block = new_generic(
            [inputs[i] for i in kept] + [window], [partial], maps1, kinds1, arg_types
        )
    with ir.InsertionPoint(block), op.location:
        # linear reduced index g = c * P + p (p innermost: neighbouring threads read
        # neighbouring elements), delinearized row-major over the reduced loops
        g = arith_op(
            "arith.addi",
            arith_op("arith.muli", loop_index(position["c"]), index_constant(chunks)),
            loop_index(position["p"]),
        )
        valid = None
        if masked:
            valid = unsigned_less(g, index_constant(extent))
            g = arith_op("arith.minui", g, index_constant(extent - 1))
        loop_value = {d: loop_index(position[d]) for d in parallel}
        stride = extent
        for d in reduced:
            stride //= red.ranges[d]
            quotient = arith_op("arith.divui", g, index_constant(stride)) if stride > 1 else g
            outermost = d == reduced[0]  # g < extent: the quotient is already in range
            loop_value[d] = (
                quotient
                if outermost
                else arith_op("arith.remui", quotient, index_constant(red.ranges[d]))
            )
        replacements = {}
        for i in read:
            indices = []
            for e in red.maps[i].results:
                dim = dim_position(e)
                indices.append(
                    index_constant(constant_value(e)) if dim is None else loop_value[dim]
                )
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
            kept_value = arith_op("arith.select", valid, terminator.operands[0], acc)
        terminator.operands[0] = kept_value
    # Stage 2: init (+)= partial[..., p] over the loops (parallel..., q).
    n2 = len(parallel) + 1
    where2 = {d: i for i, d in enumerate(parallel)}
    dims2 = [ir.AffineDimExpr.get(i) for i in range(n2)]
    partial_map = [dims2[where2[d]] if d != "p" else dims2[n2 - 1] for d in order if d != "c"]
    with ir.InsertionPoint(op), op.location:
        stage2, block2 = new_generic(
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
    """Splits large reductions into a parallel partial stage and a small final stage.

    The pass `gpu-split-reductions`: splits every large reduction (see `_split`) once; the
    second stage (at most SPLIT_TARGET_THREADS terms in all) is left to one block per output
    (convert-linalg-to-gpu-block-reductions). Returns how many splits it made."""
    with module.context, ir.Location.unknown():
        count = 0
        for op in [op for func in functions(module) for op in walk(func)]:
            red = as_reduction(op)
            if red is not None and _split(module, red) is not None:
                count += 1
        run_pipeline(module, pass_pipelines.GPU_AFTER_REWRITE)
    return count
