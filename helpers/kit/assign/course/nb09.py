"""The checks of notebook 09's exercises (``checks.run("09.dense_backward", globals())``).

Each check compares the student's backward pass with centred finite differences in float64 on tiny
arrays (``helpers.scratch.gradcheck.numerical_gradient``), as the notebook's own gradient checks do,
and says which gradient is wrong, its shape and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import CheckFailed, check_close, expect


def _as_array(name: str, value: Any):
    import numpy as np

    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name}: found {value!r}, which is not an array of numbers.") from None


def _check_gradient(name: str, got: Any, numeric: Any, what: str, shape_hint: str, batch: int):
    """``got`` matches the numerical gradient ``numeric`` in shape and value, with targeted hints."""
    import numpy as np

    got = _as_array(name, got)
    expect(
        got.shape == numeric.shape,
        f"{name} has shape {got.shape}; expected {numeric.shape}, the shape of {what}.",
        hint=shape_hint,
    )
    if np.allclose(got, numeric, rtol=1e-5, atol=1e-7):
        return
    if np.allclose(got, -numeric, rtol=1e-5, atol=1e-7):
        hint = "the sign is wrong."
    elif np.allclose(got * batch, numeric, rtol=1e-5, atol=1e-7):
        hint = f"it is {batch} times too small: sum over the batch, do not average."
    elif np.allclose(got, numeric * batch, rtol=1e-5, atol=1e-7):
        hint = f"it is {batch} times too large: divide by the batch size N = {batch}."
    else:
        hint = None
    check_close(
        f"{name} (compared with the numerical gradient)",
        got,
        numeric,
        rtol=1e-5,
        atol=1e-7,
        hint=hint,
    )


# ---------------------------------------------------------------------------------------------
# Exercise 1: the dense layer's backward pass


@register("09.dense_backward")
def _dense_backward(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    from helpers.scratch.gradcheck import numerical_gradient

    fn = lookup(namespace, "dense_backward")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 4))  # N = 3, D_in = 4
    W = rng.standard_normal((4, 2))  # D_out = 2
    b = rng.standard_normal(2)
    dout = rng.standard_normal((3, 2))
    copies = (x.copy(), W.copy(), dout.copy())
    call = "dense_backward(x (3, 4), W (4, 2), dout (3, 2))"
    got = fn(x, W, dout)
    expect(
        all(np.array_equal(a, c) for a, c in zip((x, W, dout), copies)),
        f"{call} changed its inputs; a backward pass must leave x, W and dout as they were.",
        hint="build new arrays (e.g. dx = dout @ W.T) instead of writing into the inputs.",
    )
    expect(
        isinstance(got, (tuple, list)) and len(got) == 3,
        f"{call} returned {type(got).__name__}"
        + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        + "; expected a tuple (dx, dW, db).",
        hint="end with `return dx, dW, db`.",
    )
    dx, dW, db = got

    def loss() -> float:  # L = sum(out * dout): its gradient with respect to out is dout
        return float(np.sum((x @ W + b) * dout))

    _check_gradient(
        f"dx of {call}",
        dx,
        numerical_gradient(loss, x),
        "x (N, D_in)",
        "dx = dout @ W.T: (N, D_out) @ (D_out, D_in) gives (N, D_in).",
        batch=3,
    )
    _check_gradient(
        f"dW of {call}",
        dW,
        numerical_gradient(loss, W),
        "W (D_in, D_out)",
        "dW = x.T @ dout: (D_in, N) @ (N, D_out) gives (D_in, D_out), the shape of W.",
        batch=3,
    )
    _check_gradient(
        f"db of {call}",
        db,
        numerical_gradient(loss, b),
        "b (D_out,)",
        "db = dout.sum(axis=0): sum over the batch axis, one value per output unit.",
        batch=3,
    )


# ---------------------------------------------------------------------------------------------
# Exercise 2: softmax + cross-entropy, fused


def _mean_cross_entropy(logits: Any, y: Any) -> float:
    import numpy as np

    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


@register("09.softmax_cross_entropy_backward")
def _softmax_cross_entropy_backward(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    from helpers.scratch.gradcheck import numerical_gradient

    fn = lookup(namespace, "softmax_cross_entropy_backward")
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((4, 3))  # N = 4 examples, K = 3 classes
    y = np.array([0, 2, 1, 2])
    copies = (logits.copy(), y.copy())
    call = "softmax_cross_entropy_backward(logits (4, 3), y=[0, 2, 1, 2])"
    got = fn(logits, y)
    expect(
        np.array_equal(logits, copies[0]) and np.array_equal(y, copies[1]),
        f"{call} changed its inputs; leave logits and y as they were.",
        hint="subtract the maximum into a new array (shifted = logits - ...), not with -=.",
    )
    numeric = numerical_gradient(lambda: _mean_cross_entropy(logits, y), logits)
    got_arr = _as_array(f"the result of {call}", got)
    if got_arr.shape == numeric.shape and not np.allclose(got_arr, numeric, rtol=1e-5, atol=1e-7):
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        if np.allclose(got_arr, probs / 4) or np.allclose(got_arr, probs):
            raise CheckFailed(
                f"{call} returned the softmax probabilities (divided by N or not); expected "
                "(p - y_one_hot) / N. Hint: subtract 1 from p at each row's true class "
                "(onehot = np.eye(K)[y])."
            )
    _check_gradient(
        f"the result of {call}",
        got,
        numeric,
        "logits (N, K)",
        "one row per example, one column per class: (p - one_hot(y)) / N has the shape of logits.",
        batch=4,
    )
    big = np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]])
    call = "softmax_cross_entropy_backward([[1000, 0, -1000], [0, 800, 0]], y=[1, 1])"
    got = _as_array(f"the result of {call}", fn(big, np.array([1, 1])))
    expect(
        bool(np.all(np.isfinite(got))),
        f"{call} returned {got.tolist()} (inf or nan): exp(1000) overflows.",
        hint="subtract each row's largest logit before np.exp (it does not change the softmax).",
    )
    check_close(call, got, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Exercise 3: the convolution's backward pass, with loops (cs231n's conv_backward_naive)


def _conv_forward(x: Any, W: Any, stride: int) -> Any:
    from helpers.scratch.layers import conv2d_reference

    return conv2d_reference(x, W, stride=stride)


def _conv_dx_variant(x: Any, W: Any, dout: Any, step: int, accumulate: bool) -> Any:
    """The input gradient with windows every ``step`` pixels, added (``+=``) or assigned (``=``)."""
    import numpy as np

    k, dx = W.shape[0], np.zeros_like(x)
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            window = (slice(None), slice(i * step, i * step + k), slice(j * step, j * step + k))
            contribution = np.tensordot(dout[:, i, j, :], W, axes=([1], [3]))
            dx[window] = dx[window] + contribution if accumulate else contribution
    return dx


def _conv_call(fn: Any, x: Any, W: Any, dout: Any, stride: int, call: str) -> tuple:
    """Return the student's ``(dx, dW, db)``, checked to be three arrays and to leave the inputs."""
    import numpy as np

    copies = (x.copy(), W.copy(), dout.copy())
    got = fn(x, W, dout, stride=stride)
    expect(
        all(np.array_equal(a, c) for a, c in zip((x, W, dout), copies)),
        f"{call} changed its inputs; a backward pass must leave x, W and dout as they were.",
        hint="start from dx = np.zeros_like(x) and dW = np.zeros_like(W), and add into those.",
    )
    expect(
        isinstance(got, (tuple, list)) and len(got) == 3,
        f"{call} returned {type(got).__name__}; expected a tuple (dx, dW, db).",
        hint="end with `return dx, dW, db`.",
    )
    return tuple(got)


def _check_conv_case(fn: Any, x: Any, W: Any, dout: Any, stride: int) -> None:
    import numpy as np

    from helpers.scratch.gradcheck import numerical_gradient

    b = np.zeros(W.shape[3])
    call = f"conv_backward_naive(x {x.shape}, W {W.shape}, dout {dout.shape}, stride={stride})"
    dx, dW, db = _conv_call(fn, x, W, dout, stride, call)

    def loss() -> float:  # L = sum(out * dout): its gradient with respect to out is dout
        return float(np.sum((_conv_forward(x, W, stride) + b) * dout))

    numeric_dx = numerical_gradient(loss, x)
    if np.shape(dx) == x.shape and np.allclose(dx, _conv_dx_variant(x, W, dout, stride, False)):
        raise CheckFailed(
            f"dx of {call}: pixels covered by several windows got only the last window's "
            "gradient. Hint: add every window's contribution, dx[...] += ..., not dx[...] = ...."
        )
    if (
        stride > 1
        and np.shape(dx) == x.shape
        and np.allclose(dx, _conv_dx_variant(x, W, dout, 1, True))
    ):
        raise CheckFailed(
            f"dx of {call}: the windows were taken every pixel, not every {stride} pixels. "
            "Hint: window (i, j) starts at row i * stride and column j * stride."
        )
    k = W.shape[0]
    _check_gradient(
        f"dx of {call}",
        dx,
        numeric_dx,
        "x (N, H, W, C_in)",
        "dx = np.zeros_like(x); window (i, j) of every image gets dout[:, i, j, :] times W "
        f"summed over C_out: np.tensordot(dout[:, i, j, :], W, axes=([1], [3])) is (N, {k}, {k}, "
        "C_in).",
        batch=x.shape[0],
    )
    _check_gradient(
        f"dW of {call}",
        dW,
        numerical_gradient(loss, W),
        "W (k, k, C_in, C_out)",
        "dW adds, for every output position (i, j), the input window (N, k, k, C_in) times "
        "dout[:, i, j, :] (N, C_out), summed over N: np.tensordot(window, g, axes=([0], [0])).",
        batch=x.shape[0],
    )
    _check_gradient(
        f"db of {call}",
        db,
        numerical_gradient(loss, b),
        "b (C_out,)",
        "db = dout.sum(axis=(0, 1, 2)): one value per output channel.",
        batch=x.shape[0],
    )


@register("09.conv_backward_naive")
def _conv_backward_naive(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    from helpers.scratch.gradcheck import distinct_values

    fn = lookup(namespace, "conv_backward_naive")
    rng = np.random.default_rng(9)
    x = distinct_values((2, 5, 5, 2), seed=1)  # N = 2 images of 5x5 with 2 channels
    W = rng.standard_normal((3, 3, 2, 3))  # 3x3 kernels, 2 -> 3 channels
    _check_conv_case(fn, x, W, rng.standard_normal((2, 3, 3, 3)), stride=1)
    _check_conv_case(fn, x[:1], W, rng.standard_normal((1, 2, 2, 3)), stride=2)


# ---------------------------------------------------------------------------------------------
# Exercise 4: the max-pool backward pass, with loops (cs231n's max_pool_backward_naive)


def _pool_case(fn: Any, x: Any, dout: Any, pool: int, stride: int, expected: Any) -> None:
    import numpy as np

    call = (
        f"max_pool_backward_naive(x {x.shape}, dout {dout.shape}, pool_size={pool}, "
        f"stride={stride})"
    )
    copies = (x.copy(), dout.copy())
    got = _as_array(f"the result of {call}", fn(x, dout, pool_size=pool, stride=stride))
    expect(
        np.array_equal(x, copies[0]) and np.array_equal(dout, copies[1]),
        f"{call} changed its inputs; leave x and dout as they were.",
        hint="start from dx = np.zeros_like(x) and add into it.",
    )
    expect(
        got.shape == x.shape,
        f"{call} returned shape {got.shape}; expected {x.shape}, the shape of x.",
        hint="dx has one value per input pixel; most of them stay 0.",
    )
    if np.allclose(got, expected, atol=1e-9):
        return
    share = np.zeros_like(x)  # the average-pooling answer: dout / pool**2 to every pixel
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            rows, cols = slice(i * stride, i * stride + pool), slice(j * stride, j * stride + pool)
            share[:, rows, cols, :] += dout[:, i : i + 1, j : j + 1, :] / pool**2
    if np.allclose(got, share):
        hint = "that is average pooling's gradient: only the maximum of each window gets dout."
    elif np.count_nonzero(got) > np.count_nonzero(expected):
        hint = (
            "more pixels got a gradient than windows have maxima: when values tie, give it to "
            "the first maximum only (np.argmax returns the first)."
        )
    elif stride < pool:
        hint = "windows overlap when stride < pool_size: add with +=, do not overwrite."
    else:
        hint = "window (i, j) starts at row i * stride and column j * stride."
    check_close(call, got, expected, atol=1e-9, hint=hint)


@register("09.max_pool_backward_naive")
def _max_pool_backward_naive(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    from helpers.scratch.gradcheck import distinct_values
    from helpers.scratch.layers import MaxPool2D

    fn = lookup(namespace, "max_pool_backward_naive")
    rng = np.random.default_rng(9)
    for shape, pool, stride in (((2, 4, 4, 2), 2, 2), ((1, 5, 5, 2), 3, 2), ((1, 4, 4, 1), 2, 1)):
        x = distinct_values(shape, seed=pool + stride)  # no ties: one maximum per window
        layer = MaxPool2D(pool, stride=stride)
        dout = rng.standard_normal(layer.forward(x).shape)
        _pool_case(fn, x, dout, pool, stride, layer.backward(dout))
    ties = np.zeros((1, 2, 2, 1))  # one window, four equal values: the first one takes it all
    _pool_case(fn, ties, np.array([[[[3.0]]]]), 2, 2, np.array([[[[3.0], [0.0]], [[0.0], [0.0]]]]))
