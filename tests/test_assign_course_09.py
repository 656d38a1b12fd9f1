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


def conv_backward_naive(x, W, dout, stride=1, accumulate=True):
    k = W.shape[0]
    dx, dW = np.zeros_like(x), np.zeros_like(W)
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            window = (
                slice(None),
                slice(i * stride, i * stride + k),
                slice(j * stride, j * stride + k),
            )
            g = dout[:, i, j, :]
            dW += np.tensordot(x[window], g, axes=([0], [0]))
            if accumulate:
                dx[window] += np.tensordot(g, W, axes=([1], [3]))
            else:
                dx[window] = np.tensordot(g, W, axes=([1], [3]))
    return dx, dW, dout.sum(axis=(0, 1, 2))


def test_conv_backward_naive_solution_passes():
    checks.run("09.conv_backward_naive", {"conv_backward_naive": conv_backward_naive})


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (
            lambda x, W, d, stride=1: conv_backward_naive(x, W, d, stride, accumulate=False),
            r"dx of .*only the last window's gradient.*\+=",
        ),
        (
            lambda x, W, d, stride=1: (
                conv_backward_naive(x, W, d, stride)[:2] + (d.mean(axis=(0, 1, 2)),)
            ),
            r"db of .*numerical gradient",
        ),
        (
            lambda x, W, d, stride=1: (
                conv_backward_naive(x, W, d, stride)[:2] + (d.sum(axis=(1, 2)),)
            ),
            r"db of .* has shape \(2, 3\); expected \(3,\).*axis=\(0, 1, 2\)",
        ),
        (
            lambda x, W, d, stride=1: (
                conv_backward_naive(x, W, d, stride)[0],
                conv_backward_naive(x, W, d, stride)[1] / len(x),
                d.sum(axis=(0, 1, 2)),
            ),
            r"dW of .*2 times too small: sum over the batch",
        ),
        (
            lambda x, W, d, stride=1: conv_backward_naive(x, W, d, 1),
            r"stride=2.*every pixel, not every 2 pixels.*i \* stride",
        ),
    ],
)
def test_conv_backward_naive_mistakes_are_named(wrong, message):
    with pytest.raises((CheckFailed, ValueError, IndexError), match=message):
        checks.run("09.conv_backward_naive", {"conv_backward_naive": wrong})


def test_conv_backward_naive_must_not_change_its_inputs():
    def wrong(x, W, dout, stride=1):
        dx, dW, db = conv_backward_naive(x, W, dout, stride)
        dout *= 0
        return dx, dW, db

    with pytest.raises(CheckFailed, match="changed its inputs"):
        checks.run("09.conv_backward_naive", {"conv_backward_naive": wrong})


def max_pool_backward_naive(x, dout, pool_size=2, stride=2, first_only=True, accumulate=True):
    dx = np.zeros_like(x)
    for n in range(dout.shape[0]):
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                for c in range(dout.shape[3]):
                    rows = slice(i * stride, i * stride + pool_size)
                    cols = slice(j * stride, j * stride + pool_size)
                    window = x[n, rows, cols, c]
                    if first_only:
                        mask = np.zeros(window.shape, bool)
                        mask[np.unravel_index(np.argmax(window), window.shape)] = True
                    else:
                        mask = window == window.max()
                    if accumulate:
                        dx[n, rows, cols, c] += mask * dout[n, i, j, c]
                    else:
                        dx[n, rows, cols, c] = mask * dout[n, i, j, c]
    return dx


def test_max_pool_backward_naive_solution_passes():
    checks.run("09.max_pool_backward_naive", {"max_pool_backward_naive": max_pool_backward_naive})


def _average_pool_backward(x, dout, pool_size=2, stride=2):
    dx = np.zeros_like(x)
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            rows = slice(i * stride, i * stride + pool_size)
            cols = slice(j * stride, j * stride + pool_size)
            dx[:, rows, cols, :] += dout[:, i : i + 1, j : j + 1, :] / pool_size**2
    return dx


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_average_pool_backward, r"average pooling's gradient: only the maximum"),
        (
            lambda x, d, pool_size=2, stride=2: max_pool_backward_naive(
                x, d, pool_size, stride, first_only=False
            ),
            r"tie.*first maximum only",
        ),
        (
            lambda x, d, pool_size=2, stride=2: max_pool_backward_naive(
                x, d, pool_size, stride, accumulate=False
            ),
            r"pool_size=3, stride=2.*overlap.*\+=",
        ),
        (lambda x, d, pool_size=2, stride=2: d, r"returned shape .*expected \(2, 4, 4, 2\)"),
    ],
)
def test_max_pool_backward_naive_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("09.max_pool_backward_naive", {"max_pool_backward_naive": wrong})


def test_new_exercises_missing():
    for name in ("conv_backward_naive", "max_pool_backward_naive"):
        with pytest.raises(CheckFailed, match=f"no function called `{name}`"):
            checks.run(f"09.{name}", {})
