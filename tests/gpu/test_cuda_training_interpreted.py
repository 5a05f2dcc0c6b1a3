"""The CUDA loader runs training steps as the CPU backend does, checked without a GPU.

`cellc.runtime.cuda.load` is given a stand-in for its device layer (`CudaEntry`) that executes
the launch plan with the numpy SIMT interpreter (kernel_interpreter.py) on the kernels of the
same compile: everything else is the loader's own code. A training step with Dropout and
Momentum then runs three times; the parameters it writes back, momentum included, and the
losses equal the CPU target's, whose masks come from an equally seeded generator."""

from __future__ import annotations

import numpy as np
from kernel_interpreter import run_plan

from cellc import Tensor, nn
from cellc.compiler.pipeline import CompileOptions
from cellc.frontend.compiled import compile as compile_cell
from cellc.runtime import cpu, cuda
from cellc.runtime.artifact import read_artifact

STEPS = 3


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(6, 4)
        self.dropout = nn.Dropout(p=0.25)
        self.out = nn.Dense(4, 3)

    def construct(self, x):
        return self.out(self.dropout(nn.ReLU()(self.dense(x))))


def training_step():
    net = Net()
    net.set_train()
    optimizer = nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    return nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), optimizer)


def interpreted_device(gpu_text: str):
    class InterpretedEntry:
        """runtime.cuda.CudaEntry's interface, on the interpreter instead of a device."""

        def __init__(self, plan, image):
            self.plan = plan
            self.weights = None

        def set_weights(self, weights):
            self.weights = [np.array(w, copy=True) for w in weights]  # as an upload copies

        def __call__(self, *inputs):
            return run_plan(self.plan, gpu_text, inputs, self.weights)

    return InterpretedEntry


def run_steps(module, x, y) -> list[float]:
    module.random_generator = np.random.default_rng(7)
    entry = next(iter(module.entries.values()))
    return [float(entry(x, y)) for _ in range(STEPS)]


def test_a_training_step_updates_parameters_and_draws_masks_like_the_cpu(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    step = training_step()

    paths = {}
    for target in ("cpu", "cuda"):
        result = compile_cell(step, Tensor(x), Tensor(y), options=CompileOptions(target=target))
        paths[target] = tmp_path / f"step-{target}.cellc"
        paths[target].write_bytes(result.artifact)
        if target == "cuda":
            gpu_text = result.stages["gpu"]

    cpu_module = cpu.load(read_artifact(paths["cpu"]))
    monkeypatch.setattr(cuda, "cuda_available", lambda: (True, ""))
    monkeypatch.setattr(cuda, "_load_image", lambda artifact: None)
    monkeypatch.setattr(cuda, "CudaEntry", interpreted_device(gpu_text))
    gpu_module = cuda.load(read_artifact(paths["cuda"]))
    assert gpu_module.random_parameters, "the step draws dropout masks"

    initial = {name: np.array(value) for name, value in gpu_module.parameters.items()}
    cpu_losses = run_steps(cpu_module, x, y)
    gpu_losses = run_steps(gpu_module, x, y)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5)
    assert cpu_losses[-1] < cpu_losses[0]
    changed = 0
    for name, value in gpu_module.parameters.items():
        if name in gpu_module.random_parameters:
            continue
        np.testing.assert_allclose(value, cpu_module.parameters[name], rtol=1e-5, atol=1e-6)
        changed += not np.array_equal(value, initial[name])
    assert changed >= 4  # weights, biases and their momenta moved
