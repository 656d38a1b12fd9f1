"""Figures of the classification track: the data (digit grids, class balance, pixel histograms) and a
trained model's results (training curves, confusion matrices, misclassified digits, accuracy vs cost).

``pyplot()`` is the kit's one lazy Matplotlib import (importing ``helpers`` never loads Matplotlib);
``save_figure`` writes a figure under ``reports[/quick]/figures/``. The super-resolution and TFLite
figures live in ``helpers.sr.figures`` and ``helpers.tflite.figures`` and use the same two functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers import config
from helpers.evaluation import (
    _history_dict,
    _pair,
    confusion_matrix,
    per_class_history,
)

FIGURES_SUBDIR = "figures"


def pyplot():
    """Return ``matplotlib.pyplot``, imported on first use (the kit's one Matplotlib import)."""
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, name: str, dpi: int = 110) -> Path:
    """Save a Matplotlib figure as ``reports[/quick]/figures/<name>.png``; return the path."""
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a bare file name like '01_training_curves', got {name!r}")
    out_dir = config.reports_dir() / FIGURES_SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


# --------------------------------------------------------------------------- the data


def plot_digit_grid(
    images: np.ndarray,
    labels: Sequence | None = None,
    rows: int = 4,
    cols: int = 8,
    title: str = "",
    cmap: str = "gray_r",
):
    """Return a Figure with the first ``rows*cols`` images in a grid, each titled with its label."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 1), got shape {images.shape}")
    n = min(len(images), rows * cols)
    if n == 0:
        raise ValueError("images is empty: nothing to plot")
    if labels is not None and len(labels) < n:
        raise ValueError(f"labels has {len(labels)} entries for {n} images")
    plt = pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_class_balance(
    splits: dict[str, np.ndarray], num_classes: int = 10, title: str = "Class balance"
):
    """Return a Figure of side-by-side bars: the share of each class (in %) in each named label array."""
    if not splits:
        raise ValueError("splits must map a name to a label array, e.g. {'train': y_train}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(splits)
    classes = np.arange(num_classes)
    top = 0.0
    for i, (name, labels) in enumerate(splits.items()):
        counts = np.bincount(np.asarray(labels).astype(int), minlength=num_classes)
        share = 100.0 * counts / counts.sum()
        top = max(top, float(share.max()))
        ax.bar(
            classes + (i - (len(splits) - 1) / 2) * width,
            share,
            width,
            label=f"{name} (n={counts.sum():,})",
        )
    ax.axhline(100.0 / num_classes, color="k", lw=0.8, ls="--", label="perfectly balanced")
    ax.set_xticks(classes)
    ax.set_xlabel("class (digit)")
    ax.set_ylabel("share of the split (%)")
    ax.set_title(title)
    ax.set_ylim(0, top * 1.3)  # headroom for the legend above the bars
    ax.legend(fontsize=8, loc="upper center", ncol=len(splits) + 1, frameon=False)
    fig.tight_layout()
    return fig


def plot_pixel_histogram(images: np.ndarray, bins: int = 64, title: str = "Pixel intensities"):
    """Return a Figure with a log-scale histogram of pixel values (uint8 0..255 or floats)."""
    values = np.asarray(images).ravel()
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(values, bins=bins, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel(
        "pixel value" + (" (0 = background, 255 = ink)" if values.dtype == np.uint8 else "")
    )
    ax.set_ylabel("number of pixels (log scale)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- a model's results


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
        _, ax = pyplot().subplots(figsize=(6.4, 5.4))
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
    plt = pyplot()
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
    plt = pyplot()
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


def plot_per_class_accuracy(
    history: Any,
    class_names: Sequence[str] | None = None,
    title: str = "Validation accuracy per class",
):
    """Return a Figure with one line per class: validation accuracy (%) per epoch."""
    curves = per_class_history(history)
    plt = pyplot()
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
    plt = pyplot()
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
