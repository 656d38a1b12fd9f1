"""Architecture diagrams drawn with Matplotlib alone (no pydot/graphviz): boxes, arrows, a skip connection."""

from __future__ import annotations

from collections.abc import Sequence

from helpers.models import ACTIVATIONS

BOX_COLORS = {
    "conv": "#cfe2f3",
    "bn": "#fff2cc",
    "act": "#d9ead3",
    "add": "#f4cccc",
    "io": "#eeeeee",
    "other": "#e6e0f0",
}


def _kind(label: str) -> str:
    """Return the colour group of a box from its label."""
    text = label.lower()
    if text.startswith(("conv", "1x1", "3x3", "7x7")):
        return "conv"
    if text.startswith(("bn", "batchnorm", "batch norm")):
        return "bn"
    if text.startswith(("add", "residual")) or text == "+":
        return "add"
    if text.startswith(("input", "output")):
        return "io"
    if text.split()[0] in ACTIVATIONS:
        return "act"
    return "other"


def _draw_skip(ax, centres, skip, label, sizes) -> None:
    """Draw the bypass arrow from the output of box ``skip[0]`` to box ``skip[1]``, on the right."""
    height, gap, width = sizes
    (_, ys), (_, ye) = centres[skip[0]], centres[skip[1]]
    side = width / 2 + 0.55
    y_out = ys - height / 2 - gap / 2
    ax.plot([0, side, side], [y_out, y_out, ye], color="#c0392b", lw=1.6)
    arrow = dict(arrowstyle="->", color="#c0392b", lw=1.6)
    ax.annotate("", xy=(width / 2, ye), xytext=(side, ye), arrowprops=arrow)
    if label:
        ax.text(
            side + 0.1,
            (ys + ye) / 2,
            label,
            rotation=90,
            ha="left",
            va="center",
            fontsize=9,
            color="#c0392b",
        )


def draw_stack(
    ax,
    labels: Sequence[str],
    skip: tuple[int, int] | None = None,
    skip_label: str = "",
    title: str = "",
):
    """Draw ``labels`` as boxes from top to bottom joined by arrows (and an optional skip arrow); return the box centres.

    ``skip=(i, j)`` draws a bypass from the output of box ``i`` to box ``j`` on the right-hand side.
    """
    from matplotlib.patches import FancyBboxPatch

    if not labels:
        raise ValueError("labels must name at least one box")
    n = len(labels)
    if skip is not None and not (0 <= skip[0] < skip[1] < n):
        raise ValueError(f"skip must be (i, j) with 0 <= i < j < {n}, got {skip}")
    height, gap, width = 0.62, 0.38, 3.2
    centres = [(0.0, -(height + gap) * i) for i in range(n)]
    for (x, y), label in zip(centres, labels):
        box = FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=BOX_COLORS[_kind(label)],
            edgecolor="#444444",
            linewidth=1,
        )
        ax.add_patch(box)
        ax.text(x, y, label, ha="center", va="center", fontsize=9)
    for (x0, y0), (x1, y1) in zip(centres[:-1], centres[1:]):
        ax.annotate(
            "",
            xy=(x1, y1 + height / 2),
            xytext=(x0, y0 - height / 2),
            arrowprops=dict(arrowstyle="->", color="#333333", lw=1.2),
        )
    if skip is not None:
        _draw_skip(ax, centres, skip, skip_label, (height, gap, width))
    ax.set_xlim(-width / 2 - 0.3, width / 2 + 1.4)
    ax.set_ylim(centres[-1][1] - height, height)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return centres


def plot_resnet_diagram(filters: int = 64, blocks: int = 3, activation: str = "relu"):
    """Return a Figure: (left) the whole ResNet of ``helpers.models.build_resnet``, (right) one residual block."""
    from helpers.figures import pyplot

    plt = pyplot()

    network = [
        "input 28x28x1",
        f"conv 7x7/2, {filters} \u2192 14x14",
        "BN",
        activation,
        "max-pool 3x3/2 \u2192 7x7",
        *[f"residual block {i + 1} ({filters})" for i in range(blocks)],
        "global average pooling",
        f"dense 64, {activation}",
        "dense 10, softmax",
        "output: 10 probabilities",
    ]
    block = [
        "input x",
        f"conv 3x3, {filters}",
        "BN",
        activation,
        f"conv 3x3, {filters}",
        "BN",
        "add: x + F(x)",
        activation,
        "output",
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 8.5), gridspec_kw={"width_ratios": [1, 1]})
    draw_stack(left, network, title=f"The network ({blocks} residual blocks)")
    draw_stack(
        right,
        block,
        skip=(0, 6),
        skip_label="shortcut: identity (1x1 conv + BN when downsampling)",
        title="One residual block: output = act(x + F(x))",
    )
    fig.tight_layout()
    return fig
