"""Operator arguments MindSpore refuses are refused with a message naming the operator and the
value, eagerly and when traced alike (regressions from malformed-input runs)."""

import numpy as np
import pytest
from support.cells import Lambda

from cellc import Tensor, ops
from cellc.frontend import trace

X = Tensor(np.ones((2, 3), np.float32))


def both(fn):
    """`fn` applied eagerly and traced inside a cell."""
    return [lambda: fn(X), lambda: trace(Lambda(fn), X)]


@pytest.mark.parametrize("run", both(lambda x: ops.ReduceSum()(x, 0.5)))
def test_a_float_axis(run):
    with pytest.raises(TypeError, match="ReduceSum.*'axis' must be an int.*got 0.5"):
        run()


@pytest.mark.parametrize("run", both(lambda x: ops.Reshape()(x, (-2, -3))))
def test_a_negative_reshape_dimension(run):
    with pytest.raises(ValueError, match=r"Reshape.*>= 0, or -1.*\(-2, -3\)"):
        run()


@pytest.mark.parametrize("run", both(lambda x: ops.Squeeze(0)(x)))
def test_squeezing_a_dimension_that_is_not_1(run):
    with pytest.raises(ValueError, match=r"Squeeze.*dimension 0.*\(2, 3\) has size 2"):
        run()


@pytest.mark.parametrize("axis", [3, -4, 5])
def test_expand_dims_out_of_range(axis):
    with pytest.raises(ValueError, match=r"ExpandDims.*\[-3, 2\].*rank 2"):
        ops.ExpandDims()(X, axis)


@pytest.mark.parametrize("axis", [2, -3, 0])
def test_expand_dims_in_range(axis):
    assert ops.ExpandDims()(X, axis).shape.count(1) == 1


def test_the_mean_of_nothing_is_nan():
    with np.errstate(invalid="ignore"):
        assert np.isnan(ops.ReduceMean()(Tensor(np.ones((0,), np.float32))).asnumpy())


def test_the_max_of_nothing_is_refused():
    with pytest.raises(ValueError, match="ReduceMax.*no maximum over the empty axis 0"):
        ops.ReduceMax()(Tensor(np.ones((0, 2), np.float32)), 0)


@pytest.mark.parametrize("run", both(lambda x: ops.BroadcastTo((1 << 40, 1 << 40, 2, 3))(x)))
def test_a_shape_too_large_is_refused_before_any_ir(run):
    with pytest.raises(ValueError, match="BroadcastTo.*bytes, more than cellc's limit"):
        run()


def test_big_endian_data_is_converted():
    data = np.arange(3, dtype=">f4")
    np.testing.assert_array_equal((Tensor(data) + 1.0).asnumpy(), [1.0, 2.0, 3.0])
    assert Tensor(data).dtype.name == "Float32"
