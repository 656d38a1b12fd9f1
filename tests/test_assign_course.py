"""The course notebooks' exercises, validated like `nbgrader validate --invert`: every exercise's
checks pass on the solution notebook (notebooks/) and fail on the generated student notebook.

CI validates the exercise slice (setup cells + exercise cells, seconds per notebook) of the generated
student copies; nbval runs the whole solution notebooks, exercise, check and hidden cells included,
in quick mode, which is the "passes on the solution" half (so the slice's solution run is skipped). The whole-notebook
validation is `python scripts/assignments.py validate notebooks/`."""

import re

import pytest

from helpers.kit import config
from helpers.kit.assign import notebook

NOTEBOOKS = sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS if notebook.has_exercises(p)]


def test_some_course_notebooks_have_exercises():
    assert [p.name[:2] for p in WITH_EXERCISES], "no course notebook has an exercise yet"
    assert "00" in [p.name[:2] for p in WITH_EXERCISES]


@pytest.fixture(scope="module")
def validations():
    """Every course notebook's exercise slice validated, two notebooks at a time."""
    import os

    from helpers.kit.assign.grader import validate_many

    previous = os.environ.get("KIT_MODE")
    os.environ["KIT_MODE"] = "quick"  # inherited by the worker processes and their kernels
    try:
        # the solutions' checks and hidden tests run under nbval (notebooks/ in the same CI run)
        return validate_many(WITH_EXERCISES, workers=2, exercises_only=True, run_solution=False)
    finally:
        if previous is None:
            os.environ.pop("KIT_MODE", None)
        else:
            os.environ["KIT_MODE"] = previous


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_exercises_fail_on_the_student_copy(path, validations):
    ok, problems = validations[path]
    assert ok, "\n".join(problems)


def test_every_notebook_has_its_exercises():
    # the course's plan: 3 graded exercises in 01, 02, 03, 07 and 08; at least 2 everywhere else
    import nbformat

    from helpers.kit.assign.notebook import exercises

    counts = {p.name[:2]: len(exercises(nbformat.read(p, as_version=4))) for p in NOTEBOOKS}
    wanted = {n: (3 if n in ("01", "02", "03", "07", "08") else 2) for n in counts}
    short = {n: f"{counts[n]} < {wanted[n]}" for n in counts if counts[n] < wanted[n]}
    assert not short, f"notebooks with too few exercises: {short}"


def test_every_course_check_is_used_by_a_notebook_and_exists():
    import json

    import helpers.kit.assign.course  # noqa: F401
    from helpers.kit.assign import checks

    used = set()
    for path in WITH_EXERCISES:
        for cell in json.loads(path.read_text())["cells"]:
            used.update(re.findall(r'checks\.run\("([^"]+)"', "".join(cell["source"])))
    registered = {n for n in checks.names() if not n.startswith("demo.")}
    assert used - registered == set(), "check cells call checks that do not exist"
    assert registered - used == set(), "checks that no notebook uses"


def test_the_course_checks_give_actionable_feedback():
    import numpy as np

    from helpers.kit.assign import checks
    from helpers.kit.assign.feedback import CheckFailed

    def class_counts(labels, num_classes=10):
        return np.bincount(labels)  # forgets classes that never occur at the end

    with pytest.raises(CheckFailed, match=r"class_counts\(\[2, 0, 2, 2\], 4\)"):
        checks.run("00.class_counts", {"class_counts": class_counts})

    def normalise(images):
        return images / 255  # no channel axis, float64

    with pytest.raises(CheckFailed, match="normalise"):
        checks.run("00.normalise", {"normalise": normalise})
    with pytest.raises(CheckFailed, match="no function called `normalise`"):
        checks.run("00.normalise", {})
