"""nn.Cell / nn.Module from the user's side: parameter order, names, both LuoJiaNET spellings."""

import numpy as np
import pytest

from cellc import Parameter, ParameterTuple, Tensor, nn, ops


def p(name, requires_grad=True):
    return Parameter(Tensor(np.zeros((1,), np.float32)), name=name, requires_grad=requires_grad)


class Leaf(nn.Cell):
    def __init__(self, tag):
        super().__init__()
        self.a = p(f"{tag}a")
        self.b = p(f"{tag}b", requires_grad=False)

    def construct(self, x):
        return x * self.a


class Tree(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = p("w")
        self.left = Leaf("l")
        self.right = Leaf("r")
        self.v = p("v")
        self.w_again = self.w  # a duplicate: it appears once

    def construct(self, x):
        return self.right(self.left(x)) * self.w * self.v


def test_trainable_params_preorder_insertion_order_no_duplicates():
    tree = Tree()
    names = [q.name for q in tree.trainable_params()]
    # a child's parameters are renamed with its attribute path, as MindSpore's auto_prefix does
    assert names == ["w", "v", "left.a", "right.a"]
    assert [q.name for q in tree.get_parameters()] == [
        "w",
        "v",
        "left.a",
        "left.b",
        "right.a",
        "right.b",
    ]
    assert [n for n, _ in tree.parameters_and_names()] == [
        "w",
        "v",
        "left.a",
        "left.b",
        "right.a",
        "right.b",
    ]
    assert [q.name for q in tree.trainable_params(recurse=False)] == ["w", "v"]


def test_requires_grad_false_leaves_trainable_params():
    leaf = Leaf("")
    assert [q.name for q in leaf.trainable_params()] == ["a"]
    assert [q.name for q in leaf.untrainable_params()] == ["b"]


def test_parameter_tuple_rejects_non_parameters():
    with pytest.raises(TypeError):
        ParameterTuple([Tensor([1.0])])


class ModuleCall(nn.Module):
    def call(self, x):
        return x * 2.0


class ModuleForward(nn.Module):
    def forward(self, x):
        return x + 1.0


class CellConstruct(nn.Cell):
    def construct(self, x):
        return -x


@pytest.mark.parametrize(
    "cell, expected",
    [(ModuleCall(), [2.0, 4.0]), (ModuleForward(), [2.0, 3.0]), (CellConstruct(), [-1.0, -2.0])],
)
def test_both_spellings_compile_and_run(cell, expected):
    out = cell(Tensor([1.0, 2.0]))
    np.testing.assert_allclose(out.asnumpy(), expected)


def test_grad_operation_flags_must_be_bool():
    with pytest.raises(TypeError, match="get_all"):
        ops.GradOperation(get_all=1)
    with pytest.raises(TypeError, match="sens_param"):
        ops.GradOperation(sens_param="yes")


def test_cells_appended_to_held_containers_are_named_under_their_path():
    """MindSpore's names for parameters of cells added after the container was assigned: the
    container's own path comes first (two CellLists holding a Dense each do not clash)."""
    from collections import OrderedDict

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.first = nn.CellList()
            self.second = nn.CellList()
            self.first.append(nn.Dense(2, 2))
            self.second.extend([nn.Dense(2, 2)])
            self.body = nn.SequentialCell(OrderedDict([("fc", nn.Dense(2, 3)), ("act", nn.ReLU())]))
            self.body.append(nn.Dense(3, 1))

    names = [p.name for p in Net().trainable_params()]
    assert names == [
        "first.0.weight",
        "first.0.bias",
        "second.0.weight",
        "second.0.bias",
        "body.fc.weight",
        "body.fc.bias",
        "body.2.weight",
        "body.2.bias",
    ]
