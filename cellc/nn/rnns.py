"""Recurrent layers, as MindSpore's: RNN, GRU, LSTM (stacked, optionally bidirectional, with
`seq_length` for padded batches), and their one-step cells RNNCell, GRUCell, LSTMCell.

Shapes are static, so the time loop is unrolled when the cell is traced: each step is a few
ops on (batch, hidden) tensors, and the compiled program grows with the sequence length (a
100-step LSTM layer is some 1,500 ops). The input-to-hidden products of all steps are one matmul
before the loop; each step multiplies the hidden state only. The gate order and the weights'
names and shapes are MindSpore's (and PyTorch's): `weight_ih_l{k}[_reverse]` (gates * hidden,
input), `weight_hh_l{k}[_reverse]`, `bias_ih_l{k}[_reverse]`, `bias_hh_l{k}[_reverse]`, drawn
from U(-1/sqrt(hidden), 1/sqrt(hidden)).

With `seq_length` (an int tensor (batch,)), a sample's steps after its length leave its state
as it was and output zeros, and the reverse direction reads each sample's valid prefix
backwards (MindSpore's ReverseSequence), as a batched one-hot matmul over time.
"""

from __future__ import annotations

import math

import numpy as np

from cellc import dtype as mstype
from cellc import ops
from cellc.parameter import Parameter
from cellc.tensor import Tensor

from .cell import Cell
from .dropout import Dropout
from .normalization import _numpy_dtype

F = ops.functional

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


class _RNNBase(Cell):
    def __init__(
        self,
        mode,
        input_size,
        hidden_size,
        num_layers=1,
        has_bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        for what, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"For '{name}', {what} must be a positive int, got {value!r}")
        for what, value in (
            ("has_bias", has_bias),
            ("batch_first", batch_first),
            ("bidirectional", bidirectional),
        ):
            if not isinstance(value, bool):
                raise TypeError(f"For '{name}', {what} must be bool, got {value!r}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(
                f"For '{name}', the 'dropout' must be a number in range [0, 1) representing the "
                f"probability of an element being zeroed, but got {dropout}."
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.has_bias, self.batch_first, self.bidirectional = has_bias, batch_first, bidirectional
        self.dropout = float(dropout)
        self.dropout_op = Dropout(p=self.dropout)
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        bound = 1 / math.sqrt(hidden_size)
        self._weights = []  # per (layer, direction): (w_ih, w_hh, b_ih, b_hh) attribute names
        for layer in range(num_layers):
            for direction in range(directions):
                width = input_size if layer == 0 else hidden_size * directions
                suffix = f"l{layer}" + ("_reverse" if direction else "")
                shapes = {
                    f"weight_ih_{suffix}": (gate_size, width),
                    f"weight_hh_{suffix}": (gate_size, hidden_size),
                }
                if has_bias:
                    shapes[f"bias_ih_{suffix}"] = (gate_size,)
                    shapes[f"bias_hh_{suffix}"] = (gate_size,)
                for attribute, shape in shapes.items():
                    value = np.random.uniform(-bound, bound, shape).astype(_numpy_dtype(dtype))
                    setattr(self, attribute, Parameter(value, name=attribute))
                self._weights.append(tuple(shapes) + (None, None) * (not has_bias))

    def extend_repr(self) -> str:
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, num_layers="
            f"{self.num_layers}, has_bias={self.has_bias}, batch_first={self.batch_first}, "
            f"dropout={self.dropout}, bidirectional={self.bidirectional}"
        )

    def construct(self, x, hx=None, seq_length=None):
        name = type(self).__name__
        if x.ndim != 3 or x.shape[2] != self.input_size:
            order = "(batch, seq, input)" if self.batch_first else "(seq, batch, input)"
            raise ValueError(
                f"For '{name}', the input must be {order} with input_size {self.input_size}, "
                f"got shape {x.shape}"
            )
        if self.batch_first:
            x = F.transpose(x, (1, 0, 2))
        steps, batch = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, batch, self.hidden_size)
        lstm = self.mode == "LSTM"
        if hx is None:
            zeros = Tensor(np.zeros(state_shape), dtype=x.dtype)
            hx = (zeros, zeros) if lstm else zeros
        for state in hx if lstm else (hx,):
            if tuple(state.shape) != state_shape:
                raise ValueError(
                    f"For '{name}', the initial state must be {state_shape}, got {state.shape}"
                )
        valid = None
        reverse = None
        if seq_length is not None:
            lengths = F.reshape(F.cast(F.as_tensor(seq_length), x.dtype), (1, batch))
            times = Tensor(np.arange(steps).reshape(steps, 1), dtype=x.dtype)
            valid = F.less(times, lengths)  # (steps, batch): whether step t is inside sample b
            reverse = _reversal(times, lengths, steps)
        layer_input = x
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                state = (hx[0][index], hx[1][index]) if lstm else hx[index]
                sequence = layer_input
                if direction:
                    sequence = _reverse_time(sequence, reverse)
                out, final = self._run(sequence, state, self._weights[index], valid)
                outputs.append(_reverse_time(out, reverse) if direction else out)
                finals.append(final)
            layer_input = outputs[0] if directions == 1 else F.concat(outputs, 2)
            if self.dropout and layer < self.num_layers - 1:
                layer_input = self.dropout_op(layer_input)
        output = F.transpose(layer_input, (1, 0, 2)) if self.batch_first else layer_input
        if lstm:
            return output, (
                F.stack([h for h, _ in finals], 0),
                F.stack([c for _, c in finals], 0),
            )
        return output, F.stack(finals, 0)

    def _run(self, sequence, state, names, valid):
        """One direction of one layer over the (steps, batch, width) `sequence`."""
        w_ih, w_hh, b_ih, b_hh = (None if n is None else getattr(self, n) for n in names)
        steps, batch, width = sequence.shape
        projected = F.matmul(F.reshape(sequence, (steps * batch, width)), w_ih, transpose_b=True)
        if b_ih is not None:
            projected = F.add(projected, b_ih)
        projected = F.reshape(projected, (steps, batch, -1))
        outputs = []
        for t in range(steps):
            new_state = self._step(projected[t], state, w_hh, b_hh)
            hidden = new_state[0] if self.mode == "LSTM" else new_state
            if valid is not None:
                keep = F.reshape(valid[t], (batch, 1))
                if self.mode == "LSTM":
                    new_state = tuple(F.select(keep, n, o) for n, o in zip(new_state, state))
                else:
                    new_state = F.select(keep, new_state, state)
                hidden = F.select(keep, hidden, 0.0)
            outputs.append(hidden)
            state = new_state
        return F.stack(outputs, 0), state

    def _step(self, gates_x, state, w_hh, b_hh):
        return _cell_step(self.mode, self.hidden_size, gates_x, state, w_hh, b_hh)


def _cell_step(mode, hidden_size, gates_x, state, w_hh, b_hh):
    """One step of a recurrent cell: the new state from the input's gate products `gates_x`
    (x W_ih^T + b_ih) and the state (h, or (h, c) for an LSTM)."""
    hidden = state[0] if mode == "LSTM" else state
    gates_h = F.matmul(hidden, w_hh, transpose_b=True)
    if b_hh is not None:
        gates_h = F.add(gates_h, b_hh)
    if mode == "LSTM":
        i, f, g, o = F.split(F.add(gates_x, gates_h), 1, [hidden_size] * 4)
        cell = F.add(F.mul(F.sigmoid(f), state[1]), F.mul(F.sigmoid(i), F.tanh(g)))
        return F.mul(F.sigmoid(o), F.tanh(cell)), cell
    if mode == "GRU":
        x_r, x_z, x_n = F.split(gates_x, 1, [hidden_size] * 3)
        h_r, h_z, h_n = F.split(gates_h, 1, [hidden_size] * 3)
        reset = F.sigmoid(F.add(x_r, h_r))
        update = F.sigmoid(F.add(x_z, h_z))
        new = F.tanh(F.add(x_n, F.mul(reset, h_n)))
        return F.add(new, F.mul(update, F.sub(hidden, new)))
    total = F.add(gates_x, gates_h)
    return F.tanh(total) if mode == "RNN_TANH" else F.relu(total)


class _CellBase(Cell):
    """One step of a recurrent layer: weight_ih (gates * hidden, input), weight_hh, bias_ih,
    bias_hh, from U(-1/sqrt(hidden), 1/sqrt(hidden)); x (batch, input) or (input,)."""

    def __init__(self, mode, input_size, hidden_size, has_bias=True, dtype=None):
        super().__init__()
        name = type(self).__name__
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"For '{name}', {what} must be a positive int, got {value!r}")
        self.mode, self.input_size, self.hidden_size, self.has_bias = (
            mode,
            input_size,
            hidden_size,
            has_bias,
        )
        gate_size = _GATES[mode] * hidden_size
        bound = 1 / math.sqrt(hidden_size)
        shapes = {"weight_ih": (gate_size, input_size), "weight_hh": (gate_size, hidden_size)}
        if has_bias:
            shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
        for attribute, shape in shapes.items():
            value = np.random.uniform(-bound, bound, shape).astype(_numpy_dtype(dtype))
            setattr(self, attribute, Parameter(value, name=attribute))

    def construct(self, x, hx=None):
        name = type(self).__name__
        batched = x.ndim == 2
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"For '{name}', the input must be (batch, {self.input_size}) or "
                f"({self.input_size},), got shape {x.shape}"
            )
        if not batched:
            x = F.expand_dims(x, 0)
        lstm = self.mode == "LSTM"
        if hx is None:
            zeros = Tensor(np.zeros((x.shape[0], self.hidden_size)), dtype=x.dtype)
            hx = (zeros, zeros) if lstm else zeros
        elif not batched:
            hx = tuple(F.expand_dims(h, 0) for h in hx) if lstm else F.expand_dims(hx, 0)
        gates_x = F.matmul(x, self.weight_ih, transpose_b=True)
        b_hh = None
        if self.has_bias:
            gates_x, b_hh = F.add(gates_x, self.bias_ih), self.bias_hh
        out = _cell_step(self.mode, self.hidden_size, gates_x, hx, self.weight_hh, b_hh)
        if batched:
            return out
        return tuple(F.squeeze(o, 0) for o in out) if lstm else F.squeeze(out, 0)


class RNNCell(_CellBase):
    """h' = tanh (or relu: `nonlinearity`)(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def __init__(self, input_size, hidden_size, has_bias=True, nonlinearity="tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"For 'RNNCell', nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, has_bias, dtype)


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n)."""

    def __init__(self, input_size, hidden_size, has_bias=True, dtype=None):
        super().__init__("GRU", input_size, hidden_size, has_bias, dtype)


class LSTMCell(_CellBase):
    """One LSTM step: (x, (h, c)) -> (h', c')."""

    def __init__(self, input_size, hidden_size, has_bias=True, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, has_bias, dtype)


def _reversal(times, lengths, steps):
    """(batch, steps, steps) one-hot matrices that reverse each sample's first `length` steps
    and keep the rest in place: row t picks step length - 1 - t while t < length."""
    source = F.select(F.less(times, lengths), F.sub(F.sub(lengths, 1.0), times), times)
    return F.one_hot(F.cast(F.transpose(source, (1, 0)), mstype.int32), steps, times.dtype)


def _reverse_time(sequence, reversal):
    """The (steps, batch, width) sequence backwards in time (each sample's valid prefix, with
    `reversal`)."""
    if reversal is None:
        return sequence[::-1]
    batched = F.transpose(sequence, (1, 0, 2))  # (batch, steps, width)
    return F.transpose(F.batch_matmul(reversal, batched), (1, 0, 2))


class RNN(_RNNBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (`nonlinearity` 'tanh' or 'relu')."""

    def __init__(self, *args, **kwargs):
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"For 'RNN', nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)


class GRU(_RNNBase):
    """Gates r, z, n: n = tanh(x W_in + b_in + r * (h W_hn + b_hn)), h' = n + z * (h - n)."""

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)


class LSTM(_RNNBase):
    """Gates i, f, g, o: c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c');
    returns (output, (h_n, c_n))."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]
