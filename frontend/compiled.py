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
import time
import warnings
from pathlib import Path

import numpy as np

from cellc import runtime
from cellc.compiler.pipeline import (
    CompileOptions,
    CompileResult,
    Target,
    atomic_write,
    compile_program,
)
from cellc.compiler.program import emit_module
from cellc.dialects.types import SAMPLE_BATCHES
from cellc.runtime.dtypes import BY_ELEMENT
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


def compile(
    fn, *example_args, options: CompileOptions | None = None, batch_axes=None
) -> CompileResult:
    """Traces `fn(*example_args)` and runs the pipeline (see CompileOptions). `batch_axes`
    (per argument, a tuple of axes) compiles for a dynamic batch dimension: those axes of the
    arguments are the batch, any size at run time (see `compiler.dynamic_batch`)."""
    batch_sample = None
    if batch_axes is not None:
        batch_sample = second_trace(fn, example_args, batch_axes)
        example_args = at_batch(example_args, batch_axes, 0)
    traced = trace_program(fn, *example_args)
    return compile_program(
        traced.program,
        options or CompileOptions(),
        traced.parameter_values(),
        batch_sample=batch_sample,
    )


def export(net, *inputs, file_name, file_format="CELLC", target="cpu", dynamic_batch=False) -> str:
    """Writes the artifact of `net(*inputs)` to `file_name` (`.cellc` appended if missing).
    MindSpore's `file_format="MINDIR"` writes the same artifact as `file_name.mindir`, with a
    warning that it is cellc's format (what `cellc.load` and `nn.GraphCell` run), not MindIR.

    An input described as MindSpore does, `Tensor(shape=[None, 784], dtype=...)`, or
    `dynamic_batch=True` (the first axis of every input) compiles once for any batch size: the
    artifact takes every such dimension at any size, the same for all of them."""
    file_format = str(file_format).upper()
    if file_format not in ("CELLC", "MINDIR"):
        raise UnsupportedError(
            f"cellc cannot write file_format='{file_format}': it writes its own artifacts, "
            "file_format='CELLC' (a .cellc file holding native code that cellc.runtime and "
            "the C runtime load), not ONNX or AIR"
        )
    if file_format == "MINDIR":
        warnings.warn(
            "cellc writes its own artifact (native code for cellc.runtime, `cellc.load` and "
            "nn.GraphCell) under the .mindir name: MindSpore's tools cannot read it",
            stacklevel=2,
        )
    suffix = "." + file_format.lower()
    path = str(file_name)
    if not path.endswith(suffix):
        path += suffix
    axes = tuple(
        tuple(axis for axis, d in enumerate(getattr(arg, "shape", ())) if d == -1)
        or ((0,) if dynamic_batch and _is_tensor(arg) and len(arg.shape) else ())
        for arg in inputs
    )
    dynamic = any(axes)
    result = compile(
        net, *inputs, options=CompileOptions(target=target), batch_axes=axes if dynamic else None
    )
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

    def __init__(self, module, parameters: list[WeightLike], random_generator=None, args=()):
        self.module = module
        self.parameters = parameters
        self.entry = next(iter(module.entries.values()))
        self._synced = [None] * len(parameters)
        self._random_generator = random_generator
        # every argument a tensor (no tuple, list or constant): they are the inputs as they come
        # (the program is only ever called with arguments of its signature)
        self._flat = all(_is_tensor(arg) for arg in args)

    def __call__(self, args):
        for index, param in enumerate(self.parameters):
            value = param.asnumpy()
            if self._synced[index] is not value:  # shared: writes into it are seen too
                self.module.share_parameter(param.name, value)
                self._synced[index] = value
        if self._random_generator is not None and self.module.random_parameters:
            self.module.random_generator = self._random_generator()
        leaves = args if self._flat else tensor_leaves(args)
        return self.entry(*[t.asnumpy() for t in leaves])


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
    store = _memory_cache(owner)
    axes = _dynamic_batch_axes(fn, owner, args) if parsed is Target.CPU else None
    program = None
    arguments = signature(args)
    if axes is not None:  # one program for every batch size, unless the cell cannot have it
        dynamic_key = (key, _dynamic_signature(arguments, axes), parsed, _owner_state(owner))
        program = store.get(dynamic_key)
        if program is None:
            program = _compile_dynamic(fn, args, axes, parsed, random_generator)
            with _LOCK:
                store[dynamic_key] = program
    if not isinstance(program, CompiledProgram):
        key = (key, arguments, parsed, tf32, _owner_state(owner))
        program = store.get(key)  # one dict read: atomic, no lock needed
        if program is None:
            program = _compile_cached(fn, args, parsed, random_generator, tf32)
            with _LOCK:
                store[key] = program
    if owner is fn and getattr(fn, "_cellc_tracks_structure", False) and parsed is Target.CPU:
        namespace["_cellc_last_call"] = _LastCall.of(args, target, program)
    return program


def _dynamic_batch_axes(fn, owner, args) -> tuple | None:
    """For a cell whose `set_inputs` gives some dimensions as None or -1 (MindSpore's
    dynamic shape), or a gradient of such a cell taking the same inputs: per argument, those
    axes, when this call's arguments are tensors that agree on one size for all of them (the
    batch). Else None: the call compiles per shape."""
    specs = getattr(fn, "__dict__", {}).get("_cellc_input_specs")
    if specs is None:
        specs = getattr(owner, "__dict__", {}).get("_cellc_input_specs")
    if specs is None or len(specs) != len(args):
        return None
    axes, sizes = [], set()
    for spec, arg in zip(specs, args):
        dims = tuple(getattr(spec, "shape", ()) or ())
        if -2 in dims:
            return None
        dynamic = tuple(axis for axis, d in enumerate(dims) if d == -1)
        if dynamic and (not _is_tensor(arg) or len(arg.shape) != len(dims)):
            return None
        sizes.update(arg.shape[axis] for axis in dynamic)
        axes.append(dynamic)
    return tuple(axes) if len(sizes) == 1 else None


def _dynamic_signature(arguments: tuple, axes) -> tuple:
    """`arguments` (`signature(args)`) with -1 for each dynamic axis: the same for every batch
    size."""
    key = list(arguments)
    for index, dynamic in enumerate(axes):
        if dynamic:
            kind, shape, element = key[index]
            shape = tuple(-1 if axis in dynamic else d for axis, d in enumerate(shape))
            key[index] = (kind, shape, element)
    return ("dynamic_batch", *key)


def at_batch(args, axes, sample: int) -> tuple:
    """`args` with each dynamic axis sized `SAMPLE_BATCHES[sample]` (zeros: a trace reads types
    only); the others as they are."""
    size = SAMPLE_BATCHES[sample]
    out = []
    for arg, dynamic in zip(args, axes):
        if dynamic:
            shape = tuple(size if axis in dynamic else d for axis, d in enumerate(arg.shape))
            arg = type(arg)(np.zeros(shape, BY_ELEMENT[arg.dtype.element].numpy))
        out.append(arg)
    return tuple(out)


def second_trace(fn, args, axes):
    """`fn` traced with `args` at the second sample batch size: the `BatchSample` that makes a
    compile's batch dynamic (`compiler.dynamic_batch`)."""
    from cellc.compiler.dynamic_batch import BatchSample

    program = trace_program(fn, *at_batch(args, axes, 1)).program
    return BatchSample(program, tuple(tuple(a) for a in axes))


def _compile_dynamic(fn, args, axes, target: Target, random_generator):
    """The program of `fn` for a dynamic batch (see `compiler.dynamic_batch`), or, when the
    cell cannot be compiled once for every batch size, a `_StaticOnly` that says why (warned
    once: the calls then compile per batch size, as without `set_inputs`, and a mistake in the
    cell itself is raised there, at the call's own shapes)."""
    try:
        return _compile_cached(fn, at_batch(args, axes, 0), target, random_generator, False, axes)
    except Exception as error:  # noqa: BLE001 (a user's own mistake shows again per size)
        warnings.warn(
            f"{type(fn).__name__}: set_inputs asks for a dynamic shape, but {error}; cellc "
            "compiles it for each batch size instead",
            stacklevel=5,  # the user's call of the cell
        )
        return _StaticOnly(str(error))


class _StaticOnly:
    """The memory cache's answer for a cell that has no dynamic-batch program: why."""

    def __init__(self, reason: str):
        self.reason = reason


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
      and timings, or None ($CELLC_SAVE_GRAPHS or $CELLC_DUMP_DIR wins; MindSpore's
      `set_context(save_graphs=True, save_graphs_path=DIR)` is the user API's). A cell
      compiles even when the disk cache holds it then, so that every cell's IR is kept.
    allow_tf32: returns whether f32 matmuls for the CUDA target may run on tensor cores in tf32
      (`CompileOptions.allow_tf32`; MindSpore's `set_context(gpu_config={"matmul_allow_tf32":
      True})` is the user API's), or None: never.
    report: called with a line on each compile (its stages' seconds) and disk-cache hit
      (`cellc run -v`), or None."""

    progress = None
    save_graphs_dir = None
    allow_tf32 = None
    report = None


HOOKS = CompileHooks()


def _compile_cached(
    fn, args, target: Target, random_generator, allow_tf32: bool = False, batch_axes=None
) -> CompiledProgram:
    """Traces `fn`; an artifact of the same program in the disk cache is loaded with
    `cellc.runtime` alone (no MLIR), else the pipeline compiles it and the cache keeps it. Cache
    entries hold code, not weights: the cell's current values are given when loading.
    `batch_axes`: compile for a dynamic batch, these axes of the arguments (`args` are at the
    first sample batch size; see `compiler.dynamic_batch`)."""
    started = time.perf_counter()
    traced = trace_program(fn, *args)
    # tf32 is other numerics, so another entry (keys without it stay as they were)
    key_options = ("allow_tf32",) if allow_tf32 else ()
    if batch_axes is not None:
        key_options = disk_cache.dynamic_batch_options(batch_axes)
    key = disk_cache.program_key(traced.program, target, key_options)
    save_graphs = _save_graphs_dir()
    path = disk_cache.lookup(key) if save_graphs is None else None
    weights = traced.parameter_values()
    if path is not None:
        try:
            module = runtime.load(path, weights)
            _report(traced, batch_axes, f"disk-cache hit {key[:12]}", started)
            return CompiledProgram(module, traced.parameters, random_generator, args)
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
    # the second trace, only when compiling
    batch_sample = second_trace(fn, args, batch_axes) if batch_axes is not None else None
    # cache entries hold code only
    compiling = time.perf_counter()
    result = compile_program(traced.program, options, None, batch_sample=batch_sample)
    compiling = time.perf_counter() - compiling
    if save_graphs is not None:
        timings = "".join(f"{stage} {seconds:.4f} s\n" for stage, seconds in result.timings.items())
        (options.keep_intermediates / "timings.txt").write_text(timings)
    path = disk_cache.store(key, result.artifact)
    # the stages up to the LLVM dialect (PTX), then the code: objects, library, artifact
    timings = {**result.timings, "code": compiling - sum(result.timings.values())}
    stages = ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in timings.items())
    _report(traced, batch_axes, f"compiled ({stages} s), cached as {key[:12]}", started)
    try:
        return CompiledProgram(
            runtime.load(path, weights), traced.parameters, random_generator, args
        )
    except BaseException:
        path.unlink(missing_ok=True)  # the cache never keeps an artifact that does not load
        raise


def _report(traced, batch_axes, what: str, started: float) -> None:
    """`HOOKS.report`'s line: the entry, its argument types (a dynamic batch as `?`), what
    happened and the seconds since the call began to trace."""
    if HOOKS.report is None:
        return
    types = []
    for index, value in enumerate(traced.program.entry.inputs):
        dims = [str(d) for d in value.spec.shape]
        if batch_axes is not None and index < len(batch_axes):
            for axis in batch_axes[index]:
                dims[axis] = "?"
        types.append(f"{value.spec.element}[{','.join(dims)}]")
    seconds = time.perf_counter() - started
    HOOKS.report(f"{traced.program.entry.name}({', '.join(types)}): {what}; {seconds:.2f} s")


def _save_graphs_dir() -> str | None:
    folder = os.environ.get("CELLC_SAVE_GRAPHS") or os.environ.get("CELLC_DUMP_DIR")
    if folder:
        return folder
    return HOOKS.save_graphs_dir() if HOOKS.save_graphs_dir is not None else None
