"""Learning-rate schedules: the kit's one warm-up + cosine formula, as a Keras schedule and as a function.

* :func:`learning_rate_schedule` (classifiers, ``model.fit``): constant, cosine decay, or one-cycle
  (linear warm-up, then cosine), built on Keras' ``CosineDecay``.
* :func:`warmup_cosine` is the same formula as a plain function of *progress* (0..1 of a budget), for
  loops whose budget is wall time rather than a step count (super-resolution training). A test checks
  that both give the same rates.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "cosine", "onecycle")


def warmup_cosine(
    progress: float,
    peak: float,
    warmup_fraction: float = 0.0,
    initial_fraction: float = 0.0,
    final_fraction: float = 0.0,
) -> float:
    """Return the learning rate at ``progress`` (0..1 of the budget): linear warm-up, then cosine decay.

    The rate rises linearly from ``initial_fraction * peak`` to ``peak`` over the first
    ``warmup_fraction`` of the budget, then follows half a cosine down to ``final_fraction * peak``.
    """
    if peak <= 0:
        raise ValueError(f"peak must be positive, got {peak}")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction}")
    progress = min(max(float(progress), 0.0), 1.0)
    if progress < warmup_fraction:
        start = initial_fraction * peak
        return start + (peak - start) * progress / warmup_fraction
    t = (progress - warmup_fraction) / (1.0 - warmup_fraction)
    return peak * (final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * t)))


def learning_rate_schedule(
    schedule: str, learning_rate: float, total_steps: int, warmup_fraction: float = 0.2
):
    """Return a learning rate (float) or Keras schedule: constant, cosine decay to 0, or one-cycle.

    ``onecycle``: linear warm-up from ``learning_rate / 10`` to ``learning_rate`` over the first
    ``warmup_fraction`` of the steps, then cosine decay to 0.
    """
    import keras

    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    if learning_rate <= 0 or total_steps <= 0:
        raise ValueError(
            f"learning_rate and total_steps must be positive, got {learning_rate} and {total_steps}"
        )
    if schedule == "constant":
        return float(learning_rate)
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            float(learning_rate), decay_steps=int(total_steps)
        )
    warmup = max(1, int(round(warmup_fraction * total_steps)))
    return keras.optimizers.schedules.CosineDecay(
        float(learning_rate) / 10.0,
        decay_steps=max(1, int(total_steps) - warmup),
        warmup_target=float(learning_rate),
        warmup_steps=warmup,
    )
