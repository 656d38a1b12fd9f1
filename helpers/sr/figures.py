"""Figures of the super-resolution notebook: FSRCNN's architecture, the image splits, training curves,
gain bars and side-by-side crops with an error map.

Every function returns a Matplotlib figure; save it with ``helpers.figures.save_figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from helpers.figures import pyplot
from helpers.sr.data import rgb_to_y

_STAGE_COLOURS = {
    "feature_extraction": "#4C72B0",
    "shrinking": "#DD8452",
    "mapping": "#55A868",
    "expanding": "#C44E52",
    "deconvolution": "#8172B3",
}


def architecture_rows(model: Any) -> list[dict[str, Any]]:
    """Return one dict per convolution of an FSRCNN model: name, stage, kernel, output channels, stride."""
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in ("Conv2D", "SeparableConv2D", "Conv2DTranspose"):
            continue
        stage = layer.name.split("_")[0] if layer.name.startswith("mapping") else layer.name
        rows.append(
            {
                "name": layer.name,
                "stage": stage,
                "type": kind,
                "kernel": f"{layer.kernel_size[0]}x{layer.kernel_size[1]}",
                "channels": int(layer.filters),
                "stride": int(layer.strides[0]),
            }
        )
    return rows


def plot_fsrcnn_architecture(model: Any, title: str | None = None):
    """Return a figure drawing the model's convolutions as boxes whose height follows their output channels."""
    plt = pyplot()
    from matplotlib.patches import FancyBboxPatch

    rows = architecture_rows(model)
    top = max(r["channels"] for r in rows)
    fig, ax = plt.subplots(figsize=(1.45 * (len(rows) + 1), 3.6))
    for i, r in enumerate(rows):
        height = 0.25 + 2.25 * r["channels"] / top
        box = FancyBboxPatch(
            (i + 0.12, -height / 2),
            0.76,
            height,
            boxstyle="round,pad=0.02",
            facecolor=_STAGE_COLOURS[r["stage"]],
            alpha=0.85,
            edgecolor="black",
        )
        ax.add_patch(box)
        kind = {"SeparableConv2D": "sep. conv", "Conv2DTranspose": "deconv"}.get(r["type"], "conv")
        extra = f"\nstride {r['stride']}" if r["stride"] > 1 else ""
        ax.text(
            i + 0.5,
            -height / 2 - 0.12,
            f"{r['name'].replace('_', ' ')}\n{kind} {r['kernel']}{extra}",
            ha="center",
            va="top",
            fontsize=8,
        )
        ax.text(
            i + 0.5,
            0,
            str(r["channels"]),
            ha="center",
            va="center",
            color="white",
            fontweight="bold",
        )
        if i:
            ax.annotate("", xy=(i + 0.1, 0), xytext=(i - 0.1, 0), arrowprops=dict(arrowstyle="->"))
    ax.text(-0.35, 0, "LR Y\n1 ch", ha="center", va="center", fontsize=9)
    ax.text(len(rows) + 0.3, 0, "HR Y\n1 ch", ha="center", va="center", fontsize=9)
    ax.set_xlim(-0.8, len(rows) + 0.8)
    ax.set_ylim(-2.4, 1.5)
    ax.axis("off")
    ax.set_title(
        title or f"{model.name}: boxes = convolutions, number and height = output channels"
    )
    return fig


def plot_image_splits(
    splits: dict[str, Sequence[tuple[str, np.ndarray]]], thumb_height: float = 1.7
):
    """Return a figure of thumbnails, one row per split (train / val / test), each titled with name and size."""
    plt = pyplot()
    cols = max(len(v) for v in splits.values())
    fig, axes = plt.subplots(
        len(splits),
        cols,
        figsize=(thumb_height * cols, (thumb_height + 0.35) * len(splits)),
        squeeze=False,
    )
    for row, (split, images) in enumerate(splits.items()):
        for col in range(cols):
            ax = axes[row][col]
            ax.axis("off")
            if col < len(images):
                name, img = images[col]
                ax.imshow(img)
                ax.set_title(f"{name}\n{img.shape[0]}x{img.shape[1]}", fontsize=8)
        axes[row][0].text(
            -0.15,
            0.5,
            split,
            transform=axes[row][0].transAxes,
            rotation=90,
            ha="right",
            va="center",
            fontsize=12,
            fontweight="bold",
        )
    fig.suptitle("Super-resolution images: one row per split (height x width in pixels)")
    fig.tight_layout()
    return fig


def plot_sr_training(histories: dict[str, Any], baseline_psnr: float | None = None):
    """Return a figure of training: loss (left, log scale) and validation Y-PSNR (right) per step.

    ``histories`` maps a run name to a DataFrame with ``steps``, ``loss`` and ``val_psnr`` columns
    (what ``sr.train_fsrcnn`` returns, or ``sr.pretrained_history``). ``baseline_psnr`` draws
    bicubic's validation PSNR as a dashed line.
    """
    plt = pyplot()
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, h in histories.items():
        ax_loss.plot(h["steps"], h["loss"], marker=".", label=name)
        ax_psnr.plot(h["steps"], h["val_psnr"], marker=".", label=name)
        best = h["val_psnr"].idxmax()
        ax_psnr.plot(h.loc[best, "steps"], h.loc[best, "val_psnr"], "k*", ms=10)
    if baseline_psnr is not None:
        ax_psnr.axhline(baseline_psnr, color="grey", ls="--", label="bicubic")
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel="training step", ylabel="training loss (MSE on Y)", title="Training loss")
    ax_psnr.set(
        xlabel="training step",
        ylabel="validation Y-PSNR (dB)",
        title="Validation PSNR (star: the epoch kept)",
    )
    for ax in (ax_loss, ax_psnr):
        ax.grid(alpha=0.3)
    ax_psnr.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _label_bars(ax: Any, bars: Any, values: Any, span: float) -> None:
    """Write each bar's value in dB just outside its end (away from the zero line and the names)."""
    for bar, v in zip(bars, values):
        ax.text(
            v + (0.02 if v >= 0 else -0.02) * (span or 1.0),
            bar.get_y() + bar.get_height() / 2,
            f"{v:+.2f} dB",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=8,
        )


def plot_gain_bars(
    table: Any,
    column: str = "gain (dB)",
    title: str = "Gain over bicubic at the same scale (mean Y-PSNR on the test images)",
):
    """Return horizontal bars of PSNR gains in dB, one panel per scale, largest gain on top.

    ``table`` has one row per model (the index names it) with a ``scale`` column and ``column``,
    e.g. the table of ``sr.cost_quality_table``; its "bicubic x<scale>" rows (gain 0) are left out.
    """
    missing = [c for c in ("scale", column) if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column {missing}: pass sr.cost_quality_table(...)")
    rows = table[~table.index.astype(str).str.startswith("bicubic")]
    if rows.empty:
        raise ValueError("table holds only bicubic rows: there is no gain to plot")
    scales = sorted(rows["scale"].unique())
    counts = [int((rows["scale"] == s).sum()) for s in scales]
    plt = pyplot()
    fig, axes = plt.subplots(
        len(scales),
        1,
        figsize=(7.5, 0.42 * sum(counts) + 0.75 * len(scales) + 0.6),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": counts},
    )
    values = rows[column].astype(float)
    low, high = min(0.0, values.min()), max(0.0, values.max())
    pad = 0.3 * (high - low or 1.0)  # room for the value labels beyond the bar ends
    for ax, scale in zip(axes[:, 0], scales):
        part = rows[rows["scale"] == scale][column].astype(float).sort_values(ascending=False)
        colours = ["#4C72B0" if v >= 0 else "#C44E52" for v in part]
        _label_bars(ax, ax.barh(list(part.index), list(part), color=colours), part, high - low)
        ax.axvline(0, color="black", lw=0.8)
        ax.invert_yaxis()
        ax.set_title(f"x{scale}", loc="left", fontsize=10, fontweight="bold")
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlim(low - (pad if low < 0 else 0.05 * pad), high + pad)
    axes[-1, 0].set_xlabel("PSNR gain over bicubic (dB); 0 = bicubic")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_sr_comparison(
    hr: np.ndarray, candidates: dict[str, np.ndarray], box: tuple[int, int, int], title: str = ""
):
    """Return a figure: the HR crop and each candidate's crop at the same zoom, and below them |Y error| maps.

    ``box`` = (top, left, size) in HR pixels; error maps show |Y(candidate) - Y(HR)| in Y levels (0..255).
    """
    plt = pyplot()
    top, left, size = box
    crop = (slice(top, top + size), slice(left, left + size))
    y_hr = rgb_to_y(hr)[crop]
    n = len(candidates) + 1
    fig, axes = plt.subplots(2, n, figsize=(2.9 * n, 6.0), squeeze=False)
    axes[0][0].imshow(hr[crop], interpolation="nearest")
    axes[0][0].set_title("HR (ground truth)")
    axes[1][0].imshow(hr, interpolation="nearest")
    axes[1][0].add_patch(
        plt.Rectangle((left, top), size, size, fill=False, edgecolor="red", lw=1.5)
    )
    axes[1][0].set_title("where the crop is")
    errors = {name: np.abs(rgb_to_y(img)[crop] - y_hr) for name, img in candidates.items()}
    vmax = max(float(np.percentile(e, 99)) for e in errors.values()) or 1.0
    for i, (name, img) in enumerate(candidates.items(), start=1):
        axes[0][i].imshow(img[crop], interpolation="nearest")
        axes[0][i].set_title(name)
        im = axes[1][i].imshow(
            errors[name], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest"
        )
        axes[1][i].set_title(f"|Y error|, mean {errors[name].mean():.2f}")
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes[1][1:]), fraction=0.025, label="|Y error| (levels of 255)")
    fig.suptitle(title or f"{size}x{size} px crop at the same zoom (nearest-neighbour display)")
    return fig
