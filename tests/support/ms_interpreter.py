"""A numpy reference interpreter for `ms` IR — a test tool, never the user's execution path.

`run(module, "Net", x, y)` evaluates the function `@Net` on numpy arrays and returns its results
as a list. It interprets every `ms` op except `ms.grad` (expand gradients first), plus
`func.call` and `func.return`. Arithmetic happens in the arrays' own dtype, so float64 inputs
give float64 reference values for finite-difference checks.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from cellc.dialects import ms


def _attrs(op):
    return ms.OPS[op.name].read_attributes(op)


def _result_shape(op):
    return ms.spec_of(op.results[0]).shape


def _matmul(op, a, b):
    attrs = _attrs(op)
    a = a.T if attrs["transpose_a"] else a
    b = b.T if attrs["transpose_b"] else b
    return a @ b


def _reduce_sum(op, x):
    attrs = _attrs(op)
    return np.sum(x, axis=tuple(attrs["axes"]), keepdims=attrs["keep_dims"])


def _reduce_max(op, x):
    attrs = _attrs(op)
    return np.max(x, axis=tuple(attrs["axes"]), keepdims=attrs["keep_dims"])


def _cast(op, x):
    return x.astype(ms.spec_of(op.results[0]).numpy_dtype)


def _constant(op):
    return _attrs(op)["value"]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


EVALUATORS = {
    "ms.constant": _constant,
    "ms.add": lambda op, a, b: a + b,
    "ms.sub": lambda op, a, b: a - b,
    "ms.mul": lambda op, a, b: a * b,
    "ms.div": lambda op, a, b: a / b,
    "ms.maximum": lambda op, a, b: np.maximum(a, b),
    "ms.minimum": lambda op, a, b: np.minimum(a, b),
    "ms.neg": lambda op, x: -x,
    "ms.relu": lambda op, x: np.maximum(x, 0),
    "ms.relu_grad": lambda op, dy, x: np.where(x > 0, dy, np.zeros_like(dy)),
    "ms.exp": lambda op, x: np.exp(x),
    "ms.log": lambda op, x: np.log(x),
    "ms.tanh": lambda op, x: np.tanh(x),
    "ms.sigmoid": lambda op, x: _sigmoid(x),
    "ms.sqrt": lambda op, x: np.sqrt(x),
    "ms.sin": lambda op, x: np.sin(x),
    "ms.cos": lambda op, x: np.cos(x),
    "ms.abs": lambda op, x: np.abs(x),
    "ms.sign": lambda op, x: np.sign(x),
    "ms.cast": _cast,
    "ms.stop_gradient": lambda op, x: x,
    "ms.matmul": _matmul,
    "ms.reduce_sum": _reduce_sum,
    "ms.reduce_max": _reduce_max,
    "ms.reshape": lambda op, x: np.reshape(x, _result_shape(op)),
    "ms.broadcast_to": lambda op, x: np.broadcast_to(x, _result_shape(op)).copy(),
    "ms.transpose": lambda op, x: np.transpose(x, _attrs(op)["perm"]),
}


def _functions(module: ir.Module) -> dict[str, ir.Operation]:
    return {
        ir.StringAttr(op.attributes["sym_name"]).value: op.operation
        for op in module.body.operations
        if op.operation.name == "func.func"
    }


def run(module: ir.Module, func_name: str, *args) -> list[np.ndarray]:
    """Evaluates `@func_name` of `module` on `args`; returns the results as numpy arrays."""
    return _call(_functions(module), func_name, [np.asarray(a) for a in args])


def _call(functions, name, args):
    func_op = functions[name]
    block = func_op.regions[0].blocks[0]
    if len(args) != len(block.arguments):
        raise TypeError(f"@{name} takes {len(block.arguments)} arguments, got {len(args)}")
    env = dict(zip(block.arguments, args))
    for op in block.operations:
        op = op.operation
        operands = [env[v] for v in op.operands]
        if op.name == "func.return":
            return operands
        if op.name == "func.call":
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            results = _call(functions, callee, operands)
        elif op.name in EVALUATORS:
            value = EVALUATORS[op.name](op, *operands)
            results = [np.asarray(value, dtype=ms.spec_of(op.results[0]).numpy_dtype)]
        else:
            raise NotImplementedError(f"ms_interpreter: cannot evaluate '{op.name}'")
        for result, value in zip(op.results, results):
            expected = ms.spec_of(result).shape
            if value.shape != tuple(expected):
                raise AssertionError(
                    f"'{op.name}' produced shape {value.shape}, type says {expected}"
                )
            env[result] = value
    raise AssertionError(f"@{name} has no func.return")
