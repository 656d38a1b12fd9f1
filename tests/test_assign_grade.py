"""Dry run of the assignment engine: generate, fill, grade a folder of good and broken submissions.

Every graded submission starts a real kernel (about a second each here): the module grades one
folder once and the tests read its CSV and feedback files.
"""

import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from assign_testing import FIXTURE, SCRIPT
from assign_testing import exercise_answers as _solutions

from helpers.kit.assign import generate, grade, validate
from helpers.kit.assign.grader import grade_notebook, load_solution
from helpers.kit.assign.notebook import cell_role

CELL_TIMEOUT = 3


def _submission(student_nb, answers=None, drop=None):
    """A copy of the student notebook with some exercise cells answered and some roles dropped."""
    nb = nbformat.from_dict(student_nb)
    kept = []
    for cell in nb.cells:
        role = cell_role(cell)
        if role and drop and role[0] in drop:
            if drop[role[0]] == "cell":
                continue
            cell.metadata.pop("kit", None)  # metadata lost, and the header line edited away
            cell.source = "\n".join(
                line for line in cell.source.splitlines() if not line.startswith("# EXERCISE")
            )
        if role and role[0] == "exercise" and answers and role[1] in answers:
            cell.source = answers[role[1]]
        kept.append(cell)
    nb.cells = kept
    return nb


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("assign")
    instructor = root / "instructor"
    instructor.mkdir()
    solution = instructor / "solution.ipynb"
    shutil.copyfile(FIXTURE, solution)
    before = _sha(solution)
    student_path = generate(solution, root / "release")
    student = nbformat.read(student_path, as_version=4)
    answers = _solutions()
    subs = root / "submissions"
    subs.mkdir()

    def write(name, nb):
        nbformat.write(nb, subs / f"{name}.ipynb")

    write("full", _submission(student, answers))
    write("blank", _submission(student))
    (subs / "broken_json.ipynb").write_text('{"cells": [', encoding="utf-8")
    write("loop", _submission(student, {"q1": "while True:\n    pass", "q2": answers["q2"]}))
    write("kill", _submission(student, {"q1": answers["q1"], "q2": "import os\n\nos._exit(1)"}))
    write("no_checks", _submission(student, answers, drop={"check": "cell"}))
    write("lost_cells", _submission(student, drop={"exercise": "metadata"}))
    no_clip = answers["q2"].replace("np.clip(q, -128, 127)", "q")
    write("hidden_fails", _submission(student, {"q1": answers["q1"], "q2": no_clip}))
    sneaky = answers["q1"] + (
        "\n\nimport os\n"
        "for target in ['solution.ipynb', '../solution.ipynb', '../instructor/solution.ipynb',\n"
        "               '../../instructor/solution.ipynb', '../../../instructor/solution.ipynb']:\n"
        "    try:\n"
        "        with open(target, 'w') as f:\n"
        "            f.write('overwritten')\n"
        "    except OSError:\n"
        "        pass\n"
        "for value in os.environ.values():\n"
        "    if value.endswith('.ipynb') and os.path.exists(value):\n"
        "        open(value, 'w').write('overwritten')\n"
    )
    write("sneaky", _submission(student, {"q1": sneaky}))
    # A student who knows the absolute path cannot write it in the sandbox (unsandboxed: detected
    # and undone, see test_an_unsandboxed_run_detects_and_undoes_a_changed_solution).
    tamper = answers["q1"] + f"\n\nopen({str(solution)!r}, 'w').write('overwritten')\n"
    write("tamper", _submission(student, {"q1": tamper}))
    folder = subs / "folder_student"
    folder.mkdir()
    nbformat.write(_submission(student, answers), folder / "solution.ipynb")
    out_csv = root / "grades" / "grades.csv"
    grade(subs, solution, out_csv, timeout=CELL_TIMEOUT, notebook_timeout=60)
    with open(out_csv, newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {
        "rows": rows,
        "csv": out_csv,
        "feedback": root / "grades" / "feedback",
        "solution": solution,
        "before": before,
        "header": out_csv.read_text().splitlines()[0],
    }


def _points(row):
    return row["q1"], row["q2"], row["total"], row["max"], row["status"]


def test_one_row_per_submission_with_header(graded):
    assert graded["header"] == "student,q1,q2,total,max,status,sandbox,reason"
    assert set(graded["rows"]) == {
        "full", "blank", "broken_json", "loop", "kill", "no_checks", "lost_cells",
        "hidden_fails", "sneaky", "tamper", "folder_student",
    }  # fmt: skip
    assert {p.stem for p in graded["feedback"].glob("*.md")} == set(graded["rows"])


def test_full_and_blank(graded):
    rows = graded["rows"]
    assert _points(rows["full"]) == ("2", "3", "5", "5", "ok")
    assert rows["full"]["reason"] == "all checks passed"
    assert _points(rows["folder_student"]) == ("2", "3", "5", "5", "ok")
    assert _points(rows["blank"]) == ("0", "0", "0", "5", "ok")
    assert "NotImplementedError: q1: write your solution here" in rows["blank"]["reason"]


def test_broken_submissions_still_get_a_row(graded):
    rows = graded["rows"]
    assert _points(rows["broken_json"]) == ("0", "0", "0", "5", "invalid_notebook")
    assert "not a readable notebook" in rows["broken_json"]["reason"]
    assert _points(rows["loop"]) == ("0", "3", "3", "5", "timeout")
    assert "exercise q1" in rows["loop"]["reason"] and f"{CELL_TIMEOUT} s" in rows["loop"]["reason"]
    assert _points(rows["kill"]) == ("2", "0", "2", "5", "kernel_died")
    assert "kernel died" in rows["kill"]["reason"] and "q2" in rows["kill"]["reason"]
    assert _points(rows["lost_cells"]) == ("0", "0", "0", "5", "no_exercises")


def test_instructor_checks_replace_deleted_ones_and_hidden_tests_count(graded):
    rows = graded["rows"]
    assert _points(rows["no_checks"]) == ("2", "3", "5", "5", "ok")
    notes = (graded["feedback"] / "no_checks.md").read_text()
    assert "deleted or edited" in notes and "instructor's checks" in notes
    assert _points(rows["hidden_fails"]) == ("2", "0", "2", "5", "ok")
    assert (
        "q2: the check failed: CheckFailed: quantize(100.0, 0.1, 0) (clipped): found -24"
        in (rows["hidden_fails"]["reason"])
    )


def test_solution_folder_is_out_of_reach(graded):
    assert _sha(graded["solution"]) == graded["before"]
    assert _points(graded["rows"]["sneaky"]) == ("2", "0", "2", "5", "ok")
    tamper = graded["rows"]["tamper"]
    assert _points(tamper) == ("0", "0", "0", "5", "ok") and tamper["sandbox"] == "bwrap"
    assert "FileNotFoundError" in tamper["reason"] or "PermissionError" in tamper["reason"]


def test_an_unsandboxed_run_detects_and_undoes_a_changed_solution(tmp_path):
    solution = tmp_path / "instructor" / "solution.ipynb"
    solution.parent.mkdir()
    shutil.copyfile(FIXTURE, solution)
    before = _sha(solution)
    student = nbformat.read(generate(solution, tmp_path / "release"), as_version=4)
    tamper = _solutions()["q1"] + f"\n\nopen({str(solution)!r}, 'w').write('overwritten')\n"
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(_submission(student, {"q1": tamper}), subs / "tamper.ipynb")
    (row,) = grade(subs, solution, tmp_path / "g.csv", timeout=CELL_TIMEOUT, sandbox=False)
    assert row.status == "tampered" and "restored" in row.reason and row.sandbox == "none"
    assert _sha(solution) == before


def test_feedback_file_lists_each_exercise_and_first_failure(graded):
    text = (graded["feedback"] / "blank.md").read_text()
    assert "**Total: 0 / 5**" in text
    assert "| q1 | 0 / 2 | failed: the check failed: NotImplementedError: q1:" in text
    assert "| q2 | 0 / 3 |" in text
    assert "| q1 | 2 / 2 | passed |" in (graded["feedback"] / "full.md").read_text()


def test_notebook_time_limit_stops_the_run(tmp_path):
    student = nbformat.read(generate(FIXTURE, tmp_path / "out"), as_version=4)
    answers = _solutions()
    slow = _submission(student, {"q1": "import time\n\ntime.sleep(30)", "q2": answers["q2"]})
    path = tmp_path / "slow.ipynb"
    nbformat.write(slow, path)
    result = grade_notebook(load_solution(FIXTURE), path, "slow", 20, notebook_timeout=2)
    assert result.status == "timeout" and result.total == 0
    assert "notebook exceeded its 2 s limit in cell 2 (exercise q1)" in result.reason
    assert result.exercises["q2"].message.endswith(
        "was not run (an earlier cell stopped the notebook)"
    )


def test_validate_passes_on_solution_and_fails_on_student_copy(tmp_path):
    result = validate(FIXTURE, timeout=10)
    assert result.ok, result.problems
    assert all(r.passed for r in result.solution.exercises.values())
    assert not any(r.passed for r in result.student.exercises.values())
    # An exercise whose check does not test anything is caught.
    nb = nbformat.read(FIXTURE, as_version=4)
    for cell in nb.cells:
        if cell_role(cell) and cell_role(cell)[:2] in (("check", "q1"), ("hidden", "q1")):
            cell.source = "pass"
    weak = tmp_path / "weak.ipynb"
    nbformat.write(nb, weak)
    problems = validate(weak, timeout=10).problems
    assert problems == ["q1: passes on the student copy (the checks do not test it)"]
    # run_solution=False grades the student copy only: the same verdict, no solution result
    only_student = validate(weak, timeout=10, run_solution=False)
    assert only_student.problems == problems and only_student.solution is None


def test_cli_generate_validate_grade(tmp_path):
    def cli(*args):
        return subprocess.run(
            [sys.executable, str(SCRIPT), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    assert "not committed" in cli("generate", "--help").stdout
    source = tmp_path / "src"
    source.mkdir()
    shutil.copyfile(FIXTURE, source / "solution.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), source / "plain.ipynb")  # no exercises: skipped
    done = cli("generate", source, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["solution.ipynb"]
    done = cli("validate", FIXTURE)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copyfile(tmp_path / "out" / "solution.ipynb", subs / "s1.ipynb")
    done = cli("grade", subs, source, tmp_path / "g.csv", "--timeout", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "g.csv").read_text().splitlines()[1].startswith("s1,0,0,0,5,ok,")
    assert (tmp_path / "feedback" / "s1.md").exists()


def test_validate_exercises_only_runs_the_slice_and_names_a_missing_setup_cell(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    def notebook(setup_metadata):
        return new_notebook(
            cells=[
                new_code_cell("data = [1, 2, 3]", metadata=setup_metadata),
                new_code_cell("raise RuntimeError('a long training: never run in the slice')"),
                new_code_cell(
                    "def total(xs):\n    ### BEGIN SOLUTION\n    return sum(xs)\n    ### END SOLUTION",
                    metadata={"kit": {"exercise": "q1", "points": 1}},
                ),
                new_code_cell("assert total(data) == 6", metadata={"kit": {"check": "q1"}}),
            ]
        )

    good = tmp_path / "good.ipynb"
    nbformat.write(notebook({"kit": {"setup": True}}), good)
    result = validate(good, timeout=20, exercises_only=True)
    assert result.ok, result.problems
    missing = tmp_path / "missing.ipynb"
    nbformat.write(notebook({}), missing)
    problems = validate(missing, timeout=20, exercises_only=True).problems
    assert any("q1: fails on the solution" in p and "data" in p for p in problems), problems
