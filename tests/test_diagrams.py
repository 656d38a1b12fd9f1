"""Architecture diagrams: the boxes, arrows and skip connection are drawn with the given labels."""

import matplotlib.pyplot as plt
import pytest

from helpers import diagrams


def test_draw_stack_boxes_arrows_and_skip():
    fig, ax = plt.subplots()
    centres = diagrams.draw_stack(
        ax, ["input x", "conv 3x3, 8", "BN", "add: x + F(x)"], skip=(0, 3), skip_label="identity"
    )
    assert len(centres) == 4 and centres[0][1] > centres[-1][1]  # top to bottom
    texts = [t.get_text() for t in ax.texts]
    assert texts[:4] == ["input x", "conv 3x3, 8", "BN", "add: x + F(x)"] and "identity" in texts
    assert len(ax.patches) == 4
    arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    assert len(arrows) == 3 + 1  # three box-to-box arrows and the skip arrow
    plt.close(fig)


def test_box_colours_follow_the_layer_kind():
    assert diagrams._kind("conv 3x3, 64") == "conv"
    assert diagrams._kind("BN") == "bn"
    assert diagrams._kind("gelu") == "act"
    assert diagrams._kind("residual block 1 (64)") == "add"
    assert diagrams._kind("global average pooling") == "other"


def test_resnet_diagram_names_every_block_and_the_activation():
    fig = diagrams.plot_resnet_diagram(filters=32, blocks=2, activation="elu")
    left, right = fig.axes
    left_texts = [t.get_text() for t in left.texts]
    assert "residual block 2 (32)" in left_texts and "residual block 3 (32)" not in left_texts
    assert [t.get_text() for t in right.texts].count("elu") == 2
    plt.close(fig)


def test_bad_skip_is_rejected():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="skip"):
        diagrams.draw_stack(ax, ["a", "b"], skip=(1, 0))
    with pytest.raises(ValueError, match="labels"):
        diagrams.draw_stack(ax, [])
    plt.close(fig)
