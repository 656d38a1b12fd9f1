"""Evaluating a classifier: predictions, the kit's one ``accuracy``, confusion matrices, per-class
accuracy and error analysis (numbers and tables; their figures live in ``helpers.figures``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

PER_CLASS_KEY = re.compile(r"^val_accuracy_class_(\d+)$")


def _labels(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D int64 label array, or raise a ValueError naming the argument."""
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] > 1:
        raise ValueError(
            f"{name} has shape {arr.shape}: pass integer class labels, not one-hot vectors or "
            f"probabilities (use {name}.argmax(axis=1))"
        )
    arr = arr.reshape(-1)
    if arr.size and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"{name} must hold integer class labels, got values like {arr[:3]}")
    return arr.astype(np.int64)


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return both label arrays, checked to be 1-D integers of the same length."""
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true and y_pred differ in length: {len(t)} vs {len(p)}")
    return t, p


def _history_dict(history: Any) -> dict[str, list[float]]:
    """Return the per-epoch metrics dict of a keras History (or the dict itself)."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(
            f"history must be a keras History or its .history dict, got {type(history).__name__}"
        )
    return {k: list(v) for k, v in logs.items()}


# --------------------------------------------------------------------------- predictions and numbers


def to_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Return class probabilities: ``outputs`` as they are if rows are already a distribution, else softmax."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim != 2:
        raise ValueError(f"model outputs must be (N, num_classes), got shape {out.shape}")
    if out.size and out.min() >= 0.0 and np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        return out
    shifted = out - out.max(axis=1, keepdims=True)  # logits: a numerically stable softmax
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def predict_classes(model: Any, x: Any, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Return (predicted labels int64, confidence = top-class probability) of ``model`` on images ``x``.

    Works with models that end in a softmax and with models that output logits.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    probs = to_probabilities(model.predict(x, batch_size=batch_size, verbose=0))
    return probs.argmax(axis=1).astype(np.int64), probs.max(axis=1)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Return the share of samples predicted correctly (a float in [0, 1]); the kit's one accuracy.

    ``y_pred`` holds predicted labels ``(N,)`` or class scores ``(N, classes)`` (probabilities or
    logits: their arg-max is the prediction). ``y_true`` holds integer labels.
    """
    scores = np.asarray(y_pred)
    if scores.ndim == 2 and scores.shape[1] > 1:
        y_pred = scores.argmax(axis=1)
    t, p = _pair(y_true, y_pred)
    if len(t) == 0:
        raise ValueError("y_true is empty: accuracy is undefined")
    return float(np.mean(t == p))


def confusion_matrix(
    y_true: Any, y_pred: Any, num_classes: int = 10, normalize: str | None = None
) -> np.ndarray:
    """Return the (num_classes, num_classes) confusion matrix, rows = true class, columns = predicted class.

    ``normalize="true"`` divides each row by its class count (rows of absent classes stay 0).
    """
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    if normalize not in (None, False, "true"):
        raise ValueError(
            f"normalize must be None/False (counts) or 'true' (rows sum to 1), got {normalize!r}"
        )
    t, p = _pair(y_true, y_pred)
    top = max(int(t.max(initial=-1)), int(p.max(initial=-1)))
    if top >= num_classes:
        raise ValueError(f"labels go up to {top} but num_classes={num_classes}: raise num_classes")
    cm = sk_confusion_matrix(t, p, labels=np.arange(num_classes))
    if normalize == "true":
        rows = cm.sum(axis=1, keepdims=True)
        return np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    return cm


def per_class_accuracy(y_true: Any, y_pred: Any, num_classes: int = 10) -> np.ndarray:
    """Return the accuracy (recall) of each class, shape (num_classes,); NaN for a class absent from y_true."""
    t, p = _pair(y_true, y_pred)
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if t.size and t.max() >= num_classes:
        raise ValueError(
            f"y_true has label {t.max()} but num_classes={num_classes}: raise num_classes"
        )
    totals = np.bincount(t, minlength=num_classes).astype(np.float64)
    correct = np.bincount(t[t == p], minlength=num_classes).astype(np.float64)
    out = np.full(num_classes, np.nan)
    np.divide(correct, totals, out=out, where=totals > 0)
    return out


def classification_report_table(y_true: Any, y_pred: Any, class_names: Sequence[str] | None = None):
    """Return a DataFrame of precision, recall, f1-score and support per class plus macro/weighted averages."""
    import pandas as pd
    from sklearn.metrics import classification_report

    t, p = _pair(y_true, y_pred)
    labels = np.unique(np.concatenate([t, p]))
    names = [str(class_names[k]) if class_names is not None else str(k) for k in labels]
    report = classification_report(
        t, p, labels=labels, target_names=names, output_dict=True, zero_division=0
    )
    report.pop(
        "accuracy", None
    )  # a bare float; it equals the micro average and is shown by accuracy()
    table = pd.DataFrame(report).T[["precision", "recall", "f1-score", "support"]]
    table["support"] = table["support"].astype(int)
    return table


def most_confused_pairs(y_true: Any, y_pred: Any, k: int = 5, num_classes: int | None = None):
    """Return a DataFrame of the ``k`` most frequent mistakes: true, predicted, count, share_of_true.

    ``share_of_true`` is count / number of examples of the true class. Rows are ordered by count
    (largest first), ties by true then predicted label; pairs that never occur are left out.
    """
    import pandas as pd

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    t, p = _pair(y_true, y_pred)
    n = num_classes or (int(max(t.max(initial=-1), p.max(initial=-1))) + 1)
    cm = confusion_matrix(t, p, num_classes=max(n, 1))
    np.fill_diagonal(cm, 0)
    true_idx, pred_idx = np.nonzero(cm)
    counts = cm[true_idx, pred_idx]
    order = np.lexsort((pred_idx, true_idx, -counts))[:k]
    class_totals = np.bincount(t, minlength=cm.shape[0])
    rows = [
        {
            "true": int(true_idx[i]),
            "predicted": int(pred_idx[i]),
            "count": int(counts[i]),
            "share_of_true": float(counts[i] / class_totals[true_idx[i]]),
        }
        for i in order
    ]
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "share_of_true"])


def accuracies_from_results(metrics: Mapping[str, Any], names: Sequence[str]) -> dict[str, float]:
    """Return {name: test accuracy in [0, 1]} from a notebook's recorded metrics; NaN where absent.

    Reads the keys ``<name>_test_accuracy`` that notebook 02 records (``reporting.load_results``).
    """
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"metrics must be the dict of reporting.load_results(...), got {type(metrics).__name__}"
        )
    out = {}
    for name in names:
        value = metrics.get(f"{name}_test_accuracy")
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        out[str(name)] = float(value) if is_number else float("nan")
    return out


# --------------------------------------------------------------------------- training history


def per_class_history(history: Any) -> dict[int, list[float]]:
    """Return {class index: per-epoch validation accuracy} from the ``val_accuracy_class_{k}`` keys."""
    logs = _history_dict(history)
    found = {int(m.group(1)): logs[key] for key in logs if (m := PER_CLASS_KEY.match(key))}
    if not found:
        raise ValueError(
            "history has no 'val_accuracy_class_{k}' keys: train with the "
            "helpers.callbacks.PerClassAccuracy callback to log per-class validation accuracy"
        )
    return dict(sorted(found.items()))
