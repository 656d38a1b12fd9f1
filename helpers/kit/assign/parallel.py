"""Grade many submissions at once: worker processes on this machine, or a Dask cluster.

:func:`grade_all` sends each submission to a worker as BYTES (read before any submission runs),
together with the solution notebook's bytes, so no worker reads a path an instructor or a student
could change, and a worker on another machine needs only the kit installed. Each worker process
grades one submission at a time, in its own sandbox user (its slot: :func:`assign_slots`).

The engine is Dask distributed (``distributed.Client``): an existing cluster (``scheduler``, e.g.
``tcp://host:8786``) or a ``LocalCluster(n_workers=workers, threads_per_worker=1,
processes=True)``. A local cluster starts in about half a second here, and Dask already gives what
a plain process pool lacks: a worker that dies fails only its own task (``KilledWorker``) while the
nanny restarts it and the other submissions go on; the same code path serves a laptop and a cluster.
One worker (``workers=1``, no scheduler) grades in this process, one submission after another.

Results come back in submission order whatever the completion order; a submission whose worker
died, or whose cluster was lost, still gets a row (status ``worker_died``) saying so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path

from distributed import Client, KilledWorker, LocalCluster, as_completed
from tqdm.auto import tqdm

from helpers.kit.assign import grader as grading
from helpers.kit.assign import sandbox as sandboxing
from helpers.kit.assign.notebook import exercise_slice, exercises, is_setup_cell

_SLOT: int | None = None  # this worker process's sandbox slot, when the parent assigned one
_SOLUTIONS: dict[tuple[str, bool], grading.Solution] = {}  # parsed once per worker process


@dataclass(frozen=True)
class Settings:
    """What every submission of one run is graded with (sent once to each worker).

    ``solution_file`` is the solution notebook's file name (its stem names the assignment),
    ``solution_data`` its bytes; timeouts in seconds; ``sandbox`` None runs kernels unsandboxed.
    """

    solution_file: str
    solution_data: bytes
    whole_notebook: bool
    cell_timeout: float
    notebook_timeout: float
    sandbox: grading.Sandbox | None


def solution_from_bytes(file_name: str, data: bytes, whole_notebook: bool) -> grading.Solution:
    """Parse a solution notebook held in memory; the exercise slice unless ``whole_notebook``.

    The slice (:func:`~helpers.kit.assign.notebook.exercise_slice`: set-up, exercise, check and
    hidden cells) is taken only when the notebook marks set-up cells (``{"kit": {"setup": true}}``):
    without them the slice would drop the imports its checks need, so the whole notebook is run.
    """
    key = (hashlib.sha256(data).hexdigest(), whole_notebook)
    if key not in _SOLUTIONS:
        with tempfile.TemporaryDirectory(prefix="kit-solution-") as tmp:
            path = Path(tmp) / Path(file_name).name
            path.write_bytes(data)
            solution = grading.load_solution(path)
        if not whole_notebook and is_sliceable(solution):
            sliced = exercise_slice(solution.nb)
            solution = grading.Solution(solution.name, sliced, exercises(sliced), solution.manual)
        _SOLUTIONS[key] = solution
    return _SOLUTIONS[key]


def is_sliceable(solution: grading.Solution) -> bool:
    """Whether ``solution`` marks set-up cells, so that its exercise slice can run on its own."""
    return any(is_setup_cell(cell) for cell in solution.nb.cells)


def grade_job(settings: Settings, student: str, data: bytes) -> grading.SubmissionResult:
    """Grade one submission (its notebook's bytes) in this process; what each worker runs."""
    solution = solution_from_bytes(
        settings.solution_file, settings.solution_data, settings.whole_notebook
    )
    box = settings.sandbox
    if box is not None:
        reason = _cannot_sandbox(box.engine)
        if reason:
            return failed_row(solution, student, "error", f"{socket.gethostname()}: {reason}")
        box = dataclasses.replace(box, slot=worker_slot())
    return grading.grade_notebook(
        solution,
        Path(f"{student}.ipynb"),  # never read: the bytes are given
        student,
        settings.cell_timeout,
        settings.notebook_timeout,
        data,
        box,
    )


@functools.lru_cache(maxsize=2)
def _cannot_sandbox(engine: str) -> str | None:
    """Why this worker cannot sandbox a kernel with ``engine`` (probed once per process), or None."""
    if engine == "docker":
        reason = sandboxing.docker_missing_reason()
    else:
        reason = sandboxing.bwrap_missing_reason()
    return f"this worker cannot sandbox the kernel: {reason}" if reason else None


def failed_row(
    solution: grading.Solution, student: str, status: str, reason: str
) -> grading.SubmissionResult:
    """A row with 0 points on every exercise, ``status`` and ``reason``."""
    zero = {
        name: grading.ExerciseResult(name, 0, ex.points, False, reason)
        for name, ex in solution.exercises.items()
    }
    return grading.SubmissionResult(student, status, reason, zero)


def worker_slot() -> int:
    """This process's sandbox slot: the one :func:`assign_slots` gave it, else its pid's."""
    return sandboxing.process_slot() if _SLOT is None else _SLOT


def _set_slot(slot: int) -> int:
    global _SLOT
    _SLOT = slot
    return slot


def _host_and_pid() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def assign_slots(client: Client) -> dict[str, int]:
    """Give every worker of ``client`` a sandbox slot no other worker on its machine has.

    The default slot is ``pid % 1000``; two workers whose pids share it would share a sandbox
    user and reap each other's kernels. Returns ``{worker address: slot}``.
    """
    taken: dict[str, set[int]] = {}
    slots = {}
    for address, (host, pid) in sorted(client.run(_host_and_pid).items()):
        slot = pid % sandboxing.SLOTS
        used = taken.setdefault(host, set())
        while slot in used:
            slot = (slot + 1) % sandboxing.SLOTS
        used.add(slot)
        slots[address] = client.run(_set_slot, slot, workers=[address])[address]
    return slots


class ClusterUnavailable(RuntimeError):
    """The Dask scheduler given to grade could not be reached (the message says which and why)."""


def grade_all(
    settings: Settings,
    submissions: list[tuple[str, bytes]],
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    on_result: Callable[[grading.SubmissionResult], None] | None = None,
) -> list[grading.SubmissionResult]:
    """Grade ``[(student, notebook bytes), ...]``; return one row each, in the order given.

    ``scheduler`` (``tcp://host:8786``) grades on that Dask cluster; else ``workers`` processes
    of a local cluster (``workers=1``: here, one after another). ``progress`` shows a tqdm bar
    (done/total); ``on_result(row)`` is called in this process as each row arrives.
    """
    if scheduler is None and workers <= 1:
        return _grade_here(settings, submissions, progress, on_result)
    with _client(workers, scheduler) as client:
        return _grade_on(client, settings, submissions, progress, on_result)


def _grade_here(settings, submissions, progress, on_result) -> list[grading.SubmissionResult]:
    """Grade the submissions in this process, one after another."""
    results = []
    with _bar(len(submissions), progress) as bar:
        for student, data in submissions:
            results.append(grade_job(settings, student, data))
            if on_result is not None:
                on_result(results[-1])
            bar.update(1)
    return results


@contextlib.contextmanager
def _client(workers: int, scheduler: str | None):
    """Yield a Dask client: of the cluster at ``scheduler``, or of a local one of ``workers``."""
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, ValueError, TypeError) as err:
            raise ClusterUnavailable(
                f"--scheduler {scheduler}: cannot reach the Dask scheduler ({err}); start it with "
                "`dask scheduler` and its workers with `dask worker SCHEDULER_ADDRESS --nthreads 1`"
            ) from err
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: two graders at once never fight for 8787
        scheduler_port=0,
        silence_logs=logging.CRITICAL,  # shutdown races are noise: the rows say what failed
    )
    with cluster, Client(cluster) as client:
        yield client


def _grade_on(client, settings, submissions, progress, on_result):
    """Grade the submissions on ``client``'s workers; rows in the order of ``submissions``."""
    solution = solution_from_bytes(
        settings.solution_file, settings.solution_data, settings.whole_notebook
    )
    assign_slots(client)
    shared = client.scatter(settings, broadcast=True)
    futures = {
        client.submit(grade_job, shared, student, data, pure=False, key=f"grade-{i}"): i
        for i, (student, data) in enumerate(submissions)
    }
    results: list[grading.SubmissionResult | None] = [None] * len(submissions)
    try:
        with _bar(len(submissions), progress) as bar:
            for future in as_completed(futures):
                i = futures[future]
                results[i] = _outcome(future, solution, submissions[i][0])
                if on_result is not None:
                    on_result(results[i])
                bar.update(1)
    except KeyboardInterrupt:
        # a cancelled task's thread runs on: kill its kernel too
        client.cancel(list(futures), force=True)
        with contextlib.suppress(Exception):
            client.run(stop_kernels)  # then the workers are idle and the cluster closes at once
        raise
    return results


def stop_kernels() -> int:
    """Kill every process this worker started (its kernels and their sandboxes); return how many.

    Run on each worker (``client.run``) after Ctrl-C: without it a cancelled task goes on running
    its cell until the cell's timeout, and the cluster waits for it before it closes.
    """
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=10)
    return len(children)


def _outcome(future, solution: grading.Solution, student: str) -> grading.SubmissionResult:
    """The row a finished future gives: its result, or why its worker gave none."""
    try:
        return future.result()
    except (KilledWorker, CancelledError, OSError) as exc:  # OSError: CommClosedError too
        reason = (
            f"the worker grading this submission died or its cluster was lost "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); grade it again"
        )
        return failed_row(solution, student, "worker_died", reason)
    except Exception as exc:  # a bug in the grader: this row says so, the others go on
        return failed_row(solution, student, "error", f"grader error: {type(exc).__name__}: {exc}")


def _bar(total: int, progress: bool):
    """A tqdm progress bar over ``total`` submissions (hidden unless ``progress``)."""
    return tqdm(total=total, unit="submission", desc="grading", disable=not progress, leave=True)


def summary_line(result: grading.SubmissionResult, solution: grading.Solution) -> str:
    """One line per row for the end of a run: student, points, status, seconds, reason."""
    return (
        f"{result.student}: {result.total:g}/{solution.max_points:g} {result.status} "
        f"({result.seconds:.1f} s) {result.reason[:100]}"
    )
