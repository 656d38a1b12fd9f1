"""nbgrader's own example (problem set 1, problem 1) through generate, validate and grade.

Its autograded answers become exercises and its autograded tests checks with their own points, so a
submission earns partial credit; the parts nbgrader grades by hand are listed, not scored.
"""

import csv
import shutil
from pathlib import Path

import nbformat
import pytest
from assign_testing import cli as _cli

from helpers.kit.assign import generate, validate
from helpers.kit.assign.grader import load_solution
from helpers.kit.assign.notebook import FormatError, cell_role, from_nbgrader

FIXTURE = Path(__file__).parent / "fixtures" / "nbgrader" / "problem1.ipynb"


def test_answers_become_exercises_and_tests_checks_with_their_points():
    solution = load_solution(FIXTURE)
    assert {n: ex.points for n, ex in solution.exercises.items()} == {
        "squares": 2,
        "sum_of_squares": 1,
    }
    assert sorted(solution.exercises["sum_of_squares"].check_points.values()) == [0.5, 0.5]
    assert solution.manual == [
        "sum_of_squares_equation (1 points)",
        "sum_of_squares_application (2 points)",
        "cell-938593c4a215c6cc (4 points)",
    ]


def test_a_test_above_every_answer_is_one_line_naming_the_cell():
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("assert True"))
    nb.cells[0].metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "grade_id": "t0",
        "points": 1,
    }
    with pytest.raises(
        FormatError, match=r"^ps1\.ipynb: cell 1 \(grade_id t0\) is an autograded test"
    ):
        from_nbgrader(nb, "ps1.ipynb")


def test_validate_passes_on_the_solution_and_fails_on_the_student_copy():
    result = validate(FIXTURE, timeout=20, notebook_timeout=60)
    assert result.ok, result.problems


def test_generate_replaces_every_solution_even_without_markers(tmp_path):
    """nbgrader replaces a solution cell without markers as a whole; so does the kit."""
    student = nbformat.read(generate(FIXTURE, tmp_path), as_version=4)
    text = "\n".join(c.source for c in student.cells)
    for gone in ("i ** 2", "sum(squares(n))", "\\sum_{i=1}", "return sum_of_squares(n)", "BEGIN"):
        assert gone not in text, gone
    assert student.cells[14].source == "YOUR ANSWER HERE"  # the equation, graded by hand
    assert student.cells[16].source.splitlines()[0] == "# TODO: your code here"
    assert student.cells[5].source == nbformat.read(FIXTURE, as_version=4).cells[5].source
    assert student.cells[5].metadata["nbgrader"]["points"] == 1  # nbgrader's metadata kept


def test_partial_credit_per_test_cell(tmp_path, capsys):
    """generate | validate | grade on the command line; a submission released by nbgrader itself
    (nbgrader's metadata only) is graded like the kit's student copy."""
    instructor = tmp_path / "instructor"
    instructor.mkdir()
    solution = instructor / "problem1.ipynb"
    shutil.copyfile(FIXTURE, solution)
    main = _cli()
    assert main(["generate", str(solution), str(tmp_path / "release")]) == 0
    assert main(["validate", str(solution), "--timeout", "20"]) == 0
    assert "problem1.ipynb: OK" in capsys.readouterr().out
    student = nbformat.read(tmp_path / "release" / "problem1.ipynb", as_version=4)
    answers = {
        # squares right; sum_of_squares right but recomputing the squares itself, so the test
        # that it calls squares() fails: 2 + 0.5 of 3 points
        "squares": "def squares(n):\n    if n < 1:\n        raise ValueError('n >= 1')\n"
        "    return [i ** 2 for i in range(1, n + 1)]",
        "sum_of_squares": "def sum_of_squares(n):\n    return sum(i * i for i in range(1, n + 1))",
    }
    for cell in student.cells:
        role = cell_role(cell)
        if role and role[0] == "exercise":
            cell.source = answers[role[1]]
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(student, subs / "partial.ipynb")
    for cell in student.cells:  # as nbgrader's own release would be: no kit metadata
        cell.metadata.pop("kit", None)
    student.metadata.pop("kit", None)
    nbformat.write(student, subs / "released_by_nbgrader.ipynb")
    shutil.copyfile(tmp_path / "release" / "problem1.ipynb", subs / "blank.ipynb")
    argv = [str(subs), str(solution), str(tmp_path / "grades.csv"), "--timeout", "20"]
    assert main(["grade", *argv, "--notebook-timeout", "60", "--workers", "1"]) == 0
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    for name in ("partial", "released_by_nbgrader"):
        row = rows[name]
        assert (row["squares"], row["sum_of_squares"], row["total"]) == ("2", "0.5", "2.5"), name
        assert row["max"] == "3" and "1 of 2 checks passed" in row["reason"]
    assert rows["blank"]["total"] == "0"
    feedback = (tmp_path / "feedback" / "partial.md").read_text()
    assert "Graded by hand (not included above):" in feedback
    assert "- sum_of_squares_application (2 points)" in feedback
