"""Broken solution notebooks (kit, nbgrader and otter markup): one clear line, exit code 2.

Every format error reaches the instructor as ONE ``error:`` line on stderr that names the notebook
and the cell (its 1-based index and its id or grade_id) and says what to do; never a traceback.
"""

import re
import subprocess
import sys

import nbformat
import pytest
from assign_testing import SCRIPT
from assign_testing import cli as _cli
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell


def _cell(cell, cell_id):
    cell["id"] = cell_id
    return cell


def _nbgrader(cell_id, source, **meta):
    return _cell(new_code_cell(source, metadata={"nbgrader": meta}), cell_id)


def _otter(*cells):
    """An otter question q1 around ``cells`` (raw strings become raw cells, others code cells)."""
    made = [new_raw_cell(c) if c.startswith("# ") else new_code_cell(c) for c in cells]
    return [_cell(c, f"c{i}") for i, c in enumerate(made)]


Q1 = ["# BEGIN QUESTION\nname: q1", "# BEGIN SOLUTION", "x = 1  # SOLUTION", "# END SOLUTION"]
TESTS = ["# BEGIN TESTS", "assert x == 1", "# END TESTS", "# END QUESTION"]
ANSWER = {"solution": True, "grade": False, "grade_id": "answer"}

BROKEN = {
    "kit_missing_end_solution": (
        [_cell(new_code_cell("# EXERCISE q1\n### BEGIN SOLUTION\nx = 1"), "ex1")],
        r"cell 1 \(id ex1\): '### BEGIN SOLUTION' without '### END SOLUTION'; add it",
    ),
    "kit_check_before_exercise": (
        [_cell(new_code_cell("# CHECK q1\nassert x == 1"), "chk")],
        r"cell 1 \(id chk\): check cell for 'q1' before its exercise cell; move it below",
    ),
    "nbgrader_test_without_points": (
        [
            _nbgrader("a", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", **ANSWER),
            _nbgrader("t", "assert x == 1", solution=False, grade=True, grade_id="test_x"),
        ],
        r"cell 2 \(grade_id test_x\): a graded cell without points; give it points",
    ),
    "nbgrader_duplicated_grade_id": (
        [
            _nbgrader("a", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", **ANSWER),
            _nbgrader("b", "### BEGIN SOLUTION\ny = 1\n### END SOLUTION", **ANSWER),
        ],
        r"cell 2 \(grade_id answer\): grade_id 'answer' is used by cell 1 too",
    ),
    "otter_missing_end_solution": (
        _otter(*Q1[:3], *TESTS),
        r"cell 4 \(id c3\): '# BEGIN TESTS' while the '# BEGIN SOLUTION' block of cell 2 is "
        r"open; add '# END SOLUTION' before it",
    ),
    "otter_duplicated_question_names": (
        _otter(*Q1, *TESTS, *Q1, *TESTS),
        r"cell 9 \(id c8\): question name 'q1' is used by cell 1 too; give each question",
    ),
    "otter_unknown_marker": (
        _otter(*Q1, "# BEGIN ANSWER", *TESTS),
        r"cell 5 \(id c4\): unknown otter marker '# BEGIN ANSWER'; use one of # BEGIN QUESTION",
    ),
    "otter_points_per_test_mismatch": (
        _otter("# BEGIN QUESTION\nname: q1\npoints: [1, 2]", *Q1[1:], *TESTS),
        r"cell 8 \(id c7\): 'points' lists 2 values for 1 test cells; give one value per test",
    ),
    "otter_question_not_closed": (
        _otter(*Q1, *TESTS[:3]),
        r"cell 1 \(id c0\): question 'q1' has no '# END QUESTION'; add that raw cell",
    ),
    "otter_bad_yaml": (
        _otter("# BEGIN QUESTION\nname: [q1", *Q1[1:], *TESTS),
        r"cell 1 \(id c0\): the question config is not valid YAML \(.*\); fix it",
    ),
    "otter_test_does_not_parse": (
        _otter(*Q1, "# BEGIN TESTS", "x ==", *TESTS[2:]),
        r"cell 6 \(id c5\): the test does not parse \(invalid syntax, line 1\)",
    ),
    "otter_manual_question_without_points": (
        _otter("# BEGIN QUESTION\nname: essay\nmanual: true", "# END QUESTION"),
        r"cell 2 \(id c1\): manual question 'essay' has no 'points: N' \(otter needs them too\)",
    ),
    "otter_question_without_tests": (
        _otter(*Q1, "# END QUESTION"),
        r"cell 5 \(id c4\): question 'q1' has no test cell; add a '# BEGIN TESTS' block, or set "
        r"'manual: true'",
    ),
}


def _write(tmp_path, name, cells):
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_one_line_naming_notebook_and_cell(tmp_path, capsys, case):
    cells, expected = BROKEN[case]
    path = _write(tmp_path, case, cells)
    main = _cli()
    for argv in (["generate", str(path), str(tmp_path / "out")], ["validate", str(path)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith(f"error: {case}.ipynb: "), err
        assert re.search(expected, err), err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_not_json_and_not_a_notebook(tmp_path, capsys):
    main = _cli()
    for name, text in (("broken.ipynb", '{"cells": [}'), ("list.ipynb", "[1, 2]")):
        path = tmp_path / name
        path.write_text(text)
        assert main(["generate", str(path), str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: not a readable notebook (") and err.count("\n") == 1


def test_grade_and_the_real_command_line(tmp_path, capsys):
    """grade refuses the broken solution before any submission runs; the command line itself
    (a process of its own) prints the same single line."""
    cells, _ = BROKEN["otter_unknown_marker"]
    path = _write(tmp_path, "bad", cells)
    (tmp_path / "subs").mkdir()
    argv = ["grade", tmp_path / "subs", path, tmp_path / "grades.csv", "--no-sandbox"]
    assert _cli()([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.ipynb: cell 5 (id c4): unknown otter marker"), err
    assert not (tmp_path / "grades.csv").exists()
    run = subprocess.run(
        [sys.executable, SCRIPT, *map(str, argv)], capture_output=True, text=True, timeout=120
    )
    assert (run.returncode, run.stderr) == (2, err)


def test_a_markdown_answer_without_end_marker(tmp_path, capsys):
    cells = [
        _cell(new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause."), "why"),
        _cell(new_code_cell("# EXERCISE q1\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "e"),
    ]
    path = _write(tmp_path, "md", cells)
    assert _cli()(["generate", str(path), str(tmp_path / "out")]) == 2
    assert (
        "error: md.ipynb: cell 1 (id why): '### BEGIN SOLUTION' without" in capsys.readouterr().err
    )
