"""The kit's one timing helper: the median wall time of a callable, in milliseconds.

Timings are printed and written to benchmarks, never asserted: the same model can be several times
faster or slower on two CPUs of the same kind (instruction sets, other jobs on a shared machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def median_ms(fn: Callable[[], Any], repeats: int = 30, warmup: int = 3) -> float:
    """Return the median wall time of ``fn()`` in milliseconds over ``repeats`` calls after ``warmup`` calls.

    The warm-up calls (at least one, so tracing, allocation and caches are never timed) are discarded.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    for _ in range(max(warmup, 1)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000.0)
