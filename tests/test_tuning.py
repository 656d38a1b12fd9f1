"""helpers.tuning: a resumable KerasTuner grid over settings x seeds, its tables and figures, and
notebook 04's way to use it (a build_model(hp) with a grid in kt.HyperParameters). Tiny Dense
models on 500 random rows. The distributed launcher is tested in tests/test_distributed.py."""

import contextlib
import io
import itertools
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from subprocess_testing import child_env

from helpers import tuning

REPO_ROOT = Path(__file__).resolve().parent.parent
GRID = {"units": [2, 4], "learning_rate": [0.01, 0.1]}
SEEDS = (0, 1)
FIT = {"epochs": 2, "batch_size": 64, "verbose": 0}

# The sweep that runs in a child process (killed mid-trial) lives in a module written to a
# temporary folder, imported there by `python -m helpers.kit.distributed module:function`.
SWEEPS_MODULE = textwrap.dedent(
    '''
    """Sweeps run by tests/test_tuning.py in child processes."""
    import os
    import signal

    import numpy as np

    from helpers import tuning

    KILL_GRID = {"units": [2, 4], "learning_rate": [0.01, 0.1]}
    BUILDS = {"n": 0}


    def data(n=300):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(n, 8)).astype("float32")
        return x, (x[:, 0] + x[:, 1] > 0).astype("float32")


    def build(settings):
        import keras

        BUILDS["n"] += 1
        if BUILDS["n"] == int(os.environ.get("KILL_AT_BUILD", "0")):
            os.kill(os.getpid(), signal.SIGKILL)  # the process dies while the trial runs
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(settings["units"], activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        lr = settings.get("learning_rate", 0.01)
        model.compile(keras.optimizers.Adam(lr), "binary_crossentropy", metrics=["accuracy"])
        return model


    def killed_sweep(directory):
        tuner = tuning.grid_tuner(build, KILL_GRID, directory, "killed", seeds=(0, 1))
        x, y = data()
        tuner.search(x, y, validation_split=0.2, epochs=1, batch_size=64, verbose=0)
    '''
)


def _data(n=500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    return x[:400], y[:400], x[400:], y[400:]


def _build(settings):
    import keras

    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(settings["units"], activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(settings["learning_rate"]),
        "binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _search(tuner):
    x, y, xv, yv = _data()
    tuner.search(x, y, validation_data=(xv, yv), **FIT)


def _combos(df, names):
    return sorted(tuple(row) for row in df[names].itertuples(index=False))


@pytest.fixture(scope="module")
def sweeps_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweeps")
    (folder / "kit_test_sweeps.py").write_text(SWEEPS_MODULE)
    return folder


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """One 2x2 grid x 2 seeds sweep, shared by the table, reload and figure tests."""
    directory = tmp_path_factory.mktemp("grid")
    tuner = tuning.grid_tuner(_build, GRID, directory, "grid", seeds=SEEDS, overwrite=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _search(tuner)
    return tuner, tuning.trials_table(tuner), out.getvalue(), directory


# --------------------------------------------------------------------------- grid, tables


def test_grid_runs_every_combination_once_with_its_seed(grid_run):
    tuner, df, _, _ = grid_run
    expected = sorted(itertools.product(GRID["units"], GRID["learning_rate"], SEEDS))
    assert len(df) == tuning.n_grid_trials(GRID, SEEDS) == 8
    assert _combos(df, ["units", "learning_rate", "seed"]) == expected
    assert list(df["trial_id"]) == [f"{i:04d}" for i in range(8)]
    assert set(df["status"]) == {"COMPLETED"}
    assert (df["attempts"] == 1).all()
    assert len(tuner.oracle.trials) == 8


def test_trials_table_columns_and_values(grid_run):
    _, df, _, _ = grid_run
    for column in [
        "trial_id",
        "units",
        "learning_rate",
        "seed",
        "status",
        "best_val_accuracy",
        "val_accuracy_curve",
        "val_loss_curve",
        "loss_curve",
        "wall_time_s",
        "attempts",
        "tuner_id",
    ]:
        assert column in df.columns, column
    assert df.attrs["settings"] == ["units", "learning_rate"]
    assert df.attrs["metric"] == "best_val_accuracy"
    for _, row in df.iterrows():
        assert len(row["val_accuracy_curve"]) == FIT["epochs"] == row["n_epochs"]
        assert row["best_val_accuracy"] == pytest.approx(max(row["val_accuracy_curve"]))
        assert row["wall_time_s"] > 0
        assert row["tuner_id"] == "tuner0"


def test_seed_makes_trials_reproducible(grid_run):
    """The seed is set before building: re-running one setting+seed gives the same curve."""
    _, df, _, directory = grid_run
    tuner = tuning.grid_tuner(
        _build, {"units": [4], "learning_rate": [0.1]}, directory, "again", seeds=(1,)
    )
    _search(tuner)
    again = tuning.trials_table(tuner).iloc[0]
    first = df[(df.units == 4) & (df.learning_rate == 0.1) & (df.seed == 1)].iloc[0]
    assert again["val_loss_curve"] == pytest.approx(first["val_loss_curve"], rel=1e-5)


def test_progress_line_per_trial(grid_run):
    _, _, printed, _ = grid_run
    pattern = re.compile(
        r"^trial [1-8]/8 \{'units': \d, 'learning_rate': 0\.\d+\} seed=[01]: "
        r"val_accuracy \d\.\d{4} in \d+\.\d s$"
    )
    lines = [line for line in printed.splitlines() if pattern.match(line)]
    assert len(lines) == 8, printed


def test_summary_table_mean_std_n_over_seeds(grid_run):
    _, df, _, _ = grid_run
    summary = tuning.summary_table(df)
    assert list(summary.columns) == ["units", "learning_rate", "mean", "std", "n"]
    assert len(summary) == 4
    assert (summary["n"] == 2).all()
    for _, row in summary.iterrows():
        values = df[(df.units == row.units) & (df.learning_rate == row.learning_rate)]
        values = values["best_val_accuracy"].to_numpy()
        assert row["mean"] == pytest.approx(values.mean())
        assert row["std"] == pytest.approx(values.std(ddof=1))
    by_units = tuning.summary_table(df, by="units", metric="wall_time_s")
    assert list(by_units["n"]) == [4, 4]
    assert by_units["mean"].iloc[0] == pytest.approx(df[df.units == 2]["wall_time_s"].mean())


def test_reload_runs_no_new_trial_and_gives_the_same_table(grid_run):
    _, df, _, directory = grid_run
    tuner = tuning.grid_tuner(_build, GRID, directory, "grid", seeds=SEEDS, overwrite=False)
    assert len(tuner.oracle.trials) == 8  # reloaded before searching
    _search(tuner)
    again = tuning.trials_table(tuner)
    assert len(tuner.oracle.trials) == 8
    assert tuner.n_reloaded == 8
    assert (again["attempts"] == 1).all()  # nothing was started again
    assert again.to_dict("list") == df.to_dict("list")


# --------------------------------------------------------------------------- resume (#1055)


def test_resume_after_kill_stock_crashes_and_kit_resumes(tmp_path, sweeps_dir):
    """keras-team/keras-tuner#1055: a process killed during trial 3 of 8 leaves trial 0002
    RUNNING. Stock GridSearch on that directory re-runs 0002, then raises KeyError('0002');
    the kit's tuner re-runs 0002 and runs the five missing points, each exactly once."""
    import keras_tuner as kt

    killed = tmp_path / "killed"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.kit.distributed",
            "kit_test_sweeps:killed_sweep",
            str(killed),
        ],
        cwd=sweeps_dir,
        env=child_env(KILL_AT_BUILD="4"),  # build 1: the tuner reads the space
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == -9, proc.stdout[-2000:] + proc.stderr[-2000:]
    statuses = {
        p.parent.name: p.read_text() for p in (killed / "killed").glob("trial_*/trial.json")
    }
    assert len(statuses) == 3 and '"RUNNING"' in statuses["trial_0002"]

    stock_dir, kit_dir = tmp_path / "stock", tmp_path / "kit"
    shutil.copytree(killed, stock_dir)
    shutil.copytree(killed, kit_dir)
    sys.path.insert(0, str(sweeps_dir))
    try:
        import kit_test_sweeps as sweeps
    finally:
        sys.path.remove(str(sweeps_dir))
    x, y = sweeps.data()
    fit = {"validation_split": 0.2, "epochs": 1, "batch_size": 64, "verbose": 0}

    hypermodel = tuning.GridHyperModel(sweeps.build, sweeps.KILL_GRID, (0, 1))
    stock = kt.GridSearch(
        hypermodel, objective="val_accuracy", directory=str(stock_dir), project_name="killed"
    )
    assert type(stock.oracle) is kt.oracles.GridSearchOracle
    with pytest.raises(KeyError, match="0002"):
        stock.search(x, y, **fit)

    tuner = tuning.grid_tuner(sweeps.build, sweeps.KILL_GRID, kit_dir, "killed", seeds=(0, 1))
    assert isinstance(tuner.oracle, tuning.ResumableGridSearchOracle)
    tuner.search(x, y, **fit)
    df = tuning.trials_table(tuner)
    expected = sorted(itertools.product([2, 4], [0.01, 0.1], [0, 1]))
    assert _combos(df, ["units", "learning_rate", "seed"]) == expected  # each point once
    assert len(tuner.oracle.trials) == 8
    assert set(df["status"]) == {"COMPLETED"}
    attempts = dict(zip(df["trial_id"], df["attempts"]))
    assert attempts.pop("0002") == 2  # started, killed, retried
    assert set(attempts.values()) == {1}


def test_resume_after_a_clean_stop_between_trials(tmp_path):
    """The other face of #1055: a sweep stopped between two trials (here by max_trials) has an
    empty queue after reloading, so stock GridSearch silently runs nothing more; the kit's
    tuner runs the missing grid points."""
    import keras_tuner as kt

    grid = {"units": [2, 4], "learning_rate": [0.1]}
    x, y, xv, yv = _data(n=500)
    fit = {"validation_data": (xv, yv), "epochs": 1, "batch_size": 128, "verbose": 0}
    first = tmp_path / "first"
    hypermodel = tuning.GridHyperModel(_build, grid, SEEDS)
    kt.GridSearch(
        hypermodel, "val_accuracy", max_trials=2, directory=str(first), project_name="p"
    ).search(x, y, **fit)
    shutil.copytree(first, tmp_path / "stock")
    shutil.copytree(first, tmp_path / "kit")

    stock = kt.GridSearch(
        hypermodel, "val_accuracy", directory=str(tmp_path / "stock"), project_name="p"
    )
    stock.search(x, y, **fit)
    assert len(stock.oracle.trials) == 2  # stopped for good: 2 of 4 grid points never ran

    tuner = tuning.grid_tuner(_build, grid, tmp_path / "kit", "p", seeds=SEEDS)
    tuner.search(x, y, **fit)
    df = tuning.trials_table(tuner)
    assert _combos(df, ["units", "seed"]) == [(2, 0), (2, 1), (4, 0), (4, 1)]
    # the 2 trials of the stock run have no kit record (0 attempts); the kit ran the other 2
    assert sorted(df["attempts"]) == [0, 0, 1, 1]
    assert len(tuner.oracle.trials) == 4


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"grid": {}}, ValueError, "grid is empty"),
        ({"grid": {"units": 8}}, TypeError, r"grid\['units'\] must be a list"),
        ({"grid": {"units": []}}, ValueError, r"grid\['units'\] is empty"),
        ({"grid": {"units": [8, "wide"]}}, TypeError, r"grid\['units'\] must hold values"),
        ({"grid": {"seed": [0, 1]}}, ValueError, "seeds="),
        ({"seeds": ()}, ValueError, "seeds must be"),
        ({"seeds": 3}, TypeError, "seeds must be"),
        ({"executions_per_trial": 3}, ValueError, "executions_per_trial"),
        ({"build_fn": "model"}, TypeError, "build_fn"),
        ({"project_name": ""}, ValueError, "project_name"),
    ],
)
def test_grid_tuner_bad_arguments_name_the_argument(tmp_path, kwargs, error, names):
    arguments = {"build_fn": _build, "grid": GRID, "directory": tmp_path, "project_name": "p"}
    arguments.update(kwargs)
    with pytest.raises(error, match=names):
        tuning.grid_tuner(**arguments)


# --------------------------------------------------------------------------- figures


def test_plot_val_curves_one_line_per_setting(grid_run):
    plt = pytest.importorskip("matplotlib.pyplot")
    _, df, _, _ = grid_run
    fig = tuning.plot_val_curves(df)
    try:
        ax = fig.axes[0]
        assert len(ax.get_lines()) == 4
        assert len(ax.collections) == 4  # one +-std band per setting (2 seeds each)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "units=2, learning_rate=0.01" in labels
        assert ax.get_xlabel() == "epoch" and "val_accuracy" in ax.get_ylabel()
        assert list(ax.get_lines()[0].get_xdata()) == [1, 2]
    finally:
        plt.close(fig)
    fig = tuning.plot_val_curves(df, by="units", metric="val_loss")
    try:
        assert len(fig.axes[0].get_lines()) == 2
        assert "val_loss" in fig.axes[0].get_title()
    finally:
        plt.close(fig)
    with pytest.raises(KeyError, match="val_auc"):
        tuning.plot_val_curves(df, metric="val_auc")


def test_plot_mean_std_dots_on_a_zoomed_axis(grid_run):
    plt = pytest.importorskip("matplotlib.pyplot")
    from helpers import figures

    _, df, _, _ = grid_run
    summary = tuning.summary_table(df)
    fig = figures.plot_mean_std(summary)
    try:
        ax = fig.axes[0]
        assert "best_val_accuracy" in ax.get_title()
        assert [t.get_text() for t in ax.get_yticklabels()][0] == "units=2, learning_rate=0.01"
        texts = [t.get_text() for t in ax.texts]
        assert len(texts) == 4 and all(" ± " in t and "(n=2)" in t for t in texts), texts
        low, high = ax.get_xlim()
        near = summary["mean"] >= summary["mean"].max() - 0.10
        assert low > 0 and low < (summary["mean"] - summary["std"])[near].min()  # zoomed, not 0
    finally:
        plt.close(fig)
    one_seed = summary.assign(std=float("nan"), n=1)
    fig = figures.plot_mean_std(one_seed)
    try:  # one seed has no spread: no "± 0.0000", the label says so
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert all("(one seed)" in t and "±" not in t for t in texts), texts
    finally:
        plt.close(fig)


def test_plot_mean_std_puts_a_failed_setting_at_the_edge():
    plt = pytest.importorskip("matplotlib.pyplot")
    import pandas as pd

    from helpers import figures

    summary = pd.DataFrame(
        {"lr": [0.1, 0.01], "mean": [0.10, 0.98], "std": [0.001, 0.002], "n": [3, 3]}
    )
    fig = figures.plot_mean_std(summary)
    try:
        ax = fig.axes[0]
        assert ax.get_xlim()[0] > 0.9  # the axis is about the good setting
        assert any(t.get_text().endswith("off the axis") for t in ax.texts)
    finally:
        plt.close(fig)
    with pytest.raises(KeyError, match="std"):
        figures.plot_mean_std(summary.drop(columns="std"))


# --------------------------------------------------------------------------- notebook 04's way


def test_build_model_hp_with_a_study_grid_and_the_baseline_elsewhere(tmp_path):
    """Notebook 04: build_model(hp) asks every setting with a default; a study's grid goes into
    kt.HyperParameters with the seeds and tune_new_entries=False keeps the other defaults."""
    import keras
    import keras_tuner as kt

    built = []

    def build_model(hp):
        keras.utils.set_random_seed(hp.Choice("seed", [0, 1], default=0))
        units = hp.Choice("units", [2, 4], default=2)
        learning_rate = hp.Choice("learning_rate", [0.01, 0.1], default=0.01)
        built.append((units, learning_rate))
        return _build({"units": units, "learning_rate": learning_rate})

    hp = kt.HyperParameters()
    hp.Choice("learning_rate", [0.01, 0.1])
    hp.Choice("seed", [0, 1])
    tuner = tuning.GridSearch(
        build_model,
        objective="val_accuracy",
        hyperparameters=hp,
        tune_new_entries=False,
        directory=str(tmp_path),
        project_name="study",
        progress=False,
    )
    _search(tuner)
    df = tuning.trials_table(tuner)
    assert df.attrs["settings"] == ["learning_rate"]
    assert _combos(df, ["learning_rate", "seed"]) == [(0.01, 0), (0.01, 1), (0.1, 0), (0.1, 1)]
    assert {units for units, _ in built} == {2}  # outside the grid: the default
    assert (df["n_epochs"] == FIT["epochs"]).all() and (df["wall_time_s"] > 0).all()
    assert tuner.n_reloaded == 0
    summary = tuning.summary_table(df)
    assert list(summary["n"]) == [2, 2]
