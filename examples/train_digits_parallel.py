"""Data-parallel training, written as MindSpore's distributed tutorials write it: LeNet-5 on
scikit-learn's digits (examples/lenet_digits.py), in N processes that each train on their
shard of every global batch and all-reduce the gradients.

    cellc launch -n 2 examples/train_digits_parallel.py [--epochs 12] [--weights FILE]
    mpirun -n 2 cellc run examples/train_digits_parallel.py      (the same job, by hand)
    python examples/train_digits_parallel.py --compare 2 4       (the check below)

Every process calls `init()`, sets DATA_PARALLEL with `gradients_mean=True`, and reads its
shard of the training set (`num_shards=get_group_size(), shard_id=get_rank()`) in batches of
GLOBAL_BATCH / N: the N shards of batch t are, together, global batch t of the one-process
run (the sharded data set's shuffled order is the same in every process). Each process draws
its own initial weights; `TrainOneStepCell` broadcasts rank 0's. Rank 0 saves the checkpoint;
every rank loads it and evaluates it.

`--compare N...` trains in this process without any of that (the reference: every step one
compiled program), then runs `cellc launch -n N` for each N, and compares the final weights
and the test accuracy: after the same global steps they agree to float32 rounding (the
all-reduce sums N per-shard gradients where one process sums one batch's, in another order:
1e-8 to 1e-6 after the first epoch's 44 steps), and the test accuracy is the same. Over hundreds
of steps those roundings grow, as any change of summation order does in training (to about
0.2 after 12 epochs here), without changing the accuracy.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from lenet_digits import LeNet5
from sklearn.datasets import load_digits

import cellc as mindspore
from cellc import Tensor, context, nn
from cellc import dataset as ds
from cellc.communication import get_group_size, get_rank, init
from cellc.context import ParallelMode

GLOBAL_BATCH = 32
TRAIN_ROWS = 1408  # 44 global batches: no padded shard, so every N takes the same steps


def digits():
    """(train images, train labels, test images, test labels): images (N, 1, 32, 32)
    normalized, labels int32; the split of examples/lenet_digits.py."""
    data = load_digits()
    images = np.kron(data.images / 16.0, np.ones((4, 4))).astype(np.float32)[:, None]
    images = (images - images.mean()) / images.std()
    labels = data.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(labels))
    split = int(0.8 * len(labels))
    train, test = order[:split][:TRAIN_ROWS], order[split:]
    return images[train], labels[train], images[test], labels[test]


def train(epochs: int, checkpoint: Path, weights: Path | None, parallel: bool = True) -> float:
    """Trains, evaluates rank 0's checkpoint and returns the test accuracy. Not `parallel`:
    the plain one-process training, each step one compiled program (the reference)."""
    rank, size = 0, 1
    if parallel:
        init()
        rank, size = get_rank(), get_group_size()
        context.set_auto_parallel_context(
            parallel_mode=ParallelMode.DATA_PARALLEL, gradients_mean=True
        )
    mindspore.set_seed(1)  # the data sets' order: the same in every process
    np.random.seed(rank)  # each process's own initial weights, until rank 0's are broadcast

    x_train, y_train, x_test, y_test = digits()
    train_set = ds.NumpySlicesDataset(
        {"image": x_train, "label": y_train}, shuffle=True, num_shards=size, shard_id=rank
    ).batch(GLOBAL_BATCH // size, drop_remainder=True)
    steps = train_set.get_dataset_size()

    network = LeNet5()
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    lr = nn.cosine_decay_lr(0.0, 0.03, epochs * steps, steps, epochs)
    optimizer = nn.Momentum(network.trainable_params(), learning_rate=lr, momentum=0.9)
    train_step = nn.TrainOneStepCell(nn.WithLossCell(network, loss_fn), optimizer)

    seconds, snapshots = 0.0, {}
    for epoch in range(1, epochs + 1):
        losses = []
        started = time.perf_counter()
        for images, labels in train_set.create_tuple_iterator():
            losses.append(float(train_step(images, labels).asnumpy()))
        seconds += time.perf_counter() - started if epoch > 1 else 0.0  # epoch 1 compiles
        if rank == 0:
            print(f"epoch: {epoch} loss (rank 0's shard): {np.mean(losses):.4f}", flush=True)
        if epoch in (1, epochs):
            snapshots.update(
                {f"{epoch}/{p.name}": p.asnumpy().copy() for p in network.get_parameters()}
            )

    if rank == 0:
        mindspore.save_checkpoint(network, str(checkpoint))
    if parallel:  # every rank waits for rank 0's file
        mindspore.ops.AllReduce()(Tensor(np.zeros(1, np.float32)))
    evaluated = LeNet5()
    mindspore.load_param_into_net(evaluated, mindspore.load_checkpoint(str(checkpoint)))
    logits = evaluated(Tensor(x_test)).asnumpy()
    accuracy = float((logits.argmax(axis=1) == y_test).mean())
    print(f"rank {rank} of {size}: test accuracy {accuracy:.4f}", flush=True)
    if rank == 0:
        per_step = 1000 * seconds / max(steps * (epochs - 1), 1)
        print(f"{size} processes: {per_step:.2f} ms per global step", flush=True)
        if weights is not None:  # after the first epoch and the last
            np.savez(weights, **snapshots)
    return accuracy


def compare(counts: list[int], epochs: int) -> None:
    """The one-process run here, then `cellc launch -n N` for each N: weights and accuracy."""
    folder = Path(tempfile.mkdtemp(prefix="digits-parallel-"))
    reference = train(epochs, folder / "alone.ckpt", folder / "alone.npz", parallel=False)
    alone = np.load(folder / "alone.npz")
    for count in counts:
        weights = folder / f"n{count}.npz"
        command = [sys.executable, "-m", "cellc.cli.main", "launch", "-n", str(count)]
        command += [__file__, "--epochs", str(epochs), "--weights", str(weights)]
        command += ["--checkpoint", str(folder / f"n{count}.ckpt")]
        subprocess.run(command, check=True)
        parallel = np.load(weights)
        for epoch in sorted({1, epochs}):
            names = [k for k in alone.files if k.startswith(f"{epoch}/")]
            worst = max(float(np.abs(parallel[k] - alone[k]).max()) for k in names)
            scale = max(float(np.abs(alone[k]).max()) for k in names)
            print(
                f"n={count}, after epoch {epoch}: largest weight difference from one process "
                f"{worst:.2e} (largest weight {scale:.2f})",
                flush=True,
            )
    print(f"one process: test accuracy {reference:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--checkpoint", type=Path, default=None, help="rank 0 writes it")
    parser.add_argument("--weights", type=Path, default=None, help="rank 0's final weights")
    parser.add_argument("--compare", type=int, nargs="+", metavar="N", default=None)
    options = parser.parse_args()
    if options.compare:
        compare(options.compare, options.epochs)
        return
    checkpoint = options.checkpoint or Path(tempfile.gettempdir()) / "digits_parallel.ckpt"
    train(options.epochs, checkpoint, options.weights)


if __name__ == "__main__":
    main()
