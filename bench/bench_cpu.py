"""CPU benchmarks: cellc's compiled gradients against numpy, PyTorch (eager) and JAX (jax.jit)
on the same workloads, in one run, reported as ratios.

    .venv/bin/python bench/bench_cpu.py     # torch, jax optional: pip install '.[bench]'

Workloads (float32):
  seed    the tutorial's GradNetWrtX: d/dx of matmul(x * z, y), x 2x3, y 3x3
  mlp     d loss / d weights of a 2-layer MLP (64x256 -> 256 relu -> 10, MSE), GradOperation
          get_by_list
  matmul  d/dx of sum(matmul(x, w)), 256x256

Large workloads (issue 14's compass; every library on all the cores it may use):
  matmul_grad_1024  d/dx of matmul(x * z, y) with a sensitivity, all 1024 x 1024
  mlp_grad_big      d/dW1, d/dW2 of relu(x @ W1) @ W2 with a sensitivity, 256 x 1024 x 1024 x 1024
  dense_flatten     nn.Dense(4096 -> 1024) after flattening a (256, 16, 16, 16) input, against
                    the same Dense on the (256, 4096) input (a layout slow path would show)
  sgemm 1024^3 and 2048^3, and single-threaded (CELLC_NUM_THREADS=1 against OpenBLAS limited to
  one thread, in a child process), with the practical peak (numpy's sgemm 2048^3) beside them.

Also: cold compile time of the seed gradient, and the time a new process takes to a result
from the disk cache. Timings are per call: the large workloads' best of 7 calls; the small
ones' median over rounds of a best of 3 batches, every library taking its turn in each round
(`alternating_us`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit

import numpy as np
from timing import in_turns

from cellc import Parameter, ParameterTuple, Tensor, nn, ops
from cellc.frontend.compiled import compiled_program


def per_call_us(fn, number=None) -> float:
    timer = timeit.Timer(fn)
    if number is None:
        number, _ = timer.autorange()
    runs = timer.repeat(repeat=7, number=number)
    return min(runs) / number * 1e6


def alternating_us(fns: dict, rounds: int = 9) -> dict[str, float]:
    """Each call's median, over `rounds`, of its best of 3 runs of a batch of calls (about
    0.2 s, timeit's autorange), in µs per call, the calls taking turns within each round
    (timing.in_turns): timed one after the other, the same code's ratio moved by 1.2x from
    run to run."""
    numbers = [timeit.Timer(fn).autorange()[0] for fn in fns.values()]
    seconds = in_turns(list(fns.values()), rounds, 3, numbers)
    return {name: t * 1e6 for name, t in zip(fns, seconds)}


# --- workloads as cellc cells -----------------------------------------------------------------


class SeedNet(nn.Cell):
    def __init__(self):
        super().__init__()
        self.matmul = ops.MatMul()
        self.z = Parameter(Tensor(np.array([1.0], np.float32)), name="z")

    def construct(self, x, y):
        return self.matmul(x * self.z, y)


class GradWrtX(nn.Cell):
    def __init__(self, net, sens_param=False):
        super().__init__()
        self.net = net
        self.grad_op = ops.GradOperation(sens_param=sens_param)

    def construct(self, *args):
        return self.grad_op(self.net)(*args)


class MLPLoss(nn.Cell):
    def __init__(self, w1, b1, w2, b2):
        super().__init__()
        self.w1 = Parameter(Tensor(w1), name="w1")
        self.b1 = Parameter(Tensor(b1), name="b1")
        self.w2 = Parameter(Tensor(w2), name="w2")
        self.b2 = Parameter(Tensor(b2), name="b2")
        self.matmul = ops.MatMul()
        self.relu = ops.ReLU()
        self.mean = ops.ReduceMean()

    def construct(self, x, label):
        h = self.relu(self.matmul(x, self.w1) + self.b1)
        out = self.matmul(h, self.w2) + self.b2
        diff = out - label
        return self.mean(diff * diff)


class GradWrtWeights(nn.Cell):
    def __init__(self, net, sens_param=False):
        super().__init__()
        self.net = net
        self.params = ParameterTuple(net.trainable_params())
        self.grad_op = ops.GradOperation(get_by_list=True, sens_param=sens_param)

    def construct(self, *args):
        return self.grad_op(self.net, self.params)(*args)


class SumMatMul(nn.Cell):
    def __init__(self, w):
        super().__init__()
        self.w = Parameter(Tensor(w), name="w")
        self.matmul = ops.MatMul()
        self.sum = ops.ReduceSum()

    def construct(self, x):
        return self.sum(self.matmul(x, self.w))


def cellc_entry(cell, *args):
    """The loaded runtime entry (what `cellc.runtime.load(...).NAME` gives)."""
    program = compiled_program(cell, args)
    program(args)  # syncs parameters
    return program.entry


def calling(entry, *args):
    """A call of `entry` with `args`, timed the same way for every compiled entry."""
    return lambda: entry(*args)


def dynamic_batch_entry(cell, *args, batched: int = 1):
    """The runtime entry of `cell` compiled once for any batch size (`set_inputs` with the
    first dimension of its first `batched` arguments None)."""
    cell.set_inputs(
        *(Tensor(shape=[None, *a.shape[1:]], dtype=a.dtype) for a in args[:batched]),
        *args[batched:],
    )
    return cellc_entry(cell, *args)


class TwoLayers(nn.Cell):
    def __init__(self, w1, w2):
        super().__init__()
        self.w1 = Parameter(Tensor(w1), name="w1")
        self.w2 = Parameter(Tensor(w2), name="w2")
        self.matmul = ops.MatMul()
        self.relu = ops.ReLU()

    def construct(self, x):
        return self.matmul(self.relu(self.matmul(x, self.w1)), self.w2)


class FlattenDense(nn.Cell):
    def __init__(self, dense):
        super().__init__()
        self.flatten = nn.Flatten()
        self.dense = dense

    def construct(self, x):
        return self.dense(self.flatten(x))


class MatMulCell(nn.Cell):
    def __init__(self):
        super().__init__()
        self.matmul = ops.MatMul()

    def construct(self, a, b):
        return self.matmul(a, b)


# --- the same workloads elsewhere -----------------------------------------------------------


def numpy_seed(x, y, z):
    return np.ones((2, 3), np.float32) @ y.T * z


def numpy_mlp(x, label, w1, b1, w2, b2):
    pre = x @ w1 + b1
    h = np.maximum(pre, 0)
    out = h @ w2 + b2
    d_out = 2 * (out - label) / out.size
    d_w2 = h.T @ d_out
    d_b2 = d_out.sum(0)
    d_h = d_out @ w2.T * (pre > 0)
    return x.T @ d_h, d_h.sum(0), d_w2, d_b2


def torch_workloads(data):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    t = {k: torch.tensor(v) for k, v in data.items()}

    def seed():
        x = t["x"].clone().requires_grad_(True)
        (x * t["z"]).matmul(t["y"]).backward(torch.ones(2, 3))
        return x.grad

    params = [t[k].clone().requires_grad_(True) for k in ("w1", "b1", "w2", "b2")]

    def mlp():
        for p in params:
            p.grad = None
        h = torch.relu(t["xb"] @ params[0] + params[1])
        loss = ((h @ params[2] + params[3] - t["label"]) ** 2).mean()
        loss.backward()
        return [p.grad for p in params]

    def matmul():
        x = t["xm"].clone().requires_grad_(True)
        (x @ t["wm"]).sum().backward()
        return x.grad

    return {"seed": seed, "mlp": mlp, "matmul": matmul}


def jax_workloads(data):
    import jax
    import jax.numpy as jnp

    d = {k: jnp.asarray(v) for k, v in data.items()}
    seed_grad = jax.jit(jax.grad(lambda x, y, z: jnp.sum(jnp.matmul(x * z, y))))

    def loss(params, x, label):
        w1, b1, w2, b2 = params
        h = jax.nn.relu(x @ w1 + b1)
        return jnp.mean((h @ w2 + b2 - label) ** 2)

    mlp_grad = jax.jit(jax.grad(loss))
    mm_grad = jax.jit(jax.grad(lambda x, w: jnp.sum(x @ w)))
    params = (d["w1"], d["b1"], d["w2"], d["b2"])
    return {
        "seed": lambda: seed_grad(d["x"], d["y"], d["z"]).block_until_ready(),
        "mlp": lambda: jax.block_until_ready(mlp_grad(params, d["xb"], d["label"])),
        "matmul": lambda: mm_grad(d["xm"], d["wm"]).block_until_ready(),
    }


def large_data():
    rng = np.random.default_rng(1)

    def normal(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {
        "x": normal(1024, 1024),
        "y": normal(1024, 1024),
        "s": normal(1024, 1024),
        "xb": normal(256, 1024),
        "w1": normal(1024, 1024, scale=0.03),
        "w2": normal(1024, 1024, scale=0.03),
        "sb": normal(256, 1024),
        "images": normal(256, 16, 16, 16),
        "a1": normal(1024, 1024),
        "b1": normal(1024, 1024),
        "a2": normal(2048, 2048),
        "b2": normal(2048, 2048),
    }


def numpy_large(d):
    def mlp():
        pre = d["xb"] @ d["w1"]
        d_h = (d["sb"] @ d["w2"].T) * (pre > 0)
        return d["xb"].T @ d_h, np.maximum(pre, 0).T @ d["sb"]

    return {
        "matmul_grad_1024": lambda: d["s"] @ d["y"].T,
        "mlp_grad_big": mlp,
        "sgemm_1024": lambda: d["a1"] @ d["b1"],
        "sgemm_2048": lambda: d["a2"] @ d["b2"],
    }


def cellc_large(d):
    dense = nn.Dense(4096, 1024)
    flat = d["images"].reshape(256, 4096)
    entries = {
        "matmul_grad_1024": (GradWrtX(SeedNet(), sens_param=True), (d["x"], d["y"], d["s"])),
        "mlp_grad_big": (
            GradWrtWeights(TwoLayers(d["w1"], d["w2"]), sens_param=True),
            (d["xb"], d["sb"]),
        ),
        "dense_flatten": (FlattenDense(dense), (d["images"],)),
        "dense_2d": (dense, (flat,)),
        "sgemm_1024": (MatMulCell(), (d["a1"], d["b1"])),
        "sgemm_2048": (MatMulCell(), (d["a2"], d["b2"])),
    }
    calls = {}
    for name, (cell, args) in entries.items():
        entry = cellc_entry(cell, *(Tensor(a) for a in args))
        calls[name] = lambda entry=entry, args=args: entry(*args)
    return calls


def check_large(calls, d) -> None:
    """cellc's results agree with numpy's. Run after timing cellc: OpenBLAS's threads keep
    polling for work for a while after each numpy matmul, taking a core from cellc's."""
    want = numpy_large(d)
    np.testing.assert_allclose(calls["matmul_grad_1024"](), want["matmul_grad_1024"](), atol=2e-2)
    for got, expected in zip(calls["mlp_grad_big"](), want["mlp_grad_big"]()):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=2e-2)
    np.testing.assert_allclose(calls["dense_flatten"](), calls["dense_2d"](), rtol=1e-6)


def torch_large(d, compiled: bool):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    t = {k: torch.tensor(v) for k, v in d.items()}

    def matmul_grad():
        x = t["x"].clone().requires_grad_(True)
        x.matmul(t["y"]).backward(t["s"])
        return x.grad

    w1 = t["w1"].clone().requires_grad_(True)
    w2 = t["w2"].clone().requires_grad_(True)

    def mlp_grad():
        w1.grad = w2.grad = None
        (torch.relu(t["xb"] @ w1) @ w2).backward(t["sb"])
        return w1.grad, w2.grad

    calls = {
        "matmul_grad_1024": matmul_grad,
        "mlp_grad_big": mlp_grad,
        "sgemm_1024": lambda: t["a1"] @ t["b1"],
        "sgemm_2048": lambda: t["a2"] @ t["b2"],
    }
    if compiled:
        calls = {name: torch.compile(fn) for name, fn in calls.items()}
    return calls


def jax_large(d):
    import jax
    import jax.numpy as jnp

    j = {k: jnp.asarray(v) for k, v in d.items()}
    matmul_grad = jax.jit(lambda x, y, s: jax.vjp(lambda x: x @ y, x)[1](s)[0])
    mlp_grad = jax.jit(lambda w, x, s: jax.vjp(lambda w: jax.nn.relu(x @ w[0]) @ w[1], w)[1](s)[0])
    sgemm = jax.jit(lambda a, b: a @ b)
    return {
        "matmul_grad_1024": lambda: matmul_grad(j["x"], j["y"], j["s"]).block_until_ready(),
        "mlp_grad_big": lambda: jax.block_until_ready(
            mlp_grad((j["w1"], j["w2"]), j["xb"], j["sb"])
        ),
        "sgemm_1024": lambda: sgemm(j["a1"], j["b1"]).block_until_ready(),
        "sgemm_2048": lambda: sgemm(j["a2"], j["b2"]).block_until_ready(),
    }


def best_ms(fn) -> float:
    fn()
    return min(timeit.repeat(fn, number=1, repeat=7)) * 1e3


def large_workloads() -> None:
    d = large_data()
    rows: dict[str, dict[str, float]] = {}
    calls = cellc_large(d)
    for name, fn in calls.items():
        rows.setdefault(name, {})["cellc"] = best_ms(fn)
    check_large(calls, d)
    # numpy, then the libraries whose threads keep polling longest after their calls
    others = {"numpy": lambda: numpy_large(d)}
    others["torch eager"] = lambda: torch_large(d, compiled=False)
    others["torch.compile"] = lambda: torch_large(d, compiled=True)
    others["jax.jit"] = lambda: jax_large(d)
    for library, make in others.items():
        try:
            calls = make()
        except ImportError:
            print(f"({library} not installed: pip install '.[bench]')")
            continue
        for name, fn in calls.items():
            rows[name][library] = best_ms(fn)
    flops = {"sgemm_1024": 2 * 1024**3, "sgemm_2048": 2 * 2048**3}
    flops["matmul_grad_1024"] = flops["sgemm_1024"]
    flops["mlp_grad_big"] = 4 * 2 * 256 * 1024 * 1024
    print(f"large workloads, best of 7, {os.cpu_count()} threads each (ratio: theirs / cellc's)")
    print("  (timed first, in a process where no other library has run: see check_large)")
    for name, times in rows.items():
        line = f"  {name:<17} cellc {times['cellc']:8.2f} ms"
        if name in flops:
            line += f" ({flops[name] / times['cellc'] / 1e6:5.0f} GFLOP/s)"
        ratios = [
            f"{lib} {t:.2f} ms ({t / times['cellc']:.2f}x)"
            for lib, t in times.items()
            if lib != "cellc"
        ]
        print(line + ("   " + ", ".join(ratios) if ratios else ""))
    peak = flops["sgemm_2048"] / rows["sgemm_2048"]["numpy"] / 1e6
    print(f"  practical peak (numpy sgemm 2048^3): {peak:.0f} GFLOP/s")
    single = subprocess.run(
        [sys.executable, __file__, "--single-threaded-sgemm"],
        env={**os.environ, "CELLC_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        check=True,
        capture_output=True,
        text=True,
    )
    print(single.stdout, end="")


def single_threaded_sgemm() -> None:
    d = large_data()
    calls, reference = cellc_large(d), numpy_large(d)
    for name in ("sgemm_1024", "sgemm_2048"):
        ours = best_ms(calls[name])
        theirs = best_ms(reference[name])
        print(
            f"  {name} on one thread: cellc {ours:.1f} ms, OpenBLAS {theirs:.1f} ms "
            f"(cellc at {theirs / ours:.0%} of OpenBLAS's speed)"
        )


# --- compile times --------------------------------------------------------------------------


def cold_compile_seconds(data) -> float:

    with tempfile.TemporaryDirectory() as cache:
        os.environ["CELLC_CACHE_DIR"] = cache
        started = time.perf_counter()
        cellc_entry(GradWrtX(SeedNet()), Tensor(data["x"]), Tensor(data["y"]))
        return time.perf_counter() - started


def cached_new_process_seconds() -> tuple[float, float]:
    """(whole new process to a printed result, the part after imports) with a warm disk cache."""
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        started = time.perf_counter()
        from bench_cpu import GradWrtX, SeedNet, Tensor
        import numpy as np
        imported = time.perf_counter()
        x = Tensor(np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32))
        y = Tensor(np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32))
        GradWrtX(SeedNet())(x, y)
        print(time.perf_counter() - imported)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)  # warm
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    return time.perf_counter() - started, float(result.stdout.decode().split()[-1])


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    rng = np.random.default_rng(0)
    data = {
        "x": np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32),
        "y": np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32),
        "z": np.array([1.0], np.float32),
        "xb": rng.standard_normal((64, 256)).astype(np.float32),
        "label": rng.standard_normal((64, 10)).astype(np.float32),
        "w1": (rng.standard_normal((256, 256)) * 0.05).astype(np.float32),
        "b1": np.zeros(256, np.float32),
        "w2": (rng.standard_normal((256, 10)) * 0.05).astype(np.float32),
        "b2": np.zeros(10, np.float32),
        "xm": rng.standard_normal((256, 256)).astype(np.float32),
        "wm": rng.standard_normal((256, 256)).astype(np.float32),
    }
    cold = cold_compile_seconds(data)

    seed_entry = cellc_entry(GradWrtX(SeedNet()), Tensor(data["x"]), Tensor(data["y"]))
    mlp_entry = cellc_entry(
        GradWrtWeights(MLPLoss(data["w1"], data["b1"], data["w2"], data["b2"])),
        Tensor(data["xb"]),
        Tensor(data["label"]),
    )
    mm_entry = cellc_entry(GradWrtX(SumMatMul(data["wm"])), Tensor(data["xm"]))

    # the compiled results agree with numpy before anything is timed
    np.testing.assert_allclose(
        seed_entry(data["x"], data["y"]), numpy_seed(data["x"], data["y"], data["z"]), rtol=1e-5
    )
    expected = numpy_mlp(data["xb"], data["label"], data["w1"], data["b1"], data["w2"], data["b2"])
    for got, want in zip(mlp_entry(data["xb"], data["label"]), expected):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)

    rows = {
        "seed": {
            "cellc": calling(seed_entry, data["x"], data["y"]),
            "numpy": lambda: numpy_seed(data["x"], data["y"], data["z"]),
        },
        "mlp": {
            "cellc": calling(mlp_entry, data["xb"], data["label"]),
            "numpy": lambda: numpy_mlp(
                data["xb"], data["label"], data["w1"], data["b1"], data["w2"], data["b2"]
            ),
        },
        "matmul": {
            "cellc": calling(mm_entry, data["xm"]),
            "numpy": lambda: np.ones((256, 256), np.float32) @ data["wm"].T,
        },
    }
    dynamic = {
        "seed": dynamic_batch_entry(GradWrtX(SeedNet()), Tensor(data["x"]), Tensor(data["y"])),
        "mlp": dynamic_batch_entry(
            GradWrtWeights(MLPLoss(data["w1"], data["b1"], data["w2"], data["b2"])),
            Tensor(data["xb"]),
            Tensor(data["label"]),
            batched=2,
        ),
        "matmul": dynamic_batch_entry(GradWrtX(SumMatMul(data["wm"])), Tensor(data["xm"])),
    }
    arguments = {"seed": ("x", "y"), "mlp": ("xb", "label"), "matmul": ("xm",)}
    for name, entry in dynamic.items():
        args = [data[key] for key in arguments[name]]
        for got, want in zip(entry(*args), rows[name]["cellc"]()):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        rows[name]["cellc dynamic batch"] = calling(entry, *args)
    for name, loader in (("torch eager", torch_workloads), ("jax.jit", jax_workloads)):
        try:
            workloads = loader(data)
        except ImportError:
            print(f"({name} not installed: pip install '.[bench]')")
            continue
        for workload, fn in workloads.items():
            fn()
            rows[workload][name] = fn

    print(f"cold compile of the seed gradient: {cold * 1e3:.0f} ms")
    whole, after_imports = cached_new_process_seconds()
    print(
        f"new process, disk-cached seed gradient: {whole * 1e3:.0f} ms in all, "
        f"{after_imports * 1e3:.1f} ms after imports"
    )
    seed_cell = GradWrtX(SeedNet())
    x, y = Tensor(data["x"]), Tensor(data["y"])
    seed_cell(x, y)
    through_cell = per_call_us(lambda: seed_cell(x, y))
    print(
        f"seed gradient through the Cell: {through_cell:.1f} µs "
        f"(the runtime entry: {per_call_us(rows['seed']['cellc']):.1f} µs, "
        f"numpy by hand: {per_call_us(rows['seed']['numpy']):.1f} µs)"
    )
    print()
    print(
        "| workload | "
        + " | ".join(f"{k} (µs)" for k in next(iter(rows.values())))
        + " | ratios (other / cellc) |"
    )
    for workload, fns in rows.items():
        times = alternating_us(fns)
        ratios = ", ".join(
            f"{name} {t / times['cellc']:.2f}x" for name, t in times.items() if name != "cellc"
        )
        print(
            f"| {workload} | " + " | ".join(f"{t:.1f}" for t in times.values()) + f" | {ratios} |"
        )


if __name__ == "__main__":
    if "--single-threaded-sgemm" in sys.argv:
        single_threaded_sgemm()
    else:
        large_workloads()  # first: before any other library's threads are started
        print()
        main()
