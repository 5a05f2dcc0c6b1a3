"""The CPU backend: the artifact's `code.so` through ctypes, with a lean call path.

The ABI (docs/architecture.md): for every entry `NAME` the library exports
`void NAME(T* in0, ..., T* w0, ..., T* out0, ...)` -- bare pointers to contiguous row-major
buffers, inputs then weights then outputs, the caller allocating the outputs. It is
thread-safe and keeps no global state; ctypes releases the GIL around the call. It also exports
`cellc_signature_NAME`, checked against the manifest before the entry can be called
(artifact.check_entry_signature), and it is loaded from the checked bytes (`load_library`).

Why the call path looks the way it does (measured on the dev machine, seed gradient):
`ndarray.__array_interface__` costs ~1.3 us and `ndarray.ctypes.data` ~1.1 us per array, more
than the whole ctypes call (~0.4 us). An array's data pointer is the first field after
`PyObject_HEAD` in numpy's public `PyArrayObject_fields` struct, so it is read directly from
the object (~0.15 us); `_probe_data_offset` checks that against `__array_interface__` at import
and falls back to it if the layout ever differs. Arguments that are already C-contiguous,
aligned and of the exact dtype and shape are passed without a copy; anything else goes
through `Entry.convert_input` (convert or refuse).
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import platform
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from .artifact import (
    CODE_MEMBERS,
    Artifact,
    ArtifactError,
    check_entry_signature,
    host_cpu_flags,
    signature_symbol,
)
from .errors import ShapeMismatchError
from .module import Entry, Module, Slot, as_array

_read_pointer = ctypes.c_void_p.from_address


def _probe_data_offset() -> int | None:
    """The offset of `data` in an ndarray object, if reading it there is verified to work."""
    offset = object.__basicsize__  # sizeof(PyObject): where PyObject_HEAD ends
    for probe in (np.empty(3, np.float32), np.zeros((2, 5), np.float64)[1]):
        if _read_pointer(id(probe) + offset).value != probe.__array_interface__["data"][0]:
            return None
    return offset


_DATA_OFFSET = _probe_data_offset()


def data_pointer(array: np.ndarray) -> int:
    """The address of an ndarray's first element (see the module docstring for why this way)."""
    if _DATA_OFFSET is None:
        return array.__array_interface__["data"][0]
    return _read_pointer(id(array) + _DATA_OFFSET).value


# ---------------------------------------------------------------------------------------------
# Loading


_LIBRARIES: dict[str, tuple[ctypes.CDLL, int | None]] = {}
"""Loaded code by the sha256 of its bytes: (library, the memfd it was loaded from)."""
_LIBRARIES_LOCK = threading.Lock()


def load_library(code: bytes, where: str) -> ctypes.CDLL:
    """dlopen exactly `code` -- the bytes the artifact's checksum covered -- never a file
    another process could have replaced between the check and the load.

    The bytes go into an anonymous sealed memory file (`memfd_create`), opened as
    `/proc/self/fd/N`. The descriptor stays open as long as the process runs (the library is
    never unloaded either): glibc finds an already loaded library by its path first, so a
    closed descriptor's number, reused by a later memfd, would alias the old code. Where memfd
    is unavailable, the bytes are written by this process into a new file (O_EXCL) in a new
    private (0700) temporary directory, dlopened and removed. The same code loaded twice is
    one library.
    """
    key = hashlib.sha256(code).hexdigest()
    with _LIBRARIES_LOCK:
        if key not in _LIBRARIES:
            _LIBRARIES[key] = _open_in_memory(code) or _open_in_private_file(code, where)
        return _LIBRARIES[key][0]


def _open_in_memory(code: bytes) -> tuple[ctypes.CDLL, int] | None:
    if getattr(os, "memfd_create", None) is None or not os.path.isdir("/proc/self/fd"):
        return None
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
    try:
        try:  # MFD_EXEC: executable even where vm.memfd_noexec makes memfds noexec by default
            fd = os.memfd_create("cellc-code", flags | _MFD_EXEC)
        except OSError:  # a kernel older than 6.3 does not know MFD_EXEC
            fd = os.memfd_create("cellc-code", flags)
    except OSError:
        return None
    try:
        _write_all(fd, code)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)  # nobody, not even us, changes it now
        library = ctypes.CDLL(f"/proc/self/fd/{fd}")
    except OSError:
        # e.g. a system that maps no memfd executable: the private file says what is wrong
        os.close(fd)
        return None
    return library, fd


_MFD_EXEC = getattr(os, "MFD_EXEC", 0x0010)
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def _open_in_private_file(code: bytes, where: str) -> tuple[ctypes.CDLL, None]:
    try:
        directory = tempfile.mkdtemp(prefix="cellc-code-")  # mode 0700, new, ours
    except OSError as error:
        raise ArtifactError(
            f"cannot write the code of '{where}' to a private temporary directory under "
            f"{tempfile.gettempdir()}: {error.strerror} (set TMPDIR to a writable directory)"
        ) from None
    path = os.path.join(directory, "code.so")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o700)
        try:
            _write_all(fd, code)
        finally:
            os.close(fd)
        return ctypes.CDLL(path), None
    except OSError as error:
        raise ArtifactError(f"cannot load the code of '{where}': {error}") from None
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(directory)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_MACHINE_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}


def check_host(artifact: Artifact) -> None:
    """Refuse an artifact built for another architecture or for CPU features this one lacks."""
    target = artifact.manifest["target"]
    triple = target.get("triple", "")
    arch = triple.split("-")[0] if triple else ""
    machine = platform.machine().lower()
    machine = _MACHINE_ALIASES.get(machine, machine)
    if arch and _MACHINE_ALIASES.get(arch, arch) != machine:
        raise ArtifactError(
            f"'{artifact.path}' was compiled for {triple}; this machine is {machine}"
        )
    needed = target.get("cpu_features", [])
    flags = host_cpu_flags()
    if flags is None or not needed:
        return  # no /proc/cpuinfo (not Linux): nothing to check against
    missing = sorted(set(needed) - flags)
    if missing:
        raise ArtifactError(
            f"'{artifact.path}' needs CPU features this machine lacks: {', '.join(missing)} "
            "(recompile for this CPU, e.g. with a lower -mcpu)"
        )


# glibc's malloc returns a large freed block to the system (munmap, or trimming the heap top)
# and the next call faults its pages in again: compiled code allocates its temporaries (an
# im2col buffer, a layer's activations) on every call, so a LeNet training step spent 70% of
# its time in page faults. Keeping blocks up to 32 MiB in the heap, and 256 MiB of free heap
# before trimming, made it 3.5x faster. CELLC_MALLOC_TUNING=0 leaves malloc as it is.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_SETTINGS = {
    _M_MMAP_THRESHOLD: 32 << 20,  # glibc's maximum on 64-bit
    _M_TRIM_THRESHOLD: 256 << 20,
    _M_TOP_PAD: 64 << 20,
}
_MALLOC_TUNED: list[bool] = []


def tune_malloc() -> bool:
    """Applies _MALLOC_SETTINGS once per process (glibc only); True when they are in effect."""
    with _LIBRARIES_LOCK:
        if not _MALLOC_TUNED:
            _MALLOC_TUNED.append(_apply_malloc_settings())
        return _MALLOC_TUNED[0]


def _apply_malloc_settings() -> bool:
    if os.environ.get("CELLC_MALLOC_TUNING", "1") == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return all(mallopt(option, value) == 1 for option, value in _MALLOC_SETTINGS.items())


def load(artifact: Artifact) -> Module:
    """Bind a CPU artifact: check the host, dlopen its code (the checked bytes), resolve every
    entry and check it against the signature its code carries."""
    check_host(artifact)
    check_thread_count()
    tune_malloc()
    library = load_library(artifact.member(CODE_MEMBERS["cpu"]), artifact.path)
    entry_class = CpuEntry if _DATA_OFFSET is not None else PortableCpuEntry

    def make_entry(module: Module, spec: Mapping[str, Any]) -> Entry:
        if spec.get("dynamic_batch"):
            return DynamicBatchCpuEntry(module, spec, library)
        return entry_class(module, spec, library)

    return Module(artifact, make_entry)


def check_thread_count() -> None:
    """CELLC_NUM_THREADS, which the code's thread pool reads (runtime/src/cellc_parallel.c), is
    a whole number from 1 to 1024 or unset; anything else is refused here, where Python can say
    so, instead of being ignored by the C code."""
    text = os.environ.get("CELLC_NUM_THREADS")
    if text is None or text == "":
        return
    if not (text.isdigit() and 1 <= int(text) <= 1024):
        raise ValueError(
            f"CELLC_NUM_THREADS={text!r}: the thread count of compiled CPU code must be a whole "
            "number from 1 to 1024 (or unset: the cores this process may use)"
        )


def _embedded_signature(library: ctypes.CDLL, symbol: str) -> str | None:
    """The code's `cellc_signature_SYMBOL` string, or None if it has none."""
    try:
        text = ctypes.c_char.in_dll(library, signature_symbol(symbol))
    except ValueError:
        return None
    return ctypes.string_at(ctypes.addressof(text)).decode("ascii", "replace")


class CpuEntry(Entry):
    """An entry point bound to a function of the loaded library."""

    def __init__(self, module: Module, manifest: Mapping[str, Any], library: ctypes.CDLL):
        super().__init__(module, manifest)
        try:
            function = getattr(library, self.symbol)
        except AttributeError:
            raise ArtifactError(
                f"'{module.path}' is corrupt: its code has no symbol '{self.symbol}' "
                f"for entry '{self.name}'"
            ) from None
        check_entry_signature(
            module.path, module.manifest, manifest, _embedded_signature(library, self.symbol)
        )
        arity = len(self.inputs) + len(self.weights) + len(self.outputs)
        function.argtypes = [ctypes.c_void_p] * arity
        function.restype = None
        self._library = library  # keeps the library loaded as long as the entry lives
        self._function = function
        self._input_layouts = tuple((spec.shape, spec.dtype) for spec in self.inputs)
        self._output_layouts = tuple((spec.shape, spec.dtype) for spec in self.outputs)
        self._arity = len(self.inputs)
        self._single_output = self.structure == {"tensor": 0}
        self._stateful = bool(self.updates or self.random_weights)
        self._parameters_changed()

    def _parameters_changed(self) -> None:
        # One tuple, swapped in one assignment: a call in flight on another thread keeps the
        # arrays it read alive (and their pointers valid) until it returns.
        arrays = tuple(self.module.parameters[name] for name in self.weights)
        self._weights = (arrays, tuple(data_pointer(array) for array in arrays))

    def __call__(self, *args: Any) -> Any:
        if len(args) != self._arity:
            raise self.wrong_argument_count(args)
        # The hot path. Plain loops, locals and data pointers read in place: on CPython 3.11
        # each list comprehension alone costs ~0.25 us, a third of the ctypes call.
        read, offset = _read_pointer, _DATA_OFFSET
        pointers = []
        keep_alive = args  # converted copies are appended below, so they outlive the call
        for index, (shape, dtype) in enumerate(self._input_layouts):
            arg = args[index]
            if not (
                type(arg) is np.ndarray
                and arg.dtype is dtype
                and arg.shape == shape
                and (flags := arg.flags).c_contiguous
                and flags.aligned
            ):
                arg = self.convert_input(index, arg)  # converts or raises
                keep_alive += (arg,)
            pointers.append(read(id(arg) + offset).value)
        # `weights` keeps the weight arrays alive during the call even if another thread
        # replaces them with set_parameter meanwhile.
        weights = self._weights
        if self._stateful:
            return self._call_stateful(pointers, weights)
        pointers += weights[1]
        outputs = []
        for shape, dtype in self._output_layouts:
            output = np.empty(shape, dtype)
            outputs.append(output)
            pointers.append(read(id(output) + offset).value)
        self._function(*pointers)
        if self._single_output:
            return outputs[0]
        return self._nest(outputs)

    def _weight_pointers(self, weights, batch: int = 1) -> tuple[list, list]:
        """(the weights' data pointers, fresh dropout masks in place of those weights; the
        masks, which the caller keeps alive until the call returns). `batch`: the call's batch
        size, for an entry compiled for a dynamic batch."""
        weight_pointers = list(weights[1])
        masks = self.module.random_masks(self, batch)
        for position, mask in masks:
            weight_pointers[position] = data_pointer(mask)
        return weight_pointers, masks

    def _call_stateful(self, pointers: list, weights) -> Any:
        """The call of an entry that draws dropout masks or updates parameters (a training
        step): fresh masks in place of those weights; the new values written back after."""
        weight_pointers, masks = self._weight_pointers(weights)  # masks: alive until it returns
        outputs = [np.empty(shape, dtype) for shape, dtype in self._output_layouts]
        self._function(*pointers, *weight_pointers, *[data_pointer(o) for o in outputs])
        self.module.write_updates(self.updates, outputs)
        return self._nest(outputs)


class PortableCpuEntry(CpuEntry):
    """The same call through `__array_interface__`, for a numpy whose ndarray layout the
    import-time probe could not confirm (slower by ~1 us per array, never wrong)."""

    def __call__(self, *args: Any) -> Any:
        if len(args) != self._arity:
            raise self.wrong_argument_count(args)
        arrays = [self.convert_input(index, arg) for index, arg in enumerate(args)]
        weights = self._weights
        if self._stateful:
            return self._call_stateful([data_pointer(array) for array in arrays], weights)
        outputs = [np.empty(shape, dtype) for shape, dtype in self._output_layouts]
        self._function(
            *[data_pointer(array) for array in arrays],
            *weights[1],
            *[data_pointer(output) for output in outputs],
        )
        return self._nest(outputs)


class DynamicBatchCpuEntry(CpuEntry):
    """An entry compiled for a dynamic batch dimension (-1 in the manifest's shapes): the code
    takes the batch size as its last argument, `void f(T* in..., T* weights..., T* out...,
    int64_t batch)`. Each call reads the batch from the arguments, checks that every dynamic
    dimension of every input is that one size and every other dimension is the manifest's,
    and sizes the outputs by it."""

    def __init__(self, module: Module, manifest: Mapping[str, Any], library: ctypes.CDLL):
        super().__init__(module, manifest, library)
        # the batch (int64_t) passed as a c_void_p: the same 64-bit integer register on the
        # 64-bit ABIs cellc's code is built for, and ctypes converts a Python int to c_int64
        # at 0.27 us a call against 0.14 for c_void_p (a third of the seed gradient's call)
        self._function.argtypes = [*self._function.argtypes, ctypes.c_void_p]
        # the input and the axis of the first dynamic dim: the batch (the manifest check
        # ensures one)
        self._batch_index, self._batch_axis = next(
            (index, spec.shape.index(-1))
            for index, spec in enumerate(self.inputs)
            if -1 in spec.shape
        )
        self._layouts: dict[int, tuple[tuple, tuple]] = {}
        # a training step (its arguments take us against its ms), or a numpy whose ndarray
        # layout the import-time probe could not confirm: _general_call
        self._general = self._stateful or _DATA_OFFSET is None

    def convert_input(self, index: int, value: Any) -> np.ndarray:
        """One argument converted, its dynamic dims at its own size (the call checks that the
        inputs agree on it)."""
        spec = self.inputs[index]
        shape = _shape_of(value)
        if len(shape) == len(spec.shape):
            spec = _at_batch(spec, shape[spec.shape.index(-1)]) if -1 in spec.shape else spec
        return as_array(value, spec, f"input '{spec.name}' of '{self.name}'")

    def batch_size(self, args: tuple) -> int:
        """The batch size of a call: the first dynamic dimension of the first dynamic input."""
        index, axis = self._batch_index, self._batch_axis
        shape = _shape_of(args[index])
        if len(shape) != len(self.inputs[index].shape):
            spec = self.inputs[index]
            raise ShapeMismatchError(
                f"input '{spec.name}' of '{self.name}' expects {spec} (-1: the batch, any size), "
                f"got shape {list(shape)}"
            )
        batch = shape[axis]
        if batch < 1:
            raise ShapeMismatchError(
                f"input '{self.inputs[index].name}' of '{self.name}' has batch size {batch}; "
                "the compiled code needs at least 1"
            )
        return batch

    def _layouts_at(self, batch: int) -> tuple[tuple, tuple]:
        """((shape, dtype) of each input, of each output) at `batch`, a size not remembered
        yet; remembered for the last few sizes."""
        if len(self._layouts) >= _REMEMBERED_BATCHES:
            self._layouts.clear()
        layouts = self._layouts[batch] = tuple(
            tuple((_at_batch(spec, batch).shape, spec.dtype) for spec in specs)
            for specs in (self.inputs, self.outputs)
        )
        return layouts

    def _convert_at(self, index: int, value: Any, batch: int) -> np.ndarray:
        spec = self.inputs[index]
        what = f"input '{spec.name}' of '{self.name}'"
        try:
            return as_array(value, _at_batch(spec, batch), what)
        except ShapeMismatchError:
            raise ShapeMismatchError(
                f"{what} expects {spec} (-1: the batch, {batch} in this call, the same in "
                f"every input), got shape {list(_shape_of(value))}"
            ) from None

    def _general_call(self, args, batch: int, output_layouts) -> Any:
        """The call of an entry that draws dropout masks or updates parameters, or of any
        entry where the import-time probe could not confirm numpy's ndarray layout (pointers
        through `__array_interface__`, as PortableCpuEntry's)."""
        arrays = [self._convert_at(position, arg, batch) for position, arg in enumerate(args)]
        weight_pointers, masks = self._weight_pointers(self._weights, batch)  # kept alive
        outputs = [np.empty(shape, dtype) for shape, dtype in output_layouts]
        pointers = [data_pointer(a) for a in (*arrays, *outputs)]
        self._function(*pointers[: len(arrays)], *weight_pointers, *pointers[len(arrays) :], batch)
        if self.updates:
            self.module.write_updates(self.updates, outputs)
        return self._nest(outputs)

    def __call__(self, *args: Any) -> Any:
        if len(args) != self._arity:
            raise self.wrong_argument_count(args)
        # The hot path, as CpuEntry's: the batch read off the first dynamic input, each array
        # that already fits passed by its data pointer, the rest converted (or refused).
        try:  # a size seen before; the shapes are checked against its layouts below
            batch = args[self._batch_index].shape[self._batch_axis]
            input_layouts, output_layouts = self._layouts[batch]
        except (AttributeError, IndexError, KeyError, TypeError):
            batch = self.batch_size(args)  # or a clear error
            input_layouts, output_layouts = self._layouts_at(batch)
        if self._general:
            return self._general_call(args, batch, output_layouts)
        read, offset = _read_pointer, _DATA_OFFSET
        pointers = []
        keep_alive = args  # converted copies are appended below, so they outlive the call
        for position, (shape, dtype) in enumerate(input_layouts):
            arg = args[position]
            if not (
                type(arg) is np.ndarray
                and arg.dtype is dtype
                and arg.shape == shape
                and (flags := arg.flags).c_contiguous
                and flags.aligned
            ):
                arg = self._convert_at(position, arg, batch)
                keep_alive += (arg,)
            pointers.append(read(id(arg) + offset).value)
        pointers += self._weights[1]  # the tuple read once: see CpuEntry.__call__
        outputs = []
        for shape, dtype in output_layouts:
            output = np.empty(shape, dtype)
            outputs.append(output)
            pointers.append(read(id(output) + offset).value)
        self._function(*pointers, batch)
        if self._single_output:
            return outputs[0]
        return self._nest(outputs)


# How many batch sizes an entry remembers the shapes of (a data set's batch and its last one,
# an evaluation batch...); past it the memory starts again.
_REMEMBERED_BATCHES = 16


def _shape_of(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    return tuple(np.shape(value) if shape is None else shape)


def _at_batch(spec: Slot, batch: int) -> Slot:
    """`spec` with the batch size in place of each -1."""
    return Slot(spec.name, tuple(batch if d == -1 else d for d in spec.shape), spec.dtype)
