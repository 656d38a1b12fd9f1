"""Evaluating a trained classifier: predictions, confusion matrices, per-class accuracy, error analysis
and training-curve figures.

(Figures that describe the dataset itself live in ``helpers.plots``.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

PER_CLASS_KEY = re.compile(r"^val_accuracy_class_(\d+)$")


def _plt():
    import matplotlib.pyplot as plt

    return plt


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
    """Return the share of labels predicted correctly (a float in [0, 1])."""
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


# --------------------------------------------------------------------------- figures


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str] | None = None,
    normalize: Any = False,
    ax: Any = None,
    title: str | None = None,
):
    """Return the Axes of a seaborn heatmap of the confusion matrix (counts, or rows normalised with "true")."""
    import seaborn as sns

    t, p = _pair(y_true, y_pred)
    num_classes = (
        len(class_names)
        if class_names is not None
        else int(max(t.max(initial=0), p.max(initial=0))) + 1
    )
    names = (
        [str(c) for c in class_names]
        if class_names is not None
        else [str(k) for k in range(num_classes)]
    )
    cm = confusion_matrix(t, p, num_classes=num_classes, normalize=normalize or None)
    if ax is None:
        _, ax = _plt().subplots(figsize=(6.4, 5.4))
    normalized = normalize == "true"
    sns.heatmap(
        cm * 100 if normalized else cm,
        annot=True,
        fmt=".1f" if normalized else "d",
        cmap="Blues",
        xticklabels=names,
        yticklabels=names,
        cbar_kws={"label": "% of the true class" if normalized else "number of images"},
        annot_kws={"fontsize": 7},
        ax=ax,
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    default = (
        "Confusion matrix (% of each true class)" if normalized else "Confusion matrix (counts)"
    )
    ax.set_title(title or default)
    return ax


def plot_misclassified(
    x: Any,
    y_true: Any,
    y_pred: Any,
    confidence: Any,
    n: int = 16,
    cols: int = 8,
    class_names: Sequence[str] | None = None,
    title: str = "Misclassified images (most confident mistakes first)",
):
    """Return a Figure with up to ``n`` misclassified images, most confident mistakes first, titled true/pred/confidence."""
    t, p = _pair(y_true, y_pred)
    images = np.asarray(x)
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    if len(images) != len(t) or len(conf) != len(t):
        raise ValueError(
            f"x, y_true and confidence must have the same length: {len(images)}, {len(t)}, {len(conf)}"
        )
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if n < 1 or cols < 1:
        raise ValueError(f"n and cols must be >= 1, got n={n}, cols={cols}")
    wrong = np.flatnonzero(t != p)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:n]
    plt = _plt()
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "No misclassified images", ha="center", va="center")
        ax.set_title(title)
        return fig
    name = (lambda k: str(class_names[k])) if class_names is not None else str
    rows = int(np.ceil(len(wrong) / cols))
    ncols = min(cols, len(wrong))
    fig, axes = plt.subplots(rows, ncols, figsize=(ncols * 1.25, rows * 1.45), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"true {name(t[i])}\npred {name(p[i])} ({conf[i]:.0%})", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _accuracy_key(logs: Mapping[str, Any]) -> str | None:
    """Return the name of the training accuracy metric in ``logs``, or None."""
    for key in ("accuracy", "sparse_categorical_accuracy", "acc", "categorical_accuracy"):
        if key in logs:
            return key
    return None


def plot_training_curves(history: Any, title: str = "Training curves"):
    """Return a Figure with loss and (if logged) accuracy per epoch, training vs validation."""
    logs = _history_dict(history)
    if "loss" not in logs:
        raise ValueError(
            f"history has no 'loss' key (keys: {sorted(logs)}); pass the History returned by fit()"
        )
    panels = [("loss", "loss")]
    acc_key = _accuracy_key(logs)
    if acc_key:
        panels.append((acc_key, "accuracy"))
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.6), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        epochs = np.arange(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], "o-", ms=3, label="training")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], "s-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label.capitalize() + " per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        if len(epochs) <= 12:
            ax.set_xticks(epochs)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


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


def plot_per_class_accuracy(
    history: Any,
    class_names: Sequence[str] | None = None,
    title: str = "Validation accuracy per class",
):
    """Return a Figure with one line per class: validation accuracy (%) per epoch."""
    curves = per_class_history(history)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4))
    cmap = plt.get_cmap("tab10" if len(curves) <= 10 else "tab20")
    for i, (k, values) in enumerate(curves.items()):
        epochs = np.arange(1, len(values) + 1)
        label = str(class_names[k]) if class_names is not None else str(k)
        ax.plot(
            epochs,
            100 * np.asarray(values, dtype=float),
            "o-",
            ms=3,
            color=cmap(i % cmap.N),
            label=label,
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(title="class", ncol=2, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_accuracy_vs_cost(
    table: Any,
    cost_columns: Sequence[str] = ("params", "macs"),
    accuracy_column: str = "test_accuracy",
    label_column: str = "model",
    cost_labels: Sequence[str] | None = None,
    title: str = "Accuracy vs cost",
):
    """Return a Figure with one panel per cost column: accuracy (%) vs cost on a log x axis, points labelled."""
    import pandas as pd

    df = pd.DataFrame(table)
    missing = [c for c in [*cost_columns, accuracy_column, label_column] if c not in df.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}; it has {list(df.columns)}")
    if not len(cost_columns):
        raise ValueError("cost_columns must name at least one column, e.g. ('params', 'macs')")
    labels = list(cost_labels) if cost_labels is not None else list(cost_columns)
    plt = _plt()
    fig, axes = plt.subplots(
        1, len(cost_columns), figsize=(6 * len(cost_columns), 4.2), squeeze=False
    )
    for ax, col, xlabel in zip(axes[0], cost_columns, labels):
        ax.scatter(df[col], 100 * df[accuracy_column], s=40, zorder=3)
        for _, row in df.iterrows():
            ax.annotate(
                str(row[label_column]),
                (row[col], 100 * row[accuracy_column]),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=8,
            )
        ax.set_xscale("log")
        ax.set_xlabel(f"{xlabel} (log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"Test accuracy vs {xlabel}")
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
