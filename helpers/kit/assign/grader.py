"""Grade a folder of submissions against a solution notebook; validate a solution notebook.

Each submission is graded on a notebook built from the SOLUTION's cell sequence: the student's
exercise cells (found by their ``kit`` metadata or ``# EXERCISE`` header) in place of the
solution's, and the instructor's own set-up, check and hidden-test cells. A student who deleted or
edited check cells is still graded by the real checks; cells a student added are not run.

The graded notebook runs in a fresh kernel (nbclient; the ``python3`` kernel spec, which
jupyter_client starts with the current interpreter, as ``scripts/run_notebooks.py`` does) with
``KIT_MODE=quick``, a timeout per cell and per notebook, ``allow_errors`` so one failed exercise
does not stop the others, and as working directory a fresh temporary folder holding only a copy of
the submission. The solution and every submission are read into memory before any submission
runs. By default each kernel runs in a sandbox (:mod:`helpers.kit.assign.sandbox`: bubblewrap, a
user of its own, no network, read-only system, the instructor's folders hidden, resource limits,
every process gone when it ends); without bubblewrap, grading refuses to start unless asked to run
unsandboxed, and every row then says so. The kernel runs the set-up and exercise cells only: the
check and hidden-test cells run in the grading process (:mod:`helpers.kit.assign.judge`), on
plain data asked of the kernel, so code in a submission cannot forge a verdict (README, "Threat
model").

Points are all or nothing per exercise: full points when its exercise cell(s) and every visible
and hidden check cell ran without an error, else 0.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import os
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.kit.assign import judge, parallel
from helpers.kit.assign import sandbox as sandboxing
from helpers.kit.assign.notebook import (
    Exercise,
    FormatError,
    cell_role,
    cell_source,
    exercise_slice,
    exercises,
    from_nbgrader,
    is_nbgrader,
    is_setup_cell,
    read_notebook,
    student_notebook,
    to_kit,
)

DEFAULT_LIMITS = sandboxing.Limits()
DEFAULT_CELL_TIMEOUT = 60.0
DEFAULT_NOTEBOOK_TIMEOUT = 600.0
KERNEL_NAME = "python3"  # like scripts/run_notebooks.py; "python" in its argv = sys.executable
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STATUSES = (
    "ok",
    "timeout",
    "kernel_died",
    "invalid_notebook",
    "no_exercises",
    "tampered",
    "error",
    "worker_died",  # set by helpers.kit.assign.parallel
)


class SandboxUnavailable(RuntimeError):
    """Grading was asked to sandbox the kernels and cannot (the message says why and what to do)."""


@dataclass(frozen=True)
class Sandbox:
    """How to sandbox a kernel: the instructor's folders to hide, the limits, the worker slot."""

    hidden: tuple[Path, ...] = ()
    limits: sandboxing.Limits = DEFAULT_LIMITS
    slot: int = 0
    engine: str = "bwrap"  # or "docker" (where bubblewrap is missing)


@dataclass
class CellResult:
    """The outcome of one cell of a graded notebook."""

    role: str  # exercise, check, hidden or setup
    exercise: str | None
    status: str = "not_run"  # ok, error, timeout, not_run
    message: str = ""
    points: float | None = None  # a check cell's own points (partial credit), else None


@dataclass
class ExerciseResult:
    name: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class SubmissionResult:
    """One row of the grades CSV."""

    student: str
    status: str
    reason: str = ""
    exercises: dict[str, ExerciseResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sandbox: str = "none"  # the sandbox the kernel ran in: "bwrap", "docker" or "none"

    @property
    def total(self) -> float:
        return sum(r.points for r in self.exercises.values())


@dataclass
class Solution:
    """A solution notebook held in memory: the grader never reads its file again."""

    name: str
    nb: Any
    exercises: dict[str, Exercise]
    manual: list[str] = field(default_factory=list)  # parts graded by hand (nbgrader)

    @property
    def max_points(self) -> float:
        return sum(ex.points for ex in self.exercises.values())


def load_solution(path: str | Path) -> Solution:

    path = Path(path)
    nb, manual = to_kit(read_notebook(path), path.name)  # kit, nbgrader or otter markup
    found = exercises(nb)
    if not found:
        raise FormatError(
            f'{path}: no exercise cells (mark them with {{"kit": {{"exercise": ...}}}}, '
            "'# EXERCISE q1', nbgrader's autograded answer cells or otter's questions)"
        )
    return Solution(path.stem, nb, found, manual)


def find_solution(source: str | Path, assignment: str | None = None) -> Solution:
    """The solution notebook ``source``, or the one in folder ``source`` (named ``assignment``)."""
    source = Path(source)
    if source.is_file():
        return load_solution(source)
    candidates = []
    for path in sorted(source.glob("*.ipynb")):
        try:
            solution = load_solution(path)
        except Exception:  # notebooks without (valid) exercises are not candidates
            continue
        if assignment is None or assignment in (path.stem, path.name):
            candidates.append(solution)
    if len(candidates) != 1:
        names = ", ".join(s.name for s in candidates) or "none"
        raise FormatError(
            f"{source}: expected one solution notebook with exercises"
            f"{f' named {assignment!r}' if assignment else ''}; found {names} "
            "(pass the notebook itself or --assignment)"
        )
    return candidates[0]


def build_graded(solution: Solution, submission: Any) -> tuple[Any, list[CellResult], list[str]]:
    """The notebook to run: the solution's cells with the student's exercise cells swapped in.

    Returns ``(notebook, one CellResult per code cell, notes)``.
    """
    import nbformat

    if is_nbgrader(submission):
        submission = from_nbgrader(submission)[0]
    student_cells: dict[str, list[Any]] = {}
    submitted_checks: dict[str, list[str]] = {}
    for cell in submission.cells:
        role = cell_role(cell)
        if role and role[0] == "exercise":
            student_cells.setdefault(role[1], []).append(cell)
        elif role and role[0] == "check":
            submitted_checks.setdefault(role[1], []).append(cell_source(cell))

    nb = nbformat.v4.new_notebook()
    nb.metadata = copy.deepcopy(solution.nb.metadata)
    results: list[CellResult] = []
    notes: list[str] = []
    done: set[str] = set()
    for index, cell in enumerate(solution.nb.cells):
        if cell.get("cell_type") != "code":
            continue
        role = cell_role(cell)
        kind, name = (role[0], role[1]) if role else ("setup", None)
        points = solution.exercises[name].check_points.get(index) if name else None
        if kind == "exercise":
            if name in done:
                continue
            done.add(name)
            for student_cell in student_cells.get(name, []):
                nb.cells.append(nbformat.v4.new_code_cell(cell_source(student_cell)))
                results.append(CellResult("exercise", name))
            continue
        copied = nbformat.v4.new_code_cell(cell_source(cell))
        if is_setup_cell(cell):  # the judge runs these too (judge.setup_namespace)
            copied.metadata["kit"] = {"setup": True}
        nb.cells.append(copied)
        results.append(CellResult(kind, name, points=points))
    for name in solution.exercises:
        if name not in student_cells:
            continue
        visible = {
            cell_source(c).strip()
            for c in student_notebook_checks(solution, name)  # what the student was given
        }
        given = {s.strip() for s in submitted_checks.get(name, [])}
        if visible and given != visible:
            notes.append(
                f"{name}: the check cell was deleted or edited in the submission; "
                "graded with the instructor's checks."
            )
    return nb, results, notes


def student_notebook_checks(solution: Solution, name: str) -> list[Any]:
    """The check cells of exercise ``name`` as the student copy shows them (hidden blocks removed)."""
    from helpers.kit.assign.notebook import strip_hidden

    cells = []
    for index in solution.exercises[name].checks:
        cell = copy.deepcopy(solution.nb.cells[index])
        cell["source"] = strip_hidden(cell_source(cell))
        cells.append(cell)
    return cells


def _kernel_env() -> dict[str, str]:
    import helpers

    env = dict(os.environ)
    env["KIT_MODE"] = "quick"
    env["KIT_GRADING"] = "1"  # kit.start() seeds without importing TensorFlow (4 of 6 s on nb 00)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["MPLBACKEND"] = "Agg"
    package_root = str(Path(helpers.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def run_graded(
    nb: Any,
    results: list[CellResult],
    workdir: Path,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT,
    sandbox: Sandbox | None = None,
) -> tuple[str, str]:
    """Run ``nb`` in a fresh kernel in ``workdir`` (sandboxed if ``sandbox``); fill ``results``.

    The kernel runs the set-up and exercise cells only; the check and hidden-test cells run in
    this process (:mod:`helpers.kit.assign.judge`), on plain data asked of the kernel.
    Returns ``(status, reason)``: ``ok``, ``timeout`` or ``kernel_died``.
    """
    import nbformat
    from nbclient import NotebookClient

    class _Client(NotebookClient):
        timed_out = False

        async def _async_handle_timeout(self, timeout, cell=None):
            self.timed_out = True
            return await super()._async_handle_timeout(timeout, cell)

    km = None
    if sandbox is not None:
        sandboxing.make_scratch(workdir, sandbox.slot)
        km = sandboxing.kernel_manager(
            workdir, list(sandbox.hidden), sandbox.limits, sandbox.slot, sandbox.engine
        )
    nb.cells.append(nbformat.v4.new_code_cell(""))  # where the judge's requests run
    client = _Client(
        nb,
        km=km,
        kernel_name=KERNEL_NAME,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "Timeout", "evalue": "cell timed out", "traceback": []},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        with _started(client, workdir) as problem:
            if problem:
                return "kernel_died", problem
            return _run_cells(client, nb, results, workdir, cell_timeout, notebook_timeout)
    finally:
        # nbclient shuts down only the kernels it created: this kills the sandbox
        if km is not None:
            sandboxing.stop(km, sandbox.slot)


def _run_cells(client, nb, results, workdir, cell_timeout, notebook_timeout) -> tuple[str, str]:
    """Run each cell: set-up and exercise cells in the kernel, the others in the judge."""
    deadline = time.monotonic() + notebook_timeout  # kernel start-up does not count
    setup = [cell_source(c) for c, r in zip(nb.cells, results) if r.role == "setup"]
    imports = judge.instructor_imports(setup)
    trusted = judge.TrustedSetup(cell_source(c) for c in nb.cells if is_setup_cell(c))
    request_index = len(nb.cells) - 1

    def execute(code: str, seconds: float) -> str:
        return _kernel_request(client, request_index, code, seconds)

    def seconds() -> float:
        return max(1.0, min(cell_timeout, deadline - time.monotonic()))

    student = judge.Student(execute, workdir, seconds)
    state: dict = {}
    status, reason = "ok", ""
    for index, (cell, result) in enumerate(zip(nb.cells, results)):
        where = f"cell {index + 1}" + (
            f" ({result.role} {result.exercise})" if result.exercise else " (set-up)"
        )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout", reason or (
                f"the notebook exceeded its {notebook_timeout:g} s limit before {where}"
            )
        if result.role in ("check", "hidden"):
            try:
                result.status, result.message = judge.run_cell(
                    cell_source(cell), where, state, imports, student, trusted
                )
            except judge.KernelDied:
                result.status, result.message = "error", "the kernel died during this check"
                return "kernel_died", f"the kernel died in {where}"
            deadline += trusted.take_seconds()  # the instructor's set-up is not the student's time
            continue
        limit = min(cell_timeout, remaining)
        outcome = _kernel_cell(client, cell, index, result, limit)
        if outcome == "kernel_died":
            return "kernel_died", f"the kernel died in {where}"
        if outcome == "timeout":
            status = "timeout"
            if remaining < cell_timeout:
                result.message = f"the notebook reached its {notebook_timeout:g} s limit here"
                reason = reason or (
                    f"the notebook exceeded its {notebook_timeout:g} s limit in {where}"
                )
            else:
                reason = reason or f"{where} exceeded the {client.timeout} s cell limit"
    return status, reason


def _kernel_cell(client, cell, index: int, result: CellResult, limit: float) -> str:
    """Run one cell in the kernel; fill ``result``; return ok, error, timeout or kernel_died."""
    from nbclient.exceptions import DeadKernelError

    client.timeout = max(1, round(limit))
    client.timed_out = False
    try:
        client.execute_cell(cell, index)
    except DeadKernelError:
        result.status, result.message = "error", "the kernel died while running this cell"
        return "kernel_died"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if client.timed_out:
        result.status = "timeout"
        result.message = f"this cell did not finish within {client.timeout} s"
        return "timeout"
    if errors:
        result.status = "error"
        ename, evalue = errors[0].get("ename", ""), errors[0].get("evalue", "")
        result.message = _ANSI.sub("", f"{ename}: {evalue}")
        return "error"
    result.status = "ok"
    return "ok"


def _kernel_request(client, index: int, code: str, seconds: float) -> str:
    """Run the judge's request ``code`` in the kernel; return ok, error or timeout."""
    import nbformat
    from nbclient.exceptions import DeadKernelError

    cell = nbformat.v4.new_code_cell(code)
    client.timeout = max(1, round(seconds))
    client.timed_out = False
    try:
        client.execute_cell(cell, index)
    except DeadKernelError:
        raise judge.KernelDied("the kernel died") from None
    if client.timed_out:
        return "timeout"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return "error" if errors else "ok"


@contextlib.contextmanager
def _started(client: Any, workdir: Path):
    """Start ``client``'s kernel in ``workdir``; yield None, or why it did not start."""
    try:
        context = client.setup_kernel(cwd=str(workdir), env=_kernel_env())
        context.__enter__()
    except RuntimeError as err:  # e.g. "Kernel died before replying to kernel_info"
        yield f"the kernel did not start: {err}"
        return
    try:
        yield None
    finally:
        context.__exit__(None, None, None)


def score(solution: Solution, results: list[CellResult], present: Iterable[str]) -> dict:
    """Per exercise: full points when its exercise and check cells all ran without error."""
    present = set(present)
    scored = {}
    for name, ex in solution.exercises.items():
        if name not in present:
            scored[name] = ExerciseResult(
                name, 0, ex.points, False, f"no exercise cell {name!r} found in the submission"
            )
            continue
        mine = [r for r in results if r.exercise == name]
        if ex.check_points:  # partial credit: each check cell earns its own points
            scored[name] = _partial(name, ex, mine)
            continue
        failed = [r for r in mine if r.status != "ok"]
        if not failed:
            scored[name] = ExerciseResult(name, ex.points, ex.points, True, "all checks passed")
            continue
        first = failed[0]
        prefix = {
            "exercise": "your exercise cell",
            "check": "the check",
            "hidden": "a hidden test",
        }.get(first.role, "a cell")
        message = (
            f"{prefix} was not run (an earlier cell stopped the notebook)"
            if first.status == "not_run"
            else f"{prefix} failed: {first.message}"
        )
        scored[name] = ExerciseResult(name, 0, ex.points, False, message)
    return scored


def _partial(name: str, ex: Exercise, mine: list[CellResult]) -> ExerciseResult:
    """Score an exercise whose check cells carry their own points: the sum of those that passed."""
    checks = [r for r in mine if r.role == "check"]
    got = _points_sum(r.points or 0 for r in checks if r.status == "ok")
    failed = [r for r in checks if r.status != "ok"]
    if not failed:
        return ExerciseResult(name, got, ex.points, True, "all checks passed")
    first = failed[0]
    why = "not run" if first.status == "not_run" else f"failed: {first.message}"
    message = f"{len(checks) - len(failed)} of {len(checks)} checks passed; a check {why}"
    return ExerciseResult(name, got, ex.points, False, message)


def _points_sum(values) -> float:
    total = round(sum(values), 6)
    return int(total) if float(total).is_integer() else total


def _summary(solution: Solution, result: SubmissionResult, present: set) -> str:
    """The reason of a row graded to the end: the failed exercises, or 'all checks passed'."""
    failed = [f"{r.name}: {r.message}" for r in result.exercises.values() if not r.passed]
    reason = "; ".join(failed) if failed else "all checks passed"
    missing = [n for n in solution.exercises if n not in present]
    return f"exercise cells missing: {', '.join(missing)}; " + reason if missing else reason


def grade_notebook(
    solution: Solution,
    submission_path: Path,
    student: str,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT,
    data: bytes | None = None,
    sandbox: Sandbox | None = None,
) -> SubmissionResult:
    """Grade one submission; never raises (problems become the row's status and reason).

    ``data`` is the submission's content read beforehand (default: read ``submission_path`` now);
    ``sandbox`` runs the kernel in the sandbox.
    """
    import nbformat

    start = time.monotonic()
    result = SubmissionResult(student, "error", sandbox=sandbox.engine if sandbox else "none")
    zero = {
        name: ExerciseResult(name, 0, ex.points, False, "not graded")
        for name, ex in solution.exercises.items()
    }
    try:
        try:
            data = Path(submission_path).read_bytes() if data is None else data
            submission = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as exc:  # invalid JSON, not a notebook, unreadable
            result.status = "invalid_notebook"
            result.reason = f"not a readable notebook: {type(exc).__name__}: {str(exc)[:150]}"
            result.exercises = zero
            return result
        nb, cells, notes = build_graded(solution, submission)
        present = {r.exercise for r in cells if r.role == "exercise"}
        result.notes = notes
        if not present:
            result.status = "no_exercises"
            result.reason = (
                "none of the exercise cells was found (cells deleted or their metadata lost)"
            )
            result.exercises = score(solution, cells, present)
            return result
        with tempfile.TemporaryDirectory(prefix="kit-grade-", ignore_cleanup_errors=True) as tmp:
            workdir = Path(tmp)
            (workdir / "submission.ipynb").write_bytes(data)
            status, reason = run_graded(nb, cells, workdir, cell_timeout, notebook_timeout, sandbox)
        result.exercises = score(solution, cells, present)
        result.status = status
        result.reason = (_summary(solution, result, present) if status == "ok" else reason)[:300]
    except Exception as exc:  # the grader must survive every submission
        result.status = "error"
        result.reason = f"grader error: {type(exc).__name__}: {str(exc)[:200]}"
        result.exercises = result.exercises or zero
    finally:
        result.seconds = time.monotonic() - start
    return result


def find_submissions(
    submissions_dir: str | Path, solution_name: str
) -> list[tuple[str, Path | None, str]]:
    """``(student, notebook path or None, problem)`` for each file or folder of the submissions."""
    found = []
    for entry in sorted(Path(submissions_dir).iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append((entry.stem, entry, ""))
        elif entry.is_dir():
            notebooks = sorted(
                p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
            )
            named = [p for p in notebooks if p.stem == solution_name]
            if len(named) == 1:
                found.append((entry.name, named[0], ""))
            elif len(notebooks) == 1:
                found.append((entry.name, notebooks[0], ""))
            else:
                problem = (
                    "no notebook in the folder"
                    if not notebooks
                    else f"{len(notebooks)} notebooks in the folder and none named {solution_name}.ipynb"
                )
                found.append((entry.name, None, problem))
    return found


def _fmt_points(value: float) -> str:
    return f"{value:g}"


def write_csv(results: list[SubmissionResult], solution: Solution, out_csv: Path) -> None:
    names = list(solution.exercises)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with open(out_csv, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *names, "total", "max", "status", "sandbox", "reason"])
        for r in results:
            points = [
                _fmt_points(r.exercises[n].points) if n in r.exercises else "0" for n in names
            ]
            writer.writerow(
                [
                    r.student,
                    *points,
                    _fmt_points(r.total),
                    _fmt_points(solution.max_points),
                    r.status,
                    r.sandbox,
                    r.reason,
                ]
            )


def feedback_markdown(result: SubmissionResult, solution: Solution) -> str:
    lines = [
        f"# Feedback: {solution.name}, {result.student}",
        "",
        f"**Total: {_fmt_points(result.total)} / {_fmt_points(solution.max_points)}** "
        f"(status: {result.status})",
        "",
    ]
    if result.status != "ok":
        lines += [f"Problem: {result.reason}", ""]
    lines += [
        "Each exercise earns its full points when its cell and every check (visible and hidden) "
        "run without an error, and 0 otherwise; where checks carry their own points, each check "
        "that passes earns its points.",
        "",
        "| exercise | points | result |",
        "|---|---|---|",
    ]
    for name, ex in solution.exercises.items():
        r = result.exercises.get(name)
        got = r.points if r else 0
        message = (r.message if r else "not graded").replace("|", "\\|").replace("\n", " ")
        verdict = "passed" if r and r.passed else f"failed: {message}"
        lines.append(f"| {name} | {_fmt_points(got)} / {_fmt_points(ex.points)} | {verdict} |")
    if result.notes:
        lines += ["", "Notes:", *[f"- {note}" for note in result.notes]]
    if solution.manual:
        lines += ["", "Graded by hand (not included above):", *[f"- {m}" for m in solution.manual]]
    return "\n".join(lines) + "\n"


def grade(
    submissions_dir: str | Path,
    solution: str | Path,
    out_csv: str | Path,
    timeout: float = DEFAULT_CELL_TIMEOUT,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT,
    feedback_dir: str | Path | None = None,
    assignment: str | None = None,
    verbose: bool = False,
    sandbox: bool | str = True,
    limits: sandboxing.Limits = DEFAULT_LIMITS,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    whole_notebook: bool = False,
) -> list[SubmissionResult]:
    """Grade every submission in ``submissions_dir``; write the CSV and one feedback file each.

    ``solution``: the solution notebook, or a folder holding it (``assignment`` picks one by name).
    Submissions are ``<student>.ipynb`` files or ``<student>/`` folders with one notebook; all are
    read into memory before any runs. ``timeout`` is per cell, ``notebook_timeout`` per submission
    (seconds). Feedback files go to ``feedback_dir`` (default: a ``feedback/`` folder beside the
    CSV). ``sandbox=True`` (the default) sandboxes each kernel with bubblewrap, or with Docker
    where bubblewrap is missing, and raises :class:`SandboxUnavailable` if neither works;
    ``"bwrap"`` or ``"docker"`` asks for that one; ``False`` runs kernels unsandboxed (every row
    says so).

    Only the exercise slice runs (set-up, exercise, check and hidden cells) when the solution marks
    set-up cells, unless ``whole_notebook``. ``workers`` submissions are graded at once, each in a
    process and sandbox of its own (default: the number of cores); ``scheduler``
    (``tcp://host:8786``) grades on that Dask cluster instead (:mod:`helpers.kit.assign.parallel`).
    Rows, CSV and feedback do not depend on either. ``verbose`` shows a progress bar, then a line
    per row.
    """
    out_csv = Path(out_csv)
    feedback_dir = Path(feedback_dir) if feedback_dir else out_csv.parent / "feedback"
    box = (
        _sandbox_for(submissions_dir, solution, out_csv, feedback_dir, limits, sandbox)
        if sandbox
        else None
    )
    guarded = _guard(solution, find_solution(solution, assignment).name)  # checks the format
    (source, data), *_ = guarded.items()  # read once, before any student code runs
    settings = parallel.Settings(source.name, data, whole_notebook, timeout, notebook_timeout, box)
    sol = parallel.solution_from_bytes(source.name, data, whole_notebook)
    found = find_submissions(submissions_dir, sol.name)
    contents = [(student, path.read_bytes()) for student, path, _ in found if path is not None]
    rows = iter(
        parallel.grade_all(
            settings,
            contents,
            workers or os.cpu_count() or 1,
            scheduler,
            progress=verbose,
            on_result=lambda row: _restore_if_changed(guarded, row),
        )
    )
    results = [
        next(rows)
        if path is not None
        else parallel.failed_row(sol, student, "invalid_notebook", why)
        for student, path, why in found
    ]
    write_csv(results, sol, out_csv)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for result in results:
        safe = re.sub(r"[^\w.-]", "_", result.student)
        (feedback_dir / f"{safe}.md").write_text(feedback_markdown(result, sol), encoding="utf-8")
    if verbose:
        print(*(parallel.summary_line(r, sol) for r in results), sep="\n", flush=True)
    return results


def _sandbox_for(submissions_dir, solution, out_csv, feedback_dir, limits, wanted=True) -> Sandbox:
    """Return the sandbox that hides the instructor's folders, or raise SandboxUnavailable.

    ``wanted``: ``True`` (bubblewrap, else Docker), ``"bwrap"`` or ``"docker"``.
    """
    if wanted not in (True, "bwrap", "docker"):
        raise ValueError(f"sandbox must be True, False, 'bwrap' or 'docker', got {wanted!r}")
    reasons = {}
    for engine in ("bwrap", "docker") if wanted is True else (wanted,):
        probe = (
            sandboxing.bwrap_missing_reason
            if engine == "bwrap"
            else sandboxing.docker_missing_reason
        )
        reasons[engine] = probe()
        if reasons[engine] is None:
            break
    else:
        why = "; ".join(f"{engine}: {reason}" for engine, reason in reasons.items())
        raise SandboxUnavailable(
            f"cannot sandbox the submissions' kernels ({why}). Install bubblewrap (or Docker), or "
            "grade without a sandbox with --no-sandbox (every row of the CSV then says 'none'; do "
            "that only for work you trust)"
        )
    feedback_dir.mkdir(parents=True, exist_ok=True)
    solution = Path(solution).resolve()
    folders = [Path(submissions_dir), solution if solution.is_dir() else solution.parent]
    folders += [out_csv.parent, feedback_dir]
    needed = sandboxing.needed_paths()
    hidden = set()
    for folder in (f.resolve() for f in folders):
        if any(folder == p or folder in p.parents for p in needed):
            # e.g. the solutions in the kit's notebooks/, a CSV in the kit's root: hide the files
            files = [*folder.glob("*.ipynb"), *folder.glob("*.csv")]
            hidden |= {f for f in files if f.is_file()}
        else:
            hidden.add(folder)
    return Sandbox(tuple(sorted(hidden)), limits, sandboxing.process_slot(), engine)


def _restore_if_changed(guarded: dict[Path, bytes], result: SubmissionResult) -> None:
    """Put back the solution file if it changed while ``result``'s submission ran, and say so."""
    changed = [p for p, data in guarded.items() if _read_bytes(p) != data]
    if changed:  # the sandbox hides it; this catches an unsandboxed run that wrote to it
        for p in changed:
            p.write_bytes(guarded[p])
        result.status = "tampered"
        result.reason = (
            f"the solution file {changed[0].name} changed while this submission ran; "
            "restored it; grade this submission by hand"
        )


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _guard(source: str | Path, name: str) -> dict[Path, bytes]:
    """The solution file's bytes, to detect (and undo) a submission that writes to it."""
    source = Path(source)
    path = source if source.is_file() else source / f"{name}.ipynb"
    data = _read_bytes(path)
    return {path: data} if data is not None else {}


@dataclass
class Validation:
    ok: bool
    problems: list[str]
    solution: SubmissionResult | None
    student: SubmissionResult


def validate(
    solution_nb: str | Path,
    timeout: float = DEFAULT_CELL_TIMEOUT,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT,
    exercises_only: bool = False,
    run_solution: bool = True,
) -> Validation:
    """Every exercise passes all its checks on the solution AND fails on the student copy.

    ``exercises_only`` runs only the setup cells (``{"kit": {"setup": true}}``) and the exercise,
    check and hidden cells (:func:`~helpers.kit.assign.notebook.exercise_slice`): seconds instead of a
    whole notebook, which is how CI validates every course notebook. A check that needs a cell
    outside the slice fails on the solution there, with the NameError in the problems.

    ``run_solution=False`` grades only the student copy (``solution`` is then None): for notebooks
    whose solution already runs elsewhere, checks and hidden tests included (the kit's course
    notebooks run whole under nbval in CI), it halves the cost.
    """
    import nbformat

    sol = load_solution(solution_nb)
    if exercises_only:
        sliced = exercise_slice(sol.nb)
        sol = Solution(sol.name, sliced, exercises(sliced))
    problems = []
    for name, ex in sol.exercises.items():
        if not ex.checks and not ex.hidden:
            problems.append(f"{name}: no check or hidden-test cell")
        if not any("### BEGIN SOLUTION" in cell_source(sol.nb.cells[i]) for i in ex.cells):
            problems.append(f"{name}: no ### BEGIN SOLUTION block in the exercise cell")
    with tempfile.TemporaryDirectory(prefix="kit-validate-") as tmp:
        solution_copy = Path(tmp) / "solution.ipynb"
        student_copy = Path(tmp) / "student.ipynb"
        nbformat.write(sol.nb, str(solution_copy))
        nbformat.write(student_notebook(sol.nb, sol.name), str(student_copy))
        on_solution = (
            grade_notebook(sol, solution_copy, "solution", timeout, notebook_timeout)
            if run_solution
            else None
        )
        on_student = grade_notebook(sol, student_copy, "student", timeout, notebook_timeout)
    for label, result in (("solution", on_solution), ("student copy", on_student)):
        if result is not None and result.status != "ok":
            problems.append(f"{label}: {result.status}: {result.reason}")
    for name in sol.exercises:
        r = on_solution.exercises.get(name) if on_solution is not None else None
        if on_solution is not None and (not r or not r.passed):
            problems.append(f"{name}: fails on the solution: {r.message if r else 'not graded'}")
        r = on_student.exercises.get(name)
        if r and r.passed:
            problems.append(f"{name}: passes on the student copy (the checks do not test it)")
    return Validation(not problems, problems, on_solution, on_student)


def _validate_one(args: tuple[str, float, float, bool, bool]) -> tuple[bool, list[str]]:
    path, timeout, notebook_timeout, exercises_only, run_solution = args
    result = validate(path, timeout, notebook_timeout, exercises_only, run_solution)
    return result.ok, result.problems


def validate_many(
    paths: Iterable[str | Path],
    workers: int = 2,
    timeout: float = DEFAULT_CELL_TIMEOUT,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT,
    exercises_only: bool = False,
    run_solution: bool = True,
) -> dict[Path, tuple[bool, list[str]]]:
    """:func:`validate` several solution notebooks, ``workers`` at a time (separate processes).

    Returns ``{path: (ok, problems)}`` in the order given. Each notebook's kernels start in a fresh
    process ("spawn"), so this is safe to call from a process that has already imported TensorFlow.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    paths = [Path(p) for p in paths]
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    jobs = [(str(p), timeout, notebook_timeout, exercises_only, run_solution) for p in paths]
    if int(workers) == 1 or len(paths) <= 1:
        return dict(zip(paths, map(_validate_one, jobs)))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=int(workers), mp_context=context) as pool:
        return dict(zip(paths, pool.map(_validate_one, jobs)))
