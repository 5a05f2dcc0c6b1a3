"""nn.RNN, nn.GRU and nn.LSTM: outputs and final states against a numpy implementation of
MindSpore's (and PyTorch's) equations with the layer's own weights, over stacked,
bidirectional, batch-first and `seq_length` variants; gradients against float64 central finite
differences of the compiled forward."""

from __future__ import annotations

import numpy as np
import pytest
from support.cells import GradAll, GradInputsAndWeights, Lambda
from support.finite_differences import numeric_vjp

from cellc import Parameter, Tensor, nn

RNG = np.random.default_rng(11)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _cell(mode, x, state, w_ih, w_hh, b_ih, b_hh):
    h = state[0] if mode == "LSTM" else state
    gx, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if mode == "LSTM":
        i, f, g, o = np.split(gx + gh, 4, axis=1)
        c = _sigmoid(f) * state[1] + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c
    if mode == "GRU":
        (xr, xz, xn), (hr, hz, hn) = np.split(gx, 3, axis=1), np.split(gh, 3, axis=1)
        r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
        n = np.tanh(xn + r * hn)
        return (1 - z) * n + z * h
    return np.tanh(gx + gh) if mode == "RNN_TANH" else np.maximum(gx + gh, 0)


def reference(layer, x, lengths=None):
    """The layer's outputs and final states, in numpy, time-major x (steps, batch, input)."""
    mode, hidden = layer.mode, layer.hidden_size
    steps, batch = x.shape[:2]
    lengths = np.full(batch, steps) if lengths is None else lengths
    directions = 2 if layer.bidirectional else 1
    finals, layer_input = [], x
    for k in range(layer.num_layers):
        outputs = []
        for d in range(directions):
            suffix = f"l{k}" + ("_reverse" if d else "")
            weights = [
                getattr(layer, f"{kind}_{suffix}").asnumpy().astype(np.float64)
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            out = np.zeros((steps, batch, hidden))
            final = []
            for b in range(batch):
                zero = np.zeros((1, hidden))
                state = (zero, zero) if mode == "LSTM" else zero
                order = range(lengths[b])[::-1] if d else range(lengths[b])
                for t in order:
                    state = _cell(mode, layer_input[t, b : b + 1], state, *weights)
                    out[t, b] = (state[0] if mode == "LSTM" else state)[0]
                final.append(state)
            outputs.append(out)
            if mode == "LSTM":
                finals.append(tuple(np.concatenate([s[i] for s in final]) for i in (0, 1)))
            else:
                finals.append(np.concatenate(final))
        layer_input = np.concatenate(outputs, 2)
    if mode == "LSTM":
        return layer_input, (np.stack([h for h, _ in finals]), np.stack([c for _, c in finals]))
    return layer_input, np.stack(finals)


CASES = {
    "rnn-tanh": lambda: nn.RNN(3, 4),
    "rnn-relu-2-layers": lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu"),
    "gru-bidirectional": lambda: nn.GRU(3, 5, bidirectional=True),
    "lstm": lambda: nn.LSTM(3, 4),
    "lstm-2-layers-bidirectional-batch-first": lambda: nn.LSTM(
        3, 4, num_layers=2, bidirectional=True, batch_first=True
    ),
}


@pytest.mark.parametrize("lengths", [None, np.array([6, 2, 4], np.int32)], ids=["full", "lengths"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_and_final_states_follow_the_equations(name, lengths):
    layer = CASES[name]()
    x = RNG.uniform(-1, 1, (6, 3, 3))
    given = np.swapaxes(x, 0, 1) if layer.batch_first else x
    args = [Tensor(given.astype(np.float32))]
    if lengths is not None:
        args += [None, Tensor(lengths)]
    out, final = layer(*args)
    want_out, want_final = reference(layer, x, lengths)
    if layer.batch_first:
        want_out = np.swapaxes(want_out, 0, 1)
    np.testing.assert_allclose(out.asnumpy(), want_out, rtol=1e-5, atol=1e-6)
    finals = final if isinstance(final, tuple) else (final,)
    wants = want_final if isinstance(want_final, tuple) else (want_final,)
    for got, want in zip(finals, wants, strict=True):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)


def _float64(layer):
    for parameter in layer.trainable_params():
        setattr(
            layer, parameter.name, Parameter(parameter.asnumpy().astype(np.float64), parameter.name)
        )
    return layer


def test_lstm_input_gradient_matches_finite_differences():
    layer = _float64(nn.LSTM(2, 3, bidirectional=True))
    lengths = Tensor(np.array([4, 2], np.int32))
    forward = Lambda(lambda x: layer(x, None, lengths)[0])
    x = RNG.uniform(-1, 1, (4, 2, 2))
    sens = RNG.uniform(-1, 1, (4, 2, 6))
    (got,) = GradAll(forward)(Tensor(x), Tensor(sens))
    (want,) = numeric_vjp(forward, [x], sens)
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-6, atol=1e-8)


def test_gru_weight_gradients_match_finite_differences():
    layer = _float64(nn.GRU(2, 3, num_layers=2))
    x = Tensor(RNG.uniform(-1, 1, (3, 2, 2)))

    class Loss(nn.Cell):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def construct(self, x):
            out, final = self.layer(x)
            return (out * out).sum() + final.sum()

    loss = Loss()
    _, grads = GradInputsAndWeights(loss)(x)
    weights = loss.trainable_params()
    values = [w.asnumpy().copy() for w in weights]

    def at(*moved):
        for weight, value in zip(weights, moved):
            weight.set_data(value)
        return loss(x)

    want = numeric_vjp(at, values, np.ones(()))
    for weight, value in zip(weights, values):
        weight.set_data(Tensor(value))
    for g, w in zip(grads, want, strict=True):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-6, atol=1e-8)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="the 'dropout' must be a number in range"):
        nn.LSTM(2, 3, dropout=1.5)
    with pytest.raises(ValueError, match=r"input must be \(seq, batch, input\) with input_size 2"):
        nn.GRU(2, 3)(Tensor(np.zeros((4, 3), np.float32)))
    with pytest.raises(ValueError, match=r"initial state must be \(1, 2, 3\)"):
        nn.RNN(2, 3)(Tensor(np.zeros((4, 2, 2), np.float32)), Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(TypeError, match="unexpected keyword argument 'hidden'"):
        nn.RNN(2, 3)(Tensor(np.zeros((4, 2, 2), np.float32)), hidden=None)


@pytest.mark.parametrize(
    ("make", "mode"),
    [
        (lambda: nn.RNNCell(3, 4), "RNN_TANH"),
        (lambda: nn.RNNCell(3, 4, nonlinearity="relu"), "RNN_RELU"),
        (lambda: nn.GRUCell(3, 4), "GRU"),
        (lambda: nn.LSTMCell(3, 4), "LSTM"),
    ],
    ids=["rnn-tanh", "rnn-relu", "gru", "lstm"],
)
def test_one_step_cells_follow_the_equations(make, mode):
    cell = make()
    weights = [
        getattr(cell, n).asnumpy().astype(np.float64)
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    x, h, c = RNG.uniform(-1, 1, (2, 3)), RNG.uniform(-1, 1, (2, 4)), RNG.uniform(-1, 1, (2, 4))
    state = (h, c) if mode == "LSTM" else h
    want = _cell(mode, x, state, *weights)
    given = (
        tuple(Tensor(s.astype(np.float32)) for s in state)
        if mode == "LSTM"
        else Tensor(h.astype(np.float32))
    )
    got = cell(Tensor(x.astype(np.float32)), given)
    for g, w in zip(
        got if mode == "LSTM" else (got,), want if mode == "LSTM" else (want,), strict=True
    ):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-5, atol=1e-6)
    unbatched = cell(Tensor(x[0].astype(np.float32)))  # (input,), state zeros
    zero = np.zeros((1, 4))
    first = _cell(mode, x[:1], (zero, zero) if mode == "LSTM" else zero, *weights)
    first = first[0] if mode == "LSTM" else first
    np.testing.assert_allclose(
        (unbatched[0] if mode == "LSTM" else unbatched).asnumpy(), first[0], rtol=1e-5, atol=1e-6
    )


def test_float16_weights_where_dtype_asks_for_them():
    from cellc import dtype as mstype

    rnn = nn.RNN(4, 3, dtype=mstype.float16)
    assert all(p.dtype == mstype.float16 for p in rnn.trainable_params())
    out, _ = rnn(Tensor(np.ones((2, 1, 4), np.float16)))
    assert out.dtype == mstype.float16
    for layer in (nn.Dense(4, 3, dtype=mstype.float16), nn.LayerNorm((4,), dtype=mstype.float16)):
        assert {p.dtype for p in layer.trainable_params()} == {mstype.float16}
    assert nn.BatchNorm2d(3, dtype=mstype.float16).moving_mean.dtype == mstype.float16
