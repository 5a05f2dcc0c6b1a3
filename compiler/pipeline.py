"""The pipeline: one linear sequence of named stages, from a traced program to an artifact.

    ms      the traced `ms` module (GradOperation still one `ms.grad` op)
    grad    `ms-expand-grad`: reverse-mode code in the `ms` dialect
    linalg  `ms-inline-calls` (calls of cells with bprop), `convert-ms-to-linalg`:
            linalg/tensor/arith/math on tensors
    llvm    (cpu) `convert-linalg-to-llvm`: the LLVM dialect, bare-pointer ABI -> shared library
    gpu     (cuda) `convert-linalg-to-gpu`: host code launching outlined GPU kernels
    nvvm    (cuda) the kernels in the NVVM dialect
    ptx     (cuda) the PTX of the kernels, with a launch plan

`compile_program` runs it for the Python API (`cellc.frontend.compile`), `cellc compile`, the
call-time cache and `cellc.export` alike; each stage's IR can be printed (`options.emit`) or kept
(`options.keep_intermediates`). The tensor-level stages are pass pipelines (`STAGE_PASSES`) that
`cellc opt --pass-pipeline` runs too, which is how `reproduce.sh` replays them.
"""

from __future__ import annotations

import enum
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cellc.runtime.cpu_levels import cpu_features
from cellc.runtime.errors import CellcError

from .package import write_artifact
from .program import Program, emit_module
from .toolchain import DEFAULT_CPU


class Target(enum.Enum):
    CPU = "cpu"
    CUDA = "cuda"

    @classmethod
    def parse(cls, value) -> Target:
        return _parse_choice(cls, value, "target")


class Stage(enum.Enum):
    MS = "ms"
    GRAD = "grad"
    LINALG = "linalg"
    LLVM = "llvm"
    GPU = "gpu"
    NVVM = "nvvm"
    PTX = "ptx"

    @classmethod
    def parse(cls, value) -> Stage | None:
        return None if value is None else _parse_choice(cls, value, "stage")


# The stages each target runs after `linalg`.
TARGET_STAGES = {
    Target.CPU: (Stage.LLVM,),
    Target.CUDA: (Stage.GPU, Stage.NVVM, Stage.PTX),
}

# The pass pipeline of each tensor-level stage (cellc's Python passes; see compiler/passes.py).
# The linalg stage in two: its `ms` passes, then the conversion (a program for a dynamic batch
# merges its two traces between them, `dynamic_batch.generalize`).
_LINALG_MS_PASSES = "ms-inline-calls,ms-fold-empty-tensors"
_LINALG_CONVERSION = "convert-ms-to-linalg"
STAGE_PASSES = {
    Stage.GRAD: "builtin.module(ms-expand-grad)",
    Stage.LINALG: f"builtin.module({_LINALG_MS_PASSES},{_LINALG_CONVERSION})",
}


def _parse_choice(enum_type, value, what: str):
    """An enum member from itself or its (case-insensitive) string, else a readable error."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(str(value).lower())
    except ValueError:
        choices = ", ".join(member.value for member in enum_type)
        raise CellcError(f"unknown {what} '{value}'; choose one of: {choices}") from None


@dataclass
class CompileOptions:
    """How to compile.

    target: `cpu` (LLVM, a shared library) or `cuda` (NVVM -> PTX, run through the CUDA driver).
    emit: stop after this stage and return its IR (`ms`, `grad`, `linalg`; `llvm` for the CPU;
      `gpu`, `nvvm`, `ptx` for CUDA).
    keep_intermediates: a folder that receives every stage's IR and a reproducer command.
    chip, ptx_features: the CUDA target (`sm_80`, `+ptx80`); the chip must be one the NVVM
      lowering supports (`gpu_to_nvvm.SUPPORTED_CHIPS`).
    allow_tf32: on the CUDA target for sm_80 and newer, run f32 matmuls on tensor cores in tf32
      (inputs rounded to 10 mantissa bits, f32 accumulation), as PyTorch's
      `torch.backends.cuda.matmul.allow_tf32`; off by default, since it changes results.
    progress: called as `progress(stage, seconds)` after each stage.
    keep_stages: whether `CompileResult.stages` holds every stage's IR text; printing costs
      (a LeNet step's LLVM-dialect module: 0.1 s), so the call-time compile turns it off. The
      emitted stage and `keep_intermediates` have their text regardless.
    """

    target: Target | str = Target.CPU
    emit: Stage | str | None = None
    keep_intermediates: str | os.PathLike | None = None
    chip: str = "sm_80"
    ptx_features: str = "+ptx80"
    allow_tf32: bool = False
    progress: object = None
    keep_stages: bool = True

    def __post_init__(self):
        self.target = Target.parse(self.target)
        self.emit = Stage.parse(self.emit)
        if self.emit in TARGET_STAGES[Target.CUDA] and self.target is Target.CPU:
            raise CellcError(f"--emit={self.emit.value} needs --target cuda")
        if self.emit in TARGET_STAGES[Target.CPU] and self.target is Target.CUDA:
            raise CellcError(
                f"--emit={self.emit.value} is the CPU target's stage; the CUDA target emits "
                + ", ".join(stage.value for stage in TARGET_STAGES[Target.CUDA])
            )
        if self.target is Target.CUDA:
            from .lowering.gpu_to_nvvm import SUPPORTED_CHIPS

            if self.chip not in SUPPORTED_CHIPS:
                raise CellcError(
                    f"unknown chip '{self.chip}'; choose one of: {', '.join(SUPPORTED_CHIPS)} "
                    "(sm_XY: an NVIDIA GPU of compute capability X.Y)"
                )


@dataclass
class CompileResult:
    """IR text of each stage run, per-stage seconds, and the artifact (unless `emit` stopped
    the pipeline early)."""

    stages: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    artifact: bytes | None = None

    def ir(self, stage: str) -> str:
        return self.stages[Stage.parse(stage).value]


class _Recorder:
    """Keeps each stage's IR and time; says when the requested stage is reached."""

    def __init__(self, options: CompileOptions, result: CompileResult):
        self.options = options
        self.result = result
        self.started = time.perf_counter()

    def done(self, stage: Stage, ir_text) -> bool:
        seconds = time.perf_counter() - self.started
        self.result.timings[stage.value] = seconds
        options = self.options
        if options.keep_stages or options.emit is stage or options.keep_intermediates:
            self._keep(stage, ir_text if isinstance(ir_text, str) else _print(ir_text))
        if callable(self.options.progress):
            self.options.progress(stage.value, seconds)
        self.started = time.perf_counter()
        return self.options.emit is stage

    def _keep(self, stage: Stage, text: str) -> None:
        self.result.stages[stage.value] = text
        if self.options.keep_intermediates is not None:
            folder = Path(self.options.keep_intermediates)
            folder.mkdir(parents=True, exist_ok=True)
            suffix = ".ptx" if stage is Stage.PTX else ".mlir"
            (folder / f"{len(self.result.stages):02d}-{stage.value}{suffix}").write_text(text)


def _print(module) -> str:
    from cellc.dialects.ms import short_grad_segments

    return short_grad_segments(module.operation.get_asm(enable_debug_info=True))


def compile_program(
    program: Program,
    options: CompileOptions,
    parameters: dict[str, np.ndarray] | None,
    module=None,
    batch_sample=None,
) -> CompileResult:
    """The pipeline (see the module docstring). `parameters` are the weights' values, stored in
    the artifact (None: an artifact of code only, a disk-cache entry); `module` is the
    program's `ms` module when the caller emitted it already. `batch_sample`
    (`dynamic_batch.BatchSample`: the program traced at another batch size) compiles for a
    dynamic batch dimension: after the `grad` stage the two traces are merged
    (`dynamic_batch.generalize`), and the `linalg` stage on has `?` for the batch."""
    from mlir import ir

    from cellc.dialects import ms

    from . import manifest as manifests
    from .lowering import emit_shared_library, lower_linalg_to_gpu, lower_linalg_to_llvm
    from .passes import run_pass_pipeline

    result = CompileResult()
    stages = _Recorder(options, result)
    module = module if module is not None else emit_module(program)
    if stages.done(Stage.MS, module):
        return result
    manifest = manifests.build_manifest(program, module, target={})
    if batch_sample is not None:
        module.operation.attributes[ms.DISTINCT_CONSTANTS_ATTR] = ir.UnitAttr.get(module.context)
    run_pass_pipeline(module, STAGE_PASSES[Stage.GRAD])
    if stages.done(Stage.GRAD, module):
        return result
    run_pass_pipeline(module, f"builtin.module({_LINALG_MS_PASSES})")
    if batch_sample is not None:
        _generalize_batch(module, batch_sample, options, manifest)
    run_pass_pipeline(module, f"builtin.module({_LINALG_CONVERSION})")
    if stages.done(Stage.LINALG, module):
        return result
    if options.target is Target.CPU:
        lower_linalg_to_llvm(module)
        if stages.done(Stage.LLVM, module):
            return result
        code = {"code.so": _shared_library(module, emit_shared_library)}
        manifest["target"] = cpu_target()
    else:
        gpu = lower_linalg_to_gpu(
            module,
            chip=options.chip,
            ptx_features=options.ptx_features,
            allow_tf32=options.allow_tf32,
        )
        for stage in TARGET_STAGES[Target.CUDA]:
            if stages.done(stage, gpu.stages[stage.value]):
                return result
        code = {"kernels.ptx": gpu.ptx.encode(), "plan.json": json.dumps(gpu.plan).encode()}
        if gpu.cubin is not None:
            code["kernels.cubin"] = gpu.cubin
        manifest["target"] = {
            "kind": "cuda",
            "chip": options.chip,
            "ptx_features": options.ptx_features,
            "allow_tf32": options.allow_tf32,
        }
    result.artifact = _package(manifest, code, parameters)
    if options.keep_intermediates is not None:
        _write_reproducer(Path(options.keep_intermediates))
    return result


def _generalize_batch(module, batch_sample, options: CompileOptions, manifest: dict) -> None:
    """`module` (after the `grad` stage and the linalg stage's `ms` passes) merged with the
    program traced at another batch size, after the same passes, into one with a dynamic batch
    dimension; the manifest marks that dimension -1."""
    from mlir import ir

    from cellc.dialects import ms

    from . import dynamic_batch
    from . import manifest as manifests
    from .passes import run_pass_pipeline

    if options.target is not Target.CPU:
        raise CellcError(
            f"the {options.target.value} target compiles static shapes only; a dynamic batch "
            "dimension needs --target cpu"
        )
    second = emit_module(batch_sample.program, ctx=module.context)
    second.operation.attributes[ms.DISTINCT_CONSTANTS_ATTR] = ir.UnitAttr.get(module.context)
    run_pass_pipeline(second, STAGE_PASSES[Stage.GRAD])
    run_pass_pipeline(second, f"builtin.module({_LINALG_MS_PASSES})")
    dynamic_batch.generalize(module, second, batch_sample.sizes)
    # the constants that follow the batch are computations now: the rest merge, and the ops
    # that read them (kept apart in the traces, they made a ResNet step 1.4x slower)
    del module.operation.attributes[ms.DISTINCT_CONSTANTS_ATTR]
    run_pass_pipeline(module, "builtin.module(ms-cse)")
    manifests.mark_dynamic_batch(manifest, module)


def _shared_library(module, emit_shared_library) -> bytes:
    with tempfile.TemporaryDirectory(prefix="cellc-") as tmp:
        path = Path(tmp) / "code.so"
        emit_shared_library(module, path)
        return path.read_bytes()


def cpu_target() -> dict:
    """The manifest's target for code built on this machine at its CPU level."""
    return {
        "kind": "cpu",
        "triple": f"{platform.machine()}-unknown-linux-gnu",
        "cpu": DEFAULT_CPU,
        "cpu_features": cpu_features(DEFAULT_CPU),
    }


def _write_reproducer(folder: Path) -> None:
    first = sorted(folder.glob("01-ms.mlir"))
    if not first:
        return
    passes = ",".join(STAGE_PASSES[s].removeprefix("builtin.module(")[:-1] for s in STAGE_PASSES)
    (folder / "reproduce.sh").write_text(
        "#!/bin/sh\n# Re-runs the tensor-level stages of this compile from the traced IR.\n"
        f"cellc opt {first[0].name} --pass-pipeline='builtin.module({passes})'\n"
    )


def _package(manifest: dict, code: dict[str, bytes], parameters) -> bytes:
    main, *extra = code.items()
    with tempfile.TemporaryDirectory(prefix="cellc-") as tmp:
        path = Path(tmp) / "model.cellc"
        write_artifact(path, manifest, main[1], parameters, extra_members=dict(extra))
        return path.read_bytes()


def atomic_write(path: Path, data: bytes) -> None:
    """Writes `data` to `path` so that a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
