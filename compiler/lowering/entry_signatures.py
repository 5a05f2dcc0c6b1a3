"""The code's own signature: one constant string per exported function, for the loaders.

Contract
- Reads (`entry_signatures`): the public `func.func`s of a module on tensors, as
  `convert-linalg-to-llvm` receives it -- before bufferizing, every argument and result a ranked
  tensor of a cellc element type (cellc.runtime.dtypes). Each function's arguments then results
  are, in order, the pointer arguments of the code's `NAME(in..., weights..., out...)`.
- Adds (`embed_entry_signatures`, on the LLVM dialect, after lowering): for every function
  `NAME` read, `llvm.mlir.global external constant @cellc_signature_NAME("...\\00")` holding
  `cellc.runtime.artifact.signature_text` of its types, e.g.
  `float32[2,3] float32[1] -> float32[2,3]`. The shared library exports it (dlsym finds it).
  A dynamic (batch) dimension reads -1, and such a function takes the batch size as a last,
  int64 argument (`dynamic_entry_abi.py`).
- The signature describes what the code was built for, independently of the manifest, so the
  loaders refuse a manifest edited to drop or reshape a buffer before the code can read or
  write outside the buffers it is given (runtime/artifact.py, check_entry_signature).
"""

from __future__ import annotations

from mlir import ir

from cellc.runtime.artifact import signature_symbol, signature_text
from cellc.runtime.dtypes import BY_ELEMENT

from ..manifest import shape_json
from .ms_to_linalg import LoweringError


def entry_signatures(module: ir.Module) -> dict[str, str]:
    """The signature string of each public function with a body, by symbol name."""
    signatures = {}
    with module.context:
        for op in module.body.operations:
            if op.operation.name != "func.func" or not op.regions[0].blocks:
                continue
            visibility = (
                op.attributes["sym_visibility"] if "sym_visibility" in op.attributes else None
            )
            if visibility is not None and ir.StringAttr(visibility).value == "private":
                continue
            name = ir.StringAttr(op.attributes["sym_name"]).value
            function_type = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
            signatures[name] = signature_text(
                [_tensor(t, name) for t in function_type.inputs],
                [_tensor(t, name) for t in function_type.results],
            )
    return signatures


def embed_entry_signatures(module: ir.Module, signatures: dict[str, str]) -> None:
    """Appends one exported constant string `cellc_signature_NAME` per signature (in place)."""
    globals_text = "\n".join(
        f'llvm.mlir.global external constant @{signature_symbol(name)}("{text}\\00")'
        f" {{addr_space = 0 : i32}} : !llvm.array<{len(text) + 1} x i8>"
        for name, text in signatures.items()
    )
    with module.context, ir.Location.unknown():
        parsed = ir.Module.parse(f"module {{\n{globals_text}\n}}")
        insertion = ir.InsertionPoint(module.body)
        for op in list(parsed.body.operations):
            op.operation.detach_from_parent()
            insertion.insert(op.operation)


def _tensor(type_: ir.Type, function: str) -> tuple[str, list[int]]:
    try:
        shaped = ir.RankedTensorType(type_)
    except ValueError:
        raise LoweringError(
            f"function '{function}' takes or returns {type_}, not a ranked tensor"
        ) from None
    element = BY_ELEMENT.get(str(shaped.element_type))
    if element is None:
        raise LoweringError(f"function '{function}' has {type_}, which the runtime cannot check")
    return element.numpy, shape_json(shaped)
