"""Every name a check or hidden-test cell reads exists when only the exercise slice runs.

`grade` runs the exercise slice by default (set-up, exercise, check and hidden cells). A check
that reads a value computed by a lesson cell (a sweep table, the calibration images) finds no
such name there and fails on every submission, correct ones included. This test finds those
names statically, for every course notebook, in milliseconds.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import nbformat
import pytest

from helpers.kit.assign.judge import bound_names, python_source
from helpers.kit.assign.notebook import cell_role, cell_source, is_setup_cell

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _read_names(source: str) -> set[str]:
    """Names a cell reads (loads), minus builtins."""
    tree = ast.parse(python_source(source))
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return loaded - set(dir(builtins))


def unbound_names(path: Path) -> dict[str, set[str]]:
    """``{"cell N (role q)": names}`` read by a check/hidden cell but bound by no slice cell."""
    nb = nbformat.read(path, as_version=4)
    bound: set[str] = set()
    missing: dict[str, set[str]] = {}
    for index, cell in enumerate(nb.cells):
        role = cell_role(cell)
        if cell.cell_type != "code" or not (is_setup_cell(cell) or role):
            continue
        source = cell_source(cell)
        if role and role[0] in ("check", "hidden"):
            unknown = _read_names(source) - bound - bound_names([source])
            if unknown:
                missing[f"cell {index} ({role[0]} {role[1]})"] = unknown
        bound |= bound_names([source])
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checks_read_only_names_the_exercise_slice_binds(path):
    assert unbound_names(path) == {}, (
        f"{path.name}: check/hidden cells read names that only lesson cells define; grading the "
        "exercise slice would fail every submission: build the inputs in the check, or mark the "
        "cell that defines them as set-up"
    )


def test_the_finder_sees_a_lesson_value(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np", metadata={"kit": {"setup": True}}),
        nbformat.v4.new_code_cell("table = np.ones(3)"),  # a lesson cell: not in the slice
        nbformat.v4.new_code_cell(
            "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
            metadata={"kit": {"exercise": "q1"}},
        ),
        nbformat.v4.new_code_cell(
            "y = np.zeros(2)\nassert f(y) is not None and f(table) is not None",
            metadata={"kit": {"check": "q1"}},
        ),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert unbound_names(path) == {"cell 3 (check q1)": {"table"}}
