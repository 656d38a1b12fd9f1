"""Grading several submissions at once: worker processes, a Dask cluster, a killed worker, the slice.

Runs on the engine's small fixture notebook (pure NumPy, about 2 s a kernel), sandboxed as in a
real run (``./kit.sh test`` installs bubblewrap when it is missing). One folder of submissions is
graded with one worker first; the other runs must give the same CSV and feedback files.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dask
import nbformat
import psutil
import pytest
from assign_testing import FIXTURE, SCRIPT, with_answers
from assign_testing import exercise_answers as _answers
from distributed import Client, LocalCluster

from helpers.kit.assign import generate, grade
from helpers.kit.assign.sandbox import FIRST_UID, SLOTS

CELL_TIMEOUT = 20


def _write(student_nb, answers: dict[str, str], path: Path) -> None:
    nbformat.write(with_answers(student_nb, answers), path)


def _graded_files(out_csv: Path) -> dict[str, str]:
    """The CSV and every feedback file of a run, by name."""
    files = {"grades.csv": out_csv.read_text(encoding="utf-8")}
    for path in sorted((out_csv.parent / "feedback").glob("*.md")):
        files[path.name] = path.read_text(encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """An instructor folder and five submissions: solved, blank, half, not a notebook, looping."""
    root = tmp_path_factory.mktemp("parallel")
    (root / "instructor").mkdir()
    solution = root / "instructor" / "solution.ipynb"
    shutil.copyfile(FIXTURE, solution)
    student = nbformat.read(generate(solution, root / "release"), as_version=4)
    answers = _answers()
    subs = root / "submissions"
    subs.mkdir()
    _write(student, answers, subs / "a_solved.ipynb")
    _write(student, {}, subs / "b_blank.ipynb")
    _write(student, {"q2": answers["q2"]}, subs / "c_half.ipynb")
    (subs / "d_not_json.ipynb").write_text('{"cells": [', encoding="utf-8")
    _write(student, {"q1": answers["q1"], "q2": "while True:\n    pass"}, subs / "e_loop.ipynb")
    one = root / "one_worker" / "grades.csv"
    start = time.monotonic()
    grade(subs, solution, one, timeout=3, notebook_timeout=60, workers=1)
    print(f"one worker: {time.monotonic() - start:.1f} s")
    return {"root": root, "solution": solution, "subs": subs, "student": student, "one": one}


def test_the_one_worker_run_grades_each_kind(folder):
    lines = folder["one"].read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [
        "a_solved",
        "b_blank",
        "c_half",
        "d_not_json",
        "e_loop",
    ]
    totals = {line.split(",")[0]: line.split(",")[3] for line in lines[1:]}
    assert totals == {
        "a_solved": "5",
        "b_blank": "0",
        "c_half": "3",
        "d_not_json": "0",
        "e_loop": "2",
    }


def test_two_workers_give_the_same_csv_and_feedback_as_one(folder):
    two = folder["root"] / "two_workers" / "grades.csv"
    start = time.monotonic()
    grade(folder["subs"], folder["solution"], two, timeout=3, notebook_timeout=60, workers=2)
    print(f"two workers: {time.monotonic() - start:.1f} s")
    assert _graded_files(two) == _graded_files(folder["one"])


def test_a_dask_cluster_given_as_scheduler_grades_the_same(folder):
    out = folder["root"] / "dask" / "grades.csv"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        grade(
            folder["subs"],
            folder["solution"],
            out,
            timeout=3,
            notebook_timeout=60,
            scheduler=cluster.scheduler_address,
        )
    assert _graded_files(out) == _graded_files(folder["one"])


def _sandbox_users_running(slot: int) -> list[str]:
    found = subprocess.run(["pgrep", "-u", str(FIRST_UID + slot)], capture_output=True)
    return found.stdout.decode().split()


def test_a_killed_worker_gives_its_submission_a_row_that_says_so(folder):
    """The worker grading the looping submission is SIGKILLed: that row says so, the others are graded."""
    out = folder["root"] / "killed" / "grades.csv"
    with (
        dask.config.set(
            {"distributed.scheduler.allowed-failures": 0}
        ),  # no retry on another worker
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        run = threading.Thread(
            target=grade,
            args=(folder["subs"], folder["solution"], out),
            kwargs={
                "timeout": CELL_TIMEOUT,
                "notebook_timeout": 60,
                "scheduler": cluster.scheduler_address,
            },
        )
        run.start()
        pid = _pid_of_worker_running(client, "grade-4")  # e_loop, the fifth submission
        os.kill(pid, signal.SIGKILL)
        run.join(timeout=120)
        assert not run.is_alive()
    rows = {line.split(",")[0]: line for line in out.read_text(encoding="utf-8").splitlines()[1:]}
    assert ",0,0,0,5,worker_died," in rows["e_loop"]
    assert "the worker grading this submission died" in rows["e_loop"]
    assert rows["a_solved"].startswith("a_solved,2,3,5,5,ok,")
    time.sleep(1)
    assert _sandbox_users_running(pid % SLOTS) == []  # its kernel died with it


def _pid_of_worker_running(client: Client, key: str, seconds: float = 300) -> int:
    """The pid of the worker process running task ``key``, once it has run for 2 s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for address, keys in client.processing().items():
            if key in keys and client.run(_task_running, key, workers=[address])[address]:
                time.sleep(2)  # inside the endless cell by now
                return client.run(os.getpid, workers=[address])[address]
        time.sleep(0.2)
    raise AssertionError(f"no worker started {key} within {seconds} s")


def _task_running(key: str, dask_worker=None) -> bool:
    return key in {ts.key for ts in dask_worker.state.executing}


def test_the_exercise_slice_is_the_default(folder, tmp_path):
    """A cell outside the slice kills the kernel: graded only with --whole-notebook."""
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells[1].metadata["kit"] = {"setup": True}  # the imports
    nb.cells.insert(2, nbformat.v4.new_code_cell("import os\n\nos._exit(1)  # a training, say"))
    solution = tmp_path / "instructor" / "solution.ipynb"
    solution.parent.mkdir()
    nbformat.write(nb, solution)
    subs = tmp_path / "submissions"
    subs.mkdir()
    shutil.copyfile(folder["subs"] / "a_solved.ipynb", subs / "a_solved.ipynb")
    sliced = grade(subs, solution, tmp_path / "slice" / "grades.csv", timeout=3, workers=1)
    whole = grade(
        subs, solution, tmp_path / "whole" / "grades.csv", timeout=3, workers=1, whole_notebook=True
    )
    assert (sliced[0].status, sliced[0].total) == ("ok", 5)
    assert (whole[0].status, whole[0].total) == ("kernel_died", 0)


def test_ctrl_c_stops_the_workers_and_leaves_no_sandbox(folder, tmp_path):
    """SIGINT to `assignments.py grade --workers 2` while two kernels loop: exit 130, nothing left."""
    subs = tmp_path / "loops"
    subs.mkdir()
    for name in ("x", "y"):
        shutil.copyfile(folder["subs"] / "e_loop.ipynb", subs / f"{name}.ipynb")
    argv = [sys.executable, str(SCRIPT), "grade", str(subs), str(folder["solution"])]
    argv += [str(tmp_path / "grades.csv"), "--workers", "2", "--timeout", "300"]
    run = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    sandboxes = _sandboxes_of(psutil.Process(run.pid), count=2)
    time.sleep(3)  # in the endless cells by now
    run.send_signal(signal.SIGINT)
    try:
        _, stderr = run.communicate(timeout=120)  # a loaded CI machine stops its kernels slowly
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        _, stderr = run.communicate()
        pytest.fail(f"grade did not exit within 120 s of SIGINT: {stderr.decode()[-1500:]}")
    assert run.returncode == 130, stderr.decode()[-500:]
    assert "interrupted: no grades written" in stderr.decode()
    # the sandboxes die with their worker (bwrap --die-with-parent): give them a few seconds
    _, alive = psutil.wait_procs(sandboxes, timeout=20)
    assert [p.pid for p in alive] == []
    assert not (tmp_path / "grades.csv").exists()


def _sandboxes_of(
    process: psutil.Process, count: int, seconds: float = 300
) -> list[psutil.Process]:
    """The outer bubblewrap process of each of ``count`` sandboxes under ``process``, once started."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = [p for p in process.children(recursive=True) if p.name() == "bwrap"]
            outer = [p for p in found if p.parent().name() != "bwrap"]
        except psutil.NoSuchProcess:  # a process ended while we looked
            continue
        if len(outer) >= count:
            return outer
        time.sleep(0.5)
    raise AssertionError(f"{count} sandboxes did not start within {seconds} s")
