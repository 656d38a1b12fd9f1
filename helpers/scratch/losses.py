"""Softmax and the fused softmax + cross-entropy loss, whose gradient is simply p - y."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return the row-wise softmax of ``logits`` (N, K): probabilities that sum to 1 per row.

    The row maximum is subtracted first, which changes nothing mathematically and keeps ``exp``
    from overflowing.
    """
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, classes), got {logits.shape}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def one_hot_labels(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Return (N, num_classes) one-hot rows for integer labels (N,), or one-hot/probability rows checked."""
    y = np.asarray(y)
    if y.ndim == 2:
        if y.shape[1] != num_classes:
            raise ValueError(f"y has {y.shape[1]} columns for {num_classes} classes")
        return y
    if y.ndim != 1:
        raise ValueError(f"y must be integer labels (N,) or one-hot rows (N, K), got {y.shape}")
    if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must hold integer labels in 0..{num_classes - 1}, got {y[:5]}...")
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


class SoftmaxCrossEntropy:
    """Softmax of the logits followed by the cross-entropy with the labels, averaged over the batch.

    Forward: logits (N, K), y (N,) integer labels or (N, K) one-hot -> loss = -mean_n log p[n, y_n],
    with p = softmax(logits). Cache: p and the one-hot labels.
    Backward: dL/dlogits = (p - y_one_hot) / N (N, K): fusing softmax with the loss turns the
    softmax's K x K Jacobian into this one subtraction, and avoids log(0).
    """

    def __init__(self):
        self.cache: tuple[np.ndarray, np.ndarray] | None = None

    def forward(self, logits: np.ndarray, y: np.ndarray) -> float:
        """Return the mean cross-entropy (a float, in nats) of ``logits`` (N, K) against ``y``."""
        logits = np.asarray(logits)
        if logits.ndim != 2:
            raise ValueError(f"logits must have shape (N, classes), got {logits.shape}")
        targets = one_hot_labels(y, logits.shape[1])
        if len(targets) != len(logits):
            raise ValueError(f"logits and y differ in length: {len(logits)} vs {len(targets)}")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.cache = (np.exp(log_p), targets.astype(logits.dtype))
        return float(-(targets * log_p).sum() / len(logits))

    def backward(self) -> np.ndarray:
        """Return dL/dlogits = (p - y) / N, shape (N, K)."""
        if self.cache is None:
            raise RuntimeError("SoftmaxCrossEntropy: call forward before backward")
        p, targets = self.cache
        return (p - targets) / len(p)
