"""Notebook 04's saved pieces outside the tuner: the stratified data sample of the sweeps
(helpers.data.sample_mnist_splits) and the figures of the gradient and range-test sections."""

import numpy as np
import pandas as pd
import pytest

from helpers import data, figures


def test_sample_mnist_splits_keeps_validation_whole_and_classes_balanced():
    splits = data.sample_mnist_splits(train_size=1_000)
    assert len(splits["y_train"]) == 1_000
    assert len(splits["y_val"]) == 5_000 and len(splits["y_test"]) == 10_000
    counts = np.bincount(splits["y_train"], minlength=10)
    assert counts.min() >= 85 and counts.max() <= 115  # MNIST's class shares, stratified
    small = data.sample_mnist_splits(train_size=500, val_size=200)
    assert len(small["y_train"]) == 500 and len(small["y_val"]) == 200
    assert small["x_train"].dtype == np.float32 and small["x_train"].shape[1:] == (28, 28, 1)
    again = data.sample_mnist_splits(train_size=500, val_size=200)
    assert np.array_equal(again["y_train"], small["y_train"])  # seeded
    with pytest.raises(ValueError, match="train_size"):
        data.sample_mnist_splits(train_size=0)


def _gradient_table():
    rows = []
    for when in ("at initialisation", "after 1 epoch"):
        for activation, scale in (("relu", 1.0), ("sigmoid", 0.01)):
            for i, layer in enumerate(("conv_1", "conv_2", "probabilities")):
                rms = scale * 10.0 ** (i - 2)
                rows.append(dict(when=when, activation=activation, layer=layer, rms=rms))
    return pd.DataFrame(rows)


def test_plot_gradient_norms_one_panel_per_moment_one_line_per_activation():
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = figures.plot_gradient_norms(_gradient_table(), title="study CNN")
    try:
        assert len(fig.axes) == 2
        ax = fig.axes[0]
        assert ax.get_yscale() == "log" and ax.get_title() == "at initialisation"
        assert len(ax.get_lines()) == 2
        assert [t.get_text() for t in ax.get_xticklabels()] == ["conv_1", "conv_2", "probabilities"]
    finally:
        plt.close(fig)
    with pytest.raises(KeyError, match="rms"):
        figures.plot_gradient_norms(_gradient_table().drop(columns="rms"))


def test_plot_lr_range_test_lines_and_marks():
    plt = pytest.importorskip("matplotlib.pyplot")
    rates = 1e-5 * 1e5 ** (np.arange(50) / 49)
    losses = 2.3 - np.sin(np.linspace(0.0, 3.0, 50))
    smoothed = pd.Series(losses).ewm(alpha=0.02).mean().to_numpy()
    fig = figures.plot_lr_range_test(rates, losses, smoothed, marks={"suggested": 1e-3})
    try:
        ax = fig.axes[0]
        assert ax.get_xscale() == "log"
        assert len(ax.get_lines()) == 3  # raw, smoothed, one mark
        assert "suggested" in [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="as long"):
        figures.plot_lr_range_test(rates, losses[:10], smoothed)
