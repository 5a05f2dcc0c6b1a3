"""The op registry: each `ms` op's lowering and VJP rule, kept side by side.

The rules live in one module per op family (`elementwise.py`, `matmul.py`, `reduction.py`,
`shape.py`, `cast.py`), each op's `@lowering` next to its `@vjp`. This module holds only the two
tables, keyed by the op's class (`ms.AddOp`, not its name), and the decorators that fill them;
importing `cellc.compiler.ops` imports every family module, so the tables are complete once the
package is imported. A pass holding an `ir.Operation` finds its rule with
`VJPS[ms.OPS[op.name]]`.

A VJP rule has the signature

    rule(ct, *operands, out, **attrs) -> list of cotangents, one per operand

`ct` is the (never zero) cotangent of the op's result, `operands` and `out` are the op's operand
and result values as seen by the derivative (forward values it may use), and `attrs` are the
op's attributes as Python values (`read_attributes` of the op's class). A cotangent is an
`ir.Value` of the operand's type, or `None`/`Zero` where the op does not depend on the operand
differentiably. Rules run with the insertion point and location set by the driver, and emit only
`ms` ops, so a derivative can be differentiated again.

A lowering has the signature

    rule(op, *operands, **attrs) -> ir.Value

and returns the value that replaces the op's result, built from linalg/tensor/arith/math ops at
the insertion point and location the pass sets; its docstring states the rewrite
(`ms.add(a, b) -> linalg.generic{addf|addi} with broadcasting maps`). The pass
`convert-ms-to-linalg` (`compiler/lowering/ms_to_linalg.py`) makes one rewrite pattern of each.
"""

from __future__ import annotations

from collections.abc import Callable

from cellc.dialects import ms

VJPS: dict[type, Callable] = {}
LOWERINGS: dict[type, Callable] = {}
# The ops whose lowering builds a dynamic batch dimension (`?`, see compiler/dynamic_batch.py)
# right: its sizes come from `linalg_builders.sizes`, never from a static shape it multiplies.
# The pass refuses another op with a dynamic type, naming it.
DYNAMIC_BATCH: set[type] = set()


def _register(table: dict[type, Callable], kind: str, op_class: type):
    if ms.OPS.get(getattr(op_class, "name", None)) is not op_class:
        raise TypeError(f"a {kind} is registered for an op class of `ms`, not {op_class!r}")

    def decorator(fn: Callable) -> Callable:
        if op_class in table:
            raise ValueError(f"duplicate {kind} for '{op_class.name}'")
        table[op_class] = fn
        return fn

    return decorator


def vjp(op_class: type):
    """Registers the decorated function as the VJP rule of `op_class` (e.g. `ms.AddOp`)."""
    return _register(VJPS, "VJP rule", op_class)


def lowering(op_class: type):
    """Registers the decorated function as the lowering of `op_class` (e.g. `ms.AddOp`)."""
    return _register(LOWERINGS, "lowering", op_class)


def dynamic_batch(*op_classes: type) -> None:
    """Says that the lowerings of `op_classes` handle a dynamic batch dimension."""
    for op_class in op_classes:
        if op_class not in LOWERINGS:
            raise ValueError(f"'{op_class.name}' has no lowering to handle a dynamic batch")
        DYNAMIC_BATCH.add(op_class)
