"""helpers.kit.distributed: a real distributed KerasTuner sweep (a chief and 2 workers on
127.0.0.1), a worker that crashes, a timeout, bad arguments; the module stays free of TensorFlow."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from subprocess_testing import child_env

from helpers import tuning
from helpers.kit import distributed

REPO_ROOT = Path(__file__).resolve().parent.parent

# The sweep every process runs, in a module written to a temporary folder and imported there by
# `python -m helpers.kit.distributed kit_test_dist_sweeps:distributed_sweep <directory>`.
SWEEPS_MODULE = textwrap.dedent(
    '''
    """The sweep run by tests/test_distributed.py in a chief and its workers."""
    import os

    import numpy as np

    from helpers import tuning
    from helpers.kit.distributed import is_chief

    GRID = {"units": [2, 4]}


    def build(settings):
        import keras

        fail_role = os.environ.get("FAIL_ROLE")
        if fail_role and os.environ.get("KERASTUNER_TUNER_ID") == fail_role:
            os._exit(3)  # a worker that crashes in the middle of its first trial
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(settings["units"], activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
        return model


    def distributed_sweep(directory):
        tuner = tuning.grid_tuner(build, GRID, directory, "dist", seeds=(0, 1))
        if is_chief():
            tuner.search()  # serves the oracle; no data needed
            return
        rng = np.random.default_rng(0)
        x = rng.normal(size=(300, 8)).astype("float32")
        y = (x[:, 0] + x[:, 1] > 0).astype("float32")
        tuner.search(x, y, validation_split=0.2, epochs=1, batch_size=64, verbose=0)
    '''
)


@pytest.fixture(scope="module")
def sweeps_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweeps")
    (folder / "kit_test_dist_sweeps.py").write_text(SWEEPS_MODULE)
    return folder


def test_distributed_sweep_chief_and_two_workers(tmp_path, sweeps_dir):
    directory = tmp_path / "dist"
    run = distributed.run_distributed(
        "kit_test_dist_sweeps:distributed_sweep",
        [str(directory)],
        n_workers=2,
        timeout=150,
        cwd=sweeps_dir,
        env=child_env(),
        log_dir=tmp_path / "logs",
    )
    assert run.ok, run.logs
    assert set(run.returncodes) == {"chief", "tuner0", "tuner1"}
    assert all(code == 0 for role, code in run.returncodes.items() if role != "chief")
    assert all("Traceback" not in text for text in run.logs.values()), run.logs

    tuner = tuning.grid_tuner(lambda s: None, {"units": [2, 4]}, directory, "dist", seeds=(0, 1))
    df = tuning.trials_table(tuner)
    pairs = sorted(tuple(row) for row in df[["units", "seed"]].itertuples(index=False))
    assert pairs == [(2, 0), (2, 1), (4, 0), (4, 1)]
    assert set(df["status"]) == {"COMPLETED"}
    assert (df["attempts"] == 1).all()
    assert set(df["tuner_id"]) <= {"tuner0", "tuner1"}
    assert all(len(curve) == 1 for curve in df["val_accuracy_curve"])
    worker_lines = run.log("tuner0") + run.log("tuner1")
    assert len(re.findall(r"^trial [1-4]/4 ", worker_lines, flags=re.M)) == 4


def test_distributed_worker_crash_stops_everyone_with_a_clear_error(tmp_path, sweeps_dir):
    with pytest.raises(distributed.DistributedRunError) as info:
        distributed.run_distributed(
            "kit_test_dist_sweeps:distributed_sweep",
            [str(tmp_path / "dist")],
            n_workers=2,
            timeout=150,
            cwd=sweeps_dir,
            env=child_env(FAIL_ROLE="tuner1"),
            log_dir=tmp_path / "logs",
        )
    message = str(info.value)
    assert "tuner1 exited with code 3" in message
    assert "timed out" not in message
    codes = info.value.run.returncodes
    assert codes["tuner1"] == 3
    assert codes["chief"] is not None and codes["tuner0"] is not None  # nobody left running


def test_distributed_timeout_kills_everyone(tmp_path):
    script = tmp_path / "sleeper.py"
    script.write_text("import time\ntime.sleep(600)\n")
    run = distributed.run_distributed(
        script, n_workers=1, timeout=1.0, log_dir=tmp_path / "logs", check=False
    )
    assert not run.ok
    assert run.returncodes == {"chief": -15, "tuner0": -15}  # stopped by SIGTERM, not exited
    with pytest.raises(distributed.DistributedRunError, match="timed out after 1 s"):
        distributed.run_distributed(script, n_workers=1, timeout=1.0, log_dir=tmp_path / "logs")


@pytest.mark.parametrize("n_workers", [0, -1, 1.5, True])
def test_run_distributed_rejects_bad_n_workers(n_workers):
    with pytest.raises(ValueError, match="n_workers"):
        distributed.run_distributed("kit_test_dist_sweeps:distributed_sweep", n_workers=n_workers)


def test_run_distributed_rejects_bad_target_and_timeout(tmp_path):
    with pytest.raises(ValueError, match="target"):
        distributed.run_distributed("no_function_here")
    with pytest.raises(FileNotFoundError, match="missing.py"):
        distributed.run_distributed(str(tmp_path / "missing.py"))
    with pytest.raises(ValueError, match="timeout"):
        distributed.run_distributed("a:b", timeout=0)


def test_roles_from_kerastuner_environment(monkeypatch):
    for name in (distributed.ROLE_ENV, distributed.IP_ENV):
        monkeypatch.delenv(name, raising=False)
    assert not distributed.is_distributed() and not distributed.is_chief()
    monkeypatch.setenv(distributed.IP_ENV, "127.0.0.1")
    monkeypatch.setenv(distributed.ROLE_ENV, "chief")
    assert distributed.is_chief() and not distributed.is_worker()
    monkeypatch.setenv(distributed.ROLE_ENV, "tuner0")
    assert distributed.is_worker() and not distributed.is_chief()


def test_command_line_calls_the_function_and_reports_bad_targets(capsys):
    assert distributed.main(["os.path:exists", "."]) == 0
    assert distributed.main([]) == 2
    assert distributed.main(["os.path:no_such_function"]) == 2
    assert "no function" in capsys.readouterr().err


def test_import_stays_free_of_tensorflow():
    code = (
        "import sys, helpers.kit.distributed\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner', 'pandas', "
        "'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
