"""Notebook 09's exercise checks: the solutions pass, typical mistakes get feedback naming them."""

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed


def dense_backward(x, W, dout):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def test_dense_backward_solution_passes():
    checks.run("09.dense_backward", {"dense_backward": dense_backward})


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (
            lambda x, W, d: (d @ W.T, d.T @ x, d.sum(axis=0)),
            r"dW of .* has shape \(2, 4\); expected \(4, 2\).*x.T @ dout",
        ),
        (
            lambda x, W, d: (d @ W.T, x.T @ d, d.sum(axis=1)),
            r"db of .* has shape \(3,\); expected \(2,\).*axis=0",
        ),
        (
            lambda x, W, d: (d @ W.T, x.T @ d, d.mean(axis=0)),
            r"db of .*numerical gradient.*3 times too small.*do not average",
        ),
        (lambda x, W, d: (-(d @ W.T), x.T @ d, d.sum(axis=0)), r"dx of .*numerical gradient.*sign"),
        (
            lambda x, W, d: (x.T @ d, d.sum(axis=0)),
            r"returned tuple of length 2; expected a tuple \(dx, dW, db\)",
        ),
    ],
)
def test_dense_backward_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("09.dense_backward", {"dense_backward": wrong})


def test_dense_backward_missing():
    with pytest.raises(CheckFailed, match="no function called `dense_backward`"):
        checks.run("09.dense_backward", {})


def _softmax_ce_backward(logits, y, shift=True, divide=True, subtract=True):
    z = logits - logits.max(axis=1, keepdims=True) if shift else logits
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    if subtract:
        p = p - np.eye(logits.shape[1])[y]
    return p / len(logits) if divide else p


def test_softmax_cross_entropy_backward_solution_passes():
    checks.run(
        "09.softmax_cross_entropy_backward",
        {"softmax_cross_entropy_backward": _softmax_ce_backward},
    )


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ({"divide": False}, r"4 times too large: divide by the batch size N = 4"),
        ({"shift": False}, r"\(inf or nan\): exp\(1000\) overflows.*largest logit"),
        ({"subtract": False}, r"returned the softmax probabilities.*p - y_one_hot"),
    ],
)
def test_softmax_cross_entropy_backward_mistakes_are_named(mistake, message):
    def wrong(logits, y):
        return _softmax_ce_backward(logits, y, **mistake)

    with pytest.warns(RuntimeWarning) if not mistake.get("shift", True) else _nothing():
        with pytest.raises(CheckFailed, match=message):
            checks.run(
                "09.softmax_cross_entropy_backward", {"softmax_cross_entropy_backward": wrong}
            )


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def test_softmax_cross_entropy_backward_must_not_change_the_logits():
    def wrong(logits, y):
        logits -= logits.max(axis=1, keepdims=True)
        return _softmax_ce_backward(logits, y)

    with pytest.raises(CheckFailed, match="changed its inputs.*not with -="):
        checks.run("09.softmax_cross_entropy_backward", {"softmax_cross_entropy_backward": wrong})


def test_softmax_cross_entropy_backward_missing():
    with pytest.raises(CheckFailed, match="no function called `softmax_cross_entropy_backward`"):
        checks.run("09.softmax_cross_entropy_backward", {})
