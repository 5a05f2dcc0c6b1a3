"""CSRTensor and COOTensor (MindSpore's sparse tensors), against the dense arrays they stand for."""

import numpy as np
import pytest

import cellc
from cellc import COOTensor, CSRTensor, Tensor, nn
from cellc import dtype as mstype
from cellc.runtime.errors import UnsupportedError

# [[1, 0, 0, 0], [0, 2, 0, 3]] in both forms
DENSE = np.array([[1, 0, 0, 0], [0, 2, 0, 3]], np.float32)


def csr():
    return CSRTensor(Tensor([0, 1, 3]), Tensor([0, 1, 3]), Tensor(DENSE[DENSE != 0]), (2, 4))


def coo():
    rows, cols = np.nonzero(DENSE)
    indices = Tensor(np.stack([rows, cols], 1).astype(np.int32))
    return COOTensor(indices, Tensor(DENSE[rows, cols]), (2, 4))


def test_the_tensor_tutorials_sparse_section():
    matrix = CSRTensor(Tensor([0, 1, 2]), Tensor([0, 1]), Tensor([1, 2], mstype.float32), (2, 4))
    assert matrix.astype(mstype.float64).dtype == mstype.float64
    np.testing.assert_array_equal(matrix.to_dense().asnumpy(), [[1, 0, 0, 0], [0, 2, 0, 0]])
    indices = Tensor([[0, 1], [1, 2]], dtype=mstype.int32)
    tensor = COOTensor(indices, Tensor([1, 2], dtype=mstype.float32), (3, 4))
    np.testing.assert_array_equal(tensor.values.asnumpy(), [1, 2])
    np.testing.assert_array_equal(tensor.indices.asnumpy(), [[0, 1], [1, 2]])
    assert tensor.shape == (3, 4) and tensor.astype(mstype.float64).dtype == mstype.float64
    assert (tensor.size, tensor.ndim, tensor.itemsize) == (2, 2, 4)


@pytest.mark.parametrize("make", [csr, coo])
def test_conversions_keep_the_dense_values(make):
    sparse = make()
    np.testing.assert_array_equal(sparse.to_dense().asnumpy(), DENSE)
    other = sparse.to_coo() if isinstance(sparse, CSRTensor) else sparse.to_csr()
    np.testing.assert_array_equal(other.to_dense().asnumpy(), DENSE)
    np.testing.assert_array_equal(sparse.abs().to_dense().asnumpy(), np.abs(DENSE))
    np.testing.assert_array_equal((-sparse).to_dense().asnumpy(), -DENSE)


@pytest.mark.parametrize("make", [csr, coo])
def test_arithmetic_with_dense_tensors(make):
    scale = np.array([[2, 3, 4, 5], [6, 7, 8, 9]], np.float32)
    np.testing.assert_array_equal((make() * Tensor(scale)).to_dense().asnumpy(), DENSE * scale)
    np.testing.assert_allclose((make() / Tensor(scale)).to_dense().asnumpy(), DENSE / scale)
    np.testing.assert_array_equal((make() + Tensor(scale)).asnumpy(), DENSE + scale)


def test_csr_products_sums_and_add():
    vector = np.arange(4, dtype=np.float32).reshape(4, 1)
    np.testing.assert_array_equal(csr().mv(Tensor(vector)).asnumpy(), DENSE @ vector)
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(csr().mm(Tensor(matrix)).asnumpy(), DENSE @ matrix)
    np.testing.assert_array_equal(csr().sum(1).asnumpy(), DENSE.sum(1, keepdims=True))
    total = csr().add(csr(), Tensor(np.float32(2)), Tensor(np.float32(0.5)))
    np.testing.assert_array_equal(total.to_dense().asnumpy(), 2.5 * DENSE)
    with pytest.raises(ValueError, match="vector's 3 rows do not match the matrix's 4 columns"):
        csr().mv(Tensor(np.ones((3, 1), np.float32)))


def test_coo_sums_repeated_coordinates():
    indices = Tensor(np.array([[0, 0], [1, 2], [0, 0]], np.int32))
    tensor = COOTensor(indices, Tensor(np.array([1, 2, 3], np.float32)), (2, 3))
    expected = np.array([[4, 0, 0], [0, 0, 2]], np.float32)
    np.testing.assert_array_equal(tensor.to_dense().asnumpy(), expected)
    coalesced = tensor.coalesce()
    assert coalesced.values.shape == (2,)
    np.testing.assert_array_equal(coalesced.to_dense().asnumpy(), expected)
    np.testing.assert_array_equal((tensor + tensor).to_dense().asnumpy(), 2 * expected)
    kept = tensor.add(tensor, Tensor(np.float32(5)))  # |sum| >= 5 stays: 8 at (0, 0)
    np.testing.assert_array_equal(kept.to_dense().asnumpy(), [[8, 0, 0], [0, 0, 0]])


def test_malformed_parts_are_named():
    with pytest.raises(ValueError, match="indptr must be 1-D of rows \\+ 1 = 3"):
        CSRTensor(Tensor([0, 1]), Tensor([0]), Tensor([1.0]), (2, 4))
    with pytest.raises(ValueError, match="indptr must not decrease"):
        CSRTensor(Tensor([0, 2, 1, 2]), Tensor([0, 1]), Tensor([1.0, 2.0]), (3, 4))
    with pytest.raises(ValueError, match="column indices must lie in \\[0, 4\\)"):
        CSRTensor(Tensor([0, 1, 1]), Tensor([4]), Tensor([1.0]), (2, 4))
    with pytest.raises(ValueError, match="indices must lie within shape \\(2, 2\\)"):
        COOTensor(Tensor([[0, 2]]), Tensor([1.0]), (2, 2))
    with pytest.raises(ValueError, match="one value per row of indices"):
        COOTensor(Tensor([[0, 1]]), Tensor([1.0, 2.0]), (2, 2))


def test_a_sparse_tensor_in_a_traced_cell_is_refused_with_the_reason():
    class Net(nn.Cell):
        def construct(self, values):
            return COOTensor(Tensor([[0, 1]]), values, (2, 2)).to_dense()

    with pytest.raises(UnsupportedError, match="sparse tensors are not compiled"):
        Net()(Tensor(np.array([1.0], np.float32)))


def test_top_level_names():
    assert cellc.is_tensor(Tensor([1.0])) and not cellc.is_tensor(np.ones(1))
    assert cellc.ms_function is cellc.jit
    assert cellc.lazy_inline(csr) is csr and cellc.no_inline()(csr) is csr
    assert cellc.mint.abs(Tensor([-2.0])).asnumpy().tolist() == [2.0]


def test_tensor_layout_attributes_and_from_numpy():
    x = Tensor(np.array([[1, 2], [3, 4]]), mstype.int32)
    assert (x.itemsize, x.nbytes, x.strides) == (4, 16, (8, 4))
    array = np.ones(5)
    t = Tensor.from_numpy(array)
    np.add(array, 1, out=array)  # MindSpore's from_numpy shares the array's memory
    np.testing.assert_array_equal(t.asnumpy(), np.full(5, 2.0))
