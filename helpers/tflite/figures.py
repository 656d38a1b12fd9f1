"""Figures of the TFLite track: file size against score for each converted variant, and what int8
does to a convolution kernel's weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from helpers.figures import pyplot, save_figure

VARIANT_STYLE = {  # marker, colour, marker size: hollow, of different shapes and sizes, so that
    # two variants at the same place (e.g. dynamic and int8 of a classifier) both stay visible
    "float32": ("o", "tab:blue", 150),
    "dynamic": ("s", "tab:orange", 90),
    "float16": ("D", "tab:green", 60),
    "int8": ("^", "tab:red", 110),
    "int16x8": ("v", "tab:purple", 110),
}
REFERENCE_STYLES = ("--", ":", "-.")


def _y_limits(values: list[float], min_span: float) -> tuple[float, float]:
    """Return y limits around ``values`` at least ``min_span`` apart, so tiny differences are not blown up."""
    lo, hi = min(values), max(values)
    span = max((hi - lo) * 1.35, min_span)
    middle = (lo + hi) / 2
    return middle - span / 2, middle + span / 2


def _size_score_panel(ax: Any, name: str, table: Any, lines: dict[str, float], min_span: float):
    """Draw one model's variants (score against file size in KB) and its reference lines on ``ax``."""
    missing = {"size_kb", "score"} - set(table.columns)
    if missing:
        raise ValueError(f"table {name!r} lacks the columns {sorted(missing)}")
    variants = table.drop(index="keras", errors="ignore")
    if "keras" in table.index:
        lines = {"Keras": float(table.loc["keras", "score"]), **lines}
    for (label, value), style in zip(lines.items(), REFERENCE_STYLES):
        ax.axhline(value, color="0.45", linestyle=style, linewidth=1, label=label)
    for variant, row in variants.iterrows():
        marker, color, size = VARIANT_STYLE.get(variant, ("x", "0.2", 90))
        ax.scatter(
            row["size_kb"],
            row["score"],
            marker=marker,
            s=size,
            facecolors="none",
            edgecolors=color,
            linewidths=1.8,
            zorder=3,
            label=variant,
        )
    ax.set_xlim(0, 1.15 * float(variants["size_kb"].max()))
    ax.set_ylim(*_y_limits([*variants["score"].astype(float), *lines.values()], min_span))
    ax.set_xlabel("TFLite file size (KB)")
    ax.set_title(name)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, framealpha=0.85)


def plot_size_vs_score(
    tables: Mapping[str, Any],
    score_labels: Mapping[str, str] | None = None,
    references: Mapping[str, Mapping[str, float]] | None = None,
    min_span: float = 0.5,
    save_as: str | None = None,
    columns: int = 3,
):
    """Return a Figure with one panel per model, ``columns`` to a row: score against TFLite file size.

    ``tables`` maps a model name to its :func:`compare_variants` table (columns ``size_kb`` in KB and
    ``score``; a ``"keras"`` row becomes a dashed line). ``score_labels`` gives each model's y-axis
    label (default "score"); ``references`` adds dotted lines, e.g. ``{"fsrcnn_x3": {"bicubic":
    29.99}}``. Each y-axis spans at least ``min_span`` score units; x starts at 0 KB. Each panel
    has its legend (variants by marker, reference lines by style). ``save_as`` saves the figure.
    """
    if not tables:
        raise ValueError("tables is empty: pass {model name: compare_variants(...) table}")
    score_labels, references = dict(score_labels or {}), dict(references or {})
    columns = min(columns, len(tables))
    rows = -(-len(tables) // columns)
    fig, axes = pyplot().subplots(rows, columns, figsize=(4.6 * columns, 3.9 * rows), squeeze=False)
    for ax, (name, table) in zip(axes.flat, tables.items()):
        _size_score_panel(ax, name, table, dict(references.get(name, {})), min_span)
        ax.set_ylabel(score_labels.get(name, "score"))
    for ax in list(axes.flat)[len(tables) :]:
        ax.set_visible(False)
    fig.tight_layout()
    if save_as:
        save_figure(fig, save_as)
    return fig


def plot_weight_quantization(
    float_kernel: np.ndarray, int8_kernel: Mapping[str, Any], save_as: str | None = None
):
    """Return a 3-panel Figure: float32 kernel histogram, int8 values histogram, and q against w for the filter with the median scale.

    ``float_kernel`` is the Keras kernel (h, w, in, out); ``int8_kernel`` is the
    :func:`read_weight_tensor` dict of the same layer (values (out, h, w, in), per-channel scales,
    zero point 0). ``save_as`` saves the figure under that name.
    """
    values = np.asarray(int8_kernel["values"])
    scales = np.asarray(int8_kernel["scales"], dtype=np.float64)
    w = np.transpose(np.asarray(float_kernel), (3, 0, 1, 2))  # Keras -> TFLite layout
    if w.shape != values.shape:
        raise ValueError(
            f"float_kernel {np.shape(float_kernel)} (Keras h, w, in, out) does not match the int8 "
            f"kernel {values.shape} (TFLite out, h, w, in): pass the same layer of the same model"
        )
    if len(scales) != len(values):
        raise ValueError(
            f"expected one scale per output channel ({len(values)}), got {len(scales)}"
        )
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    axes[0].hist(w.ravel(), bins=80, color="tab:blue")
    axes[0].set(
        title=f"float32 weights, all {len(w)} filters", xlabel="weight value w", ylabel="count"
    )
    axes[1].hist(values.ravel(), bins=np.arange(-128.5, 128.5, 1), color="tab:orange")
    axes[1].set(title="int8 values q (per-channel scales)", xlabel="q (integer)", ylabel="count")
    c = int(np.argsort(scales)[len(scales) // 2])  # the filter with the median scale
    axes[2].scatter(w[c].ravel(), values[c].ravel(), s=14, label="weights")
    grid = np.linspace(w[c].min(), w[c].max(), 50)
    axes[2].plot(
        grid,
        grid / scales[c],
        color="0.5",
        linewidth=1,
        label="w / scale (before rounding)",
    )
    axes[2].set(
        title=f"filter {c}: q = round(w / {scales[c]:.2e})",
        xlabel="float weight w",
        ylabel="int8 value q",
    )
    axes[2].legend(fontsize=9)
    fig.tight_layout()
    if save_as:
        save_figure(fig, save_as)
    return fig
