"""What the GPU stages share: the matmul tile (one table, read by the stage that pads matmuls to
it and by the stage that tiles them), static loop ranges, walks, and the transform interpreter.

Not a pass. The stages, in order (linalg_to_gpu.py composes them):
    linalg_gpu_split_reductions.py  gpu-split-reductions   linalg on tensors -> linalg on tensors
    linalg_gpu_pad_matmuls.py       gpu-pad-matmuls        linalg on tensors -> linalg on tensors
    gpu_bufferize.py                gpu-bufferize          tensors -> destination-passing memrefs
    linalg_to_gpu_mma.py            convert-linalg-to-gpu-mma      matmuls -> mma.sync launches
    linalg_to_gpu_launch.py         convert-linalg-to-gpu-launch   linalg on memrefs -> gpu.launch
    gpu_launch_to_kernels.py        gpu-outline-kernels    gpu.launch -> gpu.launch_func + kernels
    gpu_to_nvvm.py, launch_plan.py  kernels -> PTX; host code -> a JSON launch plan
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import linalg, tensor
from mlir.dialects.transform import interpreter
from mlir.passmanager import PassManager

from cellc.compiler.ops import linalg_builders as lb

# The shared-memory matmul kernel's tile (linalg_to_gpu_launch.py); linalg_gpu_pad_matmuls.py
# pads the other matmuls up to it. Only these element types are tiled.
MATMUL_TILE_M = 64
MATMUL_TILE_N = 64
MATMUL_TILE_K = 16
MATMUL_ELEMENT_TYPES = ("f32", "f64")


class GpuLoweringError(RuntimeError):
    """The linalg module cannot be mapped onto the GPU; the message names the op and why."""


def walk(op: ir.Operation):
    """Pre-order walk of every operation nested in `op` (not `op` itself)."""
    for region in op.regions:
        for block in region:
            for child in block:
                yield child.operation
                yield from walk(child.operation)


def functions(module: ir.Module) -> list[ir.Operation]:
    return [op.operation for op in module.body if op.operation.name == "func.func"]


def run_pipeline(module: ir.Module, pipeline: str) -> None:
    PassManager.parse(pipeline, module.context).run(module.operation)


def apply_transform(module: ir.Module, body: str) -> None:
    """Parses a named sequence `@__transform_main` with `body` and applies it to `module`."""
    script = (
        "module attributes {transform.with_named_sequence} {\n"
        "  transform.named_sequence @__transform_main("
        "%root: !transform.any_op {transform.readonly}) {\n"
        f"{body}"
        "    transform.yield\n  }\n}\n"
    )
    library = ir.Module.parse(script, module.context)
    entry = library.body.operations[0]
    interpreter.apply_named_sequence(module.operation, entry, library)


def dim_position(expr) -> int | None:
    """The loop an affine result reads (`d3` -> 3), None for a constant or anything else."""
    expr = expr.maybe_downcast() if hasattr(expr, "maybe_downcast") else expr
    return expr.position if isinstance(expr, ir.AffineDimExpr) else None


def loop_ranges(op: ir.Operation) -> list[int]:
    """Static trip counts of a linalg.generic's loops, read off its operands and indexing maps."""
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    ranges: list[int | None] = [None] * maps[0].n_dims
    for operand, amap in zip(op.operands, maps):
        if not isinstance(operand.type, ir.ShapedType):
            continue
        for size, expr in zip(operand.type.shape, amap.results):
            if dim_position(expr) is not None:
                ranges[dim_position(expr)] = size
    if any(r is None or r < 0 for r in ranges):
        raise GpuLoweringError(
            f"'{op.name}' op: cannot read static loop ranges from its operands ({ranges}); "
            "the GPU target needs static shapes"
        )
    return ranges


def iterator_kinds(op: ir.Operation) -> list[str]:
    """ "parallel" or "reduction" per loop of a linalg.generic."""
    kinds = []
    for attr in ir.ArrayAttr(op.attributes["iterator_types"]):
        kinds.append("reduction" if "reduction" in str(attr) else "parallel")
    return kinds


def matmul_sizes(
    op: ir.Operation, element_types: tuple[str, ...] = MATMUL_ELEMENT_TYPES
) -> tuple[int, int, int] | None:
    """(M, N, K) of a linalg.matmul (any operand maps) on static operands of one element type
    of `element_types` (the shared-memory kernel's f32/f64 by default), else None."""
    if op.name != "linalg.matmul":
        return None
    types = [ir.ShapedType(v.type) for v in op.operands]
    if not all(t.has_static_shape for t in types):
        return None
    if len({str(t.element_type) for t in types}) != 1:
        return None
    if str(types[0].element_type) not in element_types:
        return None
    ranges = [0, 0, 0]
    for operand_type, amap in zip(types, matmul_maps(op)):
        for size, expr in zip(operand_type.shape, amap.results):
            ranges[dim_position(expr)] = size
    m, n, k = ranges
    return m, n, k


def matmul_maps(op: ir.Operation) -> list[ir.AffineMap]:
    """linalg.matmul's maps over (m, n, k); a matmul built without them has the default ones."""
    if "indexing_maps" in op.attributes:
        return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    return [
        ir.AffineMap.get(3, 0, [ir.AffineDimExpr.get(d) for d in dims])
        for dims in ((0, 2), (2, 1), (0, 1))
    ]


def divides_matmul_tile(sizes: tuple[int, int, int]) -> bool:
    m, n, k = sizes
    return m % MATMUL_TILE_M == 0 and n % MATMUL_TILE_N == 0 and k % MATMUL_TILE_K == 0


# Building linalg on tensors (the two rewrites of linalg on tensors).


def constant(attr: ir.Attribute) -> ir.Value:
    return ir.Operation.create(
        "arith.constant", results=[attr.type], attributes={"value": attr}
    ).result


def index_constant(value: int) -> ir.Value:
    return constant(ir.IntegerAttr.get(ir.IndexType.get(), value))


def arith_op(name: str, *operands: ir.Value, result: ir.Type | None = None, **attrs) -> ir.Value:
    result = result or operands[-1].type
    return ir.Operation.create(
        name, results=[result], operands=list(operands), attributes=attrs
    ).result


def loop_index(dim: int) -> ir.Value:
    i64 = ir.IntegerType.get_signless(64)
    return ir.Operation.create(
        "linalg.index",
        results=[ir.IndexType.get()],
        attributes={"dim": ir.IntegerAttr.get(i64, dim)},
    ).result


def unsigned_less(a: ir.Value, b: ir.Value) -> ir.Value:
    i64 = ir.IntegerType.get_signless(64)
    predicate = ir.IntegerAttr.get(i64, 6)  # ult
    return arith_op("arith.cmpi", a, b, result=ir.IntegerType.get_signless(1), predicate=predicate)


def new_generic(inputs, outputs, maps, kinds, arg_types) -> tuple[ir.Operation, ir.Block]:
    """A linalg.generic with an empty body block of `arg_types` (the caller fills it)."""
    op = ir.Operation.create(
        "linalg.generic",
        results=[v.type for v in outputs],
        operands=[*inputs, *outputs],
        attributes={
            "indexing_maps": lb.maps_attribute(maps),
            "iterator_types": lb.iterators_attribute(kinds),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([len(inputs), len(outputs)]),
        },
        regions=1,
    )
    return op, op.regions[0].blocks.append(*arg_types)


def filled(shape: list[int], value: ir.Value) -> ir.Value:
    empty = tensor.EmptyOp(shape, value.type).result
    return linalg.fill(value, outs=[empty])


def producer(value: ir.Value) -> ir.Operation | None:
    """The op defining `value`, None for a block argument."""
    owner = value.owner
    return None if isinstance(owner, ir.Block) else owner.operation


# Reductions: the combining op a reduction body may end with (read by gpu-split-reductions and
# convert-linalg-to-gpu-block-reductions).


@dataclass(frozen=True)
class Combiner:
    """A reduction's combining op: its neutral element ("min"/"max": the integer type's
    extremes, -1: all ones) and the `gpu.all_reduce` operation that combines the same way."""

    neutral: float | int | str
    all_reduce: str


COMBINERS = {
    "arith.addf": Combiner(0.0, "add"),
    "arith.mulf": Combiner(1.0, "mul"),
    "arith.maximumf": Combiner(-math.inf, "maximumf"),
    "arith.maxnumf": Combiner(-math.inf, "maxnumf"),
    "arith.minimumf": Combiner(math.inf, "minimumf"),
    "arith.minnumf": Combiner(math.inf, "minnumf"),
    "arith.addi": Combiner(0, "add"),
    "arith.muli": Combiner(1, "mul"),
    "arith.ori": Combiner(0, "or"),
    "arith.xori": Combiner(0, "xor"),
    "arith.andi": Combiner(-1, "and"),
    "arith.maxui": Combiner(0, "maxui"),
    "arith.minui": Combiner(-1, "minui"),
    "arith.maxsi": Combiner("min", "maxsi"),
    "arith.minsi": Combiner("max", "minsi"),
}


@dataclass
class Reduction:
    """A linalg.generic `init (+)= body(inputs)` whose body ends in a known combiner."""

    op: ir.Operation
    ranges: list[int]
    kinds: list[str]
    maps: list[ir.AffineMap]
    combiner: ir.Operation  # the body's last op: combiner(contribution, acc)
    acc_first: bool  # whether acc is the combiner's first operand

    def loops(self, kind: str) -> list[int]:
        """The loops of `kind` ("parallel" or "reduction"), in order."""
        return [d for d, k in enumerate(self.kinds) if k == kind]

    def reads_along_reduction(self) -> bool:
        """Whether the first input that reads a reduced loop reads it in its innermost index
        (threads striding the reduction then read neighbouring elements)."""
        reduced = set(self.loops("reduction"))
        for amap in self.maps[:-1]:
            dims = [dim_position(e) for e in amap.results]
            if any(d in reduced for d in dims):
                return dims[-1] in reduced
        return False


def neutral_constant(name: str, element: ir.Type) -> ir.Value:
    """The neutral element of combiner `name` as an arith.constant of `element`."""
    value = COMBINERS[name].neutral
    if isinstance(element, ir.FloatType):
        return constant(ir.FloatAttr.get(element, float(value)))
    width = ir.IntegerType(element).width
    if value == "min":
        value = -(1 << (width - 1))
    elif value == "max":
        value = (1 << (width - 1)) - 1
    return constant(ir.IntegerAttr.get(element, value))


def constant_value(expr) -> int | None:
    """The value of a constant affine result, None for anything else."""
    expr = expr.maybe_downcast() if hasattr(expr, "maybe_downcast") else expr
    return expr.value if isinstance(expr, ir.AffineConstantExpr) else None


def _num_outputs(op: ir.Operation) -> int:
    return list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))[1]


def as_reduction(op: ir.Operation) -> Reduction | None:
    """The op as a reduction with one output (on tensors or memrefs) whose maps read loops or
    constants and whose body ends in a combiner of `COMBINERS` using the accumulator once and
    has no `linalg.index`; None otherwise."""
    if op.name != "linalg.generic" or _num_outputs(op) != 1:
        return None
    kinds = iterator_kinds(op)
    if "reduction" not in kinds:
        return None
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    for amap in maps:
        for expr in amap.results:
            if dim_position(expr) is None and constant_value(expr) is None:
                return None
    body = op.regions[0].blocks[0]
    ops = [o.operation for o in body]
    if any(o.name == "linalg.index" for o in ops):
        return None
    acc = body.arguments[len(body.arguments) - 1]
    yielded = ops[-1].operands[0]
    combiner = producer(yielded)
    if combiner is None or combiner.name not in COMBINERS or not any(o == combiner for o in ops):
        return None
    operands = list(combiner.operands)
    if operands.count(acc) != 1 or len(list(acc.uses)) != 1:
        return None
    if isinstance(acc.type, ir.FloatType) != isinstance(COMBINERS[combiner.name].neutral, float):
        return None
    return Reduction(op, loop_ranges(op), kinds, maps, combiner, operands[0] == acc)
