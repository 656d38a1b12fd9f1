"""The one timing helper: median milliseconds of a callable (values are never asserted against a bound)."""

import pytest

from helpers.kit import timing


def test_median_ms_calls_warmup_plus_repeats_and_returns_the_median(monkeypatch):
    calls = []
    # A fake clock: each timed call lasts 1, 5, 2 ms (start/stop pairs), so the median is 2 ms.
    ticks = iter([0.0, 0.001, 1.0, 1.005, 2.0, 2.002])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    ms = timing.median_ms(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5  # 2 warm-up calls, untimed, then 3 timed ones
    assert ms == pytest.approx(2.0)


def test_median_ms_always_warms_up_once_and_measures_a_real_call():
    calls = []
    ms = timing.median_ms(lambda: calls.append(sum(range(1000))), repeats=2, warmup=0)
    assert len(calls) == 3 and ms > 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fn": 3}, "callable"),
        ({"fn": print, "repeats": 0}, "repeats"),
        ({"fn": print, "warmup": -1}, "warmup"),
    ],
)
def test_median_ms_rejects_bad_arguments(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        timing.median_ms(**kwargs)
