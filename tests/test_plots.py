"""Dataset figures: shapes of the grids, bar heights, class means by hand."""

import numpy as np
import pytest

from helpers import plots


def test_digit_grid_has_one_titled_axis_per_image():
    imgs = np.zeros((5, 28, 28, 1), np.uint8)
    fig = plots.plot_digit_grid(imgs, labels=[3, 1, 4, 1, 5], rows=2, cols=3, title="demo")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 6 and titles[:5] == ["3", "1", "4", "1", "5"] and titles[5] == ""
    assert fig._suptitle.get_text() == "demo"


def test_digit_grid_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        plots.plot_digit_grid(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="labels"):
        plots.plot_digit_grid(np.zeros((4, 28, 28)), labels=[1], rows=1, cols=4)


def test_class_balance_bars_are_percentages():
    fig = plots.plot_class_balance(
        {"train": np.array([0, 0, 1, 2]), "test": np.array([2, 2])}, num_classes=3
    )
    ax = fig.axes[0]
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [50.0, 25.0, 25.0, 0.0, 0.0, 100.0]
    assert ax.get_ylabel().endswith("(%)")


def test_class_mean_images_by_hand():
    imgs = np.array([[[0, 2]], [[4, 6]], [[10, 10]]], dtype=np.uint8)
    means = plots.class_mean_images(imgs, np.array([0, 0, 1]), num_classes=3)
    np.testing.assert_array_equal(means[0], [[2.0, 4.0]])
    np.testing.assert_array_equal(means[1], [[10.0, 10.0]])
    assert np.isnan(means[2]).all()
