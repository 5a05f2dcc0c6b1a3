"""`mindspore.Model`: training, evaluation and prediction loops around a network.

`Model(network, loss_fn, optimizer, metrics)` builds what MindSpore builds:
- training: `TrainOneStepCell(WithLossCell(network, loss_fn), optimizer)`; without `loss_fn`,
  `TrainOneStepCell(network, optimizer)` (the network returns its loss and takes every
  dataset column); without an optimizer, the forward pass alone. The step compiles on the
  first batch; every later batch is one native call that updates the weights and the
  optimizer state in place and returns the loss.
- evaluation: `WithEvalCell(network, loss_fn)` -> `(loss, logits, label)`; the `Loss`
  metric reads the loss, the others `(logits, label)` (`eval_indexes` picks them from a
  custom `eval_network`'s outputs; without it every metric gets all outputs).
- prediction: the network itself, in evaluation mode.

`dataset_sink_mode=True` runs the same loop (as MindSpore does on CPU); with `sink_size > 0`
an "epoch" as the callbacks count it is `sink_size` steps. The training step is
`amp.build_train_network`'s: with a `loss_scale_manager`, a loss-scaled step; `amp_level` other
than "O0" is accepted, and cellc computes in the network's dtypes (cellc.amp).
"""

from __future__ import annotations

import sys

import numpy as np

from cellc import amp
from cellc.nn.cell import Cell
from cellc.nn.layers import WithLossCell
from cellc.nn.wrap import WithEvalCell
from cellc.tensor import Tensor

from .callback import CallbackList, InternalCallbackParam, RunContext, as_callback_list
from .metrics import Loss, get_metric_fn, get_metrics


def _as_tuple(element) -> tuple:
    return (element,) if isinstance(element, Tensor) else tuple(element)


def _follow_dynamic_batch(wrapper: Cell, network: Cell, inputs: tuple) -> None:
    """When the user's network was given a dynamic batch (`set_inputs` with None first), the
    cell Model built around it (loss, optimizer step, evaluation) takes every input with a
    dynamic batch too: it compiles once, and the last, smaller batch of an epoch compiles
    nothing (compiler/dynamic_batch.py)."""
    if wrapper is network or "_cellc_input_specs" in wrapper.__dict__:
        return
    specs = network.get_inputs()
    if not specs or getattr(specs[0], "shape", (0,))[:1] != (-1,):
        return
    if all(isinstance(t, Tensor) and t.ndim >= 1 for t in inputs):
        wrapper.set_inputs(*(Tensor(shape=[None, *t.shape[1:]], dtype=t.dtype) for t in inputs))


def _check_epochs(epoch, initial_epoch, what: str) -> None:
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch <= 0:
        raise ValueError(
            f"For '{what}', the parameter 'epoch' must be a positive int, got {epoch!r}"
        )
    if not isinstance(initial_epoch, int) or initial_epoch < 0:
        raise ValueError(
            f"For '{what}', 'initial_epoch' must be a non-negative int, got {initial_epoch!r}"
        )
    if initial_epoch >= epoch:
        raise ValueError(
            f"For '{what}', the parameter 'epoch' must bigger than parameter 'initial_epoch', "
            f"but got the parameter 'epoch' is {epoch}, 'initial_epoch' is {initial_epoch}."
        )


class Model:
    """MindSpore's high-level training API (see the module docstring)."""

    def __init__(self, network, loss_fn=None, optimizer=None, metrics=None, eval_network=None,
                 eval_indexes=None, amp_level="O0", boost_level="O0", **kwargs):  # fmt: skip
        if not isinstance(network, Cell):
            raise TypeError(
                f"For 'Model', the argument 'network' must be a Cell, got {type(network).__name__}"
            )
        unknown = set(kwargs) - {"loss_scale_manager", "keep_batchnorm_fp32"}
        if unknown:
            raise ValueError(
                "The argument in 'kwargs' should be 'loss_scale_manager' or "
                f"'keep_batchnorm_fp32', but got '{sorted(unknown)[0]}'."
            )
        self._network = network
        self._loss_fn = loss_fn
        self._optimizer = optimizer
        self._amp_level = amp_level
        self._loss_scale_manager = kwargs.get("loss_scale_manager")
        self._train_network = self._build_train_network()
        self._metric_fns = get_metrics(metrics)
        self._eval_network = eval_network
        self._eval_indexes = eval_indexes
        self._build_eval_network()
        self._predict_network = network

    # --- the networks --------------------------------------------------------------------

    def _build_train_network(self) -> Cell:
        if self._optimizer is not None:
            return amp.build_train_network(
                self._network,
                self._optimizer,
                self._loss_fn,
                level=self._amp_level,
                loss_scale_manager=self._loss_scale_manager,
            )
        if self._loss_fn is not None:
            return WithLossCell(self._network, self._loss_fn)
        return self._network

    def _build_eval_network(self) -> None:
        if not self._metric_fns:
            return
        if self._eval_network is not None:
            indexes = self._eval_indexes
            if indexes is not None and not (isinstance(indexes, list) and len(indexes) == 3):
                raise ValueError(
                    "The argument 'eval_indexes' must be a list or None. If 'eval_indexes' is a "
                    f"list, length of it must be three. But got 'eval_indexes' {indexes}"
                )
            return
        if self._loss_fn is None:
            raise ValueError(
                "If `metrics` is set, `eval_network` must not be None. Do not set `metrics` if "
                "you don't want an evaluation.\nIf evaluation is required, you need to specify "
                "`eval_network`, which will be used in the framework to evaluate the model.\n"
                "For the simple scenarios with one data, one label and one logits, "
                "`eval_network` is optional, and then you can set `eval_network` or `loss_fn`. "
                "For the latter case, framework will automatically build an evaluation network "
                "with `network` and `loss_fn`."
            )
        self._eval_network = WithEvalCell(self._network, self._loss_fn)
        self._eval_indexes = [0, 1, 2]

    @property
    def train_network(self):
        return self._train_network

    @property
    def eval_network(self):
        return self._eval_network

    @property
    def predict_network(self):
        return self._predict_network

    # --- training ------------------------------------------------------------------------

    def train(self, epoch, train_dataset, callbacks=None, dataset_sink_mode=False, sink_size=-1,
              initial_epoch=0):  # fmt: skip
        """Runs `epoch - initial_epoch` passes over `train_dataset`, one step per batch,
        calling the callbacks' hooks around each step and epoch."""
        self._fit(epoch, train_dataset, callbacks, dataset_sink_mode, sink_size, initial_epoch,
                  valid=None, what="Model.train")  # fmt: skip

    def fit(self, epoch, train_dataset, valid_dataset=None, valid_frequency=1, callbacks=None,
            dataset_sink_mode=False, valid_dataset_sink_mode=False, sink_size=-1,
            initial_epoch=0):  # fmt: skip
        """`train`, evaluating on `valid_dataset` at the end of every `valid_frequency`-th
        epoch: the callbacks see `metrics` and `eval_results` (with `eval_loss`) there."""
        if valid_dataset is not None and not self._metric_fns:
            raise ValueError(
                "For 'Model.fit', if valid_dataset is not None, the model argument 'metrics' can "
                "not be None or empty, you should set the argument 'metrics' for model."
            )
        valid = None if valid_dataset is None else (valid_dataset, valid_frequency)
        self._fit(epoch, train_dataset, callbacks, dataset_sink_mode, sink_size, initial_epoch,
                  valid=valid, what="Model.fit")  # fmt: skip

    def _fit(self, epoch, dataset, callbacks, sink_mode, sink_size, initial_epoch, valid, what):
        _check_epochs(epoch, initial_epoch, what)
        dataset_size = dataset.get_dataset_size()
        if dataset_size == 0:
            raise ValueError(
                "There is no valid data in dataset, please check dataset file firstly."
            )
        if not isinstance(sink_size, int) or sink_size < -1 or sink_size == 0:
            raise ValueError(
                f"For '{what}', The argument 'sink_size' must be -1 or positive, "
                f"but got {sink_size}."
            )
        cb_params = InternalCallbackParam(
            cur_step_num=0,
            train_network=self._train_network,
            epoch_num=epoch - initial_epoch,
            batch_num=sink_size if sink_mode and sink_size > 0 else dataset_size,
            mode="train",
            loss_fn=self._loss_fn,
            optimizer=self._optimizer,
            parallel_mode="stand_alone",
            device_number=1,
            train_dataset=dataset,
            list_callback=as_callback_list(callbacks),
            train_dataset_element=None,
            network=self._network,
            last_save_ckpt_step=None,
            latest_ckpt_file=None,
            dataset_sink_mode=bool(sink_mode),
        )
        hooks = CallbackList(cb_params.list_callback)
        run_context = RunContext(cb_params)
        progress = Progress(cb_params.batch_num, epoch)
        self._train_network.set_train(True)
        hooks.on_train_begin(run_context)
        for epoch_index in range(initial_epoch, epoch):
            cb_params.cur_epoch_num = epoch_index + 1
            hooks.on_train_epoch_begin(run_context)
            for element in dataset.create_tuple_iterator():
                inputs = _as_tuple(element)
                if self._loss_fn is not None and len(inputs) != 2:
                    raise ValueError(
                        "When 'loss_fn' is not None, 'train_dataset' should return two elements, "
                        f"but got {len(inputs)}, please check the number of elements returned by "
                        "'train_dataset'"
                    )
                cb_params.cur_step_num += 1
                cb_params.train_dataset_element = inputs
                hooks.on_train_step_begin(run_context)
                _follow_dynamic_batch(self._train_network, self._network, inputs)
                cb_params.net_outputs = self._train_network(*inputs)
                progress.step(
                    cb_params.cur_epoch_num, cb_params.cur_step_num, cb_params.net_outputs
                )
                hooks.on_train_step_end(run_context)
                if run_context.get_stop_requested():
                    break
            if valid is not None and cb_params.cur_epoch_num % valid[1] == 0:
                self._eval_during_fit(valid[0], cb_params, hooks)
            hooks.on_train_epoch_end(run_context)
            cb_params.pop("metrics", None)
            cb_params.pop("eval_results", None)
            if run_context.get_stop_requested():
                break
        progress.close()
        hooks.on_train_end(run_context)

    def _eval_during_fit(self, dataset, cb_params, hooks) -> None:
        saved = {k: cb_params[k] for k in ("cur_step_num", "batch_num", "net_outputs")}
        cb_params.update(
            eval_network=self._eval_network,
            valid_dataset=dataset,
            batch_num=dataset.get_dataset_size(),
            mode="eval",
            cur_step_num=0,
        )
        eval_loss = get_metric_fn("loss")
        self._run_eval(dataset, hooks, cb_params, eval_loss)
        self._train_network.set_train(True)
        cb_params.update(saved, mode="train")

    # --- evaluation and prediction -------------------------------------------------------

    def eval(self, valid_dataset, callbacks=None, dataset_sink_mode=False):
        """`{metric name: value}` over `valid_dataset`."""
        if not self._metric_fns:
            raise ValueError(
                "For Model.eval, the model argument 'metrics' can not be None or empty, "
                "you should set the argument 'metrics' for model."
            )
        cb_params = InternalCallbackParam(
            eval_network=self._eval_network,
            valid_dataset=valid_dataset,
            batch_num=valid_dataset.get_dataset_size(),
            mode="eval",
            cur_step_num=0,
            list_callback=as_callback_list(callbacks),
            network=self._network,
        )
        return self._run_eval(valid_dataset, CallbackList(cb_params.list_callback), cb_params)

    def _run_eval(self, dataset, hooks, cb_params, eval_loss: Loss | None = None) -> dict:
        run_context = RunContext(cb_params)
        cb_params.dataset_sink_mode = False
        for metric in self._metric_fns.values():
            metric.clear()
        self._eval_network.set_train(False)
        hooks.on_eval_begin(run_context)
        hooks.on_eval_epoch_begin(run_context)
        for element in dataset.create_tuple_iterator():
            inputs = _as_tuple(element)
            cb_params.cur_step_num += 1
            cb_params.eval_dataset_element = inputs
            hooks.on_eval_step_begin(run_context)
            _follow_dynamic_batch(self._eval_network, self._network, inputs)
            outputs = self._eval_network(*inputs)
            cb_params.net_outputs = outputs
            hooks.on_eval_step_end(run_context)
            self._update_metrics(outputs)
            if eval_loss is not None:
                eval_loss.update(outputs[self._eval_indexes[0]])
            if run_context.get_stop_requested():
                break
        hooks.on_eval_epoch_end(run_context)
        metrics = {name: metric.eval() for name, metric in self._metric_fns.items()}
        cb_params.metrics = metrics
        if eval_loss is not None:
            cb_params.eval_results = {**metrics, "eval_loss": eval_loss.eval()}
        hooks.on_eval_end(run_context)
        return metrics

    def _update_metrics(self, outputs) -> None:
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        if not isinstance(outputs, tuple):
            raise ValueError(f"The argument 'outputs' should be tuple, but got {type(outputs)}.")
        if self._eval_indexes is not None and len(outputs) < 3:
            raise ValueError(f"The length of 'outputs' must be >= 3, but got {len(outputs)}")
        loss, logits, label = self._eval_indexes or (None, None, None)
        for metric in self._metric_fns.values():
            if self._eval_indexes is None:
                metric.update(*outputs)
            elif isinstance(metric, Loss):
                metric.update(outputs[loss])
            else:
                metric.update(outputs[logits], outputs[label])

    def predict(self, *predict_data, backend=None, config=None):
        """The network's outputs on `predict_data`, in evaluation mode."""
        for item in predict_data:
            if isinstance(item, Tensor) and item.size == 0:
                raise ValueError("The input data can not be empty.")
        self._predict_network.set_train(False)
        return self._predict_network(*predict_data)


__all__ = ["Model"]


class Progress:
    """A one-line progress bar of the training steps on stderr, when stderr is a terminal (and
    nothing otherwise, so that logs and LossMonitor's lines stay as MindSpore prints them)."""

    WIDTH = 30

    def __init__(self, steps_per_epoch: int, epochs: int, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.epochs = epochs
        self.shown = False

    def step(self, epoch: int, step: int, outputs) -> None:
        if not self.enabled:
            return
        in_epoch = (step - 1) % self.steps_per_epoch + 1
        filled = self.WIDTH * in_epoch // self.steps_per_epoch
        bar = "#" * filled + "." * (self.WIDTH - filled)
        loss = outputs[0] if isinstance(outputs, tuple) else outputs
        value = (
            f"  loss {float(np.asarray(loss.asnumpy()).ravel()[0]):.4f}" if loss is not None else ""
        )
        self.stream.write(
            f"\repoch {epoch}/{self.epochs} [{bar}] {in_epoch}/{self.steps_per_epoch}{value}"
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
