"""The `ms` dialect's ops: MindSpore's operators at the tensor level, one class per op.

Every op is defined once, here. Its class is the op's documentation (the docstring holds an
```mlir example), its operand and attribute declaration (from which `dialects/ms.py` generates
the IRDL definition), its shape and dtype rule (`infer`, pure Python on `TensorSpec`: the tracer
checks a user's program with it before any MLIR exists, and the verifier checks parsed IR with
it), and its numpy semantics (`reference`: eager execution of a primitive outside a cell, and
the tests' interpreter of `ms` IR). The VJP rule and the lowering of each op sit in its family's
rules file (`cellc.compiler.ops`), keyed by the class.

This module imports no MLIR: an eager `x + y` on concrete tensors must not load it. Building an
op and reading its attributes from IR are MLIR's business (`dialects/ms.py`); the classes
delegate to it on the compile path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cellc.runtime.errors import CellcError

from .types import TensorSpec, broadcast_shapes, broadcastable_to

# ms.grad's operand and result slots (see dialects/ms.py): a gradient of up to this many inputs
# and weights (ResNet-50 has 161 weights, BERT-base about 200).
MAX_GRAD_SLOTS = 1024


class ShapeError(CellcError, ValueError):
    """An op's operands, attributes or results disagree. The message names the op and types."""

    def __init__(self, op_name: str, message: str):
        self.op_name = op_name
        self.reason = message
        super().__init__(f"'{op_name}' op {message}")


class ElementTypeError(ShapeError):
    """The operands' element types disagree or an op does not accept an element type."""


# Attribute kinds an op may declare: "bool", "i64", "i64_array", "symbol" (a function name),
# "dense" (a constant's value). dialects/ms.py maps each to its MLIR attribute.
ATTRIBUTE_KINDS = ("bool", "i64", "i64_array", "symbol", "dense")


def _dialect():
    """The MLIR side of the dialect (dialects/ms.py), loaded on the compile path only."""
    from . import ms

    return ms


OPS: dict[str, type[Op]] = {}


class Op:
    """Base of every `ms` op. Subclasses set `name`, `operands`, `attributes`, `infer` and
    `reference`."""

    name: str = ""
    operands: tuple[str, ...] = ()
    results: tuple[str, ...] = ("out",)
    attributes: dict[str, str] = {}
    # Attribute defaults applied by the builder when the caller omits one.
    defaults: dict[str, object] = {}
    # True when the result type is not derivable from operands and attributes (reshape,
    # broadcast_to, constant): the builder then takes `result=TensorSpec`.
    result_given: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            OPS[cls.name] = cls

    @classmethod
    def infer(cls, operands: list[TensorSpec], attrs: dict) -> list[TensorSpec]:
        raise NotImplementedError(cls.name)

    @classmethod
    def check(cls, operands: list[TensorSpec], attrs: dict, results: list[TensorSpec]):
        """Raises ShapeError unless `results` are what the op produces from its operands."""
        if len(operands) != len(cls.operands):
            raise ShapeError(cls.name, f"expects {len(cls.operands)} operands, got {len(operands)}")
        if cls.result_given:
            attrs = dict(attrs, result=results[0])
        check_sizes(cls.name, results)
        expected = cls.infer(operands, attrs)
        if list(expected) != list(results):
            raise ShapeError(
                cls.name,
                f"result type {_types(results)} does not match the inferred "
                f"{_types(expected)} for operands {_types(operands)}",
            )

    @classmethod
    def reference(cls, *operands: np.ndarray, **attrs) -> np.ndarray:
        """The op's value on numpy arrays (attrs as `infer` takes them, defaults applied)."""
        raise NotImplementedError(f"'{cls.name}' has no numpy reference")

    @classmethod
    def build(cls, *operands, loc=None, **attrs):
        """Creates the op at the current MLIR insertion point and returns its result."""
        return _dialect().build_op(cls, *operands, loc=loc, **attrs)

    @classmethod
    def read_attributes(cls, op) -> dict:
        """The attributes of an MLIR operation of this op, as Python values, keyed by name."""
        return _dialect().read_attributes(cls, op)


# The largest tensor cellc builds: 2**40 bytes (1 TiB). Beyond it a shape is a mistake, and
# MLIR's size computations (int64) would overflow long before memory runs out.
MAX_TENSOR_BYTES = 2**40


def check_sizes(op_name: str, specs: list[TensorSpec]) -> None:
    """Raises ShapeError for a negative dimension or a tensor of more than MAX_TENSOR_BYTES."""
    for spec in specs:
        if any(d < 0 for d in spec.shape):
            raise ShapeError(op_name, f"cannot make {spec}: a dimension is negative")
        size = np.dtype(spec.numpy_dtype).itemsize
        for d in spec.shape:
            size *= d
        if size > MAX_TENSOR_BYTES:
            raise ShapeError(
                op_name,
                f"would make {spec} of {size} bytes, more than cellc's limit of "
                f"{MAX_TENSOR_BYTES} bytes",
            )


def _types(specs) -> str:
    return ", ".join(str(s) for s in specs)


def _reject_bool(name: str, *specs: TensorSpec):
    """Arithmetic is not defined on bool (i1) tensors: compare, select, cast or move them."""
    for spec in specs:
        if spec.element == "i1":
            raise ElementTypeError(
                name, f"does not compute on bool tensors ({spec}); use an int or float tensor"
            )


def _require_float(name: str, spec: TensorSpec):
    if not spec.is_float:
        raise ElementTypeError(name, f"expects a floating-point tensor, got {spec}")


class ConstantOp(Op):
    """A dense constant.

    ```mlir
    %c = "ms.constant"() {value = dense<1.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
    ```
    """

    name = "ms.constant"
    attributes = {"value": "dense"}
    result_given = True

    @classmethod
    def infer(cls, operands, attrs):
        spec = attrs["result"]
        value = np.asarray(attrs["value"])
        if value.shape not in ((), spec.shape) and value.size != 1:
            raise ShapeError(cls.name, f"value of shape {value.shape} does not fit {spec}")
        return [spec]

    @classmethod
    def build(cls, value, spec: TensorSpec, loc=None):
        return _dialect().build_constant(value, spec, loc=loc)

    @classmethod
    def reference(cls, *, value, result):
        return np.broadcast_to(np.asarray(value, dtype=result.numpy_dtype), result.shape).copy()

    @classmethod
    def check(cls, operands, attrs, results):
        value = attrs["value"]
        if list(value.shape) != list(results[0].shape):
            raise ShapeError(
                cls.name, f"value of type {value.shape} does not match result {results[0]}"
            )
        if value.dtype != results[0].numpy_dtype:
            raise ElementTypeError(
                cls.name, f"value of dtype {value.dtype} does not match result {results[0]}"
            )


class MatMulOp(Op):
    """2-D matrix product, MindSpore's MatMul, with optional transposition of each operand.

    ```mlir
    %c = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = true}
        : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
    ```
    """

    name = "ms.matmul"
    operands = ("a", "b")
    attributes = {"transpose_a": "bool", "transpose_b": "bool"}
    defaults = {"transpose_a": False, "transpose_b": False}

    @classmethod
    def infer(cls, operands, attrs):
        a, b = operands
        _reject_bool(cls.name, a, b)
        if a.rank != 2 or b.rank != 2:
            raise ShapeError(cls.name, f"expects 2-D operands, got {a} and {b}")
        if a.element != b.element:
            raise ElementTypeError(cls.name, f"element types differ: {a} and {b}")
        m, ka = reversed(a.shape) if attrs["transpose_a"] else a.shape
        kb, n = reversed(b.shape) if attrs["transpose_b"] else b.shape
        if ka != kb:
            raise ShapeError(
                cls.name,
                f"contracting dimensions differ ({ka} vs {kb}): {a} and {b} "
                f"(transpose_a={attrs['transpose_a']}, transpose_b={attrs['transpose_b']})",
            )
        return [TensorSpec((m, n), a.element)]

    @classmethod
    def reference(cls, a, b, *, transpose_a, transpose_b):
        return (a.T if transpose_a else a) @ (b.T if transpose_b else b)


class ElementwiseBinaryOp(Op):
    """Base of the binary arithmetic ops: numpy broadcasting, one element type. `numpy` is the
    numpy function with the op's semantics."""

    operands = ("lhs", "rhs")
    numpy = None

    @classmethod
    def reference(cls, lhs, rhs):
        return cls.numpy(lhs, rhs)

    @classmethod
    def infer(cls, operands, attrs):
        lhs, rhs = operands
        _reject_bool(cls.name, lhs, rhs)
        if lhs.element != rhs.element:
            raise ElementTypeError(cls.name, f"element types differ: {lhs} and {rhs}")
        shape = broadcast_shapes(lhs.shape, rhs.shape)
        if shape is None:
            raise ShapeError(cls.name, f"shapes do not broadcast: {lhs} and {rhs}")
        return [TensorSpec(shape, lhs.element)]


class AddOp(ElementwiseBinaryOp):
    """Elementwise sum with numpy broadcasting.

    ```mlir
    %c = "ms.add"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.add"
    numpy = staticmethod(np.add)


class SubOp(ElementwiseBinaryOp):
    """Elementwise difference with numpy broadcasting.

    ```mlir
    %c = "ms.sub"(%a, %b) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.sub"
    numpy = staticmethod(np.subtract)


class MulOp(ElementwiseBinaryOp):
    """Elementwise product with numpy broadcasting.

    ```mlir
    %c = "ms.mul"(%a, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.mul"
    numpy = staticmethod(np.multiply)


class DivOp(ElementwiseBinaryOp):
    """Elementwise quotient with numpy broadcasting (floating point only).

    ```mlir
    %c = "ms.div"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.div"
    numpy = staticmethod(np.divide)

    @classmethod
    def infer(cls, operands, attrs):
        _require_float(cls.name, operands[0])
        return super().infer(operands, attrs)


class PowOp(ElementwiseBinaryOp):
    """Elementwise power `lhs ** rhs` with numpy broadcasting (MindSpore's `Pow`): a negative base
    with an integral exponent is defined (`(-2) ** 3` is -8), integers raise integers.

    ```mlir
    %c = "ms.pow"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.pow"
    numpy = staticmethod(np.power)


class Atan2Op(ElementwiseBinaryOp):
    """The angle of the point (rhs, lhs), `atan(lhs / rhs)` in the right quadrant, in [-pi, pi],
    with numpy broadcasting (MindSpore's Atan2; floats only).

    ```mlir
    %c = "ms.atan2"(%y, %x) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.atan2"
    numpy = staticmethod(np.arctan2)

    @classmethod
    def infer(cls, operands, attrs):
        _require_float(cls.name, operands[0])
        return super().infer(operands, attrs)


class MaximumOp(ElementwiseBinaryOp):
    """Elementwise maximum with numpy broadcasting (NaN-propagating, like numpy's `maximum`).

    ```mlir
    %c = "ms.maximum"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.maximum"
    numpy = staticmethod(np.maximum)


class MinimumOp(ElementwiseBinaryOp):
    """Elementwise minimum with numpy broadcasting (NaN-propagating, like numpy's `minimum`).

    ```mlir
    %c = "ms.minimum"(%a, %b) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.minimum"
    numpy = staticmethod(np.minimum)


class ReluGradOp(Op):
    """The derivative of relu applied to a cotangent: `dy * (x > 0)` (MindSpore's ReluGrad).

    ```mlir
    %dx = "ms.relu_grad"(%dy, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.relu_grad"
    operands = ("dy", "x")

    @classmethod
    def infer(cls, operands, attrs):
        dy, x = operands
        _reject_bool(cls.name, dy, x)
        if dy != x:
            raise ShapeError(cls.name, f"expects equal types, got {dy} and {x}")
        return [dy]

    @classmethod
    def reference(cls, dy, x):
        return np.where(x > 0, dy, np.zeros_like(dy))


class ElementwiseUnaryOp(Op):
    """Base of the unary ops: the result has the operand's type. `numpy` is the numpy function
    with the op's semantics."""

    operands = ("x",)
    float_only = True
    numpy = None

    @classmethod
    def reference(cls, x):
        return cls.numpy(x)

    @classmethod
    def infer(cls, operands, attrs):
        (x,) = operands
        if cls.float_only:
            _require_float(cls.name, x)
        if cls is not StopGradientOp:
            _reject_bool(cls.name, x)
        return [x]


def _relu(x):
    return np.maximum(x, np.zeros_like(x))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class NegOp(ElementwiseUnaryOp):
    """Elementwise negation.

    ```mlir
    %y = "ms.neg"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.neg"
    numpy = staticmethod(np.negative)
    float_only = False


class ReluOp(ElementwiseUnaryOp):
    """max(x, 0).

    ```mlir
    %y = "ms.relu"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.relu"
    numpy = staticmethod(_relu)


class ExpOp(ElementwiseUnaryOp):
    """e**x.

    ```mlir
    %y = "ms.exp"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.exp"
    numpy = staticmethod(np.exp)


class LogOp(ElementwiseUnaryOp):
    """Natural logarithm.

    ```mlir
    %y = "ms.log"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.log"
    numpy = staticmethod(np.log)


class TanhOp(ElementwiseUnaryOp):
    """Hyperbolic tangent.

    ```mlir
    %y = "ms.tanh"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.tanh"
    numpy = staticmethod(np.tanh)


class SigmoidOp(ElementwiseUnaryOp):
    """1 / (1 + e**-x).

    ```mlir
    %y = "ms.sigmoid"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.sigmoid"
    numpy = staticmethod(_sigmoid)


class SqrtOp(ElementwiseUnaryOp):
    """Square root (NaN for x < 0).

    ```mlir
    %y = "ms.sqrt"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.sqrt"
    numpy = staticmethod(np.sqrt)


class SinOp(ElementwiseUnaryOp):
    """Sine.

    ```mlir
    %y = "ms.sin"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.sin"
    numpy = staticmethod(np.sin)


class ErfOp(ElementwiseUnaryOp):
    """The Gauss error function, 2/sqrt(pi) * integral from 0 to x of exp(-t**2) dt.

    ```mlir
    %y = "ms.erf"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.erf"
    numpy = staticmethod(np.vectorize(math.erf, otypes=[np.float64]))


class TanOp(ElementwiseUnaryOp):
    """Tangent.

    ```mlir
    %y = "ms.tan"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.tan"
    numpy = staticmethod(np.tan)


class AtanOp(ElementwiseUnaryOp):
    """Arctangent, in (-pi/2, pi/2).

    ```mlir
    %y = "ms.atan"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.atan"
    numpy = staticmethod(np.arctan)


class AsinOp(ElementwiseUnaryOp):
    """Arcsine, in [-pi/2, pi/2] (NaN outside [-1, 1]).

    ```mlir
    %y = "ms.asin"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.asin"
    numpy = staticmethod(np.arcsin)


class AcosOp(ElementwiseUnaryOp):
    """Arccosine, in [0, pi] (NaN outside [-1, 1]).

    ```mlir
    %y = "ms.acos"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.acos"
    numpy = staticmethod(np.arccos)


class SinhOp(ElementwiseUnaryOp):
    """Hyperbolic sine.

    ```mlir
    %y = "ms.sinh"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.sinh"
    numpy = staticmethod(np.sinh)


class CoshOp(ElementwiseUnaryOp):
    """Hyperbolic cosine.

    ```mlir
    %y = "ms.cosh"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.cosh"
    numpy = staticmethod(np.cosh)


class AsinhOp(ElementwiseUnaryOp):
    """Inverse hyperbolic sine.

    ```mlir
    %y = "ms.asinh"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.asinh"
    numpy = staticmethod(np.arcsinh)


class AcoshOp(ElementwiseUnaryOp):
    """Inverse hyperbolic cosine (NaN below 1).

    ```mlir
    %y = "ms.acosh"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.acosh"
    numpy = staticmethod(np.arccosh)


class AtanhOp(ElementwiseUnaryOp):
    """Inverse hyperbolic tangent (NaN outside [-1, 1]).

    ```mlir
    %y = "ms.atanh"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.atanh"
    numpy = staticmethod(np.arctanh)


class Log2Op(ElementwiseUnaryOp):
    """Base-2 logarithm.

    ```mlir
    %y = "ms.log2"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.log2"
    numpy = staticmethod(np.log2)


class Log10Op(ElementwiseUnaryOp):
    """Base-10 logarithm.

    ```mlir
    %y = "ms.log10"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.log10"
    numpy = staticmethod(np.log10)


class Log1pOp(ElementwiseUnaryOp):
    """log(1 + x), accurate for x near 0.

    ```mlir
    %y = "ms.log1p"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.log1p"
    numpy = staticmethod(np.log1p)


class Expm1Op(ElementwiseUnaryOp):
    """exp(x) - 1, accurate for x near 0.

    ```mlir
    %y = "ms.expm1"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.expm1"
    numpy = staticmethod(np.expm1)


class ErfcOp(ElementwiseUnaryOp):
    """The complementary error function, 1 - erf(x), accurate where erf(x) is near 1.

    ```mlir
    %y = "ms.erfc"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.erfc"
    numpy = staticmethod(np.vectorize(math.erfc, otypes=[np.float64]))


class TruncOp(ElementwiseUnaryOp):
    """Rounds toward zero (MindSpore's Trunc).

    ```mlir
    %y = "ms.trunc"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.trunc"
    numpy = staticmethod(np.trunc)


class RoundOp(ElementwiseUnaryOp):
    """Rounds to the nearest integer, halves to even (MindSpore's Round).

    ```mlir
    %y = "ms.round"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.round"
    numpy = staticmethod(np.round)


class CosOp(ElementwiseUnaryOp):
    """Cosine.

    ```mlir
    %y = "ms.cos"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.cos"
    numpy = staticmethod(np.cos)


class AbsOp(ElementwiseUnaryOp):
    """|x|, for float and integer tensors.

    ```mlir
    %y = "ms.abs"(%x) : (tensor<2x3xi32>) -> tensor<2x3xi32>
    ```
    """

    name = "ms.abs"
    numpy = staticmethod(np.abs)
    float_only = False


class SignOp(ElementwiseUnaryOp):
    """-1, 0 or 1 by the sign of x (x itself for 0, -0 and NaN). Its derivative is zero.

    ```mlir
    %y = "ms.sign"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.sign"
    numpy = staticmethod(np.sign)
    float_only = False


class StopGradientOp(ElementwiseUnaryOp):
    """Identity whose derivative is zero; it lowers to nothing.

    ```mlir
    %y = "ms.stop_gradient"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.stop_gradient"
    numpy = staticmethod(np.copy)
    float_only = False


class ReduceOp(Op):
    """Base of the reductions over `axes` (sorted, unique, in range); with `keep_dims` the
    reduced axes stay as size 1. `numpy` is the numpy reduction with the op's semantics."""

    numpy = None

    @classmethod
    def reference(cls, x, *, axes, keep_dims):
        return cls.numpy(x, axis=tuple(axes), keepdims=keep_dims)

    operands = ("x",)
    attributes = {"axes": "i64_array", "keep_dims": "bool"}
    defaults = {"keep_dims": False}

    @classmethod
    def infer(cls, operands, attrs):
        (x,) = operands
        _reject_bool(cls.name, x)
        axes = tuple(attrs["axes"])
        if list(axes) != sorted(set(axes)) or any(not 0 <= a < x.rank for a in axes):
            raise ShapeError(
                cls.name, f"axes {list(axes)} must be sorted, unique and within rank of {x}"
            )
        if attrs["keep_dims"]:
            shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return [x.with_shape(shape)]


class ReduceSumOp(ReduceOp):
    """Sum over `axes`, keeping them as size 1 when `keep_dims`.

    ```mlir
    %y = "ms.reduce_sum"(%x) {axes = array<i64: 0>, keep_dims = false}
        : (tensor<2x3xf32>) -> tensor<3xf32>
    ```
    """

    name = "ms.reduce_sum"
    numpy = staticmethod(np.sum)


class ReduceMaxOp(ReduceOp):
    """Maximum over `axes` (NaN-propagating), keeping them as size 1 when `keep_dims`
    (MindSpore's ReduceMax).

    ```mlir
    %y = "ms.reduce_max"(%x) {axes = array<i64: 1>, keep_dims = true}
        : (tensor<2x3xf32>) -> tensor<2x1xf32>
    ```
    """

    name = "ms.reduce_max"
    numpy = staticmethod(np.max)

    @classmethod
    def infer(cls, operands, attrs):
        (x,) = operands
        empty = [a for a in attrs["axes"] if 0 <= a < x.rank and x.shape[a] == 0]
        if empty:
            raise ShapeError(
                cls.name,
                f"has no maximum over the empty axis {empty[0]} of {x}: a maximum of no "
                "elements is undefined",
            )
        return super().infer(operands, attrs)


class ShapeOp(Op):
    """Base of the ops whose result shape is given by the caller (broadcast_to, reshape)."""

    operands = ("x",)
    result_given = True

    @classmethod
    def build(cls, x, shape, loc=None):
        """Creates the op on `x` with result shape `shape` (the element type is x's)."""
        return _dialect().build_with_result(cls, x, shape=shape, loc=loc)


class BroadcastToOp(ShapeOp):
    """Broadcasts to the result's shape by numpy's rule.

    ```mlir
    %y = "ms.broadcast_to"(%x) : (tensor<3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.broadcast_to"

    @classmethod
    def infer(cls, operands, attrs):
        (x,), result = operands, attrs["result"]
        if result.element != x.element or not broadcastable_to(x.shape, result.shape):
            raise ShapeError(cls.name, f"cannot broadcast {x} to {result}")
        return [result]

    @classmethod
    def reference(cls, x, *, result):
        return np.broadcast_to(x, result.shape).copy()


class ReshapeOp(ShapeOp):
    """Reshape to the result's shape; the element count is unchanged.

    ```mlir
    %y = "ms.reshape"(%x) : (tensor<2x3xf32>) -> tensor<6xf32>
    ```
    """

    name = "ms.reshape"

    @classmethod
    def infer(cls, operands, attrs):
        (x,), result = operands, attrs["result"]
        if result.element != x.element or result.size != x.size or min(result.shape, default=0) < 0:
            raise ShapeError(cls.name, f"cannot reshape {x} to {result}")
        return [result]

    @classmethod
    def reference(cls, x, *, result):
        return np.reshape(x, result.shape)


class TransposeOp(Op):
    """Permutes dimensions: result dim i is operand dim perm[i].

    ```mlir
    %y = "ms.transpose"(%x) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
    ```
    """

    name = "ms.transpose"
    operands = ("x",)
    attributes = {"perm": "i64_array"}

    @classmethod
    def infer(cls, operands, attrs):
        (x,) = operands
        perm = tuple(attrs["perm"])
        if sorted(perm) != list(range(x.rank)):
            raise ShapeError(cls.name, f"perm {list(perm)} is not a permutation of {x}'s dims")
        return [x.with_shape(x.shape[p] for p in perm)]

    @classmethod
    def reference(cls, x, *, perm):
        return np.transpose(x, perm)


# ------------------------------------------------------------------------------------------
# Convolution and pooling, NCHW. `padding` is (top, bottom, left, right); `strides`,
# `dilations`, `kernel_size` and `input_size` are (height, width).
# ------------------------------------------------------------------------------------------


def window_output_size(size: int, kernel: int, stride: int, dilation: int, pad: int) -> int:
    """The output length of a sliding window over `size` padded by `pad` in all (0 when the
    dilated window does not fit)."""
    span = dilation * (kernel - 1) + 1
    return max(0, (size + pad - span) // stride + 1)


class WindowOp(Op):
    """Base of the convolutions and poolings: the window attributes and the output size."""

    @classmethod
    def window_sizes(cls, x: TensorSpec, kernel, attrs) -> tuple[int, int]:
        """(OH, OW) of a `kernel` (KH, KW) window over x (N, C, H, W); ShapeError when an
        attribute is malformed or the window does not fit the padded input."""
        strides, padding = tuple(attrs["strides"]), tuple(attrs["padding"])
        dilations = tuple(attrs.get("dilations", (1, 1)))
        if len(strides) != 2 or len(dilations) != 2 or len(padding) != 4 or len(kernel) != 2:
            raise ShapeError(
                cls.name,
                f"expects 2 strides, 2 dilations, 4 paddings and a 2-D window, got strides "
                f"{list(strides)}, dilations {list(dilations)}, padding {list(padding)}, "
                f"window {list(kernel)}",
            )
        if min(strides + dilations + tuple(kernel)) < 1 or min(padding) < 0:
            raise ShapeError(
                cls.name,
                f"expects positive strides, dilations and window sizes and non-negative "
                f"padding, got strides {list(strides)}, dilations {list(dilations)}, "
                f"padding {list(padding)}, window {list(kernel)}",
            )
        sizes = [
            window_output_size(
                x.shape[2 + a],
                kernel[a],
                strides[a],
                dilations[a],
                padding[2 * a] + padding[2 * a + 1],
            )
            for a in range(2)
        ]
        if min(sizes) < 1:
            raise ShapeError(
                cls.name,
                f"window {list(kernel)} (dilations {list(dilations)}) does not fit the input "
                f"{x} padded by {list(padding)}",
            )
        return sizes[0], sizes[1]


def _require_nchw(name: str, *specs: TensorSpec):
    for spec in specs:
        _require_float(name, spec)
        if spec.rank != 4:
            raise ShapeError(name, f"expects 4-D (NCHW) tensors, got {spec}")
    if any(spec.element != specs[0].element for spec in specs):
        raise ElementTypeError(name, f"element types differ: {_types(specs)}")


def _padded(x: np.ndarray, padding, value=0.0) -> np.ndarray:
    top, bottom, left, right = padding
    pads = ((0, 0),) * (x.ndim - 2) + ((top, bottom), (left, right))
    return np.pad(x, pads, constant_values=value)


def _taps(kernel, out_size, strides, dilations):
    """Yields (i, j, rows, cols): the slices of the padded input that kernel tap (i, j) reads
    for the whole (OH, OW) output."""
    (oh, ow), (sh, sw), (dh, dw) = out_size, strides, dilations
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            yield i, j, rows, cols


def _grouped(x: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, ...) -> (N, G, C/G, ...)."""
    return x.reshape(x.shape[0], groups, x.shape[1] // groups, *x.shape[2:])


class ConvOp(WindowOp):
    """Base of the convolution ops (forward, and its two transposes): the attributes and the
    grouped shape rule."""

    attributes = {
        "strides": "i64_array",
        "dilations": "i64_array",
        "padding": "i64_array",
        "groups": "i64",
    }
    defaults = {"strides": (1, 1), "dilations": (1, 1), "padding": (0, 0, 0, 0), "groups": 1}

    @classmethod
    def conv_result(cls, x: TensorSpec, w: TensorSpec, attrs) -> TensorSpec:
        """The output (N, O, OH, OW) of convolving x (N, C, H, W) with w (O, C/groups, KH,
        KW)."""
        _require_nchw(cls.name, x, w)
        groups = attrs["groups"]
        out_channels, group_channels = w.shape[:2]
        if groups < 1 or x.shape[1] != group_channels * groups or out_channels % groups:
            raise ShapeError(
                cls.name,
                f"input {x} and filter {w} do not match groups = {groups} (the input's "
                "channels must be the filter's dim 1 times groups, the output channels a "
                "multiple of groups)",
            )
        oh, ow = cls.window_sizes(x, w.shape[2:], attrs)
        return TensorSpec((x.shape[0], out_channels, oh, ow), x.element)

    @classmethod
    def check_cotangent(cls, ct: TensorSpec, expected: TensorSpec, x, w):
        if ct != expected:
            raise ShapeError(
                cls.name,
                f"output gradient {ct} does not match the convolution of {x} by {w}, "
                f"which is {expected}",
            )


class Conv2DOp(ConvOp):
    """2-D cross-correlation of x (N, C, H, W) with the filter w (O, C/groups, KH, KW), as
    MindSpore's Conv2D (NCHW): x zero-padded by `padding` (top, bottom, left, right), the
    filter's taps `dilations` apart, the window moved by `strides`, the channels split into
    `groups` (groups = C: depthwise).

    ```mlir
    %y = "ms.conv2d"(%x, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64,
        padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
        : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32>
    ```
    """

    name = "ms.conv2d"
    operands = ("x", "w")

    @classmethod
    def infer(cls, operands, attrs):
        x, w = operands
        return [cls.conv_result(x, w, attrs)]

    @classmethod
    def reference(cls, x, w, *, strides, dilations, padding, groups):
        n, (o, _, kh, kw) = x.shape[0], w.shape
        attrs = {"strides": strides, "dilations": dilations, "padding": padding}
        out_size = cls.window_sizes(TensorSpec(x.shape, "f64"), (kh, kw), attrs)
        xg = _grouped(_padded(x, padding), groups)
        wg = w.reshape(groups, o // groups, *w.shape[1:])
        out = np.zeros((n, groups, o // groups, *out_size), np.result_type(x, w))
        for i, j, rows, cols in _taps((kh, kw), out_size, strides, dilations):
            out += np.einsum("ngchw,gfc->ngfhw", xg[..., rows, cols], wg[..., i, j])
        return out.reshape(n, o, *out_size)


class Conv2DBackpropInputOp(ConvOp):
    """The gradient of ms.conv2d with respect to its input: the transposed convolution of the
    output gradient dy (N, O, OH, OW) by the filter w (O, C/groups, KH, KW), an (N, C, H, W)
    tensor, H, W = `input_size` (MindSpore's Conv2DBackpropInput; also Conv2dTranspose's
    forward). It is bilinear: its transposes are ms.conv2d and ms.conv2d_backprop_filter.

    ```mlir
    %dx = "ms.conv2d_backprop_input"(%dy, %w) {dilations = array<i64: 1, 1>,
        groups = 1 : i64, input_size = array<i64: 8, 8>, padding = array<i64: 1, 1, 1, 1>,
        strides = array<i64: 2, 2>}
        : (tensor<1x4x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x8x8xf32>
    ```
    """

    name = "ms.conv2d_backprop_input"
    operands = ("dy", "w")
    attributes = {**ConvOp.attributes, "input_size": "i64_array"}

    @classmethod
    def infer(cls, operands, attrs):
        dy, w = operands
        _require_nchw(cls.name, dy, w)
        if len(attrs["input_size"]) != 2:
            raise ShapeError(cls.name, f"expects 2 input sizes, got {list(attrs['input_size'])}")
        x = TensorSpec(
            (dy.shape[0], w.shape[1] * attrs["groups"], *attrs["input_size"]), dy.element
        )
        cls.check_cotangent(dy, cls.conv_result(x, w, attrs), x, w)
        return [x]

    @classmethod
    def reference(cls, dy, w, *, strides, dilations, padding, groups, input_size):
        n, (o, cg, kh, kw) = dy.shape[0], w.shape
        top, bottom, left, right = padding
        hp, wp = input_size[0] + top + bottom, input_size[1] + left + right
        dxp = np.zeros((n, groups, cg, hp, wp), np.result_type(dy, w))
        dyg = _grouped(dy, groups)
        wg = w.reshape(groups, o // groups, *w.shape[1:])
        for i, j, rows, cols in _taps((kh, kw), dy.shape[2:], strides, dilations):
            dxp[..., rows, cols] += np.einsum("ngfhw,gfc->ngchw", dyg, wg[..., i, j])
        dxp = dxp.reshape(n, groups * cg, hp, wp)
        return dxp[:, :, top : top + input_size[0], left : left + input_size[1]]


class Conv2DBackpropFilterOp(ConvOp):
    """The gradient of ms.conv2d with respect to its filter: the correlation of the input x
    (N, C, H, W) with the output gradient dy (N, O, OH, OW), an (O, C/groups, KH, KW) tensor,
    KH, KW = `kernel_size` (MindSpore's Conv2DBackpropFilter). It is bilinear: its
    transposes are ms.conv2d_backprop_input and ms.conv2d.

    ```mlir
    %dw = "ms.conv2d_backprop_filter"(%x, %dy) {dilations = array<i64: 1, 1>,
        groups = 1 : i64, kernel_size = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>,
        strides = array<i64: 2, 2>}
        : (tensor<1x3x8x8xf32>, tensor<1x4x4x4xf32>) -> tensor<4x3x3x3xf32>
    ```
    """

    name = "ms.conv2d_backprop_filter"
    operands = ("x", "dy")
    attributes = {**ConvOp.attributes, "kernel_size": "i64_array"}

    @classmethod
    def infer(cls, operands, attrs):
        x, dy = operands
        _require_nchw(cls.name, x, dy)
        groups, kernel = attrs["groups"], tuple(attrs["kernel_size"])
        if len(kernel) != 2 or groups < 1 or x.shape[1] % groups:
            raise ShapeError(
                cls.name,
                f"expects a 2-D kernel_size and groups dividing the channels of {x}, got "
                f"kernel_size {list(kernel)}, groups = {groups}",
            )
        w = TensorSpec((dy.shape[1], x.shape[1] // groups, *kernel), x.element)
        cls.check_cotangent(dy, cls.conv_result(x, w, attrs), x, w)
        return [w]

    @classmethod
    def reference(cls, x, dy, *, strides, dilations, padding, groups, kernel_size):
        o = dy.shape[1]
        xg = _grouped(_padded(x, padding), groups)
        dyg = _grouped(dy, groups)
        dw = np.zeros(
            (groups, o // groups, x.shape[1] // groups, *kernel_size), np.result_type(x, dy)
        )
        for i, j, rows, cols in _taps(kernel_size, dy.shape[2:], strides, dilations):
            dw[..., i, j] = np.einsum("ngchw,ngfhw->gfc", xg[..., rows, cols], dyg)
        return dw.reshape(o, x.shape[1] // groups, *kernel_size)


class PoolOp(WindowOp):
    """Base of the poolings over `kernel_size` windows (NCHW)."""

    operands = ("x",)
    attributes = {"kernel_size": "i64_array", "strides": "i64_array", "padding": "i64_array"}
    defaults = {"padding": (0, 0, 0, 0)}

    @classmethod
    def infer(cls, operands, attrs):
        x = operands[0]
        _require_nchw(cls.name, *operands)
        oh, ow = cls.window_sizes(x, tuple(attrs["kernel_size"]), attrs)
        return [x.with_shape((*x.shape[:2], oh, ow))]

    @classmethod
    def taps(cls, x: np.ndarray, kernel_size, strides, padding):
        attrs = {"strides": strides, "padding": padding}
        out_size = cls.window_sizes(TensorSpec(x.shape, "f64"), kernel_size, attrs)
        return out_size, _taps(kernel_size, out_size, strides, (1, 1))


class MaxPoolOp(PoolOp):
    """The maximum of each window (MindSpore's MaxPool); padding is -inf, never the maximum.

    ```mlir
    %y = "ms.max_pool"(%x) {kernel_size = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>,
        strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
    ```
    """

    name = "ms.max_pool"

    @classmethod
    def reference(cls, x, *, kernel_size, strides, padding):
        out_size, taps = cls.taps(x, kernel_size, strides, padding)
        xp = _padded(x, padding, -np.inf)
        out = np.full((*x.shape[:2], *out_size), -np.inf, x.dtype)
        for _, _, rows, cols in taps:
            out = np.maximum(out, xp[..., rows, cols])
        return out


class MaxPoolGradOp(PoolOp):
    """The gradient of ms.max_pool: each window's output gradient dy goes to the window's
    first maximum (row-major), as MindSpore's MaxPoolGrad; overlapping windows add up.

    ```mlir
    %dx = "ms.max_pool_grad"(%x, %dy) {kernel_size = array<i64: 2, 2>,
        padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
        : (tensor<1x3x8x8xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32>
    ```
    """

    name = "ms.max_pool_grad"
    operands = ("x", "dy")

    @classmethod
    def infer(cls, operands, attrs):
        x, dy = operands
        (expected,) = MaxPoolOp.infer([x], attrs)
        if dy != expected:
            raise ShapeError(
                cls.name, f"output gradient {dy} does not match the pooling of {x}, {expected}"
            )
        return [x]

    @classmethod
    def reference(cls, x, dy, *, kernel_size, strides, padding):
        out_size, taps = cls.taps(x, kernel_size, strides, padding)
        taps = list(taps)
        xp = _padded(x, padding, -np.inf)
        best = np.full(dy.shape, -np.inf, x.dtype)
        first = np.zeros(dy.shape, np.int64)
        for k, (_, _, rows, cols) in enumerate(taps):
            better = xp[..., rows, cols] > best
            best = np.where(better, xp[..., rows, cols], best)
            first = np.where(better, k, first)
        dxp = np.zeros(xp.shape, dy.dtype)
        for k, (_, _, rows, cols) in enumerate(taps):
            dxp[..., rows, cols] += np.where(first == k, dy, 0)
        top, _, left, _ = padding
        return dxp[..., top : top + x.shape[2], left : left + x.shape[3]]


class MaxPoolGradGradOp(PoolOp):
    """The transpose of ms.max_pool_grad in its gradient: for each window of x, the value of
    g (shaped like x) at the window's first maximum (MindSpore's MaxPoolGradGrad). With
    ms.max_pool_grad it closes max pooling under differentiation.

    ```mlir
    %y = "ms.max_pool_grad_grad"(%x, %g) {kernel_size = array<i64: 2, 2>,
        padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
        : (tensor<1x3x8x8xf32>, tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
    ```
    """

    name = "ms.max_pool_grad_grad"
    operands = ("x", "g")

    @classmethod
    def infer(cls, operands, attrs):
        x, g = operands
        if g != x:
            raise ShapeError(cls.name, f"expects g of the type of x, got {g} and {x}")
        return MaxPoolOp.infer([x], attrs)

    @classmethod
    def reference(cls, x, g, *, kernel_size, strides, padding):
        _, taps = cls.taps(x, kernel_size, strides, padding)
        xp, gp = _padded(x, padding, -np.inf), _padded(g, padding)
        best, picked = None, None
        for _, _, rows, cols in taps:
            if best is None:
                best, picked = xp[..., rows, cols], gp[..., rows, cols]
                continue
            better = xp[..., rows, cols] > best
            best = np.where(better, xp[..., rows, cols], best)
            picked = np.where(better, gp[..., rows, cols], picked)
        return picked.astype(g.dtype)


class AvgPoolOp(PoolOp):
    """The mean of each window over the elements inside the input (padding is not counted),
    as MindSpore's AvgPool with pad_mode 'valid' or 'same'.

    ```mlir
    %y = "ms.avg_pool"(%x) {kernel_size = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>,
        strides = array<i64: 2, 2>} : (tensor<1x3x5x5xf32>) -> tensor<1x3x3x3xf32>
    ```
    """

    name = "ms.avg_pool"

    @classmethod
    def counts(cls, shape, kernel_size, strides, padding) -> np.ndarray:
        """The number of input elements (not padding) in each window: (OH, OW)."""
        ones = np.ones((1, 1, *shape[2:]))
        return cls.sums(ones, kernel_size, strides, padding)[0, 0]

    @classmethod
    def sums(cls, x, kernel_size, strides, padding):
        out_size, taps = cls.taps(x, kernel_size, strides, padding)
        xp = _padded(x, padding)
        out = np.zeros((*x.shape[:2], *out_size), x.dtype)
        for _, _, rows, cols in taps:
            out += xp[..., rows, cols]
        return out

    @classmethod
    def reference(cls, x, *, kernel_size, strides, padding):
        counts = cls.counts(x.shape, kernel_size, strides, padding)
        return (cls.sums(x, kernel_size, strides, padding) / counts).astype(x.dtype)


# --------------------------------------------------------------------------------------------
# Comparisons, logic and selection: results and conditions are bool (i1) tensors.
# --------------------------------------------------------------------------------------------


class CompareOp(Op):
    """Base of the elementwise comparisons: numpy broadcasting, one operand element type, a
    bool result. `numpy` is the numpy comparison."""

    operands = ("lhs", "rhs")
    numpy = None
    # Bool operands are compared only for (in)equality, as MindSpore does.
    accepts_bool = False

    @classmethod
    def infer(cls, operands, attrs):
        lhs, rhs = operands
        if not cls.accepts_bool:
            _reject_bool(cls.name, lhs, rhs)
        if lhs.element != rhs.element:
            raise ElementTypeError(cls.name, f"element types differ: {lhs} and {rhs}")
        shape = broadcast_shapes(lhs.shape, rhs.shape)
        if shape is None:
            raise ShapeError(cls.name, f"shapes do not broadcast: {lhs} and {rhs}")
        return [TensorSpec(shape, "i1")]

    @classmethod
    def reference(cls, lhs, rhs):
        return cls.numpy(lhs, rhs)


class EqualOp(CompareOp):
    """lhs == rhs elementwise (false where either is NaN).

    ```mlir
    %c = "ms.equal"(%a, %b) : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.equal"
    numpy = staticmethod(np.equal)
    accepts_bool = True


class NotEqualOp(CompareOp):
    """lhs != rhs elementwise (true where either is NaN).

    ```mlir
    %c = "ms.not_equal"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.not_equal"
    numpy = staticmethod(np.not_equal)
    accepts_bool = True


class LessOp(CompareOp):
    """lhs < rhs elementwise (false where either is NaN).

    ```mlir
    %c = "ms.less"(%a, %b) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.less"
    numpy = staticmethod(np.less)


class LessEqualOp(CompareOp):
    """lhs <= rhs elementwise (false where either is NaN).

    ```mlir
    %c = "ms.less_equal"(%a, %b) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.less_equal"
    numpy = staticmethod(np.less_equal)


class GreaterOp(CompareOp):
    """lhs > rhs elementwise (false where either is NaN).

    ```mlir
    %c = "ms.greater"(%a, %b) : (tensor<2x3xi32>, tensor<i32>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.greater"
    numpy = staticmethod(np.greater)


class GreaterEqualOp(CompareOp):
    """lhs >= rhs elementwise (false where either is NaN).

    ```mlir
    %c = "ms.greater_equal"(%a, %b) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.greater_equal"
    numpy = staticmethod(np.greater_equal)


def _require_bool(name: str, *specs: TensorSpec):
    for spec in specs:
        if spec.element != "i1":
            raise ElementTypeError(name, f"expects bool tensors, got {spec}")


class LogicalBinaryOp(CompareOp):
    """Base of logical_and / logical_or: bool operands, numpy broadcasting, a bool result."""

    accepts_bool = True

    @classmethod
    def infer(cls, operands, attrs):
        _require_bool(cls.name, *operands)
        return super().infer(operands, attrs)


class LogicalAndOp(LogicalBinaryOp):
    """lhs and rhs, elementwise on bool tensors.

    ```mlir
    %c = "ms.logical_and"(%a, %b) : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.logical_and"
    numpy = staticmethod(np.logical_and)


class LogicalOrOp(LogicalBinaryOp):
    """lhs or rhs, elementwise on bool tensors.

    ```mlir
    %c = "ms.logical_or"(%a, %b) : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.logical_or"
    numpy = staticmethod(np.logical_or)


class LogicalNotOp(Op):
    """not x, elementwise on a bool tensor.

    ```mlir
    %c = "ms.logical_not"(%a) : (tensor<2x3xi1>) -> tensor<2x3xi1>
    ```
    """

    name = "ms.logical_not"
    operands = ("x",)

    @classmethod
    def infer(cls, operands, attrs):
        _require_bool(cls.name, *operands)
        return [operands[0]]

    @classmethod
    def reference(cls, x):
        return np.logical_not(x)


class SelectOp(Op):
    """`on_true` where `condition` holds, else `on_false`; the three broadcast together
    (MindSpore's Select / ops.where).

    ```mlir
    %y = "ms.select"(%c, %a, %b) : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32>)
        -> tensor<2x3xf32>
    ```
    """

    name = "ms.select"
    operands = ("condition", "on_true", "on_false")

    @classmethod
    def infer(cls, operands, attrs):
        condition, on_true, on_false = operands
        _require_bool(cls.name, condition)
        if on_true.element != on_false.element:
            raise ElementTypeError(cls.name, f"element types differ: {on_true} and {on_false}")
        shape = broadcast_shapes(condition.shape, on_true.shape)
        shape = None if shape is None else broadcast_shapes(shape, on_false.shape)
        if shape is None:
            raise ShapeError(
                cls.name, f"shapes do not broadcast: {condition}, {on_true} and {on_false}"
            )
        return [TensorSpec(shape, on_true.element)]

    @classmethod
    def reference(cls, condition, on_true, on_false):
        return np.where(condition, on_true, on_false)


class FloorDivOp(ElementwiseBinaryOp):
    """floor(lhs / rhs) elementwise, numpy broadcasting (Python's `//`, MindSpore's FloorDiv).

    ```mlir
    %c = "ms.floor_div"(%a, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
    ```
    """

    name = "ms.floor_div"
    numpy = staticmethod(np.floor_divide)


class FloorModOp(ElementwiseBinaryOp):
    """lhs - floor(lhs / rhs) * rhs elementwise, numpy broadcasting: the remainder takes the
    sign of rhs (Python's `%`, MindSpore's FloorMod).

    ```mlir
    %c = "ms.floor_mod"(%a, %b) : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
    ```
    """

    name = "ms.floor_mod"
    numpy = staticmethod(np.mod)


class ArgReduceOp(Op):
    """Base of argmax / argmin: the int64 index of the extreme along `axis` (the first one on
    a tie), the axis dropped."""

    operands = ("x",)
    attributes = {"axis": "i64"}
    numpy = None

    @classmethod
    def infer(cls, operands, attrs):
        (x,) = operands
        _reject_bool(cls.name, x)
        axis = attrs["axis"]
        if not 0 <= axis < x.rank:
            raise ShapeError(cls.name, f"axis {axis} is out of range for {x}")
        if x.shape[axis] == 0:
            raise ShapeError(cls.name, f"has no extreme over the empty axis {axis} of {x}")
        return [TensorSpec(x.shape[:axis] + x.shape[axis + 1 :], "i64")]

    @classmethod
    def reference(cls, x, *, axis):
        return cls.numpy(x, axis=axis).astype(np.int64)


class ArgmaxOp(ArgReduceOp):
    """The index of the maximum along `axis` (MindSpore's Argmax).

    ```mlir
    %i = "ms.argmax"(%x) {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2xi64>
    ```
    """

    name = "ms.argmax"
    numpy = staticmethod(np.argmax)


class ArgminOp(ArgReduceOp):
    """The index of the minimum along `axis` (MindSpore's Argmin).

    ```mlir
    %i = "ms.argmin"(%x) {axis = 0 : i64} : (tensor<2x3xf32>) -> tensor<3xi64>
    ```
    """

    name = "ms.argmin"
    numpy = staticmethod(np.argmin)


# --------------------------------------------------------------------------------------------
# Indexing and combining: slices, padding, concatenation, gathers, batched products.
# --------------------------------------------------------------------------------------------


def _check_rank_attrs(name: str, x: TensorSpec, attrs: dict, keys: tuple[str, ...]):
    for key in keys:
        if len(attrs[key]) != x.rank:
            raise ShapeError(name, f"{key} {list(attrs[key])} needs one entry per dim of {x}")


class StridedSliceOp(Op):
    """Elements `start + i * strides` for i < `sizes` along each dim (MindSpore's
    StridedSlice, `x[b:e:s]`, normalized: every start in range, strides nonzero, maybe
    negative).

    ```mlir
    %y = "ms.strided_slice"(%x) {start = array<i64: 0, 2>, sizes = array<i64: 2, 3>,
        strides = array<i64: 1, -1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.strided_slice"
    operands = ("x",)
    attributes = {"start": "i64_array", "sizes": "i64_array", "strides": "i64_array"}

    @classmethod
    def infer(cls, operands, attrs):
        (x,) = operands
        _check_rank_attrs(cls.name, x, attrs, ("start", "sizes", "strides"))
        for dim, (start, size, stride) in enumerate(
            zip(attrs["start"], attrs["sizes"], attrs["strides"])
        ):
            last = start + (size - 1) * stride
            fits = size == 0 or (0 <= start < x.shape[dim] and 0 <= last < x.shape[dim])
            if stride == 0 or size < 0 or not fits:
                raise ShapeError(
                    cls.name,
                    f"dim {dim}: {size} elements from {start} by {stride} do not fit {x}",
                )
        return [x.with_shape(attrs["sizes"])]

    @classmethod
    def reference(cls, x, *, start, sizes, strides):
        index = np.ix_(*(b + np.arange(n) * s for b, n, s in zip(start, sizes, strides)))
        return x[index] if x.ndim else x.copy()


class PadOp(Op):
    """Zero padding: `low` zeros before, `high` after and `interior` between the elements of
    each dim (XLA's pad; MindSpore's Pad is interior 0). The transpose of a strided slice.

    ```mlir
    %y = "ms.pad"(%x) {low = array<i64: 1, 0>, high = array<i64: 1, 2>,
        interior = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<4x5xf32>
    ```
    """

    name = "ms.pad"
    operands = ("x",)
    attributes = {"low": "i64_array", "high": "i64_array", "interior": "i64_array"}

    @classmethod
    def infer(cls, operands, attrs):
        (x,) = operands
        _check_rank_attrs(cls.name, x, attrs, ("low", "high", "interior"))
        if min((*attrs["low"], *attrs["high"], *attrs["interior"]), default=0) < 0:
            raise ShapeError(cls.name, f"paddings of {x} must be >= 0")
        shape = [
            lo + hi + d + max(d - 1, 0) * inner
            for d, lo, hi, inner in zip(x.shape, attrs["low"], attrs["high"], attrs["interior"])
        ]
        return [x.with_shape(shape)]

    @classmethod
    def reference(cls, x, *, low, high, interior):
        (result,) = cls.infer([TensorSpec.of_array(x)], dict(low=low, high=high, interior=interior))
        out = np.zeros(result.shape, x.dtype)
        index = tuple(
            slice(lo, lo + (d - 1) * (i + 1) + 1, i + 1) for lo, d, i in zip(low, x.shape, interior)
        )
        if x.size:
            out[index] = x
        return out


class ConcatOp(Op):
    """lhs and rhs joined along `axis`; the other dims agree (MindSpore's Concat of two).

    ```mlir
    %y = "ms.concat"(%a, %b) {axis = 0 : i64} : (tensor<2x3xf32>, tensor<1x3xf32>)
        -> tensor<3x3xf32>
    ```
    """

    name = "ms.concat"
    operands = ("lhs", "rhs")
    attributes = {"axis": "i64"}

    @classmethod
    def infer(cls, operands, attrs):
        lhs, rhs = operands
        axis = attrs["axis"]
        if lhs.element != rhs.element:
            raise ElementTypeError(cls.name, f"element types differ: {lhs} and {rhs}")
        if lhs.rank != rhs.rank or not 0 <= axis < lhs.rank:
            raise ShapeError(cls.name, f"cannot join {lhs} and {rhs} along axis {axis}")
        for dim, (a, b) in enumerate(zip(lhs.shape, rhs.shape)):
            if dim != axis and a != b:
                raise ShapeError(
                    cls.name, f"dim {dim} differs ({a} vs {b}): {lhs} and {rhs} (axis {axis})"
                )
        shape = list(lhs.shape)
        shape[axis] += rhs.shape[axis]
        return [lhs.with_shape(shape)]

    @classmethod
    def reference(cls, lhs, rhs, *, axis):
        return np.concatenate([lhs, rhs], axis=axis)


def _require_index(name: str, spec: TensorSpec):
    if spec.element not in ("i32", "i64"):
        raise ElementTypeError(name, f"expects int32 or int64 indices, got {spec}")


class GatherOp(Op):
    """Slices of x along `axis` at integer `indices` (MindSpore's Gather): the result's shape
    is x's with dim `axis` replaced by the indices' shape. A negative index counts from the
    end; an index out of range gives zeros.

    ```mlir
    %y = "ms.gather"(%x, %i) {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2xi32>)
        -> tensor<2x3xf32>
    ```
    """

    name = "ms.gather"
    operands = ("x", "indices")
    attributes = {"axis": "i64"}

    @classmethod
    def infer(cls, operands, attrs):
        x, indices = operands
        axis = attrs["axis"]
        _require_index(cls.name, indices)
        if not 0 <= axis < x.rank:
            raise ShapeError(cls.name, f"axis {axis} is out of range for {x}")
        return [x.with_shape(x.shape[:axis] + indices.shape + x.shape[axis + 1 :])]

    @classmethod
    def reference(cls, x, indices, *, axis):
        size = x.shape[axis]
        wrapped = np.where(indices < 0, indices + size, indices)
        valid = (wrapped >= 0) & (wrapped < size)
        taken = np.take(x, np.where(valid, wrapped, 0), axis=axis)
        mask = valid.reshape((1,) * axis + indices.shape + (1,) * (x.ndim - axis - 1))
        return np.where(mask, taken, np.zeros((), x.dtype))


class GatherGradOp(Op):
    """The transpose of gather: `ct`'s slices summed into a zero tensor whose dim `axis` has
    `size` elements, each at its index (scatter-add; MindSpore's UnsortedSegmentSum).

    ```mlir
    %dx = "ms.gather_grad"(%ct, %i) {axis = 0 : i64, size = 5 : i64}
        : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<5x3xf32>
    ```
    """

    name = "ms.gather_grad"
    operands = ("ct", "indices")
    attributes = {"axis": "i64", "size": "i64"}

    @classmethod
    def infer(cls, operands, attrs):
        ct, indices = operands
        axis, size = attrs["axis"], attrs["size"]
        _require_index(cls.name, indices)
        _reject_bool(cls.name, ct)
        k = indices.rank
        if not 0 <= axis <= ct.rank - k or ct.shape[axis : axis + k] != indices.shape or size < 0:
            raise ShapeError(cls.name, f"{ct} is not a gather along axis {axis} of {indices}")
        return [ct.with_shape(ct.shape[:axis] + (size,) + ct.shape[axis + k :])]

    @classmethod
    def reference(cls, ct, indices, *, axis, size):
        k = indices.ndim
        out_shape = ct.shape[:axis] + (size,) + ct.shape[axis + k :]
        out = np.zeros(out_shape, ct.dtype)
        moved = np.moveaxis(out, axis, 0)
        ct_rows = ct.reshape(ct.shape[:axis] + (-1,) + ct.shape[axis + k :])
        ct_rows = np.moveaxis(ct_rows, axis, 0)
        for row, index in zip(ct_rows, indices.reshape(-1)):
            index = index + size if index < 0 else index
            if 0 <= index < size:
                moved[index] += row
        return out


class BatchMatMulOp(Op):
    """Matrix products over the last two dims, the leading (batch) dims broadcast; both
    operands of one rank >= 3 (MindSpore's BatchMatMul, with transpose_a/transpose_b).

    ```mlir
    %c = "ms.batch_matmul"(%a, %b) {transpose_a = false, transpose_b = false}
        : (tensor<4x2x3xf32>, tensor<1x3x5xf32>) -> tensor<4x2x5xf32>
    ```
    """

    name = "ms.batch_matmul"
    operands = ("a", "b")
    attributes = {"transpose_a": "bool", "transpose_b": "bool"}
    defaults = {"transpose_a": False, "transpose_b": False}

    @classmethod
    def infer(cls, operands, attrs):
        a, b = operands
        _reject_bool(cls.name, a, b)
        if a.rank < 3 or a.rank != b.rank:
            raise ShapeError(cls.name, f"expects operands of one rank >= 3, got {a} and {b}")
        if a.element != b.element:
            raise ElementTypeError(cls.name, f"element types differ: {a} and {b}")
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        if batch is None:
            raise ShapeError(cls.name, f"batch dims do not broadcast: {a} and {b}")
        m, ka = reversed(a.shape[-2:]) if attrs["transpose_a"] else a.shape[-2:]
        kb, n = reversed(b.shape[-2:]) if attrs["transpose_b"] else b.shape[-2:]
        if ka != kb:
            raise ShapeError(
                cls.name,
                f"contracting dimensions differ ({ka} vs {kb}): {a} and {b} "
                f"(transpose_a={attrs['transpose_a']}, transpose_b={attrs['transpose_b']})",
            )
        return [TensorSpec(batch + (m, n), a.element)]

    @classmethod
    def reference(cls, a, b, *, transpose_a, transpose_b):
        a = np.swapaxes(a, -1, -2) if transpose_a else a
        b = np.swapaxes(b, -1, -2) if transpose_b else b
        return np.matmul(a, b)


# Bool tensors are stored as bytes by the back ends (compiler/lowering/bool_tensors_to_i8.py).
CAST_ELEMENTS = ("i1", "f16", "f32", "f64", "i8", "i16", "i32", "i64")


class CastOp(Op):
    """Element type conversion between bool, f16, f32, f64, i32 and i64 (MindSpore's Cast); the
    result type names the target. Float to integer truncates toward zero (numpy's `astype`);
    to bool is `x != 0`, from bool 0 or 1.

    ```mlir
    %y = "ms.cast"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf64>
    ```
    """

    name = "ms.cast"
    operands = ("x",)
    result_given = True

    @classmethod
    def infer(cls, operands, attrs):
        (x,), result = operands, attrs["result"]
        if result.shape != x.shape:
            raise ShapeError(cls.name, f"cannot change the shape: {x} to {result}")
        for spec in (x, result):
            if spec.element not in CAST_ELEMENTS:
                raise ElementTypeError(
                    cls.name, f"cannot cast {x} to {result}: {spec.element} is not supported"
                )
        return [result]

    @classmethod
    def build(cls, x, element: str, loc=None):
        """Casts `x` to the element type `element` (one of `CAST_ELEMENTS`)."""
        return _dialect().build_with_result(cls, x, element=element, loc=loc)

    @classmethod
    def reference(cls, x, *, result):
        return x.astype(result.numpy_dtype)


class DimSizeOp(Op):
    """The size of one dimension of `x`, as a scalar of the result's element type; what a
    program compiled for a dynamic batch dimension reads where its trace had a number made
    from the batch size (a mean's `1/N`). `cellc.compiler.dynamic_batch` builds it; the tracer
    never does, since a traced shape is static.

    ```mlir
    %n = "ms.dim_size"(%x) {axis = 0 : i64} : (tensor<?x784xf32>) -> tensor<f32>
    ```
    """

    name = "ms.dim_size"
    operands = ("x",)
    attributes = {"axis": "i64"}
    result_given = True

    @classmethod
    def infer(cls, operands, attrs):
        (x,), result = operands, attrs["result"]
        if not 0 <= attrs["axis"] < x.rank:
            raise ShapeError(cls.name, f"axis {attrs['axis']} is out of range for {x}")
        if result.shape != () or result.element == "i1":
            raise ElementTypeError(cls.name, f"result must be a numeric scalar, got {result}")
        return [result]

    @classmethod
    def reference(cls, x, *, axis, result):
        return np.array(x.shape[axis], dtype=result.numpy_dtype)


@dataclass(frozen=True)
class GradMode:
    """What an ms.grad differentiates: GradOperation's flags and the weights it asks for."""

    get_all: bool = False
    get_by_list: bool = False
    sens_param: bool = False
    weights: tuple[int, ...] = ()  # callee argument indices, in ParameterTuple order

    def input_positions(self, num_inputs: int) -> list[int]:
        """The callee inputs differentiated: the first (get_all=False), every one
        (get_all=True), or none (get_by_list alone)."""
        if self.get_all:
            return list(range(num_inputs))
        return [] if self.get_by_list else [0]

    def wrt(self, num_inputs: int) -> list[int]:
        """The callee arguments whose gradients ms.grad returns, in its result order
        (MindSpore's: inputs, then the weights in ParameterTuple order)."""
        return self.input_positions(num_inputs) + (list(self.weights) if self.get_by_list else [])


class GradOp(Op):
    """GradOperation applied to a function: the gradients of `callee` at the operands.

    The operands are the callee's arguments (inputs, then weights), followed, with
    `sens_param`, by one sensitivity per callee result. The results follow MindSpore's
    structure flattened: the first input's gradient (`get_all = false`) or every input's
    (`get_all = true`), then, with `get_by_list`, the gradient of each callee argument listed
    in `weights`.

    ```mlir
    %dx = "ms.grad"(%x, %y, %z) {callee = @Net, get_all = false, get_by_list = false,
        sens_param = false, weights = array<i64>,
        operandSegmentSizes = array<i32: 1, 1, 1, 0, ...>,
        resultSegmentSizes = array<i32: 1, 0, ...>}
        : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
    ```
    """

    name = "ms.grad"
    attributes = {
        "callee": "symbol",
        "get_all": "bool",
        "get_by_list": "bool",
        "sens_param": "bool",
        "weights": "i64_array",
    }

    @classmethod
    def build(cls, callee: str, mode: GradMode, operands, results: list[TensorSpec], loc=None):
        """Returns the op's results (a list: one gradient per result)."""
        if len(operands) > MAX_GRAD_SLOTS or len(results) > MAX_GRAD_SLOTS:
            raise ShapeError(
                cls.name,
                f"supports at most {MAX_GRAD_SLOTS} operands and results, "
                f"got {len(operands)} and {len(results)}",
            )
        return _dialect().build_grad(cls, callee, mode, operands, results, loc=loc)

    @classmethod
    def mode(cls, op) -> GradMode:
        """The GradMode of an MLIR ms.grad operation."""
        attrs = cls.read_attributes(op)
        return GradMode(
            attrs["get_all"], attrs["get_by_list"], attrs["sens_param"], attrs["weights"]
        )

    @classmethod
    def check_against_callee(cls, op, callee) -> None:
        """Checks an MLIR ms.grad against its callee func.func (see `check_signature`)."""
        _dialect().check_grad_against_callee(op, callee)

    @classmethod
    def check_signature(
        cls, mode: GradMode, operands, results, callee_args, callee_results, num_inputs: int
    ):
        """The rule IRDL cannot express: operands and results match the callee (TensorSpecs)."""
        expected_operands = list(callee_args) + (list(callee_results) if mode.sens_param else [])
        if list(operands) != expected_operands:
            raise ShapeError(
                cls.name,
                f"operands ({_types(operands)}) do not match the callee's arguments"
                f"{' and results' if mode.sens_param else ''} ({_types(expected_operands)})",
            )
        if num_inputs == 0 and not mode.get_by_list:
            raise ShapeError(cls.name, "callee has no inputs to differentiate")
        if any(not num_inputs <= w < len(callee_args) for w in mode.weights):
            raise ShapeError(cls.name, f"weights {list(mode.weights)} are not weight arguments")
        expected = [callee_args[i] for i in mode.wrt(num_inputs)]
        if list(results) != expected:
            raise ShapeError(
                cls.name,
                f"results ({_types(results)}) do not match the gradients ({_types(expected)})",
            )


class CallOp:
    """A call of a Cell that defines its own gradient (`bprop`): MLIR's `func.call` of the
    cell's traced body, carrying the discardable attribute `ms.bprop` that names the traced
    `bprop(*inputs, out, dout)`.

    ```mlir
    %y = func.call @Twice(%x, %w) {ms.bprop = @Twice_bprop}
        : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    func.func private @Twice_bprop(%x: tensor<3xf32>, %out: tensor<3xf32>,
        %dout: tensor<3xf32>) -> tensor<3xf32>
    ```

    Why `func.call` and not an IRDL `ms.call`: a call's operands and results have as many
    types as the callee's signature, which an IRDL variadic cannot hold (see `GradOp`'s slots),
    and MLIR's own symbol verifier already checks a `func.call` against its callee. So this is
    not an `Op` (not in `OPS`, no lowering): `ms-expand-grad` differentiates it with the bprop
    function (its VJP rule is a function of the module) and `ms-inline-calls` inlines the
    calls left before `convert-ms-to-linalg`.

    Signature rule (`check_signature`): the callee's arguments are its inputs, then its
    weights (`ms.weight`); the bprop's arguments are those inputs, the callee's results (`out`),
    one cotangent per result (`dout`), then any weights it reads, each also an argument of the
    callee under the same name; it returns one gradient per input, of the input's type. The
    weights' gradients through such a call are zero (MindSpore's, checked on 2.10).
    """

    name = "func.call"
    bprop_attribute = "ms.bprop"

    @classmethod
    def build(cls, callee: str, bprop: str, operands, results: list[TensorSpec], loc=None):
        """Creates the call at the current insertion point and returns its results (a list)."""
        from mlir import ir
        from mlir.dialects import func

        ms = _dialect()
        call = func.CallOp([ms.tensor_type(r) for r in results], callee, list(operands), loc=loc)
        call.operation.attributes[cls.bprop_attribute] = ir.FlatSymbolRefAttr.get(bprop)
        return list(call.results)

    @classmethod
    def is_bprop_call(cls, op) -> bool:
        return op.name == cls.name and cls.bprop_attribute in op.attributes

    @classmethod
    def symbols(cls, op) -> tuple[str, str]:
        """(callee, bprop) of an MLIR call carrying `ms.bprop`."""
        from mlir import ir

        callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
        return callee, ir.FlatSymbolRefAttr(op.attributes[cls.bprop_attribute]).value

    @classmethod
    def check_signature(
        cls,
        callee_args: list[TensorSpec],
        callee_results: list[TensorSpec],
        callee_weights: list[str | None],
        bprop_args: list[TensorSpec],
        bprop_results: list[TensorSpec],
        bprop_weights: list[str | None],
    ) -> None:
        """Raises ShapeError naming `ms.bprop` unless the bprop function fits its callee."""
        num_inputs = sum(1 for name in callee_weights if name is None)
        inputs = callee_args[:num_inputs]
        expected = inputs + callee_results + callee_results
        tensor_args = [s for s, name in zip(bprop_args, bprop_weights) if name is None]
        if tensor_args != expected:
            raise ShapeError(
                cls.bprop_attribute,
                f"bprop arguments ({_types(tensor_args)}) must be the callee's inputs, outputs "
                f"and one cotangent per output ({_types(expected)})",
            )
        if list(bprop_results) != inputs:
            raise ShapeError(
                cls.bprop_attribute,
                f"bprop returns ({_types(bprop_results)}); it must return one gradient per "
                f"input, of its type ({_types(inputs)})",
            )
        for name in bprop_weights:
            if name is not None and name not in callee_weights:
                raise ShapeError(
                    cls.bprop_attribute,
                    f"bprop reads the weight '{name}', which the callee does not take",
                )
