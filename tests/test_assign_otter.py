"""An otter-grader master notebook (v1 format) through generate, validate and grade.

The fixture (tests/fixtures/otter/normalize.ipynb, pure NumPy) has three questions: q1 with two
visible tests (an OK-format output test and an assert with its own points), q2 with a visible test
and a hidden one (``points: [1, 2]``), and q3 graded by hand. Its tests become kit checks with their
own points, so a submission earns partial credit.
"""

import csv
import shutil
from pathlib import Path

import nbformat
import pytest
from assign_testing import with_answers as _submission
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from helpers.kit.assign import generate, grade, validate
from helpers.kit.assign.grader import load_solution
from helpers.kit.assign.notebook import cell_role, from_otter, is_otter, student_notebook, to_kit

FIXTURE = Path(__file__).parent / "fixtures" / "otter" / "normalize.ipynb"

SOLVED = {
    "q1": "def normalize(x):\n    x = np.asarray(x, dtype=float)\n"
    "    return (x - x.min()) / (x.max() - x.min())",
    "q2": "def softmax(z):\n    e = np.exp(np.asarray(z, dtype=float) - np.max(z))\n"
    "    return e / e.sum()",
}
HALF = {  # q1 right; q2 overflows for large inputs: the hidden test (2 of q2's 3 points) fails
    "q1": SOLVED["q1"],
    "q2": "def softmax(z):\n    e = np.exp(np.asarray(z, dtype=float))\n    return e / e.sum()",
}


def _question(name, solution, tests, points="1"):
    """The cells of one otter question: config, solution block, tests block."""
    return [
        new_raw_cell(f"# BEGIN QUESTION\nname: {name}\npoints: {points}"),
        new_raw_cell("# BEGIN SOLUTION"),
        new_code_cell(solution),
        new_raw_cell("# END SOLUTION"),
        new_raw_cell("# BEGIN TESTS"),
        *[new_code_cell(test) for test in tests],
        new_raw_cell("# END TESTS"),
        new_raw_cell("# END QUESTION"),
    ]


def test_questions_become_exercises_with_points_per_test():
    solution = load_solution(FIXTURE)
    assert {n: ex.points for n, ex in solution.exercises.items()} == {"q1": 2, "q2": 3}
    assert list(solution.exercises["q1"].check_points.values()) == [1, 1]
    assert list(solution.exercises["q2"].check_points.values()) == [1, 2]
    assert solution.manual == ["q3 (2 points)"]
    assert not any(c.cell_type == "raw" for c in solution.nb.cells)  # the markers are gone
    assert "## Ignore ##" not in "".join(c.source for c in solution.nb.cells)


def test_otter_point_rules():
    """Question points shared by the tests without their own, a list per test, {each: N}, none."""
    tests = ["assert f() == 1", '""" # BEGIN TEST CONFIG\npoints: 1\n""" # END TEST CONFIG\nf()']
    for points, expected in (
        ("3", [2, 1]),  # 3 - 1 (the test's own) for the other test
        ("[0.5, 1.5]", [0.5, 1.5]),
        ("{each: 2}", [3, 1]),  # 2 x 2 tests = 4, minus the 1 given
        ("null", [0, 1]),  # no total: the tests without points are worth 0 when one has points
    ):
        nb = new_notebook(
            cells=_question("q1", "def f():\n    return 1  # SOLUTION", tests, points)
        )
        converted, _ = to_kit(nb, "p.ipynb")
        got = [c.metadata["kit"]["points"] for c in converted.cells if cell_role(c)[0] == "check"]
        assert got == expected, points
    nb = new_notebook(cells=_question("q1", "x = 1  # SOLUTION", ["assert x == 1"] * 4, "null"))
    got = [c.metadata["kit"]["points"] for c in to_kit(nb)[0].cells if cell_role(c)[0] == "check"]
    assert got == [0.25] * 4  # no points anywhere: the question is worth 1


def test_solution_markers_become_kit_blocks():
    source = (
        "def f(x):\n    y = x * x  # SOLUTION NO PROMPT\n    return y  # SOLUTION\n"
        "def g(r):\n    # BEGIN SOLUTION NO PROMPT\n    return 2 * r\n    # END SOLUTION\n"
        '    """ # BEGIN PROMPT\n    pass\n    """; # END PROMPT\n'
        "z = g(1)  # SOLUTION\nprint(z)"
    )
    nb = new_notebook(cells=_question("q1", source, ["assert z == 2"]))
    cell = next(c for c in from_otter(nb)[0].cells if cell_role(c) == ("exercise", "q1", 0))
    assert cell.source.splitlines() == [
        "def f(x):",
        "    ### BEGIN SOLUTION",
        "    y = x * x",
        "    return y",
        "    ### END SOLUTION",
        "def g(r):",
        "    ### BEGIN SOLUTION",
        "    return 2 * r",
        "    ### END SOLUTION",
        "### BEGIN SOLUTION",
        "z = g(1)",
        "### END SOLUTION",
        "print(z)",
    ]
    nb = new_notebook(cells=_question("q1", "z = 2", ["assert z == 2"]))  # no marker: all of it
    cell = next(c for c in from_otter(nb)[0].cells if cell_role(c) == ("exercise", "q1", 0))
    assert cell.source == "### BEGIN SOLUTION\nz = 2\n### END SOLUTION"


def test_ok_format_test_compares_the_output_the_master_shows():
    nb = new_notebook(cells=_question("q1", "x = [1, 2]  # SOLUTION", ["y = x\ny", "x is None"]))
    test = next(c for c in nb.cells if c.source == "y = x\ny")
    test.outputs = [{"output_type": "execute_result", "data": {"text/plain": "[1,\n 2]"}}]
    test.outputs[0].update(metadata={}, execution_count=1)
    checks = [c.source for c in to_kit(nb)[0].cells if cell_role(c) and cell_role(c)[0] == "check"]
    namespace = {"x": [1, 2]}
    exec(checks[0], namespace)  # IPython's line-wrapped output matches the same list
    namespace["x"] = [1, 3]
    with pytest.raises(AssertionError, match=r"expected \[1,\n 2\], got \[1, 3\]"):
        exec(checks[0], namespace)
    with pytest.raises(AssertionError, match="expected no output"):  # no output shown: None
        exec(checks[1], {"x": [1, 2]})


def test_detection_and_kit_notebooks_unchanged():
    assert is_otter(nbformat.read(FIXTURE, as_version=4))
    kit = new_notebook(
        cells=[new_code_cell("# EXERCISE q1\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION")]
    )
    assert not is_otter(kit)
    assert to_kit(kit) == (kit, [])
    assert to_kit(kit)[0] is not kit


def test_generate_removes_solutions_hidden_tests_and_markers(tmp_path):
    student = nbformat.read(generate(FIXTURE, tmp_path), as_version=4)
    nbformat.validate(student)
    text = "\n".join(c.source for c in student.cells)
    for gone in ("z - z.max()", "x.min()", "1000.0", "BEGIN", "SOLUTION", "HIDDEN", "overflows"):
        assert gone not in text, gone
    assert not any(c.cell_type == "raw" for c in student.cells)
    roles = [cell_role(c)[:2] for c in student.cells if cell_role(c)]
    assert roles == [("exercise", "q1"), ("check", "q1"), ("check", "q1")] + [
        ("exercise", "q2"),
        ("check", "q2"),
        ("check", "q2"),  # the hidden test's cell, now only a comment
    ]
    assert "YOUR ANSWER HERE" in text  # the manual question's written answer
    assert 'raise NotImplementedError("q2: write your solution here")' in text
    assert all(c.outputs == [] for c in student.cells if c.cell_type == "code")


def test_validate_passes_on_the_master():
    result = validate(FIXTURE, timeout=20, notebook_timeout=60)
    assert result.ok, result.problems
    assert result.solution.total == 5 and result.student.total == 0


def test_grading_solved_blank_and_half_solved(tmp_path):
    instructor = tmp_path / "instructor"
    instructor.mkdir()
    master = instructor / "normalize.ipynb"
    shutil.copyfile(FIXTURE, master)
    release = generate(master, tmp_path / "release")
    student = nbformat.read(release, as_version=4)
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(_submission(student, SOLVED), subs / "solved.ipynb")
    nbformat.write(_submission(student, HALF), subs / "half.ipynb")
    shutil.copyfile(release, subs / "blank.ipynb")
    # one worker, in this process: parallel grading has its own tests (test_assign_parallel.py)
    grade(subs, master, tmp_path / "grades.csv", timeout=20, notebook_timeout=60, workers=1)
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    points = {s: (r["q1"], r["q2"], r["total"], r["max"]) for s, r in rows.items()}
    assert points == {
        "blank": ("0", "0", "0", "5"),
        "half": ("2", "1", "3", "5"),
        "solved": ("2", "3", "5", "5"),
    }
    assert "1 of 2 checks passed" in rows["half"]["reason"]
    assert all(r["status"] == "ok" for r in rows.values())
    feedback = (tmp_path / "feedback" / "half.md").read_text()
    assert "Graded by hand (not included above):\n- q3 (2 points)" in feedback


def test_manual_question_with_code_and_markdown_answers():
    cells = [
        new_raw_cell("# BEGIN QUESTION\nname: plot\nmanual: true\npoints: 3"),
        new_markdown_cell("Plot it."),
        new_raw_cell("# BEGIN PROMPT"),
        new_markdown_cell("_Type your answer here, replacing this text._"),
        new_raw_cell("# END PROMPT"),
        new_raw_cell("# BEGIN SOLUTION"),
        new_code_cell("plt.plot(x)  # SOLUTION"),
        new_markdown_cell("A line."),
        new_raw_cell("# END SOLUTION"),
        new_raw_cell("# END QUESTION"),
        *_question("q1", "x = 1  # SOLUTION", ["assert x == 1"]),
    ]
    converted, manual = to_kit(new_notebook(cells=cells), "m.ipynb")
    assert manual == ["plot (3 points)"]
    assert [c.source for c in converted.cells[:3]] == [
        "Plot it.",
        "### BEGIN SOLUTION\nplt.plot(x)\n### END SOLUTION",  # stripped in the student copy
        "### BEGIN SOLUTION\nA line.\n### END SOLUTION",
    ]
    assert cell_role(converted.cells[1]) is None  # not auto-graded


def test_exception_based_tests_call_their_function():
    """With ``tests: ok_format: false`` a test cell defines a function; the check calls it with
    the notebook's variables of the same names (``env``: all of them), the '# IGNORE' line gone."""
    test = (
        '""" # BEGIN TEST CONFIG\npoints: 2\n""" # END TEST CONFIG\n'
        "def test_x(x, env):\n    assert x == 1 and env['y'] == 2\n\ntest_x(x, globals())  # IGNORE"
    )
    cells = [new_raw_cell("# ASSIGNMENT CONFIG\ntests:\n    ok_format: false")]
    cells += _question("q1", "x = 1  # SOLUTION", [test], "null")
    converted, _ = to_kit(new_notebook(cells=cells))
    check = next(c for c in converted.cells if cell_role(c) and cell_role(c)[0] == "check")
    assert check.metadata["kit"]["points"] == 2
    assert "IGNORE" not in check.source and check.source.endswith("\ntest_x(x, globals())")
    exec(check.source, {"x": 1, "y": 2})
    with pytest.raises(AssertionError):
        exec(check.source, {"x": 1, "y": 3})


def test_markdown_cells_fenced_as_otter_are_markers():
    cells = [new_markdown_cell("```otter\n# BEGIN QUESTION\nname: q1\npoints: 2\n```")]
    cells += _question("q1", "x = 1  # SOLUTION", ["assert x == 1"])[1:]
    cells[-1] = new_markdown_cell("```otter\n# END QUESTION\n```")
    nb = new_notebook(cells=cells)
    assert is_otter(nb)
    converted, _ = to_kit(nb)
    assert [cell_role(c) for c in converted.cells] == [("exercise", "q1", 0), ("check", "q1", 2)]


def test_solution_markers_outside_questions_do_not_leak():
    cells = [new_code_cell("import numpy as np\nseed = 7  # SOLUTION")]
    cells += _question("q1", "x = seed  # SOLUTION", ["assert x == 7"])
    converted, _ = to_kit(new_notebook(cells=cells))
    assert converted.cells[0].metadata["kit"] == {"setup": True}
    student = student_notebook(converted, "a")
    assert "seed = 7" not in student.cells[0].source
    assert student.cells[0].source.startswith("import numpy as np\n# TODO: your code here")
