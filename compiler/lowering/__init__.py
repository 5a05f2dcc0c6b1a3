"""cellc.compiler.lowering: from the `ms` dialect to a CPU shared library, one file per stage.

    ms  --convert-ms-to-linalg (ms_to_linalg.py)-->  linalg/tensor/arith/math on tensors
        --lower_linalg_to_llvm (linalg_to_llvm.py)-->  LLVM dialect, bare-pointer ABI
        --emit_shared_library (llvm_to_object.py)-->  LLVM IR -> opt -> llc (PIC) -> cc -shared

Every stage transforms the module in place and leaves printable MLIR (`--emit=linalg`,
`--emit=llvm`). `PASSES` maps the names of cellc's Python passes to callables taking the module,
for `cellc opt --pass-pipeline=...`.
"""

from __future__ import annotations

from .bool_tensors_to_i8 import convert_bool_tensors_to_i8
from .col2im_taps import col2im_by_taps
from .distinct_results import empty_results_whole
from .dynamic_entry_abi import bare_dynamic_entries
from .fold_empty_tensors import fold_empty_tensors
from .gpu_bufferize import bufferize_for_gpu
from .gpu_launch_to_kernels import outline_kernels
from .inline_calls import inline_calls
from .lane_reductions import reduce_in_lanes
from .linalg_gpu_pad_matmuls import pad_matmuls
from .linalg_gpu_split_reductions import split_reductions
from .linalg_to_gpu import GpuProgram, convert_linalg_to_gpu, lower_linalg_to_gpu
from .linalg_to_gpu_block_reductions import convert_reductions_to_gpu_blocks
from .linalg_to_gpu_launch import convert_linalg_to_gpu_launch
from .linalg_to_gpu_mma import convert_matmuls_to_gpu_mma
from .linalg_to_llvm import (
    lower_linalg_to_llvm,
    tile_and_vectorize_matmuls,
    tile_parallel_generics,
    tile_transposes,
)
from .llvm_to_object import emit_object, emit_shared_library, llvm_ir
from .loop_nests import outline_loop_nests
from .ms_to_linalg import LoweringError, convert_ms_to_linalg
from .pad_copies import pads_to_copies
from .parallel_loops import define_parallel_dispatchers, outline_parallel_loops
from .scatter_adds import scatter_adds

PASSES = {
    "ms-inline-calls": inline_calls,  # the calls of Cells with bprop (inline_calls.py)
    "ms-fold-empty-tensors": fold_empty_tensors,
    "convert-ms-to-linalg": convert_ms_to_linalg,
    # Both back ends, first: bool tensors stored as bytes (bool_tensors_to_i8.py).
    "convert-bool-tensors-to-i8": convert_bool_tensors_to_i8,
    # CPU: linalg_to_llvm.py (matmul register tiles, bufferize, out-params, loops, LLVM dialect).
    "cpu-col2im-by-taps": col2im_by_taps,
    "cpu-pads-to-copies": pads_to_copies,
    "cpu-scatter-adds": scatter_adds,
    "cpu-tile-and-vectorize-matmuls": tile_and_vectorize_matmuls,
    "cpu-tile-transposes": tile_transposes,
    "cpu-reduce-in-lanes": reduce_in_lanes,
    "cpu-empty-results-whole": empty_results_whole,  # distinct_results.py
    "cpu-tile-parallel-generics": tile_parallel_generics,
    "cpu-outline-parallel-loops": outline_parallel_loops,
    "cpu-outline-loop-nests": outline_loop_nests,
    "cpu-dynamic-entry-abi": bare_dynamic_entries,  # a dynamic batch: its size, last argument
    "cpu-define-parallel-dispatchers": define_parallel_dispatchers,
    "convert-linalg-to-llvm": lower_linalg_to_llvm,
    # GPU (`--target cuda`): one file per stage, in this order; linalg_to_gpu.py composes them
    # (`convert-linalg-to-gpu`); gpu_to_nvvm.py and launch_plan.py follow it.
    "gpu-split-reductions": split_reductions,
    "gpu-pad-matmuls": pad_matmuls,
    "gpu-bufferize": bufferize_for_gpu,
    "convert-linalg-to-gpu-block-reductions": convert_reductions_to_gpu_blocks,
    "convert-linalg-to-gpu-mma": convert_matmuls_to_gpu_mma,
    "convert-linalg-to-gpu-launch": convert_linalg_to_gpu_launch,
    "gpu-outline-kernels": outline_kernels,
    "convert-linalg-to-gpu": convert_linalg_to_gpu,
}

__all__ = [
    "PASSES",
    "GpuProgram",
    "LoweringError",
    "bufferize_for_gpu",
    "convert_linalg_to_gpu",
    "convert_linalg_to_gpu_launch",
    "convert_matmuls_to_gpu_mma",
    "convert_reductions_to_gpu_blocks",
    "outline_kernels",
    "pad_matmuls",
    "split_reductions",
    "lower_linalg_to_gpu",
    "convert_bool_tensors_to_i8",
    "convert_ms_to_linalg",
    "define_parallel_dispatchers",
    "outline_parallel_loops",
    "outline_loop_nests",
    "col2im_by_taps",
    "pads_to_copies",
    "scatter_adds",
    "reduce_in_lanes",
    "fold_empty_tensors",
    "inline_calls",
    "emit_object",
    "emit_shared_library",
    "llvm_ir",
    "lower_linalg_to_llvm",
    "tile_and_vectorize_matmuls",
    "tile_parallel_generics",
    "tile_transposes",
]
