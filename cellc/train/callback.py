"""MindSpore's training callbacks (`mindspore.train.Callback`, `LossMonitor`, `TimeMonitor`,
`ModelCheckpoint` + `CheckpointConfig`, `EarlyStopping`, `History`, `LambdaCallback`) and the
`RunContext` that `Model.train` / `Model.eval` hand them.

`run_context.original_args()` is MindSpore's cb_params: a dict whose keys read as attributes
(`cur_epoch_num`, `cur_step_num` (counted over the whole run), `batch_num` (steps per epoch),
`epoch_num`, `net_outputs` (the step's loss Tensor), `train_network`, `network`, `optimizer`,
`loss_fn`, `mode`, `dataset_sink_mode`, ...). What the callbacks print is MindSpore's text.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from cellc import context
from cellc.communication import engine
from cellc.serialization import load_param_into_net, save_checkpoint
from cellc.tensor import Tensor

_LOG = logging.getLogger("cellc.train")


class Callback:
    """Base of every callback. Each hook receives the RunContext. The `on_train_*` and
    `on_eval_*` hooks call MindSpore's older names (`begin`, `epoch_begin`, `epoch_end`,
    `step_begin`, `step_end`, `end`) unless overridden, so either style works."""

    def __enter__(self):
        return self

    def __exit__(self, *err):
        return None

    # MindSpore's first hooks, shared by training and evaluation
    def begin(self, run_context):
        pass

    def epoch_begin(self, run_context):
        pass

    def epoch_end(self, run_context):
        pass

    def step_begin(self, run_context):
        pass

    def step_end(self, run_context):
        pass

    def end(self, run_context):
        pass

    # training
    def on_train_begin(self, run_context):
        self.begin(run_context)

    def on_train_epoch_begin(self, run_context):
        self.epoch_begin(run_context)

    def on_train_epoch_end(self, run_context):
        self.epoch_end(run_context)

    def on_train_step_begin(self, run_context):
        self.step_begin(run_context)

    def on_train_step_end(self, run_context):
        self.step_end(run_context)

    def on_train_end(self, run_context):
        self.end(run_context)

    # evaluation
    def on_eval_begin(self, run_context):
        self.begin(run_context)

    def on_eval_epoch_begin(self, run_context):
        self.epoch_begin(run_context)

    def on_eval_epoch_end(self, run_context):
        self.epoch_end(run_context)

    def on_eval_step_begin(self, run_context):
        self.step_begin(run_context)

    def on_eval_step_end(self, run_context):
        self.step_end(run_context)

    def on_eval_end(self, run_context):
        self.end(run_context)


HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class CallbackList:
    """Calls each hook on every callback, in order (MindSpore's _CallbackManager)."""

    def __init__(self, callbacks):
        self.callbacks = as_callback_list(callbacks)

    def __getattr__(self, hook):
        if hook not in HOOKS:
            raise AttributeError(hook)

        def call_all(run_context):
            for callback in self.callbacks:
                getattr(callback, hook)(run_context)

        return call_all


def as_callback_list(callbacks) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if isinstance(callbacks, (list, tuple)):
        if not all(isinstance(callback, Callback) for callback in callbacks):
            raise TypeError(
                "When the 'callbacks' is a list, the elements in 'callbacks' must be Callback "
                "functions."
            )
        return list(callbacks)
    raise TypeError("The 'callbacks' is not a Callback or a list of Callback.")


class InternalCallbackParam(dict):
    """cb_params: a dict whose keys read and write as attributes."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"cb_params has no '{key}'") from None

    def __setattr__(self, key, value):
        self[key] = value


class RunContext:
    """What a callback is handed: `original_args()` (cb_params) and `request_stop()`, which
    ends training after the current step (and the epoch's end hooks)."""

    def __init__(self, original_args):
        if not isinstance(original_args, dict):
            raise TypeError(
                "The argument 'original_args' of RunContext should be dict type, "
                f"but got {type(original_args)}."
            )
        self._original_args = original_args
        self._stop_requested = False

    def original_args(self):
        return self._original_args

    def request_stop(self):
        self._stop_requested = True

    def get_stop_requested(self):
        return self._stop_requested


def scalar_loss(outputs):
    """MindSpore's reading of a step's outputs as the loss: the first of a tuple, the mean of
    a Tensor, as a Python float."""
    if isinstance(outputs, (tuple, list)) and outputs and isinstance(outputs[0], Tensor):
        outputs = outputs[0]
    if isinstance(outputs, Tensor):
        return float(np.mean(outputs.asnumpy()))
    return outputs


def _check_non_negative_int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"The argument '{name}' must be a non-negative int, but got {value!r}.")
    return value


class LossMonitor(Callback):
    """Prints `epoch: E step: S, loss is L` every `per_print_times` steps (0: never), S counted
    within the epoch; stops training with a ValueError when the loss is NaN or infinite."""

    def __init__(self, per_print_times=1):
        super().__init__()
        self._per_print_times = _check_non_negative_int(per_print_times, "per_print_times")
        self._last_print_time = 0

    def step_end(self, run_context):
        cb_params = run_context.original_args()
        epoch = cb_params.get("cur_epoch_num", 1)
        loss = scalar_loss(cb_params.net_outputs)
        step_in_epoch = (cb_params.cur_step_num - 1) % cb_params.batch_num + 1
        if isinstance(loss, float) and (np.isnan(loss) or np.isinf(loss)):
            raise ValueError(
                f"In epoch: {epoch} step: {step_in_epoch}, loss is NAN or INF, training process "
                "cannot continue, terminating training."
            )
        every = self._per_print_times
        if every == 0:
            return
        while cb_params.cur_step_num <= self._last_print_time:  # a new Model.train run
            self._last_print_time -= max(
                every, cb_params.batch_num if cb_params.dataset_sink_mode else 1
            )
        if cb_params.cur_step_num - self._last_print_time >= every:
            self._last_print_time = cb_params.cur_step_num
            print(f"epoch: {epoch} step: {step_in_epoch}, loss is {loss}", flush=True)

    def on_train_epoch_end(self, run_context):
        cb_params = run_context.original_args()
        metrics = cb_params.get("metrics")
        if metrics:
            print(f"Eval result: epoch {cb_params.cur_epoch_num:d}, metrics: {metrics}")


class TimeMonitor(Callback):
    """Prints `Train epoch time: T ms, per step time: S ms` at each epoch's end (`Eval ...`
    in evaluation)."""

    def __init__(self, data_size=None, data_time=False):
        super().__init__()
        self.data_size = data_size
        self.data_time = bool(data_time)
        self.epoch_time = time.time()
        self._data_time_sum = 0.0
        self._data_time_start = 0.0

    def on_train_step_begin(self, run_context):
        if self.data_time:
            self._data_time_sum += time.time() - self._data_time_start

    def on_train_step_end(self, run_context):
        if self.data_time:
            self._data_time_start = time.time()

    def epoch_begin(self, run_context):
        self.epoch_time = time.time()
        self._data_time_sum = 0.0
        self._data_time_start = time.time()

    def epoch_end(self, run_context):
        epoch_ms = (time.time() - self.epoch_time) * 1000
        cb_params = run_context.original_args()
        step_size = self.data_size
        batch_num = cb_params.get("batch_num")
        if isinstance(batch_num, int) and batch_num > 0:
            step_size = batch_num
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(
                f"For 'TimeMonitor', the step count must be a positive int, got {step_size}"
            )
        line = "{} epoch time: {:5.3f} ms, per step time: {:5.3f} ms".format(
            cb_params.get("mode", "").title(), epoch_ms, epoch_ms / step_size
        )
        if self.data_time:
            line += f" (data time: {self._data_time_sum * 1000 / step_size:5.3f} ms)"
        print(line, flush=True)


class History(Callback):
    """Records each epoch's number (`history.epoch["epoch"]`) and its last step's loss and
    metrics (`history.history["net_output"]`, ...)."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = None

    def begin(self, run_context):
        self.epoch = {"epoch": []}

    def epoch_end(self, run_context):
        cb_params = run_context.original_args()
        self.epoch["epoch"].append(cb_params.get("cur_epoch_num", 1))
        net_output = cb_params.net_outputs
        if isinstance(net_output, (tuple, list)) and isinstance(net_output[0], Tensor):
            net_output = net_output[0]
        if isinstance(net_output, Tensor):
            net_output = np.mean(net_output.asnumpy())
        current = {"net_output": net_output, **(cb_params.get("metrics") or {})}
        for key, value in current.items():
            self.history.setdefault(key, []).append(value)


class LambdaCallback(Callback):
    """A callback made of functions: `LambdaCallback(on_train_step_end=lambda rc: ...)`."""

    def __init__(self, **hooks):
        super().__init__()
        for name, function in hooks.items():
            if name not in HOOKS:
                raise TypeError(f"LambdaCallback has no hook '{name}'; hooks: {', '.join(HOOKS)}")
            if function is not None:
                setattr(self, name, function)


# metrics where smaller is better: EarlyStopping's mode='auto' minimizes them
_SMALLER_BETTER = {
    "hausdorff_distance", "mae", "mse", "loss", "perplexity", "mean_surface_distance",
    "root_mean_square_distance", "eval_loss",
}  # fmt: skip


class EarlyStopping(Callback):
    """Stops training when `monitor` ('loss' in `Model.train`; 'eval_loss' or a metric in
    `Model.fit`) has not improved by more than `min_delta` for `patience` epochs."""

    def __init__(self, monitor="eval_loss", min_delta=0, patience=0, verbose=False, mode="auto",
                 baseline=None, restore_best_weights=False):  # fmt: skip
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode should be 'auto', 'min' or 'max', but got {mode}.")
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = _check_non_negative_int(patience, "patience")
        self.verbose = bool(verbose)
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights_param_dict = None
        self._minimize = mode == "min" or (mode == "auto" and monitor in _SMALLER_BETTER)
        self.best = np.inf if self._minimize else -np.inf

    def is_improvement(self, current, reference) -> bool:
        if self._minimize:
            return bool(np.less(current, reference - self.min_delta))
        return bool(np.greater(current, reference + self.min_delta))

    def on_train_begin(self, run_context):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self._minimize else -np.inf
        self.best_weights_param_dict = None

    def on_train_epoch_end(self, run_context):
        cb_params = run_context.original_args()
        current = self._monitor_value(cb_params)
        if current is None:
            return
        network = cb_params.train_network
        if self.restore_best_weights and self.best_weights_param_dict is None:
            self.best_weights_param_dict = _copy_parameters(network)
        self.wait += 1
        if self.is_improvement(current, self.best):
            self.best = current
            if self.restore_best_weights:
                self.best_weights_param_dict = _copy_parameters(network)
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
        if self.wait >= self.patience:
            self.stopped_epoch = cb_params.get("cur_epoch_num")
            run_context.request_stop()
            if self.restore_best_weights and self.best_weights_param_dict is not None:
                if self.verbose:
                    print("Restoring model weights from the end of the best epoch.")
                load_param_into_net(network, self.best_weights_param_dict)

    def on_train_end(self, run_context):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch:05d}: early stopping")

    def _monitor_value(self, cb_params):
        candidates = {}
        if self.monitor == "loss":
            value = scalar_loss(cb_params.get("net_outputs"))
        else:
            candidates = cb_params.get("eval_results", {})
            value = candidates.get(self.monitor)
        if value is None:
            _LOG.warning(
                "Early stopping is conditioned on %s, which is not available. Available choices "
                "are: %s",
                self.monitor,
                {"loss", *candidates},
            )
            return None
        value = np.array(value)
        if value.shape != ():
            raise ValueError("EarlyStopping only supports scalar monitor now.")
        return value


def _copy_parameters(network) -> dict:
    """{path: array copy} of the network's parameters, as load_param_into_net reads them."""
    return {name: p.asnumpy().copy() for name, p in network.parameters_and_names()}


class CheckpointConfig:
    """When `ModelCheckpoint` saves and how many files it keeps: every `save_checkpoint_steps`
    steps (or `save_checkpoint_seconds`), the last `keep_checkpoint_max` files (or one per
    `keep_checkpoint_per_n_minutes`); `saved_network` instead of the training network;
    `append_info`: "epoch_num", "step_num" and {name: value} entries added to each file."""

    def __init__(self, save_checkpoint_steps=1, save_checkpoint_seconds=0, keep_checkpoint_max=5,
                 keep_checkpoint_per_n_minutes=0, integrated_save=True, async_save=False,
                 saved_network=None, append_info=None, enc_key=None, enc_mode="AES-GCM",
                 exception_save=False, crc_check=False, remove_redundancy=False, format="ckpt",
                 **kwargs):  # fmt: skip
        for name, value in (
            ("save_checkpoint_steps", save_checkpoint_steps),
            ("save_checkpoint_seconds", save_checkpoint_seconds),
            ("keep_checkpoint_max", keep_checkpoint_max),
            ("keep_checkpoint_per_n_minutes", keep_checkpoint_per_n_minutes),
        ):
            if value is not None:
                _check_non_negative_int(value, name)
        if not (save_checkpoint_steps or save_checkpoint_seconds or keep_checkpoint_max
                or keep_checkpoint_per_n_minutes):  # fmt: skip
            raise ValueError(
                "For 'CheckpointConfig', the input arguments 'save_checkpoint_steps', "
                "'save_checkpoint_seconds', 'keep_checkpoint_max' and "
                "'keep_checkpoint_per_n_minutes' can't be all None or 0."
            )
        if format != "ckpt":
            raise ValueError(f"For 'CheckpointConfig', cellc writes format='ckpt', got {format!r}")
        if enc_key is not None:
            raise ValueError("For 'CheckpointConfig', cellc does not encrypt checkpoints (enc_key)")
        self._save_checkpoint_steps = save_checkpoint_steps
        self._save_checkpoint_seconds = None if save_checkpoint_steps else save_checkpoint_seconds
        self._keep_checkpoint_max = keep_checkpoint_max
        self._keep_checkpoint_per_n_minutes = keep_checkpoint_per_n_minutes
        if keep_checkpoint_max:
            self._keep_checkpoint_per_n_minutes = None
        elif not keep_checkpoint_per_n_minutes:
            self._keep_checkpoint_max = 1
        self._integrated_save = integrated_save
        self._async_save = async_save
        self._saved_network = saved_network
        self._append_dict = _append_info(append_info)
        self._format = format

    save_checkpoint_steps = property(lambda self: self._save_checkpoint_steps)
    save_checkpoint_seconds = property(lambda self: self._save_checkpoint_seconds)
    keep_checkpoint_max = property(lambda self: self._keep_checkpoint_max)
    keep_checkpoint_per_n_minutes = property(lambda self: self._keep_checkpoint_per_n_minutes)
    integrated_save = property(lambda self: self._integrated_save)
    async_save = property(lambda self: self._async_save)
    saved_network = property(lambda self: self._saved_network)
    append_dict = property(lambda self: self._append_dict)
    format = property(lambda self: self._format)

    def get_checkpoint_policy(self):
        return {
            "save_checkpoint_steps": self.save_checkpoint_steps,
            "save_checkpoint_seconds": self.save_checkpoint_seconds,
            "keep_checkpoint_max": self.keep_checkpoint_max,
            "keep_checkpoint_per_n_minutes": self.keep_checkpoint_per_n_minutes,
            "saved_network": self.saved_network,
        }


def _append_info(append_info) -> dict | None:
    if not append_info:
        return None
    if not isinstance(append_info, list):
        raise TypeError(f"For 'CheckpointConfig', append_info must be a list, got {append_info!r}")
    result = {}
    for item in append_info:
        if item in ("epoch_num", "step_num"):
            result[item] = 0
        elif isinstance(item, dict):
            result.update(item)
        else:
            raise TypeError(
                "For 'CheckpointConfig', append_info holds 'epoch_num', 'step_num' or dicts, "
                f"got {item!r}"
            )
    return result


def _writes_checkpoints() -> bool:
    """False in the processes of a data-parallel job but rank 0: their weights are rank 0's."""
    return not (context.data_parallel() and engine.is_parallel() and engine.rank() != 0)


class ModelCheckpoint(Callback):
    """Saves the training network's parameters, the optimizer's state among them, in
    MindSpore's .ckpt format, as `directory/prefix-EPOCH_STEP.ckpt` (STEP within the epoch),
    every `config.save_checkpoint_steps` steps and at the end of training. A prefix that files
    in the directory already use becomes `prefix_1`, `prefix_2`, ... as in MindSpore; only the
    newest `keep_checkpoint_max` files of this prefix are kept. In a data-parallel job, rank 0
    writes the files (every rank holds the same weights) and every rank waits for each, so
    that `latest_ckpt_file_name` can be loaded in any rank."""

    def __init__(self, prefix="CKP", directory=None, config=None):
        super().__init__()
        if not isinstance(prefix, str) or "/" in prefix:
            raise ValueError(
                "For 'ModelCheckpoint', the argument 'prefix' for checkpoint file name is "
                "invalid, it must be callable or string that does not contain '/', but got "
                f"{prefix}."
            )
        if config is None:
            config = CheckpointConfig()
        if not isinstance(config, CheckpointConfig):
            raise TypeError(
                "For 'ModelCheckpoint', the type of argument 'config' should be "
                f"'CheckpointConfig', but got {type(config)}."
            )
        self._config = config
        self._directory = os.path.abspath(directory if directory is not None else os.getcwd())
        os.makedirs(self._directory, exist_ok=True)
        self._prefix = _unused_prefix(self._directory, prefix)
        self._append_dict = dict(config.append_dict or {})
        self._last_triggered_step = 0
        self._last_time = time.time()
        self._latest_ckpt_file_name = ""

    @property
    def latest_ckpt_file_name(self):
        return self._latest_ckpt_file_name

    def step_end(self, run_context):
        self._save(run_context.original_args(), force=False)

    def end(self, run_context):
        self._save(run_context.original_args(), force=True)

    def _due(self, cb_params, force: bool) -> bool:
        steps = self._config.save_checkpoint_steps
        if steps:
            return force or cb_params.cur_step_num >= self._last_triggered_step + steps
        seconds = self._config.save_checkpoint_seconds
        if seconds and (time.time() - self._last_time > seconds or force):
            self._last_time = time.time()
            return True
        return False

    def _save(self, cb_params, force: bool) -> None:
        if cb_params.cur_step_num == self._last_triggered_step or not self._due(cb_params, force):
            return
        step_in_epoch = (cb_params.cur_step_num - 1) % cb_params.batch_num + 1
        name = f"{self._prefix}-{cb_params.cur_epoch_num}_{step_in_epoch}.ckpt"
        self._last_triggered_step = cb_params.cur_step_num
        if "epoch_num" in self._append_dict:
            self._append_dict["epoch_num"] = cb_params.cur_epoch_num
        if "step_num" in self._append_dict:
            self._append_dict["step_num"] = cb_params.cur_step_num
        network = self._config.saved_network or cb_params.train_network
        path = os.path.join(self._directory, name)
        if _writes_checkpoints():
            self._remove_old_files()
            save_checkpoint(_named_parameters(network), path, append_dict=self._append_dict or None)
        self._latest_ckpt_file_name = path
        if engine.is_parallel():
            engine.barrier()  # rank 0's file is there for every rank from here on

    def _own_files(self) -> list[str]:
        """This prefix's checkpoints in the directory: `prefix-<digits, '-', '_'>.ckpt`."""
        files = []
        for filename in os.listdir(self._directory):
            middle = filename[len(self._prefix) : -len(".ckpt")]
            if (filename.endswith(".ckpt") and filename.startswith(self._prefix + "-")
                    and not any(c.isalpha() for c in middle)):  # fmt: skip
                files.append(os.path.join(self._directory, filename))
        return files

    def _remove_old_files(self) -> None:
        keep = self._config.keep_checkpoint_max
        files = sorted(self._own_files(), key=lambda f: os.stat(f).st_mtime_ns)
        if keep and len(files) >= keep:
            for old in files[: len(files) - keep + 1]:
                os.remove(old)
        elif self._config.keep_checkpoint_per_n_minutes:
            window = self._config.keep_checkpoint_per_n_minutes * 60
            recent = [f for f in files if time.time() - os.stat(f).st_mtime < window]
            for old in recent[1:]:  # keep the oldest file of the window
                os.remove(old)


def _named_parameters(network) -> list[dict]:
    """The network's parameters under their Parameter names, as MindSpore saves them
    (`weight`, `moments.weight`: not the attribute paths inside the training cells)."""
    return [{"name": p.name, "data": p.asnumpy()} for p in network.get_parameters()]


def _unused_prefix(directory: str, prefix: str) -> str:
    """`prefix`, or `prefix_N` when checkpoints named `prefix-...` / `prefix_K-...` exist."""
    suffix = 0
    for filename in os.listdir(directory):
        if not filename.endswith(".ckpt") or not filename.startswith(prefix):
            continue
        rest = filename[len(prefix) :]
        if not rest or rest[0].isalpha():
            continue
        dash = rest.find("-")
        if dash == 0:
            suffix = max(suffix, 1)
        elif dash != -1 and rest[1:dash].isdigit():
            suffix = max(suffix, int(rest[1:dash]) + 1)
    return f"{prefix}_{suffix}" if suffix else prefix


__all__ = [
    "Callback",
    "CheckpointConfig",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LossMonitor",
    "ModelCheckpoint",
    "RunContext",
    "TimeMonitor",
]
