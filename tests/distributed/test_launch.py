"""Jobs of two processes started by `cellc launch -n 2` (mpiexec of the optional extra): a
data-parallel training whose weights are the one-process training's on the same global
batches, and a rank that fails, ending the job with its error instead of a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cellc
from cellc import context, nn
from cellc import dataset as ds

pytest.importorskip(
    "mpi4py", reason="the optional extra is not installed: pip install 'cellc[distributed]'"
)
MPIEXEC = Path(sys.executable).with_name("mpiexec")
if not MPIEXEC.exists() and shutil.which("mpiexec") is None:
    pytest.skip("no mpiexec: pip install 'cellc[distributed]'", allow_module_level=True)

STEPS, BATCH = 4, 8  # global steps and global batch

# A MindSpore-style training script: each rank draws its own initial weights, TrainOneStepCell
# broadcasts rank 0's; Model.train over the rank's shard; ModelCheckpoint in rank 0 only;
# every rank loads the checkpoint and writes what it holds; collectives inside a construct.
TRAIN = """
import sys
import numpy as np
import mindspore as ms
from mindspore import nn, ops, Tensor, Model
from mindspore import dataset as ds
from mindspore.communication import init, get_rank, get_group_size
from mindspore.context import ParallelMode
from mindspore.train.callback import ModelCheckpoint, CheckpointConfig

init()
rank, size = get_rank(), get_group_size()
ms.context.set_auto_parallel_context(parallel_mode=ParallelMode.DATA_PARALLEL,
                                     gradients_mean=True)
ms.set_seed(5)
np.random.seed(rank)
x = np.random.default_rng(9).normal(size=(32, 4)).astype(np.float32)
y = np.random.default_rng(8).normal(size=(32, 3)).astype(np.float32)
data = ds.NumpySlicesDataset({"x": x, "y": y}, shuffle=True, num_shards=size, shard_id=rank)
data = data.batch(BATCH // size, drop_remainder=True).take(STEPS)
net = nn.SequentialCell(nn.Dense(4, 5), nn.ReLU(), nn.Dense(5, 3))
model = Model(net, nn.MSELoss(), nn.Momentum(net.trainable_params(), 0.1, 0.9))
checkpoint = ModelCheckpoint("net", sys.argv[1], CheckpointConfig(save_checkpoint_steps=STEPS))
model.train(1, data, callbacks=[checkpoint], dataset_sink_mode=False)

loaded = nn.SequentialCell(nn.Dense(4, 5), nn.ReLU(), nn.Dense(5, 3))
ms.load_param_into_net(loaded, ms.load_checkpoint(checkpoint.latest_ckpt_file_name))
weights = {p.name: p.asnumpy() for p in net.get_parameters()}
weights.update({"loaded." + p.name: p.asnumpy() for p in loaded.get_parameters()})

class Collect(nn.Cell):
    def __init__(self):
        super().__init__()
        self.sum, self.gather, self.bcast = ops.AllReduce(), ops.AllGather(), ops.Broadcast(1)

    def construct(self, v):
        return self.sum(v * 2.0), self.gather(v), self.bcast((v + 1.0,))[0]

mine = Tensor(np.full((1, 2), rank + 1, np.float32))
weights["sum"], weights["gather"], weights["bcast"] = (t.asnumpy() for t in Collect()(mine))
np.savez(f"{sys.argv[1]}/rank{rank}.npz", **weights)
"""


def launch(tmp_path: Path, script: str, *args) -> subprocess.CompletedProcess:
    path = tmp_path / "train.py"
    path.write_text(script)
    environment = {**os.environ, "CELLC_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "cellc.cli.main", "launch", "-n", "2", path, *args]
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True, text=True, timeout=300, env=environment,
    )  # fmt: skip


def one_process_weights() -> dict:
    """The same training in this process, stand-alone, on the same global batches: the
    sharded order is the global seed's, and shard k holds rows k, k + 2, ... of it."""
    cellc.set_seed(5)
    np.random.seed(0)  # rank 0's initial weights
    x = np.random.default_rng(9).normal(size=(32, 4)).astype(np.float32)
    y = np.random.default_rng(8).normal(size=(32, 3)).astype(np.float32)
    data = ds.NumpySlicesDataset({"x": x, "y": y}, shuffle=True, num_shards=1, shard_id=0)
    net = nn.SequentialCell(nn.Dense(4, 5), nn.ReLU(), nn.Dense(5, 3))
    optimizer = nn.Momentum(net.trainable_params(), 0.1, 0.9)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), optimizer)
    context.reset_auto_parallel_context()
    for x_batch, y_batch in data.batch(BATCH).take(STEPS).create_tuple_iterator():
        step(x_batch, y_batch)
    return {p.name: p.asnumpy() for p in net.get_parameters()}


@pytest.mark.slow
def test_two_processes_train_as_one_on_the_same_global_batches(tmp_path):
    done = launch(tmp_path, f"BATCH, STEPS = {BATCH}, {STEPS}\n" + TRAIN, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    alone = one_process_weights()
    for name, value in alone.items():  # float32 all-reduce rounding only
        for rank in ranks:
            np.testing.assert_allclose(rank[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
            np.testing.assert_array_equal(rank["loaded." + name], ranks[0][name])
    assert [p.name for p in tmp_path.glob("*.ckpt")] == ["net-1_4.ckpt"]  # rank 0's only
    for rank in ranks:
        np.testing.assert_array_equal(rank["sum"], [[6.0, 6.0]])  # 2 * (1 + 2)
        np.testing.assert_array_equal(rank["gather"], [[1.0, 1.0], [2.0, 2.0]])
        np.testing.assert_array_equal(rank["bcast"], [[3.0, 3.0]])  # rank 1's 2 + 1


FAIL = """
import numpy as np
from mindspore import ops, Tensor
from mindspore.communication import init, get_rank

init()
if get_rank() == 1:
    raise ValueError("rank one cannot go on")
ops.AllReduce()(Tensor(np.ones(2, np.float32)))  # rank 0 would wait here forever
"""


def test_a_failing_rank_ends_the_job_with_its_error(tmp_path):
    done = launch(tmp_path, FAIL)
    assert done.returncode != 0
    assert "rank 1 of 2" in done.stderr and "rank one cannot go on" in done.stderr
    assert "train.py:8: error: ValueError: rank one cannot go on" in done.stderr
    assert "error: the job of 2 processes failed" in done.stderr


def test_launch_says_what_it_runs(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "cellc.cli.main", "launch", "-n", "4", "--dry-run",
         "--mpi-arg=--bind-to", "--mpi-arg=none", str(script), "--epochs", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert " -n 4 " in line and "--bind-to none" in line
    assert line.endswith(f"-m cellc.cli.main run {script} --epochs 2")
