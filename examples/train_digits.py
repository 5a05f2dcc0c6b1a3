"""MindSpore's quick-start network, trained with Model.train on scikit-learn's digits (8x8
images of 0-9, no download), then carried on without the compiler.

    python examples/train_digits.py [--epochs 10] [--out DIR]

1. `Model(net, loss_fn, optimizer, metrics).train(...)` with `LossMonitor` (MindSpore's
   "epoch: 1 step: 1, loss is ..." lines) and `ModelCheckpoint` (DIR/digits-EPOCH_STEP.ckpt,
   the optimizer's state included); each step is one compiled native call.
2. A NEW process builds a fresh network, loads the checkpoint into it and evaluates it with
   `Model.eval` on the held-out images: `test accuracy: ...`.
3. `cellc.export` writes the training step itself (the TrainOneStepCell: forward, backward and
   the optimizer's update) as DIR/digits_step.cellc; a process that imports only
   `cellc.runtime` loads it and runs a few more steps, the weights updated in the module:
   `runtime-only steps: 20, loss A -> B`.

The network is MindSpore's quick start (Flatten, then Dense 512 - ReLU - Dense 512 - ReLU -
Dense 10), taking 8x8 images instead of 28x28.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import cellc
from cellc import Model, Tensor, nn
from cellc import dataset as ds
from cellc.train import CheckpointConfig, LossMonitor, ModelCheckpoint, TimeMonitor

BATCH = 32


class Network(nn.Cell):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.dense_relu_sequential = nn.SequentialCell(
            nn.Dense(8 * 8, 512),
            nn.ReLU(),
            nn.Dense(512, 512),
            nn.ReLU(),
            nn.Dense(512, 10),
        )

    def construct(self, x):
        return self.dense_relu_sequential(self.flatten(x))


def digits():
    """(train images, train labels, test images, test labels): a fixed 80/20 split, pixels
    scaled to [0, 1], images [N, 1, 8, 8] float32, labels int32."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)[:, None]
    labels = data.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(labels))
    train, test = order[: len(order) * 4 // 5], order[len(order) * 4 // 5 :]
    return images[train], labels[train], images[test], labels[test]


def batches(images, labels, shuffle):
    columns = {"image": images, "label": labels}
    return ds.NumpySlicesDataset(columns, shuffle=shuffle).batch(BATCH, drop_remainder=True)


def loss_fn():
    return nn.CrossEntropyLoss()


def train(epochs: int, out: Path) -> Model:
    cellc.set_seed(0)
    np.random.seed(0)  # the shuffling (MindSpore's set_seed seeds it too)
    x_train, y_train, _, _ = digits()
    train_set = batches(x_train, y_train, shuffle=True)
    steps = train_set.get_dataset_size()
    net = Network()
    model = Model(net, loss_fn(), nn.Adam(net.trainable_params(), 1e-3), {"accuracy"})
    config = CheckpointConfig(save_checkpoint_steps=steps, keep_checkpoint_max=2)
    checkpoint = ModelCheckpoint(prefix="digits", directory=str(out), config=config)
    callbacks = [LossMonitor(per_print_times=steps // 2), TimeMonitor(), checkpoint]
    model.train(epochs, train_set, callbacks=callbacks)
    print(f"checkpoint: {checkpoint.latest_ckpt_file_name}")
    return model, checkpoint.latest_ckpt_file_name


def evaluate(ckpt: str) -> None:
    """In a fresh process: a new network, the checkpoint's weights, Model.eval."""
    _, _, x_test, y_test = digits()
    net = Network()
    param_not_load, _ = cellc.load_param_into_net(net, cellc.load_checkpoint(ckpt))
    assert not param_not_load, param_not_load
    model = Model(net, loss_fn(), metrics={"accuracy", "loss"})
    result = model.eval(batches(x_test, y_test, shuffle=False))
    print(f"test accuracy: {result['accuracy']:.4f}, loss: {result['loss']:.4f}")


# Runs in a process of its own: nothing but numpy and cellc.runtime is imported.
RUNTIME_ONLY = """
import sys
import numpy as np
import cellc.runtime

module = cellc.runtime.load(sys.argv[1])
step = module["TrainOneStepCell"]
batch = np.load(sys.argv[2])
losses = [float(step(batch["x"], batch["y"])) for _ in range(int(sys.argv[3]))]
user_api = sorted(m for m in sys.modules if m.startswith("cellc.") and m.split(".")[1] != "runtime")
assert not user_api and "mlir" not in sys.modules, user_api
print(f"runtime-only steps: {len(losses)}, loss {losses[0]:.4f} -> {losses[-1]:.4f}")
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="where files go (a temp dir)")
    parser.add_argument("--evaluate", metavar="CKPT", help="only evaluate this checkpoint")
    args = parser.parse_args(argv)
    if args.evaluate:
        evaluate(args.evaluate)
        return
    out = args.out or Path(tempfile.mkdtemp(prefix="digits-"))
    out.mkdir(parents=True, exist_ok=True)
    model, ckpt = train(args.epochs, out)
    subprocess.run([sys.executable, __file__, "--evaluate", ckpt], check=True)

    x_train, y_train, _, _ = digits()
    x, y = x_train[:BATCH], y_train[:BATCH]
    artifact = cellc.export(
        model.train_network, Tensor(x), Tensor(y), file_name=out / "digits_step"
    )
    np.savez(out / "batch.npz", x=x, y=y)
    print(f"exported the training step: {artifact}")
    command = [sys.executable, "-c", RUNTIME_ONLY, artifact, str(out / "batch.npz"), "20"]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
