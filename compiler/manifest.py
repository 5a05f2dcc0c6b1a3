"""The artifact manifest: what an entry takes and returns, and what each gradient means.

`build_manifest` reads the traced signature (the entry's input names and output nesting, the
program's weights) and the `ms` module before autodiff (which outputs come from `ms.grad`, with
which flags, against which callee arguments). The container and its checks are the runtime's
(`cellc.runtime.artifact`); this is the one place the compiler writes a manifest.
"""

from __future__ import annotations

from mlir import ir

from cellc.dialects import ms

from .program import Program, Weight, structure_json


def build_manifest(program: Program, module: ir.Module, target: dict) -> dict:
    """The manifest of `program`, whose `ms` module (ms.grad not yet expanded) is `module`."""
    entry = _entry_function(module)
    names = program.input_names
    block = entry.regions[0].blocks[0]
    num_inputs = len(program.entry.inputs)
    inputs = list(block.arguments)[:num_inputs]
    returned = list(list(block.operations)[-1].operands)
    num_outputs = len(program.entry.outputs)  # then one hidden result per updated Parameter
    outputs, updates = returned[:num_outputs], returned[num_outputs:]
    # The entry's GradOperation, when it returns gradients (not when, as in a training step,
    # the gradients only feed an optimizer's updates)
    grads = [
        op.operation
        for op in block.operations
        if op.operation.name == ms.GradOp.name
        and any(result == value for result in op.results for value in outputs)
    ]
    symbols = ms.symbol_table(module.operation)
    entry_manifest = {
        "name": program.entry.name,
        "symbol": program.entry.name,
        "inputs": [{"name": name, **_spec_json(v)} for name, v in zip(names, inputs)],
        "weights": [weight.name for weight in program.weights],
        "outputs": [
            {**_spec_json(value), "meaning": _meaning(value, index, inputs, names, symbols)}
            for index, value in enumerate(outputs)
        ]
        + [_update_json(weight, value) for weight, value in zip(program.updated_weights, updates)],
        "structure": structure_json(program.entry.output_structure),
        "gradient": _gradient_json(grads[0], inputs, names, symbols) if len(grads) == 1 else None,
    }
    return {
        "target": target,
        "entries": [entry_manifest],
        "parameters": [_parameter_json(w) for w in program.weights],
    }


def _parameter_json(weight: Weight) -> dict:
    spec = {"name": weight.name, "shape": list(weight.spec.shape), "dtype": weight.spec.numpy_dtype}
    if weight.random is not None:  # a dropout mask, drawn afresh by the runtime every call
        spec["random"] = weight.random
    return spec


def _update_json(weight: Weight, value: ir.Value) -> dict:
    """A hidden output: the new value the entry computes for a Parameter it assigns to."""
    return {
        **_spec_json(value),
        "meaning": f"new value of Parameter {weight.name}",
        "update": weight.name,
    }


def _entry_function(module: ir.Module) -> ir.Operation:
    for op in module.body.operations:
        if ms.ENTRY_ATTR in op.attributes:
            return op.operation
    raise ValueError(f"the module has no function marked {ms.ENTRY_ATTR}")


def _spec_json(value: ir.Value) -> dict:
    spec = ms.spec_of(value)
    return {"shape": list(spec.shape), "dtype": spec.numpy_dtype}


def _input_name(value: ir.Value, inputs: list[ir.Value], names: list[str]) -> str | None:
    """The entry input's name when `value` is one of the entry's inputs."""
    for name, argument in zip(names, inputs):
        if argument == value:
            return name
    return None


def _meaning(value: ir.Value, index: int, inputs, names, symbols) -> str:
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.name != ms.GradOp.name:
        return f"output {index}"
    grad = owner.operation
    callee = symbols[ms.GradOp.read_attributes(grad)["callee"]]
    callee_inputs = ms.num_callee_inputs(callee)
    position = ms.GradOp.mode(grad).wrt(callee_inputs)[ir.OpResult(value).result_number]
    if position < callee_inputs:
        label = _input_name(grad.operands[position], inputs, names)
        return f"d/d input {position}" + (f" ({label})" if label else "")
    return f"d/d Parameter {ms.weight_names(callee)[position]}"


def _gradient_json(grad: ir.Operation, inputs, names, symbols) -> dict:
    mode = ms.GradOp.mode(grad)
    callee = symbols[ms.GradOp.read_attributes(grad)["callee"]]
    num_args = len(ms.weight_names(callee))
    sensitivity = [
        {"input": _input_name(value, inputs, names), **_spec_json(value)}
        for value in list(grad.operands)[num_args:]
    ]
    return {
        "get_all": mode.get_all,
        "get_by_list": mode.get_by_list,
        "sens_param": mode.sens_param,
        "sensitivity": sensitivity,
    }


def mark_dynamic_batch(manifest: dict, module: ir.Module) -> None:
    """Marks -1 each dimension the entry of `module` (compiled for a dynamic batch) has as
    `?`: in its inputs, outputs and sensitivities, and in its dropout masks (weights the
    runtime draws afresh for every call, at the call's batch size). Any other weight sized by
    the batch is refused: the runtime passes a Parameter's one array to every call."""
    from .dynamic_batch import DynamicBatchError

    entry = manifest["entries"][0]
    function_type = ir.FunctionType(
        ir.TypeAttr(_entry_function(module).attributes["function_type"]).value
    )
    arguments, results = list(function_type.inputs), list(function_type.results)
    for spec, type_ in zip(entry["inputs"], arguments):
        spec["shape"] = shape_json(type_)
    parameters = {spec["name"]: spec for spec in manifest["parameters"]}
    for name, type_ in zip(entry["weights"], arguments[len(entry["inputs"]) :]):
        shape = shape_json(type_)
        if -1 not in shape:
            continue
        if parameters[name].get("random") is None:
            raise DynamicBatchError(
                f"cannot compile for a dynamic batch dimension: weight '{name}' is {type_}, "
                "sized by the batch; compile for a static batch size instead"
            )
        parameters[name]["shape"] = shape
    for spec, type_ in zip(entry["outputs"], results):
        spec["shape"] = shape_json(type_)
    by_name = {spec["name"]: spec["shape"] for spec in entry["inputs"]}
    for spec in (entry.get("gradient") or {}).get("sensitivity", []):
        if spec.get("input") in by_name:
            spec["shape"] = by_name[spec["input"]]
    entry["dynamic_batch"] = True


def shape_json(type_: ir.Type) -> list[int]:
    """The shape of a ranked tensor type as manifests and code signatures write it: -1 for a
    dynamic dim (the batch, compiler/dynamic_batch.py)."""
    return [-1 if ir.ShapedType.is_dynamic_size(d) else d for d in ir.RankedTensorType(type_).shape]
