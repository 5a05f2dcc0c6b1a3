"""Checkpoints in MindSpore's format: round trips, the bytes MindSpore writes, refusals that
name the file and the parameter, and nothing half-loaded."""

import os
import subprocess

import numpy as np
import pytest

from cellc import Parameter, Tensor, nn
from cellc.serialization import (
    CheckpointError,
    load_checkpoint,
    load_param_into_net,
    save_checkpoint,
)


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(3, 2)
        self.flag = Parameter(Tensor(np.array([True, False])), name="flag", requires_grad=False)
        self.h = Parameter(Tensor(np.array([1.0], np.float16)), name="h")
        self.step = Parameter(Tensor(np.array(7, np.int32)), name="step")


# The bytes MindSpore 2.10 writes for a float32 [2, 3] "w", float64 [1] "b" and int32 0-d "i"
# (save_checkpoint of a Cell holding them, in that order): the format is protobuf, and
# MindSpore's own file is the reference.
MINDSPORE_BYTES = bytes.fromhex(
    "0a2c0a0177122708020803120746"
    "6c6f617433321a1800000000000080"
    "3f000000400000404000008040"
    "0000a0400a1a0a016212150801120746"
    "6c6f617436341a080000000000"
    "00f83f0a120a0169120d1205496e74"
    "33321a0407000000"
)


def test_the_bytes_mindspore_writes(tmp_path):
    values = [
        ("w", np.arange(6, dtype=np.float32).reshape(2, 3)),
        ("b", np.array([1.5], np.float64)),
        ("i", np.array(7, np.int32)),
    ]
    save_checkpoint([{"name": n, "data": Tensor(v)} for n, v in values], tmp_path / "m")
    assert (tmp_path / "m.ckpt").read_bytes() == MINDSPORE_BYTES
    (tmp_path / "ms.ckpt").write_bytes(MINDSPORE_BYTES)
    loaded = load_checkpoint(tmp_path / "ms.ckpt")
    assert list(loaded) == ["w", "b", "i"]
    for name, value in values:
        assert loaded[name].asnumpy().dtype == value.dtype
        np.testing.assert_array_equal(loaded[name].asnumpy(), value)
        assert loaded[name].name == name


def test_round_trip_of_a_cell_in_mindspore_order(tmp_path):
    net = Net()
    save_checkpoint(net, tmp_path / "net.ckpt")
    loaded = load_checkpoint(tmp_path / "net.ckpt")
    assert list(loaded) == list(net.parameters_dict())
    other = Net()
    other.dense.weight.asnumpy()[...] = 0
    assert load_param_into_net(other, loaded) == ([], [])
    for (_, a), (_, b) in zip(net.parameters_and_names(), other.parameters_and_names()):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


def test_what_was_not_loaded_is_reported(tmp_path):
    loaded = load_checkpoint(_saved(tmp_path))
    del loaded["h"]
    loaded["extra"] = Parameter(Tensor(np.ones(1, np.float32)), name="extra")
    assert load_param_into_net(Net(), loaded) == (["h"], ["extra"])


def test_load_checkpoint_into_a_net_and_filter_prefix(tmp_path):
    path = _saved(tmp_path)
    assert list(load_checkpoint(path, filter_prefix="dense.")) == ["flag", "h", "step"]
    target = Net()
    load_checkpoint(path, net=target)
    assert target.step.asnumpy() == 7


def test_a_mismatched_checkpoint_loads_nothing(tmp_path):
    loaded = load_checkpoint(_saved(tmp_path))
    loaded["h"] = Parameter(Tensor(np.array([9.0], np.float16)), name="h")
    loaded["dense.bias"] = Parameter(Tensor(np.ones(5, np.float32)), name="dense.bias")
    target = Net()
    with pytest.raises(CheckpointError, match=r"dense.bias.*shape \(2,\).*shape \(5,\)"):
        load_param_into_net(target, loaded)
    assert target.h.asnumpy()[0] == 1.0  # h came before the bad entry: still not loaded


@pytest.mark.parametrize("cut", [1, 10, 30, 60])
def test_a_truncated_checkpoint_is_refused_naming_the_file(tmp_path, cut):
    path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(CheckpointError, match=r"net.ckpt"):
        load_checkpoint(path)


def test_a_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "nothing.ckpt")


def test_mindspore_reads_what_cellc_writes(tmp_path):
    python = os.environ.get("CELLC_MINDSPORE_PYTHON")  # a Python with MindSpore installed
    if not python:
        pytest.skip("set CELLC_MINDSPORE_PYTHON to a Python that has MindSpore to compare")
    path = _saved(tmp_path)
    script = (
        "import mindspore as ms, numpy as np\n"
        f"d = ms.load_checkpoint({str(path)!r})\n"
        "print(sorted(d), d['step'].asnumpy().item(), d['h'].dtype)\n"
    )
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == (
        "['dense.bias', 'dense.weight', 'flag', 'h', 'step'] 7 Float16"
    )


def _saved(tmp_path):
    path = tmp_path / "net.ckpt"
    save_checkpoint(Net(), path)
    return path
