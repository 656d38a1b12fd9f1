"""The exercise format in a solution notebook, and student notebooks generated from it.

A solution notebook marks its cells with metadata ``{"kit": {...}}`` (or, written by hand, a first
line comment):

* exercise: ``{"kit": {"exercise": "q1", "points": 2}}`` or ``# EXERCISE q1 (2 points)``; the
  solution code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
* visible check: ``{"kit": {"check": "q1"}}`` or ``# CHECK q1``; students see and run it;
* hidden tests: ``{"kit": {"hidden": "q1"}}`` or ``# HIDDEN q1`` (a whole cell), or a block
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` inside a check cell (nbgrader's marker);
* partial credit: a check cell with its own points (``{"kit": {"check": "q1", "points": 1}}``)
  earns them when it passes; the exercise is then worth the sum of its checks' points;
* nbgrader's source notebooks (``metadata.nbgrader``) are read too (:func:`from_nbgrader`):
  autograded answer cells become exercises, autograded test cells checks with their points, and
  manually graded cells are listed for the instructor;
* setup: ``{"kit": {"setup": true}}`` on the few ordinary cells (imports, data loading) that the
  exercises and their checks need. :func:`exercise_slice` keeps only these and the exercise cells,
  so the exercises can be validated in seconds without the notebook's trainings.

:func:`generate` writes the student copy: outputs and execution counts cleared, each solution block
replaced by ``# TODO: your code here`` + ``raise NotImplementedError(...)`` at the block's
indentation, hidden cells and hidden blocks removed, the ``kit`` metadata kept for the grader.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
TODO_LINE = "# TODO: your code here"
MARKDOWN_ANSWER = "YOUR ANSWER HERE"

_HEADER = re.compile(
    r"^\s*#\s*(EXERCISE|CHECK|HIDDEN)\s+([A-Za-z_][\w.-]*)"
    r"(?:\s*\(\s*(\d+(?:\.\d+)?)\s*points?\s*\))?",
)  # upper case only: a comment such as "# Check that ..." is not a marker


class FormatError(ValueError):
    """The solution notebook's exercise markup is inconsistent."""


def _points(value: Any) -> float:
    """Points as written: ``2`` stays an int, ``1.5`` a float."""
    number = float(value or 0)
    return int(number) if number.is_integer() else number


def cell_source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def cell_role(cell: Any) -> tuple[str, str, float] | None:
    """``(role, exercise_id, points)`` with role in exercise/check/hidden, or None for other cells."""
    if cell.get("cell_type") != "code":
        return None
    kit = (cell.get("metadata") or {}).get("kit") or {}
    if isinstance(kit, dict):
        for role in ("exercise", "check", "hidden"):
            if kit.get(role):
                return role, str(kit[role]), _points(kit.get("points", 1))
    lines = cell_source(cell).lstrip("\n").splitlines()
    match = _HEADER.match(lines[0]) if lines else None
    if match:
        role = match.group(1).lower()
        points = _points(match.group(3) or 1)
        return role, match.group(2), points
    return None


@dataclass
class Exercise:
    """One exercise of a solution notebook: its points and the indices of its cells."""

    name: str
    points: float
    cells: list[int] = field(default_factory=list)
    checks: list[int] = field(default_factory=list)
    hidden: list[int] = field(default_factory=list)
    check_points: dict[int, float] = field(default_factory=dict)  # partial credit, per check cell


def exercises(nb: Any) -> dict[str, Exercise]:
    """The exercises of a notebook, in order of appearance, keyed by id."""
    found: dict[str, Exercise] = {}
    for index, cell in enumerate(nb.cells):
        role = cell_role(cell)
        if role is None:
            continue
        kind, name, points = role
        if kind == "exercise":
            ex = found.setdefault(name, Exercise(name, points))
            ex.cells.append(index)
        else:
            if name not in found:
                raise FormatError(
                    f"cell {index}: {kind} cell for {name!r} before its exercise cell"
                )
            (found[name].checks if kind == "check" else found[name].hidden).append(index)
            kit = (cell.get("metadata") or {}).get("kit") or {}
            if kind == "check" and isinstance(kit, dict) and "points" in kit:
                found[name].check_points[index] = points
    for ex in found.values():
        if ex.check_points:
            ex.points = _points(sum(ex.check_points.values()))
    return found


def read_notebook(path: str | Path) -> Any:
    """Return the notebook at ``path``; a file that is not one raises a one-line FormatError."""
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as err:  # not JSON, not a notebook, unreadable
        first = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise FormatError(f"{path}: not a readable notebook ({first})") from err


def is_nbgrader(nb: Any) -> bool:
    """Whether ``nb`` marks its cells with nbgrader's ``metadata.nbgrader``."""
    return any(isinstance((c.get("metadata") or {}).get("nbgrader"), dict) for c in nb.cells)


def from_nbgrader(nb: Any, name: str = "notebook") -> tuple[Any, list[str]]:
    """Return a copy of nbgrader notebook ``nb`` in the kit's markup, and its manually graded parts.

    An autograded answer (``solution: true, grade: false``, a code cell) becomes exercise
    ``grade_id``; an autograded test (``grade: true, solution: false``, code) a check of the answer
    above it, worth its ``points``; answers graded by hand (``solution`` and ``grade``) and tasks are
    returned as lines "grade_id (N points)". A test above any answer raises FormatError naming the
    notebook ``name`` and the cell.
    """
    out = copy.deepcopy(nb)
    manual, current = [], None
    for index, cell in enumerate(out.cells):
        meta = (cell.get("metadata") or {}).get("nbgrader")
        if not isinstance(meta, dict):
            continue
        grade_id, points = str(meta.get("grade_id", f"cell-{index}")), _points(meta.get("points"))
        code = cell.get("cell_type") == "code"
        if code and meta.get("solution") and not meta.get("grade"):
            current = grade_id
            cell.setdefault("metadata", {})["kit"] = {"exercise": grade_id, "points": 0}
        elif code and meta.get("grade") and not meta.get("solution"):
            if current is None:
                raise FormatError(
                    f"{name}: cell {index + 1} ({grade_id}) is an autograded test above every answer cell"
                )
            cell.setdefault("metadata", {})["kit"] = {"check": current, "points": points}
        elif meta.get("grade") or meta.get("task"):
            manual.append(f"{grade_id} ({points} points)")
    return out, manual


def _replace_blocks(source: str, begin: str, end: str, replacement) -> str:
    """Replace each ``begin``..``end`` block (marker lines included) with ``replacement(indent)``."""
    out: list[str] = []
    lines = source.splitlines()
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith(begin):
            if inside:
                raise FormatError(f"line {number}: {begin!r} inside another block")
            inside = True
            out.extend(replacement(line[: len(line) - len(line.lstrip())]))
        elif stripped.startswith(end):
            if not inside:
                raise FormatError(f"line {number}: {end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise FormatError(f"{begin!r} without {end!r}")
    return "\n".join(out)


def strip_solutions(source: str, exercise: str) -> str:
    """Replace every solution block of a code cell by a TODO and ``NotImplementedError``."""
    return _replace_blocks(
        source,
        BEGIN_SOLUTION,
        END_SOLUTION,
        lambda indent: [
            indent + TODO_LINE,
            f'{indent}raise NotImplementedError("{exercise}: write your solution here")',
        ],
    )


def strip_hidden(source: str) -> str:
    """Remove every hidden-tests block of a cell."""
    return _replace_blocks(source, BEGIN_HIDDEN, END_HIDDEN, lambda indent: [])


def student_notebook(nb: Any, assignment: str) -> Any:
    """The student copy of solution notebook ``nb`` (a new object; ``nb`` is unchanged)."""
    exercises(nb)  # raises FormatError on inconsistent markup
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        role = cell_role(cell)
        source = cell_source(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            if role and role[0] == "hidden":
                continue
            if role:  # keep the role as metadata even when the author wrote a header line
                kind, name, points = role
                meta = cell.setdefault("metadata", {}).setdefault("kit", {})
                meta[kind] = name
                if kind == "exercise":
                    meta["points"] = points
            name = role[1] if role else "this exercise"
            source = strip_hidden(strip_solutions(source, name))
        elif cell.get("cell_type") == "markdown":
            source = _replace_blocks(
                source, BEGIN_SOLUTION, END_SOLUTION, lambda i: [MARKDOWN_ANSWER]
            )
        cell["source"] = source
        cells.append(cell)
    out.cells = cells
    out.metadata.setdefault("kit", {})["assignment"] = assignment
    return out


def is_setup_cell(cell: Any) -> bool:
    """Whether ``cell`` is an ordinary code cell marked ``{"kit": {"setup": true}}``."""
    kit = (cell.get("metadata") or {}).get("kit") or {}
    return cell.get("cell_type") == "code" and isinstance(kit, dict) and bool(kit.get("setup"))


def exercise_slice(nb: Any) -> Any:
    """A copy of ``nb`` with only its setup cells and its exercise, check and hidden cells.

    The exercises of a course notebook test functions on small inputs, so this slice runs in
    seconds; the whole notebook (with its trainings) is what students and the grader run.
    """
    exercises(nb)  # raises FormatError on inconsistent markup
    out = copy.deepcopy(nb)
    out.cells = [c for c in out.cells if is_setup_cell(c) or cell_role(c) is not None]
    return out


def has_exercises(path: str | Path) -> bool:
    """Whether the notebook at ``path`` contains at least one exercise."""

    nb = read_notebook(path)
    if is_nbgrader(nb):
        nb = from_nbgrader(nb, Path(path).name)[0]
    return bool(exercises(nb))


def generate(solution_nb_path: str | Path, out_dir: str | Path) -> Path:
    """Write the student copy of a solution notebook into ``out_dir``; return its path."""
    import nbformat

    path = Path(solution_nb_path)
    nb = read_notebook(path)
    if is_nbgrader(nb):
        nb = from_nbgrader(nb, path.name)[0]
    if not exercises(nb):
        raise FormatError(f"{path}: no exercise cells")
    student = student_notebook(nb, path.stem)
    out = Path(out_dir) / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, str(out))
    return out
