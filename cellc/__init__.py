"""cellc: an ahead-of-time compiler for MindSpore-style models.

The user-facing API (Tensor, Parameter, nn, ops, dtype, context, export) loads on first use,
so that `import cellc.runtime` loads the runtime alone: no user API, no compiler, no MLIR.
The compiler (and MLIR) load on the first compile.
"""

import importlib

__version__ = "0.1.0"

# name -> (submodule, attribute or None for the submodule itself)
_API = {
    "Tensor": ("cellc.tensor", "Tensor"),
    "Parameter": ("cellc.parameter", "Parameter"),
    "ParameterTuple": ("cellc.parameter", "ParameterTuple"),
    "export": ("cellc.frontend", "export"),
    "context": ("cellc.context", None),
    "set_seed": ("cellc.context", "set_seed"),
    "get_seed": ("cellc.context", "get_seed"),
    "run_check": ("cellc.check", "run_check"),
    "dtype_to_nptype": ("cellc.dtype", "dtype_to_nptype"),
    "pytype_to_dtype": ("cellc.dtype", "pytype_to_dtype"),
    "dtype": ("cellc.dtype", None),
    "nn": ("cellc.nn", None),
    "tensor": ("cellc.tensor", None),  # a callable module: ms.tensor(data, dtype)
    "CSRTensor": ("cellc.sparse", "CSRTensor"),
    "COOTensor": ("cellc.sparse", "COOTensor"),
    "is_tensor": ("cellc.autograd", "is_tensor"),
    "mint": ("cellc.mint", None),
    "ops": ("cellc.ops", None),
    "dataset": ("cellc.dataset", None),
    "communication": ("cellc.communication", None),
    # MindSpore 2.x's top level
    "grad": ("cellc.autograd", "grad"),
    "value_and_grad": ("cellc.autograd", "value_and_grad"),
    "vjp": ("cellc.autograd", "vjp"),
    "jvp": ("cellc.autograd", "jvp"),
    "jacfwd": ("cellc.autograd", "jacfwd"),
    "jacrev": ("cellc.autograd", "jacrev"),
    "vmap": ("cellc.autograd", "vmap"),
    "jit": ("cellc.autograd", "jit"),
    "mutable": ("cellc.autograd", "mutable"),
    "ms_function": ("cellc.autograd", "jit"),  # MindSpore 1.x's name of jit
    "jit_class": ("cellc.autograd", "jit_class"),
    "ms_class": ("cellc.autograd", "jit_class"),
    "lazy_inline": ("cellc.autograd", "compile_hint"),
    "no_inline": ("cellc.autograd", "compile_hint"),
    "JitConfig": ("cellc.autograd", "JitConfig"),
    "set_context": ("cellc.context", "set_context"),
    "set_device": ("cellc.context", "set_device"),
    "get_context": ("cellc.context", "get_context"),
    "GRAPH_MODE": ("cellc.context", "GRAPH_MODE"),
    "PYNATIVE_MODE": ("cellc.context", "PYNATIVE_MODE"),
    "STRICT": ("cellc.context", "STRICT"),
    "COMPATIBLE": ("cellc.context", "COMPATIBLE"),
    "LAX": ("cellc.context", "LAX"),
    "ParallelMode": ("cellc.context", "ParallelMode"),
    "set_auto_parallel_context": ("cellc.context", "set_auto_parallel_context"),
    "get_auto_parallel_context": ("cellc.context", "get_auto_parallel_context"),
    "reset_auto_parallel_context": ("cellc.context", "reset_auto_parallel_context"),
    "float16": ("cellc.dtype", "float16"),
    "float32": ("cellc.dtype", "float32"),
    "float64": ("cellc.dtype", "float64"),
    "int8": ("cellc.dtype", "int8"),
    "int16": ("cellc.dtype", "int16"),
    "int32": ("cellc.dtype", "int32"),
    "int64": ("cellc.dtype", "int64"),
    "bool_": ("cellc.dtype", "bool_"),
    "save_checkpoint": ("cellc.serialization", "save_checkpoint"),
    "load_checkpoint": ("cellc.serialization", "load_checkpoint"),
    "load_param_into_net": ("cellc.serialization", "load_param_into_net"),
    "load": ("cellc.serialization", "load"),
    "train": ("cellc.train", None),
    "amp": ("cellc.amp", None),
    "LossScaleManager": ("cellc.amp", "LossScaleManager"),
    "FixedLossScaleManager": ("cellc.amp", "FixedLossScaleManager"),
    "DynamicLossScaleManager": ("cellc.amp", "DynamicLossScaleManager"),
    "Model": ("cellc.train.model", "Model"),
    "Callback": ("cellc.train.callback", "Callback"),
    "RunContext": ("cellc.train.callback", "RunContext"),
    "LossMonitor": ("cellc.train.callback", "LossMonitor"),
    "TimeMonitor": ("cellc.train.callback", "TimeMonitor"),
    "ModelCheckpoint": ("cellc.train.callback", "ModelCheckpoint"),
    "CheckpointConfig": ("cellc.train.callback", "CheckpointConfig"),
    "EarlyStopping": ("cellc.train.callback", "EarlyStopping"),
    "History": ("cellc.train.callback", "History"),
    "LambdaCallback": ("cellc.train.callback", "LambdaCallback"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        if name.startswith("__"):  # Python's own probes (`__wrapped__`)
            raise AttributeError(f"module 'cellc' has no attribute '{name}'")
        raise AttributeError(f"cellc has no mindspore.{name} yet")
    module_name, attribute = _API[name]
    if attribute is not None:  # cellc.ops attaches Tensor's operators: load it with Tensor
        importlib.import_module("cellc.ops")
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
