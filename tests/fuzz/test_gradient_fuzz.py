"""Property-based gradient fuzzing. Random networks (fuzz_networks.py) are compiled and
differentiated with every GradOperation flag combination, against float64 central finite
differences of a numpy evaluation of the same network (stop_gradient held at the point, as
autodiff sees it), with MindSpore's return structure asserted exactly. Second order:
GradOperation of a cell that calls GradOperation, d/d(x, w) of sum(d net/d x0), against finite
differences of the compiled first-order gradient (of the numpy network when it has a
stop_gradient, which finite differences of compiled code would see through).

Default: a few networks, derandomized, unshrunk (CI). `--fuzz-budget N`: N networks, 15% of
them at second order, failures shrunk to a minimal network; `--hypothesis-show-statistics`
prints what they covered. `--fuzz-avoid AREAS`: see tests/fuzz_options.py.
"""

import itertools
import math
from dataclasses import dataclass

import fuzz_options
import numpy as np
import pytest
from fuzz_networks import (
    AVOIDABLE,
    FuzzNet,
    Network,
    Node,
    evaluate,
    kink_distance,
    networks,
    stop_gradient_values,
)
from hypothesis import HealthCheck, Phase, event, given, reject, settings
from hypothesis import strategies as st
from support.cells import Grad

from cellc import ParameterTuple, Tensor, nn, ops

pytestmark = pytest.mark.fuzz

DEFAULT_FIRST_ORDER = 6
DEFAULT_SECOND_ORDER = 2
SECOND_ORDER_SHARE = 0.15
FLAGS = list(itertools.product([False, True], repeat=3))  # get_all, get_by_list, sens_param
LARGEST_VALUE = 1e3  # points where a value grows past this are skipped (FD loses precision)


@dataclass(frozen=True)
class Budget:
    first_order: int
    second_order: int
    shrink: bool
    avoid: frozenset


def read_budget() -> Budget:
    """From tests/fuzz_options.py (--fuzz-budget, --fuzz-avoid, or their environment variables)."""
    avoid = frozenset(a.strip() for a in fuzz_options.avoid.split(",") if a.strip())
    unknown = avoid - set(AVOIDABLE)
    if unknown:
        raise pytest.UsageError(f"--fuzz-avoid: unknown {sorted(unknown)}; known: {AVOIDABLE}")
    if not fuzz_options.budget:
        return Budget(DEFAULT_FIRST_ORDER, DEFAULT_SECOND_ORDER, False, avoid)
    second = max(1, round(fuzz_options.budget * SECOND_ORDER_SHARE))
    return Budget(max(1, fuzz_options.budget - second), second, True, avoid)


BUDGET = read_budget()


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELLC_CACHE_DIR", str(tmp_path_factory.mktemp("fuzz-cellc-cache")))
        yield


def fuzz_settings(examples: int, shrink: bool) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )


# --- cells ------------------------------------------------------------------------------------


class SumOfGrad(nn.Cell):
    """sum(d net / d x0): a scalar, so GradOperation of it is the row sums of the Hessian."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.grad_op = ops.GradOperation()

    def construct(self, *inputs):
        return ops.ReduceSum()(self.grad_op(self.net)(*inputs))


# --- points and finite differences ------------------------------------------------------------


def draw_point(network: Network, seed: int, margin: float):
    """Leaf values (inputs, then Parameters) where every value is moderate and every kink is
    at least `margin` away; the numpy values there. Rejects the example when ten tries fail."""
    rng = np.random.default_rng(seed)
    shapes = network.input_shapes + network.param_shapes
    for _ in range(10):
        leaves = [rng.uniform(-1.5, 1.5, shape) for shape in shapes]
        with np.errstate(all="ignore"):
            values = evaluate(network, leaves)
        moderate = all(np.all(np.abs(v) < LARGEST_VALUE) for v in values)
        if moderate and kink_distance(network, values) >= margin:
            return leaves, values
    reject()


def numeric_gradient(loss, leaves, eps):
    """Central differences of the scalar `loss(leaves)` with respect to every leaf element."""
    grads = []
    for i, leaf in enumerate(leaves):
        grad = np.zeros_like(leaf)
        for index in np.ndindex(leaf.shape):
            moved = []
            for sign in (1, -1):
                shifted = [np.array(x, copy=True) for x in leaves]
                shifted[i][index] += sign * eps
                moved.append(loss(shifted))
            grad[index] = (moved[0] - moved[1]) / (2 * eps)
        grads.append(grad)
    return grads


def numpy_loss(network: Network, sens, frozen):
    """<sens, network(leaves)> in numpy, stop_gradient values held at `frozen`."""

    def loss(leaves):
        values = evaluate(network, leaves, frozen)
        return sum(float(np.sum(s * values[o])) for s, o in zip(sens, network.outputs))

    return loss


# --- structure ----------------------------------------------------------------------------------


def expected_structure(grad_op, weights, input_grads, param_grads, params):
    """MindSpore's return structure for `grad_op(net, weights)`, filled with `*_grads`."""
    position = {id(p): i for i, p in enumerate(params)}  # Parameters compare elementwise
    if isinstance(weights, ParameterTuple):
        weights_part = tuple(param_grads[position[id(w)]] for w in weights)
    elif weights is not None:
        weights_part = param_grads[position[id(weights)]]
    if grad_op.get_all and grad_op.get_by_list:
        return tuple(input_grads), weights_part
    if grad_op.get_by_list:
        return weights_part
    if grad_op.get_all:
        return tuple(input_grads)
    return input_grads[0]


def assert_matches(got, want, what: str, rtol: float, atol: float, path="result"):
    if isinstance(want, tuple):
        assert isinstance(got, tuple), f"{what}: {path} should be a tuple, got {type(got)}"
        assert len(got) == len(want), f"{what}: {path} has {len(got)} items, want {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_matches(g, w, what, rtol, atol, f"{path}[{i}]")
        return
    assert isinstance(got, Tensor), f"{what}: {path} should be a bare Tensor, got {type(got)}"
    got = got.asnumpy()
    assert got.shape == want.shape, f"{what}: {path} has shape {got.shape}, want {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=f"{what}: {path}")


def describe(grad_op, weights) -> str:
    if weights is None:
        return repr(grad_op)
    if isinstance(weights, ParameterTuple):
        names = ", ".join(f"net.{w.name}" for w in weights)
        return f"{grad_op!r}(net, ParameterTuple([{names}]))"
    return f"{grad_op!r}(net, net.{weights.name})"


# --- the checks ---------------------------------------------------------------------------------


def note_coverage(network: Network):
    """Hypothesis events: what the examples covered (`--hypothesis-show-statistics`)."""
    for op in sorted({node.op for node in network.nodes}):
        event(f"op {op}")
    event(f"{len(network.input_shapes)} inputs, {len(network.param_shapes)} parameters")
    if () in network.param_shapes:
        event("a 0-d Parameter")
    if network.unused_param:
        event("an unused Parameter")
    event("tuple output" if network.tuple_output else "one output")


def check_first_order(network: Network, seed: int, avoid: frozenset):
    leaves, values = draw_point(network, seed, margin=1e-3)
    rng = np.random.default_rng(seed + 1)
    num_inputs = len(network.input_shapes)
    inputs = [Tensor(x) for x in leaves[:num_inputs]]
    param_values = [np.float64(p) if p.ndim == 0 else p for p in leaves[num_inputs:]]
    net = FuzzNet(network, param_values)

    outs = [values[o] for o in network.outputs]
    want = tuple(outs) if network.tuple_output else outs[0]
    assert_matches(net(*inputs), want, "forward", rtol=1e-9, atol=1e-12)

    frozen = stop_gradient_values(network, values)
    for get_all, get_by_list, sens_param in FLAGS:
        grad_op = ops.GradOperation(get_all=get_all, get_by_list=get_by_list, sens_param=sens_param)
        sens = [rng.uniform(-1, 1, o.shape) if sens_param else np.ones_like(o) for o in outs]
        grads = numeric_gradient(numpy_loss(network, sens, frozen), leaves, eps=1e-6)
        args = list(inputs)
        if sens_param:
            sens_tensors = tuple(Tensor(s) for s in sens)
            args.append(sens_tensors if network.tuple_output else sens_tensors[0])
        weight_choices = [None]
        if get_by_list:
            weight_choices = [ParameterTuple(net.params)]
            if net.params and "single-param" not in avoid:
                weight_choices.append(net.params[0])
        for weights in weight_choices:
            got = Grad(net, grad_op, weights)(*args)
            want = expected_structure(
                grad_op, weights, grads[:num_inputs], grads[num_inputs:], net.params
            )
            assert_matches(got, want, describe(grad_op, weights), rtol=1e-5, atol=1e-6)


def check_second_order(network: Network, seed: int):
    leaves, values = draw_point(network, seed, margin=1e-2)
    num_inputs = len(network.input_shapes)
    param_values = [np.float64(p) if p.ndim == 0 else p for p in leaves[num_inputs:]]
    net = FuzzNet(network, param_values)
    outer = ops.GradOperation(get_all=True, get_by_list=True)
    weights = ParameterTuple(net.params)
    got = Grad(SumOfGrad(net), outer, weights)(*[Tensor(x) for x in leaves[:num_inputs]])

    if network.has_op("stop_gradient"):
        # d/dv sum_i d net/d x0_i at v, stop_gradient held at the point: the derivative along
        # x0's all-ones direction, then its gradient, both by differences of numpy.
        frozen = stop_gradient_values(network, values)
        ones = [np.ones_like(values[o]) for o in network.outputs]
        loss = numpy_loss(network, ones, frozen)
        h = 1e-4

        def sum_of_gradient(point):
            up = [np.array(x, copy=True) for x in point]
            down = [np.array(x, copy=True) for x in point]
            up[0] += h
            down[0] -= h
            return (loss(up) - loss(down)) / (2 * h)

        grads = numeric_gradient(sum_of_gradient, leaves, eps=1e-4)
    else:
        first = Grad(net, ops.GradOperation())

        def sum_of_gradient(point):
            for param, value in zip(net.params, point[num_inputs:]):
                param.set_data(Tensor(np.float64(value) if value.ndim == 0 else value))
            return float(np.sum(first(*[Tensor(x) for x in point[:num_inputs]]).asnumpy()))

        grads = numeric_gradient(sum_of_gradient, leaves, eps=1e-5)
    want = (tuple(grads[:num_inputs]), tuple(grads[num_inputs:]))
    what = f"{describe(outer, weights)} of sum(GradOperation()(net))"
    assert_matches(got, want, what, rtol=1e-4, atol=1e-5)


SEEDS = st.integers(0, 2**32 - 1)


@fuzz_settings(BUDGET.first_order, BUDGET.shrink)
@given(network=networks(BUDGET.avoid), seed=SEEDS)
def test_first_order_gradients_with_every_flag_combination(network, seed):
    note_coverage(network)
    check_first_order(network, seed, BUDGET.avoid)


@fuzz_settings(BUDGET.second_order, BUDGET.shrink)
@given(network=networks(BUDGET.avoid), seed=SEEDS)
def test_second_order_gradients_of_a_gradient_cell(network, seed):
    note_coverage(network)
    check_second_order(network, seed)


def test_finite_differences_agree_with_closed_forms():
    """The oracle itself: d/dx sum(tanh(x) * stop_gradient(x)) = (1 - tanh²) x, and the
    point-drawing rejects nothing for a smooth network."""
    network = Network(
        ((3,),),
        (),
        (Node("stop_gradient", (0,)), Node("tanh", (0,)), Node("mul", (2, 1))),
        (3,),
        False,
    )
    leaves, values = draw_point(network, 7, margin=1e-3)
    frozen = stop_gradient_values(network, values)
    (grad,) = numeric_gradient(numpy_loss(network, [np.ones(3)], frozen), leaves, eps=1e-6)
    x = leaves[0]
    np.testing.assert_allclose(grad, (1 - np.tanh(x) ** 2) * x, rtol=1e-7)
    assert math.isinf(kink_distance(network, values))
