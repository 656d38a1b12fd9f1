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

from helpers.evaluation import (
    _history_dict,
    _pair,
    confusion_matrix,
    per_class_history,
)
from helpers.kit import config

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
    row_labels: Sequence[str] | None = None,
):
    """Return a Figure with the first ``rows*cols`` images in a grid, each titled with its label.

    ``row_labels`` (one per row) are written to the left of each row, e.g. "original" / "augmented".
    """
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
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"row_labels needs one label per row ({rows}), got {len(row_labels)}")
    plt = pyplot()
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(cols * 1.1, rows * 1.25 - (0.2 * rows if labels is None else 0)),
        squeeze=False,
    )
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    for ax, text in zip(axes[:, 0], row_labels or []):
        ax.text(-0.08, 0.5, str(text), transform=ax.transAxes, ha="right", va="center", fontsize=9)
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


def _check_zoom(zoom_last: int | None) -> None:
    """Raise a ValueError unless ``zoom_last`` is None or an integer >= 2."""
    if zoom_last is not None and (not isinstance(zoom_last, int) or zoom_last < 2):
        raise ValueError(f"zoom_last must be None or an integer >= 2 (epochs), got {zoom_last!r}")


def _fit_ylim(ax: Any, series: Sequence[np.ndarray], pad: float = 0.15) -> None:
    """Set the y-limits of ``ax`` to the range of ``series`` plus ``pad`` of that range each side."""
    values = np.concatenate([np.asarray(v, dtype=float) for v in series])
    values = values[np.isfinite(values)]
    if not values.size:
        return
    low, high = float(values.min()), float(values.max())
    margin = pad * (high - low) if high > low else max(abs(high) * 0.01, 1e-6)
    ax.set_ylim(low - margin, high + margin)


def plot_training_curves(
    history: Any, title: str = "Training curves", zoom_last: int | None = None
):
    """Return a Figure with loss and (if logged) accuracy per epoch, training vs validation.

    ``zoom_last=N`` adds a second row that shows only the last N epochs, with y-axes fitted to them:
    the differences of the final epochs are invisible on the scale of the first ones.
    """
    logs = _history_dict(history)
    if "loss" not in logs:
        raise ValueError(
            f"history has no 'loss' key (keys: {sorted(logs)}); pass the History returned by fit()"
        )
    _check_zoom(zoom_last)
    panels = [("loss", "loss")]
    acc_key = _accuracy_key(logs)
    if acc_key:
        panels.append((acc_key, "accuracy"))
    n_epochs = len(logs["loss"])
    zoom = zoom_last is not None and zoom_last < n_epochs
    rows = 2 if zoom else 1
    plt = pyplot()
    fig, axes = plt.subplots(
        rows, len(panels), figsize=(5.5 * len(panels), 3.6 * rows), squeeze=False
    )
    for row in range(rows):
        first = n_epochs - zoom_last if row == 1 else 0
        for ax, (key, label) in zip(axes[row], panels):
            epochs = np.arange(first + 1, len(logs[key]) + 1)
            shown = [np.asarray(logs[key][first:], dtype=float)]
            ax.plot(epochs, shown[0], "o-", ms=3, label="training")
            if f"val_{key}" in logs:
                shown.append(np.asarray(logs[f"val_{key}"][first:], dtype=float))
                ax.plot(epochs, shown[1], "s-", ms=3, label="validation")
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
            if row == 1:
                ax.set_title(f"{label.capitalize()}, last {zoom_last} epochs (zoomed)")
                _fit_ylim(ax, shown)
            else:
                ax.set_title(label.capitalize() + " per epoch")
            ax.grid(alpha=0.3)
            ax.legend()
            if len(epochs) <= 12:
                ax.set_xticks(epochs)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    ylabel: str,
    title: str = "",
    scale: float = 1.0,
    xlabel: str = "epoch",
    log_y: bool = False,
):
    """Return a Figure with one line per named series (x = 1, 2, ... e.g. epochs), values times ``scale``.

    For comparing runs on one metric, e.g. ``{"original": val_acc, "shuffled": val_acc2}`` with
    ``scale=100`` and ``ylabel="validation accuracy (%)"``.
    """
    if not curves:
        raise ValueError(
            "curves must map a name to a sequence of values, e.g. {'run': [0.9, 0.95]}"
        )
    empty = [name for name, values in curves.items() if len(values) == 0]
    if empty:
        raise ValueError(f"curves {empty} have no values")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    markers = "os^dvP*X"
    longest = 0
    for i, (name, values) in enumerate(curves.items()):
        x = np.arange(1, len(values) + 1)
        longest = max(longest, len(values))
        ax.plot(
            x,
            scale * np.asarray(values, dtype=float),
            f"{markers[i % len(markers)]}-",
            ms=4,
            label=str(name),
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if longest <= 12:
        ax.set_xticks(np.arange(1, longest + 1))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_per_class_accuracy(
    history: Any,
    class_names: Sequence[str] | None = None,
    title: str = "Validation accuracy per class",
    zoom_last: int | None = None,
):
    """Return a Figure with one line per class: validation accuracy (%) per epoch.

    ``zoom_last=N`` adds a right-hand panel with only the last N epochs and a y-axis fitted to them,
    where the final differences between classes (tenths of a percent) become visible.
    """
    curves = per_class_history(history)
    _check_zoom(zoom_last)
    n_epochs = max(len(v) for v in curves.values())
    zoom = zoom_last is not None and zoom_last < n_epochs
    plt = pyplot()
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(12.5 if zoom else 7.5, 4), squeeze=False)
    cmap = plt.get_cmap("tab10" if len(curves) <= 10 else "tab20")
    for col, ax in enumerate(axes[0]):
        first = n_epochs - zoom_last if col == 1 else 0
        shown = []
        for i, (k, values) in enumerate(curves.items()):
            y = 100 * np.asarray(values, dtype=float)[first:]
            shown.append(y)
            label = str(class_names[k]) if class_names is not None else str(k)
            ax.plot(
                np.arange(first + 1, first + len(y) + 1),
                y,
                "o-",
                ms=3,
                color=cmap(i % cmap.N),
                label=label,
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy (%)")
        ax.grid(alpha=0.3)
        if col == 1:
            ax.set_title(f"Last {zoom_last} epochs (zoomed)")
            _fit_ylim(ax, shown, pad=0.08)
            ax.set_xticks(np.arange(first + 1, n_epochs + 1))
        else:
            ax.set_title(title if not zoom else "All epochs")
    if zoom:  # outside the zoomed panel, whose lines fill the whole box
        axes[0][-1].legend(title="class", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        axes[0][0].legend(title="class", ncol=2, fontsize=8, loc="lower right")
    if zoom:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# Offsets (points) tried in turn for a point's label: right, left, above, below, then further out.
_LABEL_OFFSETS = [
    (6, 5, "left", "bottom"),
    (6, -5, "left", "top"),
    (-6, 5, "right", "bottom"),
    (-6, -5, "right", "top"),
    (0, 9, "center", "bottom"),
    (0, -9, "center", "top"),
    (8, 16, "left", "bottom"),
    (8, -16, "left", "top"),
    (-8, 16, "right", "bottom"),
    (-8, -16, "right", "top"),
]


def _overlap_area(a: Any, b: Any) -> float:
    """Return the overlap area (display units squared) of two matplotlib Bboxes."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0.0) * max(height, 0.0)


def place_point_labels(
    ax: Any, xs: Sequence[float], ys: Sequence[float], texts: Sequence[str], fontsize: float = 8
) -> list:
    """Return the annotations of ``texts`` next to the points ``(xs, ys)``, placed so they do not collide.

    Each label tries a list of offsets (right, left, above, below, further out) and keeps the first
    one that overlaps no other label, no point and stays inside the axes; failing that, the offset
    with the least overlap. Call it after the axes' limits and the figure layout are final.
    """
    from matplotlib.transforms import Bbox

    if not len(xs) == len(ys) == len(texts):
        raise ValueError(f"xs, ys and texts differ in length: {len(xs)}, {len(ys)}, {len(texts)}")
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    radius = 5.0 * fig.dpi / 72.0  # a marker's half-size, in pixels
    points = [ax.transData.transform((x, y)) for x, y in zip(xs, ys)]
    taken = [
        Bbox.from_extents(px - radius, py - radius, px + radius, py + radius) for px, py in points
    ]
    legend = ax.get_legend()
    if legend is not None:  # labels must not hide under the legend either
        taken.append(legend.get_window_extent(renderer))
    placed = []
    for (x, y), text in zip(zip(xs, ys), texts):
        best, best_cost = None, None
        for dx, dy, ha, va in _LABEL_OFFSETS:
            ann = ax.annotate(
                str(text),
                (x, y),
                textcoords="offset points",
                xytext=(dx, dy),
                ha=ha,
                va=va,
                fontsize=fontsize,
            )
            box = ann.get_window_extent(renderer)
            cost = sum(_overlap_area(box, other) for other in taken)
            outside = box.width * box.height - _overlap_area(box, frame)
            cost += 2.0 * outside
            if best_cost is None or cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (ann, box), cost
            else:
                ann.remove()
            if cost == 0:
                break
        taken.append(best[1])
        placed.append(best[0])
    return placed


def plot_accuracy_vs_cost(
    table: Any,
    cost_columns: Sequence[str] = ("params", "macs"),
    accuracy_column: str = "test_accuracy",
    label_column: str = "model",
    cost_labels: Sequence[str] | None = None,
    title: str = "Accuracy vs cost",
    family_column: str | None = None,
):
    """Return a Figure with one panel per cost column: accuracy (%) vs cost on a log x axis, points labelled.

    ``family_column`` (e.g. "MLP" / "CNN") colours the points by family, with a legend. Labels are
    placed so that they do not overlap each other or the points (see :func:`place_point_labels`).
    """
    import pandas as pd

    df = pd.DataFrame(table)
    wanted = [*cost_columns, accuracy_column, label_column]
    if family_column is not None:
        wanted.append(family_column)
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}; it has {list(df.columns)}")
    if not len(cost_columns):
        raise ValueError("cost_columns must name at least one column, e.g. ('params', 'macs')")
    labels = list(cost_labels) if cost_labels is not None else list(cost_columns)
    families = list(dict.fromkeys(df[family_column])) if family_column is not None else [None]
    colors = pyplot().get_cmap("tab10")
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(cost_columns), figsize=(6 * len(cost_columns), 4.4), squeeze=False
    )
    for ax, col, xlabel in zip(axes[0], cost_columns, labels):
        for i, family in enumerate(families):
            rows = df if family is None else df[df[family_column] == family]
            ax.scatter(
                rows[col],
                100 * rows[accuracy_column],
                s=40,
                zorder=3,
                color=colors(i),
                label=None if family is None else str(family),
            )
        ax.set_xscale("log")
        ax.margins(x=0.25, y=0.15)  # room for the labels inside the axes
        ax.set_xlabel(f"{xlabel} (log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"Test accuracy vs {xlabel}")
        ax.grid(alpha=0.3, which="both")
        if family_column is not None:
            ax.legend(title=family_column, fontsize=8, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    for ax, col in zip(axes[0], cost_columns):
        place_point_labels(
            ax, list(df[col]), list(100 * df[accuracy_column]), [str(v) for v in df[label_column]]
        )
    return fig


# --------------------------------------------------------------------------- settings compared


def plot_mean_std(
    summary: Any, metric: str | None = None, title: str | None = None, cutoff: float | None = 0.10
):
    """Return a Figure with one dot per setting: the mean of ``metric`` over seeds, a ±1 std error
    bar, and ``mean ± std (n=...)`` written beside it, on an axis zoomed to the values.

    ``summary`` is :func:`helpers.tuning.summary_table`'s output (the setting columns, then
    ``mean``, ``std``, ``n``). The axis is not started at 0: differences of a tenth of a point stay
    visible, and a setting more than ``cutoff`` below the best (0.10: ten points of accuracy; e.g. a
    learning rate that does not train) gets a red marker at the left edge with its value written
    beside it (``cutoff=None``: every setting on the axis). Defined in notebook 04.
    """
    for column in ("mean", "std", "n"):
        if column not in summary.columns:
            raise KeyError(f"summary lacks column {column!r}: pass tuning.summary_table(...)")
    if summary.empty:
        raise ValueError("summary is empty: nothing to plot")
    by = summary.attrs.get("by") or [c for c in summary.columns if c not in ("mean", "std", "n")]
    metric = metric or summary.attrs.get("metric") or "metric"
    labels = [
        ", ".join(f"{c}={v}" for c, v in zip(by, row)) for row in summary[by].itertuples(False)
    ]
    means = summary["mean"].to_numpy(dtype=float)
    stds = np.nan_to_num(summary["std"].to_numpy(dtype=float))
    low, high = _zoomed_range(means, stds, np.inf if cutoff is None else cutoff)
    fig, ax = pyplot().subplots(figsize=(7.5, 0.9 + 0.45 * len(summary)))
    y = np.arange(len(summary))
    inside = means >= low
    ax.errorbar(means[inside], y[inside], xerr=stds[inside], fmt="o", capsize=4, color="tab:blue")
    ax.plot(np.full((~inside).sum(), low), y[~inside], "<", color="tab:red", markersize=8)
    for yi, m, s, n, shown in zip(y, means, stds, summary["n"], inside):
        text = f"{m:.4f} ± {s:.4f} (n={int(n)})" if int(n) > 1 else f"{m:.4f} (one seed)"
        ax.annotate(
            text if shown else f"{text}, off the axis",
            (max(m + s, low) if shown else low, yi),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize="small",
        )
    ax.set_yticks(y, labels)
    ax.set_ylim(len(summary) - 0.4, -0.6)  # first setting on top, room for the labels
    ax.set_xlim(low, high)
    ax.set_xlabel(f"{metric}: mean over seeds, bar = ±1 std (axis zoomed, not from 0)")
    ax.set_title(title or f"{metric} per setting")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _zoomed_range(means: np.ndarray, stds: np.ndarray, cutoff: float) -> tuple[float, float]:
    """The x range of :func:`plot_mean_std`: around the settings within ``cutoff`` of the best
    (the others are drawn at the left edge), with a margin, and room on the right for the text."""
    near = means >= float(np.nanmax(means)) - cutoff
    low = float(np.min(means[near] - stds[near]))
    high = float(np.max(means[near] + stds[near]))
    span = max(high - low, 0.002)
    return low - 0.15 * span, high + 0.9 * span


def plot_gradient_norms(table: Any, title: str = "Gradient per weight, layer by layer"):
    """Return a Figure of the RMS gradient per weight of each layer (log scale, input on the left):
    one line per ``activation``, one panel per ``when`` (e.g. "at initialisation", "after 1 epoch").

    ``table`` has one row per layer and columns ``layer``, ``rms``, ``activation`` and ``when``, as
    notebook 04 measures them with ``tf.GradientTape``. Defined in notebook 04.
    """
    for column in ("layer", "rms", "activation", "when"):
        if column not in table.columns:
            raise KeyError(f"table lacks column {column!r}; it has {list(table.columns)}")
    if table.empty:
        raise ValueError("table is empty: nothing to plot")
    panels = list(dict.fromkeys(table["when"]))
    fig, axes = pyplot().subplots(
        1, len(panels), figsize=(4.6 * len(panels) + 1, 4.2), sharey=True, squeeze=False
    )
    for ax, when in zip(axes[0], panels):
        part = table[table["when"] == when]
        names = list(dict.fromkeys(part["layer"]))
        for marker, (activation, group) in zip("os^dv", part.groupby("activation", sort=False)):
            positions = [names.index(layer) for layer in group["layer"]]
            ax.plot(positions, group["rms"], f"{marker}-", label=str(activation))
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yscale("log")
        ax.set_xlabel("layer (input on the left)")
        ax.set_title(str(when))
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("RMS gradient per weight of the mean loss (log scale)")
    axes[0][-1].legend(title="activation")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_lr_range_test(
    rates: Sequence[float],
    losses: Sequence[float],
    smoothed: Sequence[float],
    marks: Mapping[str, float] | None = None,
    title: str = "Learning-rate range test",
):
    """Return a Figure of the training loss against the learning rate (log x): the loss of each
    step (light), the smoothed loss (bold), and a vertical line per entry of ``marks`` (label ->
    learning rate). The y axis is cut to the useful range. Defined in notebook 04."""
    if not len(rates) or len(rates) != len(losses) or len(rates) != len(smoothed):
        raise ValueError(
            f"rates, losses and smoothed must be non-empty and as long, got {len(rates)}, "
            f"{len(losses)} and {len(smoothed)}"
        )
    fig, ax = pyplot().subplots(figsize=(7, 4.2))
    ax.plot(rates, losses, color="tab:blue", alpha=0.25, label="loss of each step")
    ax.plot(rates, smoothed, color="tab:blue", lw=2, label="smoothed loss")
    colors = ("tab:red", "tab:green", "tab:orange", "tab:purple")
    for color, (label, rate) in zip(colors, (marks or {}).items()):
        ax.axvline(float(rate), color=color, ls="--", lw=1.2, label=label)
    ax.set_xscale("log")
    low, first = float(np.nanmin(smoothed)), float(smoothed[0])
    ax.set_ylim(max(0.0, low - 0.1 * (first - low)), 1.15 * max(first, low))
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training cross-entropy loss (per sample)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
