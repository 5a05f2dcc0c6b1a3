"""Training-step benchmarks: cellc's compiled TrainOneStepCell (forward, backward and the
optimizer update in one native call) against PyTorch eager, torch.compile and jax.jit doing the
same step, in one run, reported as ratios (time / cellc's time: above 1, cellc is faster).

    .venv/bin/python bench/bench_train.py          # torch, jax optional: pip install '.[bench]'

Workloads (float32, SGD with momentum 0.9):
  mlp     64 x 784 -> 512 relu -> 10, softmax cross-entropy
  lenet   LeNet-5 on 32 x 1 x 32 x 32 (MindSpore's tutorial network), softmax cross-entropy
  resnet  a ResNet basic block (conv3x3-BN-ReLU-conv3x3-BN + identity, ReLU) on 8 x 64 x 16 x 16,
          forward and backward to every weight, mean-squared loss (BatchNorm in training mode)
  encoder 32 sequences of 32 tokens: Embedding(1000, 64), a TransformerEncoderLayer (4 heads,
          feed-forward 128), the mean over the sequence, Dense -> 10, softmax cross-entropy
          (no JAX version)

Each figure is the median, over rounds, of a step's fastest of a few calls after warm-up
(first-call compilation excluded), every library's step taking its turn in each round
(`alternating_ms`): this machine's speed drifts by up to 2x within minutes, and steps timed one
after the other gave ratios that moved by 1.5x from run to run. Beside it, each library's first
call (its compile: cellc's into an empty disk cache, the trace and compile of torch.compile and
jax.jit). cellc's step compiled for a dynamic batch (`set_inputs` with a None batch) is timed
too, as a ratio to its static code (> 1: slower), with its first call and that of another batch
size (half the batch: no compile).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import time

import numpy as np
from timing import in_turns

import cellc
from cellc import Tensor, nn


def first_call_s(step) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def alternating_ms(steps, rounds: int = 10, per_round: int = 5) -> list[float]:
    """Each step's median, over `rounds`, of its fastest of `per_round` calls, in ms, the steps
    taking turns within each round (timing.in_turns), after three calls each to warm up."""
    for step in steps:
        for _ in range(3):
            step()
    return [seconds * 1e3 for seconds in in_turns(steps, rounds, per_round)]


# --- the networks, in cellc -----------------------------------------------------------------


class MLP(nn.Cell):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Dense(784, 512)
        self.fc2 = nn.Dense(512, 10)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class LeNet5(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, pad_mode="valid")
        self.conv2 = nn.Conv2d(6, 16, 5, pad_mode="valid")
        self.fc1 = nn.Dense(16 * 5 * 5, 120)
        self.fc2 = nn.Dense(120, 84)
        self.fc3 = nn.Dense(84, 10)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()

    def construct(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.flatten(x)
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))


class BasicBlock(nn.Cell):
    def __init__(self, channels=64):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, pad_mode="same")
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, pad_mode="same")
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def construct(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class Encoder(nn.Cell):
    """A small sequence classifier: token embeddings, one transformer encoder layer (4 heads),
    the mean over the sequence, a Dense."""

    def __init__(self, vocab=1000, width=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab, width)
        self.encoder = nn.TransformerEncoderLayer(
            width, 4, 2 * width, dropout=0.0, batch_first=True
        )
        self.head = nn.Dense(width, 10)

    def construct(self, ids):
        return self.head(self.encoder(self.embedding(ids)).mean(axis=1))


def cellc_step(network, loss_fn, x, y, dynamic_batch=False):
    """The training step; `dynamic_batch`: compiled once for every batch size (`set_inputs`
    with a None batch), and the step takes `(x, y)` as its arguments, defaulting to these."""
    network.set_train()
    optimizer = nn.Momentum(network.trainable_params(), learning_rate=0.01, momentum=0.9)
    step = nn.TrainOneStepCell(nn.WithLossCell(network, loss_fn), optimizer)
    if dynamic_batch:
        step.set_inputs(
            *(Tensor(shape=[None, *a.shape[1:]], dtype=Tensor(a).dtype) for a in (x, y))
        )
    tx, ty = Tensor(x), Tensor(y)
    return lambda bx=tx, by=ty: step(bx, by)


# --- the same steps in PyTorch and JAX --------------------------------------------------------


def torch_steps(name, x, y):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    tnn = torch.nn
    if name == "mlp":
        model = tnn.Sequential(tnn.Linear(784, 512), tnn.ReLU(), tnn.Linear(512, 10))
        loss_fn = tnn.CrossEntropyLoss()
    elif name == "lenet":
        model = tnn.Sequential(
            tnn.Conv2d(1, 6, 5), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10),
        )  # fmt: skip
        loss_fn = tnn.CrossEntropyLoss()
    elif name == "encoder":

        class Encoder(tnn.Module):
            def __init__(self, vocab=1000, width=64):
                super().__init__()
                self.embedding = tnn.Embedding(vocab, width)
                self.encoder = tnn.TransformerEncoderLayer(
                    width, 4, 2 * width, dropout=0.0, batch_first=True
                )
                self.head = tnn.Linear(width, 10)

            def forward(self, ids):
                return self.head(self.encoder(self.embedding(ids)).mean(dim=1))

        model = Encoder()
        loss_fn = tnn.CrossEntropyLoss()
    else:

        class Block(tnn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = tnn.Conv2d(64, 64, 3, padding=1, bias=False)
                self.bn1 = tnn.BatchNorm2d(64)
                self.conv2 = tnn.Conv2d(64, 64, 3, padding=1, bias=False)
                self.bn2 = tnn.BatchNorm2d(64)

            def forward(self, x):
                out = torch.relu(self.bn1(self.conv1(x)))
                return torch.relu(self.bn2(self.conv2(out)) + x)

        model = Block()
        loss_fn = tnn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    tx = torch.from_numpy(x.astype(np.int64) if x.dtype == np.int32 else x)
    ty = torch.from_numpy(y.astype(np.int64) if y.dtype == np.int32 else y)

    def step(forward):
        def run():
            optimizer.zero_grad()
            loss = loss_fn(forward(tx), ty)
            loss.backward()
            optimizer.step()
            return loss

        return run

    steps = {"torch eager": step(model)}
    try:
        steps["torch.compile"] = step(torch.compile(model))
    except Exception as error:  # noqa: BLE001 (report any compiler failure, keep benchmarking)
        print(f"  torch.compile unavailable: {type(error).__name__}: {str(error)[:80]}")
        steps.pop("torch.compile")
    return steps


def jax_step(name, x, y):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)

    def dense(n_in, n_out):
        return [
            rng.normal(0, n_in**-0.5, (n_in, n_out)).astype(np.float32),
            np.zeros(n_out, np.float32),
        ]

    def conv(c_in, c_out, k):
        return rng.normal(0, (c_in * k * k) ** -0.5, (c_out, c_in, k, k)).astype(np.float32)

    def conv2d(x, w, padding):
        return jax.lax.conv_general_dilated(x, w, (1, 1), padding)

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def cross_entropy(logits, labels):
        log_p = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))

    def batch_norm(x):
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        var = x.var(axis=(0, 2, 3), keepdims=True)
        return (x - mean) / jnp.sqrt(var + 1e-5)

    if name == "mlp":
        params = [*dense(784, 512), *dense(512, 10)]

        def loss(p, x, y):
            h = jax.nn.relu(x @ p[0] + p[1])
            return cross_entropy(h @ p[2] + p[3], y)

    elif name == "lenet":
        params = [conv(1, 6, 5), conv(6, 16, 5), *dense(400, 120), *dense(120, 84), *dense(84, 10)]

        def loss(p, x, y):
            h = pool(jax.nn.relu(conv2d(x, p[0], "VALID")))
            h = pool(jax.nn.relu(conv2d(h, p[1], "VALID"))).reshape(x.shape[0], -1)
            h = jax.nn.relu(h @ p[2] + p[3])
            h = jax.nn.relu(h @ p[4] + p[5])
            return cross_entropy(h @ p[6] + p[7], y)

    else:
        params = [conv(64, 64, 3), conv(64, 64, 3)]

        def loss(p, x, y):
            out = jax.nn.relu(batch_norm(conv2d(x, p[0], "SAME")))
            out = jax.nn.relu(batch_norm(conv2d(out, p[1], "SAME")) + x)
            return jnp.mean((out - y) ** 2)

    @jax.jit
    def train_step(p, m, x, y):
        value, grads = jax.value_and_grad(loss)(p, x, y)
        m = [0.9 * mi + g for mi, g in zip(m, grads)]
        p = [pi - 0.01 * mi for pi, mi in zip(p, m)]
        return p, m, value

    state = {"p": [jnp.asarray(v) for v in params]}
    state["m"] = [jnp.zeros_like(v) for v in state["p"]]
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    def run():
        state["p"], state["m"], value = train_step(state["p"], state["m"], jx, jy)
        return value.block_until_ready()

    return run


def main():
    # an empty disk cache, so that cellc's first calls compile whatever earlier runs left there
    cache = tempfile.mkdtemp(prefix="cellc-bench-")
    atexit.register(shutil.rmtree, cache, ignore_errors=True)
    os.environ["CELLC_CACHE_DIR"] = cache
    cellc.set_seed(0)
    rng = np.random.default_rng(0)
    workloads = {
        "mlp": (
            MLP(),
            nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
            rng.normal(size=(64, 784)).astype(np.float32),
            rng.integers(0, 10, 64).astype(np.int32),
        ),
        "lenet": (
            LeNet5(),
            nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
            rng.normal(size=(32, 1, 32, 32)).astype(np.float32),
            rng.integers(0, 10, 32).astype(np.int32),
        ),
        "resnet": (
            BasicBlock(),
            nn.MSELoss(),
            rng.normal(size=(8, 64, 16, 16)).astype(np.float32),
            rng.normal(size=(8, 64, 16, 16)).astype(np.float32),
        ),
        "encoder": (  # 32 sequences of 32 tokens
            Encoder(),
            nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
            rng.integers(0, 1000, (32, 32)).astype(np.int32),
            rng.integers(0, 10, 32).astype(np.int32),
        ),
    }
    print("per training step, median ms (ratio: their time / cellc's; > 1: cellc is faster)")
    print(
        f"every library may use all {os.cpu_count()} cores (cellc: CELLC_NUM_THREADS, default "
        "the cores this process may use; torch: set_num_threads; jax: XLA's CPU runtime)"
    )
    for name, (network, loss_fn, x, y) in workloads.items():
        step = cellc_step(network, loss_fn, x, y)
        first = {"cellc": first_call_s(step)}
        dynamic = cellc_step(type(network)(), loss_fn, x, y, dynamic_batch=True)
        first["dynamic"] = first_call_s(dynamic)
        smaller = Tensor(x[: len(x) // 2]), Tensor(y[: len(y) // 2])
        other_batch = first_call_s(functools.partial(dynamic, *smaller))
        others = {}
        try:
            others.update(torch_steps(name, x, y))
        except ImportError:
            print("  torch not installed")
        try:
            if name != "encoder":  # (no transformer written in JAX here)
                others["jax.jit"] = jax_step(name, x, y)
        except ImportError:
            print("  jax not installed")
        for label, other in list(others.items()):
            try:
                first[label] = first_call_s(other)  # torch.compile and jax.jit compile here
            except Exception as error:  # noqa: BLE001 (report a compiler failure, go on)
                print(f"        {label:<14} failed: {type(error).__name__}: {str(error)[:80]}")
                del others[label]
        # every step timed in turns with the others (alternating_ms)
        cellc_ms, dynamic_ms, *other_ms = alternating_ms([step, dynamic, *others.values()])
        print(f"{name:<7} cellc {cellc_ms:8.2f} ms{'':15}first call {first['cellc']:6.2f} s")
        print(
            f"        cellc, dynamic batch {dynamic_ms:8.2f} ms  ratio {dynamic_ms / cellc_ms:5.2f}"
            f" (its time / the static code's)  first call {first['dynamic']:6.2f} s, then batch"
            f" {len(x) // 2}: {other_batch * 1e3:.1f} ms"
        )
        for label, ms in zip(others, other_ms):
            print(
                f"        {label:<14} {ms:8.2f} ms  ratio {ms / cellc_ms:5.2f}"
                f"  first call {first[label]:6.2f} s"
            )


if __name__ == "__main__":
    main()
