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
* nbgrader's source notebooks (``metadata.nbgrader``, :func:`from_nbgrader`) and otter-grader's
  master notebooks (raw ``# BEGIN QUESTION`` cells, :func:`from_otter`) are read too, detected by
  :func:`to_kit`: autograded answers become exercises, their tests checks with their own points
  (partial credit), hidden tests hidden blocks, and parts graded by hand are listed for the
  instructor. Every format error is one :class:`FormatError` line naming the notebook and the cell
  (:func:`check_markup`);
* setup: ``{"kit": {"setup": true}}`` on the few ordinary cells (imports, data loading) that the
  exercises and their checks need. :func:`exercise_slice` keeps only these and the exercise cells,
  so the exercises can be validated in seconds without the notebook's trainings.

:func:`generate` writes the student copy: outputs and execution counts cleared, each solution block
replaced by ``# TODO: your code here`` + ``raise NotImplementedError(...)`` at the block's
indentation, hidden cells and hidden blocks removed, the ``kit`` metadata kept for the grader.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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


def where(notebook: str | None, index: int, cell: Any = None, label: str | None = None) -> str:
    """``"nb.ipynb: cell 3 (id abc)"``: how an error names a cell (1-based, as Jupyter counts)."""
    if label is None and cell is not None and cell.get("id"):
        label = f"id {cell.get('id')}"
    return f"{notebook or 'notebook'}: cell {index + 1}" + (f" ({label})" if label else "")


def exercises(nb: Any, notebook: str | None = None) -> dict[str, Exercise]:
    """The exercises of a notebook, in order of appearance, keyed by id (``notebook``: for errors)."""
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
                    f"{where(notebook, index, cell)}: {kind} cell for {name!r} before its "
                    "exercise cell; move it below the exercise"
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


def _mark_setup(cell: Any) -> None:
    """Mark an ordinary code cell as set-up, so the exercise slice keeps it (nbgrader, otter)."""
    meta = cell.setdefault("metadata", {})
    if cell.get("cell_type") == "code" and cell_role(cell) is None:
        if not isinstance(meta.get("kit"), dict):
            meta["kit"] = {}
        meta["kit"]["setup"] = True


def _whole_solution(cell: Any) -> None:
    """A solution cell without solution markers is a solution as a whole (nbgrader and otter
    replace it all in the student copy): wrap it in one kit solution block."""
    source = cell_source(cell)
    if not any(line.strip().startswith(BEGIN_SOLUTION) for line in source.splitlines()):
        cell["source"] = f"{BEGIN_SOLUTION}\n{source}\n{END_SOLUTION}"


def _nbgrader_points(meta: dict, at: str) -> float:
    """A graded nbgrader cell's points; missing or not a number raises FormatError."""
    value = meta.get("points")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FormatError(
            f"{at}: a graded cell without points; give it points in nbgrader's cell toolbar "
            "(metadata.nbgrader.points)"
        )
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise FormatError(
            f"{at}: points {value!r} is not a number >= 0; fix metadata.nbgrader.points"
        )
    return _points(number)


def from_nbgrader(nb: Any, name: str = "notebook") -> tuple[Any, list[str]]:
    """Return a copy of nbgrader notebook ``nb`` in the kit's markup, and its manually graded parts.

    An autograded answer (``solution: true, grade: false``, a code cell) becomes exercise
    ``grade_id``; an autograded test (``grade: true, solution: false``, code) a check of the answer
    above it, worth its ``points``; answers graded by hand (``solution`` and ``grade``) and tasks are
    returned as lines "grade_id (N points)"; other code cells become set-up cells. A solution cell
    without ``### BEGIN SOLUTION`` is replaced as a whole in the student copy, as nbgrader does.
    A test above any answer, a graded cell without points or a repeated ``grade_id`` raises
    FormatError naming the notebook ``name`` and the cell.
    """
    out = copy.deepcopy(nb)
    manual, current, seen = [], None, {}
    for index, cell in enumerate(out.cells):
        meta = (cell.get("metadata") or {}).get("nbgrader")
        if not isinstance(meta, dict):
            _mark_setup(cell)
            continue
        grade_id = str(meta.get("grade_id") or f"cell-{index + 1}")
        at = where(name, index, label=f"grade_id {grade_id}")
        if grade_id in seen:
            raise FormatError(
                f"{at}: grade_id {grade_id!r} is used by cell {seen[grade_id] + 1} too; "
                "give every nbgrader cell its own id"
            )
        seen[grade_id] = index
        graded, code = bool(meta.get("grade") or meta.get("task")), cell.get("cell_type") == "code"
        points = _nbgrader_points(meta, at) if graded else 0
        if meta.get("solution"):
            _whole_solution(cell)
        if code and meta.get("solution") and not meta.get("grade"):
            current = grade_id
            cell.setdefault("metadata", {})["kit"] = {"exercise": grade_id, "points": 0}
        elif code and meta.get("grade") and not meta.get("solution"):
            if current is None:
                raise FormatError(f"{at} is an autograded test above every answer cell")
            cell.setdefault("metadata", {})["kit"] = {"check": current, "points": points}
        elif graded:
            manual.append(f"{grade_id} ({points} points)")
        elif code and not meta.get("solution"):
            _mark_setup(cell)  # a read-only code cell
    return out, manual


# otter-grader's master notebook, v1 format (otter-grader.readthedocs.io, "Creating Assignments")
_OTTER_BOUNDARY = re.compile(r"^\s*#\s*(BEGIN|END)\s+([A-Za-z]+(?:\s+[A-Za-z]+)*)\s*$", re.I)
_OTTER_CONFIG = re.compile(r"^\s*#\s*ASSIGNMENT\s+CONFIG\s*$", re.I)
_OTTER_BLOCKS = ("QUESTION", "SOLUTION", "PROMPT", "TESTS", "HIDDEN TESTS")
_OTTER_IGNORE_CELL = re.compile(r"^\s*##\s*ignore\s*##\s*$", re.I)
_OTTER_IGNORE_LINE = re.compile(r"#\s*IGNORE\s*$")
_OTTER_SOLUTION_LINE = re.compile(r"^(\s*)(\S.*?)\s*#\s*SOLUTION(?:\s+NO\s+PROMPT)?\s*$")
_OTTER_BEGIN_SOLUTION = re.compile(r"^(\s*)#+\s*BEGIN\s+SOLUTION(?:\s+NO\s+PROMPT)?\s*$")
_OTTER_END_SOLUTION = re.compile(r"^(\s*)#+\s*END\s+SOLUTION\s*$")
_OTTER_BEGIN_PROMPT = re.compile(r"^\s*(?:\w+\s*=\s*)?[rR]?(\"\"\"|''')\s*#\s*BEGIN\s+PROMPT", re.I)
_OTTER_END_PROMPT = re.compile(r"(\"\"\"|''')\s*;?\s*#\s*END\s+PROMPT", re.I)
_OTTER_HIDDEN_BLOCK = re.compile(r"^(\s*)#+\s*(BEGIN|END)\s+HIDDEN\s+TESTS\s*$", re.I)
_OTTER_TEST_CONFIG = re.compile(
    r"^\s*(?:\w+\s*=\s*)?[rR]?(\"\"\"|''')\s*#\s*BEGIN\s+TEST\s+CONFIG", re.I
)
_OTTER_TEST_CONFIG_END = re.compile(r"(\"\"\"|''')\s*#\s*END\s+TEST\s+CONFIG", re.I)


def _first_line(cell: Any) -> str:
    lines = cell_source(cell).strip().splitlines()
    return lines[0] if lines else ""


def _otter_text(cell: Any) -> str:
    """The text of an otter marker cell: a raw cell, or a Markdown cell fenced as ```otter."""
    text = cell_source(cell).strip()
    if cell.get("cell_type") == "raw":
        return text
    lines = text.splitlines()
    fenced = len(lines) > 2 and lines[0].strip() == "```otter" and lines[-1].strip() == "```"
    return "\n".join(lines[1:-1]).strip() if cell.get("cell_type") == "markdown" and fenced else ""


def is_otter(nb: Any) -> bool:
    """Whether ``nb`` is an otter-grader master notebook (a ``# BEGIN QUESTION`` or config cell)."""
    for cell in nb.cells:
        line = (_otter_text(cell).splitlines() or [""])[0]
        match = _OTTER_BOUNDARY.match(line)
        if _OTTER_CONFIG.match(line) or (match and match.group(2).upper() == "QUESTION"):
            return True
    return False


def _yaml(text: str, at: str, what: str) -> dict:
    """Parse otter's YAML config ``text`` (a mapping; empty is ``{}``) or raise FormatError."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        first = " ".join(str(err).split())[:120]
        raise FormatError(f"{at}: the {what} is not valid YAML ({first}); fix it") from err
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{at}: the {what} must be 'key: value' lines, found {value!r:.60}")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _otter_points(total: Any, explicit: list, at: str) -> list[float]:
    """Each test's points from the question's ``points`` and the tests' own, as otter resolves them.

    ``total``: a number (shared by the tests without their own points), a list (one per test),
    ``{"each": p}`` or None (1 point shared by the tests without points, if none has any).
    """
    if isinstance(total, dict):
        total = total.get("each", 1) * len(explicit)
    if isinstance(total, list):
        if len(total) != len(explicit):
            raise FormatError(
                f"{at}: 'points' lists {len(total)} values for {len(explicit)} test cells; "
                "give one value per test cell"
            )
        explicit, total = list(total), None
    given = sum(p for p in explicit if p is not None)
    free = sum(p is None for p in explicit)
    if total is not None and given > total:
        raise FormatError(
            f"{at}: the test cells' own points ({given:g}) exceed the question's {total:g}"
        )
    if total is not None:
        share = (total - given) / free if free else 0.0
    else:
        share = 1 / free if free and given == 0 else 0.0
    return [_points(round(p if p is not None else share, 6)) for p in explicit]


def _otter_solution(source: str, at: str) -> str:
    """An otter code cell in the kit's markup: ``# SOLUTION`` lines and ``# BEGIN/END SOLUTION``
    become ``### BEGIN/END SOLUTION`` blocks; prompt strings are dropped (the student copy shows
    the kit's TODO)."""
    out, run, prompt = [], None, False
    for line in source.splitlines():
        if prompt:
            prompt = not _OTTER_END_PROMPT.search(line)
            continue
        if _OTTER_BEGIN_PROMPT.match(line):
            prompt = True
            continue
        match = _OTTER_SOLUTION_LINE.match(line)
        if match and run != match.group(1):
            out += [run + END_SOLUTION] if run is not None else []
            run = match.group(1)
            out.append(run + BEGIN_SOLUTION)
        if match:
            out.append(match.group(1) + match.group(2))
            continue
        out += [run + END_SOLUTION] if run is not None else []
        run = None
        marker = _OTTER_BEGIN_SOLUTION.match(line) or _OTTER_END_SOLUTION.match(line)
        if marker:
            line = marker.group(1) + (BEGIN_SOLUTION if "BEGIN" in line.upper() else END_SOLUTION)
        out.append(line)
    out += [run + END_SOLUTION] if run is not None else []
    if prompt:
        raise FormatError(f"{at}: a '# BEGIN PROMPT' string without '# END PROMPT'; close it")
    return "\n".join(out)


def _otter_test_config(lines: list[str], at: str) -> tuple[dict, int]:
    """The test cell's ``# BEGIN TEST CONFIG`` YAML and the index of its first test line."""
    if not lines or not _OTTER_TEST_CONFIG.match(lines[0]):
        return {}, 0
    for number, line in enumerate(lines[1:], 1):
        if _OTTER_TEST_CONFIG_END.search(line):
            config = _yaml("\n".join(lines[1:number]), at, "test config")
            points = config.get("points")
            if points is not None and not _is_number(points):
                raise FormatError(f"{at}: test config 'points: {points}' is not a number >= 0")
            return config, number + 1
    raise FormatError(f"{at}: '# BEGIN TEST CONFIG' without '# END TEST CONFIG'; close it")


def _otter_expect(code: str, outputs: list, at: str) -> str:
    """An OK-format test (otter's default) as an assertion: otter compares the output of the
    cell's last expression with the output the master notebook shows; so does this (its repr,
    whitespace-insensitive). A cell that ends in a statement passes when it raises nothing."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise FormatError(f"{at}: the test does not parse ({err.msg}, line {err.lineno})") from err
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return code
    last = tree.body[-1]
    if last.col_offset != 0 or any(o.get("output_type") == "stream" for o in outputs):
        raise FormatError(
            f"{at}: the kit compares the value of a test's last line only: put the expression "
            "on its own last line and print nothing (or write the test as an assert)"
        )
    expected = "".join(
        cell_source({"source": (o.get("data") or {}).get("text/plain", "")})
        for o in outputs
        if o.get("output_type") == "execute_result"
    )
    head = "\n".join(code.splitlines()[: last.lineno - 1])
    expr = ast.get_source_segment(code, last.value)
    if not expected:  # no output: the expression's value is None
        check = f"assert ({expr}) is None, 'expected no output (None)'"
    else:
        check = (
            f"_value = {expr}\n"
            f"_expected = {expected!r}  # what the master notebook shows\n"
            "assert ' '.join(repr(_value).split()) == ' '.join(_expected.split()), (\n"
            "    f'expected {_expected}, got {_value!r:.200}'\n)"
        )
    return f"{head}\n{check}" if head.strip() else check


def _otter_call(code: str, at: str) -> str:
    """An exception-based test (``tests: ok_format: false``) defines a test function: call it
    with the notebook's variables of the same names (``env``: all of them), as otter does."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise FormatError(f"{at}: the test does not parse ({err.msg}, line {err.lineno})") from err
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not defs:
        raise FormatError(
            f"{at}: an exception-based test (tests: ok_format: false) must define a test function"
        )
    args = ", ".join("globals()" if a.arg == "env" else a.arg for a in defs[0].args.args)
    return f"{code}\n{defs[0].name}({args})"


def _kit_hidden_marker(match: re.Match) -> str:
    """``# BEGIN HIDDEN TESTS`` (any number of ``#``) as the kit's marker, at the same indent."""
    return match.group(1) + (BEGIN_HIDDEN if match.group(2).upper() == "BEGIN" else END_HIDDEN)


def _otter_test(cell: Any, ok_format: bool, hidden: bool, at: str) -> tuple[str, bool, Any]:
    """``(kit source, hidden, points or None)`` of one otter test cell."""
    lines = cell_source(cell).strip("\n").splitlines()
    start = 0
    if lines and lines[0].lstrip().startswith("#") and re.search(r"\bhidden\b", lines[0], re.I):
        hidden, start = True, 1
    config, offset = _otter_test_config(lines[start:], at)
    hidden = bool(config.get("hidden", hidden))
    body = [line for line in lines[start + offset :] if not _OTTER_IGNORE_LINE.search(line)]
    body = [_OTTER_HIDDEN_BLOCK.sub(_kit_hidden_marker, line) for line in body]
    code = "\n".join(body)
    if not code.strip():
        raise FormatError(f"{at}: an empty test cell; write the test or delete the cell")
    code = _otter_expect(code, cell.get("outputs", []), at) if ok_format else _otter_call(code, at)
    return code, hidden, config.get("points")


def _replace_blocks(source: str, begin: str, end: str, replacement) -> str:
    """Replace each ``begin``..``end`` block (marker lines included) with ``replacement(indent)``."""
    out: list[str] = []
    lines = source.splitlines()
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith(begin):
            if inside:
                raise FormatError(f"line {number}: {begin!r} inside another block; close it first")
            inside = True
            out.extend(replacement(line[: len(line) - len(line.lstrip())]))
        elif stripped.startswith(end):
            if not inside:
                raise FormatError(f"line {number}: {end!r} without {begin!r} above it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise FormatError(f"{begin!r} without {end!r}; add it where the block ends")
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


@dataclass
class _Question:
    """An otter question being read: its config and the kit metadata of its test cells."""

    name: str
    start: int  # index of its '# BEGIN QUESTION' cell
    manual: bool
    points: Any
    solutions: int = 0
    tests: list[tuple[Any, Any]] = field(default_factory=list)  # (test cell, its own points)


class _OtterReader:
    """Reads an otter master notebook's cells in order (see :func:`from_otter`)."""

    def __init__(self, notebook: str):
        self.notebook = notebook
        self.ok_format = True
        self.question: _Question | None = None
        self.block: tuple[str, int] | None = None  # (kind, index) of the open block
        self.names: dict[str, int] = {}
        self.manual: list[str] = []

    def boundary(self, cell: Any, index: int) -> bool:
        """Handle ``cell`` if it is a raw config or boundary cell; whether it was one."""
        line, _, body = _otter_text(cell).partition("\n")
        at = where(self.notebook, index, cell)
        if _OTTER_CONFIG.match(line):
            config = _yaml(body, at, "assignment config")
            tests = config.get("tests") if isinstance(config.get("tests"), dict) else {}
            self.ok_format = bool(tests.get("ok_format", True))
            return True
        match = _OTTER_BOUNDARY.match(line)
        if not match:
            return False
        edge, kind = match.group(1).upper(), " ".join(match.group(2).upper().split())
        if kind not in _OTTER_BLOCKS:
            known = ", ".join(f"# BEGIN {k}" for k in _OTTER_BLOCKS)
            raise FormatError(
                f"{at}: unknown otter marker {line.strip()!r}; use one of {known} (or the "
                "matching # END), or '# ASSIGNMENT CONFIG' for the assignment's config"
            )
        if kind == "QUESTION" and edge == "BEGIN":
            self.begin(body, index, at)
        elif kind == "QUESTION":
            self.end(index, at)
        elif self.question is None:
            raise FormatError(
                f"{at}: '# {edge} {kind}' outside a question; put it between "
                "'# BEGIN QUESTION' and '# END QUESTION'"
            )
        else:
            self.edge(edge, kind, index, at)
        return True

    def edge(self, edge: str, kind: str, index: int, at: str) -> None:
        """Open or close a solution, prompt or tests block."""
        if self.block is not None:
            open_kind, open_index = self.block
            if edge == "END" and open_kind == kind:
                self.block = None
                return
            raise FormatError(
                f"{at}: '# {edge} {kind}' while the '# BEGIN {open_kind}' block of cell "
                f"{open_index + 1} is open; add '# END {open_kind}' before it"
            )
        if edge == "END":
            raise FormatError(f"{at}: '# END {kind}' without '# BEGIN {kind}' above it")
        self.block = (kind, index)

    def begin(self, body: str, index: int, at: str) -> None:
        """Open a question from its ``# BEGIN QUESTION`` YAML (``name``, ``points``, ``manual``)."""
        if self.question is not None:
            raise FormatError(
                f"{at}: '# BEGIN QUESTION' inside question {self.question.name!r} (cell "
                f"{self.question.start + 1}); add '# END QUESTION' before it"
            )
        config = _yaml(body, at, "question config")
        name, points = config.get("name"), config.get("points")
        if not isinstance(name, (str, int)) or not str(name).strip():
            raise FormatError(f"{at}: the question has no 'name:'; add one (e.g. name: q1)")
        name = str(name).strip()
        if name in self.names:
            raise FormatError(
                f"{at}: question name {name!r} is used by cell {self.names[name] + 1} too; "
                "give each question its own name"
            )
        listed = isinstance(points, list) and all(_is_number(p) for p in points)
        each = isinstance(points, dict) and _is_number(points.get("each", 1))
        if not (points is None or _is_number(points) or listed or each):
            raise FormatError(
                f"{at}: 'points: {points}' is not a number, a list of numbers (one per test "
                "cell) or {each: N}"
            )
        self.names[name] = index
        self.question = _Question(name, index, bool(config.get("manual")), points)

    def end(self, index: int, at: str) -> None:
        """Close the question: resolve its tests' points, or list it as graded by hand."""
        q = self.question
        if q is None:
            raise FormatError(f"{at}: '# END QUESTION' without '# BEGIN QUESTION' above it")
        if self.block is not None:
            self.edge("END", "QUESTION", index, at)
        if q.manual and not _is_number(q.points):
            raise FormatError(
                f"{at}: manual question {q.name!r} has no 'points: N' (otter needs them too); "
                "add them to its '# BEGIN QUESTION' cell"
            )
        if q.manual:
            self.manual.append(f"{q.name} ({_points(q.points)} points)")
        elif not q.solutions or not q.tests:
            missing = "solution cell" if not q.solutions else "test cell"
            raise FormatError(
                f"{at}: question {q.name!r} has no {missing}; add a '# BEGIN "
                f"{'SOLUTION' if not q.solutions else 'TESTS'}' block, or set 'manual: true'"
            )
        own = [points for _, points in q.tests]
        for (cell, _), points in zip(q.tests, _otter_points(q.points, own, at)):
            cell["metadata"]["kit"]["points"] = points
        self.question = None

    def convert(self, cell: Any, index: int) -> Any | None:
        """``cell`` in the kit's markup, or None when the kit drops it (prompts, ignored cells)."""
        if _OTTER_IGNORE_CELL.match(_first_line(cell)):
            return None
        kind = self.block[0] if self.block else None
        code = cell.get("cell_type") == "code"
        at = where(self.notebook, index, cell)
        if kind == "PROMPT":
            return None
        if code:  # solution markers count in any code cell, so none leaks
            cell["source"] = _otter_solution(cell_source(cell), at)
        if kind == "SOLUTION" and code:
            _whole_solution(cell)  # a solution cell without markers is a solution as a whole
            if not self.question.manual:
                self.question.solutions += 1
                cell.setdefault("metadata", {})["kit"] = {
                    "exercise": self.question.name,
                    "points": 0,
                }
        elif kind == "SOLUTION" and cell.get("cell_type") == "markdown":
            _whole_solution(cell)
        elif kind in ("TESTS", "HIDDEN TESTS") and code:
            self.test(cell, at, hidden=kind == "HIDDEN TESTS")
        else:
            _mark_setup(cell)
        return cell

    def test(self, cell: Any, at: str, hidden: bool) -> None:
        """Make ``cell`` a kit check of the open question (a hidden test: in a hidden block)."""
        if self.question.manual:
            raise FormatError(
                f"{at}: a test in manual question {self.question.name!r}; "
                "remove 'manual: true' or the test"
            )
        source, hidden, points = _otter_test(cell, self.ok_format, hidden, at)
        if hidden:
            source = (
                f"# hidden test of {self.question.name}\n{BEGIN_HIDDEN}\n{source}\n{END_HIDDEN}"
            )
        cell["source"] = source
        cell.setdefault("metadata", {})["kit"] = {"check": self.question.name}
        self.question.tests.append((cell, points))


def from_otter(nb: Any, name: str = "notebook") -> tuple[Any, list[str]]:
    """Return a copy of otter-grader master notebook ``nb`` in the kit's markup, and its manual parts.

    Otter's v1 format: raw cells (or Markdown fenced as ```otter) ``# ASSIGNMENT CONFIG`` and
    ``# BEGIN/END QUESTION`` (YAML: ``name``; ``points``: a number, one per test, or
    ``{each: N}``; ``manual``), ``# BEGIN/END SOLUTION``, ``# BEGIN/END PROMPT`` and
    ``# BEGIN/END TESTS``. An autograded question becomes an exercise: its solution cells are
    exercise cells (``# SOLUTION`` lines and inline ``# BEGIN/END SOLUTION`` as kit solution
    blocks), each test cell a check worth its points as otter resolves them (partial credit). A
    hidden test (``# HIDDEN`` first line or ``hidden: true`` in its test config; also a raw
    ``# BEGIN HIDDEN TESTS`` block) keeps its points inside a kit hidden block, which the student
    copy loses. OK-format tests (otter's default) compare their last expression with the output
    the master shows; exception-based ones (``tests: ok_format: false``) call their function.
    Manual questions are returned as "name (N points)"; prompt and ``## Ignore ##`` cells are
    dropped; other code cells become set-up cells. Inconsistent markup raises FormatError naming
    the notebook ``name`` and the cell.
    """
    out = copy.deepcopy(nb)
    reader, cells = _OtterReader(name), []
    for index, cell in enumerate(out.cells):
        if not reader.boundary(cell, index):
            converted = reader.convert(cell, index)
            cells += [converted] if converted is not None else []
    if reader.question is not None:
        start = reader.question.start
        raise FormatError(
            f"{where(name, start, nb.cells[start])}: question {reader.question.name!r} has no "
            "'# END QUESTION'; add that raw cell after its tests"
        )
    out.cells = cells
    return out, reader.manual


def check_markup(nb: Any, notebook: str = "notebook") -> dict[str, Exercise]:
    """The exercises of kit notebook ``nb``; inconsistent markup raises ONE line naming the cell."""
    for index, cell in enumerate(nb.cells):
        try:
            if cell.get("cell_type") == "code":
                strip_hidden(strip_solutions(cell_source(cell), "check"))
            elif cell.get("cell_type") == "markdown":
                _replace_blocks(cell_source(cell), BEGIN_SOLUTION, END_SOLUTION, lambda i: [])
        except FormatError as err:
            raise FormatError(f"{where(notebook, index, cell)}: {err}") from None
    return exercises(nb, notebook)


def to_kit(nb: Any, notebook: str = "notebook") -> tuple[Any, list[str]]:
    """``nb`` (kit, nbgrader or otter markup, detected) in the kit's markup, and its manual parts.

    A new object; the markup is checked (:func:`check_markup`): errors are FormatError naming
    ``notebook`` and the cell.
    """
    if is_otter(nb):
        nb, manual = from_otter(nb, notebook)
    elif is_nbgrader(nb):
        nb, manual = from_nbgrader(nb, notebook)
    else:
        nb, manual = copy.deepcopy(nb), []
    check_markup(nb, notebook)
    return nb, manual


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
    """Whether the notebook at ``path`` (kit, nbgrader or otter markup) has at least one exercise."""
    return bool(check_markup(to_kit(read_notebook(path), Path(path).name)[0], Path(path).name))


def generate(solution_nb_path: str | Path, out_dir: str | Path) -> Path:
    """Write the student copy of a solution notebook into ``out_dir``; return its path.

    The solution may be in the kit's, nbgrader's or otter's markup (:func:`to_kit`).
    """
    import nbformat

    path = Path(solution_nb_path)
    nb = to_kit(read_notebook(path), path.name)[0]
    if not exercises(nb):
        raise FormatError(
            f'{path}: no exercise cells; mark them with {{"kit": {{"exercise": "q1"}}}} or '
            "'# EXERCISE q1', nbgrader's autograded answers or otter's '# BEGIN QUESTION' cells"
        )
    student = student_notebook(nb, path.stem)
    out = Path(out_dir) / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, str(out))
    return out
