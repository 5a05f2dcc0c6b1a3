"""Metrics against the values MindSpore 2.10 gives for the same inputs (and numpy), their
accumulation over batches, one-hot labels, multilabel inputs and MindSpore's errors."""

import numpy as np
import pytest

from cellc import Tensor, nn
from cellc.train import get_metric_fn, get_metrics, names

LOGITS = np.array(
    [[0.2, 0.5, 0.3], [0.7, 0.1, 0.2], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1], [0.5, 0.4, 0.1]],
    np.float32,
)
LABELS = np.array([1, 0, 1, 2, 0], np.int32)
ONE_HOT = np.eye(3, dtype=np.float32)[LABELS]


def two_batches(metric):
    """The first batch as Tensors with class indices, the second as arrays with one-hot labels."""
    metric.clear()
    metric.update(Tensor(LOGITS), Tensor(LABELS))
    metric.update(LOGITS[:2], ONE_HOT[:2])
    return metric


def test_accuracy_over_batches_with_index_and_one_hot_labels():
    assert two_batches(nn.Accuracy()).eval() == pytest.approx(5 / 7)  # MindSpore: 0.714285...
    correct = (LOGITS.argmax(1) == LABELS).sum() + 2
    assert two_batches(nn.Accuracy()).eval() == pytest.approx(correct / 7)


@pytest.mark.parametrize("metric", [nn.Precision, nn.Recall, nn.F1])
def test_per_class_scores_as_mindspore_gives_them(metric):
    # MindSpore 2.10: array([1., 0.66666667, 0.]) for each, average 0.5555555555555555
    scores = two_batches(metric()).eval()
    np.testing.assert_allclose(scores, [1.0, 2 / 3, 0.0])
    assert two_batches(metric()).eval(average=True) == pytest.approx(5 / 9)


def test_precision_and_recall_follow_their_definitions():
    predicted = np.eye(3)[LOGITS.argmax(1)]
    actual = np.eye(3)[LABELS]
    true_positives = (predicted * actual).sum(0)
    precision = nn.Precision()(LOGITS, LABELS)
    recall = nn.Recall()(LOGITS, LABELS)
    np.testing.assert_allclose(precision, true_positives / np.maximum(predicted.sum(0), 1e-300))
    np.testing.assert_allclose(recall, true_positives / actual.sum(0))
    f1 = nn.F1()(LOGITS, LABELS)
    expected = 2 * precision * recall / np.where(precision + recall == 0, 1, precision + recall)
    np.testing.assert_allclose(f1, expected)


def test_multilabel():
    pred = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]])
    assert nn.Accuracy("multilabel")(pred, y) == pytest.approx(2 / 3)
    np.testing.assert_allclose(nn.Precision("multilabel")(pred, y), [0.5, 1.0, 1.0])
    np.testing.assert_allclose(nn.Recall("multilabel")(pred, y), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="should be 0 or 1"):
        nn.Accuracy("multilabel")(pred * 2, y)


def test_errors_and_loss():
    pred = np.array([0.1, 0.2, 0.6, 0.9], np.float32)
    y = np.array([0.1, 0.25, 0.7, 0.9], np.float32)
    for metric, expected in ((nn.MAE(), 0.0499999870856603), (nn.MSE(), 0.004166663934787114)):
        metric.update(pred, y)
        metric.update(pred.reshape(2, 2), Tensor(y.reshape(2, 2)))  # 2 samples of 2
        assert metric.eval() == pytest.approx(expected, rel=1e-6)  # MindSpore's values
    loss = nn.Loss()
    loss.update(np.array(0.5, np.float32))
    loss.update(Tensor(np.array([0.2, 0.4], np.float32)))
    assert loss.eval() == pytest.approx(0.4)
    assert isinstance(loss.eval(), np.float64)


def test_set_indexes_picks_the_inputs():
    assert nn.Accuracy().set_indexes([1, 2])(None, LOGITS, LABELS) == pytest.approx(0.6)


def test_mindspore_messages():
    with pytest.raises(RuntimeError, match="The 'Accuracy' can not be calculated, because the"):
        nn.Accuracy().eval()
    with pytest.raises(ValueError, match=r"But got y_pred shape \(5, 3\) and y shape \(3,\)"):
        nn.Accuracy().update(LOGITS, LABELS[:3])
    with pytest.raises(ValueError, match="predicted value classes 2, true value classes 3"):
        nn.Precision().update(LOGITS[:, :2], LABELS)
    with pytest.raises(ValueError, match="class number not match"):
        metric = nn.Recall()
        metric.update(LOGITS, LABELS)
        metric.update(LOGITS[:, :2], np.zeros(5, np.int32))
    with pytest.raises(TypeError, match="must be tensor, list or numpy.ndarray"):
        nn.MAE().update(0.5, 0.5)
    with pytest.raises(TypeError, match="'eval_type' must be in"):
        nn.Accuracy("regression")


def test_names_as_model_takes_them():
    assert {"acc", "accuracy", "F1", "loss", "mae", "mse", "precision", "recall"} <= set(names())
    metrics = get_metrics({"acc", "loss"})
    assert isinstance(metrics["acc"], nn.Accuracy) and isinstance(metrics["loss"], nn.Loss)
    with pytest.raises(KeyError, match="unsupported metric top9"):
        get_metric_fn("top9")
    with pytest.raises(TypeError, match="must be None, dict or set"):
        get_metrics(["acc"])
