"""The op registry: each `ms` op's lowering and VJP rule, kept side by side.

The rules live in one module per op family (`elementwise.py`, `matmul.py`, `reduction.py`,
`shape.py`, `cast.py`), each op's `@lowering` next to its `@vjp`. This module holds only the two
tables and the decorators that fill them; importing `cellc.compiler.ops` imports every family
module, so the tables are complete once the package is imported.

A VJP rule has the signature

    rule(ct, *operands, out, **attrs) -> list of cotangents, one per operand

`ct` is the (never zero) cotangent of the op's result, `operands` and `out` are the op's operand
and result values as seen by the derivative (forward values it may use), and `attrs` are the
op's attributes as Python values (`ms.OPS[name].read_attributes`). A cotangent is an
`ir.Value` of the operand's type, or `None`/`Zero` where the op does not depend on the operand
differentiably. Rules run with the insertion point and location set by the driver, and emit only
`ms` ops, so a derivative can be differentiated again.

A lowering's signature is the lowering pass's business (`compiler/lowering/ms_to_linalg.py`).
"""

from __future__ import annotations

from collections.abc import Callable

VJPS: dict[str, Callable] = {}
LOWERINGS: dict[str, Callable] = {}


def _register(table: dict[str, Callable], kind: str, op_name: str):
    def decorator(fn: Callable) -> Callable:
        if op_name in table:
            raise ValueError(f"duplicate {kind} for '{op_name}'")
        table[op_name] = fn
        return fn

    return decorator


def vjp(op_name: str):
    """Registers the decorated function as the VJP rule of `op_name` (e.g. "ms.add")."""
    return _register(VJPS, "VJP rule", op_name)


def lowering(op_name: str):
    """Registers the decorated function as the lowering of `op_name` (e.g. "ms.add")."""
    return _register(LOWERINGS, "lowering", op_name)
