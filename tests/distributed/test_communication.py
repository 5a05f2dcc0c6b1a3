"""Data-parallel training from the user's side, in this one process (a job of one: `init()`
without a launcher): MindSpore's parallel context, `mindspore.communication`, the collective
primitives, `nn.DistributedGradReducer`, `TrainOneStepCell` split around the all-reduce, and
the sharded data sets. The jobs of several processes are in test_launch.py."""

from __future__ import annotations

import numpy as np
import pytest

import cellc
from cellc import Tensor, context, nn, ops
from cellc import dataset as ds
from cellc.calling import CollectiveInConstruct
from cellc.context import ParallelMode
from cellc.errors import DistributedError, UnsupportedError

mpi4py = pytest.importorskip(
    "mpi4py", reason="the optional extra is not installed: pip install 'cellc[distributed]'"
)


@pytest.fixture(autouse=True)
def stand_alone():
    """Every test starts and ends outside any job, in the stand-alone mode."""
    cellc.communication.release()
    context.reset_auto_parallel_context()
    yield
    cellc.communication.release()
    context.reset_auto_parallel_context()


@pytest.fixture
def job():
    """A job of one process, DATA_PARALLEL."""
    cellc.communication.init()
    context.set_auto_parallel_context(parallel_mode=ParallelMode.DATA_PARALLEL)


# --- the parallel context -----------------------------------------------------------------


def test_the_parallel_context_is_set_read_and_reset():
    assert context.get_auto_parallel_context("parallel_mode") == "stand_alone"
    assert context.get_auto_parallel_context("device_num") == 1
    context.set_auto_parallel_context(parallel_mode="DATA_PARALLEL", gradients_mean=True)
    assert context.get_auto_parallel_context("parallel_mode") == ParallelMode.DATA_PARALLEL
    assert context.get_auto_parallel_context("gradients_mean") is True
    context.set_auto_parallel_context(device_num=8, all_reduce_fusion_config=[10])
    assert context.get_auto_parallel_context("device_num") == 8
    context.reset_auto_parallel_context()
    assert context.get_auto_parallel_context("gradients_mean") is False
    assert cellc.ParallelMode is ParallelMode
    assert cellc.set_auto_parallel_context is context.set_auto_parallel_context


def test_bad_parallel_settings_name_what_is_wrong():
    with pytest.raises(ValueError, match="'parallel_mode' must be one of"):
        context.set_auto_parallel_context(parallel_mode="data")
    with pytest.raises(UnsupportedError, match="not semi_auto_parallel"):
        context.set_auto_parallel_context(parallel_mode=ParallelMode.SEMI_AUTO_PARALLEL)
    with pytest.raises(ValueError, match="'gradient_mean' is not recognized"):
        context.set_auto_parallel_context(gradient_mean=True)
    with pytest.raises(TypeError, match="'gradients_mean' must be a bool"):
        context.set_auto_parallel_context(gradients_mean=1)
    with pytest.raises(ValueError, match="not recognized"):
        context.get_auto_parallel_context("mode")


# --- mindspore.communication --------------------------------------------------------------


def test_rank_and_size_before_init_are_mindsporess_runtime_error():
    with pytest.raises(RuntimeError, match="Distributed Communication has not been inited"):
        cellc.communication.get_rank()
    with pytest.raises(DistributedError, match="has not been inited"):
        ops.AllReduce()(Tensor(np.ones(2, np.float32)))


def test_a_job_of_one_process():
    cellc.communication.init("nccl")
    comm = cellc.communication
    assert (comm.get_rank(), comm.get_group_size()) == (0, 1)
    assert (comm.get_local_rank(), comm.get_local_rank_size()) == (0, 1)
    assert comm.GlobalComm.WORLD_COMM_GROUP == comm.NCCL_WORLD_COMM_GROUP == "nccl_world_group"
    assert comm.get_rank(comm.HCCL_WORLD_COMM_GROUP) == 0
    assert context.get_auto_parallel_context("device_num") == 1
    with pytest.raises(UnsupportedError, match="only the world group"):
        comm.get_rank("group_0_1")
    with pytest.raises(TypeError, match="'group' must be type of string"):
        comm.get_group_size(0)
    with pytest.raises(UnsupportedError, match="create_group"):
        comm.create_group("group_0_1", [0, 1])
    with pytest.raises(ValueError, match="'backend_name' must be one of"):
        comm.init("gloo")


def test_the_collectives_of_one_process(job):
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(ops.AllReduce()(x).asnumpy(), x.asnumpy())
    np.testing.assert_array_equal(ops.AllReduce(ops.ReduceOp.MAX)(x).asnumpy(), x.asnumpy())
    np.testing.assert_array_equal(ops.AllGather()(x).asnumpy(), x.asnumpy())
    (y,) = ops.Broadcast(0)((x,))
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    with pytest.raises(TypeError, match="'op' must be one of"):
        ops.AllReduce("mean")
    with pytest.raises(TypeError, match="a tuple of Tensors"):
        ops.Broadcast(0)(x)
    with pytest.raises(ValueError, match=r"root_rank must be in \[0, 1\)"):
        ops.Broadcast(1)((x,))


# --- collectives in a construct: split around them ----------------------------------------


class Doubled(nn.Cell):
    def __init__(self):
        super().__init__()
        self.allreduce = ops.AllReduce()
        self.dense = nn.Dense(3, 2, weight_init="ones", has_bias=False)

    def construct(self, x):
        return self.dense(self.allreduce(x * 2.0))


def test_a_construct_with_a_collective_runs_split_around_it(job):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    net = Doubled()
    expected = (x * 2.0) @ np.ones((3, 2), np.float32)
    np.testing.assert_allclose(net(Tensor(x)).asnumpy(), expected)
    np.testing.assert_allclose(net(Tensor(x)).asnumpy(), expected)  # the second call too


def test_a_split_cell_cannot_be_one_program(job, tmp_path):
    with pytest.raises(CollectiveInConstruct, match=r"ops.AllReduce at .*test_communication"):
        cellc.export(Doubled(), Tensor(np.ones((2, 3), np.float32)), file_name=tmp_path / "d")


def test_no_gradient_through_a_collective(job):
    grad = ops.GradOperation()
    with pytest.raises(UnsupportedError, match="no gradient through a collective"):
        grad(Doubled())(Tensor(np.ones((2, 3), np.float32)))


# --- the gradient reducer and the training step -------------------------------------------


def test_the_reducer_sums_and_with_mean_divides_by_degree(job):
    params = nn.Dense(3, 2).trainable_params()
    grads = (Tensor(np.full((2, 3), 3.0, np.float32)), Tensor(np.array([1.0, 2.0], np.float32)))
    summed = nn.DistributedGradReducer(params, mean=False)(grads)
    np.testing.assert_array_equal(summed[1].asnumpy(), [1.0, 2.0])
    averaged = nn.DistributedGradReducer(params, mean=True, degree=4)(grads)
    np.testing.assert_array_equal(averaged[0].asnumpy(), np.full((2, 3), 0.75, np.float32))
    context.set_auto_parallel_context(gradients_mean=True)
    assert nn.DistributedGradReducer(params).mean is True
    with pytest.raises(ValueError, match="'degree' in DistributedGradReducer"):
        nn.DistributedGradReducer(params, degree=0)
    with pytest.raises(ValueError, match="got 1 gradients for the 2 parameters"):
        nn.DistributedGradReducer(params)(grads[:1])


def _trained(steps: int):
    np.random.seed(0)
    net = nn.SequentialCell(nn.Dense(4, 5), nn.ReLU(), nn.Dense(5, 3))
    optimizer = nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), optimizer)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = rng.normal(size=(8, 4)).astype(np.float32)
        y = rng.normal(size=(8, 3)).astype(np.float32)
        loss = step(Tensor(x), Tensor(y))
    return step, {p.name: p.asnumpy().copy() for p in net.get_parameters()}, loss


def test_a_data_parallel_step_of_one_process_is_the_stand_alone_step():
    alone_step, alone, alone_loss = _trained(3)
    assert alone_step.reducer_flag is False
    cellc.communication.init()
    context.set_auto_parallel_context(parallel_mode="data_parallel", gradients_mean=True)
    step, weights, loss = _trained(3)
    assert step.reducer_flag and step.grad_reducer.mean and step.grad_reducer.degree == 1
    assert step.__dict__["_cellc_split"]  # loss and gradients, all-reduce, optimizer
    for name in alone:
        np.testing.assert_allclose(weights[name], alone[name], rtol=1e-6, atol=1e-7)
    assert float(loss.asnumpy()) == pytest.approx(float(alone_loss.asnumpy()), rel=1e-6)


def test_loss_scaling_is_refused_in_data_parallel_mode(job):
    net = nn.Dense(2, 1)
    optimizer = nn.SGD(net.trainable_params())
    with pytest.raises(UnsupportedError, match="TrainOneStepWithLossScaleCell does not train"):
        nn.TrainOneStepWithLossScaleCell(
            nn.WithLossCell(net, nn.MSELoss()), optimizer, Tensor(np.float32(1024.0))
        )


# --- sharded data sets --------------------------------------------------------------------


def _rows(dataset) -> list[int]:
    return [int(row[0].asnumpy()) for row in dataset.create_tuple_iterator()]


def _sharded(count, shards, shard, **kwargs):
    data = np.arange(count, dtype=np.int32)
    return ds.NumpySlicesDataset(data, num_shards=shards, shard_id=shard, **kwargs)


def test_shards_split_one_shuffled_order_whatever_each_process_drew():
    cellc.set_seed(7)
    whole = _rows(_sharded(12, 1, 0))
    assert sorted(whole) == list(range(12)) and whole != list(range(12))
    shards = []
    for shard in range(3):
        cellc.set_seed(7)  # the same global seed in every process
        np.random.seed(100 + shard)  # but each process's own numpy state
        shards.append(_rows(_sharded(12, 3, shard)))
    # shard k takes positions k, k + 3, ... of the one order (MindSpore's DistributedSampler)
    assert shards == [whole[k::3] for k in range(3)]


def test_a_sharded_data_set_reshuffles_each_pass_and_pads_by_wrapping():
    cellc.set_seed(3)
    dataset = _sharded(10, 4, 3)
    first, second = _rows(dataset), _rows(dataset)
    assert len(first) == len(second) == 3 == dataset.get_dataset_size()
    order = list(np.random.default_rng(3).permutation(10))
    padded = [order[i % 10] for i in range(12)]  # 10 rows padded to 12 by wrapping around
    assert first == padded[3::4]
    assert second != first
    assert _rows(_sharded(10, 4, 3, shuffle=False)) == [3, 7, 1]
