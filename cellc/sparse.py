"""CSRTensor and COOTensor: MindSpore's sparse tensors, as eager containers of numpy arrays.

They hold their parts (`indptr`/`indices`/`values` for CSR, `indices`/`values` for COO) and a
dense `shape`, and compute eagerly: conversions (`to_dense`, `to_coo`, `to_csr`), `astype`,
`abs`, elementwise arithmetic with a dense tensor, sparse-dense products (`mv`, `mm`) and sums.
cellc compiles dense programs only: a sparse tensor given to a traced cell is refused with that
reason (convert it with `to_dense()` first).
"""

from __future__ import annotations

import numpy as np

from cellc.runtime.errors import UnsupportedError

from . import dtype as mstype
from .tensor import Tensor


def _concrete(name: str, part, dtype=None) -> np.ndarray:
    if isinstance(part, Tensor):
        if part._symbol is not None:
            raise UnsupportedError(
                f"{name}: sparse tensors are not compiled (cellc compiles dense programs); "
                "build it outside construct, or use dense tensors there"
            )
        part = part.asnumpy()
    array = np.asarray(part)
    return array if dtype is None else array.astype(dtype)


def _shape(name: str, shape) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(d, (int, np.integer)) and d >= 0 for d in shape
    ):
        raise TypeError(f"{name}: shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(d) for d in shape)


def _dense(name: str, other) -> np.ndarray:
    if isinstance(other, (CSRTensor, COOTensor)):
        return other.to_dense().asnumpy()
    return _concrete(name, other)


class _Sparse:
    """What CSRTensor and COOTensor share: the values' dtype and sizes, printing."""

    values: Tensor
    shape: tuple[int, ...]

    @property
    def dtype(self) -> mstype.DType:
        return self.values.dtype

    @property
    def size(self) -> int:
        """The number of stored values."""
        return self.values.size

    @property
    def itemsize(self) -> int:
        return self.values.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _parts(self) -> dict[str, Tensor]:
        raise NotImplementedError

    def _with_values(self, values: np.ndarray):
        """The same sparsity pattern holding `values`."""
        raise NotImplementedError

    def _dense_at_values(self, other) -> np.ndarray:
        """`other` (dense, broadcast to the shape) at each stored value's position."""
        raise NotImplementedError

    # elementwise with a dense tensor: only the stored values change
    def __mul__(self, other):
        return self._with_values(self.values.asnumpy() * self._dense_at_values(other))

    def __truediv__(self, other):
        return self._with_values(self.values.asnumpy() / self._dense_at_values(other))

    def __neg__(self):
        return self._with_values(-self.values.asnumpy())

    def abs(self):
        return self._with_values(np.abs(self.values.asnumpy()))

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={part!r}" for name, part in self._parts().items())
        return f"{type(self).__name__}(shape={list(self.shape)}, dtype={self.dtype}, {parts})"


class CSRTensor(_Sparse):
    """A 2-D matrix in compressed sparse row form: row `r`'s values are
    `values[indptr[r]:indptr[r + 1]]`, in the columns `indices[indptr[r]:indptr[r + 1]]`."""

    def __init__(self, indptr=None, indices=None, values=None, shape=None, csr_tensor=None):
        if csr_tensor is not None:
            if not isinstance(csr_tensor, CSRTensor):
                raise TypeError(f"CSRTensor: csr_tensor must be a CSRTensor, got {csr_tensor!r}")
            indptr, indices, values, shape = csr_tensor.to_tuple()
        if indptr is None or indices is None or values is None or shape is None:
            raise TypeError("CSRTensor needs indptr, indices, values and shape (or csr_tensor)")
        shape = _shape("CSRTensor", shape)
        indptr_ = _concrete("CSRTensor", indptr)
        indices_ = _concrete("CSRTensor", indices)
        values_ = _concrete("CSRTensor", values)
        if len(shape) != 2:
            raise ValueError(f"CSRTensor: shape must be 2-D (rows, columns), got {shape}")
        if indptr_.ndim != 1 or indptr_.shape[0] != shape[0] + 1:
            raise ValueError(
                f"CSRTensor: indptr must be 1-D of rows + 1 = {shape[0] + 1} entries, "
                f"got shape {indptr_.shape}"
            )
        if indices_.ndim != 1 or values_.shape[:1] != indices_.shape:
            raise ValueError(
                f"CSRTensor: indices {indices_.shape} and values {values_.shape} must be 1-D "
                "of the same length"
            )
        if indptr_.size and (indptr_[0] != 0 or indptr_[-1] != indices_.shape[0]):
            raise ValueError(
                f"CSRTensor: indptr must run from 0 to the number of values "
                f"({indices_.shape[0]}), got {indptr_[0]}..{indptr_[-1]}"
            )
        if (np.diff(indptr_) < 0).any():
            raise ValueError(f"CSRTensor: indptr must not decrease, got {indptr_.tolist()}")
        if indices_.size and (indices_.min() < 0 or indices_.max() >= shape[1]):
            raise ValueError(f"CSRTensor: column indices must lie in [0, {shape[1]})")
        self.indptr = indptr if isinstance(indptr, Tensor) else Tensor(indptr_)
        self.indices = indices if isinstance(indices, Tensor) else Tensor(indices_)
        self.values = values if isinstance(values, Tensor) else Tensor(values_)
        self.shape = shape

    def _parts(self) -> dict[str, Tensor]:
        return {"indptr": self.indptr, "indices": self.indices, "values": self.values}

    def _rows(self) -> np.ndarray:
        """The row of each stored value."""
        counts = np.diff(self.indptr.asnumpy())
        return np.repeat(np.arange(self.shape[0]), counts)

    def to_tuple(self):
        return self.indptr, self.indices, self.values, self.shape

    def to_dense(self) -> Tensor:
        dense = np.zeros(self.shape, self.values.asnumpy().dtype)
        np.add.at(dense, (self._rows(), self.indices.asnumpy()), self.values.asnumpy())
        return Tensor(dense)

    def to_coo(self) -> COOTensor:
        coordinates = np.stack([self._rows(), self.indices.asnumpy()], axis=1)
        return COOTensor(
            Tensor(coordinates.astype(self.indices.asnumpy().dtype)), self.values, self.shape
        )

    def astype(self, dtype: mstype.DType) -> CSRTensor:
        return CSRTensor(self.indptr, self.indices, self.values.astype(dtype), self.shape)

    def _with_values(self, values: np.ndarray) -> CSRTensor:
        return CSRTensor(self.indptr, self.indices, Tensor(values), self.shape)

    def _dense_at_values(self, other) -> np.ndarray:
        """`other` (dense, broadcast to the shape) at each stored value's position."""
        dense = np.broadcast_to(_dense("CSRTensor", other), self.shape)
        return dense[self._rows(), self.indices.asnumpy()]

    def __add__(self, other) -> CSRTensor | Tensor:
        if isinstance(other, CSRTensor):
            return self.add(
                other,
                Tensor(np.array(1, self.values.asnumpy().dtype)),
                Tensor(np.array(1, self.values.asnumpy().dtype)),
            )
        return Tensor(self.to_dense().asnumpy() + _dense("CSRTensor", other))

    def __sub__(self, other) -> CSRTensor | Tensor:
        return self + (-other)

    def add(self, b: CSRTensor, alpha, beta) -> CSRTensor:
        """alpha * self + beta * b, as a CSRTensor."""
        if not isinstance(b, CSRTensor) or b.shape != self.shape:
            raise ValueError(f"CSRTensor.add: b must be a CSRTensor of shape {self.shape}")
        alpha_, beta_ = (_concrete("CSRTensor.add", s) for s in (alpha, beta))
        dense = alpha_ * self.to_dense().asnumpy() + beta_ * b.to_dense().asnumpy()
        stored = (self.to_dense().asnumpy() != 0) | (b.to_dense().asnumpy() != 0)
        stored |= _stored_mask(self) | _stored_mask(b)
        return _csr_of(dense.astype(self.values.asnumpy().dtype), stored, self.indices.dtype)

    def mv(self, dense_vector) -> Tensor:
        """This matrix times a dense column vector ((columns, 1) or (columns,))."""
        vector = _concrete("CSRTensor.mv", dense_vector)
        if vector.shape[0] != self.shape[1]:
            raise ValueError(
                f"CSRTensor.mv: the vector's {vector.shape[0]} rows do not match the matrix's "
                f"{self.shape[1]} columns (shape {self.shape})"
            )
        return Tensor(self.to_dense().asnumpy() @ vector)

    def mm(self, matrix) -> Tensor:
        """This matrix times a dense matrix."""
        dense = _dense("CSRTensor.mm", matrix)
        if dense.ndim != 2 or dense.shape[0] != self.shape[1]:
            raise ValueError(
                f"CSRTensor.mm: matrix {dense.shape} does not match shape {self.shape}"
            )
        return Tensor(self.to_dense().asnumpy() @ dense)

    def sum(self, axis: int) -> Tensor:
        """The sum along `axis`, keeping it (as MindSpore's csr_reduce_sum)."""
        return Tensor(self.to_dense().asnumpy().sum(axis=axis, keepdims=True))


def _stored_mask(csr: CSRTensor) -> np.ndarray:
    mask = np.zeros(csr.shape, bool)
    mask[csr._rows(), csr.indices.asnumpy()] = True
    return mask


def _csr_of(dense: np.ndarray, stored: np.ndarray, index_dtype: mstype.DType) -> CSRTensor:
    rows, columns = np.nonzero(stored)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=dense.shape[0]))])
    numpy_index = index_dtype.numpy
    return CSRTensor(
        Tensor(indptr.astype(numpy_index)),
        Tensor(columns.astype(numpy_index)),
        Tensor(dense[rows, columns]),
        dense.shape,
    )


class COOTensor(_Sparse):
    """A tensor in coordinate form: `values[i]` sits at `indices[i]` (one row of `ndim`
    coordinates per value); repeated coordinates add up."""

    def __init__(self, indices=None, values=None, shape=None, coo_tensor=None):
        if coo_tensor is not None:
            if not isinstance(coo_tensor, COOTensor):
                raise TypeError(f"COOTensor: coo_tensor must be a COOTensor, got {coo_tensor!r}")
            indices, values, shape = coo_tensor.to_tuple()
        if indices is None or values is None or shape is None:
            raise TypeError("COOTensor needs indices, values and shape (or coo_tensor)")
        shape = _shape("COOTensor", shape)
        indices_ = _concrete("COOTensor", indices)
        values_ = _concrete("COOTensor", values)
        if indices_.ndim != 2 or indices_.shape[1] != len(shape):
            raise ValueError(
                f"COOTensor: indices must be 2-D (values, {len(shape)} coordinates) for shape "
                f"{shape}, got {indices_.shape}"
            )
        if values_.ndim != 1 or values_.shape[0] != indices_.shape[0]:
            raise ValueError(
                f"COOTensor: values must be 1-D with one value per row of indices "
                f"({indices_.shape[0]}), got {values_.shape}"
            )
        if indices_.size and ((indices_ < 0).any() or (indices_ >= np.array(shape)).any()):
            raise ValueError(f"COOTensor: indices must lie within shape {shape}")
        self.indices = indices if isinstance(indices, Tensor) else Tensor(indices_)
        self.values = values if isinstance(values, Tensor) else Tensor(values_)
        self.shape = shape

    def _parts(self) -> dict[str, Tensor]:
        return {"indices": self.indices, "values": self.values}

    def to_tuple(self):
        return self.indices, self.values, self.shape

    def to_dense(self) -> Tensor:
        dense = np.zeros(self.shape, self.values.asnumpy().dtype)
        np.add.at(dense, tuple(self.indices.asnumpy().T), self.values.asnumpy())
        return Tensor(dense)

    def to_csr(self) -> CSRTensor:
        if self.ndim != 2:
            raise ValueError(f"COOTensor.to_csr: needs a 2-D tensor, got shape {self.shape}")
        coalesced = self.coalesce()
        dense = coalesced.to_dense().asnumpy()
        stored = np.zeros(self.shape, bool)
        stored[tuple(coalesced.indices.asnumpy().T)] = True
        return _csr_of(dense, stored, self.indices.dtype)

    def coalesce(self) -> COOTensor:
        """Repeated coordinates summed into one, the coordinates sorted."""
        indices = self.indices.asnumpy()
        unique, inverse = np.unique(indices, axis=0, return_inverse=True)
        values = np.zeros(unique.shape[0], self.values.asnumpy().dtype)
        np.add.at(values, inverse.reshape(-1), self.values.asnumpy())
        return COOTensor(Tensor(unique.astype(indices.dtype)), Tensor(values), self.shape)

    def astype(self, dtype: mstype.DType) -> COOTensor:
        return COOTensor(self.indices, self.values.astype(dtype), self.shape)

    def _with_values(self, values: np.ndarray) -> COOTensor:
        return COOTensor(self.indices, Tensor(values), self.shape)

    def _dense_at_values(self, other) -> np.ndarray:
        dense = np.broadcast_to(_dense("COOTensor", other), self.shape)
        return dense[tuple(self.indices.asnumpy().T)]

    def __add__(self, other) -> COOTensor | Tensor:
        if isinstance(other, COOTensor):
            if other.shape != self.shape:
                raise ValueError(f"COOTensor +: shapes {self.shape} and {other.shape} differ")
            indices = np.concatenate([self.indices.asnumpy(), other.indices.asnumpy()])
            values = np.concatenate([self.values.asnumpy(), other.values.asnumpy()])
            return COOTensor(Tensor(indices), Tensor(values), self.shape).coalesce()
        return Tensor(self.to_dense().asnumpy() + _dense("COOTensor", other))

    def __sub__(self, other) -> COOTensor | Tensor:
        return self + (-other)

    def add(self, other: COOTensor, thresh) -> COOTensor:
        """self + other, dropping the sums whose magnitude is below `thresh`."""
        total = self + other
        keep = np.abs(total.values.asnumpy()) >= _concrete("COOTensor.add", thresh)
        return COOTensor(
            Tensor(total.indices.asnumpy()[keep]), Tensor(total.values.asnumpy()[keep]), self.shape
        )
