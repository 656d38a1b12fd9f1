"""Figures of notebook 05: the preprocessing steps next to a plain resize, digits found on a sheet,
confusion matrices that show the errors, the learning curve and the cross-validation summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from helpers import figures
from helpers.handwriting.images import read_image
from helpers.handwriting.preprocess import STEP_TITLES, mnist_style_steps, plain_resize


def _show(ax: Any, image: Any) -> None:
    """Draw one image (array or path) on ``ax``: colour as is, grey on a fixed 0..1 (or 0..255) scale, no ticks."""
    if not isinstance(image, np.ndarray):
        image = read_image(image)[0]
    if image.dtype == np.uint16:
        image = image / 65535.0
    if image.ndim == 3:
        ax.imshow(image)
    else:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_pipeline_steps(
    photos: Sequence[Any], labels: Sequence[Any] | None = None, title: str = ""
):
    """Return a Figure with one row per photo: the photo, each step of ``to_mnist_style``, and the report's plain resize."""
    if not len(photos):
        raise ValueError("photos is empty: pass a few digit photos (arrays or paths)")
    plt = figures.pyplot()
    columns = ["photo", *STEP_TITLES.values(), "plain resize\n(the report)"]
    fig, axes = plt.subplots(
        len(photos),
        len(columns),
        figsize=(1.25 * len(columns), 1.35 * len(photos) + 0.6),
        squeeze=False,
    )
    for row, photo in enumerate(photos):
        steps = mnist_style_steps(photo)
        shown = [photo, *(steps[key] for key in STEP_TITLES), plain_resize(photo)]
        for col, image in enumerate(shown):
            _show(axes[row, col], image)
            if row == 0:
                axes[row, col].set_title(columns[col], fontsize=7.5)
        if labels is not None:
            axes[row, 0].set_ylabel(f"label {labels[row]}", fontsize=8)
    fig.suptitle(title or "From a photo to an MNIST-style digit, step by step")
    fig.tight_layout()
    return fig


def _draw_rejected(ax: Any, rejected: Any) -> None:
    """Outline the rejected blobs of a sheet thin and dashed: specks in grey, ruled lines in orange."""
    from matplotlib.patches import Rectangle

    for row in rejected.itertuples():
        colour = "tab:orange" if row.reason == "ruled line" else "0.45"
        corner = (row.left - 0.5, row.top - 0.5)
        width, height = row.right - row.left, row.bottom - row.top
        ax.add_patch(Rectangle(corner, width, height, fill=False, lw=0.6, ls="--", ec=colour))


def _box_label(k: int, predictions: Any, confidences: Any, true_labels: Any) -> tuple[str, str]:
    """Return the text and colour of box ``k``: its number, the prediction and confidence, right or wrong."""
    colour, text = "tab:blue", f"{k + 1}"
    if predictions is not None:
        text += f": {predictions[k]}"
        if confidences is not None:
            text += f" ({confidences[k]:.0%})"
        if true_labels is not None:
            colour = "tab:green" if predictions[k] == true_labels[k] else "tab:red"
    return text, colour


def _sheet_legend(ax: Any, read: bool, show_rejected: bool) -> None:
    """Add the legend of :func:`plot_sheet` to the right of ``ax``."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="tab:blue", lw=1.4, label="digit found")]
    if read:
        handles = [
            Line2D([], [], color="tab:green", lw=1.4, label="read correctly"),
            Line2D([], [], color="tab:red", lw=1.4, label="read wrongly"),
        ]
    if show_rejected:
        handles += [
            Line2D([], [], color="0.45", lw=0.8, ls="--", label="rejected: speck"),
            Line2D([], [], color="tab:orange", lw=0.8, ls="--", label="rejected: ruled line"),
        ]
    ax.legend(
        handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False
    )


def plot_sheet(
    photo: np.ndarray,
    found: Any,
    predictions: Sequence[int] | None = None,
    confidences: Sequence[float] | None = None,
    true_labels: Sequence[int] | None = None,
    show_rejected: bool = True,
    title: str = "",
):
    """Return a Figure of ``photo`` with the boxes of :func:`segment_sheet` in reading order.

    Each box is numbered; with ``predictions`` it also shows the predicted digit and confidence, green
    if it equals ``true_labels`` (when given), red if not. Rejected blobs are outlined thin: specks in
    grey, ruled lines in orange. Axes in pixels of the photo.
    """
    from matplotlib.patches import Rectangle

    plt = figures.pyplot()
    height, width = np.asarray(photo).shape[:2]
    fig, ax = plt.subplots(figsize=(min(12.0, 2.0 + width / 55), min(10.0, 1.0 + height / 55)))
    ax.imshow(photo, cmap="gray" if np.asarray(photo).ndim == 2 else None)
    if show_rejected and len(found.rejected):
        _draw_rejected(ax, found.rejected)
    for k, (top, left, bottom, right) in enumerate(found.boxes):
        text, colour = _box_label(k, predictions, confidences, true_labels)
        corner = (left - 0.5, top - 0.5)
        ax.add_patch(Rectangle(corner, right - left, bottom - top, fill=False, lw=1.4, ec=colour))
        box_style = {"fc": "white", "ec": "none", "alpha": 0.7, "pad": 0.5}
        ax.text(left, top - 2, text, fontsize=7, color=colour, va="bottom", bbox=box_style)
    _sheet_legend(ax, true_labels is not None and predictions is not None, show_rejected)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(title or f"{len(found)} digits found, numbered in reading order")
    fig.tight_layout()
    return fig


def plot_error_matrix(y_true: Any, y_pred: Any, ax: Any = None, title: str = ""):
    """Return the Axes of a row-normalised confusion matrix (% of each true digit) that shows the errors.

    Only the errors are coloured (their own scale, so a 1% cell is visible next to a 99% diagonal);
    the diagonal (right answers) is written in grey and cells with no image are left blank.
    """
    import seaborn as sns

    from helpers import evaluation

    rates = 100 * evaluation.confusion_matrix(y_true, y_pred, num_classes=10, normalize="true")
    if ax is None:
        _, ax = figures.pyplot().subplots(figsize=(6.6, 5.4))
    hide = np.eye(10, dtype=bool) | (rates == 0)
    errors = rates[~hide]
    sns.heatmap(
        rates,
        mask=hide,
        annot=True,
        fmt=".1f",
        cmap="Reds",
        vmin=0,
        vmax=errors.max() if errors.size else 1.0,
        linewidths=0.5,
        linecolor="0.9",
        annot_kws={"fontsize": 7},
        ax=ax,
        cbar_kws={"label": "% of the true digit (errors only)"},
    )
    for k in range(10):
        ax.text(
            k + 0.5,
            k + 0.5,
            f"{rates[k, k]:.0f}",
            ha="center",
            va="center",
            fontsize=7,
            color="0.45",
        )
    accuracy = evaluation.accuracy(y_true, y_pred)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"{title}: {accuracy:.1%} correct (% of each true digit)" if title else "")
    return ax


def plot_two_confusion_matrices(
    y_true: Any, y_before: Any, y_after: Any, titles: Sequence[str] = ("before", "after")
):
    """Return a Figure with two row-normalised confusion matrices side by side (e.g. zero-shot vs
    fine-tuned), errors coloured on their own scale (:func:`plot_error_matrix`)."""
    fig, axes = figures.pyplot().subplots(1, 2, figsize=(13, 5.2))
    for ax, pred, name in zip(axes, (y_before, y_after), titles):
        plot_error_matrix(y_true, pred, ax=ax, title=name)
    fig.tight_layout()
    return fig


def plot_learning_curve(
    table: Any,
    references: Mapping[str, float] | None = None,
    target: float | None = None,
    title: str = "Accuracy on held-out new samples vs new samples fine-tuned on",
):
    """Return a Figure of accuracy (%) against the number of new samples fine-tuned on (``learning_curve``'s table).

    ``references`` draws named horizontal lines (e.g. the cross-validated accuracy), ``target`` a dashed one.
    """
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(
        table["new samples"],
        100 * table["accuracy"],
        "o-",
        color="tab:blue",
        label="fine-tuned (mixed)",
    )
    for (name, value), style in zip((references or {}).items(), (":", "-.", "--")):
        ax.axhline(100 * value, color="0.35", ls=style, lw=1, label=f"{name}: {value:.1%}")
    if target is not None:
        ax.axhline(100 * target, color="tab:red", ls="--", lw=1, label=f"target {target:.0%}")
    for n, acc in zip(table["new samples"], table["accuracy"]):
        ax.annotate(
            f"{acc:.1%}",
            (n, 100 * acc),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    ax.set_xticks(list(table["new samples"]))
    ax.set_xlabel("new samples fine-tuned on (0 = zero-shot)")
    ax.set_ylabel("accuracy on the held-out fold (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_cv_summary(cv: Any, title: str = "Cross-validated accuracy of each method"):
    """Return a Figure with two panels on one shared, zoomed accuracy axis (%): each method's mean over
    folds (a dot, error bar: one standard deviation, ddof=1) and each fold (small grey dots), on the
    held-out new samples and on MNIST's test images afterwards (what was forgotten)."""
    plt = figures.pyplot()
    table = cv.table
    methods = list(dict.fromkeys(table["method"]))
    columns = [("accuracy", "held-out new samples"), ("mnist_accuracy", "MNIST test images")]
    columns = [c for c in columns if table[c[0]].notna().any()]
    fig, axes = plt.subplots(
        1, len(columns), figsize=(5.5 * len(columns), 3.8), squeeze=False, sharey=True
    )
    for ax, (column, name) in zip(axes[0], columns):
        for i, method in enumerate(methods):
            values = 100 * table.loc[table["method"] == method, column].to_numpy(dtype=float)
            std = values.std(ddof=1) if len(values) > 1 else 0.0
            ax.errorbar(i, values.mean(), yerr=std, fmt="o", color=f"C{i}", capsize=5, ms=7)
            spread = np.linspace(-0.12, 0.12, len(values)) + 0.22
            ax.plot(i + spread, values, ".", color="0.5", ms=4)
            ax.annotate(
                f"{values.mean():.2f}",
                (i, values.mean()),
                textcoords="offset points",
                xytext=(-34, -3),
                fontsize=8,
            )
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods)
        ax.set_xlim(-0.6, len(methods) - 0.4)
        ax.set_title(f"Accuracy on {name}")
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].set_ylabel("accuracy (%)")
    fig.suptitle(title + " (dots: mean over folds, bars: one std; grey: each fold)")
    fig.tight_layout()
    return fig
