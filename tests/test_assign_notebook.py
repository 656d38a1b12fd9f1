"""helpers.kit.assign.notebook: the exercise format and generated student notebooks (no kernels)."""

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.kit.assign import generate
from helpers.kit.assign.notebook import FormatError, cell_role, exercises, strip_solutions

FIXTURE = Path(__file__).parent / "fixtures" / "assign" / "solution.ipynb"


def test_fixture_exercises_from_metadata_and_header_lines():
    nb = nbformat.read(FIXTURE, as_version=4)
    found = exercises(nb)
    assert list(found) == ["q1", "q2"]
    assert (found["q1"].points, found["q2"].points) == (2, 3)
    assert len(found["q1"].checks) == 1 and len(found["q1"].hidden) == 1
    assert len(found["q2"].checks) == 1 and found["q2"].hidden == []


def test_generate_strips_solutions_and_hidden_tests_keeps_metadata(tmp_path):
    solution = nbformat.read(FIXTURE, as_version=4)
    solution.cells[1].outputs = [new_output("stream", name="stdout", text="hi")]
    solution.cells[1].execution_count = 7
    source = tmp_path / "solution.ipynb"
    nbformat.write(solution, source)
    out = generate(source, tmp_path / "out")
    assert out == tmp_path / "out" / "solution.ipynb"
    student = nbformat.read(out, as_version=4)
    nbformat.validate(student)
    assert student.metadata["kit"]["assignment"] == "solution"
    code = [c for c in student.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    text = "\n".join(c.source for c in student.cells)
    for gone in (
        "BEGIN SOLUTION",
        "np.clip",
        "y_pred[mask]",
        "HIDDEN",
        "(clipped)",
        "[0.5, np.nan]",
    ):
        assert gone not in text
    roles = [cell_role(c) for c in code]
    assert [r[:2] for r in roles if r] == [
        ("exercise", "q1"),
        ("check", "q1"),
        ("exercise", "q2"),
        ("check", "q2"),
    ]
    q2 = next(c for c in code if c.metadata.get("kit", {}).get("exercise") == "q2")
    assert q2.metadata["kit"]["points"] == 3  # from the header line
    assert q2.source.splitlines()[-2:] == [
        "    # TODO: your code here",
        '    raise NotImplementedError("q2: write your solution here")',
    ]
    check_q2 = next(c for c in code if c.metadata.get("kit", {}).get("check") == "q2")
    assert "check_equal(" in check_q2.source and "print(" in check_q2.source
    assert nbformat.read(source, as_version=4).cells[3].source.count("BEGIN SOLUTION") == 1


def test_header_lines_are_upper_case_only():
    assert cell_role(new_code_cell("# Check that the shapes match\nx = 1")) is None
    assert cell_role(new_code_cell("# HIDDEN q3\nassert True")) == ("hidden", "q3", 1)


def test_strip_keeps_indentation_and_surrounding_code():
    source = "x = 1\nif x:\n        ### BEGIN SOLUTION\n        y = 2\n        ### END SOLUTION\nprint(x)"
    assert strip_solutions(source, "q9") == (
        "x = 1\nif x:\n        # TODO: your code here\n"
        '        raise NotImplementedError("q9: write your solution here")\nprint(x)'
    )


@pytest.mark.parametrize(
    "cells",
    [
        [new_code_cell("# CHECK q1\npass")],  # check before its exercise
        [new_code_cell("# EXERCISE q1\n### BEGIN SOLUTION\nx = 1")],  # unterminated block
        [new_code_cell("# EXERCISE q1\nx = 1\n### END SOLUTION")],  # end without begin
    ],
)
def test_inconsistent_markup_is_reported(tmp_path, cells):
    path = tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    with pytest.raises(FormatError):
        generate(path, tmp_path / "out")


def test_markdown_answers_and_notebooks_without_exercises(tmp_path):
    nb = new_notebook(
        cells=[
            new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
            new_code_cell(
                "# EXERCISE q1 (1.5 points)\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
            ),
        ]
    )
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    student = nbformat.read(generate(path, tmp_path / "out"), as_version=4)
    assert student.cells[0].source == "Why?\nYOUR ANSWER HERE"
    assert student.cells[1].metadata["kit"] == {"exercise": "q1", "points": 1.5}
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), path)
    with pytest.raises(FormatError, match="no exercise cells"):
        generate(path, tmp_path / "out")


def test_exercise_slice_keeps_setup_and_exercise_cells_only():
    from helpers.kit.assign.notebook import exercise_slice

    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_code_cell("import numpy as np", metadata={"kit": {"setup": True}}),
            new_code_cell("model.fit(x, y, epochs=30)  # a training: not in the slice"),
            new_code_cell("x = np.arange(3)", metadata={"kit": {"setup": False}}),
            new_code_cell(
                "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
                metadata={"kit": {"exercise": "q1", "points": 2}},
            ),
            new_code_cell("# CHECK q1\nassert f(1) == 1"),
            new_code_cell("assert f(2) == 2", metadata={"kit": {"hidden": "q1"}}),
        ]
    )
    sliced = exercise_slice(nb)
    assert [c.source.splitlines()[0] for c in sliced.cells] == [
        "import numpy as np",
        "def f(x):",
        "# CHECK q1",
        "assert f(2) == 2",
    ]
    assert len(nb.cells) == 7  # the original is unchanged
    assert list(exercises(sliced)) == ["q1"]
