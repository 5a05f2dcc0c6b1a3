"""MindSpore's operator primitives: construct once (with attributes), call with tensors."""

from __future__ import annotations

import numpy as np

from cellc import dtype as mstype
from cellc.errors import UnsupportedError

from . import function, math_func
from . import functional as F
from . import nn_func as function_nn


class Primitive:
    """Base of the primitives. `name` is MindSpore's, used in error messages."""

    name = ""

    def __repr__(self) -> str:
        return f"Prim[{self.name}]"


class _Elementwise(Primitive):
    """A primitive that is a function of its operands (`fn`): elementwise ones, mostly."""

    fn = None

    def __call__(self, *operands):
        return type(self).fn(*operands)


class Add(_Elementwise):
    name, fn = "Add", F.add


class Sub(_Elementwise):
    name, fn = "Sub", F.sub


class Mul(_Elementwise):
    name, fn = "Mul", F.mul


class Div(_Elementwise):
    name, fn = "Div", F.div


RealDiv = Div


class Neg(_Elementwise):
    name, fn = "Neg", F.neg


class ReLU(_Elementwise):
    name, fn = "ReLU", F.relu


class Exp(_Elementwise):
    name, fn = "Exp", F.exp


class Log(_Elementwise):
    name, fn = "Log", F.log


class Tanh(_Elementwise):
    name, fn = "Tanh", F.tanh


class Sigmoid(_Elementwise):
    name, fn = "Sigmoid", F.sigmoid


class Square(_Elementwise):
    name, fn = "Square", F.square


class Sqrt(_Elementwise):
    name, fn = "Sqrt", F.sqrt


class Sin(_Elementwise):
    name, fn = "Sin", F.sin


class Erf(_Elementwise):
    name, fn = "Erf", F.erf


class Cos(_Elementwise):
    name, fn = "Cos", F.cos


class Abs(_Elementwise):
    name, fn = "Abs", F.abs


class Sign(_Elementwise):
    name, fn = "Sign", F.sign


class Maximum(_Elementwise):
    """`Maximum()(x, y)`: elementwise, numpy broadcasting; the gradient of a tie goes to x."""

    name, fn = "Maximum", F.maximum


class Minimum(_Elementwise):
    """`Minimum()(x, y)`: elementwise, numpy broadcasting; the gradient of a tie goes to x."""

    name, fn = "Minimum", F.minimum


class Pow(_Elementwise):
    """`Pow()(x, y)`: y a Python number (or a Tensor, then x > 0); see `functional.power`."""

    name, fn = "Pow", F.power


class MatMul(Primitive):
    """2-D matrix product: `MatMul(transpose_a=False, transpose_b=False)(a, b)`."""

    name = "MatMul"

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False):
        F.check_bool_flag("MatMul", "transpose_a", transpose_a)
        F.check_bool_flag("MatMul", "transpose_b", transpose_b)
        self.transpose_a = transpose_a
        self.transpose_b = transpose_b

    def __call__(self, a, b):
        return F.matmul(a, b, self.transpose_a, self.transpose_b)


class _Reduce(Primitive):
    fn = None

    def __init__(self, keep_dims: bool = False):
        F.check_bool_flag(self.name, "keep_dims", keep_dims)
        self.keep_dims = keep_dims

    def __call__(self, x, axis=()):
        return type(self).fn(x, axis, self.keep_dims)


class ReduceSum(_Reduce):
    """`ReduceSum(keep_dims=False)(x, axis=())`: axis () sums every axis."""

    name, fn = "ReduceSum", F.reduce_sum


class ReduceMean(_Reduce):
    """`ReduceMean(keep_dims=False)(x, axis=())`."""

    name, fn = "ReduceMean", F.reduce_mean


class ReduceMax(_Reduce):
    """`ReduceMax(keep_dims=False)(x, axis=())`: the gradient is shared equally by tied maxima."""

    name, fn = "ReduceMax", F.reduce_max


class Cast(Primitive):
    """`Cast()(x, dtype)`: float to integer truncates toward zero."""

    name = "Cast"

    def __call__(self, x, dtype):
        return F.cast(x, dtype)


class _SoftmaxBase(Primitive):
    fn = None

    def __init__(self, axis=-1):
        if not isinstance(axis, (int, tuple, list)) or isinstance(axis, bool):
            raise TypeError(
                f"For '{self.name}', the 'axis' should be int or tuple, "
                f"but got {type(axis).__name__}"
            )
        self.axis = axis

    def __call__(self, x):
        return type(self).fn(x, self.axis)


class Softmax(_SoftmaxBase):
    """`Softmax(axis=-1)(x)`: exp(x) / sum(exp(x)) over axis (computed stably)."""

    name, fn = "Softmax", F.softmax


class LogSoftmax(_SoftmaxBase):
    """`LogSoftmax(axis=-1)(x)`: x - log(sum(exp(x))) over axis (computed stably)."""

    name, fn = "LogSoftmax", F.log_softmax


class OneHot(Primitive):
    """`OneHot(axis=-1)(indices, depth, on_value, off_value)`; only axis=-1."""

    name = "OneHot"

    def __init__(self, axis=-1):
        if axis != -1:
            raise UnsupportedError(f"For 'OneHot', only axis=-1 is supported, got {axis}")
        self.axis = axis

    def __call__(self, indices, depth, on_value, off_value):
        on, off = F.as_tensor(on_value), F.as_tensor(off_value)
        hot = F.one_hot(indices, int(depth), on.dtype)
        return F.add(F.mul(hot, F.sub(on, off)), off)


class Reshape(Primitive):
    """`Reshape()(x, shape)`; one dimension may be -1."""

    name = "Reshape"

    def __call__(self, x, shape):
        return F.reshape(x, shape)


class Transpose(Primitive):
    """`Transpose()(x, perm)`."""

    name = "Transpose"

    def __call__(self, x, perm):
        return F.transpose(x, perm)


class BroadcastTo(Primitive):
    """`BroadcastTo(shape)(x)`."""

    name = "BroadcastTo"

    def __init__(self, shape):
        self.shape = tuple(shape)

    def __call__(self, x):
        return F.broadcast_to(x, self.shape)


class ExpandDims(Primitive):
    name = "ExpandDims"

    def __call__(self, x, axis):
        return F.expand_dims(x, axis)


class Squeeze(Primitive):
    name = "Squeeze"

    def __init__(self, axis=()):
        self.axis = axis

    def __call__(self, x):
        return F.squeeze(x, self.axis)


# --- comparisons, logic, selection, indexing and combining -----------------------------------


class Equal(_Elementwise):
    name, fn = "Equal", F.equal


class NotEqual(_Elementwise):
    name, fn = "NotEqual", F.not_equal


class Less(_Elementwise):
    name, fn = "Less", F.less


class LessEqual(_Elementwise):
    name, fn = "LessEqual", F.less_equal


class Greater(_Elementwise):
    name, fn = "Greater", F.greater


class GreaterEqual(_Elementwise):
    name, fn = "GreaterEqual", F.greater_equal


class LogicalAnd(_Elementwise):
    name, fn = "LogicalAnd", F.logical_and


class LogicalOr(_Elementwise):
    name, fn = "LogicalOr", F.logical_or


class LogicalNot(_Elementwise):
    name, fn = "LogicalNot", F.logical_not


class Select(_Elementwise):
    """`Select()(condition, x, y)`: x where condition, else y."""

    name, fn = "Select", F.select


class FloorDiv(_Elementwise):
    name, fn = "FloorDiv", F.floor_div


class FloorMod(_Elementwise):
    name, fn = "FloorMod", F.floor_mod


class ClipByValue(_Elementwise):
    """`ClipByValue()(x, min, max)`."""

    name, fn = "ClipByValue", F.clip_by_value


class StridedSlice(Primitive):
    """`StridedSlice()(x, begin, end, strides)`: x[b0:e0:s0, ...] (masks 0 only)."""

    name = "StridedSlice"

    def __init__(self, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, **masks):
        if any((begin_mask, end_mask, ellipsis_mask, new_axis_mask, *masks.values())):
            raise UnsupportedError("For 'StridedSlice', only masks of 0 are supported; use x[...]")

    def __call__(self, x, begin, end, strides):
        return F.python_slice("StridedSlice", F.as_tensor(x), begin, end, strides)


class Slice(Primitive):
    """`Slice()(x, begin, size)`: size -1 takes the rest of a dim."""

    name = "Slice"

    def __call__(self, x, begin, size):
        return math_func.slice(x, begin, size)


class Gather(Primitive):
    """`Gather()(x, indices, axis)`."""

    name = "Gather"

    def __init__(self, batch_dims=0):
        if batch_dims:
            raise UnsupportedError("For 'Gather', only batch_dims=0 is supported")

    def __call__(self, x, indices, axis):
        return F.gather(x, indices, axis)


class GatherD(_Elementwise):
    """`GatherD()(x, dim, index)`: the elements at `index` along `dim` (ops.gather_elements)."""

    name, fn = "GatherD", math_func.gather_elements


class TensorScatterElements(Primitive):
    """`TensorScatterElements(axis=0, reduction="none")(input_x, indices, updates)`."""

    name = "TensorScatterElements"

    def __init__(self, axis=0, reduction="none"):
        self.axis, self.reduction = axis, reduction

    def __call__(self, input_x, indices, updates):
        return math_func.tensor_scatter_elements(
            input_x, indices, updates, self.axis, self.reduction
        )


class Concat(Primitive):
    """`Concat(axis=0)((x, y, ...))`."""

    name = "Concat"

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, tensors):
        return F.concat(tensors, self.axis)


class Stack(Primitive):
    """`Stack(axis=0)((x, y, ...))`."""

    name = "Stack"

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, tensors):
        return F.stack(tensors, self.axis)


class Split(Primitive):
    """`Split(axis=0, output_num=1)(x)`: output_num equal pieces."""

    name = "Split"

    def __init__(self, axis=0, output_num=1):
        self.axis, self.output_num = axis, output_num

    def __call__(self, x):
        x = F.as_tensor(x)
        length = x.shape[self.axis]
        if length % self.output_num:
            raise ValueError(
                f"For 'Split', dim {self.axis} of size {length} does not divide into "
                f"{self.output_num} pieces"
            )
        return F.split(x, self.axis, [length // self.output_num] * self.output_num)


class BatchMatMul(MatMul):
    """`BatchMatMul(transpose_a=False, transpose_b=False)(a, b)`: batch dims broadcast."""

    name = "BatchMatMul"

    def __call__(self, a, b):
        return F.batch_matmul(a, b, self.transpose_a, self.transpose_b)


class Pad(Primitive):
    """`Pad(paddings)(x)`: ((before, after), ...) zeros per dim."""

    name = "Pad"

    def __init__(self, paddings):
        self.paddings = paddings

    def __call__(self, x):
        return F.pad(x, self.paddings)


class Tile(Primitive):
    """`Tile()(x, multiples)`."""

    name = "Tile"

    def __call__(self, x, multiples):
        return function.tile(x, multiples)


class _Arg(Primitive):
    largest = True

    def __init__(self, axis=-1, output_type=None):
        self.axis = axis
        self.output_type = output_type

    def __call__(self, x):
        index = F.arg_reduce(self.name, x, self.axis, False, self.largest)
        return F.cast(index, self.output_type or mstype.int32)


class Argmax(_Arg):
    """`Argmax(axis=-1, output_type=mstype.int32)(x)`."""

    name, largest = "Argmax", True


class Argmin(_Arg):
    """`Argmin(axis=-1, output_type=mstype.int32)(x)`."""

    name, largest = "Argmin", False


class ZerosLike(Primitive):
    name = "ZerosLike"

    def __call__(self, x):
        return function.zeros_like(x)


class OnesLike(Primitive):
    name = "OnesLike"

    def __call__(self, x):
        return function.ones_like(x)


class Fill(Primitive):
    """`Fill()(dtype, shape, value)`."""

    name = "Fill"

    def __call__(self, dtype, shape, value):
        return function.fill(dtype, shape, value)


class Conv2D(Primitive):
    """`Conv2D(out_channel, kernel_size, mode=1, pad_mode='valid', pad=0, stride=1,
    dilation=1, group=1)(x, weight)`: NCHW, weight (out_channel, C/group, KH, KW)."""

    name = "Conv2D"

    def __init__(
        self,
        out_channel,
        kernel_size,
        mode=1,
        pad_mode="valid",
        pad=0,
        stride=1,
        dilation=1,
        group=1,
        data_format="NCHW",
    ):
        if data_format != "NCHW":
            raise UnsupportedError("For 'Conv2D', cellc supports data_format 'NCHW' only")
        self.out_channel, self.group = out_channel, group
        self.kernel_size = F._pair("Conv2D", "kernel_size", kernel_size)
        self.pad_mode, self.pad, self.stride, self.dilation = pad_mode, pad, stride, dilation

    def __call__(self, x, weight):
        expected = (self.out_channel, *self.kernel_size)
        got = tuple(weight.shape[:1]) + tuple(weight.shape[2:])
        if got != expected:
            raise ValueError(
                f"For 'Conv2D', the weight's shape {weight.shape} does not match out_channel "
                f"{self.out_channel} and kernel_size {self.kernel_size}"
            )
        return F.conv2d(
            x, weight, None, self.stride, self.pad_mode, self.pad, self.dilation, self.group
        )


class Conv2DBackpropInput(Primitive):
    """`Conv2DBackpropInput(out_channel, kernel_size, pad_mode='valid', pad=0, mode=1,
    stride=1, dilation=1, group=1)(dout, weight, input_size)`: the gradient of Conv2D with
    respect to its input of shape `input_size` (N, C, H, W)."""

    name = "Conv2DBackpropInput"

    def __init__(
        self,
        out_channel,
        kernel_size,
        pad_mode="valid",
        pad=0,
        pad_list=None,
        mode=1,
        stride=1,
        dilation=1,
        group=1,
        data_format="NCHW",
    ):
        self.kernel_size = F._pair(self.name, "kernel_size", kernel_size)
        self.pad_mode, self.pad, self.stride, self.dilation = pad_mode, pad, stride, dilation
        self.group = group

    def __call__(self, dout, weight, input_size):
        strides = F._pair(self.name, "stride", self.stride)
        dilations = F._pair(self.name, "dilation", self.dilation)
        spatial = tuple(input_size)[2:]
        pads = F.window_padding(
            self.name, spatial, self.pad_mode, self.kernel_size, strides, dilations, self.pad
        )
        return F.conv2d_transpose(dout, weight, spatial, strides, pads, dilations, self.group)


class _Pool(Primitive):
    fn = None

    def __init__(self, kernel_size=1, strides=1, pad_mode="valid", data_format="NCHW"):
        if data_format != "NCHW":
            raise UnsupportedError(f"For '{self.name}', cellc supports data_format 'NCHW' only")
        self.kernel_size, self.strides, self.pad_mode = kernel_size, strides, pad_mode

    def __call__(self, x):
        return type(self).fn(x, self.kernel_size, self.strides, self.pad_mode)


class MaxPool(_Pool):
    name, fn = "MaxPool", F.max_pool


class AvgPool(_Pool):
    name, fn = "AvgPool", F.avg_pool


class GeLU(_Elementwise):
    """The tanh form of GELU, as MindSpore's `GeLU` primitive computes it."""

    name = "GeLU"

    def __call__(self, x):
        return F.gelu(x, approximate="tanh")


class Elu(Primitive):
    name = "Elu"

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def __call__(self, x):
        return F.elu(x, self.alpha)


class Softplus(_Elementwise):
    name, fn = "Softplus", F.softplus


class HSwish(_Elementwise):
    name, fn = "HSwish", F.hswish


class HSigmoid(_Elementwise):
    name, fn = "HSigmoid", F.hsigmoid


class Flatten(Primitive):
    """`Flatten()(x)`: (N, ...) -> (N, -1)."""

    name = "Flatten"

    def __call__(self, x):
        return F.flatten(x)


class ResizeNearestNeighbor(Primitive):
    """`ResizeNearestNeighbor(size)(x)`: (N, C, H, W) -> (N, C, *size), each output pixel the
    source pixel floor(i * in / out) (align_corners: round(i * (in - 1) / (out - 1)))."""

    name = "ResizeNearestNeighbor"

    def __init__(self, size, align_corners: bool = False):
        self.size = tuple(size) if not isinstance(size, int) else (size, size)
        self.align_corners = align_corners

    def __call__(self, x):
        if not self.align_corners:
            return function_nn.interpolate(x, self.size, mode="nearest")
        x = F.as_tensor(x)
        for axis, (old, new) in enumerate(zip(x.shape[2:], self.size), start=2):
            scale = (old - 1) / (new - 1) if new > 1 else 0.0
            index = np.minimum(np.round(np.arange(new) * scale), old - 1).astype(np.int32)
            x = F.gather(x, F.as_tensor(index), axis)
        return x


class ResizeBilinearV2(Primitive):
    """`ResizeBilinearV2(align_corners, half_pixel_centers)(x, size)`: bilinear resizing of
    (N, C, H, W) to `size`, as `ops.interpolate(mode='bilinear')` (half_pixel_centers must be
    `not align_corners`, the two conventions it has)."""

    name = "ResizeBilinearV2"

    def __init__(self, align_corners: bool = False, half_pixel_centers: bool = False):
        if half_pixel_centers == align_corners:
            raise NotImplementedError(
                "ResizeBilinearV2: only half_pixel_centers = not align_corners is supported"
            )
        self.align_corners = align_corners

    def __call__(self, x, size):
        size = tuple(int(s) for s in (size.asnumpy() if hasattr(size, "asnumpy") else size))
        return function_nn.interpolate(x, size, mode="bilinear", align_corners=self.align_corners)


class Floor(_Elementwise):
    name, fn = "Floor", math_func.floor


class Ceil(_Elementwise):
    name, fn = "Ceil", math_func.ceil


class Log1p(_Elementwise):
    name, fn = "Log1p", math_func.log1p


class Reciprocal(_Elementwise):
    name, fn = "Reciprocal", math_func.reciprocal


class Tan(_Elementwise):
    name, fn = "Tan", math_func.tan


class Atan(_Elementwise):
    name, fn = "Atan", math_func.atan


class Asin(_Elementwise):
    name, fn = "Asin", math_func.asin


class ACos(_Elementwise):
    name, fn = "ACos", math_func.acos


class Sinh(_Elementwise):
    name, fn = "Sinh", math_func.sinh


class Cosh(_Elementwise):
    name, fn = "Cosh", math_func.cosh


class Asinh(_Elementwise):
    name, fn = "Asinh", math_func.asinh


class Acosh(_Elementwise):
    name, fn = "Acosh", math_func.acosh


class Atanh(_Elementwise):
    name, fn = "Atanh", math_func.atanh


class Expm1(_Elementwise):
    name, fn = "Expm1", math_func.expm1


class Erfc(_Elementwise):
    name, fn = "Erfc", math_func.erfc


class Trunc(_Elementwise):
    name, fn = "Trunc", math_func.trunc


class Round(_Elementwise):
    name, fn = "Round", math_func.round


class Atan2(_Elementwise):
    name, fn = "Atan2", math_func.atan2


class Sinc(_Elementwise):
    name, fn = "Sinc", math_func.sinc


class UnsortedSegmentSum(_Elementwise):
    """`UnsortedSegmentSum()(input_x, segment_ids, num_segments)`."""

    name, fn = "UnsortedSegmentSum", math_func.unsorted_segment_sum


class Rsqrt(_Elementwise):
    name, fn = "Rsqrt", math_func.rsqrt


class ReLU6(_Elementwise):
    name, fn = "ReLU6", function_nn.relu6


class Xlogy(_Elementwise):
    name, fn = "Xlogy", math_func.xlogy


class StopGradient(_Elementwise):
    name, fn = "StopGradient", F.stop_gradient


class CumSum(Primitive):
    """`CumSum(exclusive=False, reverse=False)(x, axis)`: running sums along `axis`."""

    name = "CumSum"

    def __init__(self, exclusive: bool = False, reverse: bool = False):
        F.check_bool_flag("CumSum", "exclusive", exclusive)
        F.check_bool_flag("CumSum", "reverse", reverse)
        self.exclusive, self.reverse = exclusive, reverse

    def __call__(self, x, axis):
        return math_func.prefix_sums(x, int(axis), self.exclusive, self.reverse)


class SquaredDifference(Primitive):
    """`SquaredDifference()(x, y)`: (x - y) ** 2, broadcast."""

    name = "SquaredDifference"

    def __call__(self, x, y):
        return F.square(F.sub(x, y))


class DivNoNan(Primitive):
    """`DivNoNan()(x, y)`: x / y, and 0 where y is 0."""

    name = "DivNoNan"

    def __call__(self, x, y):
        y = F.as_tensor(y, x if isinstance(x, F.Tensor) else None)
        zero = F.equal(y, 0)
        safe = F.select(zero, F.as_tensor(1, y), y)
        return F.select(zero, 0, F.div(x, safe))


class AddN(Primitive):
    """`AddN()(inputs)`: the elementwise sum of a tuple or list of tensors."""

    name = "AddN"

    def __call__(self, inputs):
        return math_func.addn(inputs)


class BiasAdd(Primitive):
    """`BiasAdd(data_format='NCHW')(x, bias)`: bias (C,) added along the channel axis (1, or
    the last for 'NHWC')."""

    name = "BiasAdd"

    def __init__(self, data_format: str = "NCHW"):
        if data_format not in ("NCHW", "NHWC", "NCDHW"):
            raise ValueError(
                f"For 'BiasAdd', data_format must be 'NCHW', 'NHWC' or 'NCDHW', got {data_format!r}"
            )
        self.data_format = data_format

    def __call__(self, x, bias):
        x, bias = F.as_tensor(x), F.as_tensor(bias)
        if self.data_format == "NHWC" or x.ndim < 2:
            return F.add(x, bias)
        return F.add(x, F.reshape(bias, (-1,) + (1,) * (x.ndim - 2)))


class ReduceMin(_Reduce):
    """`ReduceMin(keep_dims=False)(x, axis=())`."""

    name, fn = "ReduceMin", F.reduce_min


class _ReduceBool(Primitive):
    largest = True

    def __init__(self, keep_dims: bool = False):
        F.check_bool_flag(self.name, "keep_dims", keep_dims)
        self.keep_dims = keep_dims

    def __call__(self, x, axis=()):
        x = F.as_tensor(x)
        if x.dtype is not mstype.bool_:
            raise TypeError(f"For '{self.name}', the input must be a bool tensor, got {x.dtype}")
        reduce = math_func.any if self.largest else math_func.all
        return reduce(x, axis, self.keep_dims)


class ReduceAny(_ReduceBool):
    """`ReduceAny(keep_dims=False)(x, axis=())`: whether any element of the bool x is True."""

    name, largest = "ReduceAny", True


class ReduceAll(_ReduceBool):
    """`ReduceAll(keep_dims=False)(x, axis=())`: whether every element is True."""

    name, largest = "ReduceAll", False


class _ArgWithValue(Primitive):
    largest = True

    def __init__(self, axis: int = 0, keep_dims: bool = False):
        self.axis = axis
        self.keep_dims = keep_dims

    def __call__(self, x):
        values, index = function._extreme(x, self.axis, self.keep_dims, None, None, self.largest)
        return F.cast(index, mstype.int32), values


class ArgMaxWithValue(_ArgWithValue):
    """`ArgMaxWithValue(axis=0, keep_dims=False)(x)`: (int32 index, value) of the maximum."""

    name, largest = "ArgMaxWithValue", True


class ArgMinWithValue(_ArgWithValue):
    """`ArgMinWithValue(axis=0, keep_dims=False)(x)`: (int32 index, value) of the minimum."""

    name, largest = "ArgMinWithValue", False


class Shape(Primitive):
    """`Shape()(x)`: x's shape, a tuple of ints (shapes are static)."""

    name = "Shape"

    def __call__(self, x):
        return tuple(F.as_tensor(x).shape)


class Rank(Primitive):
    name = "Rank"

    def __call__(self, x):
        return F.as_tensor(x).ndim


class Size(Primitive):
    name = "Size"

    def __call__(self, x):
        return int(F.as_tensor(x).size)


class DType(Primitive):
    name = "DType"

    def __call__(self, x):
        return F.as_tensor(x).dtype


class Zeros(Primitive):
    """`Zeros()(shape, dtype)`."""

    name = "Zeros"

    def __call__(self, size, dtype=None):
        return function.zeros(size, dtype)


class Ones(Primitive):
    """`Ones()(shape, dtype)`."""

    name = "Ones"

    def __call__(self, size, dtype=None):
        return function.ones(size, dtype)


class Eye(Primitive):
    """`Eye()(n, m, dtype)`."""

    name = "Eye"

    def __call__(self, n, m, t):
        return math_func.eye(n, m, t)


class Unstack(Primitive):
    """`Unstack(axis=0)(x)`: the slices of x along `axis`, each without that axis."""

    name = "Unstack"

    def __init__(self, axis: int = 0):
        self.axis = axis

    def __call__(self, x):
        x = F.as_tensor(x)
        return math_func.unbind(x, F._single_axis("Unstack", self.axis, x.ndim))


class L2Normalize(Primitive):
    """`L2Normalize(axis=0, epsilon=1e-4)(x)`: x / sqrt(max(sum(x**2 over axis), epsilon))."""

    name = "L2Normalize"

    def __init__(self, axis=0, epsilon: float = 1e-4):
        self.axis = axis
        self.epsilon = float(epsilon)

    def __call__(self, x):
        x = F.as_tensor(x)
        squares = F.reduce_sum(F.mul(x, x), self.axis, keep_dims=True)
        return F.div(x, F.sqrt(F.maximum(squares, self.epsilon)))


class SigmoidCrossEntropyWithLogits(Primitive):
    """`SigmoidCrossEntropyWithLogits()(logits, labels)`: the per-element
    binary cross-entropy of sigmoid(logits), computed stably."""

    name = "SigmoidCrossEntropyWithLogits"

    def __call__(self, logits, labels):
        return function.binary_cross_entropy_with_logits(logits, labels, reduction="none")


class SoftmaxCrossEntropyWithLogits(Primitive):
    """`SoftmaxCrossEntropyWithLogits()(logits, labels)`: (loss per sample, its gradient
    softmax(logits) - labels), logits and labels (N, C)."""

    name = "SoftmaxCrossEntropyWithLogits"

    def __call__(self, logits, labels):
        logits = F.as_tensor(logits)
        if logits.ndim != 2:
            raise ValueError(
                f"For 'SoftmaxCrossEntropyWithLogits', logits must be 2-D (N, C), got shape "
                f"{logits.shape}"
            )
        loss = F.neg(F.reduce_sum(F.mul(labels, F.log_softmax(logits, -1)), -1))
        return loss, F.sub(F.softmax(logits, -1), labels)


class SparseSoftmaxCrossEntropyWithLogits(Primitive):
    """`SparseSoftmaxCrossEntropyWithLogits(is_grad=False)(logits, labels)`: the mean over the
    samples of -log_softmax(logits)[label]; with is_grad, its gradient with respect to logits."""

    name = "SparseSoftmaxCrossEntropyWithLogits"

    def __init__(self, is_grad: bool = False):
        self.is_grad = is_grad

    def __call__(self, logits, labels):
        logits = F.as_tensor(logits)
        hot = F.one_hot(labels, logits.shape[-1], logits.dtype)
        if self.is_grad:
            return F.div(F.sub(F.softmax(logits, -1), hot), float(logits.shape[0]))
        return F.reduce_mean(F.neg(F.reduce_sum(F.mul(hot, F.log_softmax(logits, -1)), -1)))


class LayerNorm(Primitive):
    """`LayerNorm(begin_norm_axis=1, begin_params_axis=1, epsilon=1e-7)(x, gamma, beta)`:
    (y, mean, variance), normalized over the axes from begin_norm_axis on, scaled and shifted
    over those from begin_params_axis on."""

    name = "LayerNorm"

    def __init__(self, begin_norm_axis=1, begin_params_axis=1, epsilon=1e-7):
        self.begin_norm_axis = begin_norm_axis
        self.begin_params_axis = begin_params_axis
        self.epsilon = float(epsilon)

    def __call__(self, x, gamma, beta):
        x = F.as_tensor(x)
        start = self.begin_norm_axis % x.ndim
        axes = tuple(range(start, x.ndim))
        mean, centered, variance = F.moments(x, axes)
        normalized = F.standardized(centered, variance, self.epsilon)
        return F.add(F.mul(normalized, gamma), beta), mean, variance


# Every public primitive class of this module (a new class needs no line elsewhere).
__all__ = sorted(
    name
    for name, value in dict(globals()).items()
    if isinstance(value, type) and issubclass(value, Primitive) and not name.startswith("_")
)
