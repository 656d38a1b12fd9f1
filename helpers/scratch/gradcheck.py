"""Numerical gradient checks: compare a layer's backward pass with centred finite differences in float64.

For a layer with output ``out = layer.forward(x)`` the check uses the scalar ``L = sum(out * R)`` with a
fixed random ``R`` (so ``dL/dout = R``, an upstream gradient with no special structure), and compares

* the analytic gradient, ``layer.backward(R)`` for the input and ``layer.grads`` for each parameter,
* the numerical gradient, ``(L(v + eps) - L(v - eps)) / (2 eps)`` for every element v, eps = 1e-6,

with the relative error ``||g_analytic - g_numeric||_2 / (||g_analytic||_2 + ||g_numeric||_2)`` (0 when
both are zero). In float64 a correct layer gives about 1e-10; a wrong one 1e-2 or more. The kit asks for
< 1e-6 (:data:`TOLERANCE`). Keep inputs away from kinks: no value within eps of 0 before a ReLU, no two
equal values in a max-pool window (:func:`distinct_values` makes such inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from helpers.scratch.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from helpers.scratch.losses import SoftmaxCrossEntropy
from helpers.scratch.network import Sequential, build_slides_cnn

TOLERANCE = 1e-6
EPS = 1e-6


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Return ||a - n||_2 / (||a||_2 + ||n||_2) of two gradients of the same shape (0.0 if both are zero)."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"the gradients differ in shape: {a.shape} vs {n.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - n) / scale)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Return dF/dx by centred differences, (f() at x_i + eps - f() at x_i - eps) / (2 eps), element by element.

    ``f`` takes no argument and reads ``x`` (an input or a parameter array, float64) in place; every
    element is restored after its two evaluations. Cost: 2 * x.size calls of ``f``.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "x must be a float64 array (float32 rounding, about 1e-7, swamps the differences): "
            f"got {type(x).__name__} {getattr(x, 'dtype', '')}"
        )
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def distinct_values(
    shape: tuple[int, ...], seed: int = 0, low: float = -1.0, high: float = 1.0
) -> np.ndarray:
    """Return a float64 array of ``shape`` whose values are all different and away from 0 (no kinks).

    A shuffled even grid from ``low`` to ``high`` shifted by half a step: neighbours differ by
    (high - low) / size, far more than the 2 * eps of the finite differences, so no max-pool window
    has ties and no value sits on ReLU's kink.
    """
    size = int(np.prod(shape))
    step = (high - low) / size
    values = low + step * (np.arange(size) + 0.5)
    return np.random.default_rng(seed).permutation(values).reshape(shape)


def check_layer(
    layer: Layer, x: np.ndarray, training: bool = True, seed: int = 0, eps: float = EPS
) -> dict[str, float]:
    """Return the relative error of ``layer``'s input gradient (key "input") and of each parameter gradient.

    The layer's parameters are cast to float64 in place. Random layers must be made deterministic
    first (Dropout: set ``layer.fixed_mask``).
    """
    layer.astype(np.float64)
    x = np.array(x, dtype=np.float64)
    out = layer.forward(x, training=training)
    if not np.array_equal(out, layer.forward(x, training=training)):
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} gives different outputs for the same input: "
            "fix its randomness first (Dropout: set layer.fixed_mask)"
        )
    upstream = np.random.default_rng(seed).standard_normal(out.shape)

    def f() -> float:
        return float(np.sum(layer.forward(x, training=training) * upstream))

    layer.forward(x, training=training)
    dx = layer.backward(upstream)
    analytic = {"input": dx, **{k: g.copy() for k, g in layer.grads.items()}}
    errors = {"input": relative_error(analytic["input"], numerical_gradient(f, x, eps))}
    for name, param in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(f, param, eps))
    return errors


def check_loss(logits: np.ndarray, y: np.ndarray, eps: float = EPS) -> float:
    """Return the relative error of the softmax + cross-entropy gradient (p - y) / N at ``logits`` (N, K)."""
    loss = SoftmaxCrossEntropy()
    logits = np.array(logits, dtype=np.float64)
    loss.forward(logits, y)
    analytic = loss.backward()
    return relative_error(
        analytic, numerical_gradient(lambda: loss.forward(logits, y), logits, eps)
    )


def check_network(
    net: Sequential, x: np.ndarray, y: np.ndarray, eps: float = EPS
) -> dict[str, float]:
    """Return the relative error of the gradient of the mean cross-entropy for every parameter and the input.

    The whole chain (every layer's backward, the loss) is checked at once; keys like "conv1/W" and
    "input". The network is cast to float64 in place.
    """
    net.astype(np.float64)
    x = np.array(x, dtype=np.float64)

    def f() -> float:
        return net.loss.forward(net.forward(x, training=True), y)

    if f() != f():
        raise ValueError(
            "the network is random in training mode: set fixed_mask on its Dropout layers"
        )
    dx = net.backward(net.loss.backward(), input_gradient=True)
    analytic = {key: grad.copy() for key, _, grad in net.parameters()}
    errors = {"input": relative_error(dx, numerical_gradient(f, x, eps))}
    for key, param, _ in net.parameters():
        errors[key] = relative_error(analytic[key], numerical_gradient(f, param, eps))
    return errors


def layer_cases(seed: int = 0) -> list[tuple[str, Layer, tuple[int, ...]]]:
    """Return (description, layer, input shape) for every layer configuration the kit checks."""
    dropout = Dropout(0.5, name="dropout")
    dropout.fixed_mask = np.random.default_rng(seed).random((4, 12)) >= 0.5
    return [
        (
            "Conv2D 3->4 channels, 3x3, stride 1, no padding",
            Conv2D(3, 4, 3, seed=seed),
            (2, 7, 7, 3),
        ),
        (
            "Conv2D 2->3 channels, 3x3, stride 2, padding 1",
            Conv2D(2, 3, 3, 2, 1, seed=seed),
            (2, 8, 8, 2),
        ),
        (
            "Conv2D 1->2 channels, 5x5, 'same'",
            Conv2D(1, 2, 5, padding="same", seed=seed),
            (2, 6, 6, 1),
        ),
        ("ReLU", ReLU(), (3, 5, 5, 2)),
        ("MaxPool2D 2x2, stride 2", MaxPool2D(2), (2, 6, 6, 3)),
        ("MaxPool2D 2x2 on 7x7 (last row dropped)", MaxPool2D(2), (2, 7, 7, 2)),
        ("MaxPool2D 3x3, stride 2 (overlapping)", MaxPool2D(3, 2), (2, 7, 7, 2)),
        ("Flatten", Flatten(), (2, 3, 3, 2)),
        ("Dense 12->5", Dense(12, 5, seed=seed), (4, 12)),
        ("Dropout 0.5, fixed mask", dropout, (4, 12)),
    ]


def check_all(seed: int = 0) -> Any:
    """Return a DataFrame with the relative error of every gradient of every layer, the loss and the slides' CNN.

    Columns: ``check`` (the configuration), ``gradient`` (input, W, b, ...), ``relative error`` and
    ``passed`` (below :data:`TOLERANCE`). Takes a few seconds (the CNN has 3,898 parameters).
    """
    import pandas as pd

    rows = []
    for i, (description, layer, shape) in enumerate(layer_cases(seed)):
        for gradient, error in check_layer(
            layer, distinct_values(shape, seed + i), seed=seed
        ).items():
            rows.append((description, gradient, error))
    rng = np.random.default_rng(seed)
    rows.append(
        (
            "softmax + cross-entropy",
            "logits",
            check_loss(rng.standard_normal((5, 10)), rng.integers(0, 10, 5)),
        )
    )
    net = build_slides_cnn(seed=seed, dtype=np.float64)
    images = rng.random((2, 28, 28, 1))
    for gradient, error in check_network(net, images, np.array([3, 7])).items():
        rows.append(("the slides' CNN, whole network", gradient, error))
    table = pd.DataFrame(rows, columns=["check", "gradient", "relative error"])
    table["passed"] = table["relative error"] < TOLERANCE
    return table
