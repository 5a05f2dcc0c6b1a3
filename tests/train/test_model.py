"""mindspore.Model as MindSpore 2.10 runs it: train is one TrainOneStepCell step per batch
(the same losses and weights as calling the step by hand), a network that returns its own loss,
no optimizer, eval's {name: value}, predict, sink mode, fit, and MindSpore's errors."""

import numpy as np
import pytest

from cellc import Model, Tensor, nn
from cellc import dataset as ds
from cellc.train import Callback, LossMonitor

RNG = np.random.default_rng(1)
X = RNG.normal(size=(20, 4)).astype(np.float32)
Y = (np.arange(20) % 3).astype(np.int32)
W = RNG.normal(size=(3, 4)).astype(np.float32)
B = RNG.normal(size=(3,)).astype(np.float32)


def data(columns=None):
    return ds.NumpySlicesDataset(columns or {"data": X, "label": Y}, shuffle=False).batch(5)


def dense():
    net = nn.Dense(4, 3)
    net.weight.asnumpy()[...] = W
    net.bias.asnumpy()[...] = B
    return net


def loss_fn():
    return nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")


class Recorder(Callback):
    def __init__(self):
        self.seen = []

    def on_train_step_end(self, run_context):
        cb = run_context.original_args()
        self.seen.append((cb.cur_epoch_num, cb.cur_step_num, float(cb.net_outputs.asnumpy())))
        assert cb.batch_num == 4 and cb.epoch_num == 2 and cb.mode == "train"
        assert isinstance(cb.train_network, nn.TrainOneStepCell)


def test_train_is_one_train_one_step_cell_call_per_batch(capsys):
    net = dense()
    model = Model(net, loss_fn(), nn.Momentum(net.trainable_params(), 0.1, 0.9))
    recorder = Recorder()
    model.train(2, data(), callbacks=[recorder, LossMonitor()])
    by_hand = dense()
    step = nn.TrainOneStepCell(
        nn.WithLossCell(by_hand, loss_fn()), nn.Momentum(by_hand.trainable_params(), 0.1, 0.9)
    )
    losses = [float(step(Tensor(X[i : i + 5]), Tensor(Y[i : i + 5])).asnumpy())
              for _ in range(2) for i in range(0, 20, 5)]  # fmt: skip
    assert [s[:2] for s in recorder.seen] == [
        (e, s) for e in (1, 2) for s in range(4 * e - 3, 4 * e + 1)
    ]
    np.testing.assert_allclose([s[2] for s in recorder.seen], losses, rtol=1e-6)
    np.testing.assert_allclose(net.weight.asnumpy(), by_hand.weight.asnumpy(), rtol=1e-6)
    lines = capsys.readouterr().out.splitlines()
    assert lines[5] == f"epoch: 2 step: 2, loss is {np.float32(losses[5]).item()}"


def test_a_network_with_its_loss_and_no_loss_fn():
    net = dense()
    model = Model(nn.WithLossCell(net, loss_fn()), optimizer=nn.SGD(net.trainable_params(), 0.1))
    model.train(1, data())
    assert not np.allclose(net.weight.asnumpy(), W)
    assert isinstance(model.train_network, nn.TrainOneStepCell)


def test_without_an_optimizer_train_runs_the_forward_pass():
    net = dense()
    recorder = []
    callback = Callback()
    callback.step_end = lambda rc: recorder.append(rc.original_args().net_outputs)
    Model(net, loss_fn()).train(1, data().take(1), callbacks=callback)
    np.testing.assert_array_equal(net.weight.asnumpy(), W)
    assert recorder and recorder[0].shape == ()


def test_eval_returns_each_metric_and_predict_the_logits():
    net = dense()
    model = Model(net, loss_fn(), metrics={"acc", "loss"})
    logits = X @ W.T + B
    result = model.eval(data())
    assert set(result) == {"acc", "loss"}
    assert result["acc"] == pytest.approx((logits.argmax(1) == Y).mean())
    shifted = logits - logits.max(1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    per_sample = -log_softmax[np.arange(20), Y]
    assert result["loss"] == pytest.approx(per_sample.reshape(4, 5).mean(1).mean(), rel=1e-5)
    np.testing.assert_allclose(model.predict(Tensor(X[:2])).asnumpy(), logits[:2], rtol=1e-5)


def test_eval_network_and_eval_indexes():
    net = dense()
    eval_net = nn.WithEvalCell(net, loss_fn())
    model = Model(
        net, metrics={"acc": nn.Accuracy()}, eval_network=eval_net, eval_indexes=[0, 1, 2]
    )
    assert model.eval(data())["acc"] == pytest.approx(((X @ W.T + B).argmax(1) == Y).mean())
    with pytest.raises(ValueError, match="'eval_indexes' must be a list or None"):
        Model(net, metrics={"acc"}, eval_network=eval_net, eval_indexes=[0, 1])


def test_sink_mode_runs_the_same_steps_with_sink_size_epochs(capsys):
    net = dense()
    model = Model(net, loss_fn(), nn.Momentum(net.trainable_params(), 0.1, 0.9))
    model.train(1, data(), callbacks=LossMonitor(), dataset_sink_mode=True, sink_size=2)
    steps = [line.split(",")[0] for line in capsys.readouterr().out.splitlines()]
    # MindSpore 2.10 on CPU: the whole data set, steps counted modulo sink_size
    assert steps == ["epoch: 1 step: 1", "epoch: 1 step: 2"] * 2


def test_fit_evaluates_at_each_epoch_end(capsys):
    net = dense()
    model = Model(net, loss_fn(), nn.Momentum(net.trainable_params(), 0.1, 0.9), {"acc"})
    seen = []

    class Results(Callback):
        def on_train_epoch_end(self, run_context):
            seen.append(run_context.original_args().eval_results)

    model.fit(2, data(), data(), callbacks=[LossMonitor(4), Results()])
    out = capsys.readouterr().out
    assert "Eval result: epoch 2, metrics: {'acc': " in out
    assert len(seen) == 2 and set(seen[0]) == {"acc", "eval_loss"}


def test_request_stop_ends_training_after_the_step():
    net = dense()
    model = Model(net, loss_fn(), nn.SGD(net.trainable_params(), 0.1))
    steps = []
    callback = Callback()

    def stop_at_two(run_context):
        steps.append(run_context.original_args().cur_step_num)
        if len(steps) == 2:
            run_context.request_stop()

    callback.step_end = stop_at_two
    model.train(3, data(), callbacks=callback)
    assert steps == [1, 2]


def test_mindspores_errors():
    net = dense()
    with pytest.raises(ValueError, match="should return two elements, but got 3"):
        columns = {"a": X, "b": Y, "c": Y}
        Model(net, loss_fn(), nn.SGD(net.trainable_params(), 0.1)).train(1, data(columns))
    with pytest.raises(ValueError, match="the model argument 'metrics' can not be None or empty"):
        Model(net).eval(data())
    with pytest.raises(ValueError, match="If `metrics` is set, `eval_network` must not be None"):
        Model(net, metrics={"acc"})
    with pytest.raises(TypeError, match="the elements in 'callbacks' must be Callback"):
        Model(net, loss_fn()).train(1, data(), callbacks=[1])
    with pytest.raises(ValueError, match="'epoch' must bigger than parameter 'initial_epoch'"):
        Model(net, loss_fn()).train(2, data(), initial_epoch=2)
    with pytest.raises(ValueError, match="'sink_size' must be -1 or positive, but got 0"):
        Model(net, loss_fn()).train(1, data(), sink_size=0)


def test_mindspore_spellings():
    from cellc import compat

    compat.install()
    try:
        import mindspore
        from mindspore.nn.metrics import Accuracy
        from mindspore.train import Model as TrainModel
        from mindspore.train.callback import LossMonitor as Monitor

        assert mindspore.Model is TrainModel is Model
        assert Monitor is LossMonitor and Accuracy is nn.Accuracy
    finally:
        compat.uninstall()


def test_a_progress_bar_on_a_terminal_only():
    import io

    from cellc.train.model import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen, log = Terminal(), io.StringIO()
    for stream in (screen, log):
        bar = Progress(steps_per_epoch=4, epochs=2, stream=stream)
        for step in range(1, 9):
            bar.step(1 + (step - 1) // 4, step, Tensor(np.array(0.5, np.float32)))
        bar.close()
    assert log.getvalue() == ""
    last = screen.getvalue().rstrip("\n").split("\r")[-1]
    assert last == f"epoch 2/2 [{'#' * 30}] 4/4  loss 0.5000"
