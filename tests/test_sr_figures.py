"""Super-resolution figures: each builds without error and shows what its title says."""

import numpy as np
import pandas as pd
import pytest

from helpers import figures, sr
from helpers.sr import figures as sr_figures

plt = figures.pyplot()


def test_architecture_rows_and_figure_follow_the_model():
    model = sr.build_fsrcnn(3, d=32, s=5, m=1, separable=True)
    rows = sr_figures.architecture_rows(model)
    assert [r["channels"] for r in rows] == [32, 5, 5, 32, 1]
    assert rows[2]["type"] == "SeparableConv2D" and rows[-1]["stride"] == 3
    fig = sr.plot_fsrcnn_architecture(model)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "32" in texts and any("stride 3" in t for t in texts)
    plt.close(fig)


def test_image_splits_and_training_figures():
    img = np.zeros((20, 30, 3), np.uint8)
    fig = sr.plot_image_splits({"train": [("a", img), ("b", img)], "test": [("c", img)]})
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "a\n20x30"
    plt.close(fig)
    history = pd.DataFrame({"steps": [10, 20], "loss": [2e-3, 1e-3], "val_psnr": [30.0, 31.0]})
    fig = sr.plot_sr_training({"run": history}, baseline_psnr=29.5)
    assert [ax.get_xlabel() for ax in fig.axes] == ["training step", "training step"]
    assert fig.axes[0].get_yscale() == "log" and "PSNR" in fig.axes[1].get_ylabel()
    plt.close(fig)


def gain_table():
    return pd.DataFrame(
        {
            "scale": [2, 2, 3, 3, 3, 3, 4, 4],
            "gain (dB)": [0.0, 1.72, 0.0, 0.96, 0.70, -1.44, 0.0, 0.88],
        },
        index=[
            "bicubic x2",
            "fsrcnn_x2",
            "bicubic x3",
            "fsrcnn_x3",
            "fsrcnn_s_x3",
            "fsrcnn_bn_x3",
            "bicubic x4",
            "fsrcnn_x4",
        ],
    )


def test_gain_bars_have_one_panel_per_scale_sorted_by_gain_without_bicubic():
    fig = sr.plot_gain_bars(gain_table())
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == ["x2", "x3", "x4"]
    assert [p.get_width() for p in axes[1].patches] == [0.96, 0.70, -1.44]
    assert [t.get_text() for t in axes[1].get_yticklabels()] == [
        "fsrcnn_x3",
        "fsrcnn_s_x3",
        "fsrcnn_bn_x3",
    ]
    assert [t.get_text() for t in axes[1].texts] == ["+0.96 dB", "+0.70 dB", "-1.44 dB"]
    plt.close(fig)


def test_gain_bar_labels_stay_inside_the_axes_and_clear_of_every_tick_label():
    fig = sr.plot_gain_bars(gain_table())
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() + ax.get_xticklabels()]
        ticks = [t for t in ticks if t.width > 0]
        for text in ax.texts:
            label = text.get_window_extent(renderer)
            assert box.x0 <= label.x0 and label.x1 <= box.x1, text.get_text()
            assert not any(label.overlaps(t) for t in ticks), text.get_text()
    plt.close(fig)


def test_gain_bars_reject_a_table_without_gains():
    with pytest.raises(ValueError, match="no column"):
        sr.plot_gain_bars(pd.DataFrame({"scale": [3]}, index=["fsrcnn_x3"]))
    with pytest.raises(ValueError, match="only bicubic"):
        sr.plot_gain_bars(gain_table().loc[["bicubic x2"]])


def test_comparison_shows_crops_and_error_maps():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    fig = sr.plot_sr_comparison(hr, {"same": hr, "black": np.zeros_like(hr)}, (5, 5, 20))
    titles = [ax.get_title() for ax in fig.axes]
    assert "|Y error|, mean 0.00" in titles and "HR (ground truth)" in titles
    plt.close(fig)
