"""Tensor and Parameter printing, character for character, as MindSpore prints them."""

import numpy as np

from cellc import Parameter, Tensor
from cellc import dtype as mstype


def test_str_is_numpys_layout():
    t = Tensor([[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]], dtype=mstype.float32)
    assert str(t) == str(np.array([[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]], np.float32))


def test_repr_one_dimensional_float_in_a_tuple():
    t = Tensor(np.array([21.536], np.float32))
    assert str((t,)) == "(Tensor(shape=[1], dtype=Float32, value= [ 2.15359993e+01]),)"


def test_repr_two_dimensional_float():
    t = Tensor([[1.0, -2.5], [3.0, 4.0]], dtype=mstype.float32)
    assert repr(t) == (
        "Tensor(shape=[2, 2], dtype=Float32, value=\n"
        "[[ 1.00000000e+00, -2.50000000e+00],\n"
        " [ 3.00000000e+00,  4.00000000e+00]])"
    )


def test_repr_three_dimensional_rows_indent_by_depth():
    t = Tensor(np.arange(8, dtype=np.int32).reshape(2, 2, 2))
    assert repr(t) == (
        "Tensor(shape=[2, 2, 2], dtype=Int32, value=\n[[[0, 1],\n  [2, 3]],\n [[4, 5],\n  [6, 7]]])"
    )


def test_repr_ints_right_aligned_to_widest():
    t = Tensor(np.array([1, -20, 300], np.int64))
    assert repr(t) == "Tensor(shape=[3], dtype=Int64, value= [  1, -20, 300])"


def test_repr_bools_width_five():
    t = Tensor(np.array([True, False]))
    assert repr(t) == "Tensor(shape=[2], dtype=Bool, value= [ True, False])"


def test_repr_zero_dimensional_uses_g():
    assert repr(Tensor(np.float32(2.5))) == "Tensor(shape=[], dtype=Float32, value= 2.5)"


def test_parameter_repr():
    w = Parameter(Tensor(np.zeros((5, 3), np.float32)), name="w")
    assert repr(w) == "Parameter (name=w, shape=(5, 3), dtype=Float32, requires_grad=True)"


def test_cell_repr_is_mindspore_2s_layout():
    from cellc import nn

    class Network(nn.Cell):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.seq = nn.SequentialCell(
                nn.Dense(4, 5, has_bias=False, activation="relu"),
                nn.SequentialCell(nn.Dense(2, 3)),
            )

    # MindSpore 2.10's print(Network())
    assert repr(Network()) == (
        "Network(\n"
        "  (flatten): Flatten()\n"
        "  (seq): SequentialCell(\n"
        "    (0): Dense(\n"
        "      input_channels=4, output_channels=5, activation=ReLU()\n"
        "      (activation): ReLU()\n"
        "    )\n"
        "    (1): SequentialCell(\n"
        "      (0): Dense(input_channels=2, output_channels=3, has_bias=True)\n"
        "    )\n"
        "  )\n"
        ")"
    )
    assert repr(nn.ReLU()) == "ReLU()"


def test_python_floats_are_float32_and_ints_int64():
    assert Tensor([1.0, 2.0]).dtype == mstype.float32
    assert Tensor([1, 2]).dtype == mstype.int64
    assert Tensor(np.array([1.0])).dtype == mstype.float64
    assert str(mstype.float32) == "Float32"
