"""The GPU back end (`--target cuda`) as one linear function of its stages.

This file holds no rewrite of its own: it composes the stage passes, one file each, so that
`convert-linalg-to-gpu` (linalg on tensors -> host code launching outlined kernels, the "gpu"
stage of `--emit`) and `lower_linalg_to_gpu` (-> PTX, cubin, launch plan) read top to bottom.
It keeps this file's name because the driver, the benchmarks and the tests import both
functions from here, and the composed pass is `convert-linalg-to-gpu`.

    linalg on tensors (convert-ms-to-linalg)
      -- convert-bool-tensors-to-i8   bool_tensors_to_i8.py (as the CPU back end)
      -- pass_pipelines.GPU_PRE_BUFFERIZE (inline, fuse elementwise ops)
      -- gpu-split-reductions         linalg_gpu_split_reductions.py
      -- gpu-pad-matmuls              linalg_gpu_pad_matmuls.py
      -- gpu-bufferize                gpu_bufferize.py
      -- convert-linalg-to-gpu-block-reductions  linalg_to_gpu_block_reductions.py
      -- convert-linalg-to-gpu-mma    linalg_to_gpu_mma.py (sm_80+: tensor-core matmuls)
      -- convert-linalg-to-gpu-launch linalg_to_gpu_launch.py
      -- gpu-outline-kernels          gpu_launch_to_kernels.py     => stage "gpu"
      -- launch_plan.extract_launch_plan (host code -> JSON plan)
      -- gpu_to_nvvm.lower_gpu_to_nvvm => stage "nvvm", then "ptx"; ptxas -> cubin

Contract of `convert-linalg-to-gpu`: lowers every `func.func` of linalg/tensor/arith/math ops on
statically shaped tensors (float, integer or bool elements, no calls between functions, weights
as ordinary arguments; bool tensors become byte buffers holding 0 or 1, as on the CPU); leaves
destination-passing host functions (`cellc.num_results` trailing out-params) of memref.alloc /
get_global / views / memref.copy / gpu.launch_func, and every kernel in
`gpu.module @cellc_kernels`. Illegal after it: linalg ops and tensors in host code,
`scf.forall`, `gpu.launch`.

Gaps: nothing here has been run on a GPU; the checks are the CPU run of the linalg rewrites
(tests/gpu/test_gpu_rewrites_on_cpu.py), FileCheck, ptxas for sm_80/sm_90 and the launch-plan
checker, and the block reductions' kernels run by a numpy SIMT interpreter
(tests/gpu/kernel_interpreter.py). No atomics: a split reduction costs two launches plus a
fill and O(P) temporaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from cellc.compiler import pass_pipelines

from . import gpu_to_nvvm, launch_plan
from .bool_tensors_to_i8 import convert_bool_tensors_to_i8
from .gpu_bufferize import bufferize_for_gpu
from .gpu_ir import run_pipeline
from .gpu_launch_to_kernels import KERNEL_MODULE, outline_kernels
from .linalg_gpu_pad_matmuls import pad_matmuls
from .linalg_gpu_split_reductions import split_reductions
from .linalg_to_gpu_block_reductions import convert_reductions_to_gpu_blocks
from .linalg_to_gpu_launch import KernelStrategy, convert_linalg_to_gpu_launch
from .linalg_to_gpu_mma import convert_matmuls_to_gpu_mma


def rewrite_for_gpu(module: ir.Module) -> dict[str, int]:
    """The linalg-on-tensors rewrites (which the CPU back end runs too, so tests check their
    numerics there); returns how many of each it made."""
    return {"split_reductions": split_reductions(module), "padded_matmuls": pad_matmuls(module)}


def convert_linalg_to_gpu(
    module: ir.Module, chip: str = "sm_80", allow_tf32: bool | str = False
) -> dict[int, KernelStrategy]:
    """linalg on tensors -> host code launching outlined GPU kernels (every GPU stage).

    The pass `convert-linalg-to-gpu{chip=sm_80 allow_tf32=0}`, in place; returns the strategy
    of each launch that convert-linalg-to-gpu-launch made (not the block reductions' nor the
    tensor-core matmuls'). `chip` and `allow_tf32` choose the matmuls that run on tensor cores
    (linalg_to_gpu_mma.py)."""
    convert_bool_tensors_to_i8(module)
    run_pipeline(module, pass_pipelines.GPU_PRE_BUFFERIZE)
    rewrite_for_gpu(module)
    bufferize_for_gpu(module)
    convert_reductions_to_gpu_blocks(module)
    convert_matmuls_to_gpu_mma(module, chip, allow_tf32)
    strategies = convert_linalg_to_gpu_launch(module)
    outline_kernels(module)
    return strategies


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
    module: ir.Module,
    chip: str = "sm_80",
    ptx_features: str = "+ptx80",
    allow_tf32: bool = False,
) -> GpuProgram:
    """linalg on tensors -> GpuProgram. `module` is transformed in place (to the "gpu" stage).

    On sm_80 and newer, f16 matmuls, and f32 ones when `allow_tf32`, run on tensor cores
    (linalg_to_gpu_mma.py). The plan labels the byte buffers of bool arguments and results
    `bool`, as the manifest does (launch_plan.bool_boundaries, read before they become
    bytes)."""
    bools = launch_plan.bool_boundaries(module)
    convert_linalg_to_gpu(module, chip, allow_tf32)
    gpu_text = str(module)
    plan = launch_plan.extract_launch_plan(module, bools)
    plan["target"] = {
        "kind": "cuda",
        "chip": chip,
        "ptx_features": ptx_features,
        "allow_tf32": bool(allow_tf32),
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
