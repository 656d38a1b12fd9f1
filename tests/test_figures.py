"""Figures: what each one draws (axes, titles, labels, line data), checked on small hand-made inputs."""

import numpy as np
import pytest

from helpers import figures
from helpers.kit import config

plt = figures.pyplot()

# 10 examples, 3 classes (as in test_evaluation): wrong at indices 2, 3, 5, 6.
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 2, 1, 0, 0, 2, 2, 2])
HISTORY = {
    "loss": [1.0, 0.5, 0.3, 0.25, 0.2],
    "val_loss": [1.1, 0.7, 0.6, 0.55, 0.5],
    "accuracy": [0.5, 0.8, 0.9, 0.92, 0.93],
    "val_accuracy": [0.4, 0.7, 0.8, 0.81, 0.83],
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- the data


def test_digit_grid_has_one_titled_axis_per_image():
    imgs = np.zeros((5, 28, 28, 1), np.uint8)
    fig = figures.plot_digit_grid(imgs, labels=[3, 1, 4, 1, 5], rows=2, cols=3, title="demo")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 6 and titles[:5] == ["3", "1", "4", "1", "5"] and titles[5] == ""
    assert fig._suptitle.get_text() == "demo"
    assert sum(len(ax.images) for ax in fig.axes) == 5  # the sixth cell stays empty


def test_digit_grid_row_labels_sit_left_of_each_row_and_titles_can_be_off():
    imgs = np.zeros((6, 4, 4))
    fig = figures.plot_digit_grid(imgs, rows=2, cols=3, row_labels=["original", "augmented"])
    assert [ax.get_title() for ax in fig.axes] == [""] * 6
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert texts == [["original"], [], [], ["augmented"], [], []]
    with pytest.raises(ValueError, match="row_labels"):
        figures.plot_digit_grid(imgs, rows=2, cols=3, row_labels=["only one"])


def test_digit_grid_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        figures.plot_digit_grid(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="labels"):
        figures.plot_digit_grid(np.zeros((4, 28, 28)), labels=[1], rows=1, cols=4)


def test_class_balance_bars_are_percentages():
    fig = figures.plot_class_balance(
        {"train": np.array([0, 0, 1, 2]), "test": np.array([2, 2])}, num_classes=3
    )
    ax = fig.axes[0]
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [50.0, 25.0, 25.0, 0.0, 0.0, 100.0]
    assert ax.get_ylabel().endswith("(%)")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == ["perfectly balanced", "test (n=2)", "train (n=4)"]


def test_pixel_histogram_counts_every_pixel_on_a_log_axis():
    images = np.array([[[0, 0], [0, 255]]], dtype=np.uint8)
    fig = figures.plot_pixel_histogram(images, bins=2)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [3.0, 1.0]
    assert ax.get_yscale() == "log" and "255 = ink" in ax.get_xlabel()


# --------------------------------------------------------------------------- a model's results


def test_plot_confusion_matrix_counts_and_normalised():
    ax = figures.plot_confusion_matrix(Y_TRUE, Y_PRED, class_names=["a", "b", "c"])
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert "counts" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.texts][:4] == ["2", "1", "1", "2"]
    fig, axes = plt.subplots(1, 2)
    ax2 = figures.plot_confusion_matrix(Y_TRUE, Y_PRED, normalize="true", ax=axes[1])
    assert ax2 is axes[1] and "%" in ax2.get_title()
    assert ax2.texts[0].get_text() == "50.0"


def test_plot_misclassified_grid_titles_most_confident_first():
    x = np.arange(10 * 4 * 4, dtype=np.float32).reshape(10, 4, 4, 1)
    conf = np.linspace(0.5, 0.95, 10)
    fig = figures.plot_misclassified(x, Y_TRUE, Y_PRED, conf, n=3, cols=2)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    # wrong at indices 2, 3, 5, 6; highest confidence first: 6, 5, 3
    assert len(fig.axes) == 4 and len(titled) == 3
    assert titled[0] == f"true 1\npred 0 ({conf[6]:.0%})"
    assert titled[2].startswith("true 0\npred 2")
    fig2 = figures.plot_misclassified(x, Y_TRUE, Y_TRUE, conf)
    assert "No misclassified" in fig2.axes[0].texts[0].get_text()


def test_plot_training_curves_accepts_history_or_dict():
    class FakeHistory:
        history = HISTORY

    for h in (HISTORY, FakeHistory()):
        fig = figures.plot_training_curves(h, title="run")
        assert len(fig.axes) == 2 and fig._suptitle.get_text() == "run"
        assert [ax.get_title() for ax in fig.axes] == ["Loss per epoch", "Accuracy per epoch"]
        assert [len(ax.lines) for ax in fig.axes] == [2, 2]
        np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2, 3, 4, 5])
    only_loss = figures.plot_training_curves({"loss": [1.0, 0.5]})
    assert len(only_loss.axes) == 1 and len(only_loss.axes[0].lines) == 1
    with pytest.raises(ValueError, match="loss"):
        figures.plot_training_curves({"accuracy": [0.5]})


def test_plot_training_curves_zoom_row_shows_the_last_epochs_on_fitted_axes():
    fig = figures.plot_training_curves(HISTORY, zoom_last=3)
    assert len(fig.axes) == 4
    zoom_loss, zoom_acc = fig.axes[2], fig.axes[3]
    assert zoom_acc.get_title() == "Accuracy, last 3 epochs (zoomed)"
    np.testing.assert_array_equal(zoom_acc.lines[0].get_xdata(), [3, 4, 5])
    np.testing.assert_allclose(zoom_acc.lines[1].get_ydata(), [0.8, 0.81, 0.83])
    # values 0.8..0.93 (range 0.13) plus 15% of the range on each side
    np.testing.assert_allclose(zoom_acc.get_ylim(), (0.8 - 0.0195, 0.93 + 0.0195))
    assert zoom_loss.get_ylim()[1] < 1.0  # the first epochs' large losses are left out
    # nothing to zoom when the run is not longer than the window
    assert len(figures.plot_training_curves(HISTORY, zoom_last=5).axes) == 2
    with pytest.raises(ValueError, match="zoom_last"):
        figures.plot_training_curves(HISTORY, zoom_last=1)


def test_plot_curves_one_line_per_named_series_scaled():
    fig = figures.plot_curves(
        {"original": [0.9, 0.95], "shuffled": [0.85, 0.94]},
        ylabel="validation accuracy (%)",
        title="MLP",
        scale=100,
    )
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["original", "shuffled"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [85.0, 94.0])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2])
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "epoch",
        "validation accuracy (%)",
        "MLP",
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["original", "shuffled"]
    with pytest.raises(ValueError, match="no values"):
        figures.plot_curves({"empty": []}, ylabel="y")


def test_plot_per_class_accuracy_orders_classes_numerically():
    logs = {
        "loss": [1, 0.5],
        **{f"val_accuracy_class_{k}": [0.5, 0.6 + k / 100] for k in (10, 2, 0)},
    }
    fig = figures.plot_per_class_accuracy(logs)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["0", "2", "10"]
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [50.0, 70.0])
    assert ax.get_ylabel() == "validation accuracy (%)"
    with pytest.raises(ValueError, match="PerClassAccuracy"):
        figures.plot_per_class_accuracy({"loss": [1.0]})


def test_plot_per_class_accuracy_zoom_panel():
    logs = {
        "val_accuracy_class_0": [0.2, 0.9, 0.98, 0.99],
        "val_accuracy_class_1": [0.9, 0.95, 0.97, 1.0],
    }
    fig = figures.plot_per_class_accuracy(logs, class_names=["zero", "one"], zoom_last=2)
    full, zoom = fig.axes
    assert zoom.get_title() == "Last 2 epochs (zoomed)"
    np.testing.assert_array_equal(zoom.lines[0].get_xdata(), [3, 4])
    np.testing.assert_allclose(zoom.lines[1].get_ydata(), [97.0, 100.0])
    # zoomed values 97..100 (range 3) plus 8% of it each side; the full panel reaches down to 20
    np.testing.assert_allclose(zoom.get_ylim(), (97.0 - 0.24, 100.0 + 0.24))
    assert full.get_ylim()[0] < 25
    assert [t.get_text() for t in zoom.get_legend().get_texts()] == ["zero", "one"]


def _label_boxes(ax):
    renderer = ax.figure.canvas.get_renderer()
    return {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}


def test_plot_accuracy_vs_cost_colours_by_family_and_labels_do_not_collide():
    table = {
        "model": ["MLP tuned", "LeNet-5", "small CNN", "huge"],
        "family": ["MLP", "CNN", "CNN", "CNN"],
        # the first two points nearly coincide, as the tuned MLP and LeNet-5 do in notebook 02
        "params": [71_830, 61_706, 9_550, 1_000_000],
        "macs": [71_460, 416_520, 114_960, 5e7],
        "test_accuracy": [0.9870, 0.9874, 0.9830, 0.9767],
    }
    fig = figures.plot_accuracy_vs_cost(table, family_column="family", title="cost")
    assert len(fig.axes) == 2 and all(ax.get_xscale() == "log" for ax in fig.axes)
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one scatter per family
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["MLP", "CNN"]
    colours = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert colours[0] != colours[1]
    boxes = _label_boxes(ax)
    assert sorted(boxes) == sorted(table["model"])
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
    with pytest.raises(ValueError, match="lacks columns"):
        figures.plot_accuracy_vs_cost({"model": ["a"]})


def test_place_point_labels_moves_a_label_off_a_neighbouring_point():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.scatter([1.0, 1.05], [1.0, 1.0])
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    first, second = figures.place_point_labels(ax, [1.0, 1.05], [1.0, 1.0], ["left one", "right"])
    renderer = fig.canvas.get_renderer()
    assert not first.get_window_extent(renderer).overlaps(second.get_window_extent(renderer))
    with pytest.raises(ValueError, match="length"):
        figures.place_point_labels(ax, [1.0], [1.0, 2.0], ["a"])


def test_save_figure_writes_a_png_under_reports(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "reports_dir", lambda: tmp_path)
    fig, _ = plt.subplots()
    path = figures.save_figure(fig, "demo")
    assert path == tmp_path / "figures" / "demo.png" and path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="bare file name"):
        figures.save_figure(fig, "../demo")
