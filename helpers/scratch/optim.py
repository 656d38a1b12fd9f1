"""Stochastic gradient descent with momentum, and the learning-rate decay of the NumPy CNN.

The update is Keras' (``keras.optimizers.SGD``), so both frameworks follow the same trajectory from
the same weights: velocity = momentum * velocity - lr * grad; param += velocity (plain SGD when
momentum is 0).

:class:`LearningRateDecay` goes from a start rate to an end rate over a number of steps. Its cosine
shape is the kit's formula, ``helpers.schedules.warmup_cosine`` (no warm-up, ``final_fraction`` =
end / start); the exponential and linear shapes are the two other usual decays. Each shape equals a
Keras schedule (``CosineDecay`` with ``alpha``, ``ExponentialDecay``, ``PolynomialDecay`` with power
1), which ``helpers.scratch.keras_bridge.keras_schedule`` builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from helpers.schedules import warmup_cosine

SHAPES = ("cosine", "exponential", "linear")


@dataclass(frozen=True)
class LearningRateDecay:
    """A learning rate decaying from ``start`` to ``end`` over ``total_steps`` mini-batch steps.

    ``rate(step)`` follows Keras' convention: step 0 gets ``start`` and the rate would reach ``end`` at
    step ``total_steps`` (the last step, ``total_steps - 1``, is just above it); later steps keep
    ``end``. ``shape``: "cosine" (half a cosine), "exponential" (the same factor every step) or
    "linear".
    """

    start: float
    end: float
    total_steps: int
    shape: str = "cosine"

    def __post_init__(self):
        if not self.start > 0 or not 0 < self.end <= self.start:
            raise ValueError(
                f"need start > 0 and 0 < end <= start, got start={self.start}, end={self.end}"
            )
        if isinstance(self.total_steps, bool) or int(self.total_steps) != self.total_steps:
            raise ValueError(f"total_steps must be an integer, got {self.total_steps!r}")
        if self.total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {self.total_steps}")
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {', '.join(SHAPES)}; got {self.shape!r}")

    def __call__(self, step: int) -> float:
        """Return the learning rate of mini-batch ``step`` (0-based)."""
        progress = min(max(step, 0) / self.total_steps, 1.0)
        if self.shape == "cosine":
            return warmup_cosine(progress, self.start, final_fraction=self.end / self.start)
        if self.shape == "exponential":
            return float(self.start * (self.end / self.start) ** progress)
        return float(self.start + (self.end - self.start) * progress)


class SGD:
    """Mini-batch SGD with optional momentum: v = momentum * v - lr * g; p += v (in place).

    ``step(parameters)`` takes ``(key, param, grad)`` triples (``Sequential.parameters()``); the
    velocity of each parameter is kept under its key.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.velocity: dict[str, np.ndarray] = {}

    def step(
        self,
        parameters: Iterable[tuple[str, np.ndarray, np.ndarray]],
        learning_rate: float | None = None,
    ) -> None:
        """Update every parameter in place from its gradient, at ``learning_rate`` (default: the optimizer's)."""
        lr = self.learning_rate if learning_rate is None else float(learning_rate)
        for key, param, grad in parameters:
            if grad.shape != param.shape:
                raise ValueError(
                    f"gradient of {key} has shape {grad.shape}, the parameter {param.shape}"
                )
            if self.momentum:
                v = self.velocity.get(key)
                if v is None:
                    v = self.velocity[key] = np.zeros_like(param)
                v *= self.momentum
                v -= lr * grad
                param += v
            else:
                param -= lr * grad
