"""The course notebooks' exercises, validated like `nbgrader validate --invert`: every exercise's
checks pass on the solution notebook (notebooks/) and fail on the generated student notebook."""

import pytest

from helpers import config
from helpers.assign import notebook

NOTEBOOKS = sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS if notebook.has_exercises(p)]


def test_some_course_notebooks_have_exercises():
    assert [p.name[:2] for p in WITH_EXERCISES], "no course notebook has an exercise yet"
    assert "00" in [p.name[:2] for p in WITH_EXERCISES]


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_exercises_pass_on_the_solution_and_fail_on_the_student_copy(path, monkeypatch):
    from helpers.assign import validate

    monkeypatch.setenv("KIT_MODE", "quick")
    result = validate(path)
    assert result.ok, "\n".join(result.problems)


def test_the_course_checks_give_actionable_feedback():
    import numpy as np

    from helpers.assign import checks
    from helpers.assign.feedback import CheckFailed

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
