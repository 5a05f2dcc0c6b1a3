"""The launch plan: what the host half of a GPU program does, as JSON the runtime executes.

Contract
--------
Reads: the module `convert-linalg-to-gpu` leaves (host `func.func`s of gpu.launch_func plus
buffer bookkeeping, kernels in `gpu.module @cellc_kernels`).

Host ops understood (anything else raises LaunchPlanError naming the op):
  * `arith.constant` (scalars passed by value to kernels, grid/block sizes);
  * `memref.alloc` (static shape, identity layout): a temporary device buffer;
  * `memref.get_global` of a constant `memref.global`: a constant buffer, uploaded once
    (its values are in the plan, row-major, as a list);
  * `memref.expand_shape` / `collapse_shape` / `reshape` / `cast` of a contiguous buffer: a view,
    bound as its base buffer (same pointer, new shape);
  * `memref.copy` between two whole buffers: a device-to-device copy step;
  * `memref.dealloc`: ignored (the runtime owns temporaries for the entry's lifetime);
  * `gpu.launch_func` with constant grid/block sizes: a launch step;
  * `func.return`.

Plan layout (per entry function):
  {"name", "inputs": [spec], "weights": [spec + "name"], "outputs": [spec], "temporaries":
   [spec], "constants": [spec + "values"], "steps": [{"op": "launch", "kernel", "grid", "block",
   "args": [{"buffer": id, "shape", "dtype"} | {"scalar": dtype, "value"}]} | {"op": "copy",
   "src": id, "dst": id, "nbytes"}]}
A buffer id is "input:i", "weight:i", "output:i", "temp:i" or "const:i"; a spec is
{"shape": [...], "dtype": "float32"}.

Bools: convert-bool-tensors-to-i8 stores a bool tensor as bytes holding 0 or 1, so the host
function's buffer is i8. An input, weight or output that the entry's signature declares bool
(`bool_boundaries`, read before that pass) is labelled "bool" in the plan, as in the manifest:
numpy's bool is the same byte, so the runtime uploads the caller's bool arrays and returns
bool arrays, as the CPU target does. Temporaries and kernel arguments stay "int8".
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from cellc.dialects import ms
from cellc.runtime.dtypes import ELEMENT_TYPES

PLAN_VERSION = 1

# cellc's element types (cellc.runtime.dtypes), and the host-side integers the kernels' launch
# code may hold as scalars.
_DTYPES = {
    **{t.element: t.numpy for t in ELEMENT_TYPES},
    "i8": "int8",
    "i16": "int16",
    "index": "int64",
}


class LaunchPlanError(RuntimeError):
    """Host code the runtime cannot execute; the message names the op."""


def _dtype(element_type: ir.Type) -> str:
    name = str(element_type)
    if name not in _DTYPES:
        raise LaunchPlanError(f"element type {name} has no numpy dtype for the launch plan")
    return _DTYPES[name]


def _spec(memref_type: ir.Type) -> dict:
    memref = ir.MemRefType(memref_type)
    if not memref.has_static_shape:
        raise LaunchPlanError(f"buffer of type {memref_type} is not statically shaped")
    if "strided" in str(memref_type) or "affine_map" in str(memref_type):
        raise LaunchPlanError(f"buffer of type {memref_type} is not contiguous row-major")
    return {"shape": list(memref.shape), "dtype": _dtype(memref.element_type)}


def _nbytes(spec: dict) -> int:
    return int(np.prod(spec["shape"], dtype=np.int64)) * np.dtype(spec["dtype"]).itemsize


def _constant_values(op: ir.Operation):
    attr = op.attributes["value"]
    if isinstance(attr, ir.IntegerAttr):
        return int(attr.value)
    if isinstance(attr, ir.FloatAttr):
        return float(attr.value)
    raise LaunchPlanError(f"'arith.constant' op: unsupported host constant {attr}")


def bool_boundaries(module: ir.Module) -> dict[str, list[bool]]:
    """For each function on tensors, whether each argument then each result is a bool tensor
    (read before convert-bool-tensors-to-i8; the host function's buffers follow this order)."""
    boundaries = {}
    with module.context:
        bool_type = ir.IntegerType.get_signless(1)
        for op in module.body:
            op = op.operation
            if op.name != "func.func":
                continue
            function_type = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
            boundaries[ir.StringAttr(op.attributes["sym_name"]).value] = [
                isinstance(t, ir.RankedTensorType)
                and ir.RankedTensorType(t).element_type == bool_type
                for t in [*function_type.inputs, *function_type.results]
            ]
    return boundaries


def _as_bool(spec: dict, function: str, index: int) -> dict:
    """The spec of a bool tensor's byte buffer, labelled bool (see the module docstring)."""
    if spec["dtype"] != "int8":
        raise LaunchPlanError(
            f"@{function}: buffer argument {index} is bool in the signature but stored as "
            f"{spec['dtype']} (expected int8 bytes from convert-bool-tensors-to-i8)"
        )
    return {**spec, "dtype": "bool"}


def extract_entry_plan(
    func: ir.Operation, module_globals: dict[str, ir.Operation], bools: list[bool] | None = None
) -> dict:
    """The launch plan of one host function (see the module docstring); `bools`: which of
    its buffer arguments are bool tensors stored as bytes (`bool_boundaries`)."""
    name = ir.StringAttr(func.attributes["sym_name"]).value
    num_results = ir.IntegerAttr(func.attributes["cellc.num_results"]).value
    body = func.regions[0].blocks[0]
    arguments = list(body.arguments)
    num_params = len(arguments) - num_results
    arg_attrs = (
        list(ir.ArrayAttr(func.attributes["arg_attrs"]))
        if "arg_attrs" in func.attributes
        else [None] * len(arguments)
    )

    plan = {
        "name": name,
        "inputs": [],
        "weights": [],
        "outputs": [],
        "temporaries": [],
        "constants": [],
        "steps": [],
    }
    buffers: dict = {}  # ir.Value -> buffer id
    scalars: dict = {}  # ir.Value -> (dtype, value)

    for index, argument in enumerate(arguments):
        spec = _spec(argument.type)
        if bools is not None and bools[index]:
            spec = _as_bool(spec, name, index)
        attrs = ir.DictAttr(arg_attrs[index]) if arg_attrs[index] is not None else None
        if index >= num_params:
            buffers[argument] = f"output:{len(plan['outputs'])}"
            plan["outputs"].append(spec)
        elif attrs is not None and ms.WEIGHT_ATTR in attrs:
            spec["name"] = ir.StringAttr(attrs[ms.WEIGHT_ATTR]).value
            buffers[argument] = f"weight:{len(plan['weights'])}"
            plan["weights"].append(spec)
        else:
            buffers[argument] = f"input:{len(plan['inputs'])}"
            plan["inputs"].append(spec)

    for op in body:
        op = op.operation
        kind = op.name
        if kind == "arith.constant":
            if isinstance(op.results[0].type, (ir.IntegerType, ir.FloatType, ir.IndexType)):
                scalars[op.results[0]] = (_dtype(op.results[0].type), _constant_values(op))
            else:
                raise LaunchPlanError(f"'{kind}' op: host-side tensor/vector constant {op}")
        elif kind == "memref.alloc" or kind == "memref.alloca":
            if len(op.operands):
                raise LaunchPlanError(f"'{kind}' op: dynamically sized buffer {op.results[0].type}")
            buffers[op.results[0]] = f"temp:{len(plan['temporaries'])}"
            plan["temporaries"].append(_spec(op.results[0].type))
        elif kind == "memref.get_global":
            symbol = ir.FlatSymbolRefAttr(op.attributes["name"]).value
            values = _global_values(module_globals.get(symbol), symbol)
            spec = _spec(op.results[0].type)
            spec["values"] = values.astype(spec["dtype"]).reshape(-1).tolist()
            buffers[op.results[0]] = f"const:{len(plan['constants'])}"
            plan["constants"].append(spec)
        elif kind in (
            "memref.expand_shape",
            "memref.collapse_shape",
            "memref.reshape",
            "memref.cast",
        ):
            _spec(op.results[0].type)  # a view must stay contiguous
            buffers[op.results[0]] = _lookup(buffers, op.operands[0], op)
        elif kind == "memref.copy":
            source = _lookup(buffers, op.operands[0], op)
            target = _lookup(buffers, op.operands[1], op)
            plan["steps"].append(
                {
                    "op": "copy",
                    "src": source,
                    "dst": target,
                    "nbytes": _nbytes(_spec(op.operands[0].type)),
                }
            )
        elif kind == "memref.dealloc":
            continue
        elif kind == "gpu.launch_func":
            plan["steps"].append(_launch_step(op, buffers, scalars))
        elif kind == "func.return":
            break
        else:
            raise LaunchPlanError(
                f"'{kind}' op in host function @{name}: the CUDA runtime cannot execute it "
                "(only buffer bookkeeping and gpu.launch_func may remain on the host)"
            )
    return plan


def _lookup(buffers: dict, value: ir.Value, op: ir.Operation) -> str:
    if value not in buffers:
        raise LaunchPlanError(
            f"'{op.name}' op: operand {value.get_name()} is not a whole device buffer "
            "(a subview or a value the plan cannot describe)"
        )
    return buffers[value]


def _global_values(global_op: ir.Operation | None, symbol: str) -> np.ndarray:
    if global_op is None or "initial_value" not in global_op.attributes:
        raise LaunchPlanError(f"'memref.get_global' op: @{symbol} has no constant initial value")
    if "constant" not in global_op.attributes:
        raise LaunchPlanError(f"'memref.get_global' op: @{symbol} is a mutable global")
    attr = global_op.attributes["initial_value"]
    if not isinstance(attr, ir.DenseElementsAttr):
        raise LaunchPlanError(f"'memref.global' @{symbol}: initial value is not dense elements")
    shape = ir.ShapedType(attr.type).shape
    if attr.is_splat:
        splat = attr.get_splat_value()
        value = float(splat.value) if isinstance(splat, ir.FloatAttr) else int(splat.value)
        return np.full(shape, value)
    return np.array(attr).reshape(shape)


def _launch_step(op: ir.Operation, buffers: dict, scalars: dict) -> dict:
    kernel = ir.SymbolRefAttr(op.attributes["kernel"])
    operands = list(op.operands)
    segments = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))
    # Segments: async deps, grid x/y/z, block x/y/z, cluster x/y/z (optional), dynamic shared
    # memory size (optional), kernel operands, async object (optional).
    names = [
        "async",
        "gx",
        "gy",
        "gz",
        "bx",
        "by",
        "bz",
        "cx",
        "cy",
        "cz",
        "smem",
        "args",
        "object",
    ]
    if len(segments) != len(names):
        raise LaunchPlanError(f"'gpu.launch_func' op: unexpected operand segments {segments}")
    groups, start = {}, 0
    for name, size in zip(names, segments):
        groups[name] = operands[start : start + size]
        start += size
    if groups["async"] or groups["cx"] or groups["smem"] or groups["object"]:
        raise LaunchPlanError(
            "'gpu.launch_func' op: async, cluster or dynamic shared memory "
            "launches are not supported by the CUDA runtime"
        )

    def constant(value):
        if value not in scalars:
            raise LaunchPlanError(
                f"'gpu.launch_func' op: grid/block size {value.get_name()} is not a host constant"
            )
        return int(scalars[value][1])

    args = []
    for value in groups["args"]:
        if isinstance(value.type, ir.MemRefType):
            spec = _spec(value.type)
            args.append({"buffer": _lookup(buffers, value, op), **spec})
        elif value in scalars:
            dtype, number = scalars[value]
            args.append({"scalar": dtype, "value": number})
        else:
            raise LaunchPlanError(
                f"'gpu.launch_func' op: argument {value.get_name()} is "
                "neither a device buffer nor a host constant"
            )
    return {
        "op": "launch",
        "kernel": str(kernel).split("::")[-1].lstrip("@"),
        "grid": [constant(v) for v in groups["gx"] + groups["gy"] + groups["gz"]],
        "block": [constant(v) for v in groups["bx"] + groups["by"] + groups["bz"]],
        "args": args,
    }


def extract_launch_plan(module: ir.Module, bools: dict[str, list[bool]] | None = None) -> dict:
    """The launch plan of every host function of `module` (JSON-serializable); `bools`:
    `bool_boundaries` of the module before its bool tensors became bytes."""
    module_globals = ms.symbol_table(module.operation, "memref.global")
    entries = {}
    for op in module.body:
        op = op.operation
        if op.name == "func.func" and op.regions[0].blocks:
            name = ir.StringAttr(op.attributes["sym_name"]).value
            plan = extract_entry_plan(op, module_globals, (bools or {}).get(name))
            entries[plan["name"]] = plan
    return {"version": PLAN_VERSION, "entries": entries}
