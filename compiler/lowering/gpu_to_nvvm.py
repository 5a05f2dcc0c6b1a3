"""`gpu-to-nvvm`: the outlined `gpu.module` -> NVVM -> PTX text (+ a cubin when ptxas is there).

Contract
--------
Lowers: the `gpu.module @cellc_kernels` that `convert-linalg-to-gpu` leaves (kernels of scf
loops, memref loads/stores, vector ops on small static tiles, arith/math; the tensor-core
kernels' `nvgpu.mma.sync`, `gpu.lane_id` and `nvvm.convert.float.to.tf32`). n-D
`vector.from_elements` are unrolled first (`unroll_vector_from_elements`).

Assumes: every kernel argument is a statically shaped, identity-layout memref or a scalar, so the
kernels can take bare pointers (`kernel-bare-ptr-calling-convention`): the launch plan passes one
device pointer per memref argument.

Produces: PTX for `chip` (sm_80 by default; sm_90 supported) with PTX ISA `features` (+ptx80),
read from the `gpu.binary` that `gpu-module-to-binary{format=isa}` (inside
`gpu-lower-to-nvvm-pipeline`) leaves; `ptx_to_cubin` assembles it with `ptxas` when present.
Host code is not lowered here: the launch plan (launch_plan.py) describes it instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sysconfig
import tempfile

from mlir import ir
from mlir.dialects import gpu
from mlir.passmanager import PassManager

from cellc.compiler import pass_pipelines

from .gpu_ir import apply_transform

SUPPORTED_CHIPS = ("sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90")


class PtxError(RuntimeError):
    """The NVVM lowering or ptxas failed; the message carries the tool's diagnostics."""


def kernel_module(module: ir.Module) -> ir.Module:
    """A new module holding only the gpu.module(s) of `module` (host code stays behind)."""
    text = "\n".join(str(op.operation) for op in module.body if op.operation.name == "gpu.module")
    if not text:
        raise PtxError("no gpu.module to lower: run convert-linalg-to-gpu first")
    return ir.Module.parse(
        f"module attributes {{gpu.container_module}} {{\n{text}\n}}", module.context
    )


def lower_gpu_to_nvvm(
    module: ir.Module, chip: str = "sm_80", features: str = "+ptx80"
) -> tuple[str, str]:
    """Lowers the kernels of `module` (not modified) to PTX; returns `(nvvm_text, ptx_text)`."""
    if chip not in SUPPORTED_CHIPS:
        raise PtxError(f"unsupported chip '{chip}'; choose one of {', '.join(SUPPORTED_CHIPS)}")
    kernels = kernel_module(module)
    unroll_vector_from_elements(kernels)
    PassManager.parse(pass_pipelines.gpu_to_nvvm(chip, features), module.context).run(
        kernels.operation
    )
    nvvm_text = str(kernels)
    PassManager.parse(pass_pipelines.GPU_SERIALIZE_PTX, module.context).run(kernels.operation)
    return nvvm_text, binary_ptx(kernels)


def unroll_vector_from_elements(kernels: ir.Module) -> None:
    """n-D `vector.from_elements` (the mma.sync fragments of convert-linalg-to-gpu-mma) ->
    1-D ones and `vector.insert`: convert-vector-to-llvm lowers only the 1-D form. Upstream's
    pattern set, applied here because canonicalization would fold the inserts back."""
    if "vector.from_elements" not in str(kernels):
        return
    apply_transform(
        kernels,
        '    %m = transform.structured.match ops{["gpu.module"]} in %root'
        " : (!transform.any_op) -> !transform.any_op\n"
        "    transform.apply_patterns to %m {\n"
        "      transform.apply_patterns.vector.unroll_from_elements\n"
        "    } : !transform.any_op\n",
    )


def binary_ptx(module: ir.Module) -> str:
    """The PTX text in the module's (single) `gpu.binary`."""
    for op in module.body:
        if op.operation.name == "gpu.binary":
            objects = ir.ArrayAttr(op.operation.attributes["objects"])
            return bytes(gpu.ObjectAttr(objects[0]).object).decode()
    raise PtxError("gpu-module-to-binary left no gpu.binary")


def find_ptxas() -> str | None:
    """`ptxas` from CELLC_PTXAS, PATH, /usr/local/cuda*/bin, or NVIDIA's nvcc wheel in this
    interpreter's site-packages (`pip install nvidia-cuda-nvcc-cu12`: nvidia/cuda_nvcc/bin;
    CUDA 13's `nvidia-cuda-nvcc`: nvidia/cu13/bin); None when absent."""
    override = os.environ.get("CELLC_PTXAS")
    if override:
        return override
    found = shutil.which("ptxas")
    if found:
        return found
    site = sysconfig.get_paths()["purelib"]
    patterns = ("/usr/local/cuda*/bin/ptxas", f"{site}/nvidia/*/bin/ptxas")
    for pattern in patterns:
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def ptx_to_cubin(ptx: str, chip: str = "sm_80") -> bytes | None:
    """Assembles PTX with `ptxas -arch=<chip>`; None when ptxas is absent, PtxError on failure."""
    ptxas = find_ptxas()
    if ptxas is None:
        return None
    with tempfile.TemporaryDirectory(prefix="cellc-ptxas-") as tmp:
        source = os.path.join(tmp, "kernels.ptx")
        target = os.path.join(tmp, "kernels.cubin")
        with open(source, "w") as f:
            f.write(ptx)
        done = subprocess.run(
            [ptxas, f"-arch={chip}", "-O3", source, "-o", target],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise PtxError(f"ptxas -arch={chip} rejected the PTX:\n{done.stderr}")
        with open(target, "rb") as f:
            return f.read()
