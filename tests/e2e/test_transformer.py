"""nn.MultiheadAttention and the Transformer layers: values against a numpy implementation of
scaled dot-product attention with MindSpore's mask rules (bool True = not attended, float =
added), using the layers' own weights; gradients against float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from support.cells import GradAll, Lambda
from support.finite_differences import numeric_vjp

from cellc import Parameter, Tensor, nn

RNG = np.random.default_rng(5)
E, HEADS, L, S, N = 8, 2, 4, 5, 3


def _weights(mha):
    w = mha.in_proj_weight.asnumpy().astype(np.float64)
    b = mha.in_proj_bias.asnumpy().astype(np.float64)
    return (
        np.split(w, 3),
        np.split(b, 3),
        mha.out_proj.weight.asnumpy(),
        mha.out_proj.bias.asnumpy(),
    )


def _single(mask):
    return mask if mask.dtype == bool else mask.astype(np.float32)


def attention(mha, q, k, v, attn_mask=None, key_padding_mask=None):
    """(L, N, E) inputs -> (output (L, N, E), weights averaged over heads (N, L, S))."""
    (wq, wk, wv), (bq, bk, bv), wo, bo = _weights(mha)
    dh = E // HEADS
    qp, kp, vp = q @ wq.T + bq, k @ wk.T + bk, v @ wv.T + bv
    out = np.zeros((q.shape[0], q.shape[1], E))
    weights = np.zeros((q.shape[1], HEADS, q.shape[0], k.shape[0]))
    for n in range(q.shape[1]):
        for h in range(HEADS):
            cols = slice(h * dh, (h + 1) * dh)
            scores = qp[:, n, cols] @ kp[:, n, cols].T / np.sqrt(dh)
            if attn_mask is not None and attn_mask.dtype == bool:
                scores = np.where(attn_mask, -np.inf, scores)
            elif attn_mask is not None:
                scores = scores + attn_mask
            if key_padding_mask is not None:
                scores = np.where(key_padding_mask[n][None, :], -np.inf, scores)
            p = np.exp(scores - scores.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            weights[n, h] = p
            out[:, n, cols] = p @ vp[:, n, cols]
    return out @ wo.T + bo, weights.mean(1)


@pytest.mark.parametrize("masks", ["none", "bool", "float-and-padding"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_follows_the_equations(masks, batch_first):
    mha = nn.MultiheadAttention(E, HEADS, batch_first=batch_first)
    mha.in_proj_bias.set_data(RNG.uniform(-0.5, 0.5, 3 * E).astype(np.float32))
    q, k, v = (RNG.uniform(-1, 1, (n, N, E)) for n in (L, S, S))
    attn_mask = padding = None
    if masks == "bool":
        attn_mask = np.triu(np.ones((L, S), bool), 1)
    elif masks == "float-and-padding":
        attn_mask = RNG.uniform(-1, 1, (L, S))
        padding = np.zeros((N, S), bool)
        padding[1, 3:] = True
    want_out, want_weights = attention(mha, q, k, v, attn_mask, padding)
    args = [np.swapaxes(x, 0, 1) if batch_first else x for x in (q, k, v)]
    out, weights = mha(
        *(Tensor(a.astype(np.float32)) for a in args),
        key_padding_mask=None if padding is None else Tensor(padding),
        attn_mask=None if attn_mask is None else Tensor(_single(attn_mask)),
    )
    if batch_first:
        want_out = np.swapaxes(want_out, 0, 1)
    np.testing.assert_allclose(out.asnumpy(), want_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights.asnumpy(), want_weights, rtol=1e-5, atol=1e-6)


def test_unbatched_attention_and_need_weights_false():
    mha = nn.MultiheadAttention(E, HEADS)
    x = RNG.uniform(-1, 1, (L, E))
    (out,) = mha(*(Tensor(x.astype(np.float32)),) * 3, need_weights=False)
    assert out.shape == (L, E)
    want, _ = attention(mha, x[:, None], x[:, None], x[:, None])
    np.testing.assert_allclose(out.asnumpy(), want[:, 0], rtol=1e-5, atol=1e-6)


def _layer_norm(x, eps=1e-5):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_composes_attention_and_feed_forward(norm_first):
    layer = nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, norm_first=norm_first)
    x = RNG.uniform(-1, 1, (L, N, E))
    w1, b1 = layer.dense1.weight.asnumpy(), layer.dense1.bias.asnumpy()
    w2, b2 = layer.dense2.weight.asnumpy(), layer.dense2.bias.asnumpy()

    def ff(h):
        return np.maximum(h @ w1.T + b1, 0) @ w2.T + b2

    def sa(h):
        return attention(layer.self_attn, h, h, h)[0]

    if norm_first:
        h = x + sa(_layer_norm(x))
        want = h + ff(_layer_norm(h))
    else:
        h = _layer_norm(x + sa(x))
        want = _layer_norm(h + ff(h))
    got = layer(Tensor(x.astype(np.float32))).asnumpy()
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_encoder_and_decoder_stacks_have_weights_of_their_own():
    encoder = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(E, HEADS, 16, 0.0), 2, nn.LayerNorm((E,))
    )
    decoder = nn.TransformerDecoder(
        nn.TransformerDecoderLayer(E, HEADS, 16, 0.0, batch_first=True), 2
    )
    names = [p.name for p in encoder.trainable_params()]
    assert len(names) == len(set(names)) == 2 * 12 + 2
    assert "layers.1.self_attn.in_proj_weight" in names
    memory = encoder(Tensor(RNG.uniform(-1, 1, (S, N, E)).astype(np.float32)))
    out = decoder(
        Tensor(RNG.uniform(-1, 1, (N, L, E)).astype(np.float32)),
        memory.swapaxes(0, 1),
        tgt_mask=Tensor(np.triu(np.ones((L, L), bool), 1)),
    )
    assert out.shape == (N, L, E) and np.isfinite(out.asnumpy()).all()


def test_attention_gradient_matches_finite_differences():
    mha = nn.MultiheadAttention(E, HEADS)
    for parameter in mha.trainable_params():
        path, _, attribute = parameter.name.rpartition(".")
        owner = mha.out_proj if path == "out_proj" else mha
        setattr(owner, attribute, Parameter(parameter.asnumpy().astype(np.float64), attribute))
    mask = Tensor(np.triu(np.ones((L, S), bool), 2))
    forward = Lambda(lambda q, kv: mha(q, kv, kv, attn_mask=mask)[0])
    q, kv = RNG.uniform(-1, 1, (L, 2, E)), RNG.uniform(-1, 1, (S, 2, E))
    sens = RNG.uniform(-1, 1, (L, 2, E))
    got = GradAll(forward)(Tensor(q), Tensor(kv), Tensor(sens))
    for g, w in zip(got, numeric_vjp(forward, [q, kv], sens), strict=True):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-6, atol=1e-8)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="embed_dim 10 must be divisible by num_heads 3"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nn.MultiheadAttention(8, 2, add_bias_kv=True)
