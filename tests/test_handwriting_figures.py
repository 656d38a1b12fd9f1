"""Figures of notebook 05: the panels, boxes, bars and lines they draw hold the numbers given."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from helpers import figures
from helpers import handwriting as hw
from helpers.kit import config

DIGITS_DIR = config.DATA_DIR / "handwriting" / "digits"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    figures.pyplot().close("all")


def test_pipeline_figure_has_one_row_per_photo_and_a_column_per_step():
    photos = sorted(DIGITS_DIR.rglob("*.*"))[:2]
    fig = hw.plot_pipeline_steps(photos, labels=[0, 0])
    axes = np.array(fig.axes).reshape(2, -1)
    assert axes.shape == (2, len(hw.STEP_TITLES) + 2)
    titles = [ax.get_title() for ax in axes[0]]
    assert titles[0] == "photo" and titles[1:-1] == list(hw.STEP_TITLES.values())
    assert titles[-1].startswith("plain resize")
    last = axes[0, -2].get_images()[0].get_array()
    np.testing.assert_array_equal(last, hw.to_mnist_style(photos[0]))


def test_sheet_figure_draws_every_box_and_every_rejected_blob():
    path = config.DATA_DIR / "handwriting" / "sheets" / "sheet_2.jpg"
    found = hw.segment_sheet(path)
    predictions = np.arange(len(found)) % 10
    truth = hw.labels_of_found(found, hw.read_sheet_truth(path))
    fig = hw.plot_sheet(hw.read_image(path)[0], found, predictions, np.full(len(found), 0.5), truth)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(found) + len(found.rejected)
    red = sum(
        1 for p in boxes if p.get_edgecolor()[:3] == pytest.approx((0.839, 0.153, 0.157), abs=1e-2)
    )
    assert red == int(np.sum(predictions != truth))
    assert [t.get_text() for t in ax.texts][:2] == ["1: 0 (50%)", "2: 1 (50%)"]


def test_two_confusion_matrices_are_titled_with_their_accuracy():
    y = np.repeat(np.arange(10), 5)
    before = y.copy()
    before[:10] = 9
    fig = hw.plot_two_confusion_matrices(y, before, y, titles=("zero-shot", "fine-tuned"))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "zero-shot: 80.0% correct (% of each true digit)",
        "fine-tuned: 100.0% correct (% of each true digit)",
    ]


def test_learning_curve_plots_the_accuracies_in_percent():
    table = pd.DataFrame({"new samples": [0, 50, 100], "accuracy": [0.8, 0.9, 0.95]})
    fig = hw.plot_learning_curve(table, references={"cross-validated": 0.97}, target=0.98)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [80, 90, 95])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "cross-validated: 97.0%" in labels and "target 98%" in labels


def test_cv_summary_dots_are_the_means_over_folds_on_one_axis():
    table = pd.DataFrame(
        {
            "fold": [1, 1, 2, 2],
            "method": ["zero-shot", "mixed", "zero-shot", "mixed"],
            "accuracy": [0.8, 0.96, 0.82, 0.98],
            "mnist_accuracy": [0.99, 0.985, 0.99, 0.987],
        }
    )
    fig = hw.plot_cv_summary(hw.CrossValidation(table, [], None, {}, {}))
    assert len(fig.axes) == 2
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()  # one shared accuracy axis
    for ax, means in zip(fig.axes, ([81, 97], [99, 98.6])):
        dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
        np.testing.assert_allclose([line.get_ydata()[0] for line in dots], means)


def test_error_matrix_colours_only_the_errors():
    y = np.repeat(np.arange(10), 10)
    pred = y.copy()
    pred[:3] = 6  # three 0s read as 6
    ax = hw.plot_error_matrix(y, pred, title="zero-shot")
    assert ax.get_title() == "zero-shot: 97.0% correct (% of each true digit)"
    coloured = [t.get_text() for t in ax.texts if t.get_color() != "0.45"]
    assert coloured == ["30.0"]  # the one error cell; the diagonal is written in grey
