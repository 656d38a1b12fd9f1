"""The checks of notebook 04's exercises (``checks.run("04.summarise_seeds", globals())``).

Each check tests the student's function on small hand-made inputs with known answers (no training,
no data), so it runs in milliseconds and its feedback names the usual mistake: the population
standard deviation instead of the sample one, a table grouped by the wrong column, the raw loss
instead of the smoothed one, a smoothing without its bias correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import CheckFailed, check_close, check_type, expect

# --------------------------------------------------------------------------- 04.summarise_seeds

# One row per trial: four activations, 1 to 3 seeds each (3 distinct seeds, 4 settings).
_TRIALS = {
    "trial_id": ["00", "01", "02", "03", "04", "05", "06", "07"],
    "activation": ["relu", "sigmoid", "gelu", "tanh", "relu", "sigmoid", "gelu", "relu"],
    "seed": [0, 0, 0, 0, 1, 1, 1, 2],
    "val_accuracy": [0.97, 0.80, 0.96, 0.95, 0.98, 0.90, 0.98, 0.99],
}
# Per setting: (mean, sample std (ddof=1), population std (ddof=0), n).
_SUMMARY = {
    "relu": (0.98, 0.01, 0.00816496580927726, 3),
    "sigmoid": (0.85, 0.07071067811865478, 0.05, 2),
    "gelu": (0.97, 0.014142135623730963, 0.01, 2),
    "tanh": (0.95, float("nan"), 0.0, 1),
}


def _trials_frame():
    import pandas as pd

    return pd.DataFrame(_TRIALS)


@register("04.summarise_seeds")
def _summarise_seeds(namespace: Mapping[str, Any]) -> None:
    import math

    import numpy as np
    import pandas as pd

    fn = lookup(namespace, "summarise_seeds")
    trials = _trials_frame()
    call = "summarise_seeds(trials, 'activation', 'val_accuracy')"
    got = fn(trials, "activation", "val_accuracy")
    check_type(
        call,
        got,
        pd.DataFrame,
        hint="return a pandas DataFrame with the columns 'activation', 'mean', 'std' and 'n'.",
    )
    try:
        pd.testing.assert_frame_equal(trials, _trials_frame())
    except AssertionError:
        raise CheckFailed(
            f"{call} changed the table it was given; leave the input unchanged "
            "(work on what groupby returns, or on trials.copy())."
        ) from None
    got = got.reset_index()  # accept the setting as the index too
    missing = [c for c in ("activation", "mean", "std", "n") if c not in got.columns]
    expect(
        not missing,
        f"{call}: the result has the columns {[c for c in got.columns if c != 'index']}; "
        f"{missing} are missing.",
        hint="name them exactly 'mean', 'std' and 'n' (e.g. .agg(['mean', 'std', 'count']) "
        "then .rename(columns={'count': 'n'})), and keep the setting as a column "
        "(.reset_index()).",
    )
    if len(got) == 3 and sorted(got["activation"].astype(str)) != sorted(_SUMMARY):
        raise CheckFailed(
            f"{call}: found 3 rows, one per seed; expected 4, one per activation "
            "(relu, sigmoid, gelu, tanh). Hint: group by the setting column "
            "(trials.groupby(by)), not by 'seed': the seeds are what you average over."
        )
    expect(
        len(got) == len(_SUMMARY),
        f"{call}: found {len(got)} row(s); expected {len(_SUMMARY)}, one per activation "
        "(relu, sigmoid, gelu, tanh).",
        hint="group by the setting column only (trials.groupby(by)[metric]), so that each "
        "setting gets one row whatever its number of seeds.",
    )
    found = sorted(str(v) for v in got["activation"])
    expect(
        found == sorted(_SUMMARY),
        f"{call}: the 'activation' column holds {found}; expected {sorted(_SUMMARY)}.",
        hint="the setting column of the result holds the values of trials[by], one per row.",
    )
    rows = got.set_index(got["activation"].astype(str))
    n_got = [int(rows.loc[k, "n"]) for k in _SUMMARY]
    n_expected = [v[3] for v in _SUMMARY.values()]
    check_close(
        f"{call}: column 'n' (relu, sigmoid, gelu, tanh)",
        n_got,
        n_expected,
        hint="n is the number of trials (seeds) of each setting: .count() or len() per group.",
    )
    mean_got = [float(rows.loc[k, "mean"]) for k in _SUMMARY]
    check_close(
        f"{call}: column 'mean' (relu, sigmoid, gelu, tanh)",
        mean_got,
        [v[0] for v in _SUMMARY.values()],
        hint="average the metric column over the seeds of each setting (only val_accuracy, not "
        "the seed or trial_id columns).",
    )
    std_got = [float(rows.loc[k, "std"]) for k in _SUMMARY]
    multi = [k for k, v in _SUMMARY.items() if v[3] > 1]
    sample = [_SUMMARY[k][1] for k in multi]
    population = [_SUMMARY[k][2] for k in multi]
    got_multi = [float(rows.loc[k, "std"]) for k in multi]
    if np.allclose(got_multi, population, rtol=1e-4) and not np.allclose(got_multi, sample):
        raise CheckFailed(
            f"{call}: found std {[round(v, 4) for v in got_multi]} for {multi}, the population "
            f"standard deviation (ddof=0); expected the sample standard deviation (ddof=1), "
            f"{[round(v, 4) for v in sample]}, as the kit's tuning.summary_table reports. Hint: "
            "pandas' .std() uses ddof=1 by default; np.std needs ddof=1 (its default is 0)."
        )
    check_close(
        f"{call}: column 'std' for {multi}",
        got_multi,
        sample,
        rtol=1e-4,
        hint="the sample standard deviation over the seeds: sqrt(sum((x - mean)**2) / (n - 1)).",
    )
    tanh_std = std_got[list(_SUMMARY).index("tanh")]
    expect(
        math.isnan(tanh_std),
        f"{call}: found std {tanh_std:g} for tanh, which has a single seed; expected NaN.",
        hint="one seed has no spread to measure: the sample std of one value is NaN (pandas' "
        ".std() gives NaN); do not replace it by 0, which would claim a perfectly stable setting.",
    )


# --------------------------------------------------------------------------- 04.suggest_lr

_STEPS = 60


def _range_test_data():
    """A made-up range test: 60 exponential rates from 1e-5 to 1, a loss that is flat, falls,
    bottoms out around step 46 and shoots up, with one lucky batch (a dip to 0.1) at step 30."""
    import numpy as np

    i = np.arange(_STEPS)
    lrs = 1e-5 * (1e5) ** (i / (_STEPS - 1))
    losses = np.where(i < 20, 2.3, 2.3 - 1.8 * np.clip((i - 20) / 25, 0, 1))
    losses = losses + np.where(i > 48, 0.8 * (i - 48), 0.0)
    losses[30] = 0.1
    return lrs, losses


def _smooth(losses, beta: float, bias_correction: bool = True):
    import numpy as np

    out, avg = np.empty(len(losses)), 0.0
    for k, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * float(loss)
        out[k] = avg / (1 - beta ** (k + 1)) if bias_correction else avg
    return out


def _diagnose_lr(call: str, got: float, lrs, losses, beta: float, factor: float) -> None:
    """Raise CheckFailed naming the mistake if ``got`` is not the expected suggestion."""
    import numpy as np

    def at_min(values) -> float:
        return float(lrs[int(np.argmin(values))])

    smoothed = _smooth(losses, beta)
    expected = at_min(smoothed) / factor
    if np.isclose(got, expected, rtol=1e-6):
        return
    found = f"{call}: found {got:.4g}; expected {expected:.4g}"
    mistakes = [
        (
            at_min(smoothed),
            "that is the rate at the minimum itself: divide it by factor (one decade below).",
        ),
        (
            at_min(smoothed) * factor,
            "that is the rate at the minimum times factor: divide by factor instead.",
        ),
        (
            at_min(losses) / factor,
            "that is one decade below the minimum of the raw losses (step "
            f"{int(np.argmin(losses))}, one lucky batch): take the minimum of the smoothed losses.",
        ),
        (
            at_min(_smooth(losses, beta, bias_correction=False)) / factor,
            "that is the first rate: without the bias correction the moving average starts near 0 "
            "and its minimum is the first step. Divide avg by (1 - beta ** (i + 1)), with i "
            "counted from 0.",
        ),
        (
            float(lrs[int(np.argmin(np.diff(smoothed)))]) / factor,
            "that is where the smoothed loss falls fastest; the exercise (and the kit) takes the "
            "rate at the minimum of the smoothed loss, divided by factor.",
        ),
    ]
    if beta > 0:  # with beta = 0 the swapped average would divide by 1 - 1 ** (i + 1) = 0
        swapped = at_min(_smooth(losses, 1 - beta)) / factor
        mistakes.append(
            (
                swapped,
                "beta weighs the previous average: avg = beta * avg + (1 - beta) * loss (you "
                "swapped beta and 1 - beta, so the losses were barely smoothed).",
            )
        )
    for value, hint in mistakes:
        if not np.isclose(value, expected, rtol=1e-6) and np.isclose(got, value, rtol=1e-6):
            raise CheckFailed(f"{found}: {hint}")
    raise CheckFailed(
        f"{found} (the smoothed loss is lowest at step {int(np.argmin(smoothed))}, "
        f"rate {at_min(smoothed):.4g}). Hint: smooth with the bias-corrected moving average, "
        "take the rate at the minimum of the smoothed losses, then divide by factor."
    )


@register("04.suggest_lr")
def _suggest_lr(namespace: Mapping[str, Any]) -> None:
    import numbers

    import numpy as np

    fn = lookup(namespace, "suggest_lr")
    lrs, losses = _range_test_data()
    before = (lrs.copy(), losses.copy())
    call = "suggest_lr(lrs, losses)"
    got = fn(lrs, losses)
    expect(
        np.array_equal(lrs, before[0]) and np.array_equal(losses, before[1]),
        f"{call} changed the arrays it was given; leave them unchanged "
        "(write the smoothed losses into a new array).",
    )
    expect(
        isinstance(got, numbers.Real) or (np.ndim(got) == 0 and np.isrealobj(got)),
        f"{call}: found a {type(got).__name__}; expected one number (a float).",
        hint="return float(lrs[index_of_the_minimum]) / factor, not the whole array.",
    )
    _diagnose_lr(call, float(got), lrs, losses, beta=0.98, factor=10.0)
    # The arguments are used: no smoothing at all with beta=0, a suggestion at the minimum with 1.
    got = float(fn(lrs, losses, beta=0.0, factor=1.0))
    _diagnose_lr("suggest_lr(lrs, losses, beta=0.0, factor=1.0)", got, lrs, losses, 0.0, 1.0)
    got = float(fn(list(lrs[:40]), list(losses[:40]), beta=0.9, factor=3.0))
    _diagnose_lr(
        "suggest_lr(the first 40 rates and losses as lists, beta=0.9, factor=3.0)",
        got,
        lrs[:40],
        losses[:40],
        0.9,
        3.0,
    )
