"""Compiling what the user calls: trace + the compiler's pipeline, and the call-time caches.

`compile(fn, *example_args, options=...)` traces a cell (or GradOperation function) and runs the
compiler's pipeline on it; `export` writes the artifact to a file. Calling a cell goes through
`compiled_program`, which compiles once per cell and signature (in memory, on the cell itself)
and reuses artifacts across processes (on disk, `disk_cache`: keyed by the traced program,
target and versions).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cellc import runtime
from cellc.compiler.pipeline import (
    CompileOptions,
    CompileResult,
    Target,
    atomic_write,
    compile_program,
)
from cellc.compiler.program import emit_module
from cellc.runtime.errors import ArtifactError, UnsupportedError

from . import disk_cache
from .disk_cache import cache_dir  # noqa: F401  (cellc.frontend.compiled.cache_dir, as before)
from .tracing import (
    WeightLike,
    _is_tensor,
    signature,
    tensor_leaves,
    trace_program,
)


def trace(fn, *args):
    """Traces `fn(*args)` into an `ms` module (GradOperation stays one `ms.grad` op)."""
    return emit_module(trace_program(fn, *args).program)


def compile(fn, *example_args, options: CompileOptions | None = None) -> CompileResult:
    """Traces `fn(*example_args)` and runs the pipeline (see CompileOptions)."""
    traced = trace_program(fn, *example_args)
    return compile_program(traced.program, options or CompileOptions(), traced.parameter_values())


def export(net, *inputs, file_name, file_format="CELLC", target="cpu") -> str:
    """Writes the artifact of `net(*inputs)` to `file_name` (`.cellc` appended if missing)."""
    if str(file_format).upper() != "CELLC":
        raise UnsupportedError(
            f"cellc cannot write file_format='{file_format}': it writes its own artifacts, "
            "file_format='CELLC' (a .cellc file holding native code that cellc.runtime and "
            "the C runtime load), not MINDIR, ONNX or AIR"
        )
    path = str(file_name)
    if not path.endswith(".cellc"):
        path += ".cellc"
    result = compile(net, *inputs, options=CompileOptions(target=target))
    atomic_write(Path(path), result.artifact)
    return path


# --- calling cells: compile once, run many times --------------------------------------------


class CompiledProgram:
    """A compiled cell: runs the loaded artifact with the cell's current Parameter values and
    returns numpy arrays nested as the cell's outputs.

    Each Parameter's array is shared with the module (`share_parameter`), so that writes into
    `param.asnumpy()` are seen, as in MindSpore; a Parameter whose array was replaced
    (`set_data`) is shared again before the call. The same sharing carries state updates back:
    the module writes each updated Parameter's new value into its array in place after the
    call (`ops.assign`, BatchNorm's moving statistics). Dropout masks are drawn from
    `random_generator()` (cellc.context's, which `set_seed` seeds)."""

    def __init__(self, module, parameters: list[WeightLike], random_generator=None):
        self.module = module
        self.parameters = parameters
        self.entry = next(iter(module.entries.values()))
        self._synced = [None] * len(parameters)
        self._random_generator = random_generator

    def __call__(self, args):
        for index, param in enumerate(self.parameters):
            value = param.asnumpy()
            if self._synced[index] is not value:  # shared: writes into it are seen too
                self.module.share_parameter(param.name, value)
                self._synced[index] = value
        if self._random_generator is not None and self.module.random_parameters:
            self.module.random_generator = self._random_generator()
        return self.entry(*[t.asnumpy() for t in tensor_leaves(args)])


_LOCK = threading.Lock()


def compiled_program(fn, args, target="cpu", random_generator=None) -> CompiledProgram:
    """The compiled program of `fn` for these arguments (tensors, or numpy arrays already made
    tensors by the caller), from the in-memory cache if it was compiled before. The cache lives
    on the cell (or function) itself, so it dies with it; it is keyed by the cells' Parameters
    and training modes too (`set_train` changes what BatchNorm and Dropout compute).
    `random_generator()` gives the generator dropout masks are drawn from, at each call.

    This is every call's path, so what it can it reuses: the parsed target, the owner's
    Parameters and modes while no cell changed (`structure_changed`), and a cell's last call
    (`_LastCall`: the same tensor types again, and nothing changed, is the same program)."""
    namespace = getattr(fn, "__dict__", None)
    last = namespace.get("_cellc_last_call") if namespace is not None else None
    if last is not None and last.matches(args, target):
        return last.program
    parsed = _TARGETS.get(target) or _parse_target(target)
    tf32 = parsed is Target.CUDA and HOOKS.allow_tf32 is not None and HOOKS.allow_tf32()
    owner, key = _cache_owner_and_key(fn)
    key = (key, signature(args), parsed, tf32, _owner_state(owner))
    store = _memory_cache(owner)
    program = store.get(key)  # one dict read: atomic, no lock needed
    if program is None:
        program = _compile_cached(fn, args, parsed, random_generator, tf32)
        with _LOCK:
            store[key] = program
    if owner is fn and getattr(fn, "_cellc_tracks_structure", False) and parsed is Target.CPU:
        namespace["_cellc_last_call"] = _LastCall.of(args, target, program)
    return program


class _LastCall:
    """A cell's last call on the CPU: its arguments' tensor types, the target, the structure
    version then, and the program. The next call with tensors of the same types, the same
    target and no cell changed since runs that program without building the cache key (a
    signature, the owner's state, a dict lookup: about 1.5 us of a 7 us call)."""

    __slots__ = ("layouts", "target", "version", "program")

    def __init__(self, layouts, target, version, program):
        self.layouts, self.target, self.version, self.program = layouts, target, version, program

    @staticmethod
    def of(args, target, program) -> _LastCall | None:
        if not all(_is_tensor(arg) for arg in args):
            return None  # other values are constants of the program: the full key checks them
        layouts = tuple((type(arg), arg.shape, arg.dtype) for arg in args)
        return _LastCall(layouts, target, _STRUCTURE_VERSION[0], program)

    def matches(self, args, target) -> bool:
        if self.version != _STRUCTURE_VERSION[0] or target != self.target:
            return False
        layouts = self.layouts
        if len(args) != len(layouts):
            return False
        for arg, (kind, shape, dtype) in zip(args, layouts):
            if type(arg) is not kind or arg.shape != shape or arg.dtype is not dtype:
                return False
        return True


_TARGETS: dict = {}


def _parse_target(target) -> Target:
    parsed = Target.parse(target)
    _TARGETS[target] = parsed
    return parsed


_STRUCTURE_VERSION = [0]


def structure_changed() -> None:
    """Says that some cell's Parameters, child cells or training modes changed. The user API
    calls it after the change (`Cell.__setattr__`, `set_train`, ...): an owner whose class sets
    `_cellc_tracks_structure` keeps its state key (`_owner_state`) until then."""
    _STRUCTURE_VERSION[0] += 1


def _owner_state(owner) -> tuple:
    """The Parameters the owner holds now, by identity, and its cells' training modes. Cached
    on an owner that tracks its structure, for as long as no cell changed."""
    if not getattr(owner, "_cellc_tracks_structure", False):
        return (_parameter_identities(owner), _modes(owner))
    version = _STRUCTURE_VERSION[0]  # read first: a change while computing shows next time
    cached = owner.__dict__.get("_cellc_state")
    if cached is not None and cached[0] == version:
        return cached[1]
    state = (_parameter_identities(owner), _modes(owner))
    owner.__dict__["_cellc_state"] = (version, state)
    return state


def _parameter_identities(owner) -> tuple:
    """The Parameters a cell holds now, by identity: replacing one (`net.w = Parameter(...)`)
    after a call compiles again. (A compiled program keeps its Parameters alive, so an id is
    never reused while its entry is cached.)"""
    get_parameters = getattr(owner, "get_parameters", None)
    return tuple(id(p) for p in get_parameters()) if callable(get_parameters) else ()


def _modes(owner) -> tuple:
    """The training mode of the cell and each cell inside it (`Cell.set_train`)."""
    cells_and_names = getattr(owner, "cells_and_names", None)
    if not callable(cells_and_names):
        return ()
    return tuple(bool(getattr(cell, "training", False)) for _, cell in cells_and_names())


def _cache_owner_and_key(fn):
    """A gradient function (GradOperation's, `mindspore.grad`'s), often made afresh per call,
    says where its programs are kept (on the function it differentiates) and under what key:
    its `cache_owner_and_key()`. Anything else keeps its own."""
    owner_and_key = getattr(fn, "cache_owner_and_key", None)
    if callable(owner_and_key):
        return owner_and_key()
    return fn, "call"


def _memory_cache(owner) -> dict:
    namespace = getattr(owner, "__dict__", None)
    if namespace is None:
        return {}  # no place to keep it: the disk cache still serves
    store = namespace.get("_cellc_compiled")
    if store is None:
        with _LOCK:
            store = namespace.setdefault("_cellc_compiled", {})
    return store


class CompileHooks:
    """How calls compile, beyond the target; set by the layers above.

    progress: a factory of `CompileOptions.progress` callbacks, one per compile (`cellc run`
      shows the stages of a slow compile as `cellc compile` does).
    save_graphs_dir: returns the folder that keeps every compiled cell's stage IR, reproducer
      and timings, or None ($CELLC_SAVE_GRAPHS wins; MindSpore's `set_context(save_graphs=True,
      save_graphs_path=DIR)` is the user API's). A cell compiles even when the disk cache holds
      it then, so that every cell's IR is kept.
    allow_tf32: returns whether f32 matmuls for the CUDA target may run on tensor cores in tf32
      (`CompileOptions.allow_tf32`; MindSpore's `set_context(gpu_config={"matmul_allow_tf32":
      True})` is the user API's), or None: never."""

    progress = None
    save_graphs_dir = None
    allow_tf32 = None


HOOKS = CompileHooks()


def _compile_cached(
    fn, args, target: Target, random_generator, allow_tf32: bool = False
) -> CompiledProgram:
    """Traces `fn`; an artifact of the same program in the disk cache is loaded with
    `cellc.runtime` alone (no MLIR), else the pipeline compiles it and the cache keeps it. Cache
    entries hold code, not weights: the cell's current values are given when loading."""
    traced = trace_program(fn, *args)
    # tf32 is other numerics, so another entry (keys without it stay as they were)
    key = disk_cache.program_key(traced.program, target, ("allow_tf32",) if allow_tf32 else ())
    save_graphs = _save_graphs_dir()
    path = disk_cache.lookup(key) if save_graphs is None else None
    weights = traced.parameter_values()
    if path is not None:
        try:
            module = runtime.load(path, weights)
            return CompiledProgram(module, traced.parameters, random_generator)
        except ArtifactError:
            path.unlink(missing_ok=True)  # a damaged entry: compile it again
    options = CompileOptions(
        target=target,
        allow_tf32=allow_tf32,
        progress=HOOKS.progress and HOOKS.progress(),
        keep_stages=False,
    )
    if save_graphs is not None:
        options.keep_intermediates = Path(save_graphs) / f"{traced.program.entry.name}-{key[:12]}"
    result = compile_program(traced.program, options, None)  # cache entries hold code only
    if save_graphs is not None:
        timings = "".join(f"{stage} {seconds:.4f} s\n" for stage, seconds in result.timings.items())
        (options.keep_intermediates / "timings.txt").write_text(timings)
    path = disk_cache.store(key, result.artifact)
    try:
        return CompiledProgram(runtime.load(path, weights), traced.parameters, random_generator)
    except BaseException:
        path.unlink(missing_ok=True)  # the cache never keeps an artifact that does not load
        raise


def _save_graphs_dir() -> str | None:
    folder = os.environ.get("CELLC_SAVE_GRAPHS")
    if folder:
        return folder
    return HOOKS.save_graphs_dir() if HOOKS.save_graphs_dir is not None else None
