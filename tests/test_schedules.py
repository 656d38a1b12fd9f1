"""Learning-rate schedules: one warm-up + cosine formula, as a Keras schedule and as a function."""

import math

import numpy as np
import pytest

from helpers import schedules


def test_warmup_cosine_by_hand():
    # no warm-up: peak at 0, half-way cos(pi/2) -> peak/2, zero at the end
    assert schedules.warmup_cosine(0.0, 1e-3) == pytest.approx(1e-3)
    assert schedules.warmup_cosine(0.5, 1e-3) == pytest.approx(0.5e-3)
    assert schedules.warmup_cosine(1.0, 1e-3) == pytest.approx(0.0, abs=1e-15)
    # warm-up over 20% from 10% of the peak: a quarter in, 0.1 + 0.9 * 0.25 = 0.325 of the peak
    assert schedules.warmup_cosine(0.05, 2.0, 0.2, initial_fraction=0.1) == pytest.approx(0.65)
    # final fraction 1%: the end is 0.01 * peak; progress beyond the budget is clipped
    assert schedules.warmup_cosine(1.7, 1.0, final_fraction=0.01) == pytest.approx(0.01)
    t = 0.3  # decay phase with warm-up 0.2: (0.3 - 0.2) / 0.8 of the cosine
    expected = 0.5 * (1 + math.cos(math.pi * 0.125))
    assert schedules.warmup_cosine(t, 1.0, 0.2) == pytest.approx(expected)


def test_keras_onecycle_and_cosine_match_the_function_step_by_step():
    total, peak = 100, 1e-2
    onecycle = schedules.learning_rate_schedule("onecycle", peak, total)
    cosine = schedules.learning_rate_schedule("cosine", peak, total)
    warmup = 20  # 20% of 100 steps
    for step in (0, 5, 19, 20, 21, 50, 99):
        keras_onecycle = float(onecycle(step))
        if step < warmup:  # Keras warms up linearly from lr/10 to lr over `warmup` steps
            mine = schedules.warmup_cosine(step / total, peak, 0.2, initial_fraction=0.1)
        else:  # then decays over the remaining 80 steps
            mine = schedules.warmup_cosine((step - warmup) / (total - warmup), peak)
        assert keras_onecycle == pytest.approx(mine, rel=1e-5, abs=peak * 1e-6), step
        assert float(cosine(step)) == pytest.approx(
            schedules.warmup_cosine(step / total, peak), rel=1e-5, abs=peak * 1e-6
        )
    assert schedules.learning_rate_schedule("constant", 0.1, 10) == 0.1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: schedules.learning_rate_schedule("triangle", 1e-3, 10), "schedule"),
        (lambda: schedules.learning_rate_schedule("cosine", 0.0, 10), "positive"),
        (lambda: schedules.warmup_cosine(0.5, -1.0), "peak"),
        (lambda: schedules.warmup_cosine(0.5, 1.0, warmup_fraction=1.0), "warmup_fraction"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rates_never_negative_over_a_budget():
    rates = [schedules.warmup_cosine(p, 1e-3, 0.03, 0.01, 0.01) for p in np.linspace(0, 1, 101)]
    assert min(rates) >= 0.0 and max(rates) == pytest.approx(1e-3, rel=1e-3)
