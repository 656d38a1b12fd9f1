"""The layers of a CNN written with NumPy only: each one has ``forward`` and ``backward``.

Conventions (the same as Keras, so weights copy over unchanged):

* images are batches in NHWC layout, ``(N, H, W, C)``: batch, height, width, channels;
* a convolution kernel ``W`` has shape ``(k, k, C_in, C_out)`` and the layer computes a
  cross-correlation (the kernel is not flipped), which is what deep-learning libraries call a
  convolution;
* a dense layer's ``W`` has shape ``(D_in, D_out)``; ``Flatten`` keeps the NHWC order.

Every layer keeps what its backward pass needs from the last ``forward`` call in ``self.cache``;
``backward(dout)`` takes the upstream gradient (same shape as the forward output), stores the
parameter gradients in ``self.grads`` (same keys and shapes as ``self.params``) and returns the
gradient with respect to the layer's input. ``backward(dout, input_gradient=False)`` skips that last
part (the first layer of a network never needs it) and returns None.

``self.timings`` accumulates the seconds spent in the expensive parts (im2col, matrix products,
col2im, pooling masks) for the profile of a training epoch.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Shape = tuple[int, ...]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a NumPy Generator from a seed, a Generator (used as is) or None (fresh entropy)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _positive_int(value: Any, name: str, owner: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_images(x: np.ndarray, owner: str) -> np.ndarray:
    """Return ``x`` as an array, or raise a ValueError if it is not a batch of images (N, H, W, C)."""
    x = np.asarray(x)
    if x.ndim != 4:
        hint = " (add the batch axis with x[None])" if x.ndim == 3 else ""
        raise ValueError(
            f"{owner} expects a batch of images of shape (N, H, W, C), got shape {x.shape} "
            f"(rank {x.ndim}){hint}"
        )
    return x


class Layer:
    """Base class: ``params``/``grads`` dicts of arrays, ``forward``, ``backward``, ``output_shape``."""

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__.lower()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache: Any = None
        self.timings: defaultdict[str, float] = defaultdict(float)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the layer's output for the batch ``x`` and cache what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Return dL/dx for the upstream gradient ``dout`` (None if ``input_gradient`` is False)."""
        raise NotImplementedError

    def output_shape(self, input_shape: Shape) -> Shape:
        """Return the shape of one output example for one input example of ``input_shape`` (no batch axis)."""
        return tuple(input_shape)

    def astype(self, dtype: Any) -> Layer:
        """Return the layer itself with its parameters cast to ``dtype`` (float64 for gradient checks)."""
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}
        self.grads = {}
        return self

    def _clock(self, key: str, start: float) -> float:
        """Add the seconds since ``start`` to ``self.timings[key]``; return the current time."""
        now = time.perf_counter()
        self.timings[key] += now - start
        return now

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


# --------------------------------------------------------------------------- convolution


def im2col(x: np.ndarray, kernel_size: int, stride: int = 1) -> np.ndarray:
    """Return the patch matrix of ``x`` (N, H, W, C): one row per output position, ``(N*Ho*Wo, k*k*C)``.

    Row ``(n, i, j)`` holds the ``k x k x C`` window whose top-left corner is ``(i*stride, j*stride)``,
    flattened in (row, column, channel) order, the order of a Keras kernel ``(k, k, C, F)`` reshaped to
    ``(k*k*C, F)``. ``x`` is already padded. ``sliding_window_view`` makes the windows without copying;
    the reshape copies them into one matrix (the memory cost of im2col: k*k times the input).
    """
    n, _, _, c = x.shape
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(1, 2))  # (N,Ho,Wo,C,k,k)
    windows = windows[:, ::stride, ::stride]
    ho, wo = windows.shape[1], windows.shape[2]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kernel_size * kernel_size * c)


def col2im(cols: np.ndarray, input_shape: Shape, kernel_size: int, stride: int = 1) -> np.ndarray:
    """Return the (N, H, W, C) array made by adding every row of ``cols`` back where im2col took it from.

    The adjoint of :func:`im2col`: a pixel that belonged to several windows receives the sum of their
    gradients. ``input_shape`` is the padded input's ``(N, H, W, C)``.
    """
    n, h, w, c = input_shape
    k = kernel_size
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    patches = cols.reshape(n, ho, wo, k, k, c)
    dx = np.zeros(input_shape, dtype=cols.dtype)
    for i in range(k):  # k*k strided additions, each over the whole batch
        for j in range(k):
            dx[
                :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride
            ] += patches[:, :, :, i, j, :]
    return dx


def conv2d_reference(x: np.ndarray, weights: np.ndarray, stride: int = 1) -> np.ndarray:
    """Return the cross-correlation of ``x`` (N, H, W, C) with ``weights`` (k, k, C, F) by explicit loops.

    No padding, no bias: the textbook definition, out[n, i, j, f] = sum over (a, b, c) of
    x[n, i*stride + a, j*stride + b, c] * W[a, b, c, f]. Slow; for tests and for reading.
    """
    n, h, w, c = x.shape
    k, f = weights.shape[0], weights.shape[3]
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, ho, wo, f), dtype=np.result_type(x, weights))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, i * stride : i * stride + k, j * stride : j * stride + k, :]
            out[:, i, j, :] = np.tensordot(patch, weights, axes=([1, 2, 3], [0, 1, 2]))
    return out


def full_convolution_input_gradient(
    dout: np.ndarray, weights: np.ndarray, input_shape: Shape, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """Return dL/dx of a convolution as a *full* convolution of ``dout`` with the kernel rotated by 180 degrees.

    The textbook formula, dx = full_conv(dout, rot180(W)) with input and output channels swapped;
    ``input_shape`` is the unpadded ``(N, H, W, C)``. For ``stride > 1`` zeros are first inserted
    between the rows and columns of ``dout``. :class:`Conv2D` computes the same gradient with
    :func:`col2im`, which touches less memory; a test checks that both agree.
    """
    n, h, w, c = input_shape
    k = weights.shape[0]
    hp, wp = h + 2 * padding, w + 2 * padding
    _, ho, wo, f = dout.shape
    dilated = np.zeros((n, (ho - 1) * stride + 1, (wo - 1) * stride + 1, f), dtype=dout.dtype)
    dilated[:, ::stride, ::stride] = dout
    # k-1 zeros on each side make it "full"; rows the forward windows never reached get zeros too
    extra_h, extra_w = (hp - k) % stride, (wp - k) % stride
    padded = np.pad(dilated, ((0, 0), (k - 1, k - 1 + extra_h), (k - 1, k - 1 + extra_w), (0, 0)))
    rotated = weights[::-1, ::-1].transpose(0, 1, 3, 2)  # (k, k, F, C)
    dx_padded = (im2col(padded, k) @ rotated.reshape(k * k * f, c)).reshape(n, hp, wp, c)
    return dx_padded[:, padding : padding + h, padding : padding + w, :]


class Conv2D(Layer):
    """A 2-D convolution (cross-correlation) with a bias, square kernel, stride and zero padding.

    Forward: x (N, H, W, C_in) -> out (N, Ho, Wo, C_out), with Ho = (H + 2*padding - k) // stride + 1
    (Wo likewise); out = im2col(pad(x)) @ W.reshape(k*k*C_in, C_out) + b.
    Parameters: ``W`` (k, k, C_in, C_out), He-normal initialised (std sqrt(2 / (k*k*C_in))); ``b``
    (C_out,), zeros. ``padding`` is a number of zero pixels on every side, or "valid" (0) or "same"
    (k // 2 with an odd kernel and stride 1: the output keeps the input's size).
    Cache: the im2col matrix of the padded input, ``(N*Ho*Wo, k*k*C_in)``, and the padded input shape.
    Backward: dW = cols^T @ dout, db = sum of dout over N, Ho, Wo; dx = col2im(dout @ W^T), cropped.
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | str = 0,
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float32,
        name: str | None = None,
    ):
        super().__init__(name or "conv2d")
        owner = f"Conv2D {self.name!r}"
        self.in_channels = _positive_int(in_channels, "in_channels", owner)
        self.filters = _positive_int(filters, "filters", owner)
        self.kernel_size = _positive_int(kernel_size, "kernel_size", owner)
        self.stride = _positive_int(stride, "stride", owner)
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if self.stride != 1 or self.kernel_size % 2 == 0:
                raise ValueError(
                    f"{owner}: padding='same' needs stride 1 and an odd kernel_size; "
                    f"got stride {self.stride}, kernel_size {self.kernel_size}: give padding as a number"
                )
            padding = self.kernel_size // 2
        self.padding = _positive_int(padding, "padding ('valid', 'same' or pixels)", owner, 0)
        k, c = self.kernel_size, self.in_channels
        std = np.sqrt(2.0 / (k * k * c))
        self.params = {
            "W": (_rng(seed).standard_normal((k, k, c, self.filters)) * std).astype(dtype),
            "b": np.zeros(self.filters, dtype=dtype),
        }

    def output_shape(self, input_shape: Shape) -> Shape:
        """Return (Ho, Wo, C_out) for one input image of shape (H, W, C_in); raise on a mismatch."""
        if len(input_shape) != 3:
            raise ValueError(
                f"Conv2D {self.name!r} expects images of shape (H, W, C), got {tuple(input_shape)}: "
                "put it before Flatten/Dense, not after"
            )
        h, w, c = input_shape
        if c != self.in_channels:
            raise ValueError(
                f"Conv2D {self.name!r} was built for {self.in_channels} input channels but receives "
                f"{c} (the last axis, NHWC): build it with in_channels={c}"
            )
        hp, wp = h + 2 * self.padding, w + 2 * self.padding
        if self.kernel_size > min(hp, wp):
            raise ValueError(
                f"Conv2D {self.name!r}: kernel_size {self.kernel_size} is larger than the padded "
                f"input {hp}x{wp} (input {h}x{w}, padding {self.padding}): use a smaller kernel, "
                "more padding or fewer pooling layers before it"
            )
        k, s = self.kernel_size, self.stride
        return ((hp - k) // s + 1, (wp - k) // s + 1, self.filters)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the convolution of ``x`` (N, H, W, C_in): (N, Ho, Wo, C_out)."""
        x = _check_images(x, f"Conv2D {self.name!r}")
        n = x.shape[0]
        ho, wo, f = self.output_shape(x.shape[1:])
        p, k = self.padding, self.kernel_size
        start = time.perf_counter()
        if p:
            x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        cols = im2col(x, k, self.stride)
        start = self._clock("forward im2col", start)
        out = cols @ self.params["W"].reshape(-1, f) + self.params["b"]
        self._clock("forward matmul", start)
        self.cache = (cols, x.shape)
        return out.reshape(n, ho, wo, f)

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Return dL/dx (N, H, W, C_in) for ``dout`` (N, Ho, Wo, C_out); store dW and db in ``grads``."""
        if self.cache is None:
            raise RuntimeError(f"Conv2D {self.name!r}: call forward before backward")
        cols, padded_shape = self.cache
        f, k, p = self.filters, self.kernel_size, self.padding
        dout2 = dout.reshape(-1, f)
        start = time.perf_counter()
        self.grads = {
            "W": (cols.T @ dout2).reshape(self.params["W"].shape),
            "b": dout2.sum(axis=0),
        }
        start = self._clock("backward matmul (dW)", start)
        if not input_gradient:
            return None
        dcols = dout2 @ self.params["W"].reshape(-1, f).T
        start = self._clock("backward matmul (dx)", start)
        dx = col2im(dcols, padded_shape, k, self.stride)
        self._clock("backward col2im", start)
        if p:
            dx = dx[:, p:-p, p:-p, :]
        return dx


# --------------------------------------------------------------------------- element-wise and shape


class ReLU(Layer):
    """Rectified linear unit, max(x, 0), element-wise on any shape.

    Cache: the boolean mask x > 0. Backward: dx = dout where x > 0, else 0 (the kink at 0 gets 0).
    """

    def __init__(self, name: str | None = None):
        super().__init__(name or "relu")

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return max(x, 0), the shape of ``x``."""
        mask = x > 0
        self.cache = mask
        return x * mask

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Return dout * (x > 0)."""
        if self.cache is None:
            raise RuntimeError(f"ReLU {self.name!r}: call forward before backward")
        return dout * self.cache if input_gradient else None


class MaxPool2D(Layer):
    """Max-pooling over ``pool_size x pool_size`` windows every ``stride`` pixels (default: the pool size).

    Forward: x (N, H, W, C) -> out (N, Ho, Wo, C), Ho = (H - pool) // stride + 1 (rows that do not fill
    a window are dropped, as in Keras' 'valid' pooling). When the windows tile the image (stride ==
    pool size) the forward pass is a reshape and one ``max``; otherwise it uses sliding windows.
    Cache: the input and the output. Backward: each window's gradient goes to the position of its
    maximum (the first one if several are equal); overlapping windows add up.
    """

    def __init__(self, pool_size: int = 2, stride: int | None = None, name: str | None = None):
        super().__init__(name or "maxpool2d")
        owner = f"MaxPool2D {self.name!r}"
        self.pool_size = _positive_int(pool_size, "pool_size", owner)
        self.stride = self.pool_size if stride is None else _positive_int(stride, "stride", owner)

    def output_shape(self, input_shape: Shape) -> Shape:
        """Return (Ho, Wo, C) for one input of shape (H, W, C)."""
        if len(input_shape) != 3:
            raise ValueError(
                f"MaxPool2D {self.name!r} expects images of shape (H, W, C), got {tuple(input_shape)}"
            )
        h, w, c = input_shape
        if self.pool_size > min(h, w):
            raise ValueError(
                f"MaxPool2D {self.name!r}: pool_size {self.pool_size} is larger than its {h}x{w} "
                "input: use a smaller pool or fewer pooling layers"
            )
        return ((h - self.pool_size) // self.stride + 1, (w - self.pool_size) // self.stride + 1, c)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the window maxima of ``x`` (N, H, W, C): (N, Ho, Wo, C)."""
        x = _check_images(x, f"MaxPool2D {self.name!r}")
        n = x.shape[0]
        ho, wo, c = self.output_shape(x.shape[1:])
        p, s = self.pool_size, self.stride
        start = time.perf_counter()
        if s == p:  # the windows tile the image: a reshape (no copy), then p-1 maxima per axis
            tiles = x[:, : ho * p, : wo * p, :].reshape(n, ho, p, wo, p, c)
            rows = tiles[:, :, 0]
            for a in range(1, p):  # element-wise maxima: several times faster than .max(axis=...)
                rows = np.maximum(rows, tiles[:, :, a])
            out = rows[:, :, :, 0]
            for b in range(1, p):
                out = np.maximum(out, rows[:, :, :, b])
        else:
            windows = sliding_window_view(x, (p, p), axis=(1, 2))[:, ::s, ::s]
            out = windows.max(axis=(4, 5))
        self._clock("forward max", start)
        self.cache = (x, out)
        return out

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Return dL/dx (N, H, W, C): ``dout`` routed to the maximum of each window."""
        if self.cache is None:
            raise RuntimeError(f"MaxPool2D {self.name!r}: call forward before backward")
        if not input_gradient:
            return None
        x, out = self.cache
        p, s = self.pool_size, self.stride
        ho, wo = out.shape[1], out.shape[2]
        start = time.perf_counter()
        dx = np.zeros_like(x, dtype=dout.dtype)
        taken = np.zeros(out.shape, dtype=bool)  # windows whose maximum has been found
        for a in range(p):  # p*p passes over the window positions, in row-major order
            for b in range(p):
                rows = slice(a, a + s * (ho - 1) + 1, s)
                cols = slice(b, b + s * (wo - 1) + 1, s)
                hit = (x[:, rows, cols, :] == out) & ~taken
                if s >= p:  # disjoint windows: each input pixel is written once
                    dx[:, rows, cols, :] = hit * dout
                else:
                    dx[:, rows, cols, :] += hit * dout
                taken |= hit
        self._clock("backward route to max", start)
        return dx


class Flatten(Layer):
    """Reshape (N, H, W, C) to (N, H*W*C) in NHWC order (the order of Keras' Flatten).

    Cache: the input shape. Backward: reshape ``dout`` back to it.
    """

    def __init__(self, name: str | None = None):
        super().__init__(name or "flatten")

    def output_shape(self, input_shape: Shape) -> Shape:
        """Return (prod(input_shape),)."""
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``x`` reshaped to (N, features)."""
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(
                f"Flatten {self.name!r} expects a batch (N, ...), got shape {x.shape}: add a batch axis"
            )
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Return ``dout`` reshaped to the input's shape."""
        if self.cache is None:
            raise RuntimeError(f"Flatten {self.name!r}: call forward before backward")
        return dout.reshape(self.cache) if input_gradient else None


class Dense(Layer):
    """Fully connected layer: out = x @ W + b.

    Forward: x (N, D_in) -> out (N, D_out). Parameters: ``W`` (D_in, D_out), He-normal initialised
    (std sqrt(2 / D_in)); ``b`` (D_out,), zeros. Cache: the input x.
    Backward: dW = x^T @ dout, db = sum of dout over N, dx = dout @ W^T.
    """

    def __init__(
        self,
        in_features: int,
        units: int,
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float32,
        name: str | None = None,
    ):
        super().__init__(name or "dense")
        owner = f"Dense {self.name!r}"
        self.in_features = _positive_int(in_features, "in_features", owner)
        self.units = _positive_int(units, "units", owner)
        std = np.sqrt(2.0 / self.in_features)
        self.params = {
            "W": (_rng(seed).standard_normal((self.in_features, self.units)) * std).astype(dtype),
            "b": np.zeros(self.units, dtype=dtype),
        }

    def output_shape(self, input_shape: Shape) -> Shape:
        """Return (D_out,) for one input of shape (D_in,); raise on a mismatch."""
        if len(input_shape) != 1:
            raise ValueError(
                f"Dense {self.name!r} expects flat inputs (D,), got {tuple(input_shape)}: "
                "put a Flatten() before it"
            )
        if input_shape[0] != self.in_features:
            raise ValueError(
                f"Dense {self.name!r} was built for {self.in_features} input features but receives "
                f"{input_shape[0]}: build it with in_features={input_shape[0]}"
            )
        return (self.units,)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return x @ W + b, (N, D_out)."""
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(
                f"Dense {self.name!r} expects a batch of shape (N, {self.in_features}), got shape "
                f"{x.shape}" + (": put a Flatten() before it" if x.ndim > 2 else "")
            )
        self.output_shape(x.shape[1:])
        self.cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Return dout @ W^T, (N, D_in); store dW and db in ``grads``."""
        if self.cache is None:
            raise RuntimeError(f"Dense {self.name!r}: call forward before backward")
        x = self.cache
        self.grads = {"W": x.T @ dout, "b": dout.sum(axis=0)}
        return dout @ self.params["W"].T if input_gradient else None


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability ``rate`` and scale the rest by 1/(1-rate).

    At inference (``training=False``) it is the identity, so nothing changes between training and
    test time but the mask. Cache: the mask, ``keep / (1 - rate)`` (shape of x). ``fixed_mask``, if
    set, is used instead of a random one (for gradient checks). Backward: dx = dout * mask.
    """

    def __init__(
        self,
        rate: float,
        seed: int | np.random.Generator | None = None,
        name: str | None = None,
    ):
        super().__init__(name or "dropout")
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout {self.name!r}: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = _rng(seed)
        self.fixed_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return x with dropped values set to 0 and the rest scaled (training), or x (inference)."""
        if not training or self.rate == 0.0:
            self.cache = None
            return x
        if self.fixed_mask is not None:
            if self.fixed_mask.shape != x.shape:
                raise ValueError(
                    f"Dropout {self.name!r}: fixed_mask has shape {self.fixed_mask.shape}, "
                    f"the input {x.shape}"
                )
            keep = self.fixed_mask.astype(bool)
        else:
            keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self.cache = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return x * self.cache

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """Return dout * mask (dout itself after an inference-mode forward)."""
        if not input_gradient:
            return None
        return dout if self.cache is None else dout * self.cache
