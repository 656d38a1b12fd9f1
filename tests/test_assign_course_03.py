"""Notebook 03's exercise checks: the solutions pass, typical mistakes get feedback naming them."""

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed


def _block(projection="auto", act_before_add=False, proj_bn=True, bias=True):
    """A residual block, right by default; the arguments introduce typical mistakes."""
    import keras

    def residual_block(x, filters, stride=1):
        L = keras.layers
        y = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=bias)(x)
        y = L.BatchNormalization()(y)
        y = L.Activation("relu")(y)
        y = L.Conv2D(filters, 3, padding="same", use_bias=bias)(y)
        y = L.BatchNormalization()(y)
        if projection == "auto":
            project = stride != 1 or x.shape[-1] != filters
        elif projection == "stride only":
            project = stride != 1
        else:
            project = projection
        shortcut = x
        if project:
            shortcut = L.Conv2D(filters, 1, strides=stride, padding="same", use_bias=bias)(x)
            if proj_bn:
                shortcut = L.BatchNormalization()(shortcut)
        if act_before_add:
            return L.Add()([shortcut, L.Activation("relu")(y)])
        return L.Activation("relu")(L.Add()([shortcut, y]))

    return residual_block


def test_residual_block_solution_passes():
    checks.run("03.residual_block", {"residual_block": _block()})


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (
            {"projection": True},
            r"5,104 parameters; with an identity shortcut.*4,768.*shapes of x and F\(x\) already match",
        ),
        ({"projection": False}, r"stride=2\) raised.*1x1 Conv2D"),
        ({"projection": "stride only"}, r"stride=1\) raised.*number of channels changes"),
        ({"act_before_add": True}, r"should return relu\(x\).*after the addition"),
        ({"proj_bn": False}, r"3,760.*BatchNormalization after the 1x1 projection"),
        ({"bias": False}, r"4,736.*default biases"),
    ],
)
def test_residual_block_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("03.residual_block", {"residual_block": _block(**mistake)})


def test_residual_block_missing():
    with pytest.raises(CheckFailed, match="no function called `residual_block`"):
        checks.run("03.residual_block", {})


def _receptive_field(kernels, strides):
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        field += (k - 1) * jump
        jump *= s
    return field


def test_receptive_field_solution_passes():
    checks.run("03.receptive_field", {"receptive_field": _receptive_field})


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (
            lambda k, s: 1 + sum(v - 1 for v in k),
            r"\[3, 3\], \[2, 1\]\): found 5; expected 7.*strides are ignored",
        ),
        (
            lambda k, s: 1 + sum((v - 1) * int(np.prod(s[: i + 1])) for i, v in enumerate(k)),
            r"found 9; expected 7.*own stride",
        ),
        (lambda k, s: sum(k), r"found 6; expected 5.*k - 1 pixels"),
        (lambda k, s: float(_receptive_field(k, s)), r"returned a float.*expected an int"),
    ],
)
def test_receptive_field_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("03.receptive_field", {"receptive_field": wrong})


def test_receptive_field_missing():
    with pytest.raises(CheckFailed, match="no function called `receptive_field`"):
        checks.run("03.receptive_field", {})


def _top_confusions(y_true, y_pred, k=5, keep_diagonal=False, ascending=False, tie_by_pred=False):
    from collections import Counter

    pairs = Counter((int(t), int(p)) for t, p in zip(y_true, y_pred) if keep_diagonal or t != p)
    if ascending:
        order = sorted(pairs.items(), key=lambda item: (item[1], item[0]))
    elif tie_by_pred:
        order = sorted(pairs.items(), key=lambda item: (-item[1], item[0][1], item[0][0]))
    else:
        order = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
    return [(t, p, c) for (t, p), c in order[:k]]


def test_top_confusions_solution_passes():
    checks.run("03.top_confusions", {"top_confusions": _top_confusions})


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ({"keep_diagonal": True}, r"found \[\(5, 5, 4\).*correct prediction.*diagonal"),
        ({"ascending": True}, r"decreasing order"),
        ({"tie_by_pred": True}, r"found \[\(7, 2, 2\), \(3, 5, 2\).*ties"),
    ],
)
def test_top_confusions_mistakes_are_named(mistake, message):
    def top_confusions(y_true, y_pred, k):
        return _top_confusions(y_true, y_pred, k, **mistake)

    with pytest.raises(CheckFailed, match=message):
        checks.run("03.top_confusions", {"top_confusions": top_confusions})


def test_top_confusions_must_not_sort_its_inputs():
    def top_confusions(y_true, y_pred, k):
        y_true.sort()
        return _top_confusions(y_true, y_pred, k)

    with pytest.raises(CheckFailed, match="changed its input arrays"):
        checks.run("03.top_confusions", {"top_confusions": top_confusions})


def test_top_confusions_missing():
    with pytest.raises(CheckFailed, match="no function called `top_confusions`"):
        checks.run("03.top_confusions", {})
