"""Comparisons, logic and selection: equal, not_equal, less, less_equal, greater,
greater_equal, logical_and/or/not, select, floor_div, floor_mod, argmax, argmin.

Each lowering is one `linalg.generic` (broadcasting in its indexing maps, as in
elementwise.py) whose body compares with `arith.cmpf` (ordered predicates, so NaN compares
false, except `!=`) or `arith.cmpi` (signed). Their bool (i1) results are stored as bytes by the
back ends (compiler/lowering/bool_tensors_to_i8.py). Comparisons, logic, floor_div and the
arg-reductions are piecewise constant: their VJP is zero.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, linalg, math

from cellc.compiler.autodiff.rules import defzero, unbroadcast
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering, vjp

# Each comparison's float (ordered, or unordered for `!=`) and signed integer predicate.
_PREDICATES = {
    ms.EqualOp: (arith.CmpFPredicate.OEQ, arith.CmpIPredicate.eq),
    ms.NotEqualOp: (arith.CmpFPredicate.UNE, arith.CmpIPredicate.ne),
    ms.LessOp: (arith.CmpFPredicate.OLT, arith.CmpIPredicate.slt),
    ms.LessEqualOp: (arith.CmpFPredicate.OLE, arith.CmpIPredicate.sle),
    ms.GreaterOp: (arith.CmpFPredicate.OGT, arith.CmpIPredicate.sgt),
    ms.GreaterEqualOp: (arith.CmpFPredicate.OGE, arith.CmpIPredicate.sge),
}


def _compare(float_predicate, int_predicate):
    def body(a, b):
        if lb.is_float(a.type):
            return arith.cmpf(float_predicate, a, b)
        return arith.cmpi(int_predicate, a, b)

    return body


def _register_comparison(op_class, float_predicate, int_predicate):
    def lower(op, lhs, rhs):
        return lb.elementwise(
            op.results[0].type, [lhs, rhs], _compare(float_predicate, int_predicate)
        )

    lower.__name__ = "lower_" + op_class.name.replace("ms.", "")
    lower.__doc__ = (
        f"{op_class.name}(a, b) -> linalg.generic{{cmpf {float_predicate} | cmpi {int_predicate}}}"
        " with broadcasting maps"
    )
    lowering(op_class)(lower)
    defzero(op_class)


for _op_class, (_float_predicate, _int_predicate) in _PREDICATES.items():
    _register_comparison(_op_class, _float_predicate, _int_predicate)


# --------------------------------------------------------------------------------------------
# Logic and selection
# --------------------------------------------------------------------------------------------


@lowering(ms.LogicalAndOp)
def lower_logical_and(op, lhs, rhs):
    """ms.logical_and(a, b) -> linalg.generic{andi} with broadcasting maps"""
    return lb.elementwise(op.results[0].type, [lhs, rhs], arith.andi)


@lowering(ms.LogicalOrOp)
def lower_logical_or(op, lhs, rhs):
    """ms.logical_or(a, b) -> linalg.generic{ori} with broadcasting maps"""
    return lb.elementwise(op.results[0].type, [lhs, rhs], arith.ori)


def _not(x: ir.Value) -> ir.Value:
    return arith.xori(x, arith.constant(x.type, ir.IntegerAttr.get(x.type, 1)))


@lowering(ms.LogicalNotOp)
def lower_logical_not(op, x):
    """ms.logical_not(x) -> linalg.generic{xori(x, true)}"""
    return lb.elementwise(op.results[0].type, [x], _not)


defzero(ms.LogicalAndOp)
defzero(ms.LogicalOrOp)
defzero(ms.LogicalNotOp)


@lowering(ms.SelectOp)
def lower_select(op, condition, on_true, on_false):
    """ms.select(c, a, b) -> linalg.generic{select(c, a, b)} with broadcasting maps"""
    return lb.elementwise(op.results[0].type, [condition, on_true, on_false], arith.select)


@vjp(ms.SelectOp)
def vjp_select(ct, condition, on_true, on_false, *, out):
    """d select(c, a, b) = (none, ct where c, ct where not c), each summed to its shape."""
    zero = ms.constant(0.0, ms.spec_of(ct).with_shape(()))
    return [
        None,
        unbroadcast(ms.select(condition, ct, zero), on_true),
        unbroadcast(ms.select(condition, zero, ct), on_false),
    ]


# --------------------------------------------------------------------------------------------
# Floor division and remainder (Python's `//` and `%`)
# --------------------------------------------------------------------------------------------


def _floor_div(a: ir.Value, b: ir.Value) -> ir.Value:
    if lb.is_float(a.type):
        return math.floor(arith.divf(a, b))
    return arith.floordivsi(a, b)


def _floor_mod(a: ir.Value, b: ir.Value) -> ir.Value:
    """The truncated remainder, plus b where it is nonzero and its sign differs from b's
    (numpy's `mod`)."""
    if lb.is_float(a.type):
        remainder = arith.remf(a, b)
        zero = lb.zero(a.type)
        nonzero = arith.cmpf(arith.CmpFPredicate.ONE, remainder, zero)
        signs_differ = arith.xori(
            arith.cmpf(arith.CmpFPredicate.OLT, remainder, zero),
            arith.cmpf(arith.CmpFPredicate.OLT, b, zero),
        )
        adjusted = arith.addf(remainder, b)
    else:
        remainder = arith.remsi(a, b)
        zero = lb.zero(a.type)
        nonzero = arith.cmpi(arith.CmpIPredicate.ne, remainder, zero)
        signs_differ = arith.xori(
            arith.cmpi(arith.CmpIPredicate.slt, remainder, zero),
            arith.cmpi(arith.CmpIPredicate.slt, b, zero),
        )
        adjusted = arith.addi(remainder, b)
    return arith.select(arith.andi(nonzero, signs_differ), adjusted, remainder)


@lowering(ms.FloorDivOp)
def lower_floor_div(op, lhs, rhs):
    """ms.floor_div(a, b) -> linalg.generic{floor(divf) | floordivsi} with broadcasting maps"""
    return lb.elementwise(op.results[0].type, [lhs, rhs], _floor_div)


defzero(ms.FloorDivOp)  # piecewise constant


@lowering(ms.FloorModOp)
def lower_floor_mod(op, lhs, rhs):
    """ms.floor_mod(a, b) -> linalg.generic{remf|remsi, + b where the signs differ}"""
    return lb.elementwise(op.results[0].type, [lhs, rhs], _floor_mod)


@vjp(ms.FloorModOp)
def vjp_floor_mod(ct, lhs, rhs, *, out):
    """a mod b = a - floor(a / b) * b: d = (ct, -ct * floor(a / b))."""
    return [unbroadcast(ct, lhs), unbroadcast(ms.neg(ms.mul(ct, ms.floor_div(lhs, rhs))), rhs)]


# --------------------------------------------------------------------------------------------
# argmax / argmin
# --------------------------------------------------------------------------------------------


def _arg_reduce(op, x, axis: int, better) -> ir.Value:
    """A reducing linalg.generic with two accumulators (the extreme so far, its index): a
    later element replaces them only when `better(new, old)` is true, so ties keep the first
    index; the first element (index 0) seeds them."""
    source = lb.ranked(x)
    rank = source.rank
    kept = [d for d in range(rank) if d != axis]
    values_type = ir.RankedTensorType.get([source.shape[d] for d in kept], source.element_type)
    index_type = lb.ranked(op.results[0].type)
    first = lb.reshape(_first_along(x, axis), values_type)  # the seed: no identity needed
    indices = lb.zeros(index_type)
    maps = [
        ir.AffineMap.get_identity(rank),
        ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(d) for d in kept]),
        ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(d) for d in kept]),
    ]
    iterators = [lb.REDUCTION if d == axis else lb.PARALLEL for d in range(rank)]
    generic = linalg.GenericOp(
        result_tensors=[values_type, index_type],
        inputs=[x],
        outputs=[first, indices],
        indexing_maps=lb.maps_attribute(maps),
        iterator_types=lb.iterators_attribute(iterators),
    )
    block = generic.regions[0].blocks.append(
        source.element_type, source.element_type, index_type.element_type
    )
    with ir.InsertionPoint(block):
        new, best, best_index = block.arguments
        position = arith.index_cast(index_type.element_type, linalg.IndexOp(axis).result)
        take = better(new, best)
        linalg.YieldOp([arith.select(take, new, best), arith.select(take, position, best_index)])
    return generic.results[1]


def _first_along(x: ir.Value, axis: int) -> ir.Value:
    """x's elements at index 0 along `axis`, the dim kept as size 1 (a linalg.generic copy
    reading x through a map fixing that dim at 0)."""
    source = lb.ranked(x)
    rank = source.rank
    sizes = [1 if d == axis else n for d, n in enumerate(source.shape)]
    result_type = ir.RankedTensorType.get(sizes, source.element_type)
    exprs = [
        ir.AffineConstantExpr.get(0) if d == axis else ir.AffineDimExpr.get(d) for d in range(rank)
    ]
    maps = [ir.AffineMap.get(rank, 0, exprs), ir.AffineMap.get_identity(rank)]
    return lb.generic([x], lb.empty(result_type), maps, [lb.PARALLEL] * rank, lambda a, _: a)


def _beats(comparison):
    """`better(new, best)` for _arg_reduce: new compares to best as `comparison` (ms.GreaterOp
    or ms.LessOp, by its predicates above), or new is the first NaN (numpy's argmax and argmin
    return the first NaN)."""
    float_predicate, int_predicate = _PREDICATES[comparison]

    def better(new: ir.Value, best: ir.Value) -> ir.Value:
        if not lb.is_float(new.type):
            return arith.cmpi(int_predicate, new, best)
        strictly = arith.cmpf(float_predicate, new, best)
        first_nan = arith.andi(
            arith.cmpf(arith.CmpFPredicate.UNO, new, new),
            arith.cmpf(arith.CmpFPredicate.ORD, best, best),
        )
        return arith.ori(strictly, first_nan)

    return better


@lowering(ms.ArgmaxOp)
def lower_argmax(op, x, *, axis):
    """ms.argmax(x) -> linalg.generic reducing `axis` into (max, index), seeded by x[.., 0, ..]"""
    return _arg_reduce(op, x, axis, _beats(ms.GreaterOp))


@lowering(ms.ArgminOp)
def lower_argmin(op, x, *, axis):
    """ms.argmin(x) -> linalg.generic reducing `axis` into (min, index), seeded by x[.., 0, ..]"""
    return _arg_reduce(op, x, axis, _beats(ms.LessOp))


defzero(ms.ArgmaxOp)  # integer results: no gradient
defzero(ms.ArgminOp)

dynamic_batch(
    *_PREDICATES,
    ms.LogicalAndOp,
    ms.LogicalOrOp,
    ms.LogicalNotOp,
    ms.SelectOp,
    ms.FloorDivOp,
    ms.FloorModOp,
    ms.ArgmaxOp,
    ms.ArgminOp,
)
