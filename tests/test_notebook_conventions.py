"""Every committed notebook follows the kit's conventions and carries outputs from a full-mode run."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")
)


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_topic.ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_opening_cells_title_badge_bootstrap_environment(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), (
        "cell 1: a '# Title' markdown cell"
    )
    assert (
        "colab.research.google.com/github/" in first.source
        and f"notebooks/{path.name}" in first.source
    )
    assert "You will learn" in first.source
    bootstrap, environment = nb.cells[1].source, nb.cells[2].source
    assert "google.colab" in bootstrap and "pip" in bootstrap and "REPO_ROOT" in bootstrap
    assert "print_environment()" in environment and "set_seed" in environment


def test_records_its_results_under_its_own_name(notebook):
    path, nb = notebook
    call = re.compile(r'record_results\(\s*(\w+\s*:=\s*)?"' + re.escape(path.stem) + '"')
    assert any(call.search(c.source) for c in _code(nb)), (
        f"no record_results({path.stem!r}, ...) call"
    )


def test_committed_outputs_come_from_a_clean_full_run(notebook):
    path, nb = notebook
    code = _code(nb)
    assert all(c.execution_count is not None for c in code), "some cells were not executed"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run top to bottom in one kernel"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"error outputs: {[e.ename for e in errors]}"
    env_text = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert re.search(r"Run mode: FULL", env_text), (
        "the committed outputs are not from a full-mode run"
    )
    assert "widgets" not in nb.metadata and "colab" not in nb.metadata


def test_colab_bootstrap_never_reinstalls_tensorflow(notebook):
    _, nb = notebook
    bootstrap = nb.cells[1].source
    pip_line = bootstrap[bootstrap.index('"pip", "install"') :].split("check=True")[0]
    packages = re.findall(r'"([^"]+)"', pip_line)
    offenders = [
        p for p in packages if re.match(r"(tensorflow|keras|tf-keras|tf_keras)([<>=~!]|$)", p)
    ]
    assert not offenders, f"the Colab bootstrap would replace Colab's TensorFlow/Keras: {offenders}"


def test_installing_helpers_does_not_pull_tensorflow():
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    )
    deps = " ".join(pyproject["project"]["dependencies"]).lower()
    assert not re.search(r"\b(tensorflow|keras|tf-keras)\b", deps), deps
