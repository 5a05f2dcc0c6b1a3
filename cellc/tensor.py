"""Tensor: a numpy array with MindSpore's interface, or, while a cell is traced, a symbolic value.

`print(t)` shows numpy's layout of the values; `repr(t)` (what a tuple of tensors prints) is
MindSpore's `Tensor(shape=[1], dtype=Float32, value= [ 2.15359993e+01])`.
"""

from __future__ import annotations

import sys
import types

import numpy as np

from cellc.frontend import tracing
from cellc.frontend.tracing import TensorLike
from cellc.runtime.errors import UnsupportedError

from . import dtype as mstype


class Tensor(TensorLike):
    """A MindSpore-style tensor.

    Built from a numpy array, a nested list or a scalar, with an optional `dtype`. Python floats
    become Float32 and Python ints Int64 (MindSpore's defaults); numpy arrays keep their dtype.
    """

    __array_priority__ = 100  # so `ndarray + Tensor` defers to Tensor

    def __init__(
        self,
        input_data=None,
        dtype: mstype.DType | None = None,
        shape=None,
        init=None,
        *,
        _symbol=None,
    ):
        if _symbol is not None:  # a traced value: see cellc.frontend.tracing
            self._symbol = _symbol
            self._value = None
            self._dtype = mstype.from_element(_symbol.spec.element)
            self._shape = tuple(_symbol.spec.shape)
            return
        if isinstance(input_data, Tensor):
            input_data = input_data.asnumpy()
        if input_data is None and shape is not None:
            if init is None:  # MindSpore's input description, for Cell.set_inputs
                self._symbol = self._value = None
                self._dtype = dtype or mstype.float32
                self._shape = _described_shape(shape)
                return
            if not callable(init):
                raise TypeError(
                    f"Tensor: init must be an Initializer (mindspore.common.initializer's One(), "
                    f"Normal(), ...), not {type(init).__name__}"
                )
            dims = _described_shape(shape)
            if any(dim < 0 for dim in dims):
                raise ValueError(f"Tensor: init needs a shape of known sizes, not {list(dims)}")
            input_data, dtype = init(dims), dtype or mstype.float32
        if input_data is None:
            raise TypeError(
                "Tensor needs input_data (a numpy array, list or scalar), or a shape and dtype "
                "(with `init` to fill it)"
            )
        array = _to_array(input_data, dtype)
        self._symbol = None
        self._value = array
        self._dtype = mstype.from_numpy(array.dtype)
        self._shape = tuple(array.shape)

    @classmethod
    def _of_result(cls, array: np.ndarray) -> Tensor:
        """A Tensor of an array compiled code returned (native, of a supported dtype): what
        `Tensor(array)` makes, without its checks, on every call's path."""
        tensor = cls.__new__(cls)
        tensor._symbol = None
        tensor._value = array
        tensor._dtype = mstype.from_numpy(array.dtype)
        tensor._shape = array.shape
        return tensor

    # --- MindSpore's accessors -----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> mstype.DType:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return np.dtype(self._dtype.numpy).itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def strides(self) -> tuple[int, ...]:
        """Bytes from one element to the next along each dimension (row-major)."""
        strides, step = [], self.itemsize
        for dim in reversed(self._shape):
            strides.append(step)
            step *= max(dim, 1)
        return tuple(reversed(strides))

    def dim(self) -> int:
        return self.ndim

    @classmethod
    def from_numpy(cls, array: np.ndarray) -> Tensor:
        """A Tensor over `array`'s memory (no copy when it is C-contiguous and native), as
        MindSpore's: writes to the array show in the tensor."""
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Tensor.from_numpy takes a numpy.ndarray, not {type(array).__name__}")
        return cls(array)

    def _traced(self, value) -> Tensor:
        return Tensor(_symbol=value)

    def asnumpy(self) -> np.ndarray:
        if self._value is None:
            if self._symbol is None:
                raise TypeError(
                    f"this Tensor has no data: Tensor(shape={list(self._shape)}, "
                    f"dtype={self._dtype}) describes an input (for Cell.set_inputs); give "
                    "input_data, or `init` to fill it"
                )
            raise TypeError(
                "asnumpy() has no value while a cell is traced: the tensor is symbolic "
                "(compiled code computes it later)"
            )
        return self._value

    def __array__(self, dtype=None, copy=None):
        array = self.asnumpy()
        return array if dtype is None else array.astype(dtype)

    def numpy(self) -> np.ndarray:
        """The value as a numpy array (MindSpore 2.x's alias of asnumpy)."""
        return self.asnumpy()

    def tolist(self):
        self._check_concrete("tolist()")
        return self.asnumpy().tolist()

    def item(self):
        self._check_concrete("item()")
        return self.asnumpy().item()

    def __float__(self):
        self._check_concrete("float()")
        return float(self.item())

    def __int__(self):
        self._check_concrete("int()")
        return int(self.item())

    def __bool__(self):
        self._check_concrete("its truth value (`if`, `while`, `and`, `bool()`)")
        return bool(self.asnumpy())

    def _check_concrete(self, use: str) -> None:
        """Python control flow on a traced tensor's value cannot be compiled ahead of time."""
        if self._symbol is None:
            return
        location = tracing.user_location()
        where = f"\n  at {location}: {location.text}" if location else ""
        raise UnsupportedError(
            f"data-dependent control flow is not supported yet: {use} of a traced Tensor "
            "is unknown when construct is compiled (Python control flow may depend on shapes "
            f"and Python values only){where}"
        )

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def set_data(self, data) -> Tensor:
        array = _to_array(data.asnumpy() if isinstance(data, Tensor) else data, self._dtype)
        if array.shape != self._shape:
            raise ValueError(f"set_data: shape {array.shape} differs from {self._shape}")
        self._value = array
        return self

    def copy(self) -> Tensor:
        return Tensor(self.asnumpy().copy())

    # Arithmetic, reshaping and reductions (`x + y`, `x.reshape(...)`, `x.sum()`) are added by
    # cellc.ops.tensor_methods: they are ops, traced like any primitive.

    # --- printing ----------------------------------------------------------------------------

    def __str__(self) -> str:
        if self._value is None:
            return repr(self)
        return str(self.asnumpy())

    def __repr__(self) -> str:
        shape = list(self._shape)
        if self._symbol is not None:
            return f"Tensor(shape={shape}, dtype={self._dtype}, value=<traced>)"
        if self._value is None:  # an input description (Cell.set_inputs)
            return f"Tensor(shape={shape}, dtype={self._dtype})"
        array = self.asnumpy()
        separator = "\n" if array.ndim > 1 else " "
        return (
            f"Tensor(shape={shape}, dtype={self._dtype}, value={separator}{format_values(array)})"
        )


def _described_shape(shape) -> tuple[int, ...]:
    """A shape given as a list, tuple or int, with None (or -1) for a dimension of any size
    (MindSpore keeps -1 for those), or [-2] for any rank."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if dims == (-2,):
        return dims
    for dim in dims:
        if dim is not None and (not isinstance(dim, (int, np.integer)) or dim < -1):
            raise TypeError(
                f"Tensor: shape {list(dims)} must hold ints >= 0 or None / -1 (or be [-2])"
            )
    return tuple(-1 if dim is None else int(dim) for dim in dims)


def _to_array(data, dtype: mstype.DType | None) -> np.ndarray:
    if dtype is not None and not isinstance(dtype, mstype.DType):
        raise TypeError(f"dtype must be a cellc dtype such as mstype.float32, got {dtype!r}")
    if isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, np.generic):
        array = np.asarray(data)
    else:
        array = np.asarray(data)
        if array.dtype == np.float64 and dtype is None:
            array = array.astype(np.float32)  # Python floats are Float32 in MindSpore
        elif array.dtype.kind == "i" and dtype is None:
            array = array.astype(np.int64)
    if not array.dtype.isnative:  # big-endian data from a file: the same values, native order
        array = array.astype(array.dtype.newbyteorder("="))
    if dtype is not None:
        array = array.astype(dtype.numpy)
    mstype.from_numpy(array.dtype)  # raises TypeError for unsupported dtypes
    return array if array.flags.c_contiguous else array.copy(order="C")


# --- MindSpore's value layout for repr -------------------------------------------------------


def format_values(array: np.ndarray) -> str:
    """The body MindSpore prints after `value=`: C++ `setw(15) scientific setprecision(8)` for
    floats (`setw(11) setprecision(4)` for float16), ints right-aligned to the widest element,
    bools `setw(5)`; `%g` for a 0-d tensor."""
    if array.ndim == 0:
        value = array.item()
        return str(value) if isinstance(value, bool) else f"{value:g}"
    if array.dtype == np.float16:  # MindSpore's float16: setw(11) setprecision(4)

        def element(v):
            return f"{float(v):11.4e}"

    elif array.dtype.kind == "f":

        def element(v):
            return f"{float(v):15.8e}"

    elif array.dtype.kind == "b":

        def element(v):
            return f"{bool(v)!s:>5}"

    else:
        width = max((len(str(int(v))) for v in array.flat), default=1)

        def element(v):
            return f"{int(v):>{width}}"

    return _format_nested(array, element, depth=0)


def _format_nested(array: np.ndarray, element, depth: int) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(element(v) for v in array) + "]"
    rows = ",\n" + " " * (depth + 1)
    return "[" + rows.join(_format_nested(sub, element, depth + 1) for sub in array) + "]"


class _TensorModule(types.ModuleType):
    """This module, callable: MindSpore 2.x's `mindspore.tensor(input_data, dtype=None)` makes a
    Tensor, and `cellc.tensor` (which `mindspore.tensor` is under cellc's aliases) is this
    module."""

    def __call__(self, input_data=None, dtype=None, **kwargs):
        return Tensor(input_data, dtype=dtype, **kwargs)


sys.modules[__name__].__class__ = _TensorModule
