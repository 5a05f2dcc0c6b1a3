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

MAX_GRAD_SLOTS = 32


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
    """Bool (i1) tensors are only reshaped or passed through: computing on them would need
    sub-byte loads, which MLIR's memref-to-LLVM lowering does not support (it aborts)."""
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
        _reject_bool(cls.name, x)
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
        _reject_bool(cls.name, x)
        perm = tuple(attrs["perm"])
        if sorted(perm) != list(range(x.rank)):
            raise ShapeError(cls.name, f"perm {list(perm)} is not a permutation of {x}'s dims")
        return [x.with_shape(x.shape[p] for p in perm)]

    @classmethod
    def reference(cls, x, *, perm):
        return np.transpose(x, perm)


# i1 is left out: an i1 buffer at a function boundary aborts MLIR's MemRefToLLVM (sub-byte
# loads and stores), so bool tensors cannot be compiled yet.
CAST_ELEMENTS = ("f16", "f32", "f64", "i32", "i64")


class CastOp(Op):
    """Element type conversion between f16, f32, f64, i32 and i64 (MindSpore's Cast); the
    result type names the target. Float to integer truncates toward zero (numpy's `astype`).

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
