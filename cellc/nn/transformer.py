"""Attention and Transformer layers, as MindSpore's (which follow PyTorch's):
MultiheadAttention, TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
TransformerDecoder.

Masks follow MindSpore's rule: a bool `attn_mask` or `key_padding_mask` is True where attention
is not allowed (the score becomes -inf), a float one is added to the scores. Sequences are
(L, N, E), or (N, L, E) with `batch_first`; an unbatched (L, E) input works too.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from cellc import dtype as mstype
from cellc import ops
from cellc.initializer import XavierUniform, initializer
from cellc.parameter import Parameter

from .cell import Cell, CellList
from .dropout import Dropout
from .layers import Dense
from .normalization import LayerNorm

F = ops.functional


class MultiheadAttention(Cell):
    """softmax(Q K^T / sqrt(head_dim) + mask) V per head, the heads concatenated and projected:
    returns (attn_output, attn_output_weights), the weights averaged over the heads unless
    `average_attn_weights` is False; only (attn_output,) when need_weights is False."""

    def __init__(
        self,
        embed_dim,
        num_heads,
        dropout=0.0,
        has_bias=True,
        add_bias_kv=False,
        add_zero_attn=False,
        kdim=None,
        vdim=None,
        batch_first=False,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(embed_dim, int) or not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(
                f"For 'MultiheadAttention', embed_dim and num_heads must be positive ints, got "
                f"{embed_dim!r} and {num_heads!r}"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"For 'MultiheadAttention', embed_dim {embed_dim} must be divisible by num_heads "
                f"{num_heads}"
            )
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError(
                "nn.MultiheadAttention: add_bias_kv and add_zero_attn are not supported"
            )
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.attention_dropout = Dropout(p=self.dropout)
        self._same_dims = self.kdim == embed_dim and self.vdim == embed_dim
        if self._same_dims:
            self.in_proj_weight = Parameter(_xavier((3 * embed_dim, embed_dim)), "in_proj_weight")
        else:
            self.q_proj_weight = Parameter(_xavier((embed_dim, embed_dim)), "q_proj_weight")
            self.k_proj_weight = Parameter(_xavier((embed_dim, self.kdim)), "k_proj_weight")
            self.v_proj_weight = Parameter(_xavier((embed_dim, self.vdim)), "v_proj_weight")
        self.has_bias = has_bias
        if has_bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, np.float32), "in_proj_bias")
        self.out_proj = Dense(embed_dim, embed_dim, has_bias=has_bias)
        if has_bias:
            self.out_proj.bias.set_data(np.zeros(embed_dim, np.float32))

    def construct(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
    ):
        batched = query.ndim == 3
        if not batched:
            query, key, value = (F.expand_dims(x, 1) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = F.expand_dims(key_padding_mask, 0)
        elif self.batch_first:
            query, key, value = (F.transpose(x, (1, 0, 2)) for x in (query, key, value))
        target, batch, _ = query.shape
        source = key.shape[0]
        heads, head_dim = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        # (L, N, E) -> (N * heads, L, head_dim)
        q, k, v = (
            F.transpose(F.reshape(x, (x.shape[0], batch * heads, head_dim)), (1, 0, 2))
            for x in (q, k, v)
        )
        scores = F.batch_matmul(F.mul(q, 1 / math.sqrt(head_dim)), k, transpose_b=True)
        scores = F.reshape(scores, (batch, heads, target, source))
        if attn_mask is not None:
            mask = attn_mask
            if mask.ndim == 3:  # (N * heads, L, S)
                mask = F.reshape(mask, (batch, heads, target, source))
            scores = _masked(scores, mask)
        if key_padding_mask is not None:
            scores = _masked(scores, F.reshape(key_padding_mask, (batch, 1, 1, source)))
        weights = F.softmax(scores, -1)
        attended = self.attention_dropout(weights)
        out = F.batch_matmul(F.reshape(attended, (batch * heads, target, source)), v)
        out = F.reshape(F.transpose(out, (1, 0, 2)), (target * batch, self.embed_dim))
        out = F.reshape(self.out_proj(out), (target, batch, self.embed_dim))
        if not batched:
            out = F.squeeze(out, 1)
        elif self.batch_first:
            out = F.transpose(out, (1, 0, 2))
        if not need_weights:
            return (out,)
        if average_attn_weights:
            weights = F.reduce_mean(weights, 1)
        return out, (weights if batched else F.squeeze(weights, 0))

    def _project(self, query, key, value):
        """query, key and value times their input projections (and biases), (L, N, E)."""
        if self._same_dims:
            w_q, w_k, w_v = F.split(self.in_proj_weight, 0, [self.embed_dim] * 3)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        biases = (
            F.split(self.in_proj_bias, 0, [self.embed_dim] * 3) if self.has_bias else (None,) * 3
        )
        projected = []
        for x, w, b in zip((query, key, value), (w_q, w_k, w_v), biases):
            flat = F.reshape(x, (x.shape[0] * x.shape[1], x.shape[2]))
            y = F.matmul(flat, w, transpose_b=True)
            if b is not None:
                y = F.add(y, b)
            projected.append(F.reshape(y, (x.shape[0], x.shape[1], self.embed_dim)))
        return projected


def _xavier(shape):
    return initializer(XavierUniform(), shape, mstype.float32).asnumpy()


def _masked(scores, mask):
    """scores with -inf where a bool mask is True, or plus a float mask."""
    mask = F.as_tensor(mask)
    if mask.dtype is mstype.bool_:
        return F.select(mask, float("-inf"), scores)
    return F.add(scores, mask)


def _activation(activation):
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):
            raise ValueError(
                f"The argument 'activation' must be 'relu' or 'gelu', got {activation!r}"
            )
        return F.relu if activation == "relu" else ops.gelu
    if callable(activation):
        return activation
    raise ValueError(
        f"The argument 'activation' must be str, callable or Cell instance, but get {activation}."
    )


class TransformerEncoderLayer(Cell):
    """Self-attention then a feed-forward block (dense, activation, dense), each with dropout,
    a residual and a LayerNorm (after it, or before it with `norm_first`)."""

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        dropout=0.1,
        activation="relu",
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        dtype=None,
    ):
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first
        )
        self.dense1 = Dense(d_model, dim_feedforward)
        self.dense2 = Dense(dim_feedforward, d_model)
        self.dropout = Dropout(p=dropout)
        self.dropout1 = Dropout(p=dropout)
        self.dropout2 = Dropout(p=dropout)
        self.norm1 = LayerNorm((d_model,), epsilon=layer_norm_eps)
        self.norm2 = LayerNorm((d_model,), epsilon=layer_norm_eps)
        self.activation = _activation(activation)
        self.norm_first = norm_first

    def construct(self, src, src_mask=None, src_key_padding_mask=None):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask):
        return self.dropout1(self.self_attn(x, x, x, key_padding_mask, False, attn_mask)[0])

    def _ff_block(self, x):
        return self.dropout2(self.dense2(self.dropout(self.activation(self.dense1(x)))))


class TransformerDecoderLayer(TransformerEncoderLayer):
    """Self-attention, attention over the encoder's `memory`, then a feed-forward block; each
    with dropout, a residual and a LayerNorm (after, or before with `norm_first`)."""

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        dropout=0.1,
        activation="relu",
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        dtype=None,
    ):
        super().__init__(
            d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
            norm_first,
        )  # fmt: skip
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first
        )
        self.dropout3 = Dropout(p=dropout)
        self.norm3 = LayerNorm((d_model,), epsilon=layer_norm_eps)

    def construct(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
    ):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask))
        return self.norm3(x + self._ff_block(x))

    def _mha_block(self, x, memory, attn_mask, key_padding_mask):
        out = self.multihead_attn(x, memory, memory, key_padding_mask, False, attn_mask)[0]
        return self.dropout2(out)

    def _ff_block(self, x):
        return self.dropout3(self.dense2(self.dropout(self.activation(self.dense1(x)))))


class TransformerEncoder(Cell):
    """`num_layers` copies of `encoder_layer` (each with weights of its own), then `norm`."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = CellList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def construct(self, src, src_mask=None, src_key_padding_mask=None):
        output = src
        for layer in self.layers:
            output = layer(output, src_mask, src_key_padding_mask)
        return self.norm(output) if self.norm is not None else output


class TransformerDecoder(Cell):
    """`num_layers` copies of `decoder_layer`, then `norm`."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = CellList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def construct(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
    ):
        output = tgt
        for layer in self.layers:
            output = layer(
                output, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask
            )
        return self.norm(output) if self.norm is not None else output


__all__ = [
    "MultiheadAttention",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]
