"""Notebook 04's exercise checks: the solution passes, and typical mistakes get feedback that names them."""

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed

# --------------------------------------------------------------------------- 04.summarise_seeds


def summarise_seeds(trials, by, metric="best_val_accuracy"):
    summary = trials.groupby(by, sort=False)[metric].agg(["mean", "std", "count"]).reset_index()
    return summary.rename(columns={"count": "n"})


def test_summarise_seeds_solution_passes(capsys):
    checks.run("04.summarise_seeds", {"summarise_seeds": summarise_seeds})
    assert "all checks passed" in capsys.readouterr().out


def test_summarise_seeds_also_accepts_a_loop_and_the_setting_as_index():
    import pandas as pd

    def by_loop(trials, by, metric="best_val_accuracy"):
        rows = {}
        for value, group in trials.groupby(by):  # sorted order: any order is accepted
            values = group[metric].to_numpy()
            std = values.std(ddof=1) if len(values) > 1 else float("nan")
            rows[value] = {"mean": values.mean(), "std": std, "n": len(values)}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis(by)

    checks.run("04.summarise_seeds", {"summarise_seeds": by_loop})


def test_summarise_seeds_population_std_is_named():
    def population(trials, by, metric="val_accuracy"):
        summary = trials.groupby(by)[metric].agg(["mean", "count"]).reset_index()
        summary["std"] = trials.groupby(by)[metric].std(ddof=0).to_numpy()
        return summary.rename(columns={"count": "n"})

    with pytest.raises(CheckFailed, match=r"population standard deviation \(ddof=0\).*ddof=1"):
        checks.run("04.summarise_seeds", {"summarise_seeds": population})


def test_summarise_seeds_grouped_by_seed_is_named():
    def by_seed(trials, by, metric="val_accuracy"):
        summary = trials.groupby("seed")[metric].agg(["mean", "std", "count"]).reset_index()
        return summary.rename(columns={"count": "n", "seed": by})

    with pytest.raises(CheckFailed, match="one per seed.*group by the setting column"):
        checks.run("04.summarise_seeds", {"summarise_seeds": by_seed})


def test_summarise_seeds_zero_std_for_one_seed_is_named():
    def zero_for_one(trials, by, metric="val_accuracy"):
        return summarise_seeds(trials, by, metric).fillna({"std": 0.0})

    with pytest.raises(CheckFailed, match="single seed; expected NaN"):
        checks.run("04.summarise_seeds", {"summarise_seeds": zero_for_one})


def test_summarise_seeds_missing_columns_and_missing_function():
    def unnamed(trials, by, metric="val_accuracy"):
        return trials.groupby(by)[metric].agg(["mean", "std", "count"]).reset_index()

    with pytest.raises(CheckFailed, match=r"\['n'\] are missing"):
        checks.run("04.summarise_seeds", {"summarise_seeds": unnamed})
    with pytest.raises(CheckFailed, match="no function called `summarise_seeds`"):
        checks.run("04.summarise_seeds", {})


# --------------------------------------------------------------------------- 04.suggest_lr


def suggest_lr(lrs, losses, beta=0.98, factor=10.0):
    smoothed = np.empty(len(losses))
    avg = 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        smoothed[i] = avg / (1 - beta ** (i + 1))
    return float(lrs[int(np.argmin(smoothed))]) / factor


def test_suggest_lr_solution_passes_and_matches_pandas_ewm(capsys):
    import pandas as pd

    checks.run("04.suggest_lr", {"suggest_lr": suggest_lr})
    assert "all checks passed" in capsys.readouterr().out
    lrs = 1e-5 * 1e5 ** (np.arange(50) / 49)
    losses = 2.3 - np.sin(np.linspace(0.0, 3.0, 50))
    smoothed = pd.Series(losses).ewm(alpha=0.02).mean().to_numpy()  # notebook 04's smoothing
    assert np.isclose(suggest_lr(lrs, losses), lrs[np.argmin(smoothed)] / 10)


def test_suggest_lr_raw_minimum_is_named():
    def raw(lrs, losses, beta=0.98, factor=10.0):
        return float(lrs[int(np.argmin(losses))]) / factor

    with pytest.raises(CheckFailed, match="raw losses.*take the minimum of the smoothed"):
        checks.run("04.suggest_lr", {"suggest_lr": raw})


def test_suggest_lr_missing_bias_correction_is_named():
    def no_correction(lrs, losses, beta=0.98, factor=10.0):
        smoothed, avg = [], 0.0
        for loss in losses:
            avg = beta * avg + (1 - beta) * loss
            smoothed.append(avg)
        return float(lrs[int(np.argmin(smoothed))]) / factor

    with pytest.raises(CheckFailed, match="without the bias correction"):
        checks.run("04.suggest_lr", {"suggest_lr": no_correction})


def test_suggest_lr_forgotten_factor_is_named():
    def no_factor(lrs, losses, beta=0.98, factor=10.0):
        return suggest_lr(lrs, losses, beta, factor) * factor

    with pytest.raises(CheckFailed, match="rate at the minimum itself: divide it by factor"):
        checks.run("04.suggest_lr", {"suggest_lr": no_factor})


def test_suggest_lr_ignored_arguments_and_missing_function():
    def fixed(lrs, losses, beta=0.98, factor=10.0):
        return suggest_lr(lrs, losses)  # ignores beta and factor

    with pytest.raises(CheckFailed, match=r"suggest_lr\(lrs, losses, beta=0.0, factor=1.0\)"):
        checks.run("04.suggest_lr", {"suggest_lr": fixed})
    with pytest.raises(CheckFailed, match="no function called `suggest_lr`"):
        checks.run("04.suggest_lr", {})
