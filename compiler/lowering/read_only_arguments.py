"""Function arguments are the caller's buffers: bufferization must never write into them.

One-shot bufferization treats a function's tensor arguments as writable unless told otherwise,
so an op whose `outs` is an argument (a reduction into an initial value, say) would update the
caller's input or weight in place. Marking every argument `bufferization.writable = false`
makes the bufferizer copy instead. Both back ends call `mark_arguments_read_only` right before
bufferizing.
"""

from __future__ import annotations

from mlir import ir

WRITABLE = "bufferization.writable"


def mark_arguments_read_only(module: ir.Module) -> None:
    """Sets `bufferization.writable = false` on every tensor argument of every func.func."""
    with module.context:
        false = ir.BoolAttr.get(False)
        for op in module.body.operations:
            if op.operation.name != "func.func":
                continue
            func_op = op.operation
            inputs = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value).inputs
            old = (
                list(ir.ArrayAttr(func_op.attributes["arg_attrs"]))
                if "arg_attrs" in func_op.attributes
                else [ir.DictAttr.get({}) for _ in inputs]
            )
            new = []
            for arg_type, attrs in zip(inputs, old):
                entries = {a.name: a.attr for a in ir.DictAttr(attrs)}
                if isinstance(arg_type, ir.RankedTensorType):
                    entries[WRITABLE] = false
                new.append(ir.DictAttr.get(entries))
            func_op.attributes["arg_attrs"] = ir.ArrayAttr.get(new)
