"""Super-resolution figures: each builds without error and shows what its title says."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import sr_plots, superres


def test_architecture_rows_and_figure_follow_the_model():
    model = superres.build_fsrcnn(3, d=32, s=5, m=1, separable=True)
    rows = sr_plots.architecture_rows(model)
    assert [r["channels"] for r in rows] == [32, 5, 5, 32, 1]
    assert rows[2]["type"] == "SeparableConv2D" and rows[-1]["stride"] == 3
    fig = sr_plots.plot_fsrcnn_architecture(model)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "32" in texts and any("stride 3" in t for t in texts)
    plt.close(fig)


def test_image_splits_training_and_gain_figures():
    img = np.zeros((20, 30, 3), np.uint8)
    fig = sr_plots.plot_image_splits({"train": [("a", img), ("b", img)], "test": [("c", img)]})
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "a\n20x30"
    plt.close(fig)
    history = pd.DataFrame({"seconds": [1, 2], "val_psnr": [30.0, 31.0]})
    fig = sr_plots.plot_sr_training({"run": history}, baseline_psnr=29.5)
    assert fig.axes[0].get_xlabel() == "training time (s)"
    plt.close(fig)
    fig = sr_plots.plot_gain_bars({"FSRCNN": 1.2, "ReLU": -0.1})
    assert [p.get_width() for p in fig.axes[0].patches] == [1.2, -0.1]
    plt.close(fig)


def test_comparison_shows_crops_and_error_maps():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    fig = sr_plots.plot_sr_comparison(hr, {"same": hr, "black": np.zeros_like(hr)}, (5, 5, 20))
    titles = [ax.get_title() for ax in fig.axes]
    assert "|Y error|, mean 0.00" in titles and "HR (ground truth)" in titles
    plt.close(fig)
