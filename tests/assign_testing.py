"""What the grading tests share: the fixture assignment, its answers, submissions, the CLI."""

import importlib.util
from pathlib import Path

import nbformat

from helpers.kit.assign.notebook import cell_role

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "assignments.py"
FIXTURE = Path(__file__).parent / "fixtures" / "assign" / "solution.ipynb"  # two exercises


def exercise_answers(path: Path = FIXTURE) -> dict[str, str]:
    """``{exercise: source}`` of the solution notebook's exercise cells."""
    nb = nbformat.read(path, as_version=4)
    return {
        cell_role(c)[1]: c.source
        for c in nb.cells
        if cell_role(c) and cell_role(c)[0] == "exercise"
    }


def with_answers(student_nb, answers: dict[str, str]):
    """A copy of the student notebook with the exercise cells named in ``answers`` filled in."""
    nb = nbformat.from_dict(student_nb)
    for cell in nb.cells:
        role = cell_role(cell)
        if role and role[0] == "exercise" and role[1] in answers:
            cell.source = answers[role[1]]
    return nb


def cli():
    """scripts/assignments.py's ``main()``, imported from its file (the commands the README shows)."""
    spec = importlib.util.spec_from_file_location("assignments_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main
