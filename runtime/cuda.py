"""Run a cellc GPU program with the CUDA driver API (cuda-python's `cuda.bindings.driver`).

Executes a launch plan (compiler/lowering/launch_plan.py documents its layout) against a PTX or
cubin image: inputs and weights are copied to the device, temporaries and constants are device
buffers kept for the entry's lifetime, each step is a `cuLaunchKernel` (or a device-to-device
copy), outputs are copied back. Imports neither mlir nor cellc.compiler.

    entry = CudaEntry(plan["entries"]["net"], cubin_or_ptx)
    (out,) = entry(x, weights=[w1, b1])
"""

from __future__ import annotations

import ctypes
import json
import threading

import numpy as np

from .artifact import ArtifactError, check_entry_signature, signature_text
from .module import Entry, Module


class CudaUnavailableError(ArtifactError, RuntimeError):
    """No usable CUDA driver or GPU here (the message says why); compile with --target cpu."""


class CudaError(RuntimeError):
    """A CUDA driver call failed; the message names the call and the driver's error."""


_HINT = "; GPU execution needs an NVIDIA driver and GPU, or compile with `--target cpu`"


def _driver():
    try:
        from cuda.bindings import driver
    except ImportError as error:
        raise CudaUnavailableError(
            f"cuda-python is not installed ({error}); `pip install 'cellc[cuda]'`" + _HINT
        ) from None
    return driver


def _check(driver, result, call: str):
    """cuda-python returns (CUresult, *values); raise on failure, return the values."""
    status, *values = result if isinstance(result, tuple) else (result,)
    if status != driver.CUresult.CUDA_SUCCESS:
        _, name = driver.cuGetErrorName(status)
        raise CudaError(f"{call} failed: {name.decode() if isinstance(name, bytes) else name}")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


_CONTEXT = None


def cuda_context():
    """The driver and a primary context on device 0, created once. Raises CudaUnavailableError."""
    global _CONTEXT
    driver = _driver()
    if _CONTEXT is not None:
        return driver, _CONTEXT
    try:
        status = driver.cuInit(0)
    except Exception as error:  # noqa: BLE001 (cuda-python raises its own loader errors)
        raise CudaUnavailableError(f"cannot load the CUDA driver ({error})" + _HINT) from None
    status = status[0] if isinstance(status, tuple) else status
    if status != driver.CUresult.CUDA_SUCCESS:
        raise CudaUnavailableError(f"cuInit failed ({status.name})" + _HINT)
    count = _check(driver, driver.cuDeviceGetCount(), "cuDeviceGetCount")
    if not count:
        raise CudaUnavailableError("the CUDA driver reports no GPU" + _HINT)
    device = _check(driver, driver.cuDeviceGet(0), "cuDeviceGet")
    context = _check(driver, driver.cuDevicePrimaryCtxRetain(device), "cuDevicePrimaryCtxRetain")
    _check(driver, driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    _CONTEXT = context
    return driver, context


def cuda_available() -> tuple[bool, str]:
    """(True, "") when a GPU can run kernels here, else (False, reason)."""
    try:
        cuda_context()
    except (CudaUnavailableError, CudaError) as error:
        return False, str(error)
    return True, ""


class _DeviceBuffer:
    def __init__(self, driver, nbytes: int):
        self.driver = driver
        self.nbytes = max(int(nbytes), 1)
        self.ptr = _check(driver, driver.cuMemAlloc(self.nbytes), "cuMemAlloc")

    def upload(self, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array)
        _check(
            self.driver,
            self.driver.cuMemcpyHtoD(self.ptr, array.ctypes.data, array.nbytes),
            "cuMemcpyHtoD",
        )

    def download(self, array: np.ndarray) -> None:
        _check(
            self.driver,
            self.driver.cuMemcpyDtoH(array.ctypes.data, self.ptr, array.nbytes),
            "cuMemcpyDtoH",
        )

    def free(self) -> None:
        if self.ptr is not None:
            self.driver.cuMemFree(self.ptr)
            self.ptr = None


def _nbytes(spec: dict) -> int:
    return int(np.prod(spec["shape"], dtype=np.int64)) * np.dtype(spec["dtype"]).itemsize


_SCALAR_CTYPES = {
    "float32": ctypes.c_float,
    "float64": ctypes.c_double,
    "int64": ctypes.c_int64,
    "int32": ctypes.c_int32,
    "int16": ctypes.c_int16,
    "int8": ctypes.c_int8,
    "bool": ctypes.c_bool,
}


class CudaModule:
    """A loaded PTX or cubin image (`cuModuleLoadData`); kernels are found by name."""

    def __init__(self, image: bytes | str):
        self.driver, self.context = cuda_context()
        data = image.encode() + b"\0" if isinstance(image, str) else bytes(image)
        if data[:4] != b"\x7fELF" and not data.endswith(b"\0"):
            data += b"\0"  # PTX must be NUL-terminated
        self._data = data  # keep alive while the driver reads it
        self.handle = _check(self.driver, self.driver.cuModuleLoadData(data), "cuModuleLoadData")
        self._functions = {}

    def function(self, name: str):
        if name not in self._functions:
            self._functions[name] = _check(
                self.driver,
                self.driver.cuModuleGetFunction(self.handle, name.encode()),
                f"cuModuleGetFunction({name})",
            )
        return self._functions[name]


class CudaEntry:
    """One entry point of a GPU program: `entry(*inputs, weights=...) -> tuple of outputs`."""

    def __init__(self, plan: dict, image: bytes | str | CudaModule):
        self.plan = plan
        self.module = image if isinstance(image, CudaModule) else CudaModule(image)
        self.driver = self.module.driver
        driver = self.driver

        def alloc(spec):
            return _DeviceBuffer(driver, _nbytes(spec))

        self.buffers: dict[str, _DeviceBuffer] = {}
        for role, key in (
            ("input", "inputs"),
            ("weight", "weights"),
            ("output", "outputs"),
            ("temp", "temporaries"),
            ("const", "constants"),
        ):
            for index, spec in enumerate(plan[key]):
                self.buffers[f"{role}:{index}"] = alloc(spec)
        for index, spec in enumerate(plan["constants"]):
            values = np.asarray(spec["values"], dtype=spec["dtype"]).reshape(spec["shape"])
            self.buffers[f"const:{index}"].upload(values)
        self._launches = [self._prepare(step) for step in plan["steps"]]
        self._weights_uploaded = not plan["weights"]

    def _prepare(self, step: dict):
        if step["op"] == "copy":
            return ("copy", self.buffers[step["src"]], self.buffers[step["dst"]], step["nbytes"])
        values, types = [], []
        for arg in step["args"]:
            if "buffer" in arg:
                values.append(int(self.buffers[arg["buffer"]].ptr))
                types.append(ctypes.c_void_p)
            else:
                values.append(arg["value"])
                types.append(_SCALAR_CTYPES[arg["scalar"]])
        function = self.module.function(step["kernel"])
        return ("launch", function, step["grid"], step["block"], (tuple(values), tuple(types)))

    def set_weights(self, weights) -> None:
        """Uploads the weights (a sequence in plan order, or a dict by Parameter name)."""
        specs = self.plan["weights"]
        if isinstance(weights, dict):
            weights = [weights[spec["name"]] for spec in specs]
        if len(weights) != len(specs):
            raise ValueError(
                f"{self.plan['name']}: expected {len(specs)} weights, got {len(weights)}"
            )
        for index, (spec, value) in enumerate(zip(specs, weights)):
            array = self._checked(value, spec, f"weight {spec.get('name', index)}")
            self.buffers[f"weight:{index}"].upload(array)
        self._weights_uploaded = True

    def _checked(self, value, spec: dict, what: str) -> np.ndarray:
        array = np.ascontiguousarray(np.asarray(value, dtype=spec["dtype"]))
        if list(array.shape) != list(spec["shape"]):
            raise ValueError(
                f"{self.plan['name']}: {what} has shape {list(array.shape)}, "
                f"expected {spec['shape']}"
            )
        return array

    def __call__(self, *inputs, weights=None):
        specs = self.plan["inputs"]
        if len(inputs) != len(specs):
            raise ValueError(
                f"{self.plan['name']}: expected {len(specs)} inputs, got {len(inputs)}"
            )
        if weights is not None:
            self.set_weights(weights)
        if not self._weights_uploaded:
            raise ValueError(f"{self.plan['name']}: weights were never given (set_weights)")
        for index, (spec, value) in enumerate(zip(specs, inputs)):
            self.buffers[f"input:{index}"].upload(self._checked(value, spec, f"input {index}"))
        driver = self.driver
        for launch in self._launches:
            if launch[0] == "copy":
                _, source, target, nbytes = launch
                _check(driver, driver.cuMemcpyDtoD(target.ptr, source.ptr, nbytes), "cuMemcpyDtoD")
                continue
            _, function, grid, block, args = launch
            _check(
                driver,
                driver.cuLaunchKernel(function, *grid, *block, 0, 0, args, 0),
                "cuLaunchKernel",
            )
        _check(driver, driver.cuCtxSynchronize(), "cuCtxSynchronize")
        outputs = []
        for index, spec in enumerate(self.plan["outputs"]):
            array = np.empty(spec["shape"], dtype=spec["dtype"])
            self.buffers[f"output:{index}"].download(array)
            outputs.append(array)
        return tuple(outputs)

    def close(self) -> None:
        for buffer in self.buffers.values():
            buffer.free()
        self.buffers = {}


# --- the artifact backend: `cellc.runtime.load` of a target.kind == "cuda" artifact ---------

PTX_MEMBER = "kernels.ptx"
CUBIN_MEMBER = "kernels.cubin"
PLAN_MEMBER = "plan.json"


def load(artifact):
    """Binds a CUDA artifact: checks the manifest against its launch plan, then loads its cubin
    (or, failing that, its PTX) on device 0."""
    plan = read_plan(artifact)
    ok, reason = cuda_available()
    if not ok:
        raise CudaUnavailableError(
            f"'{artifact.path}' was compiled for an NVIDIA GPU, but {reason}"
        )
    image = _load_image(artifact)

    class GpuEntry(Entry):
        """An entry point executing its launch plan; calls are serialized (one set of device
        buffers per entry)."""

        def __init__(self, module, manifest):
            super().__init__(module, manifest)
            if self.symbol not in plan["entries"]:
                raise ArtifactError(f"'{artifact.path}' has no launch plan for '{self.symbol}'")
            self._cuda = CudaEntry(plan["entries"][self.symbol], image)
            self._lock = threading.RLock()  # a call's write_updates may re-enter
            self._parameters_changed()

        def _parameters_changed(self):
            with self._lock:
                self._cuda.set_weights([self.module.parameters[n] for n in self.weights])

        def __call__(self, *args):
            if len(args) != len(self.inputs):
                raise self.wrong_argument_count(args)
            arrays = [self.convert_input(i, a) for i, a in enumerate(args)]
            with self._lock:
                if self.updates or self.random_weights:
                    return self._call_stateful(arrays)
                outputs = self._cuda(*arrays)
            return self._nest(list(outputs))

        def _call_stateful(self, arrays):
            """A training step, as the CPU backend runs it: fresh dropout masks uploaded in
            place of those weights; after the call, each parameter's new value (a hidden output)
            written into its host array, and the weights uploaded again, since the device
            holds the old values."""
            if self.random_weights:
                weights = [self.module.parameters[n] for n in self.weights]
                for position, mask in self.module.random_masks(self):
                    weights[position] = mask
                self._cuda.set_weights(weights)
            outputs = list(self._cuda(*arrays))
            if self.updates:
                self.module.write_updates(self.updates, outputs)
                self._cuda.set_weights([self.module.parameters[n] for n in self.weights])
            return self._nest(outputs)

    return Module(artifact, GpuEntry)


def read_plan(artifact) -> dict:
    """The launch plan, each manifest entry checked against it (without a GPU).

    The plan sizes every device buffer and the copies back, so a manifest that disagrees with
    it is refused as `check_entry_signature` refuses one that disagrees with CPU code. (The
    kernels' own bounds are compiled into the PTX; that the plan matches them is not checked.)
    """
    try:
        plan = json.loads(artifact.member(PLAN_MEMBER))
        entries = plan["entries"]
        for entry in artifact.manifest["entries"]:
            if entry["symbol"] not in entries:
                raise ArtifactError(f"'{artifact.path}' has no launch plan for '{entry['symbol']}'")
            buffers = entries[entry["symbol"]]
            signature = signature_text(
                [(spec["dtype"], spec["shape"]) for spec in buffers["inputs"] + buffers["weights"]],
                [(spec["dtype"], spec["shape"]) for spec in buffers["outputs"]],
            )
            check_entry_signature(artifact.path, artifact.manifest, entry, signature)
    except (ValueError, KeyError, TypeError) as error:
        raise ArtifactError(
            f"'{artifact.path}' is corrupt: its launch plan is invalid ({error})"
        ) from None
    return plan


def _load_image(artifact) -> CudaModule:
    """The cubin when the device runs it, else the PTX (which the driver compiles for any
    newer GPU)."""
    if CUBIN_MEMBER in artifact.members:
        try:
            return CudaModule(artifact.member(CUBIN_MEMBER))
        except CudaError:
            pass  # built for another chip
    return CudaModule(artifact.member(PTX_MEMBER).decode())
