"""The CPU back end's middle: linalg on tensors to the LLVM dialect.

Contract
- Lowers: linalg/tensor/arith/math on tensors and `func.*` (the output of
  `convert-ms-to-linalg`) to the LLVM dialect, through register-tiled, vectorized matmuls
  (`cpu-tile-and-vectorize-matmuls`, MATMUL_SCHEDULE, then VECTOR_LOWERING after bufferizing),
  one-shot bufferization, destination passing at function boundaries, loops for the other
  linalg ops (vectorized later by LLVM), and the LLVM conversions (`pass_pipelines`).
- Assumes: static shapes; every function takes and returns ranked tensors.
- After it, the module is in the LLVM dialect only, and for every function `NAME` it holds
  `llvm.func @NAME(ptr in0, ..., ptr out0, ...)`: bare pointers to contiguous row-major
  buffers, the function's arguments in order, then one per result, written by the callee and
  never aliasing an argument. Private functions get internal linkage (not exported). Each
  exported function's signature is embedded as `@cellc_signature_NAME` (entry_signatures.py).
"""

from __future__ import annotations

import os

from mlir import ir
from mlir.dialects import bufferization, linalg, math, tensor
from mlir.dialects.transform import interpreter
from mlir.passmanager import PassManager

from cellc.compiler import pass_pipelines
from cellc.compiler.ops import linalg_builders as lb
from cellc.compiler.toolchain import VERIFY_EACH_PASS
from cellc.runtime.cpu_levels import CPU_LEVELS, VECTOR_BITS

from .bool_tensors_to_i8 import convert_bool_tensors_to_i8
from .col2im_taps import col2im_by_taps
from .distinct_results import copy_repeated_results, empty_results_whole
from .dynamic_entry_abi import bare_dynamic_entries
from .entry_signatures import embed_entry_signatures, entry_signatures
from .gathered_blocks import (
    FUSE_ATTR,
    GATHERED_ATTR,
    panels_fitting_gather,
    slice_gathers_in_blocks,
)
from .lane_reductions import reduce_in_lanes
from .llvm_to_object import DEFAULT_CPU
from .loop_nests import outline_loop_nests
from .ms_to_linalg import LoweringError
from .nominal_sizes import size_at_batch
from .packed_matmuls import (
    PACKED_ATTR,
    elementwise_consumers,
    matmuls_of_panels,
    pack_right_operands,
    register_tile_width,
    transposed_copy,
    unshared_fill,
)
from .pad_copies import pads_to_copies
from .parallel_guards import guard, mark_guarded_foralls
from .parallel_loops import (
    PARALLEL_ATTR,
    define_parallel_dispatchers,
    has_identity_layout,
    loop_ranges,
    ops_named,
    outline_parallel_loops,
)
from .ragged_tiles import specialize_ragged_rows
from .read_only_arguments import mark_arguments_read_only
from .scatter_adds import scatter_adds

# Matrix products on the CPU, on tensors (before bufferizing): every linalg.matmul (transposed
# operands included) is tiled to register tiles of MT x NT outputs (NT = two SIMD vectors, MT = 6
# rows: 12 accumulators, one row of B and one broadcast of A fit in the 16 (32) vector registers),
# with the reduction innermost, one k at a time. The partial tiles at the right and bottom edges
# are peeled into their own loops, so every full tile has a static shape and vectorizes without
# masks (a partial one of static size too; one of a dynamic number of rows, at a dynamic batch,
# row by row: each row is a static 1 x NT tile, REGISTER_SCHEDULE). The tile becomes a
# vector.contract of an MT x 1 column of A and a 1 x NT row of B; the MT x NT accumulator is
# read once before the k loop and written once after it (hoisted), so that the loop body is MT
# broadcasts, NT / lanes loads and MT * NT / lanes FMAs (VECTOR_LOWERING).
#
# A large matmul (CACHE_TILED_MACS multiply-adds or more) is first cut into cache blocks: an
# `scf.forall` over MC x NC blocks of the result, each block a loop over KC-deep slices of the
# reduction, so that a KC x NT panel of B stays in L1 and a block's MC x KC slice of A in L2
# while the register tiles sweep them (GotoBLAS's loop order). Where the shapes allow, B is first
# packed into panels of one register tile's width (packed_matmuls.py, PANEL_SCHEDULE): each block
# is then computed one panel at a time, over the whole reduction (up to PANEL_DEPTH).
# The blocks write disjoint parts of the result, so the forall is marked `cellc.parallel` and
# `cpu-outline-parallel-loops` runs it on the thread pool (parallel_loops.py). When the large
# matmul's only user is an elementwise generic of its shape (a bias-add, a gradient's mask or
# scale; or a chain of them, each the only user of the one before, as a bias-add then a ReLU),
# the blocks are the last generic's (EPILOGUE_SCHEDULE): the chain, the matmul and its zero
# fill are fused into them, so each block's product is consumed while it is still in cache,
# and neither the product nor the fill makes a pass over memory of its own.
# One script tiles every class of matmul (a section each: `@TAG`, `@MT`, `@NT`, `@OUTER` are
# filled in per element type and size class) and canonicalizes; one more cuts the reductions,
# vectorizes and hoists, once for all of them (REGISTER_SCHEDULE; a LeNet step has four classes,
# and a script per class ran those whole-module steps four times: 150 -> 80 ms of its compile).
# The functions canonicalized, tiling's leftovers folded (and `%funcs` kept for later steps).
_CANONICALIZE = """
    %funcs = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.canonicalization
      transform.apply_patterns.linalg.tiling_canonicalization
    } : !transform.any_op
"""
MATMUL_SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
@SECTIONS
@CANONICALIZE
    transform.yield
  }
}
""".replace("@CANONICALIZE\n", _CANONICALIZE.lstrip("\n"))
# After MATMUL_SCHEDULE, the tiles of a dynamic number of rows (fewer than MT: at a dynamic
# batch, or in the last cache block of a static one) are tagged `@RAGGED` (`_tag_ragged_tiles`);
# those with a deep reduction switch on their row count to a static tile of each count
# (ragged_tiles.py), and this script cuts the rest (and the switches' defaults) into rows, each
# a static 1 x NT tile; then it cuts every tile's reduction into steps of one k and vectorizes
# it, the accumulators hoisted out of the k loop. (Cut into rows inside the k loop instead, a
# 4-row tail kept its accumulators in memory: the small MLP's first matmul at a dynamic batch
# of 64 took 18% more samples than the static one. Peeling the tail into tiles of 4, 2 and 1
# rows does not give static tiles: the peeled 4-row loop's `affine.min` depends on the enclosing
# remainder loop's induction variable, and neither the peeling nor scf's loop canonicalization
# proves it static; hence the switch.)
REGISTER_SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %ragged = transform.structured.match ops{["linalg.matmul"]} attributes{@RAGGED} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %ragged : !transform.any_op {
    ^bb0(%tail: !transform.any_op):
      %rows, %loop = transform.structured.tile_using_for %tail tile_sizes [1, 0, 0]
          : (!transform.any_op) -> (!transform.any_op, !transform.op<"scf.for">)
    }
@CANONICALIZE
    %tiles = transform.structured.match ops{["linalg.matmul"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %tiles : !transform.any_op {
    ^bb0(%tile: !transform.any_op):
      transform.sequence %tile : !transform.any_op failures(suppress) {
      ^bb1(%full: !transform.any_op):
        %step, %ks = transform.structured.tile_using_for %full tile_sizes [0, 0, 1]
            : (!transform.any_op) -> (!transform.any_op, !transform.op<"scf.for">)
        transform.structured.vectorize %step : !transform.any_op
      }
    }
    transform.apply_patterns to %funcs {
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    %loops = transform.structured.match ops{["scf.for"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %loops : !transform.any_op {
    ^bb0(%loop: !transform.any_op):
      transform.loop.hoist_loop_invariant_subsets %loop : !transform.any_op
    }
    transform.yield
  }
}
""".replace("@CANONICALIZE\n", _CANONICALIZE.lstrip("\n"))
_RAGGED_TAG = "cellc.ragged"

# A class's section of MATMUL_SCHEDULE: its matmuls tiled, the edges peeled.
_MATMUL_CLASS = """
    %matmuls@K = transform.structured.match ops{["linalg.matmul"]} attributes{@TAG} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %matmuls@K : !transform.any_op {
    ^bb0(%matmul: !transform.any_op):
@OUTER
      %tile, %rows, %cols = transform.structured.tile_using_for %block tile_sizes [@MT, @NT, 0]
          : (!transform.any_op)
          -> (!transform.any_op, !transform.op<"scf.for">, !transform.op<"scf.for">)
      // Peeling fails (harmlessly) when the tile size divides the dimension.
      transform.sequence %cols : !transform.op<"scf.for"> failures(suppress) {
      ^bb1(%loop: !transform.op<"scf.for">):
        %full, %partial = transform.loop.peel %loop
            : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
      }
      transform.sequence %rows : !transform.op<"scf.for"> failures(suppress) {
      ^bb1(%loop: !transform.op<"scf.for">):
        %full, %partial = transform.loop.peel %loop
            : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
      }
    }"""

# After bufferizing: the vector.contract of each micro-kernel becomes outer products and those
# FMAs on 1-D vectors (one per accumulator row); transfers become 1-D loads and stores.
# (Kept in two pattern sets: the shape_cast lowering patterns crash this MLIR when they run
# together with the contraction lowering; convert-vector-to-llvm lowers what is left.)
VECTOR_LOWERING = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %funcs = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
    } : !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.vector.transfer_permutation_patterns
    } : !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.vector.lower_transpose lowering_strategy = "shuffle_1d"
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
      transform.apply_patterns.vector.lower_broadcast
    } : !transform.any_op
    transform.yield
  }
}
"""

# The outer levels of MATMUL_SCHEDULE: a small matmul is register-tiled as it is; a large one is
# first cut into MC x NC blocks (a parallel scf.forall; `@FILL`: _ZEROED's fill fused into it)
# and KC-deep slices of its reduction.
_REGISTER_ONLY = """
      %block = transform.cast %matmul : !transform.any_op to !transform.any_op"""
_CACHE_BLOCKS = """
      %blocks, %forall = transform.structured.tile_using_forall %matmul tile_sizes [@MC, @NC]
          : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
      transform.annotate %forall "cellc.parallel" : !transform.any_op@FILL
      %block, %slices = transform.structured.tile_using_for %blocks tile_sizes [0, 0, @KC]
          : (!transform.any_op) -> (!transform.any_op, !transform.op<"scf.for">)
      transform.annotate %slices "cellc.fma" : !transform.op<"scf.for">"""
# A matmul of many cache blocks: each parallel task is a panel of @MR rows (several MC blocks)
# by NC columns, and inside it the KC slices are the outer loop, the MC blocks the inner one, so
# a KC x NC slice of B (256 KiB) is read from L3 once per panel and swept by every block of A
# below it from L2, instead of once per block (2048^3 on 2 cores, 8 alternating runs: 138 ->
# 125 ms median; 1024^3: 17.9 -> 16.7 ms, on a loaded machine).
_CACHE_PANELS = (
    _CACHE_BLOCKS.replace("[@MC, @NC]", "[@MR, @NC]").replace("%block, %slices", "%panel, %slices")
    + """
      %block, %rows_of_blocks = transform.structured.tile_using_for %panel tile_sizes [@MC, 0, 0]
          : (!transform.any_op) -> (!transform.any_op, !transform.op<"scf.for">)"""
)
# A cached matmul whose accumulator is a zero fill used by nothing else (_ZEROED) fills its own
# block (or panel) of it, just before its first KC slice accumulates there: the fill runs in
# parallel and the first slice's loads of the block hit L2, where a fill of the whole result
# beforehand was a serial pass over memory and left the blocks to be read back from memory
# (sgemm 1024^3 on 2 cores, 15 alternating runs: 12.0 -> 11.7 ms median, within the noise).
_ZERO_FILL = """
      %fill = transform.get_producer_of_operand %matmul[2]
          : (!transform.any_op) -> !transform.any_op"""
_FUSE_FILL = """
      %filled, %filled_forall = transform.structured.fuse_into_containing_op %fill into %forall
          : (!transform.any_op, !transform.any_op) -> (!transform.any_op, !transform.any_op)"""
# Blocks per panel: at most MAX_PANEL, and few enough that each thread of the compiling machine
# gets TASKS_PER_THREAD tasks or more (the thread pool balances them).
MAX_PANEL = 8
TASKS_PER_THREAD = 4

# A large matmul already fused into its consumer's blocks: its reduction is cut into slices.
_FUSED_BLOCK = """
      %block, %slices = transform.structured.tile_using_for %matmul tile_sizes [0, 0, @KC]
          : (!transform.any_op) -> (!transform.any_op, !transform.op<"scf.for">)
      transform.annotate %slices "cellc.fma" : !transform.op<"scf.for">"""

# A transform script made of sections (EPILOGUE_SCHEDULE, TILE_SCHEDULE), one per class of ops.
SECTIONS_SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
@SECTIONS
    transform.yield
  }
}
"""

# A packed product (packed_matmuls.py, a generic over (m, panel, n, k)) is cut into blocks of
# MC rows by NC / NT panels, a parallel forall (its zero fill fused into it; a fused one is in
# its epilogue's blocks already), each block into PANEL_DEPTH-deep slices of the reduction and
# each slice into one panel at a time (both loops `cellc.fma`), which matmuls_of_panels makes a
# linalg.matmul of the block's rows by the panel: MATMUL_SCHEDULE then tiles it into register
# tiles as any small matmul (_REGISTER_ONLY).
PANEL_SCHEDULE = SECTIONS_SCHEDULE
_PANEL_CLASS = """
    %packed@K = transform.structured.match attributes{@TAG} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %packed@K : !transform.any_op {
    ^bb0(%matmul: !transform.any_op):
@OUTER
      %sliced, %slices = transform.structured.tile_using_for %blocks tile_sizes [0, 0, 0, @KC]
          : (!transform.any_op) -> (!transform.any_op, !transform.op<"scf.for">)
      transform.annotate %slices "cellc.fma" : !transform.op<"scf.for">
      %panel, %panels = transform.structured.tile_using_for %sliced tile_sizes [0, 1]
          : (!transform.any_op) -> (!transform.any_op, !transform.op<"scf.for">)
      transform.annotate %panels "cellc.fma" : !transform.op<"scf.for">
    }"""
# A packed product's reduction is cut into slices only beyond this depth: its panel is read
# contiguously, and every slice reads and writes the register tile's accumulators once more
# (sgemm 256x1024x1024 on one core, 7 alternating rounds: 69, 72, 73 GFLOP/s at 256, 512, 1024).
PANEL_DEPTH = 1024
# A packed product of at most PANEL_ROWS rows is cut into blocks of all its rows (a dynamic
# batch of rows into blocks of PANEL_ROWS; a fused product's epilogue blocks too,
# EPILOGUE_SCHEDULE), a few panels wide (_panels_per_block),
# and the copy of B into panels is fused into the blocks (@PACK_OF, @PACK_INTO): each block
# packs its own panels, once, and reads them back from cache right away, instead of a pass over
# all of B before the blocks (written to memory, then read back by every block of rows).
# Measured in one process, 7 alternating rounds, 2 threads, against blocks of 96 rows and the
# pack before them: sgemm 256x1024x1024 3.01 -> 2.67 ms; with B transposed 3.05 -> 2.75;
# 128 rows 1.71 -> 1.38; a 64 x 576 x 2048 (a convolution's shape, B not gathered) 1.13 ->
# 0.95; the MLP gradient of bench_cpu.py 14.3 -> 13.8. More rows would pack each panel once per
# block of rows: 2048^3 took 82 -> 86 ms at blocks of 256 rows.
PANEL_ROWS = 256
_PACK_OF = """
      %pack = transform.get_producer_of_operand %matmul[1]
          : (!transform.any_op) -> !transform.any_op"""
_PACK_INTO = """
      %block_packs, %packed_forall = transform.structured.fuse_into_containing_op %pack
          into %forall : (!transform.any_op, !transform.any_op)
          -> (!transform.any_op, !transform.any_op)"""
# A gather of B's panels that the blocks slice (gathered_blocks.py) is fused into them: each
# block gathers its own panels.
GATHER_SCHEDULE = f"""
module attributes {{transform.with_named_sequence}} {{
  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}}) {{
    %gathers = transform.structured.match attributes{{{FUSE_ATTR}}} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %gathers : !transform.any_op {{
    ^bb0(%gather: !transform.any_op):
      %slices = transform.get_consumers_of_result %gather[0]
          : (!transform.any_op) -> !transform.any_op
      %blocks = transform.get_parent_op %slices {{op_name = "scf.forall", deduplicate}}
          : (!transform.any_op) -> !transform.any_op
      %fused, %loop = transform.structured.fuse_into_containing_op %gather into %blocks
          : (!transform.any_op, !transform.any_op) -> (!transform.any_op, !transform.any_op)
    }}
    transform.yield
  }}
}}
"""
_PANEL_IN_BLOCK = _REGISTER_ONLY.replace("%block ", "%blocks ")  # fused: in its epilogue's block
_PANEL_BLOCKS = """@PACK_OF
      %blocks, %forall = transform.structured.tile_using_forall %matmul tile_sizes [@MC, @NP]
          : (!transform.any_op) -> (!transform.any_op, !transform.any_op)@PACK_INTO
      transform.annotate %forall "cellc.parallel" : !transform.any_op@FILL"""

# One section per large matmul with elementwise consumers: the last consumer's MC x NC blocks
# are a parallel forall into which the other consumers, the matmul, then its zero fill, are
# fused (`@FUSE`: one fuse_into_containing_op each, consumers before producers).
EPILOGUE_SCHEDULE = SECTIONS_SCHEDULE
_EPILOGUE_SECTION = """
    %last@K = transform.structured.match attributes{@LAST} in %root
        : (!transform.any_op) -> !transform.any_op
    %blocks@K, %loop@K_0 = transform.structured.tile_using_forall %last@K
        tile_sizes [@MC, @NC] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.annotate %loop@K_0 "cellc.parallel" : !transform.any_op
@FUSE"""
_EPILOGUE_FUSE = """
    %op@K_@I = transform.structured.match attributes{@STEP} in %root
        : (!transform.any_op) -> !transform.any_op@PACK
    %fused@K_@I, %loop@K_@I = transform.structured.fuse_into_containing_op %op@K_@I
        into %loop@K_@J : (!transform.any_op, !transform.any_op)
        -> (!transform.any_op, !transform.any_op)"""
# A matmul packed in its blocks (_PACKED_IN_BLOCKS): its pack is fused into them last.
_EPILOGUE_PACK_OF = """
    %pack@K = transform.get_producer_of_operand %op@K_@I[1]
        : (!transform.any_op) -> !transform.any_op"""
_EPILOGUE_PACK_INTO = """
    %packs@K, %packed@K = transform.structured.fuse_into_containing_op %pack@K
        into %loop@K_@I : (!transform.any_op, !transform.any_op)
        -> (!transform.any_op, !transform.any_op)"""
# `cellc.epilogue = N` marks the ops of epilogue N: 0 the last consumer, then the consumers
# before it, the matmul and its fill, in the order they are fused (value N * 64 + position).
_EPILOGUE_TAG = "cellc.epilogue"
_MAX_EPILOGUE = 64

_MICRO_KERNEL_ROWS = 6
# A tile of a dynamic number of rows (fewer than _MICRO_KERNEL_ROWS) with a reduction this deep
# or deeper is specialized to each row count (ragged_tiles.py); a shallower one, cut into rows,
# costs little, and each specialization costs compile time (five more small kernels).
RAGGED_MIN_DEPTH = 64
# Cache blocks (rows, columns, reduction depth) of a large matmul: MC x KC floats of A (96 KiB)
# stay in L2, KC x NT of B (32 KiB for f32) in L1. Measured at 1000^3 and 2048^3 against
# 48/512/128, 192/128/512 and 96/128/128: within 5% of each other, this one best at 1000.
_CACHE_BLOCK = (96, 256, 256)
# From this many multiply-adds (2**21: about 20 µs on one core) a matmul gets cache blocks and
# runs its blocks in parallel; below it, the blocks' bookkeeping and a thread wake-up cost more
# than they save.
CACHE_TILED_MACS = 1 << 21
_TILE_TAG = "cellc.register_tile"


def lower_linalg_to_llvm(module: ir.Module, cpu: str = DEFAULT_CPU) -> None:
    """linalg on tensors -> the LLVM dialect with the bare-pointer ABI (the CPU back end).

    In place: bool tensors stored as bytes (bool_tensors_to_i8.py), col2im gathers summed by
    taps (col2im_taps.py), padding filled and copied (pad_copies.py), scatter-adds looped over
    their indices (scatter_adds.py), elementwise fusion, large
    innermost reductions accumulated in vector lanes (lane_reductions.py), the
    matmul schedule (register tiles for `cpu`'s vector width), a copy of each repeated result
    (distinct_results.py) and a buffer of its own shape for a result returned through a reshape
    (there too), bufferization, the vector lowering, parallel loops outlined into
    tasks (parallel_loops.py), each loop nest into a function (loop_nests.py), the batch size
    of a dynamic-batch entry as its last argument (dynamic_entry_abi.py), then
    `pass_pipelines.LINALG_TO_LOOPS` and `TO_LLVM`, the task dispatchers; last, each exported
    function's signature as a constant string (entry_signatures.py)."""
    _internalize_private_functions(module)
    signatures = entry_signatures(module)
    convert_bool_tensors_to_i8(module)
    col2im_by_taps(module)
    pads_to_copies(module)
    scatter_adds(module)
    # Matmuls are tiled before elementwise fusion: the fusion would otherwise fold a
    # gathering producer (a convolution's im2col) into the matmul, which then is a generic
    # with gathers inside that no schedule vectorizes (a ResNet block ran 60x slower).
    tile_and_vectorize_matmuls(module, cpu)
    tile_transposes(module)
    run_pipeline(module, pass_pipelines.LINALG_FUSION, "linalg-fusion")
    reduce_in_lanes(module)
    tile_parallel_generics(module)
    copy_repeated_results(module)
    empty_results_whole(module)
    mark_arguments_read_only(module)
    _drop_attribute(module, FILL_ATTR)
    run_pipeline(module, f"builtin.module({pass_pipelines.BUFFERIZE})", "bufferize")
    _strided_copies_to_loops(module)
    apply_schedule(module, VECTOR_LOWERING, "vector-lowering")
    if "fma" in CPU_LEVELS.get(cpu, ()):
        _fuse_blocked_multiply_adds(module)
    _retype_empty_arguments(module)
    outline_parallel_loops(module)
    outline_loop_nests(module)
    bare_dynamic_entries(module)
    run_pipeline(
        module,
        f"builtin.module({pass_pipelines.LINALG_TO_LOOPS},{pass_pipelines.TO_LLVM})",
        "linalg-to-llvm",
    )
    define_parallel_dispatchers(module)
    embed_entry_signatures(module, signatures)


def _strided_copies_to_loops(module: ir.Module) -> None:
    """memref.copy between buffers that are not both contiguous -> linalg.copy (loops, later).

    Bufferization copies a tile into a strided view with memref.copy, which the LLVM
    conversion turns into a call to MLIR's runtime library (`memrefCopy`), not linked here;
    a contiguous copy stays a memcpy."""
    with module.context, ir.Location.unknown():
        for op in ops_named(module, "memref.copy"):
            source, target = op.operands
            if all(has_identity_layout(value.type) for value in (source, target)):
                continue
            with ir.InsertionPoint(op), op.location:
                linalg.copy(source, outs=[target])
            op.erase()


FMA_ATTR = "cellc.fma"  # a large matmul's loop over its reduction slices (MATMUL_SCHEDULE)


def _fuse_blocked_multiply_adds(module: ir.Module) -> None:
    """The multiply-adds of the large matmuls' micro-kernels (`vector.fma` inside a
    `cellc.parallel` block or a `cellc.fma` loop of reduction slices) -> `math.fma`: one
    rounding, as BLAS computes them.

    `vector.fma` becomes `llvm.intr.fmuladd`, which the code generator splits into a multiply
    and an add unless CELLC_FP_CONTRACT=fast (toolchain.FP_CONTRACT: small results then print as
    MindSpore's do). A large matmul's kernel would run at 60% of its speed so (two instructions
    in place of one; sgemm 1024^3 on one Zen 4 core: 57 GFLOP/s against OpenBLAS's 91);
    `math.fma` is `llvm.intr.fma`, always fused. The result is as deterministic as before,
    for any thread count. Only for CPU levels with FMA instructions (x86-64-v3 and up): on the
    others `fma` is a call to libm's."""
    with module.context:
        blocks = [
            *(op for op in ops_named(module, "scf.forall") if PARALLEL_ATTR in op.attributes),
            # a large matmul of one block: its loop over reduction slices (canonicalization
            # folded the forall of one iteration away)
            *(op for op in ops_named(module, "scf.for") if FMA_ATTR in op.attributes),
        ]
        for block in blocks:
            for op in ops_named(block, "vector.fma"):
                with ir.InsertionPoint(op), op.location:
                    fused = math.fma(*op.operands)
                op.results[0].replace_all_uses_with(fused)
                op.erase()


def _retype_empty_arguments(module: ir.Module) -> None:
    """Makes a buffer argument with no elements an untyped pointer (`memref<1xi8>`).

    MLIR's bare-pointer calling convention refuses memref types with a zero dimension (the
    function stays unconverted), although such an argument is a pointer like any other. After
    `ms-fold-empty-tensors` nothing reads or writes an empty buffer but copies of nothing,
    which are erased here; the argument is then unused, and any pointer type keeps the ABI."""
    with module.context, ir.Location.unknown():
        for func_op in module.body.operations:
            if func_op.operation.name != "func.func" or not func_op.regions[0].blocks:
                continue
            for op in [op for block in func_op.regions[0].blocks for op in block.operations]:
                if op.operation.name == "memref.copy" and _is_empty(op.operands[0].type):
                    op.operation.erase()
            _retype_unused_empty(func_op.operation)


def _is_empty(type_: ir.Type) -> bool:
    return isinstance(type_, ir.MemRefType) and 0 in type_.shape


def _retype_unused_empty(func_op: ir.Operation) -> None:
    block = func_op.regions[0].blocks[0]
    inputs = []
    for argument in block.arguments:
        if _is_empty(argument.type) and next(iter(argument.uses), None) is None:
            argument.set_type(ir.MemRefType.get([1], ir.IntegerType.get_signless(8)))
        inputs.append(argument.type)
    results = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value).results
    func_op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, results))


def tile_and_vectorize_matmuls(module: ir.Module, cpu: str = DEFAULT_CPU) -> None:
    """Tiles every linalg.matmul into vectorized register tiles for the CPU's vector width.

    The pass `cpu-tile-and-vectorize-matmuls` (linalg on tensors, in place): a transposed
    right operand is copied once into a contiguous (k, n) tensor (O(n^2) for O(n^3) work; read in
    place, its rows would be strided gathers), columns are widened where the tiles do not
    divide them (`_pad_matmul_columns`), a large matmul's elementwise epilogue is fused into its
    parallel blocks (EPILOGUE_SCHEDULE), then every linalg.matmul is tiled, peeled and
    vectorized by MATMUL_SCHEDULE. First, though, a large matmul whose shapes allow it reads B
    packed into panels (packed_matmuls.py): its blocks are cut into one panel at a time
    (PANEL_SCHEDULE), each a matmul that MATMUL_SCHEDULE then tiles; before that, each
    `tensor.dim` of an op's result is computed from its operands' sizes (RESOLVE_DIMS), so
    that a dynamic reshape's size is not one more reader of the gather behind it. Other ops
    are left as they are, but for the epilogues and the packing copies, and each linalg.fill
    numbered (FILL_ATTR, dropped by lower_linalg_to_llvm before bufferizing)."""
    lanes_bits = VECTOR_BITS.get(cpu, 256 if cpu == "native" else 128)
    _number_fills(module)
    # a dynamic size read from a reshape of a gather (tensor.dim) is read from its source's
    # sizes instead, so that the gather's only user is B (`_gathered_in_panels`)
    run_pipeline(module, pass_pipelines.RESOLVE_DIMS, "resolve-dims")
    with module.context, ir.Location.unknown():
        pack_right_operands(
            module,
            lanes_bits,
            CACHE_TILED_MACS,
            _matmul_extent,
            _MAX_EPILOGUE - 2,
        )
    _materialize_transposed_operands(module)
    with module.context:
        _pad_matmul_columns(module, lanes_bits)
        _number_fills(module)  # those of the packed and widened accumulators
        classes = _tag_matmuls(module)
    _fuse_epilogues(module)
    packed = {c for c in classes if c[3]}
    if packed:
        _tile_panels(module, packed, lanes_bits)
        classes -= packed
        with module.context:
            for op in matmuls_of_panels(module):
                bits = ir.ShapedType(op.results[0].type).element_type.width
                _tag(op, _TILE_TAG, _tag_value(bits, _REGISTER))
                classes.add((bits, _REGISTER, 1, False))
    if not classes:
        return
    sections = []
    for index, (bits, mode, panel, _) in enumerate(sorted(classes)):
        tile_cols = register_tile_width(lanes_bits, bits)
        block_rows, block_cols, block_depth = _CACHE_BLOCK
        outer = {_REGISTER: _REGISTER_ONLY, _FUSED: _FUSED_BLOCK}.get(mode, _CACHE_BLOCKS)
        if panel > 1:
            outer = _CACHE_PANELS.replace("@MR", str(panel * block_rows))
        if mode == _ZEROED:
            outer = _ZERO_FILL + outer.replace("@FILL", _FUSE_FILL)
        sections.append(
            _MATMUL_CLASS.replace("@OUTER", outer.replace("@FILL", ""))
            .replace("@TAG", f"{_TILE_TAG} = {_tag_value(bits, mode, panel)} : i64")
            .replace("@MT", str(_MICRO_KERNEL_ROWS))
            .replace("@NT", str(tile_cols))
            .replace("@MC", str(block_rows))
            .replace("@NC", str(block_cols))
            .replace("@KC", str(block_depth))
            .replace("@K", str(index))
        )
    schedule = MATMUL_SCHEDULE.replace("@SECTIONS", "".join(sections))
    apply_schedule(module, schedule, "matmul-schedule")
    _tag_ragged_tiles(module)
    specialize_ragged_rows(module, _MICRO_KERNEL_ROWS, _RAGGED_TAG, RAGGED_MIN_DEPTH)
    schedule = REGISTER_SCHEDULE.replace("@RAGGED", f"{_RAGGED_TAG} = 1 : i64")
    apply_schedule(module, schedule, "register-schedule")
    _drop_attribute(module, _RAGGED_TAG)


def _tag_ragged_tiles(module: ir.Module) -> None:
    """Tags each register tile (a linalg.matmul after MATMUL_SCHEDULE) of a dynamic number of
    rows `_RAGGED_TAG`, for REGISTER_SCHEDULE."""
    with module.context:
        for op in ops_named(module, "linalg.matmul"):
            if ir.ShapedType.is_dynamic_size(ir.ShapedType(op.results[0].type).shape[0]):
                _tag(op, _RAGGED_TAG, 1)


# Large loop nests other than matmuls run in blocks on the thread pool: each planned op is tiled
# by `scf.forall` into blocks (TILE_SCHEDULE, one section per distinct set of block sizes),
# marked `cellc.parallel` when the op is large enough to pay for waking the threads.
# - A transpose that moves the innermost axis is copied in TRANSPOSE_BLOCK x TRANSPOSE_BLOCK
#   blocks of the two axes involved (the output's innermost and the one the input's innermost
#   goes to), so that reads and writes both stay within a few cache lines (a plain loop nest
#   over a 1024^2 transpose took 3.5 ms, writing one cache line per element read; now 0.9 ms).
# - A linalg.generic (elementwise chains after fusion, a convolution's im2col gather, a
#   reduction over some axes) with PARALLEL_ELEMENTS iterations or more is cut along its first
#   parallel axis of two or more iterations into at most MAX_BLOCKS blocks of at least
#   BLOCK_ELEMENTS iterations; the inner axes stay whole, so the loops LLVM vectorizes do not
#   change. A reduction is never split: each output element is computed by one block, in the
#   same order as before, so results do not depend on the thread count.
TILE_SCHEDULE = SECTIONS_SCHEDULE
_TILE_CLASS = """
    %ops@K = transform.structured.match attributes{@TAG} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %ops@K : !transform.any_op {
    ^bb0(%op: !transform.any_op):
      %tiles, %forall = transform.structured.tile_using_forall %op tile_sizes @SIZES
          : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
      @ANNOTATE
@INNER
    }@AFTER"""
# Inside each block of a transpose: TRANSPOSE_CELL x TRANSPOSE_CELL cells, each one vector
# transpose (row loads, shuffles, row stores; VECTOR_LOWERING). The cell loops are peeled so
# that every full cell has a static shape and vectorizes without masks (masked transfers on
# tensors do not bufferize); the partial cells at a ragged edge stay loops.
_TRANSPOSE_CELLS = """
      %cells, @LOOPS = transform.structured.tile_using_for %tiles tile_sizes @CELL
          : (!transform.any_op) -> (!transform.any_op, @LOOP_TYPES)
@PEELS"""
_PEEL = """
      transform.sequence @LOOP : !transform.op<"scf.for"> failures(suppress) {
      ^bb1(%loop: !transform.op<"scf.for">):
        %full, %partial = transform.loop.peel %loop
            : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
      }"""
_VECTORIZE_CELLS = """
    %funcs@K = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs@K {
      transform.apply_patterns.canonicalization
      transform.apply_patterns.linalg.tiling_canonicalization
    } : !transform.any_op
    %cells@K = transform.structured.match attributes{@TAG} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %cells@K : !transform.any_op {
    ^bb0(%cell: !transform.any_op):
      transform.sequence %cell : !transform.any_op failures(suppress) {
      ^bb1(%one: !transform.any_op):
        transform.structured.vectorize %one : !transform.any_op
      }
    }"""
TRANSPOSE_CELL = 8
TRANSPOSE_BLOCK = 64
PARALLEL_ELEMENTS = 1 << 16
BLOCK_ELEMENTS = 1 << 14
MAX_BLOCKS = 64
_BLOCKS_TAG = "cellc.blocks"


def tile_transposes(module: ir.Module) -> None:
    """Cuts every linalg.transpose that moves the innermost axis into square blocks of the two
    axes it swaps (TILE_SCHEDULE), or, when those fit one block and it is large, into blocks
    along an outer axis; and each block into vector-transposed cells (_TRANSPOSE_CELLS); a
    large one's blocks are a `cellc.parallel` forall (which runs serially where a dynamic
    batch is not its outermost axis: cpu-outline-parallel-loops). (A 1024^2 transpose on one
    core: 3.4 ms as loops over the blocks, 0.6 ms in cells.)"""
    plans = []
    with module.context:
        for op in ops_named(module, "linalg.transpose"):
            perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
            rank = len(perm)
            if rank < 2 or _keeps_innermost_axis(op):
                continue
            output = list(ir.ShapedType(op.operands[1].type).shape)
            moved = perm.index(rank - 1)
            swapped = (moved, rank - 1)
            planned = [_planned_size(extent) for extent in output]
            # in a parallel block already (a pack fused into a matmul's blocks): not parallel
            nested = op.parent.name != "func.func"
            large = lb.product(planned) >= PARALLEL_ELEMENTS and not nested
            if max(planned[axis] for axis in swapped) > TRANSPOSE_BLOCK:
                sizes = [TRANSPOSE_BLOCK if axis in swapped else 0 for axis in range(rank)]
            elif large:  # the swapped axes fit one block: blocks along an outer axis instead
                sizes = _blocks_along_first(output, [axis not in swapped for axis in range(rank)])
                if sizes is None:
                    continue
            else:
                continue
            if large:
                guard(op, PARALLEL_ELEMENTS)
            cells = tuple(TRANSPOSE_CELL if axis in swapped else 1 for axis in range(rank))
            plans.append((op, sizes, large, cells))
    _tile_into_blocks(module, plans, "transpose-schedule", inner=_transpose_cells)


def _transpose_cells(cell: tuple[int, ...]) -> tuple[str, str]:
    """The (@INNER, @AFTER) of a transpose's blocks: cells of TRANSPOSE_CELL along the two axes
    it swaps, 1 along the others; their loops peeled, then (after every block is tiled) the
    full cells vectorized."""
    loops = [f"%cell_loop{i}" for i in range(len(cell))]
    inner = (
        _TRANSPOSE_CELLS.replace("@LOOPS", ", ".join(loops))
        .replace("@LOOP_TYPES", ", ".join(['!transform.op<"scf.for">'] * len(cell)))
        .replace("@CELL", str(list(cell)))
        .replace(
            "@PEELS",
            # innermost first: peeling a loop invalidates the handles of the loops inside it
            "".join(
                _PEEL.replace("@LOOP", loop)
                for loop, size in reversed(list(zip(loops, cell)))
                if size > 1
            ),
        )
    )
    return inner, _VECTORIZE_CELLS


def tile_parallel_generics(module: ir.Module) -> None:
    """Cuts every large linalg.generic, linalg.copy (a matmul operand's widening, a result's
    copy, a padded image's interior), linalg.fill or linalg.transpose that keeps the innermost
    axis (a convolution's (C, N, H, W) product into (N, C, H, W); tile_transposes has the
    others) at a function's top level into parallel blocks along its first parallel axis of
    two or more iterations (TILE_SCHEDULE)."""
    plans = []
    with module.context:
        for op in (
            ops_named(module, "linalg.generic")
            + ops_named(module, "linalg.copy")
            + ops_named(module, "linalg.fill")
            + [op for op in ops_named(module, "linalg.transpose") if _keeps_innermost_axis(op)]
        ):
            if op.parent.name != "func.func":
                continue
            sizes = _generic_block_sizes(op)
            if sizes is not None:
                guard(op, PARALLEL_ELEMENTS)
                plans.append((op, sizes, True, None))
    _tile_into_blocks(module, plans, "parallel-generics")


def _generic_block_sizes(op: ir.Operation) -> list[int] | None:
    """Block sizes along the first parallel axis of 2+ iterations, or None (small, or no such
    axis). A dynamic (batch) loop counts as NOMINAL_BATCH iterations; cut along it, the blocks
    are BLOCK_ELEMENTS iterations each, and how many there are depends on the batch."""
    if op.name != "linalg.generic":  # a copy, fill or transpose: a parallel loop per output dim
        ranges = list(ir.ShapedType(op.operands[-1].type).shape)
        kinds = ["parallel"] * len(ranges)
    else:
        ranges = loop_ranges(op)
        if ranges is None:
            return None
        kinds = [str(kind) for kind in op.attributes["iterator_types"]]
    return _blocks_along_first(ranges, ["parallel" in kind for kind in kinds])


def _blocks_along_first(ranges: list[int], eligible: list[bool]) -> list[int] | None:
    """Block sizes along the first eligible axis of 2+ iterations, or None (fewer than
    PARALLEL_ELEMENTS iterations, or no such axis): at most MAX_BLOCKS blocks of at least
    BLOCK_ELEMENTS iterations. A dynamic (batch) loop counts as NOMINAL_BATCH iterations; cut
    along it, the blocks are BLOCK_ELEMENTS iterations each, and how many there are depends on
    the batch."""
    planned = [_planned_size(extent) for extent in ranges]
    total = lb.product(planned)
    if total < PARALLEL_ELEMENTS:
        return None
    for axis, (extent, ok) in enumerate(zip(planned, eligible)):
        if ok and extent >= 2:
            sizes = [0] * len(ranges)
            if ir.ShapedType.is_dynamic_size(ranges[axis]):
                sizes[axis] = max(1, -(-BLOCK_ELEMENTS // (total // extent)))
                return sizes
            blocks = min(extent, MAX_BLOCKS, total // BLOCK_ELEMENTS)
            if blocks < 2:
                return None
            sizes[axis] = -(-extent // blocks)
            return sizes
    return None


def _keeps_innermost_axis(transpose: ir.Operation) -> bool:
    permutation = list(ir.DenseI64ArrayAttr(transpose.attributes["permutation"]))
    return permutation[-1] == len(permutation) - 1


def _tile_into_blocks(module: ir.Module, plans, stage: str, inner=None) -> None:
    """Tiles each planned op (op, block sizes, parallel?, detail) by one scf.forall, in one
    schedule; `inner(detail)` gives what is then done to each block (`%tiles`) and, after all
    of them, to the ops of the class (@INNER, @AFTER of _TILE_CLASS), if anything."""
    if not plans:
        return
    classes: dict[tuple, int] = {}
    with module.context:
        for op, sizes, parallel, detail in plans:
            tag = classes.setdefault((tuple(sizes), parallel, detail), len(classes))
            _tag(op, _BLOCKS_TAG, tag)
    sections = []
    for (sizes, parallel, detail), tag in classes.items():
        inner_text, after_text = inner(detail) if inner else ("", "")
        annotate = 'transform.annotate %forall "cellc.parallel" : !transform.any_op'
        section = (
            _TILE_CLASS.replace("@SIZES", str(list(sizes)))
            .replace("@ANNOTATE", annotate if parallel else "")
            .replace("@INNER", inner_text)
            .replace("@AFTER", after_text)
        )
        sections.append(
            section.replace("@K", str(tag)).replace("@TAG", f"{_BLOCKS_TAG} = {tag} : i64")
        )
    apply_schedule(module, TILE_SCHEDULE.replace("@SECTIONS", "".join(sections)), stage)
    _drop_attribute(module, _BLOCKS_TAG)  # the tiles keep it; a later schedule must not match


# Each linalg.fill is numbered (FILL_ATTR) from the matmul schedule until bufferization, so that
# CSE does not merge two fills of one type (two zeroed accumulators) into one: bufferization
# then gave the one fill's buffer to the first op writing it and a copy of it to each other.
# The MLP gradient of bench_cpu.py filled one 1024x1024 accumulator for both weight gradients,
# copied it (4 MB), and copied one of the results into its out-param after (4 MB); its two
# 256x1024 products shared a fill the same way (1 MB). A fill is cheaper than a copy.
FILL_ATTR = "cellc.fill"


def _number_fills(module: ir.Module) -> None:
    """Gives each linalg.fill not numbered yet a number of its own (FILL_ATTR)."""
    fills = ops_named(module, "linalg.fill")
    taken = [
        ir.IntegerAttr(op.attributes[FILL_ATTR]).value for op in fills if FILL_ATTR in op.attributes
    ]
    number = max(taken, default=-1) + 1
    with module.context:
        for op in fills:
            if FILL_ATTR not in op.attributes:
                _tag(op, FILL_ATTR, number)
                number += 1


def _drop_attribute(module: ir.Module, name: str) -> None:
    def visit(op):
        if name in op.attributes:
            del op.attributes[name]
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)


def apply_schedule(module: ir.Module, schedule: str, stage: str = "schedule") -> None:
    """Applies a transform-dialect script (`@__transform_main`) to `module`."""
    with module.context, ir.Location.unknown():
        script = ir.Module.parse(schedule)
        main = next(
            op
            for op in script.body.operations
            if ir.StringAttr(op.attributes["sym_name"]).value == "__transform_main"
        )
        try:
            interpreter.apply_named_sequence(module, main, script)
        except ir.MLIRError as error:
            raise LoweringError(f"stage '{stage}' failed: {error}") from error
    mark_guarded_foralls(module)


def _tile_panels(
    module: ir.Module, classes: set[tuple[int, int, int, bool]], lanes_bits: int
) -> None:
    """Applies PANEL_SCHEDULE to the packed products of `classes`."""
    block_rows, block_cols, _ = _CACHE_BLOCK
    sections = []
    for index, (bits, mode, panel, packed) in enumerate(sorted(classes)):
        width = register_tile_width(lanes_bits, bits)
        outer = _PANEL_IN_BLOCK if mode == _FUSED else _PANEL_BLOCKS
        if mode == _ZEROED:
            outer = _ZERO_FILL + outer.replace("@FILL", _FUSE_FILL)
        fused = packed == _PACKED_IN_BLOCKS  # (in an epilogue's blocks, EPILOGUE_SCHEDULE's)
        outer = outer.replace("@PACK_OF", _PACK_OF if fused else "").replace(
            "@PACK_INTO", _PACK_INTO if fused else ""
        )
        sections.append(
            _PANEL_CLASS.replace("@OUTER", outer.replace("@FILL", ""))
            .replace("@TAG", f"{_TILE_TAG} = {_tag_value(bits, mode, panel, packed)} : i64")
            .replace("@MC", str(PANEL_ROWS if fused else block_rows))
            .replace("@NP", str(panel if fused else max(1, block_cols // width)))
            .replace("@KC", str(PANEL_DEPTH))
            .replace("@K", str(index))
        )
    apply_schedule(module, PANEL_SCHEDULE.replace("@SECTIONS", "".join(sections)), "panels")
    if slice_gathers_in_blocks(module):
        apply_schedule(module, GATHER_SCHEDULE, "gathers-in-blocks")
    _drop_attribute(module, GATHERED_ATTR)
    _drop_attribute(module, FUSE_ATTR)


def _matmuls(module: ir.Module) -> list[ir.Operation]:
    return ops_named(module, "linalg.matmul")


# How a matmul is tiled (MATMUL_SCHEDULE's @OUTER): register tiles only; cache blocks; cache
# blocks that fill their part of the accumulator first; register tiles of a fused block.
_REGISTER, _CACHED, _ZEROED, _FUSED = range(4)
# Whether a matmul reads B packed (packed_matmuls.py): no; yes; yes, and its blocks are all of
# its rows (PANEL_ROWS or fewer; a dynamic batch's, PANEL_ROWS), each packing its own columns
# of B (PANEL_SCHEDULE).
_UNPACKED, _PACKED, _PACKED_IN_BLOCKS = range(3)


def _tag_matmuls(module: ir.Module) -> set[tuple[int, int, int, bool]]:
    """Marks each linalg.matmul and packed product (packed_matmuls.py) with its class, its
    element bit width and how it is tiled (the schedules match on the tag): register tiles
    only, cache blocks (in panels of how many), or cache blocks of the elementwise consumers
    it is fused into (their chain is marked `cellc.epilogue`); returns the classes seen,
    (bits, mode, panel, packing)."""
    classes = set()
    epilogues = 0
    threads = len(os.sched_getaffinity(0))
    packed = [op for op in ops_named(module, "linalg.generic") if PACKED_ATTR in op.attributes]
    for op in _matmuls(module) + packed:
        result = ir.ShapedType(op.results[0].type)
        bits = result.element_type.width
        lhs_transposed = "indexing_maps" in op.attributes and _lhs_transposed(op)
        depth = _matmul_extent(op.operands[0], 0 if lhs_transposed else 1)
        is_packed = PACKED_ATTR in op.attributes
        rows = _matmul_extent(op.results[0], 0)
        # packed: (M, N/NT, NT)
        cols = lb.product(_matmul_extent(op.results[0], axis) for axis in range(1, result.rank))
        mode = _CACHED if rows * cols * depth >= CACHE_TILED_MACS else _REGISTER
        consumers = (
            elementwise_consumers(op.results[0], _MAX_EPILOGUE - 2) if mode == _CACHED else []
        )
        if consumers:
            mode = _FUSED
            chain = [*reversed(consumers), op]
            if _zero_filled(op):
                chain.append(op.operands[2].owner)
            for position, member in enumerate(chain[:_MAX_EPILOGUE]):
                _tag(member, _EPILOGUE_TAG, epilogues * _MAX_EPILOGUE + position)
            epilogues += 1
        if mode == _CACHED and _zero_filled(op):
            mode = _ZEROED
        if mode != _REGISTER:  # parallel blocks: at a dynamic size, only if large at run time
            guard(op, CACHE_TILED_MACS)
        panel = 1
        # panels only where the rows are known: a dynamic batch of rows may be one block's worth
        if (
            mode in (_CACHED, _ZEROED)
            and not is_packed
            and not ir.ShapedType.is_dynamic_size(result.shape[0])
        ):
            block_rows, block_cols, _ = _CACHE_BLOCK
            blocks = -(-rows // block_rows) * -(-cols // block_cols)
            panel = max(1, min(MAX_PANEL, blocks // (TASKS_PER_THREAD * threads)))
        packing = _UNPACKED
        if is_packed:
            # a dynamic batch of rows: a small one is the common case (see PANEL_ROWS)
            in_blocks = ir.ShapedType.is_dynamic_size(result.shape[0]) or rows <= PANEL_ROWS
            packing = _PACKED_IN_BLOCKS if in_blocks else _PACKED
            if in_blocks:  # panel: how many panels a block is wide (see PANEL_ROWS)
                panel = _panels_per_block(*result.shape[1:], threads)
                panel = panels_fitting_gather(panel, op.operands[1])
        _tag(op, _TILE_TAG, _tag_value(bits, mode, panel, packing))
        classes.add((bits, mode, panel, packing))
    return classes


# What a dynamic (batch) dimension is taken to be when a schedule is chosen: a large training
# batch for a loop nest. A matmul's dims are planned at their size when the batch is
# MATMUL_BATCH (nominal_sizes.py: a Dense's rows are the batch, a convolution's im2col columns
# the batch times its output pixels), or at MATMUL_NOMINAL where that size cannot be read from
# the IR. The schedules work at any size (remainder tiles are peeled); a block loop over the
# batch runs serially when the batch makes one block, and a dynamic matmul's parallel blocks
# only when it is large at run time (`guard`).
NOMINAL_BATCH = 256
MATMUL_BATCH = 64
MATMUL_NOMINAL = 4096


def _planned_size(size: int) -> int:
    """A loop nest's extent as its schedule plans it (a dynamic one at NOMINAL_BATCH)."""
    return NOMINAL_BATCH if ir.ShapedType.is_dynamic_size(size) else size


def _matmul_extent(value: ir.Value, axis: int) -> int:
    """The size a matmul's schedule plans for dim `axis` of its operand or result `value`."""
    size = size_at_batch(value, axis, MATMUL_BATCH)
    return MATMUL_NOMINAL if size is None else size


def _tag(op, name: str, value: int) -> None:
    op.attributes[name] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)


def _tag_value(bits: int, mode: int, panel: int = 1, packed: int = 0) -> int:
    return (1 << 20) * packed + 1024 * panel + 4 * bits + mode  # panel < 1024, bits < 256


def _panels_per_block(panels: int, width: int, threads: int) -> int:
    """The width in panels (of `width` columns) of a block of all of a packed matmul's rows:
    NC, or less where that leaves fewer than two blocks per thread."""
    widest = max(1, _CACHE_BLOCK[1] // width)
    if ir.ShapedType.is_dynamic_size(panels):
        return widest
    return max(1, min(widest, panels // (2 * threads)))


def _packing(op: ir.Operation) -> int:
    """How a tagged matmul reads B (_UNPACKED, _PACKED, _PACKED_IN_BLOCKS), from its tag."""
    return ir.IntegerAttr(op.attributes[_TILE_TAG]).value >> 20


def _panel(op: ir.Operation) -> int:
    """A tagged matmul's panel count (`_tag_value`), from its tag."""
    return ir.IntegerAttr(op.attributes[_TILE_TAG]).value >> 10 & 1023


def _zero_filled(op: ir.Operation) -> bool:
    """Whether the matmul's accumulator is a linalg.fill that nothing else uses."""
    return unshared_fill(op.operands[2])


def _fuse_epilogues(module: ir.Module) -> None:
    """Applies EPILOGUE_SCHEDULE to the chains `_tag_matmuls` marked."""
    # epilogue -> (how many ops, panel width, block rows, block width in panels or 0: NC,
    # the position of a matmul packed in the blocks or 0)
    chains: dict[int, tuple[int, int, int, int, int]] = {}
    block_rows, block_cols, _ = _CACHE_BLOCK
    with module.context:

        def visit(op):
            if _EPILOGUE_TAG in op.attributes:
                epilogue, position = divmod(
                    ir.IntegerAttr(op.attributes[_EPILOGUE_TAG]).value, _MAX_EPILOGUE
                )
                length, width, rows, panels, packed = chains.get(epilogue, (0, 1, block_rows, 0, 0))
                if position == 0:  # the last consumer: (M, N), or (M, N/NT, NT) when packed
                    shape = ir.ShapedType(op.results[0].type).shape
                    width = shape[2] if len(shape) == 3 else 1
                if _TILE_TAG in op.attributes and _packing(op) == _PACKED_IN_BLOCKS:
                    rows = PANEL_ROWS  # the matmul, whose pack its blocks compute
                    panels = _panel(op)
                    packed = position
                chains[epilogue] = max(length, position + 1), width, rows, panels, packed
            return ir.WalkResult.ADVANCE

        module.operation.walk(visit)
    if not chains:
        return
    sections = []
    for epilogue, (length, width, rows, panels, packed) in sorted(chains.items()):
        base = epilogue * _MAX_EPILOGUE
        fuse = "".join(
            _EPILOGUE_FUSE.replace("@STEP", f"{_EPILOGUE_TAG} = {base + step} : i64")
            .replace("@PACK", _EPILOGUE_PACK_OF if step == packed else "")
            .replace("@I", str(step))
            .replace("@J", str(step - 1))
            for step in range(1, length)
        )
        if packed:
            fuse += _EPILOGUE_PACK_INTO.replace("@I", str(length - 1))
        sections.append(
            _EPILOGUE_SECTION.replace("@FUSE", fuse)
            .replace("@LAST", f"{_EPILOGUE_TAG} = {base} : i64")
            .replace("@MC", str(rows))
            .replace("@NC", str(panels or block_cols // width))
            .replace("@K", f"_{epilogue}")
        )
    apply_schedule(module, EPILOGUE_SCHEDULE.replace("@SECTIONS", "".join(sections)), "epilogues")
    # The chains' ops outside the blocks are the originals the fusion cloned from, now unread
    # (the last consumer's, then the one before it...): erased, or the schedules after this one
    # would tile the matmul among them.
    with module.context:
        outside = [
            op
            for name in ("linalg.generic", "linalg.matmul", "linalg.fill")
            for op in ops_named(module, name)
            if _EPILOGUE_TAG in op.attributes and op.parent.name == "func.func"
        ]
        outside.sort(key=lambda op: ir.IntegerAttr(op.attributes[_EPILOGUE_TAG]).value)
        for op in outside:
            if not any(True for result in op.results for _ in result.uses):
                op.erase()
    _drop_attribute(module, _EPILOGUE_TAG)


def _lhs_transposed(op: ir.Operation) -> bool:
    m, k = ir.AffineDimExpr.get(0), ir.AffineDimExpr.get(2)
    lhs_map = ir.AffineMapAttr(op.attributes["indexing_maps"][0]).value
    return lhs_map != ir.AffineMap.get(3, 0, [m, k])


def _pad_matmul_columns(module: ir.Module, lanes_bits: int) -> None:
    """Widens the columns of a matmul whose width the register tiles do not divide, with zeros.

    A partial tile at the right edge is a vector of the leftover width (24 of 32, say), which
    LLVM legalizes into shuffles through the stack: a 32x400x120 product ran at 36 GFLOP/s,
    a 6x25088x25 one (a LeNet filter gradient) at 8. So B and the accumulator get zero columns
    up to a multiple of the SIMD width (of the register tile's width, for a large matmul, whose
    cache blocks would otherwise leave a partial tile in every block row), and the result is a
    copy of the first N columns. The copies are O(K*N + M*N) against O(M*N*K) work; a matmul
    narrower than one SIMD vector is left as it is.

    A large matmul whose rows of B are a multiple of _ALIASING_COLUMNS elements apart (2 KiB of
    floats or more, a power of two) reads B with its rows one register tile further apart: a
    register tile's panel of B, KC rows that far apart, would fall into the same few cache sets
    of L1 and L2 and evict itself (2048^3 ran at 232 GFLOP/s on 2 cores, 297 with the skew).
    Where the columns need no widening, only B is copied, into the first columns of a wider
    buffer (`_rows_apart`), and the matmul reads that view in place and writes the result
    itself (before, B and the accumulator were widened and the result copied out: sgemm
    1024^3 on 2 cores, 11 alternating runs, 11.7 -> 11.2 ms median). Only from _SKEWED_ROWS
    rows of A, which reuse each panel enough to pay for the copy of B (at 64 rows, the copy
    cost more than it saved)."""
    for op in _matmuls(module):
        result = ir.RankedTensorType(op.results[0].type)
        lhs, rhs, acc = op.operands
        if (
            not result.has_static_shape
            or "indexing_maps" in op.attributes
            and (
                ir.AffineMapAttr(op.attributes["indexing_maps"][1]).value
                != ir.AffineMap.get(3, 0, [ir.AffineDimExpr.get(2), ir.AffineDimExpr.get(1)])
            )
        ):
            continue
        rows, cols = result.shape
        depth = _matmul_extent(rhs, 0)
        lanes = max(1, lanes_bits // result.element_type.width)
        multiple = 2 * lanes if rows * cols * depth >= CACHE_TILED_MACS else lanes
        width = -(-cols // multiple) * multiple
        skewed = rows >= _SKEWED_ROWS and width % _ALIASING_COLUMNS == 0 and multiple == 2 * lanes
        if cols < lanes or (width == cols and not skewed):
            continue
        kwargs = {}
        if "indexing_maps" in op.attributes:
            kwargs["indexing_maps"] = op.attributes["indexing_maps"]
        with op.location, ir.InsertionPoint(op):
            # only B's rows move apart, and the matmul reads them in place; B of a dynamic
            # depth (a dynamic batch) is widened instead, since the thread pool's tasks take
            # a view of dynamic sizes only when it is row-major
            if width == cols and ir.RankedTensorType(rhs.type).has_static_shape:
                product = linalg.matmul(
                    lhs, _rows_apart(rhs, width + multiple), outs=[acc], **kwargs
                )
                op.results[0].replace_all_uses_with(product)
                op.erase()
                continue
            width += multiple if skewed else 0
            product = linalg.matmul(
                lhs, _widened(rhs, width), outs=[_widened(acc, width)], **kwargs
            )
            first = tensor.extract_slice(result, product, [], [], [], [0, 0], [rows, cols], [1, 1])
            copied = linalg.copy(first, outs=[lb.empty(result)])
        op.results[0].replace_all_uses_with(copied)
        op.erase()


_ALIASING_COLUMNS = 512
_SKEWED_ROWS = 512


def _widened(x: ir.Value, width: int) -> ir.Value:
    """x (R, C) in the first C columns of zeros (R, width); a fill of x's value if x is one."""
    x_type = ir.RankedTensorType(x.type)
    rows, cols = x_type.shape
    element = x_type.element_type
    # a dynamic batch of rows (the depth of a weight gradient): sized as x is
    dynamic = [lb.dim(x, 0)] if ir.ShapedType.is_dynamic_size(rows) else []
    empty = tensor.empty([*dynamic, width] if dynamic else [rows, width], element)
    owner = x.owner
    if not isinstance(owner, ir.Block) and owner.operation.name == "linalg.fill":
        return linalg.fill(owner.operands[0], outs=[empty])
    zeros = linalg.fill(lb.zero(element), outs=[empty])
    window = tensor.extract_slice(x_type, zeros, [], dynamic, [], [0, 0], [rows, cols], [1, 1])
    copied = linalg.copy(x, outs=[window])
    return tensor.insert_slice(copied, zeros, [], dynamic, [], [0, 0], [rows, cols], [1, 1])


def _rows_apart(x: ir.Value, width: int) -> ir.Value:
    """x (R, C) copied into the first C columns of an (R, width) buffer, as an (R, C) tensor
    whose rows are `width` elements apart once bufferized (the columns after C are never
    written or read; `bufferization.alloc_tensor`, which no canonicalization shrinks to the
    slice, unlike `tensor.empty`)."""
    x_type = ir.RankedTensorType(x.type)
    rows, cols = x_type.shape
    wide = ir.RankedTensorType.get([rows, width], x_type.element_type)
    buffer = bufferization.alloc_tensor(wide, [])
    window = tensor.extract_slice(x_type, buffer, [], [], [], [0, 0], [rows, cols], [1, 1])
    return linalg.copy(x, outs=[window])


def _materialize_transposed_operands(module: ir.Module) -> None:
    """linalg.matmul reading B as (n, k) -> linalg.transpose of B into a (k, n) tensor, and a
    matmul reading that. A large matmul (CACHE_TILED_MACS) reading A as (k, m) gets A copied
    into an (m, k) tensor the same way: read in place, a register tile's 6 rows of A at each k
    are 24 bytes of one row of (k, m), the KC rows of a slice one cache line each, as far apart
    as a row of A^T is long: at 4 KiB apart they fall into one set of L1 and miss it at every k
    (a 1024x256x1024 weight gradient, x^T @ dy, on 2 cores: 3.8 -> 3.3 ms; on one core it
    makes no difference)."""
    with module.context:
        m, n, k = (ir.AffineDimExpr.get(d) for d in range(3))
        plain = [ir.AffineMap.get(3, 0, [m, k]), ir.AffineMap.get(3, 0, [k, n])]
        transposed = [ir.AffineMap.get(3, 0, [k, m]), ir.AffineMap.get(3, 0, [n, k])]
        for op in _matmuls(module):
            if "indexing_maps" not in op.attributes:
                continue
            maps = list(op.attributes["indexing_maps"])
            lhs, rhs, acc = op.operands
            rows, cols = (_matmul_extent(acc, axis) for axis in range(2))
            depth = _matmul_extent(rhs, 0 if ir.AffineMapAttr(maps[1]).value == plain[1] else 1)
            large = rows * cols * depth >= CACHE_TILED_MACS
            operands = [lhs, rhs]
            with op.location, ir.InsertionPoint(op):
                for index, operand in enumerate(operands):
                    if ir.AffineMapAttr(maps[index]).value != transposed[index]:
                        continue
                    if index == 0 and not large:
                        continue
                    operands[index] = transposed_copy(operand)
                    maps[index] = ir.AffineMapAttr.get(plain[index])
                if operands == [lhs, rhs]:
                    continue
                product = linalg.matmul(*operands, outs=[acc], indexing_maps=ir.ArrayAttr.get(maps))
            op.results[0].replace_all_uses_with(product)
            op.erase()


def run_pipeline(module: ir.Module, pipeline: str, stage: str) -> None:
    """Runs a textual upstream pipeline; a failure raises LoweringError with MLIR's messages.

    The input is verified first (what cellc's own passes made), the passes' output only with
    CELLC_VERIFY_EACH_PASS=1 (toolchain.VERIFY_EACH_PASS) and, at the end of the back end,
    by llvm_to_object.llvm_ir."""
    with module.context:
        pm = PassManager.parse(pipeline)
        pm.enable_verifier(VERIFY_EACH_PASS)
        try:
            module.operation.verify()
            pm.run(module.operation)
        except ir.MLIRError as error:
            raise LoweringError(f"stage '{stage}' failed: {error}") from error


def _internalize_private_functions(module: ir.Module) -> None:
    """Marks private func.func bodies `llvm.linkage = internal`, so only public functions
    are exported from the shared library (convert-func-to-llvm reads the attribute)."""
    with module.context:
        internal = ir.Attribute.parse("#llvm.linkage<internal>")
        for op in module.body.operations:
            if op.operation.name != "func.func" or "sym_visibility" not in op.attributes:
                continue
            is_private = ir.StringAttr(op.attributes["sym_visibility"]).value == "private"
            if is_private and len(op.regions[0].blocks) > 0:
                op.attributes["llvm.linkage"] = internal
