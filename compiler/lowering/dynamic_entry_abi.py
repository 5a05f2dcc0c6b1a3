"""The CPU ABI of a function with a dynamic batch dimension: bare pointers, then the batch size.

Contract
- Reads: a module on memrefs (after bufferizing), before `convert-func-to-llvm`. A public
  `func.func` whose memref arguments have dynamic dims is a program compiled for a dynamic
  batch (compiler/dynamic_batch.py): each `?` is the batch size.
- Rewrites each such function in place so that the bare-pointer convention can lower it:
  every memref argument becomes the static `memref<1xT>` (a bare `T*` after lowering), an
  `index` argument is appended (the batch size, `int64_t` in C), and the function starts with
  one `memref.reinterpret_cast` per argument giving the body its old, dynamic view: sizes with
  the batch in place of `?`, row-major strides, offset 0. The code is then
  `void NAME(T* in..., T* weights..., T* out..., int64_t batch)`.
- The functions' argument attributes are kept, and the batch's is empty.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref


def bare_dynamic_entries(module: ir.Module) -> None:
    """Rewrites each public function with dynamic memref arguments (see the module docstring)."""
    with module.context, ir.Location.unknown():
        for op in module.body.operations:
            if op.operation.name == "func.func" and _is_dynamic_entry(op.operation):
                _rewrite(op.operation)


def _is_dynamic_entry(func_op: ir.Operation) -> bool:
    if not func_op.regions[0].blocks:
        return False
    if "sym_visibility" in func_op.attributes:
        if ir.StringAttr(func_op.attributes["sym_visibility"]).value == "private":
            return False
    return any(
        isinstance(a.type, ir.MemRefType) and not ir.MemRefType(a.type).has_static_shape
        for a in func_op.regions[0].blocks[0].arguments
    )


def _rewrite(func_op: ir.Operation) -> None:
    block = func_op.regions[0].blocks[0]
    old = list(block.arguments)
    index = ir.IndexType.get()
    bare = [
        ir.MemRefType.get([1], ir.MemRefType(a.type).element_type)
        if isinstance(a.type, ir.MemRefType)
        else a.type
        for a in old
    ]
    new = [block.add_argument(t, a.location) for t, a in zip(bare, old)]
    batch = block.add_argument(index, ir.Location.unknown())
    with ir.InsertionPoint.at_block_begin(block):
        for before, after in zip(old, new):
            if not isinstance(before.type, ir.MemRefType):
                before.replace_all_uses_with(after)
                continue
            view = ir.MemRefType(before.type)
            dynamic = [batch] * sum(ir.ShapedType.is_dynamic_size(d) for d in view.shape)
            before.replace_all_uses_with(memref_view(after, view, dynamic))
    for position in reversed(range(len(old))):
        block.erase_argument(position)
    results = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value).results
    func_op.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([*bare, index], results)
    )
    if "arg_attrs" in func_op.attributes:
        kept = list(ir.ArrayAttr(func_op.attributes["arg_attrs"]))
        func_op.attributes["arg_attrs"] = ir.ArrayAttr.get([*kept, ir.DictAttr.get({})])


def memref_view(pointer: ir.Value, view: ir.MemRefType, dynamic: list[ir.Value]) -> ir.Value:
    """`pointer` (memref<1xT>) reinterpreted as the row-major `view`, its `?` sizes
    `dynamic`, in order."""
    given = iter(dynamic)
    sizes = [next(given) if ir.ShapedType.is_dynamic_size(d) else d for d in view.shape]
    strides: list[int | ir.Value] = [1] if sizes else []
    for size in reversed(sizes[1:]):
        strides.insert(0, _multiply(strides[0], size))
    return memref.reinterpret_cast(
        view,
        pointer,
        [],
        [s for s in sizes if isinstance(s, ir.Value)],
        [s for s in strides if isinstance(s, ir.Value)],
        static_offsets=[0],
        static_sizes=[
            ir.ShapedType.get_dynamic_size() if isinstance(s, ir.Value) else s for s in sizes
        ],
        static_strides=[
            ir.ShapedType.get_dynamic_size() if isinstance(s, ir.Value) else s for s in strides
        ],
    )


def _multiply(a: int | ir.Value, b: int | ir.Value) -> int | ir.Value:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if isinstance(a, int) and a == 1:
        return b
    index = ir.IndexType.get()
    a = a if isinstance(a, ir.Value) else arith.constant(index, a)
    b = b if isinstance(b, ir.Value) else arith.constant(index, b)
    return arith.muli(a, b)
