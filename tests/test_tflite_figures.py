"""tflite.figures: the size-vs-score panels and the weight quantization figure."""

import numpy as np
import pandas as pd
import pytest

from helpers import tflite


def _table(sizes, scores, keras):
    table = pd.DataFrame({"size_kb": sizes, "score": scores}, index=list(tflite.MODES))
    return pd.concat([pd.DataFrame({"score": [keras]}, index=["keras"]), table])


def test_size_vs_score_has_one_linear_panel_per_model(tmp_path, monkeypatch):
    tables = {
        "resnet": _table([905.5, 242.6, 461.1, 247.7], [99.61, 99.61, 99.61, 99.60], 99.61),
        "fsrcnn_x3": _table([61.6, 30.4, 41.8, 29.7], [30.95, 27.64, 30.95, 26.65], 30.95),
    }
    fig = tflite.plot_size_vs_score(
        tables,
        {"resnet": "test accuracy (%)", "fsrcnn_x3": "mean Y-PSNR (dB)"},
        references={"fsrcnn_x3": {"bicubic": 29.99}},
    )
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["resnet", "fsrcnn_x3"]
    assert all(ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0 for ax in axes)
    assert axes[0].get_ylabel() == "test accuracy (%)"
    # the legend names the reference lines, then every variant (by its marker)
    legend = [tx.get_text() for tx in axes[1].get_legend().get_texts()]
    assert legend == ["Keras", "bicubic", *tflite.MODES]
    lo, hi = axes[0].get_ylim()  # 0.01 points apart: the axis still spans min_span = 0.5
    assert hi - lo == pytest.approx(0.5)
    assert axes[1].get_ylim()[0] < 26.65 and axes[1].get_ylim()[1] > 30.95


def test_size_vs_score_refuses_bad_tables():
    with pytest.raises(ValueError, match="tables is empty"):
        tflite.plot_size_vs_score({})
    with pytest.raises(ValueError, match=r"lacks the columns \['size_kb'\]"):
        tflite.plot_size_vs_score({"m": pd.DataFrame({"score": [1.0]}, index=["int8"])})


def test_weight_quantization_figure_checks_layouts():
    rng = np.random.default_rng(0)
    float_kernel = rng.normal(0, 0.1, (5, 5, 1, 8))  # Keras (h, w, in, out)
    w = np.transpose(float_kernel, (3, 0, 1, 2))
    scales = np.abs(w).max(axis=(1, 2, 3)) / 127
    int8 = {
        "values": tflite.quantize_values(w, scales[:, None, None, None], 0),
        "scales": scales,
        "zero_points": np.zeros(8, int),
    }
    fig = tflite.plot_weight_quantization(float_kernel, int8)
    assert len(fig.axes) == 3
    assert "filter" in fig.axes[2].get_title()
    with pytest.raises(ValueError, match="does not match the int8 kernel"):
        tflite.plot_weight_quantization(float_kernel[:, :, :, :4], int8)


def test_size_vs_score_puts_six_models_on_a_grid_of_three_columns():
    table = _table([61.6, 30.4, 41.8, 29.7], [30.95, 27.64, 30.95, 26.65], 30.95)
    fig = tflite.plot_size_vs_score({f"m{i}": table for i in range(5)})
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(shown) == 5  # 2 rows x 3 columns, the sixth panel hidden
    width, height = fig.get_size_inches()
    assert width / height < 2.5  # a readable grid, not a strip
