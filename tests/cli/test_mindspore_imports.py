"""The imports MindSpore and LuoJiaNET scripts write (MindSpore's tutorials and model zoo) under
`cellc run` and `cellc compile`: each resolves to cellc's own object, or fails with one message
naming the script's line, "cellc has no mindspore.X.Y yet", never a path into cellc."""

from __future__ import annotations

import sys

import pytest
from cli_support import ROOT, invoke, write_script

import cellc
import cellc.dataset
import cellc.dataset.vision
import cellc.ops
from cellc import compat

# (import line, what it must give: an expression over `cellc` that holds after it)
RESOLVED = [
    ("import mindspore", "mindspore is cellc"),
    ("import mindspore as ms", "ms.Tensor is cellc.Tensor and ms.float32 is cellc.dtype.float32"),
    ("from mindspore import nn, ops, Tensor, Parameter", "nn is cellc.nn and ops is cellc.ops"),
    ("from mindspore import context, dtype as mstype", "mstype is cellc.dtype"),
    ("from mindspore import value_and_grad, grad, jit", "grad is cellc.grad"),
    ("from mindspore import load_checkpoint, save_checkpoint, export", "export is cellc.export"),
    ("from mindspore import Model", "Model is cellc.train.Model"),
    ("import mindspore.nn as nn", "nn.Dense is cellc.nn.Dense"),
    ("import mindspore.ops as ops", "ops.MatMul is cellc.ops.MatMul"),
    ("from mindspore.ops import operations as P", "P.MatMul is cellc.ops.MatMul"),
    ("import mindspore.ops.operations as P", "P.ReduceSum is cellc.ops.ReduceSum"),
    # data-parallel training (tests/distributed)
    (
        "from mindspore.communication import init, get_rank, get_group_size",
        "get_rank is cellc.communication.get_rank",
    ),
    (
        "from mindspore.communication.management import GlobalComm, HCCL_WORLD_COMM_GROUP",
        "GlobalComm is cellc.communication.GlobalComm",
    ),
    ("from mindspore.context import ParallelMode", "ParallelMode is cellc.context.ParallelMode"),
    ("from mindspore import ParallelMode, set_auto_parallel_context", "ParallelMode.DATA_PARALLEL"),
    (
        "from mindspore.nn.wrap.grad_reducer import DistributedGradReducer",
        "DistributedGradReducer is cellc.nn.DistributedGradReducer",
    ),
    (
        "from mindspore.ops.operations import AllReduce, Broadcast",
        "AllReduce is cellc.ops.AllReduce",
    ),
    ("from mindspore.ops.operations.comm_ops import ReduceOp", "ReduceOp is cellc.ops.ReduceOp"),
    ("from mindspore.ops import functional as F", "F is cellc.ops.functional"),
    ("import mindspore.ops.functional as F", "F is cellc.ops.functional"),
    ("from mindspore.ops import composite as C", "C.GradOperation is cellc.ops.GradOperation"),
    ("import mindspore.ops.composite as C", "C.GradOperation is cellc.ops.GradOperation"),
    ("from mindspore.ops.primitive import Primitive", "Primitive is cellc.ops.Primitive"),
    ("from mindspore.common import dtype as mstype", "mstype.int32 is cellc.dtype.int32"),
    ("import mindspore.common.dtype as mstype", "mstype.float32 is cellc.dtype.float32"),
    ("from mindspore.common import set_seed", "set_seed is cellc.set_seed"),
    ("from mindspore.common.initializer import Normal", "Normal is cellc.initializer.Normal"),
    ("import mindspore.common.initializer as init", "init is cellc.initializer"),
    ("from mindspore.common import initializer as init", "init is cellc.initializer"),
    ("from mindspore.common.tensor import Tensor", "Tensor is cellc.Tensor"),
    ("from mindspore.common.parameter import Parameter", "Parameter is cellc.Parameter"),
    ("from mindspore.common.api import jit", "jit is cellc.jit"),
    ("from mindspore.nn.optim import Momentum", "Momentum is cellc.nn.Momentum"),
    ("from mindspore.nn.optim.momentum import Momentum", "Momentum is cellc.nn.Momentum"),
    ("from mindspore.nn.optim.optimizer import Optimizer", "Optimizer is cellc.nn.Optimizer"),
    ("from mindspore.nn.learning_rate_schedule import CosineDecayLR", "CosineDecayLR"),
    ("from mindspore.nn.dynamic_lr import piecewise_constant_lr", "piecewise_constant_lr"),
    ("from mindspore.nn.loss import MSELoss", "MSELoss is cellc.nn.MSELoss"),
    (
        "from mindspore.nn.loss import SoftmaxCrossEntropyWithLogits",
        "SoftmaxCrossEntropyWithLogits is cellc.nn.SoftmaxCrossEntropyWithLogits",
    ),
    ("from mindspore.nn.loss.loss import LossBase", "LossBase is cellc.nn.LossBase"),
    ("from mindspore.nn.metrics import Accuracy", "Accuracy is cellc.train.Accuracy"),
    ("from mindspore.nn.layer.basic import Dense", "Dense is cellc.nn.Dense"),
    ("from mindspore.nn.layer.conv import Conv2d", "Conv2d is cellc.nn.Conv2d"),
    ("from mindspore.nn.wrap.cell_wrapper import WithLossCell", "WithLossCell"),
    ("from mindspore.nn.cell import Cell", "Cell is cellc.nn.Cell"),
    ("from mindspore.train import Model", "Model is cellc.train.Model"),
    ("from mindspore.train.model import Model", "Model is cellc.train.Model"),
    ("from mindspore.train.callback import LossMonitor", "LossMonitor is cellc.LossMonitor"),
    ("from mindspore.train.callback import ModelCheckpoint, CheckpointConfig", "CheckpointConfig"),
    ("from mindspore.train.serialization import load_checkpoint", "load_checkpoint"),
    ("from mindspore.train.serialization import export", "export is cellc.export"),
    ("import mindspore.dataset as ds", "ds.GeneratorDataset is cellc.dataset.GeneratorDataset"),
    ("from mindspore.dataset import vision, transforms", "vision is cellc.dataset.vision"),
    ("import mindspore.dataset.vision as vision", "vision.HWC2CHW"),
    ("import mindspore.dataset.vision.c_transforms as CV", "CV.Rescale"),
    ("from mindspore.dataset.vision import c_transforms as CV", "CV.Normalize"),
    ("import mindspore.dataset.vision.py_transforms as PV", "PV is cellc.dataset.vision"),
    ("from mindspore.dataset.vision.transforms import Resize", "Resize"),
    ("import mindspore.dataset.transforms.c_transforms as C", "C.TypeCast"),
    ("from mindspore.dataset.transforms.transforms import OneHot", "OneHot"),
    ("import mindspore.dataset.engine as de", "de.GeneratorDataset"),
    ("import mindspore.context as context", "context.set_context is cellc.context.set_context"),
    ("from mindspore.context import GRAPH_MODE", "GRAPH_MODE == cellc.GRAPH_MODE"),
    ("import luojianet_ms.nn as nn", "nn.Module is cellc.nn.Module"),
    ("from luojianet_ms.ops import operations as P", "P.MatMul is cellc.ops.MatMul"),
    ("from luojianet_ms.common import dtype as mstype", "mstype is cellc.dtype"),
    ("from luojianet_ms import context, Tensor", "Tensor is cellc.Tensor"),
]

# (import line, the message)
MISSING = [
    ("from mindspore.nn import Conv3d", "cellc has no mindspore.nn.Conv3d yet"),
    ("from mindspore import Profiler", "cellc has no mindspore.Profiler yet"),
    ("from mindspore.amp import init_status", "cellc has no mindspore.amp.init_status"),
    ("import mindspore.hypercomplex", "cellc has no mindspore.hypercomplex yet"),
    ("from mindspore.hypercomplex import nn", "cellc has no mindspore.hypercomplex yet"),
    (
        "from mindspore.communication.comm_func import all_reduce",
        "cellc has no mindspore.communication.comm_func yet",
    ),
    (
        "from mindspore.context import set_ps_context",
        "cellc has no mindspore.context.set_ps_context",
    ),
    ("from mindspore.dataset import MnistDataset", "cellc has no mindspore.dataset.MnistDataset"),
    ("from mindspore.dataset.vision import Inter", "cellc has no mindspore.dataset.vision.Inter"),
    ("from mindspore.ops.operations import AlltoAll", "cellc has no mindspore.ops.AlltoAll yet"),
    (
        "from mindspore.train.serialization import load_distributed_checkpoint",
        "cellc has no mindspore.train.serialization.load_distributed_checkpoint yet",
    ),
    (
        "from mindspore.train.summary import SummaryRecord",
        "cellc has no mindspore.train.summary yet",
    ),
    ("import mindspore.numpy as mnp", "cellc has no mindspore.numpy yet"),
    ("from mindspore import log as logger", "cellc has no mindspore.log yet"),
    ("from mindspore.profiler import Profiler", "cellc has no mindspore.profiler yet"),
    ("from mindspore.mindrecord import FileWriter", "cellc has no mindspore.mindrecord yet"),
    ("import mindspore.common.context", "cellc has no mindspore.common.context yet"),
    ("import luojianet_ms.hypercomplex", "cellc has no luojianet_ms.hypercomplex yet"),
    ("from luojianet_ms.nn import Conv3d", "cellc has no mindspore.nn.Conv3d yet"),
]


@pytest.mark.parametrize(("line", "check"), RESOLVED, ids=[line for line, _ in RESOLVED])
def test_the_import_resolves_to_cellc(tmp_path, line, check):
    script = write_script(tmp_path, "s.py", f"import cellc\n{line}\nassert {check}\n")
    result = invoke("run", script)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("line", "message"), MISSING, ids=[line for line, _ in MISSING])
def test_a_missing_module_or_name_names_it_and_the_line(tmp_path, line, message):
    script = write_script(tmp_path, "s.py", f"import numpy as np\n{line}\n")
    result = invoke("run", script)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"{script}:2: error: {message}"), result.stderr
    assert str(ROOT) not in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("line, message", [MISSING[0], MISSING[4]])
def test_cellc_compile_says_the_same(tmp_path, line, message):
    script = write_script(tmp_path, "model.py", f"import mindspore.nn as nn\n{line}\n")
    result = invoke("compile", script, "--input", "f32[3]")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"{script}:2: error: {message}"), result.stderr
    assert str(ROOT) not in result.stderr and "Traceback" not in result.output


def test_a_missing_attribute_says_the_same(tmp_path):
    script = write_script(tmp_path, "s.py", "import mindspore.nn as nn\n\nnn.Conv3d(4, 8, 3)\n")
    result = invoke("run", script)
    assert result.stderr.startswith(f"{script}:3: error: cellc has no mindspore.nn.Conv3d yet")


def test_the_aliases_leave_cellc_as_it_was(tmp_path):
    lines = "from mindspore.ops import operations\nimport mindspore.dataset.vision.c_transforms\n"
    script = write_script(tmp_path, "s.py", lines)
    assert invoke("run", script).exit_code == 0
    assert not hasattr(cellc.ops, "operations")
    assert not hasattr(cellc.dataset.vision, "__path__")
    assert not hasattr(cellc.dataset.vision, "c_transforms")
    assert not [name for name in sys.modules if name.partition(".")[0] in compat.ALIASES]
