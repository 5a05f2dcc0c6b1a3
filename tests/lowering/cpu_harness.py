"""Test harness for the CPU back end: build `ms` functions, compile them into one .so, call
them with ctypes following the ABI `void f(T* in0, ..., T* out0, ...)`.

Compiling costs about a second, so a test module gathers many small functions into one MLIR
module and compiles once (`compile_functions`).
"""

from __future__ import annotations

import ctypes
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlir import ir
from mlir.dialects import func

from cellc.compiler import lowering
from cellc.compiler.toolchain import tool
from cellc.dialects import TensorSpec, ms


@dataclass
class Function:
    """One public function: argument specs and a body building `ms` ops (returns results)."""

    name: str
    args: Sequence[TensorSpec]
    body: Callable[..., object]


def spec(shape, element="f32") -> TensorSpec:
    return TensorSpec(tuple(shape), element)


def build_module(functions: Sequence[Function]) -> tuple[ir.Module, dict[str, list[TensorSpec]]]:
    """An MLIR module (with `ms` ops) holding `functions`; also each function's result specs."""
    ctx = ms.make_context()
    results: dict[str, list[TensorSpec]] = {}
    with ctx, ir.Location.unknown():
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            for fn in functions:
                arg_types = [ms.tensor_type(s) for s in fn.args]
                op = func.FuncOp.from_py_func(*arg_types, name=fn.name)(fn.body).func_op
                ftype = ir.FunctionType(op.type)
                results[fn.name] = [ms.spec_of(t) for t in ftype.results]
        ms.verify_module(module)
    return module, results


@dataclass
class CompiledLibrary:
    lib: ctypes.CDLL
    results: dict[str, list[TensorSpec]]

    def __call__(self, name: str, *inputs: np.ndarray) -> list[np.ndarray]:
        """Calls `name` with contiguous copies of `inputs`; returns freshly allocated outputs
        (pre-filled with NaN, so an output the callee forgets to write is caught)."""
        args = [np.ascontiguousarray(a) for a in inputs]
        outs = [
            np.full(s.shape, np.nan if s.is_float else 7, s.numpy_dtype) for s in self.results[name]
        ]
        pointers = [ctypes.c_void_p(a.ctypes.data) for a in [*args, *outs]]
        getattr(self.lib, name)(*pointers)
        return outs


def compile_functions(functions: Sequence[Function], directory: Path, cpu=None) -> CompiledLibrary:
    module, results = build_module(functions)
    lowering.convert_ms_to_linalg(module)
    lowering.lower_linalg_to_llvm(module)
    path = directory / "lib.so"
    kwargs = {} if cpu is None else {"cpu": cpu}
    lowering.emit_shared_library(module, path, **kwargs)
    lib = ctypes.CDLL(str(path))
    for name in results:
        getattr(lib, name).restype = None
    return CompiledLibrary(lib, results)


def nm_listing(path, *flags: str) -> str:
    """What `llvm-nm FLAGS PATH` prints: a library's symbols, one a line."""
    return subprocess.run(
        [tool("llvm-nm"), *flags, str(path)], capture_output=True, text=True, check=True
    ).stdout
