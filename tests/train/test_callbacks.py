"""Callbacks as MindSpore 2.10 runs them: what LossMonitor and TimeMonitor print (the text
MindSpore prints for the same steps), ModelCheckpoint's file names and contents, EarlyStopping
stopping, History, the old and new hook names."""

import re

import numpy as np
import pytest

from cellc import Model, Tensor, load_checkpoint, nn
from cellc import dataset as ds
from cellc.train import (
    Callback,
    CheckpointConfig,
    EarlyStopping,
    History,
    LambdaCallback,
    LossMonitor,
    ModelCheckpoint,
    RunContext,
    TimeMonitor,
)
from cellc.train.callback import InternalCallbackParam

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 4)).astype(np.float32)
Y = (np.arange(20) % 3).astype(np.int32)


def data():
    return ds.NumpySlicesDataset({"data": X, "label": Y}, shuffle=False).batch(5)  # 4 steps


def model(lr=0.1):
    net = nn.Dense(4, 3)
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    return Model(net, loss, nn.Momentum(net.trainable_params(), lr, 0.9))


def context(step, batch_num=4, loss=2.5, sink=False):
    params = InternalCallbackParam(
        cur_epoch_num=(step - 1) // batch_num + 1,
        cur_step_num=step,
        batch_num=batch_num,
        net_outputs=Tensor(np.array(loss, np.float32)),
        dataset_sink_mode=sink,
        mode="train",
    )
    return RunContext(params)


def test_loss_monitor_prints_mindspores_line(capsys):
    monitor = LossMonitor()
    monitor.on_train_step_end(context(6, loss=0.9447814))
    # MindSpore: the step within the epoch and the float32 loss as a Python float
    assert capsys.readouterr().out == "epoch: 2 step: 2, loss is 0.9447814226150513\n"


def test_loss_monitor_per_print_times_across_epochs_and_runs(capsys):
    """MindSpore 2.10, 2 epochs of 4 steps, LossMonitor(3): steps 3 and 6 print."""
    monitor = LossMonitor(3)
    for step in range(1, 9):
        monitor.on_train_step_end(context(step))
    for step in range(1, 4):  # a second Model.train starts counting again
        monitor.on_train_step_end(context(step))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "epoch: 1 step: 3",
        "epoch: 2 step: 2",
        "epoch: 1 step: 3",
    ]
    LossMonitor(0).on_train_step_end(context(1))
    assert capsys.readouterr().out == ""


def test_loss_monitor_stops_on_nan():
    with pytest.raises(ValueError, match="In epoch: 1 step: 2, loss is NAN or INF, training"):
        LossMonitor().on_train_step_end(context(2, loss=np.nan))
    with pytest.raises(ValueError, match="must be a non-negative int"):
        LossMonitor(-1)


def test_time_monitor_format(capsys):
    monitor = TimeMonitor()
    run = context(4)
    monitor.on_train_epoch_begin(run)
    monitor.on_train_epoch_end(run)
    line = capsys.readouterr().out
    assert re.fullmatch(r"Train epoch time: \d+\.\d{3} ms, per step time: \d+\.\d{3} ms\n", line)


def test_old_and_new_hook_names():
    calls = []

    class Old(Callback):
        def begin(self, run_context):
            calls.append("begin")

        def step_end(self, run_context):
            calls.append("step_end")

    class New(Callback):
        def on_train_step_end(self, run_context):
            calls.append("on_train_step_end")

        def on_eval_step_end(self, run_context):
            calls.append("on_eval_step_end")

    run = context(1)
    for callback in (Old(), New()):
        callback.on_train_begin(run)
        callback.on_train_step_end(run)
        callback.on_eval_step_end(run)
    assert calls == ["begin", "step_end", "step_end", "on_train_step_end", "on_eval_step_end"]
    lam = LambdaCallback(on_train_end=lambda rc: calls.append("lambda"))
    lam.on_train_end(run)
    assert calls[-1] == "lambda"
    with pytest.raises(TypeError, match="LambdaCallback has no hook 'on_fly'"):
        LambdaCallback(on_fly=print)


def test_cb_params_read_as_attributes_and_stop():
    run = context(3)
    assert run.original_args().cur_step_num == 3 and run.original_args()["batch_num"] == 4
    assert not run.get_stop_requested()
    run.request_stop()
    assert run.get_stop_requested()
    with pytest.raises(TypeError, match="should be dict type"):
        RunContext(3)


def test_model_checkpoint_names_kept_files_and_contents(tmp_path):
    m = model()
    config = CheckpointConfig(save_checkpoint_steps=3, keep_checkpoint_max=2)
    checkpoint = ModelCheckpoint(prefix="net", directory=str(tmp_path), config=config)
    m.train(2, data(), callbacks=[checkpoint])
    # MindSpore 2.10 writes net-1_3, net-2_2, net-2_4 (the end of training) and keeps 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net-2_2.ckpt", "net-2_4.ckpt"]
    assert checkpoint.latest_ckpt_file_name == str(tmp_path / "net-2_4.ckpt")
    saved = load_checkpoint(str(tmp_path / "net-2_4.ckpt"))
    # the Parameters' names as MindSpore saves them, the optimizer's state included
    assert list(saved) == ["weight", "bias", "global_step", "moments.weight", "moments.bias"]
    train = m.train_network
    np.testing.assert_array_equal(
        saved["weight"].asnumpy(), train.network._backbone.weight.asnumpy()
    )
    np.testing.assert_array_equal(
        saved["moments.bias"].asnumpy(), train.optimizer.moments[1].asnumpy()
    )
    assert saved["global_step"].asnumpy().tolist() == [8]
    # a prefix already used in the directory becomes prefix_1
    again = ModelCheckpoint(prefix="net", directory=str(tmp_path))
    again_model = model()
    again_model.train(1, data().take(1), callbacks=[again])
    assert (tmp_path / "net_1-1_1.ckpt").exists()


def test_checkpoint_config_checks():
    with pytest.raises(ValueError, match="can't be all None or 0"):
        CheckpointConfig(0, 0, 0, 0)
    with pytest.raises(ValueError, match="must be callable or string that does not contain '/'"):
        ModelCheckpoint(prefix="a/b")
    with pytest.raises(TypeError, match="should be 'CheckpointConfig'"):
        ModelCheckpoint(config={})
    assert CheckpointConfig(keep_checkpoint_max=0).keep_checkpoint_max == 1


def test_early_stopping_stops_when_the_loss_stalls(capsys):
    m = model(lr=0.0)  # the loss never changes
    stop = EarlyStopping(monitor="loss", patience=1, verbose=True)
    history = History()
    m.train(10, data(), callbacks=[stop, history, LossMonitor(4)])
    out = capsys.readouterr().out.splitlines()
    # MindSpore 2.10 stops after epoch 2 and prints this
    assert stop.stopped_epoch == 2 and out[-1] == "Epoch 00002: early stopping"
    assert history.epoch == {"epoch": [1, 2]}
    assert len(history.history["net_output"]) == 2


def test_early_stopping_keeps_going_while_the_loss_improves():
    m = model(lr=0.05)
    stop = EarlyStopping(monitor="loss", patience=3)
    m.train(3, data(), callbacks=[stop])
    assert stop.stopped_epoch == 0
    with pytest.raises(ValueError, match="mode should be 'auto', 'min' or 'max'"):
        EarlyStopping(mode="up")
