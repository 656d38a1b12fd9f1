"""Hyper-parameter sweeps on KerasTuner: a resumable grid of settings x seeds, tables, figures.

``grid_tuner(build_fn, {"units": [32, 64], "learning_rate": [1e-3, 1e-2]}, directory, "study")``
returns a KerasTuner ``GridSearch`` in which every combination of the grid values and every seed is
one trial; ``build_fn(settings)`` receives a plain dict such as ``{"units": 32, "learning_rate":
0.001}`` after ``keras.utils.set_random_seed(seed)`` and returns a compiled Keras model. Run it with
``tuner.search(x, y, validation_data=..., epochs=...)`` as any tuner; ``epochs`` and ``batch_size``
may also be grid settings. The per-seed results come back as a DataFrame
(:func:`trials_table`), averaged over seeds by :func:`summary_table`, and drawn by
:func:`plot_val_curves` and :func:`plot_mean_std_bars`.

Seeds are a grid hyper-parameter rather than ``executions_per_trial`` because KerasTuner keeps only
the average over executions; here each seed is its own row.

The search resumes after an interruption (a killed process, a kernel restart, Ctrl+C): a new tuner
with ``overwrite=False`` on the same directory retries the interrupted trial and runs the remaining
grid points once each. Stock ``GridSearch`` crashes there with ``KeyError: '0001'``
(keras-team/keras-tuner#1055) because its grid bookkeeping is not saved; the kit's
``ResumableGridSearchOracle`` rebuilds it from the reloaded trials.

:func:`run_distributed` runs one sweep on one machine with a chief and N worker processes
(KerasTuner's gRPC mode), each under a hard timeout, so a dead worker cannot hang the notebook.
``python -m helpers.tuning package.module:function [args...]`` is the command each process runs.

KerasTuner, Keras and TensorFlow are imported on first use: ``import helpers.tuning`` stays light.
The KerasTuner classes ``ResumableGridSearch``, ``ResumableGridSearchOracle`` and
``GridHyperModel`` are built on first attribute access (``helpers.tuning.ResumableGridSearch``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

SEED = "seed"  # the name of the seed hyper-parameter in every trial
FIT_SETTINGS = ("epochs", "batch_size")  # grid settings given to model.fit instead of build_fn
RECORD_FILE = "kit_record.json"  # per-trial side file: attempts, per-epoch history, wall time
ROLE_ENV = "KERASTUNER_TUNER_ID"
IP_ENV = "KERASTUNER_ORACLE_IP"
PORT_ENV = "KERASTUNER_ORACLE_PORT"
LOCALHOST = "127.0.0.1"
_LAZY_NAMES = ("ResumableGridSearch", "ResumableGridSearchOracle", "GridHyperModel")
_LAZY: dict[str, type] = {}
_REPO_ROOT = Path(__file__).resolve().parent.parent


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


# --------------------------------------------------------------------------- distributed roles


def is_distributed() -> bool:
    """True in a process started by :func:`run_distributed` (KerasTuner's chief/worker env vars)."""
    return IP_ENV in os.environ


def is_chief() -> bool:
    """True in the chief process of a distributed sweep: it serves the oracle and needs no data."""
    return is_distributed() and "chief" in os.environ.get(ROLE_ENV, "")


def _is_worker() -> bool:
    return is_distributed() and not is_chief()


# --------------------------------------------------------------------------- small file helpers


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_json(path: Path, payload: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


def _as_evaluation(result: Any) -> dict[str, float]:
    """``evaluate_fn``'s result as ``{column: float}``; a lone number becomes ``test_score``."""
    if isinstance(result, Mapping):
        out = {}
        for key, value in result.items():
            try:
                out[str(key)] = float(value)
            except (TypeError, ValueError):
                raise TypeError(
                    f"evaluate_fn must return a number or a dict of numbers; {key!r} is {value!r}"
                ) from None
        return out
    try:
        return {"test_score": float(result)}
    except (TypeError, ValueError):
        raise TypeError(
            "evaluate_fn must return a number or a dict of numbers such as "
            f"{{'test_accuracy': 0.97}}, got {result!r}"
        ) from None


def _settings_text(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


# --------------------------------------------------------------------------- KerasTuner classes


def _kt_classes() -> dict[str, type]:
    """Define the KerasTuner subclasses on first use (keeps ``import helpers.tuning`` light)."""
    if _LAZY:
        return _LAZY
    import keras
    import keras_tuner as kt

    class ResumableGridSearchOracle(kt.oracles.GridSearchOracle):
        """A ``GridSearchOracle`` that resumes after an interruption (keras-tuner issue #1055).

        The stock oracle keeps the grid order of the trials (``_ordered_ids``, a linked list) and
        the queue of trials whose successor is still to be generated (``_populate_next``) only in
        memory. After a reload both are empty: the first trial that ends raises ``KeyError`` in
        ``populate_space`` (its id is not in the list), and a sweep stopped between trials never
        continues (an empty queue means "finished"). ``reload`` rebuilds both from the reloaded
        trials: the list sorted in grid order, and every trial queued once. ``populate_space``
        then skips every successor already in the list, so each grid point still runs once.
        """

        def reload(self):
            """Reload the trials and the oracle state, then rebuild the grid bookkeeping."""
            super().reload()
            # A trial saved as RUNNING but absent from the reloaded ongoing trials (the process
            # died between the two writes of create_trial) is retried like an ongoing one.
            for trial_id, trial in self.trials.items():
                if trial.status == "RUNNING" and trial_id not in self._retry_queue:
                    self._retry_queue.append(trial_id)
            self.rebuild_grid_order()

        def rebuild_grid_order(self):
            """Rebuild ``_ordered_ids`` and ``_populate_next`` from ``self.trials``."""
            import functools

            def compare(a, b):
                return self._compare(
                    self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values
                )

            ordered = sorted(self.trials, key=functools.cmp_to_key(compare))
            self._ordered_ids = type(self._ordered_ids)()  # the stock (private) linked list
            for trial_id in ordered:
                self._ordered_ids.insert(trial_id)
            self._populate_next = list(ordered)

    class GridHyperModel(kt.HyperModel):
        """The grid as a ``HyperModel``: one ``Choice`` per setting plus ``seed``.

        ``build`` seeds Keras, NumPy and Python with the trial's seed, then calls
        ``build_fn(settings)``; ``fit`` passes ``epochs``/``batch_size`` settings to ``model.fit``
        and, if given, stores ``evaluate_fn(model)`` (after the last epoch) in ``last_evaluation``.
        """

        def __init__(self, build_fn, grid, seeds, evaluate_fn=None):
            super().__init__(name="grid")
            self.build_fn = build_fn
            self.grid = _check_grid(grid)
            self.seeds = _check_seeds(seeds)
            self.evaluate_fn = evaluate_fn
            self.last_evaluation = None

        @property
        def n_trials(self) -> int:
            """Number of trials: every combination of the grid values times every seed."""
            return math.prod(len(v) for v in self.grid.values()) * len(self.seeds)

        def declare_hyperparameters(self, hp):
            """Register one ``Choice`` per setting in grid order, then ``seed`` (varies fastest)."""
            for name, values in self.grid.items():
                hp.Choice(name, values)
            hp.Choice(SEED, self.seeds)

        def settings(self, hp) -> dict[str, Any]:
            """The trial's settings as a plain dict (without the seed)."""
            return {name: hp.get(name) for name in self.grid}

        def build(self, hp):
            """Seed everything with the trial's seed, then return ``build_fn(settings)``."""
            self.declare_hyperparameters(hp)
            keras.utils.set_random_seed(int(hp.get(SEED)))
            model = self.build_fn(self.settings(hp))
            if not isinstance(model, keras.Model):
                raise TypeError(
                    "build_fn(settings) must return a compiled keras.Model, "
                    f"got {type(model).__name__}"
                )
            return model

        def fit(self, hp, model, *args, **kwargs):
            """``model.fit``, with ``epochs``/``batch_size`` from the settings when present."""
            for key in FIT_SETTINGS:
                if key in self.grid:
                    kwargs[key] = hp.get(key)
            self.last_evaluation = None
            history = model.fit(*args, **kwargs)
            if self.evaluate_fn is not None:
                self.last_evaluation = _as_evaluation(self.evaluate_fn(model))
            return history

    class ResumableGridSearch(kt.GridSearch):
        """``GridSearch`` with the resumable oracle and a record of every trial.

        Each trial writes ``kit_record.json`` in its trial directory (the start of every attempt
        with the tuner id, the per-epoch ``History`` of the run, its wall time and the optional
        ``evaluate_fn`` result), which :func:`trials_table` reads back: it survives reloads and
        distributed runs, where workers write it and the chief writes ``trial.json`` beside it.
        With ``progress=True`` each finished trial prints one line, e.g.
        ``trial 3/8 {'units': 8} seed=0: val_accuracy 0.9812 in 4.1 s``.
        Same arguments as ``keras_tuner.GridSearch``, plus ``progress``.
        """

        def __init__(
            self,
            hypermodel=None,
            objective=None,
            max_trials=None,
            seed=None,
            hyperparameters=None,
            tune_new_entries=True,
            allow_new_entries=True,
            max_retries_per_trial=0,
            max_consecutive_failed_trials=3,
            progress=True,
            **kwargs,
        ):
            self.seed = seed
            self.progress = progress
            oracle = ResumableGridSearchOracle(
                objective=objective,
                max_trials=max_trials,
                seed=seed,
                hyperparameters=hyperparameters,
                tune_new_entries=tune_new_entries,
                allow_new_entries=allow_new_entries,
                max_retries_per_trial=max_retries_per_trial,
                max_consecutive_failed_trials=max_consecutive_failed_trials,
            )
            # Skip GridSearch.__init__, which would build the stock oracle.
            kt.Tuner.__init__(self, oracle, hypermodel, **kwargs)
            # KerasTuner reloads only when this process's tuner file (e.g. tuner0.json) exists;
            # after a distributed run or under another tuner id, reload from oracle.json alone.
            oracle_file = Path(self.project_dir) / "oracle.json"
            overwrite = kwargs.get("overwrite", False)
            if not overwrite and not self._is_worker() and not self.oracle.trials:
                if oracle_file.exists():
                    self.oracle.reload()

        def _populate_initial_space(self):
            # A GridHyperModel declares its space without building a model (the stock tuner
            # builds one here, which the chief of a distributed sweep does not need).
            if isinstance(self.hypermodel, GridHyperModel):
                hp = self.oracle.get_space()
                self.hypermodel.declare_hyperparameters(hp)
                self.oracle.update_space(hp)
            else:
                super()._populate_initial_space()

        def run_trial(self, trial, *args, **kwargs):
            """Run the trial as ``GridSearch`` does and record it in ``kit_record.json``."""
            path = Path(self.get_trial_dir(trial.trial_id)) / RECORD_FILE
            record = _read_json(path)
            record.setdefault("attempts", []).append(
                {"tuner_id": self.tuner_id, "pid": os.getpid(), "started": time.time()}
            )
            for key in ("history", "wall_time_s", "evaluation"):
                record.pop(key, None)
            _write_json(path, record)
            start = time.perf_counter()
            results = super().run_trial(trial, *args, **kwargs)
            wall = time.perf_counter() - start
            last = results[-1] if isinstance(results, list) and results else results
            history = getattr(last, "history", None) or {}
            record["history"] = {k: [float(v) for v in vals] for k, vals in history.items()}
            record["wall_time_s"] = wall
            record["evaluation"] = getattr(self.hypermodel, "last_evaluation", None)
            _write_json(path, record)
            if self.progress:
                print(self._progress_line(trial, record["history"], wall), flush=True)
            return results

        def _progress_line(self, trial, history, wall):
            values = dict(trial.hyperparameters.values)
            seed = values.pop(SEED, None)
            total = getattr(self.hypermodel, "n_trials", None)
            try:
                number = f"{int(trial.trial_id) + 1}"
            except ValueError:
                number = str(trial.trial_id)
            head = f"trial {number}/{total}" if total else f"trial {number}"
            objective = self.oracle.objective
            name = getattr(objective, "name", "objective")
            curve = history.get(name)
            if curve:
                best = max(curve) if objective.direction == "max" else min(curve)
                result = f"{name} {best:.4f}"
            else:
                result = f"{name} n/a"
            seed_text = f" seed={seed}" if seed is not None else ""
            return f"{head} {values}{seed_text}: {result} in {wall:.1f} s"

    _LAZY.update(
        ResumableGridSearch=ResumableGridSearch,
        ResumableGridSearchOracle=ResumableGridSearchOracle,
        GridHyperModel=GridHyperModel,
    )
    return _LAZY


def __getattr__(name: str):
    """Build ``ResumableGridSearch``, ``ResumableGridSearchOracle``, ``GridHyperModel`` lazily."""
    if name in _LAZY_NAMES:
        return _kt_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- the grid tuner


def grid_tuner(
    build_fn: Callable[[dict[str, Any]], Any],
    grid: Mapping[str, Sequence],
    directory: str | os.PathLike,
    project_name: str,
    objective: Any = "val_accuracy",
    seeds: Sequence[int] = (0, 1),
    overwrite: bool = False,
    evaluate_fn: Callable[[Any], Any] | None = None,
    progress: bool = True,
    **tuner_kwargs: Any,
):
    """Return a resumable grid-search tuner over ``grid`` x ``seeds`` (one trial per combination).

    Args:
        build_fn: ``build_fn(settings) -> compiled keras.Model``; ``settings`` is a dict with one
            value per grid key. Keras, NumPy and Python are seeded with the trial's seed first.
        grid: ``{setting name: [values]}``; values are int, float, str or bool (one type per
            setting). ``epochs`` and ``batch_size`` settings go to ``model.fit``.
        directory, project_name: where KerasTuner keeps the trials (``directory/project_name``).
        objective: the metric to maximise or minimise, e.g. ``"val_accuracy"`` or
            ``"val_loss"``, or a ``keras_tuner.Objective``.
        seeds: the seeds each combination is trained with (each seed is a separate trial).
        overwrite: ``False`` (default) reloads an existing sweep and runs only the missing trials;
            ``True`` deletes it first. Ignored (kept ``False``) in a distributed worker.
        evaluate_fn: optional ``evaluate_fn(model)`` after the last epoch, returning a number
            (column ``test_score``) or a dict such as ``{"test_accuracy": 0.97}``.
        progress: print one line per finished trial.
        **tuner_kwargs: more ``keras_tuner.GridSearch`` arguments (``max_retries_per_trial``...).

    Run it with ``tuner.search(x, y, validation_data=(x_val, y_val), epochs=5, verbose=0)``.
    """
    if not callable(build_fn):
        raise TypeError(f"build_fn must be a function settings -> compiled model, got {build_fn!r}")
    grid, seeds = _check_grid(grid), _check_seeds(seeds)
    if not isinstance(project_name, str) or not project_name:
        raise ValueError(f"project_name must be a non-empty string, got {project_name!r}")
    if directory is None or str(directory) == "":
        raise ValueError("directory must be a folder path, e.g. 'artifacts/tuning'")
    if evaluate_fn is not None and not callable(evaluate_fn):
        raise TypeError(f"evaluate_fn must be a function model -> metrics, got {evaluate_fn!r}")
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
    classes = _kt_classes()
    hypermodel = classes["GridHyperModel"](build_fn, grid, seeds, evaluate_fn)
    return classes["ResumableGridSearch"](
        hypermodel=hypermodel,
        objective=objective,
        directory=str(directory),
        project_name=project_name,
        overwrite=bool(overwrite) and not _is_worker(),
        progress=progress,
        **tuner_kwargs,
    )


# --------------------------------------------------------------------------- tables


def _objective_name(tuner) -> str:
    objective = tuner.oracle.objective
    name = getattr(objective, "name", None)
    if not name:
        raise ValueError("the tuner has no single named objective (e.g. 'val_accuracy')")
    return name


def _setting_names(tuner) -> list[str]:
    grid = getattr(tuner.hypermodel, "grid", None)
    if grid:
        return list(grid)
    return [hp.name for hp in tuner.oracle.get_space().space if hp.name != SEED]


def trials_table(tuner, completed_only: bool = True):
    """Return a DataFrame with one row per trial of ``tuner`` (completed ones by default).

    Columns: ``trial_id``, one column per setting, ``seed``, ``status``, ``best_<objective>`` (the
    best epoch's value, KerasTuner's score), ``<metric>_curve`` (the per-epoch list of every
    metric ``fit`` logged, e.g. ``val_accuracy_curve``), ``n_epochs``, ``wall_time_s`` (build,
    fit and evaluate of the last attempt), ``attempts`` (how many times the trial was started: 2
    for a trial retried after an interruption), ``tuner_id`` (the process that ran it),
    and the ``evaluate_fn`` columns when one was given. ``df.attrs`` holds ``settings``,
    ``objective`` and ``metric`` (the ``best_`` column) for :func:`summary_table` and the plots.

    Use it in the process that ran the sweep, or on a tuner rebuilt with ``overwrite=False`` on
    the same directory (for example after :func:`run_distributed`).
    """
    import pandas as pd

    oracle = tuner.oracle
    if not hasattr(oracle, "trials"):
        raise TypeError(
            "tuner is a distributed worker (its oracle lives in the chief): build a tuner on the "
            "same directory with overwrite=False in a plain process and pass that one"
        )
    objective = _objective_name(tuner)
    settings = _setting_names(tuner)
    best_col = f"best_{objective}"
    rows = []
    for trial_id in sorted(oracle.trials, key=lambda t: (len(t), t)):  # '9' before '10'
        trial = oracle.trials[trial_id]
        status = str(trial.status)
        if completed_only and status != "COMPLETED":
            continue
        values = trial.hyperparameters.values
        record = _read_json(Path(tuner.project_dir) / f"trial_{trial_id}" / RECORD_FILE)
        attempts = record.get("attempts", [])
        history = record.get("history", {})
        row = {"trial_id": trial_id}
        row.update({name: values.get(name) for name in settings})
        row[SEED] = values.get(SEED)
        row["status"] = status
        row[best_col] = trial.score
        ordered = [objective] + sorted(k for k in history if k != objective)
        for metric in ordered:
            if metric in history:
                row[f"{metric}_curve"] = list(history[metric])
        row["n_epochs"] = max((len(v) for v in history.values()), default=0)
        row["wall_time_s"] = record.get("wall_time_s")
        row["attempts"] = len(attempts)
        row["tuner_id"] = attempts[-1]["tuner_id"] if attempts else None
        row.update(record.get("evaluation") or {})
        rows.append(row)
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


def plot_val_curves(df, by: Sequence[str] | str | None = None, metric: str | None = None):
    """Return a Figure of ``metric`` per epoch: one line per setting (mean over seeds) with a
    band of +-1 std across seeds.

    ``metric`` is a logged metric such as ``"val_accuracy"`` or ``"val_loss"`` (the table's
    ``<metric>_curve`` column); it defaults to the sweep's objective. Runs of different lengths
    (early stopping) are averaged over the seeds that reached each epoch.
    """
    import numpy as np

    from helpers.figures import pyplot

    by = _default_by(df, by)
    metric = metric or df.attrs.get("objective")
    column = f"{metric}_curve"
    if not metric or column not in df.columns:
        curves = [c.removesuffix("_curve") for c in df.columns if str(c).endswith("_curve")]
        raise KeyError(f"metric {metric!r} has no per-epoch column; pick one of {curves}")
    if df.empty:
        raise ValueError("df has no trials: nothing to plot")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    n_seeds = []
    for key, group in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        curves = [list(c) for c in group[column] if isinstance(c, (list, tuple)) and len(c)]
        if not curves:
            continue
        length = max(len(c) for c in curves)
        stack = np.full((len(curves), length), np.nan)
        for i, curve in enumerate(curves):
            stack[i, : len(curve)] = curve
        epochs = np.arange(1, length + 1)
        mean = np.nanmean(stack, axis=0)
        label = _settings_text(dict(zip(by, key)))
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


def plot_mean_std_bars(summary, metric: str | None = None):
    """Return a Figure with one horizontal bar per setting: the mean of ``metric`` over seeds,
    a +-1 std error bar, and the value written as ``mean ± std (n=...)``.

    ``summary`` is :func:`summary_table`'s output (columns ``by``..., ``mean``, ``std``, ``n``).
    """
    import numpy as np

    from helpers.figures import pyplot

    for column in ("mean", "std", "n"):
        if column not in summary.columns:
            raise KeyError(f"summary lacks column {column!r}: pass summary_table(...)'s result")
    if summary.empty:
        raise ValueError("summary is empty: nothing to plot")
    by = summary.attrs.get("by") or [c for c in summary.columns if c not in ("mean", "std", "n")]
    metric = metric or summary.attrs.get("metric") or "metric"
    # itertuples keeps each column's type (iterrows would print units=2 as units=2.0)
    labels = [_settings_text(dict(zip(by, row))) for row in summary[by].itertuples(index=False)]
    means = summary["mean"].to_numpy(dtype=float)
    stds = np.nan_to_num(summary["std"].to_numpy(dtype=float))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.45 * len(summary)))
    y = np.arange(len(summary))
    ax.barh(y, means, xerr=stds, capsize=4, color="tab:blue", alpha=0.8)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()  # first setting on top
    right = float(np.nanmax(means + stds)) if len(means) else 1.0
    for yi, m, s, n in zip(y, means, stds, summary["n"]):
        ax.text(
            m + s + 0.01 * right,
            yi,
            f"{m:.4f} ± {s:.4f} (n={int(n)})" if int(n) > 1 else f"{m:.4f} (one seed)",
            va="center",
            fontsize="small",
        )
    ax.set_xlim(0, right * 1.35 if right > 0 else 1)  # room for the value labels
    ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= max(right, 0) * 1.02])  # no 1.2 ticks
    ax.set_xlabel(f"{_metric_label(metric)}: mean over seeds, bar = ±1 std")
    ax.set_title(f"{metric} per setting")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- distributed sweeps


class DistributedRunError(RuntimeError):
    """A distributed sweep failed or timed out; ``.run`` holds every process's code and log."""

    def __init__(self, message: str, run: DistributedRun):
        super().__init__(message)
        self.run = run


@dataclasses.dataclass
class DistributedRun:
    """The outcome of :func:`run_distributed`: exit codes and log files per role.

    ``returncodes`` maps ``"chief"``, ``"tuner0"``... to the exit code (negative: killed by that
    signal, as ``subprocess`` reports it); ``log_paths`` to each process's stdout+stderr file.
    ``chief_stopped`` is True when the chief was stopped after every worker had finished
    (KerasTuner's chief may wait up to 20 s more before it notices).
    """

    returncodes: dict[str, int | None]
    log_paths: dict[str, Path]
    port: int
    elapsed_s: float
    chief_stopped: bool = False

    @property
    def ok(self) -> bool:
        """True when every worker exited with 0 and the chief did too (or was stopped after)."""
        workers_ok = all(code == 0 for role, code in self.returncodes.items() if role != "chief")
        return workers_ok and (self.returncodes.get("chief") == 0 or self.chief_stopped)

    @property
    def logs(self) -> dict[str, str]:
        """Every process's log text."""
        return {role: self.log(role) for role in self.log_paths}

    def log(self, role: str) -> str:
        """The log text of one role ("chief", "tuner0", ...)."""
        return Path(self.log_paths[role]).read_text(errors="replace")

    def tail(self, role: str, lines: int = 15) -> str:
        """The last ``lines`` lines of one role's log."""
        return "\n".join(self.log(role).splitlines()[-lines:])


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port that is free now (the OS picks it for a socket bound to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _command(target: str, args: Sequence[str], python: str) -> list[str]:
    if not isinstance(target, (str, os.PathLike)) or not str(target):
        raise TypeError(
            f"target must be 'package.module:function' or a path to a .py script, got {target!r}"
        )
    target = str(target)
    if target.endswith(".py"):
        if not Path(target).is_file():
            raise FileNotFoundError(f"target script {target!r} does not exist")
        return [python, target, *map(str, args)]
    module, _, function = target.partition(":")
    if not module or not function:
        raise ValueError(
            f"target must be 'package.module:function' or a path to a .py script, got {target!r}"
        )
    return [python, "-m", "helpers.tuning", target, *map(str, args)]


def _stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Stop one child and everything it started (its own process group): TERM, then KILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_distributed(
    target: str | os.PathLike,
    args: Sequence[str] = (),
    n_workers: int = 2,
    timeout: float = 600.0,
    log_dir: str | os.PathLike | None = None,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    chief_grace: float = 30.0,
    check: bool = True,
    poll: float = 0.2,
) -> DistributedRun:
    """Run one sweep with a chief and ``n_workers`` workers on 127.0.0.1; return their codes/logs.

    Every process runs the same command: ``python -m helpers.tuning package.module:function
    *args`` (the function is called as ``function(*args)`` with string arguments) or
    ``python script.py *args``. ``run_distributed`` picks a fresh free port and sets
    ``KERASTUNER_TUNER_ID`` (``chief``, ``tuner0``, ``tuner1``...), ``KERASTUNER_ORACLE_IP`` and
    ``KERASTUNER_ORACLE_PORT``; the function builds its tuner with :func:`grid_tuner` and calls
    ``tuner.search(...)`` (the chief serves the oracle and needs no data: see :func:`is_chief`).

    No hang: every process runs in its own process group; as soon as one exits with an error,
    or ``timeout`` seconds pass, all are stopped (TERM, then KILL). After every worker has
    finished, the chief gets ``chief_grace`` seconds to exit and is then stopped. The same
    happens on Ctrl+C. With ``check=True`` a failure raises :class:`DistributedRunError`
    (``.run`` holds the codes and logs); with ``check=False`` the run is returned.

    Logs go to ``log_dir`` (default: a new temporary folder), one ``<role>.log`` per process.
    """
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(
            f"n_workers must be an int >= 1 (workers besides the chief), got {n_workers!r}"
        )
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not isinstance(chief_grace, (int, float)) or chief_grace < 0:
        raise ValueError(f"chief_grace must be >= 0 seconds, got {chief_grace!r}")
    if isinstance(args, (str, bytes)):
        raise TypeError(f"args must be a list of strings, e.g. [str(directory)], got {args!r}")
    command = _command(target, args, sys.executable)
    log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="kt-dist-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_env = dict(os.environ if env is None else env)
    base_env.pop("TF_USE_LEGACY_KERAS", None)
    base_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    base_env["PYTHONUNBUFFERED"] = "1"
    paths = [str(_REPO_ROOT), *filter(None, base_env.get("PYTHONPATH", "").split(os.pathsep))]
    base_env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    base_env.update({IP_ENV: LOCALHOST, PORT_ENV: str(port)})

    roles = ["chief"] + [f"tuner{i}" for i in range(n_workers)]
    procs: dict[str, subprocess.Popen] = {}
    log_paths = {role: log_dir / f"{role}.log" for role in roles}
    start = time.monotonic()
    chief_stopped = False
    failure = None
    try:
        for role in roles:
            with open(log_paths[role], "w") as log:
                procs[role] = subprocess.Popen(
                    command,
                    cwd=None if cwd is None else str(cwd),
                    env={**base_env, ROLE_ENV: role},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # own process group: _stop kills its children too
                )
        workers_done_at = None
        while True:
            codes = {role: proc.poll() for role, proc in procs.items()}
            failed = [r for r, c in codes.items() if c not in (None, 0)]
            elapsed = time.monotonic() - start
            if failed:
                role = failed[0]
                failure = f"{role} exited with code {codes[role]} after {elapsed:.1f} s"
                break
            if all(c == 0 for c in codes.values()):
                break
            if all(codes[r] == 0 for r in roles[1:]):
                workers_done_at = workers_done_at or time.monotonic()
                if time.monotonic() - workers_done_at >= chief_grace:
                    chief_stopped = True
                    break
            if elapsed > timeout:
                running = [r for r, c in codes.items() if c is None]
                failure = f"timed out after {timeout:g} s with {', '.join(running)} still running"
                break
            time.sleep(poll)
    finally:
        for proc in procs.values():
            _stop(proc)
    run = DistributedRun(
        returncodes={role: proc.returncode for role, proc in procs.items()},
        log_paths=log_paths,
        port=port,
        elapsed_s=time.monotonic() - start,
        chief_stopped=chief_stopped,
    )
    if failure and check:
        culprit = failure.split(" ", 1)[0] if "exited" in failure else None
        stopped = [r for r, c in run.returncodes.items() if c is not None and c < 0]
        message = f"distributed sweep failed: {failure}; stopped {', '.join(stopped) or 'none'}"
        if culprit and culprit != "chief":
            message += " (the chief would have waited forever for that worker's trial)"
        message += ". Fix the error in the log below and run again; finished trials are kept."
        shown = [culprit] if culprit else list(roles)
        for role in shown:
            message += f"\n--- last lines of {log_paths[role]} ---\n{run.tail(role)}"
        raise DistributedRunError(message, run)
    return run


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.tuning package.module:function [args...]``: call ``function(*args)``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or ":" not in argv[0]:
        print(
            "usage: python -m helpers.tuning package.module:function [args...]",
            file=sys.stderr,
        )
        return 2
    module_name, _, function_name = argv[0].partition(":")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        print(f"{module_name} has no function {function_name!r}", file=sys.stderr)
        return 2
    function(*argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
