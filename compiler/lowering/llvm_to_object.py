"""The CPU back end's end: an LLVM-dialect module to LLVM IR, an object, a shared library.

`llvm_ir(module)` translates with MLIR's `translate_module_to_llvmir`; `emit_shared_library`
optimizes it with LLVM's `opt` (pass_pipelines.OPT_PASSES: loop vectorization of the loops
linalg became; exp/log/tanh vectorized through glibc's libmvec), compiles it with
`llc -O3 -relocation-model=pic` for the chosen CPU -- in parts, one per core, at once
(`emit_objects`) -- and links with `cc -shared -lmvec -lm`
(`-z defs`: an unresolved symbol fails here, not when the runtime loads the library).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from mlir import ir

# The translation alone: `mlir.dialects.llvm` would also import the LLVM dialect's generated op
# classes, 37 ms of every compiling process's start, which nothing here uses.
from mlir._mlir_libs._mlirDialectsLLVM import translate_module_to_llvmir

from cellc import runtime as runtime_src
from cellc.compiler import pass_pipelines
from cellc.compiler.toolchain import DEFAULT_CPU, FP_CONTRACT, host_triple, tool

from .ms_to_linalg import LoweringError
from .parallel_loops import uses_parallel_runtime

if FP_CONTRACT not in ("off", "fast"):
    raise LoweringError(f"CELLC_FP_CONTRACT must be 'off' or 'fast', not '{FP_CONTRACT}'")


def llvm_ir(module: ir.Module) -> str:
    """The LLVM IR text of an LLVM-dialect module."""
    try:
        module.operation.verify()
    except ir.MLIRError as error:
        raise LoweringError(f"module is not valid LLVM dialect: {error}") from error
    for op in module.body.operations:
        if not op.operation.name.startswith("llvm."):
            raise LoweringError(
                f"{op.location}: '{op.operation.name}' is not in the LLVM dialect; "
                f"run lower_linalg_to_llvm first"
            )
    _drop_foreign_argument_attributes(module)
    return str(translate_module_to_llvmir(module.operation))


def _drop_foreign_argument_attributes(module: ir.Module) -> None:
    """Removes the argument and result attributes of other dialects than LLVM's from every
    llvm.func (the frontend's `ms.weight`, `ms.update`: names for the manifest, which LLVM IR
    has no place for). The translation ignores them, but slowly: in a context with the `ms`
    dialect loaded, a LeNet training step's module at a dynamic batch translated in 0.41-0.68 s
    with them and 0.08 s without (the same module parsed into two contexts)."""
    with module.context:
        for op in module.body.operations:
            if op.operation.name != "llvm.func":
                continue
            attributes = op.operation.attributes
            for name in ("arg_attrs", "res_attrs"):
                if name not in attributes:
                    continue
                kept = [
                    ir.DictAttr.get(
                        {
                            entry.name: entry.attr
                            for entry in ir.DictAttr(dictionary)
                            if entry.name.startswith("llvm.")
                        }
                    )
                    for dictionary in ir.ArrayAttr(attributes[name])
                ]
                attributes[name] = ir.ArrayAttr.get(kept)


def emit_object(module: ir.Module, out_path: str | os.PathLike, cpu: str = DEFAULT_CPU) -> None:
    """Compiles an LLVM-dialect module to one position-independent object file."""
    with tempfile.TemporaryDirectory(prefix="cellc-") as tmp:
        ll = Path(tmp) / "module.ll"
        ll.write_text(llvm_ir(module))
        _compile_part(ll, Path(out_path), cpu)


def emit_objects(
    module: ir.Module, folder: Path, cpu: str = DEFAULT_CPU, parts: int | None = None
) -> list[Path]:
    """Compiles an LLVM-dialect module to position-independent objects in `folder`, in parallel:
    `llvm-split --round-robin` deals its functions into one part per core the process may use
    (at most MAX_PARTS, and one per PART_FUNCTIONS functions: a part costs a start of `opt` and
    `llc`), and each part goes through `opt` then `llc` at the same time as the others. The
    loop nests each have a function of their own (loop_nests.py), so the parts are of similar
    size; the split gives every function the linkage it needs across parts (hidden, so the
    shared library exports what it did whole). `parts` overrides the count."""
    ll = folder / "module.ll"
    ll.write_text(llvm_ir(module))
    if parts is None:
        functions = sum(1 for op in module.body.operations if _defines_function(op))
        cores = len(os.sched_getaffinity(0))
        parts = max(1, min(cores, MAX_PARTS, functions // PART_FUNCTIONS))
    if parts == 1:
        sources = [ll]
    else:
        split = [tool("llvm-split"), "--round-robin", f"-j{parts}", "-o", str(folder / "part")]
        _run([*split, str(ll)])
        sources = [folder / f"part{index}" for index in range(parts)]
    objects = [source.with_suffix(".o") for source in sources]
    with concurrent.futures.ThreadPoolExecutor(max_workers=parts) as pool:
        list(pool.map(lambda pair: _compile_part(*pair, cpu), zip(sources, objects)))
    return objects


MAX_PARTS = 8
PART_FUNCTIONS = 16


def _defines_function(op) -> bool:
    return op.operation.name == "llvm.func" and bool(op.operation.regions[0].blocks)


def _compile_part(source: Path, out_path: Path, cpu: str) -> None:
    """`opt` then `llc` on one LLVM IR (or bitcode) file."""
    optimized = source.with_name(source.name + ".opt.bc")
    # The triple gives opt the target's vector widths and data layout (without it, LLVM
    # models a target with no SIMD and vectorizes nothing).
    cpu_flags = [f"-mtriple={host_triple()}"] + ([f"-mcpu={cpu}"] if cpu else [])
    _run([tool("opt"), *pass_pipelines.OPT_FLAGS, *cpu_flags, str(source), "-o", str(optimized)])
    _run(
        [
            tool("llc"),
            *pass_pipelines.LLC_FLAGS,
            f"--fp-contract={FP_CONTRACT}",
            *cpu_flags,
            str(optimized),
            "-o",
            str(out_path),
        ]
    )


def emit_shared_library(
    module: ir.Module,
    out_path: str | os.PathLike,
    cpu: str = DEFAULT_CPU,
    parts: int | None = None,
) -> None:
    """Builds `out_path` (a .so) from an LLVM-dialect module: opt, llc (emit_objects, in
    `parts`), cc -shared; with the thread pool (runtime/src/cellc_parallel.c) when the code has
    parallel loops."""
    out_path = Path(out_path)
    pool = _thread_pool_object() if uses_parallel_runtime(module) else None
    with tempfile.TemporaryDirectory(prefix="cellc-") as tmp:
        objects = emit_objects(module, Path(tmp), cpu=cpu, parts=parts)
        if pool is not None:
            objects.append(pool.result())
        # libmvec: the vector exp/log/tanh that opt's loop vectorizer calls (OPT_FLAGS).
        _run(
            [
                tool("cc"),
                "-shared",
                "-Wl,-z,defs",
                "-o",
                str(out_path),
                *map(str, objects),
                "-Wl,--as-needed",
                "-lmvec",
                "-lm",
                "-pthread",
            ]
        )


def _thread_pool_object() -> _Build:
    """runtime/src/cellc_parallel.c compiled once per process (position-independent). The
    compile starts in the background, a `cc` process of its own, on the first call: it runs
    while `opt` and `llc` do, and the linker waits for it (`_Build.result`). A child forked
    from the process starts its own (the parent's may still be writing its file); the folder
    is removed when the process that made it exits, not when a child forked from it does."""
    with _BUILDS_LOCK:
        build = _BUILDS.get(os.getpid())
        if build is None:
            source = Path(runtime_src.__file__).parent / "src" / "cellc_parallel.c"
            folder = Path(tempfile.mkdtemp(prefix="cellc-pool-"))
            atexit.register(_remove_if_owned, folder, os.getpid())
            obj = folder / "cellc_parallel.o"
            command = [tool("cc"), "-O2", "-fPIC", "-pthread", "-c", str(source), "-o", str(obj)]
            build = _BUILDS[os.getpid()] = _Build(command, obj)
        return build


class _Build:
    """One tool run in the background, whose output file `result()` returns once it is done
    (raising LoweringError with the tool's messages if it failed)."""

    def __init__(self, command: list[str], output: Path):
        self.command = command
        self.output = output
        self.log = output.with_suffix(".log")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def result(self) -> Path:
        returncode = self.process.wait()
        if returncode != 0:
            raise LoweringError(
                f"'{Path(self.command[0]).name}' failed (exit {returncode}):\n"
                f"{' '.join(self.command)}\n{self.log.read_text(errors='replace').strip()}"
            )
        return self.output


_BUILDS: dict[int, _Build] = {}
_BUILDS_LOCK = threading.Lock()


def _remove_if_owned(folder: Path, owner: int) -> None:
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LoweringError(
            f"'{Path(command[0]).name}' failed (exit {result.returncode}):\n"
            f"{' '.join(command)}\n{result.stderr.strip()}"
        )
