"""Figures of the NumPy CNN notebook: learned kernels, feature maps, per-step loss and learning rate,
and the time profile of a training epoch.

Every function returns a Matplotlib figure; save it with ``helpers.figures.save_figure``. Per-epoch
training curves use ``helpers.figures.plot_training_curves(history)`` directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from helpers.figures import pyplot
from helpers.scratch.network import Sequential


def plot_kernels(weights: np.ndarray, title: str = "First-layer kernels", input_channel: int = 0):
    """Return a figure with one panel per output channel of a kernel ``(k, k, C_in, C_out)`` (one input channel).

    A diverging colour map centred on 0 per kernel: red weights excite, blue ones inhibit.
    """
    weights = np.asarray(weights)
    if weights.ndim != 4:
        raise ValueError(
            f"weights must be a convolution kernel (k, k, C_in, C_out), got {weights.shape}"
        )
    if not 0 <= input_channel < weights.shape[2]:
        raise ValueError(f"input_channel must be in 0..{weights.shape[2] - 1}, got {input_channel}")
    count = weights.shape[3]
    cols = min(count, 8)
    rows = int(np.ceil(count / cols))
    plt = pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.45 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < count:
            kernel = weights[:, :, input_channel, i]
            limit = float(np.abs(kernel).max()) or 1.0
            ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"kernel {i + 1}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_feature_maps(
    net: Sequential,
    image: np.ndarray,
    layers: Sequence[str] = ("relu1", "pool1", "relu2", "pool2"),
    max_channels: int = 12,
):
    """Return a figure: the input image, then one row per named layer with its output channels for that image."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or len(image) != 1:
        raise ValueError(f"image must be one image (H, W, C) or (1, H, W, C), got {image.shape}")
    names = [layer.name for layer in net.layers]
    missing = [n for n in layers if n not in names]
    if missing:
        raise ValueError(f"no layers named {missing}; the network has {names}")
    outputs, h = {}, image
    for layer in net.layers:
        h = layer.forward(h)
        if layer.name in layers:
            outputs[layer.name] = h[0]
    cols = min(max_channels, max(o.shape[-1] for o in outputs.values()))
    plt = pyplot()
    fig, axes = plt.subplots(
        len(layers) + 1, cols, figsize=(1.05 * cols, 1.2 * (len(layers) + 1)), squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    axes[0, 0].imshow(image[0, :, :, 0], cmap="gray_r")
    axes[0, 0].set_title("input", fontsize=8)
    for row, name in enumerate(layers, start=1):
        maps = outputs[name]
        for c in range(min(cols, maps.shape[-1])):
            axes[row, c].imshow(maps[:, :, c], cmap="viridis")
        axes[row, 0].set_title(
            f"{name} {maps.shape[0]}x{maps.shape[1]}x{maps.shape[2]}", fontsize=8, loc="left"
        )
    fig.suptitle("Feature maps of one test digit (one panel per channel)")
    fig.tight_layout()
    return fig


def plot_step_curves(steps: Mapping[str, Sequence[float]], steps_per_epoch: int, smooth: int = 50):
    """Return a figure: the mini-batch loss (raw and a ``smooth``-step moving mean) and the learning rate per step.

    ``steps`` is ``Sequential.steps`` (keys "loss" and "learning_rate"); epochs are marked on the x axis.
    """
    loss = np.asarray(steps.get("loss", []), dtype=float)
    rate = np.asarray(steps.get("learning_rate", []), dtype=float)
    if loss.size == 0 or loss.size != rate.size:
        raise ValueError(
            "steps must hold equally long 'loss' and 'learning_rate' lists (Sequential.steps)"
        )
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    window = max(1, min(int(smooth), loss.size))
    mean = np.convolve(loss, np.ones(window) / window, mode="valid")
    epoch = np.arange(loss.size) / steps_per_epoch
    plt = pyplot()
    fig, (ax_loss, ax_rate) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax_loss.plot(epoch, loss, lw=0.4, alpha=0.35, label="one mini-batch")
    ax_loss.plot(epoch[window - 1 :], mean, lw=1.5, label=f"mean of {window} mini-batches")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy (log scale)")
    ax_loss.set_title("Training loss per mini-batch")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_rate.plot(epoch, rate)
    ax_rate.set_xlabel("epoch")
    ax_rate.set_ylabel("learning rate")
    ax_rate.set_title(f"Learning rate: {rate[0]:.3g} -> {rate[-1]:.3g}")
    ax_rate.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_profile(profile: Any, title: str = "Where a training epoch spends its time"):
    """Return a horizontal bar chart of seconds per layer and pass (``Sequential.profile()``), largest first."""
    table = profile[profile["seconds"] > 0].sort_values("seconds")
    if table.empty:
        raise ValueError("the profile is empty: train or predict first (Sequential.profile())")
    labels = [f"{layer} {phase}" for layer, phase in zip(table["layer"], table["pass"])]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(table) + 1.2))
    colours = ["#4C72B0" if p == "forward" else "#DD8452" for p in table["pass"]]
    ax.barh(labels, table["seconds"], color=colours)
    for y, (seconds, share) in enumerate(zip(table["seconds"], table["share"])):
        ax.text(seconds, y, f" {seconds:.2f} s ({share:.0%})", va="center", fontsize=8)
    ax.set_xlabel("seconds per epoch (blue: forward, orange: backward)")
    ax.set_xlim(0, float(table["seconds"].max()) * 1.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_configurations(table: Any, title: str = "The slides' CNN: variants trained 5 epochs"):
    """Return a dot plot of test accuracy (%) per variant: Keras mean +- std over seeds, NumPy run.

    ``table`` is :func:`helpers.scratch.compare_configurations`' result with Keras columns
    (``keras_test_mean``, ``keras_test_std``, ``keras_seeds``) and ``numpy_test_accuracy``; the
    slides' numbers are drawn too when a ``slides_test_accuracy`` column holds them. The accuracy
    axis is zoomed on the points, so read the gaps against the error bars, not against 0.
    """
    needed = {"keras_test_mean", "keras_test_std", "keras_seeds", "numpy_test_accuracy"}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(
            f"table lacks the columns {sorted(missing)}: call compare_configurations with keras"
        )
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(table) + 2.0))
    rows = np.arange(len(table))[::-1]  # first variant on top
    seeds = int(table["keras_seeds"].max())
    ax.errorbar(
        100 * table["keras_test_mean"],
        rows,
        xerr=100 * table["keras_test_std"].fillna(0.0),
        fmt="o",
        capsize=4,
        label=f"Keras, mean ± std of {seeds} seeds",
    )
    ax.plot(100 * table["numpy_test_accuracy"], rows - 0.2, "s", label="NumPy, one run")
    if "slides_test_accuracy" in table.columns:
        ax.plot(100 * table["slides_test_accuracy"], rows + 0.2, "x", c="k", label="the slides")
    ax.set_yticks(rows, list(table.index))
    ax.set_xlabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize="small")
    fig.tight_layout()
    return fig
