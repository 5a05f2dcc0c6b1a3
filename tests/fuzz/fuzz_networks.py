"""Random MindSpore-style networks for the gradient fuzzer: a small DAG of cellc ops over float64
inputs and Parameters, built twice from one description: as a `cellc.nn.Cell` (compiled) and
as a numpy function (the oracle for finite differences).

A `Network` is plain data (shapes, nodes, outputs), so hypothesis can shrink it and a failure
prints as a readable program (`Network.source()`). Every op keeps its inputs in its smooth
domain by construction (log(a*a + 1), sqrt(a*a + 0.5), a / (b*b + 0.5), pow(a*a + 1, p)); the
kinks of relu, abs, sign, maximum, minimum and ReduceMax are avoided at evaluation time
(`kink_distance`), and so are huge values.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from cellc import Parameter, Tensor, nn, ops
from cellc import dtype as mstype

# Known-bug areas that a long run can be told to avoid (`--fuzz-avoid`), so that it looks for
# other bugs instead of finding the same one again.
AVOIDABLE = {
    "0d-params": "0-d Parameters (Parameter(Tensor(np.float64(1.5))))",
    "stop-gradient": "the stop_gradient op",
    "single-param": "GradOperation(get_by_list=True)(net, one Parameter)",
    "0d-reduce": "ReduceSum/ReduceMean/ReduceMax of a 0-d value",
}

MAX_ELEMENTS = 24  # per value: finite differences cost two evaluations per input element


@dataclass(frozen=True)
class Node:
    op: str
    args: tuple[int, ...]  # indices into the network's values: inputs, parameters, nodes
    attrs: tuple = ()


@dataclass(frozen=True)
class Network:
    input_shapes: tuple[tuple[int, ...], ...]
    param_shapes: tuple[tuple[int, ...], ...]
    nodes: tuple[Node, ...]
    outputs: tuple[int, ...]  # value indices; more than one: a tuple output
    unused_param: bool  # the last Parameter is never read

    @property
    def num_leaves(self) -> int:
        return len(self.input_shapes) + len(self.param_shapes)

    @property
    def tuple_output(self) -> bool:
        return len(self.outputs) > 1

    def has_op(self, op: str) -> bool:
        return any(node.op == op for node in self.nodes)

    def name(self, index: int) -> str:
        num_inputs = len(self.input_shapes)
        if index < num_inputs:
            return f"x{index}"
        if index < self.num_leaves:
            return f"self.p{index - num_inputs}"
        return f"v{index - self.num_leaves}"

    def source(self) -> str:
        """The network as the construct() a user would write (for failure reports)."""
        lines = [
            f"# inputs: {', '.join(f'x{i}: f64{list(s)}' for i, s in enumerate(self.input_shapes))}"
        ]
        for i, shape in enumerate(self.param_shapes):
            unused = " (unused)" if self.unused_param and i == len(self.param_shapes) - 1 else ""
            lines.append(f"# self.p{i}: Parameter f64{list(shape)}{unused}")
        for i, node in enumerate(self.nodes):
            text = OPS[node.op].text(*[self.name(a) for a in node.args], *node.attrs)
            lines.append(f"v{i} = {text}")
        lines.append(f"return {', '.join(self.name(o) for o in self.outputs)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Network(\n" + self.source() + "\n)"


@dataclass(frozen=True)
class Op:
    arity: int
    cell: object  # (*tensors, *attrs) -> Tensor, with cellc ops
    numpy: object  # (*arrays, *attrs) -> array
    text: object  # (*names, *attrs) -> str
    kink: object = None  # (*arrays, *attrs) -> distance of the operands to a kink


def _smooth_positive(x, offset):
    return ops.Add()(ops.Mul()(x, x), offset)


def _reduce_kink(a, axes, keep_dims):
    """The smallest gap between the largest and the second largest element reduced together."""
    if a.ndim == 0 or not axes:
        return math.inf
    moved = np.moveaxis(a, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[: a.ndim - len(axes)] + (-1,))
    if flat.shape[-1] < 2:
        return math.inf
    top = np.sort(flat, axis=-1)
    return float(np.min(top[..., -1] - top[..., -2]))


def _reduce_axes(a, axes):
    return tuple(range(a.ndim)) if axes == () else axes


def _unary(cell, numpy, text, kink=None):
    return Op(1, cell, numpy, text, kink)


def _binary(cell, numpy, text, kink=None):
    return Op(2, cell, numpy, text, kink)


def _erf(a):
    return np.vectorize(math.erf, otypes=[np.float64])(a)


def _softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


OPS: dict[str, Op] = {
    "add": _binary(lambda a, b: ops.Add()(a, b), np.add, lambda a, b: f"Add()({a}, {b})"),
    "sub": _binary(lambda a, b: ops.Sub()(a, b), np.subtract, lambda a, b: f"Sub()({a}, {b})"),
    "mul": _binary(lambda a, b: ops.Mul()(a, b), np.multiply, lambda a, b: f"Mul()({a}, {b})"),
    "div": _binary(
        lambda a, b: ops.Div()(a, _smooth_positive(b, 0.5)),
        lambda a, b: a / (b * b + 0.5),
        lambda a, b: f"Div()({a}, {b} * {b} + 0.5)",
    ),
    "maximum": _binary(
        lambda a, b: ops.Maximum()(a, b),
        np.maximum,
        lambda a, b: f"Maximum()({a}, {b})",
        lambda a, b: float(np.min(np.abs(a - b))),
    ),
    "minimum": _binary(
        lambda a, b: ops.Minimum()(a, b),
        np.minimum,
        lambda a, b: f"Minimum()({a}, {b})",
        lambda a, b: float(np.min(np.abs(a - b))),
    ),
    "neg": _unary(lambda a: ops.Neg()(a), np.negative, lambda a: f"Neg()({a})"),
    "relu": _unary(
        lambda a: ops.ReLU()(a),
        lambda a: np.maximum(a, 0.0),
        lambda a: f"ReLU()({a})",
        lambda a: float(np.min(np.abs(a))),
    ),
    "exp": _unary(lambda a: ops.Exp()(a), np.exp, lambda a: f"Exp()({a})"),
    "log": _unary(
        lambda a: ops.Log()(_smooth_positive(a, 1.0)),
        lambda a: np.log(a * a + 1.0),
        lambda a: f"Log()({a} * {a} + 1)",
    ),
    "sqrt": _unary(
        lambda a: ops.Sqrt()(_smooth_positive(a, 0.5)),
        lambda a: np.sqrt(a * a + 0.5),
        lambda a: f"Sqrt()({a} * {a} + 0.5)",
    ),
    "sin": _unary(lambda a: ops.Sin()(a), np.sin, lambda a: f"Sin()({a})"),
    "cos": _unary(lambda a: ops.Cos()(a), np.cos, lambda a: f"Cos()({a})"),
    "erf": _unary(lambda a: ops.Erf()(a), _erf, lambda a: f"Erf()({a})"),
    "abs": _unary(
        lambda a: ops.Abs()(a),
        np.abs,
        lambda a: f"Abs()({a})",
        lambda a: float(np.min(np.abs(a))),
    ),
    "sign": _unary(
        lambda a: ops.Sign()(a),
        np.sign,
        lambda a: f"Sign()({a})",
        lambda a: float(np.min(np.abs(a))),
    ),
    "tanh": _unary(lambda a: ops.Tanh()(a), np.tanh, lambda a: f"Tanh()({a})"),
    "sigmoid": _unary(
        lambda a: ops.Sigmoid()(a), lambda a: 1.0 / (1.0 + np.exp(-a)), lambda a: f"Sigmoid()({a})"
    ),
    "square": _unary(lambda a: ops.Square()(a), np.square, lambda a: f"Square()({a})"),
    "pow": _unary(
        lambda a, p: ops.Pow()(_smooth_positive(a, 1.0), p),
        lambda a, p: np.power(a * a + 1.0, p),
        lambda a, p: f"Pow()({a} * {a} + 1, {p})",
    ),
    "cast": _unary(
        lambda a: ops.Cast()(a, mstype.float64), lambda a: a, lambda a: f"Cast()({a}, float64)"
    ),
    "stop_gradient": _unary(
        lambda a: ops.stop_gradient(a), lambda a: a, lambda a: f"stop_gradient({a})"
    ),
    "softmax": _unary(
        lambda a, axis: ops.Softmax(axis)(a), _softmax, lambda a, axis: f"Softmax({axis})({a})"
    ),
    "log_softmax": _unary(
        lambda a, axis: ops.LogSoftmax(axis)(a),
        lambda a, axis: np.log(_softmax(a, axis)),
        lambda a, axis: f"LogSoftmax({axis})({a})",
    ),
    "reduce_sum": _unary(
        lambda a, axes, keep: ops.ReduceSum(keep)(a, axes),
        lambda a, axes, keep: np.sum(a, axis=_reduce_axes(a, axes), keepdims=keep),
        lambda a, axes, keep: f"ReduceSum({keep})({a}, {axes})",
    ),
    "reduce_mean": _unary(
        lambda a, axes, keep: ops.ReduceMean(keep)(a, axes),
        lambda a, axes, keep: np.mean(a, axis=_reduce_axes(a, axes), keepdims=keep),
        lambda a, axes, keep: f"ReduceMean({keep})({a}, {axes})",
    ),
    "reduce_max": _unary(
        lambda a, axes, keep: ops.ReduceMax(keep)(a, axes),
        lambda a, axes, keep: np.max(a, axis=_reduce_axes(a, axes), keepdims=keep),
        lambda a, axes, keep: f"ReduceMax({keep})({a}, {axes})",
        lambda a, axes, keep: _reduce_kink(a, _reduce_axes(a, axes), keep),
    ),
    "matmul": _binary(
        lambda a, b, ta, tb: ops.MatMul(ta, tb)(a, b),
        lambda a, b, ta, tb: (a.T if ta else a) @ (b.T if tb else b),
        lambda a, b, ta, tb: f"MatMul({ta}, {tb})({a}, {b})",
    ),
    "reshape": _unary(
        lambda a, shape: ops.Reshape()(a, shape),
        np.reshape,
        lambda a, shape: f"Reshape()({a}, {shape})",
    ),
    "transpose": _unary(
        lambda a, perm: ops.Transpose()(a, perm),
        np.transpose,
        lambda a, perm: f"Transpose()({a}, {perm})",
    ),
    "broadcast_to": _unary(
        lambda a, shape: ops.BroadcastTo(shape)(a),
        np.broadcast_to,
        lambda a, shape: f"BroadcastTo({shape})({a})",
    ),
    "expand_dims": _unary(
        lambda a, axis: ops.ExpandDims()(a, axis),
        np.expand_dims,
        lambda a, axis: f"ExpandDims()({a}, {axis})",
    ),
    "squeeze": _unary(
        lambda a, axis: ops.Squeeze(axis)(a),
        lambda a, axis: np.squeeze(a, axis=axis if axis != () else None),
        lambda a, axis: f"Squeeze({axis})({a})",
    ),
}
UNARY = sorted(name for name, op in OPS.items() if op.arity == 1)
BINARY = sorted(name for name, op in OPS.items() if op.arity == 2)


# --- strategies ----------------------------------------------------------------------------


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _broadcasts(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@st.composite
def _leaf_shapes(draw, base, count, *, allow_0d):
    """`count` shapes that broadcast with `base`: a suffix of it, some dimensions set to 1."""
    shapes = []
    for _ in range(count):
        rank = draw(st.integers(0 if allow_0d else min(1, len(base)), len(base)))
        suffix = base[len(base) - rank :]
        shapes.append(tuple(draw(st.sampled_from([d, 1])) for d in suffix))
    return tuple(shapes)


@st.composite
def _attrs(draw, op, shape):
    """Attributes of unary `op` on an operand of `shape`; None when it does not apply."""
    rank = len(shape)
    if op == "pow":
        return (draw(st.sampled_from([2, 3, -2, 0.5, 1.5])),)
    if op in ("softmax", "log_softmax"):
        return None if rank == 0 else (draw(st.integers(-rank, rank - 1)),)
    if op in ("reduce_sum", "reduce_mean", "reduce_max"):
        subsets = [()] + [
            c for n in range(1, rank + 1) for c in itertools.combinations(range(rank), n)
        ]
        return (draw(st.sampled_from(subsets)), draw(st.booleans()))
    if op == "reshape":
        candidates = {(_size(shape),), tuple(reversed(shape)), (1, *shape)}
        if _size(shape) == 1:
            candidates.add(())
        return (draw(st.sampled_from(sorted(candidates))),)
    if op == "transpose":
        return None if rank == 0 else (draw(st.permutations(range(rank)).map(tuple)),)
    if op == "broadcast_to":
        candidates = {(2, *shape), tuple(3 if d == 1 else d for d in shape)} - {shape}
        candidates = [c for c in candidates if _size(c) <= MAX_ELEMENTS and len(c) <= 4]
        return (draw(st.sampled_from(sorted(candidates))),) if candidates else None
    if op == "expand_dims":
        return None if rank >= 4 else (draw(st.integers(-rank - 1, rank)),)
    if op == "squeeze":
        ones = [i for i, d in enumerate(shape) if d == 1]
        return (draw(st.sampled_from([(), *ones])),) if ones else None
    return ()


def _shape_of(op, shapes, attrs):
    """The result shape, from numpy on zeros (the oracle's own shape rule)."""
    return OPS[op].numpy(*[np.zeros(s) for s in shapes], *attrs).shape


@st.composite
def networks(draw, avoid=frozenset()):
    """A `Network`: 2-8 ops over 1-3 float64 inputs and 0-2 Parameters, one output or two."""
    base = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple))
    num_inputs = draw(st.integers(1, 3))
    input_shapes = draw(_leaf_shapes(base, num_inputs, allow_0d=True))
    num_params = draw(st.integers(0, 2))
    param_shapes = []
    for _ in range(num_params):
        zero_d = "0d-params" not in avoid and draw(st.booleans())
        param_shapes.append(() if zero_d else draw(_leaf_shapes(base, 1, allow_0d=False))[0])
        if param_shapes[-1] == () and "0d-params" in avoid:
            param_shapes[-1] = (1,)
    unused_param = num_params > 0 and draw(st.booleans())

    shapes = list(input_shapes) + list(param_shapes)
    unused = len(shapes) - 1 if unused_param else None
    unary = [op for op in UNARY if not (op == "stop_gradient" and "stop-gradient" in avoid)]
    nodes = []
    for _ in range(draw(st.integers(2, 8))):
        choices = [i for i in range(len(shapes)) if i != unused]
        a = draw(st.sampled_from(choices))
        op = draw(st.sampled_from(unary + BINARY))
        if op in BINARY:
            node = draw(_binary_node(op, a, choices, shapes))
        else:
            attrs = draw(_attrs(op, shapes[a]))
            if attrs is not None and op.startswith("reduce") and shapes[a] == ():
                attrs = None if "0d-reduce" in avoid else attrs
            node = Node(op, (a,), attrs) if attrs is not None else Node("neg", (a,))
        shape = _shape_of(node.op, [shapes[i] for i in node.args], node.attrs)
        if _size(shape) > MAX_ELEMENTS:
            node = Node("neg", (a,))
            shape = shapes[a]
        nodes.append(node)
        shapes.append(shape)

    last = len(shapes) - 1
    kind = draw(st.sampled_from(["tensor", "scalar", "tuple"]))
    if kind == "scalar":
        nodes.append(Node("reduce_sum", (last,), ((), False)))
        outputs = (last + 1,)
    elif kind == "tuple":
        outputs = (last, draw(st.sampled_from([i for i in range(last) if i != unused])))
    else:
        outputs = (last,)
    return Network(input_shapes, tuple(param_shapes), tuple(nodes), outputs, unused_param)


@st.composite
def _binary_node(draw, op, a, choices, shapes):
    if op == "matmul":
        if len(shapes[a]) != 2:
            return Node("neg", (a,))
        pairs = []
        for b in choices:
            if len(shapes[b]) != 2:
                continue
            for ta, tb in itertools.product([False, True], repeat=2):
                inner_a = shapes[a][0 if ta else 1]
                inner_b = shapes[b][1 if tb else 0]
                if inner_a == inner_b:
                    pairs.append((b, ta, tb))
        b, ta, tb = draw(st.sampled_from(pairs))  # never empty: a @ a.T always fits
        return Node(op, (a, b), (ta, tb))
    partners = [b for b in choices if _broadcasts(shapes[a], shapes[b])]
    return Node(op, (a, draw(st.sampled_from(partners))))


# --- the two builds --------------------------------------------------------------------------


class FuzzNet(nn.Cell):
    """`network` as a Cell; Parameters p0, p1, ... hold `param_values`."""

    def __init__(self, network: Network, param_values):
        super().__init__()
        self.network = network
        self.params = []
        for i, value in enumerate(param_values):
            param = Parameter(Tensor(value), name=f"p{i}")
            setattr(self, f"p{i}", param)
            self.params.append(param)

    def construct(self, *inputs):
        values = list(inputs) + list(self.params)
        for node in self.network.nodes:
            values.append(OPS[node.op].cell(*[values[i] for i in node.args], *node.attrs))
        outs = tuple(values[i] for i in self.network.outputs)
        return outs if self.network.tuple_output else outs[0]


def evaluate(network: Network, leaves, frozen=None) -> list[np.ndarray]:
    """Every value of `network` in numpy; `frozen` maps a value index to the value it takes
    (stop_gradient held at the point where the gradient is taken)."""
    values = [np.asarray(leaf, np.float64) for leaf in leaves]
    for node in network.nodes:
        index = len(values)
        if frozen and index in frozen:
            values.append(frozen[index])
            continue
        result = OPS[node.op].numpy(*[values[i] for i in node.args], *node.attrs)
        values.append(np.asarray(result, np.float64))
    return values


def kink_distance(network: Network, values) -> float:
    """How far the operands of the kinked ops are from a kink (inf when there is none).
    maximum(a, a) and minimum(a, a) have no kink: the tie's gradient goes to the first."""
    distance = math.inf
    for node in network.nodes:
        kink = OPS[node.op].kink
        if kink is None or (node.op in ("maximum", "minimum") and node.args[0] == node.args[1]):
            continue
        distance = min(distance, kink(*[values[i] for i in node.args], *node.attrs))
    return distance


def stop_gradient_values(network: Network, values) -> dict[int, np.ndarray]:
    first = network.num_leaves
    return {
        first + i: values[first + i] for i, n in enumerate(network.nodes) if n.op == "stop_gradient"
    }
