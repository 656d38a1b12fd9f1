"""Figures that describe a dataset: digit grids, class balance, pixel histograms, class means.

(Figures of a trained model's results live in ``helpers.evaluation``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _plt():
    import matplotlib.pyplot as plt

    return plt


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
    plt = _plt()
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
    plt = _plt()
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
    plt = _plt()
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


def class_mean_images(images: np.ndarray, labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Return the mean image of each class, shape (num_classes, H, W), float64 (NaN for an absent class)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    labels = np.asarray(labels).astype(int)
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    out = np.full((num_classes,) + images.shape[1:], np.nan)
    for k in range(num_classes):
        mask = labels == k
        if mask.any():
            out[k] = images[mask].mean(axis=0)
    return out
