"""MindSpore's evaluation metrics (`mindspore.train.Accuracy`, `nn.Accuracy`, ...): numpy
underneath, with MindSpore's semantics and messages.

A metric accumulates over batches: `clear()` resets it, `update(y_pred, y)` adds a batch (Tensors,
lists or numpy arrays), `eval()` gives the value over everything since the last `clear`;
`metric(y_pred, y)` does all three for one batch. Classification metrics take logits (or
probabilities) `[N, C, ...]` and labels as class indices `[N, ...]` or one-hot `[N, C, ...]`.
`Precision`, `Recall` and `F1` give one value per class (`eval(average=True)`: their mean).
"""

from __future__ import annotations

import functools
import sys

import numpy as np

from cellc.tensor import Tensor

_EVAL_TYPES = ("classification", "multilabel")
_EPS = sys.float_info.min  # MindSpore's guard against 0/0: an absent class scores 0


def rearrange_inputs(func):
    """Feeds `update` the inputs picked by `set_indexes` (all of them when none were set)."""

    @functools.wraps(func)
    def wrapper(self, *inputs):
        indexes = self.indexes
        return func(self, *(inputs if not indexes else [inputs[i] for i in indexes]))

    return wrapper


class Metric:
    """Base of every metric: `clear`, `update`, `eval`; `set_indexes` picks which of the
    evaluation network's outputs `update` receives."""

    def __init__(self):
        self._indexes = None

    def _convert_data(self, data) -> np.ndarray:
        if isinstance(data, Tensor):
            return data.asnumpy()
        if isinstance(data, list):
            return np.array(data)
        if isinstance(data, np.ndarray):
            return data
        raise TypeError(
            "For 'Metric' and its derived classes, the input data type must be tensor, list or "
            f"numpy.ndarray, but got {type(data)}."
        )

    @property
    def indexes(self):
        return getattr(self, "_indexes", None)

    def set_indexes(self, indexes):
        if not isinstance(indexes, list) or not all(isinstance(i, int) for i in indexes):
            raise ValueError(
                "For 'set_indexes', the argument 'indexes' must be a list and all its elements "
                "must be int, please check whether it is correct."
            )
        self._indexes = indexes
        return self

    def __call__(self, *inputs):
        self.clear()
        self.update(*inputs)
        return self.eval()

    def clear(self):
        raise NotImplementedError("Must define clear function to use this base class")

    def update(self, *inputs):
        raise NotImplementedError("Must define update function to use this base class")

    def eval(self):
        raise NotImplementedError("Must define eval function to use this base class")


def _check_input_count(name: str, inputs: tuple, count: int, what: str) -> None:
    if len(inputs) != count:
        raise ValueError(
            f"For '{name}.update', it needs {count} input{'s' if count > 1 else ''} ({what}), "
            f"but got {len(inputs)}."
        )


def _empty(name: str) -> RuntimeError:
    return RuntimeError(
        f"The '{name}' can not be calculated, because the number of samples is 0, please check "
        "whether your inputs(predicted value, true value) are empty, or has called update method "
        "before calling eval method."
    )


def _is_one_hot(y: np.ndarray) -> bool:
    """Labels given one-hot along axis 1 (0s and 1s summing to 1)."""
    if y.ndim > 1 and np.equal(y**2, y).all():
        return bool(np.equal(y.sum(axis=1), 1).all())
    return False


class _ClassificationMetric(Metric):
    """Shared input handling of Accuracy, Precision and Recall: `eval_type` 'classification'
    (logits against class indices or one-hot labels) or 'multilabel' (0/1 against 0/1)."""

    def __init__(self, eval_type: str = "classification"):
        super().__init__()
        if eval_type not in _EVAL_TYPES:
            raise TypeError(
                f"The argument 'eval_type' must be in {set(_EVAL_TYPES)}, but got {eval_type}"
            )
        self._type = eval_type
        self.clear()

    def _predictions_and_labels(self, inputs: tuple) -> tuple[np.ndarray, np.ndarray]:
        name = type(self).__name__
        _check_input_count(name, inputs, 2, "predicted value, true value")
        y_pred = self._convert_data(inputs[0])
        y = self._convert_data(inputs[1])
        if self._type == "classification" and y_pred.ndim == y.ndim and _is_one_hot(y):
            y = y.argmax(axis=1)
        self._check_shape(y_pred, y)
        if self._type == "multilabel" and not (
            np.equal(y_pred**2, y_pred).all() and np.equal(y**2, y).all()
        ):
            raise ValueError(
                "In multilabel case, all elements in y_pred (predicted value) and y (true value) "
                "should be 0 or 1.Please check whether your inputs y_pred and y are correct."
            )
        if self._class_num == 0:
            self._class_num = y_pred.shape[1]
        elif y_pred.shape[1] != self._class_num:
            raise ValueError(
                f"For '{name}.update', class number not match, last input predicted data "
                f"contain {self._class_num} classes, but current predicted data contain "
                f"{y_pred.shape[1]} classes, please check your predicted value(inputs[0])."
            )
        return y_pred, y

    def _check_shape(self, y_pred: np.ndarray, y: np.ndarray) -> None:
        if self._type == "classification":
            if y_pred.ndim != y.ndim + 1:
                raise ValueError(
                    "In classification case, the dimension of y_pred (predicted value) should "
                    "equal to the dimension of y (true value) add 1, but got y_pred dimension: "
                    f"{y_pred.ndim} and y dimension: {y.ndim}."
                )
            if y.shape != (y_pred.shape[0],) + y_pred.shape[2:]:
                raise ValueError(
                    "In classification case, y_pred (predicted value) shape and y (true value) "
                    "shape can not match, y shape should be equal to y_pred shape that the value "
                    "at index 1 is deleted. Such as y_pred shape (1, 2, 3), then y shape should "
                    f"be (1, 3). But got y_pred shape {y_pred.shape} and y shape {y.shape}"
                )
        elif y_pred.shape != y.shape:
            raise ValueError(
                f"In {self._type} case, the shape of y_pred (predicted value) should equal to the "
                f"shape of y (true value), but got y_pred shape: {y_pred.shape} and y shape: "
                f"{y.shape}."
            )

    def _one_hot_pair(self, y_pred: np.ndarray, y: np.ndarray):
        """(predicted, actual) as 0/1 arrays `[samples, classes]` (classification) or
        `[classes, samples]` (multilabel)."""
        class_num = self._class_num
        if self._type == "classification":
            if y.max() + 1 > class_num:
                raise ValueError(
                    f"For '{type(self).__name__}.update', predicted value (input[0]) should have "
                    "the same classes number as true value (input[1]), but got predicted value "
                    f"classes {class_num}, true value classes {y.max() + 1}."
                )
            eye = np.eye(class_num)
            return eye[y_pred.argmax(axis=1).reshape(-1)], eye[y.reshape(-1).astype(np.int64)]
        return (
            y_pred.swapaxes(1, 0).reshape(class_num, -1),
            y.swapaxes(1, 0).reshape(class_num, -1),
        )


class Accuracy(_ClassificationMetric):
    """The fraction of samples whose arg-max class is the label ('classification'), or whose
    every label is right ('multilabel')."""

    def clear(self):
        self._correct_num = 0
        self._total_num = 0
        self._class_num = 0

    @rearrange_inputs
    def update(self, *inputs):
        y_pred, y = self._predictions_and_labels(inputs)
        if self._type == "classification":
            result = (np.equal(y_pred.argmax(axis=1), y) * 1).reshape(-1)
        else:
            last = y_pred.ndim - 1
            y_pred = y_pred.swapaxes(1, last).reshape(-1, self._class_num)
            y = y.swapaxes(1, last).reshape(-1, self._class_num)
            result = np.equal(y_pred, y).all(axis=1) * 1
        self._correct_num += result.sum()
        self._total_num += result.shape[0]

    def eval(self):
        if self._total_num == 0:
            raise _empty("Accuracy")
        return self._correct_num / self._total_num


class Precision(_ClassificationMetric):
    """Per class: true positives / predicted positives."""

    def clear(self):
        self._class_num = 0
        self._true_positives = np.empty(0) if self._type == "multilabel" else 0
        self._positives = np.empty(0) if self._type == "multilabel" else 0
        self._true_positives_average = 0
        self._positives_average = 0

    @rearrange_inputs
    def update(self, *inputs):
        y_pred, y = self._one_hot_pair(*self._predictions_and_labels(inputs))
        positives = y_pred.sum(axis=0)
        true_positives = (y * y_pred).sum(axis=0)
        if self._type == "multilabel":
            self._true_positives_average += np.sum(true_positives / (positives + _EPS))
            self._positives_average += len(positives)
            self._true_positives = np.concatenate((self._true_positives, true_positives))
            self._positives = np.concatenate((self._positives, positives))
        else:
            self._true_positives += true_positives
            self._positives += positives

    def eval(self, average=False):
        if self._class_num == 0:
            raise _empty("Precision")
        result = self._true_positives / (self._positives + _EPS)
        if average:
            if self._type == "multilabel":
                result = self._true_positives_average / (self._positives_average + _EPS)
            return result.mean()
        return result


class Recall(_ClassificationMetric):
    """Per class: true positives / actual positives."""

    def clear(self):
        self._class_num = 0
        self._true_positives = np.empty(0) if self._type == "multilabel" else 0
        self._actual_positives = np.empty(0) if self._type == "multilabel" else 0
        self._true_positives_average = 0
        self._actual_positives_average = 0

    @rearrange_inputs
    def update(self, *inputs):
        y_pred, y = self._one_hot_pair(*self._predictions_and_labels(inputs))
        actual_positives = y.sum(axis=0)
        true_positives = (y * y_pred).sum(axis=0)
        if self._type == "multilabel":
            self._true_positives_average += np.sum(true_positives / (actual_positives + _EPS))
            self._actual_positives_average += len(actual_positives)
            self._true_positives = np.concatenate((self._true_positives, true_positives))
            self._actual_positives = np.concatenate((self._actual_positives, actual_positives))
        else:
            self._true_positives += true_positives
            self._actual_positives += actual_positives

    def eval(self, average=False):
        if self._class_num == 0:
            raise _empty("Recall")
        result = self._true_positives / (self._actual_positives + _EPS)
        if average:
            if self._type == "multilabel":
                result = self._true_positives_average / (self._actual_positives_average + _EPS)
            return result.mean()
        return result


class Fbeta(_ClassificationMetric):
    """Per class: (1 + beta^2) * TP / (beta^2 * actual positives + predicted positives)."""

    def __init__(self, beta):
        if not beta > 0:
            raise ValueError(
                f"For 'Fbeta', the argument 'beta' must be greater than 0, but got {beta}."
            )
        self.beta = beta
        super().__init__("classification")

    def clear(self):
        self._true_positives = 0
        self._actual_positives = 0
        self._positives = 0
        self._class_num = 0

    @rearrange_inputs
    def update(self, *inputs):
        y_pred, y = self._one_hot_pair(*self._predictions_and_labels(inputs))
        self._true_positives += (y * y_pred).sum(axis=0)
        self._positives += y_pred.sum(axis=0)
        self._actual_positives += y.sum(axis=0)

    def eval(self, average=False):
        if self._class_num == 0:
            raise _empty(type(self).__name__)
        fbeta = (
            (1.0 + self.beta**2)
            * self._true_positives
            / (self.beta**2 * self._actual_positives + self._positives + _EPS)
        )
        return fbeta.mean() if average else fbeta


class F1(Fbeta):
    """Fbeta with beta = 1: the harmonic mean of precision and recall, per class."""

    def __init__(self):
        super().__init__(1.0)


class _ErrorMetric(Metric):
    """Sum of an elementwise error over every element, divided by the number of samples."""

    def __init__(self):
        super().__init__()
        self.clear()

    def clear(self):
        self._error_sum = 0
        self._samples_num = 0

    def _error(self, difference: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @rearrange_inputs
    def update(self, *inputs):
        _check_input_count(type(self).__name__, inputs, 2, "predicted value, true value")
        y_pred = self._convert_data(inputs[0])
        y = self._convert_data(inputs[1])
        self._error_sum += self._error(y.reshape(y_pred.shape) - y_pred).sum()
        self._samples_num += y.shape[0]

    def eval(self):
        if self._samples_num == 0:
            raise _empty(type(self).__name__)
        return self._error_sum / self._samples_num


class MAE(_ErrorMetric):
    """Mean absolute error: sum |y - y_pred| / N."""

    def _error(self, difference):
        return np.abs(difference)


class MSE(_ErrorMetric):
    """Mean squared error: sum (y - y_pred)^2 / N."""

    def _error(self, difference):
        return np.power(difference, 2)


class Loss(Metric):
    """The mean, over batches, of each batch's (mean) loss."""

    def __init__(self):
        super().__init__()
        self.clear()

    def clear(self):
        self._sum_loss = 0
        self._total_num = 0

    @rearrange_inputs
    def update(self, *inputs):
        _check_input_count("Loss", inputs, 1, "loss")
        loss = self._convert_data(inputs[0])
        if loss.ndim == 0:
            loss = loss.reshape(1)
        if loss.ndim != 1:
            raise ValueError(
                "For 'Loss.update', the dimension of your input (loss) must be 1, "
                f"but got {loss.ndim}."
            )
        self._sum_loss += np.float64(loss.mean(-1))  # float64 as MindSpore gives on numpy 1.x
        self._total_num += 1

    def eval(self):
        if self._total_num == 0:
            raise RuntimeError(
                "The 'Loss' can not be calculated, because the number of samples is 0, please "
                "check whether has called update method before calling eval method."
            )
        return self._sum_loss / self._total_num


# Model(metrics={"acc", "loss"}): the names MindSpore accepts for the metrics cellc has
_FACTORY = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "precision": Precision,
    "recall": Recall,
    "F1": F1,
    "mae": MAE,
    "mse": MSE,
    "loss": Loss,
}


def names() -> list[str]:
    return sorted(_FACTORY)


def get_metric_fn(name: str, *args, **kwargs) -> Metric:
    if name not in _FACTORY:
        raise KeyError(
            f"For 'get_metric_fn', unsupported metric {name}, please refer to official website "
            "for more details about supported metrics."
        )
    return _FACTORY[name](*args, **kwargs)


def get_metrics(metrics) -> dict[str, Metric] | None:
    """`Model`'s `metrics`: None, a dict name -> Metric, or a set of names."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        for name, metric in metrics.items():
            if not isinstance(name, str) or not isinstance(metric, Metric):
                raise TypeError(
                    "For 'get_metrics', if 'metrics' is dict, the key in 'metrics' must be string "
                    "and value in 'metrics' must be Metric, but got key:"
                    f"{type(name)}, value:{type(metric)}."
                )
        return metrics
    if isinstance(metrics, set):
        return {name: get_metric_fn(name) for name in metrics}
    raise TypeError(
        f"For 'get_metrics', the argument 'metrics' must be None, dict or set, but got {metrics}"
    )


__all__ = [
    "Accuracy",
    "F1",
    "Fbeta",
    "Loss",
    "MAE",
    "MSE",
    "Metric",
    "Precision",
    "Recall",
    "get_metric_fn",
    "get_metrics",
    "names",
    "rearrange_inputs",
]
