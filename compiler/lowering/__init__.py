"""cellc.compiler.lowering: from the `ms` dialect to a CPU shared library, one file per stage.

    ms  --convert-ms-to-linalg (ms_to_linalg.py)-->  linalg/tensor/arith/math on tensors
        --lower_linalg_to_llvm (linalg_to_llvm.py)-->  LLVM dialect, bare-pointer ABI
        --emit_shared_library (llvm_to_object.py)-->  LLVM IR -> opt -> llc (PIC) -> cc -shared

Every stage transforms the module in place and leaves printable MLIR (`--emit=linalg`,
`--emit=llvm`). `PASSES` maps the names of cellc's Python passes to callables taking the module,
for `cellc opt --pass-pipeline=...`.
"""

from __future__ import annotations

from .linalg_to_gpu import GpuProgram, convert_linalg_to_gpu, lower_linalg_to_gpu
from .linalg_to_llvm import lower_linalg_to_llvm, tile_and_vectorize_matmuls
from .llvm_to_object import emit_object, emit_shared_library, llvm_ir
from .ms_to_linalg import LoweringError, convert_ms_to_linalg


def lower_ms_to_linalg(module) -> None:
    """`ms` ops to linalg/tensor/arith/math on tensors, in place (`convert-ms-to-linalg`)."""
    convert_ms_to_linalg(module)


PASSES = {
    "convert-ms-to-linalg": convert_ms_to_linalg,
    # CPU: linalg_to_llvm.py (matmul register tiles, bufferize, out-params, loops, LLVM dialect).
    "cpu-tile-and-vectorize-matmuls": tile_and_vectorize_matmuls,
    "convert-linalg-to-llvm": lower_linalg_to_llvm,
    # GPU (`--target cuda`): linalg_to_gpu.py; gpu_to_nvvm.py and launch_plan.py follow it.
    "convert-linalg-to-gpu": convert_linalg_to_gpu,
}

__all__ = [
    "PASSES",
    "GpuProgram",
    "LoweringError",
    "convert_linalg_to_gpu",
    "lower_linalg_to_gpu",
    "convert_ms_to_linalg",
    "emit_object",
    "emit_shared_library",
    "llvm_ir",
    "lower_linalg_to_llvm",
    "lower_ms_to_linalg",
    "tile_and_vectorize_matmuls",
]
