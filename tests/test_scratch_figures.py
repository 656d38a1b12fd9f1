"""Figures of the NumPy CNN notebook: they draw what they are given and reject what they cannot draw."""

import numpy as np
import pytest

from helpers import figures, scratch


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    net = scratch.build_slides_cnn(seed=0)
    x, y = rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64)
    net.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return net, x


def test_kernels_one_panel_per_output_channel(trained):
    net, _ = trained
    fig = scratch.plot_kernels(net.layers[0].params["W"])
    assert sum(ax.has_data() for ax in fig.axes) == 6
    figures.pyplot().close(fig)
    with pytest.raises(ValueError, match=r"\(k, k, C_in, C_out\)"):
        scratch.plot_kernels(np.zeros((5, 5, 6)))
    with pytest.raises(ValueError, match="input_channel must be in 0..0"):
        scratch.plot_kernels(net.layers[0].params["W"], input_channel=1)


def test_feature_maps_one_row_per_layer(trained):
    net, x = trained
    fig = scratch.plot_feature_maps(net, x[0], layers=("relu1", "pool2"))
    # the input, 6 maps of relu1, 12 of pool2
    assert sum(ax.has_data() for ax in fig.axes) == 1 + 6 + 12
    figures.pyplot().close(fig)
    with pytest.raises(ValueError, match="no layers named"):
        scratch.plot_feature_maps(net, x[0], layers=("conv9",))


def test_step_curves_and_profile(trained):
    net, _ = trained
    fig = scratch.plot_step_curves(net.steps, steps_per_epoch=4, smooth=3)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    figures.pyplot().close(fig)
    fig = scratch.plot_profile(net.profile())
    assert len(fig.axes[0].patches) == int((net.profile()["seconds"] > 0).sum())
    figures.pyplot().close(fig)
    with pytest.raises(ValueError, match="equally long"):
        scratch.plot_step_curves({"loss": [1.0], "learning_rate": []}, 4)
