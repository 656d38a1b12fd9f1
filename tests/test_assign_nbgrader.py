"""nbgrader's own example (problem set 1, problem 1) through generate, validate and grade.

Its autograded answers become exercises and its autograded tests checks with their own points, so a
submission earns partial credit; the parts nbgrader grades by hand are listed, not scored.
"""

import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from helpers.kit.assign import generate, grade, validate
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
    with pytest.raises(FormatError, match=r"^ps1\.ipynb: cell 1 \(t0\) is an autograded test"):
        from_nbgrader(nb, "ps1.ipynb")


def test_validate_passes_on_the_solution_and_fails_on_the_student_copy():
    result = validate(FIXTURE, timeout=20, notebook_timeout=60)
    assert result.ok, result.problems


def test_partial_credit_per_test_cell(tmp_path):
    instructor = tmp_path / "instructor"
    instructor.mkdir()
    solution = instructor / "problem1.ipynb"
    shutil.copyfile(FIXTURE, solution)
    student = nbformat.read(generate(solution, tmp_path / "release"), as_version=4)
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
    shutil.copyfile(tmp_path / "release" / "problem1.ipynb", subs / "blank.ipynb")
    grade(subs, solution, tmp_path / "grades.csv", timeout=20, notebook_timeout=60)
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    partial = rows["partial"]
    assert (partial["squares"], partial["sum_of_squares"], partial["total"]) == ("2", "0.5", "2.5")
    assert partial["max"] == "3" and "1 of 2 checks passed" in partial["reason"]
    assert rows["blank"]["total"] == "0"
    feedback = (tmp_path / "feedback" / "partial.md").read_text()
    assert "Graded by hand (not included above):" in feedback
    assert "- sum_of_squares_application (2 points)" in feedback
