"""Hyper-parameter sweeps on KerasTuner: a grid of settings x seeds, and its trials as tables.

Defined in notebook 04, where ``build_model(hp)`` and the grids are written out; notebook 06 reuses
the sweep for its ablation. Each seed is its own grid point (a ``seed`` hyper-parameter) rather than
``executions_per_trial``, because KerasTuner keeps only the average over executions and a mean ± std
needs one row per seed.

* :class:`GridSearch` is ``keras_tuner.GridSearch`` (same arguments) that resumes after an
  interruption (:class:`ResumableGridSearchOracle`, keras-team/keras-tuner#1055) and records every
  trial's per-epoch history and wall time in ``kit_record.json`` beside KerasTuner's ``trial.json``.
* :func:`grid_tuner` builds one from a plain ``build_fn(settings)`` and a grid
  ``{setting: [values]}`` (:class:`GridHyperModel`).
* :func:`trials_table` returns one row per trial; :func:`summary_table` the mean, std and ``n`` over
  the seeds; :func:`plot_val_curves` the per-epoch curves (the mean ± std dot plot is
  :func:`helpers.figures.plot_mean_std`).

Several processes can share one sweep (KerasTuner's chief and workers): the launcher is the kit's
machinery, :func:`helpers.kit.distributed.run_distributed`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd

from helpers.figures import pyplot
from helpers.kit import config
from helpers.kit.distributed import is_worker

SEED = "seed"  # the name of the seed hyper-parameter in every trial
FIT_SETTINGS = ("epochs", "batch_size")  # grid settings given to model.fit instead of build_fn
RECORD_FILE = "kit_record.json"  # per-trial side file: attempts, per-epoch history, wall time


# --------------------------------------------------------------------------- argument checks


def _check_grid(grid: Any) -> dict[str, list]:
    """Return ``grid`` as ``{name: [values]}`` or raise an error that names the bad entry."""
    if not isinstance(grid, Mapping):
        raise TypeError(
            f"grid must be a dict of setting name -> list of values, got {type(grid).__name__}"
        )
    if not grid:
        raise ValueError("grid is empty: give at least one setting, e.g. grid={'units': [32, 64]}")
    checked: dict[str, list] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"grid keys must be non-empty strings, got {name!r}")
        if name == SEED:
            raise ValueError("grid must not contain 'seed': list the seeds in seeds=(...) instead")
        if not isinstance(values, (list, tuple)):
            raise TypeError(
                f"grid[{name!r}] must be a list of values, got {type(values).__name__} "
                f"{values!r}; write grid[{name!r}] = [{values!r}] for a single value"
            )
        if not values:
            raise ValueError(f"grid[{name!r}] is empty: give at least one value")
        values = [v.item() if hasattr(v, "item") else v for v in values]  # numpy scalars
        kinds = {type(v) for v in values}
        if len(kinds) > 1 or not kinds <= {int, float, str, bool}:
            raise TypeError(
                f"grid[{name!r}] must hold values of one type among int, float, str, bool "
                f"(KerasTuner's Choice), got {values!r}; write 1.0 rather than 1 next to floats, "
                "or encode other values as strings"
            )
        if len(set(values)) != len(values):
            raise ValueError(f"grid[{name!r}] repeats a value: {values!r}")
        checked[name] = values
    return checked


def _check_seeds(seeds: Any) -> list[int]:
    """Return ``seeds`` as a list of distinct ints or raise an error naming ``seeds``."""
    if isinstance(seeds, (int, str)) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a list or tuple of ints, e.g. (0, 1), got {seeds!r}")
    seeds = [s.item() if hasattr(s, "item") else s for s in seeds]
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of ints, e.g. (0, 1), got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeats a value: {seeds!r}")
    return seeds


def n_grid_trials(grid: Mapping[str, Sequence], seeds: Sequence[int] = (0, 1)) -> int:
    """Return the number of trials of a grid: the product of the value counts times the seeds."""
    grid, seeds = _check_grid(grid), _check_seeds(seeds)
    return math.prod(len(v) for v in grid.values()) * len(seeds)


def sweep_name(study: str, *spec: Any) -> str:
    """Return ``"<study>_<8 hex digits>"``: a KerasTuner project name that changes with ``spec``.

    Pass everything that defines the sweep (grid, seeds, epochs, data sizes, build defaults). A
    rerun with the same spec reloads the finished trials; a changed spec starts a new project
    instead of mixing trials of two different sweeps.
    """
    if not study or not isinstance(study, str) or "/" in study:
        raise ValueError(f"study must be a short name such as 'activation', got {study!r}")
    text = json.dumps(spec, sort_keys=True, default=str)
    return f"{study}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_json(path: Path, payload: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    with config.replaced_at_once(path) as part:
        part.write_text(json.dumps(payload, indent=1))


def _settings_text(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


# --------------------------------------------------------------------------- KerasTuner classes


class ResumableGridSearchOracle(kt.oracles.GridSearchOracle):
    """A ``GridSearchOracle`` that resumes after an interruption (keras-team/keras-tuner#1055).

    Measured on keras-tuner 1.4.8 (tests/test_tuning.py): the stock oracle keeps the grid order of
    the trials (``_ordered_ids``) and the queue of trials whose successor is still to be generated
    (``_populate_next``) only in memory. After a reload both are empty: the first trial that ends
    raises ``KeyError`` in ``populate_space``, and a sweep stopped between trials never continues.
    ``reload`` rebuilds both from the reloaded trials, so each grid point still runs once.
    """

    def reload(self):
        """Reload the trials and the oracle state, then rebuild the grid bookkeeping."""
        super().reload()
        # A trial saved as RUNNING but absent from the reloaded ongoing trials (the process died
        # between the two writes of create_trial) is retried like an ongoing one.
        for trial_id, trial in self.trials.items():
            if trial.status == "RUNNING" and trial_id not in self._retry_queue:
                self._retry_queue.append(trial_id)

        def compare(a, b):
            values = self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values
            return self._compare(*values)

        ordered = sorted(self.trials, key=functools.cmp_to_key(compare))
        self._ordered_ids = type(self._ordered_ids)()  # the stock (private) linked list
        for trial_id in ordered:
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(ordered)


class GridSearch(kt.Tuner):
    """``keras_tuner.GridSearch`` that resumes (:class:`ResumableGridSearchOracle`) and records.

    Same arguments as ``keras_tuner.GridSearch`` (``hypermodel``, ``objective``,
    ``hyperparameters``, ``tune_new_entries``, ``directory``, ``project_name``, ``overwrite``...),
    plus ``progress``: print one line per finished trial, e.g.
    ``trial 3/8 {'units': 8} seed=0: val_accuracy 0.9812 in 4.1 s``. Each trial writes
    ``kit_record.json`` in its folder (every attempt, the per-epoch ``History``, the wall time),
    which :func:`trials_table` reads back; ``n_reloaded`` counts the completed trials this tuner
    found on disk instead of training them.
    """

    def __init__(self, hypermodel=None, objective=None, hyperparameters=None, progress=True, **kw):
        oracle_args = ("tune_new_entries", "allow_new_entries", "max_retries_per_trial")
        oracle_args += ("max_consecutive_failed_trials", "seed", "max_trials")
        oracle = ResumableGridSearchOracle(
            objective=objective,
            hyperparameters=hyperparameters,
            **{k: kw.pop(k) for k in oracle_args if k in kw},
        )
        super().__init__(oracle, hypermodel, **kw)
        self.progress = progress
        # KerasTuner reloads only when this process's tuner file (e.g. tuner0.json) exists; after
        # a distributed run or under another tuner id, reload from oracle.json alone.
        oracle_file = Path(self.project_dir) / "oracle.json"
        if not kw.get("overwrite") and not is_worker() and not self.oracle.trials:
            if oracle_file.exists():
                self.oracle.reload()
        self.n_reloaded = sum(
            t.status == "COMPLETED" for t in getattr(oracle, "trials", {}).values()
        )

    def run_trial(self, trial, *args, **kwargs):
        """Run the trial as ``GridSearch`` does and record it in ``kit_record.json``."""
        path = Path(self.get_trial_dir(trial.trial_id)) / RECORD_FILE
        record = _read_json(path)
        record.setdefault("attempts", []).append(
            {"tuner_id": self.tuner_id, "pid": os.getpid(), "started": time.time()}
        )
        for key in ("history", "wall_time_s"):
            record.pop(key, None)
        _write_json(path, record)
        start = time.perf_counter()
        results = super().run_trial(trial, *args, **kwargs)
        record["wall_time_s"] = time.perf_counter() - start
        last = results[-1] if isinstance(results, list) and results else results
        history = getattr(last, "history", None) or {}
        record["history"] = {k: [float(v) for v in vals] for k, vals in history.items()}
        _write_json(path, record)
        if self.progress:
            print(self._progress_line(trial, record["history"], record["wall_time_s"]), flush=True)
        return results

    def _progress_line(self, trial, history: dict, wall: float) -> str:
        values = dict(trial.hyperparameters.values)
        seed = values.pop(SEED, None)
        space = self.oracle.get_space().space
        total = math.prod(len(hp.values) for hp in space if hasattr(hp, "values"))
        number = int(trial.trial_id) + 1 if trial.trial_id.isdigit() else trial.trial_id
        name = getattr(self.oracle.objective, "name", "objective")
        curve = history.get(name)
        if curve:
            best = max(curve) if self.oracle.objective.direction == "max" else min(curve)
            result = f"{name} {best:.4f}"
        else:
            result = f"{name} n/a"
        seed_text = f" seed={seed}" if seed is not None else ""
        return f"trial {number}/{total} {values}{seed_text}: {result} in {wall:.1f} s"


class GridHyperModel(kt.HyperModel):
    """A grid ``{setting: [values]}`` x seeds and a ``build_fn(settings)`` as a ``HyperModel``.

    ``build`` declares one ``Choice`` per setting and ``seed`` last (it varies fastest), seeds Keras,
    NumPy and Python with the trial's seed, then returns ``build_fn(settings)``; ``fit`` passes
    ``epochs``/``batch_size`` settings to ``model.fit``.
    """

    def __init__(self, build_fn: Callable[[dict], Any], grid: Mapping, seeds: Sequence[int]):
        super().__init__(name="grid")
        self.build_fn = build_fn
        self.grid = _check_grid(grid)
        self.seeds = _check_seeds(seeds)

    def settings(self, hp) -> dict[str, Any]:
        """Declare the grid in ``hp``; return the trial's settings as a plain dict (no seed)."""
        settings = {name: hp.Choice(name, values) for name, values in self.grid.items()}
        hp.Choice(SEED, self.seeds)
        return settings

    def build(self, hp):
        """Seed everything with the trial's seed, then return ``build_fn(settings)``."""
        settings = self.settings(hp)
        keras.utils.set_random_seed(int(hp.get(SEED)))
        model = self.build_fn({k: v for k, v in settings.items() if k not in FIT_SETTINGS})
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"build_fn(settings) must return a compiled keras.Model, got {type(model).__name__}"
            )
        return model

    def fit(self, hp, model, *args, **kwargs):
        """``model.fit``, with ``epochs``/``batch_size`` from the settings when present."""
        kwargs.update({key: hp.get(key) for key in FIT_SETTINGS if key in self.grid})
        return model.fit(*args, **kwargs)


def grid_tuner(
    build_fn: Callable[[dict[str, Any]], Any],
    grid: Mapping[str, Sequence],
    directory: str | os.PathLike,
    project_name: str,
    objective: Any = "val_accuracy",
    seeds: Sequence[int] = (0, 1),
    overwrite: bool = False,
    **tuner_kwargs: Any,
) -> GridSearch:
    """Return a resumable :class:`GridSearch` over ``grid`` x ``seeds`` (one trial per combination).

    ``build_fn(settings) -> compiled keras.Model`` receives one value per grid key (Keras, NumPy and
    Python seeded with the trial's seed first); ``epochs`` and ``batch_size`` settings go to
    ``model.fit``. Values are int, float, str or bool, one type per setting. The trials live in
    ``directory/project_name``: ``overwrite=False`` reloads them and runs only the missing ones.
    ``objective`` is a metric name such as ``"val_accuracy"`` or a ``keras_tuner.Objective``;
    ``tuner_kwargs`` go to :class:`GridSearch` (``progress``, ``max_retries_per_trial``...).
    Run it with ``tuner.search(x, y, validation_data=(x_val, y_val), epochs=5, verbose=0)``.
    """
    if not callable(build_fn):
        raise TypeError(f"build_fn must be a function settings -> compiled model, got {build_fn!r}")
    hypermodel = GridHyperModel(build_fn, grid, seeds)
    if not isinstance(project_name, str) or not project_name:
        raise ValueError(f"project_name must be a non-empty string, got {project_name!r}")
    if directory is None or str(directory) == "":
        raise ValueError("directory must be a folder path, e.g. 'artifacts/tuning'")
    if isinstance(objective, (list, tuple)):
        raise TypeError("objective must be one metric name or keras_tuner.Objective, not a list")
    if tuner_kwargs.get("executions_per_trial", 1) != 1:
        raise ValueError(
            "executions_per_trial must stay 1: KerasTuner keeps only the average over "
            "executions; list the repetitions as seeds=(0, 1, ...) to keep one row per seed"
        )
    if "max_trials" in tuner_kwargs:
        raise ValueError(
            "max_trials is not supported: the grid decides the number of trials "
            "(and KerasTuner's trial ids change width with max_trials, which breaks resuming)"
        )
    return GridSearch(
        hypermodel=hypermodel,
        objective=objective,
        directory=str(directory),
        project_name=project_name,
        overwrite=bool(overwrite) and not is_worker(),
        **tuner_kwargs,
    )


# --------------------------------------------------------------------------- tables


def _setting_names(tuner) -> list[str]:
    grid = getattr(tuner.hypermodel, "grid", None)
    if grid:
        return list(grid)
    return [hp.name for hp in tuner.oracle.get_space().space if hp.name != SEED]


def _trial_row(tuner, trial, settings: Sequence[str], best_col: str) -> dict[str, Any]:
    """One row of :func:`trials_table`: settings, seed, score, curves, epochs, time, attempts."""
    values = trial.hyperparameters.values
    record = _read_json(Path(tuner.get_trial_dir(trial.trial_id)) / RECORD_FILE)
    attempts, history = record.get("attempts", []), record.get("history", {})
    row = {"trial_id": trial.trial_id, **{name: values.get(name) for name in settings}}
    row.update({SEED: values.get(SEED), "status": str(trial.status), best_col: trial.score})
    objective = best_col.removeprefix("best_")
    for metric in [objective] + sorted(k for k in history if k != objective):
        if metric in history:
            row[f"{metric}_curve"] = list(history[metric])
    row["n_epochs"] = max((len(v) for v in history.values()), default=0)
    row["wall_time_s"] = record.get("wall_time_s")
    row["attempts"] = len(attempts)
    row["tuner_id"] = attempts[-1]["tuner_id"] if attempts else None
    return row


def trials_table(tuner, completed_only: bool = True) -> pd.DataFrame:
    """Return a DataFrame with one row per trial of ``tuner`` (completed ones by default).

    Columns: ``trial_id``, one column per setting, ``seed``, ``status``, ``best_<objective>`` (the
    best epoch's value, KerasTuner's score), ``<metric>_curve`` (the per-epoch list of every metric
    ``fit`` logged, e.g. ``val_accuracy_curve``), ``n_epochs``, ``wall_time_s`` (build and fit of
    the last attempt, in seconds), ``attempts`` (2 for a trial retried after an interruption) and
    ``tuner_id``. ``df.attrs`` holds ``settings``, ``objective`` and ``metric`` (the ``best_``
    column) for :func:`summary_table` and the plots. Pass a :class:`GridSearch` of this process, or
    one rebuilt with ``overwrite=False`` on the same directory (e.g. after a distributed sweep).
    """
    if not hasattr(tuner.oracle, "trials"):
        raise TypeError(
            "tuner is a distributed worker (its oracle lives in the chief): build a tuner on the "
            "same directory with overwrite=False in a plain process and pass that one"
        )
    objective = getattr(tuner.oracle.objective, "name", None)
    if not objective:
        raise ValueError("the tuner has no single named objective (e.g. 'val_accuracy')")
    settings, best_col = _setting_names(tuner), f"best_{objective}"
    trials = [
        tuner.oracle.trials[t] for t in sorted(tuner.oracle.trials, key=lambda t: (len(t), t))
    ]
    rows = [
        _trial_row(tuner, trial, settings, best_col)
        for trial in trials
        if not completed_only or str(trial.status) == "COMPLETED"
    ]
    base = ["trial_id", *settings, SEED, "status", best_col]
    df = pd.DataFrame(rows, columns=None if rows else base)
    df.attrs.update(settings=settings, objective=objective, metric=best_col)
    return df


def _default_by(df, by) -> list[str]:
    if by is None:
        by = df.attrs.get("settings")
        if not by:
            raise ValueError("by is required: name the setting columns, e.g. by=['units']")
    elif isinstance(by, str):
        by = [by]
    by = list(by)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise KeyError(f"by names columns {missing} that df lacks; columns are {list(df.columns)}")
    return by


def summary_table(df, by: Sequence[str] | str | None = None, metric: str | None = None):
    """Return ``mean``, ``std`` (sample std, ddof=1; NaN for one seed) and ``n`` of ``metric`` per
    setting combination ``by`` (over the seeds), in the order the settings first appear.

    ``by`` defaults to every setting of the sweep and ``metric`` to ``best_<objective>``
    (both read from ``df.attrs``, which :func:`trials_table` fills in).
    """
    by = _default_by(df, by)
    metric = metric or df.attrs.get("metric")
    if not metric or metric not in df.columns:
        raise KeyError(f"metric {metric!r} is not a column of df; pick one of {list(df.columns)}")
    summary = (
        df.groupby(by, sort=False)[metric].agg(["mean", "std", "count"]).reset_index()
    ).rename(columns={"count": "n"})
    summary.attrs.update(by=by, metric=metric)
    return summary


# --------------------------------------------------------------------------- figures


def _metric_label(metric: str) -> str:
    if "accuracy" in metric:
        return f"{metric} (fraction correct)"
    if "loss" in metric:
        return f"{metric} (per sample)"
    return metric


def _curve_stack(curves: Sequence[Sequence[float]]) -> np.ndarray:
    """Runs of different lengths (early stopping) as one array, NaN after a run's last epoch."""
    stack = np.full((len(curves), max(len(c) for c in curves)), np.nan)
    for i, curve in enumerate(curves):
        stack[i, : len(curve)] = curve
    return stack


def plot_val_curves(df, by: Sequence[str] | str | None = None, metric: str | None = None):
    """Return a Figure of ``metric`` per epoch: one line per setting (mean over seeds) with a
    band of +-1 std across seeds.

    ``metric`` is a logged metric such as ``"val_accuracy"`` or ``"val_loss"`` (the table's
    ``<metric>_curve`` column); it defaults to the sweep's objective.
    """
    by = _default_by(df, by)
    metric = metric or df.attrs.get("objective")
    column = f"{metric}_curve"
    if not metric or column not in df.columns:
        curves = [c.removesuffix("_curve") for c in df.columns if str(c).endswith("_curve")]
        raise KeyError(f"metric {metric!r} has no per-epoch column; pick one of {curves}")
    if df.empty:
        raise ValueError("df has no trials: nothing to plot")
    fig, ax = pyplot().subplots(figsize=(7, 4.2))
    n_seeds = []
    for key, group in df.groupby(by, sort=False):
        curves = [list(c) for c in group[column] if isinstance(c, (list, tuple)) and len(c)]
        if not curves:
            continue
        stack = _curve_stack(curves)
        epochs, mean = np.arange(1, stack.shape[1] + 1), np.nanmean(stack, axis=0)
        label = _settings_text(dict(zip(by, key if isinstance(key, tuple) else (key,))))
        (line,) = ax.plot(epochs, mean, marker="o", markersize=3, label=label)
        if len(curves) > 1:
            std = np.nanstd(stack, axis=0, ddof=1)
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        n_seeds.append(len(curves))
    ax.set_xlabel("epoch")
    ax.set_ylabel(_metric_label(metric))
    seeds_text = f"{min(n_seeds)}" if n_seeds and min(n_seeds) == max(n_seeds) else "several"
    ax.set_title(f"{metric} per epoch: mean over {seeds_text} seeds, band = ±1 std")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", title=", ".join(by), title_fontsize="small")
    fig.tight_layout()
    return fig
