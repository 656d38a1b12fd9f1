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
    bootstrap = nb.cells[1].source
    assert "google.colab" in bootstrap and "pip" in bootstrap and "REPO_ROOT" in bootstrap


# Notebooks still in the old layout (long verdict and results cells): none left. A name put here
# makes the machinery checks strict xfails for that notebook until it is rewritten.
NOT_YET_REWRITTEN: set[str] = set()


def _code_lines(source: str) -> int:
    """Return the lines of ``source`` that are neither blank nor comments."""
    return sum(
        1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#")
    )


def _machinery_check(path, check, pending=NOT_YET_REWRITTEN):
    if path.stem in pending:
        with pytest.raises(AssertionError):
            check()
        pytest.xfail(f"{path.stem}: machinery cells not yet in the new layout")
    check()


def test_one_short_machinery_cell_at_the_start(notebook):
    path, nb = notebook

    def check():
        environment = nb.cells[2].source
        assert "kit.start()" in environment, f"{path.name}: cell 3 should call kit.start()"
        assert _code_lines(environment) <= 10, f"{path.name}: a long environment cell"

    _machinery_check(path, check)


def test_one_short_machinery_cell_at_the_end_records_the_results(notebook):
    path, nb = notebook

    def check():
        call = re.compile(r'kit\.finish\(\s*"' + re.escape(path.stem) + '"')
        cells = [c for c in _code(nb) if call.search(c.source)]
        assert len(cells) == 1, f"{path.name}: one kit.finish({path.stem!r}, ...) cell expected"
        assert _code_lines(cells[0].source) <= 10, f"{path.name}: a long results cell"
        assert not any(
            "record_results(" in c.source or "check_targets(" in c.source for c in _code(nb)
        )

    _machinery_check(path, check)


def test_committed_outputs_come_from_a_clean_full_run(notebook):
    path, nb = notebook
    code = _code(nb)
    assert all(c.execution_count is not None for c in code), "some cells were not executed"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run top to bottom in one kernel"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"error outputs: {[e.ename for e in errors]}"
    env_text = "".join(o.get("text", "") for o in nb.cells[2].outputs)  # kit.start() prints it
    assert re.search(r"Run mode: FULL", env_text), (
        "the committed outputs are not from a full-mode run"
    )
    assert "widgets" not in nb.metadata and "colab" not in nb.metadata


def test_environment_cell_runs_the_version_guard(notebook):
    path, nb = notebook
    source = nb.cells[2].source
    assert "kit.start()" in source or (
        path.stem in NOT_YET_REWRITTEN and "print_environment()" in source
    ), f"{path.name}: cell 3 runs the version guard through kit.start()"


TIMING_WORDS = re.compile(r"latency|second|_ms\b|\bms\b|time|speed|duration|elapsed|fps")


def test_no_notebook_asserts_on_a_time_or_a_speed(notebook):
    path, nb = notebook
    for i, cell in enumerate(_code(nb)):
        statements = re.findall(r"^\s*assert\b.*$", cell.source, flags=re.MULTILINE)
        timed = [s for s in statements if TIMING_WORDS.search(s)]
        assert not timed, f"{path.name} code cell {i}: timings are printed, never asserted: {timed}"
        floors = re.findall(r"Target\(([^)]*)\)", cell.source, flags=re.DOTALL)
        timed = [f for f in floors if "floor=" in f and TIMING_WORDS.search(f.split(",")[0])]
        assert not timed, f"{path.name} code cell {i}: a floor on a time or speed: {timed}"


def test_one_alias_per_subpackage(notebook):
    """Each subpackage has one name in every notebook: `sr`, `tflite`, `scratch`, `handwriting` (no aliases,
    no reaching into its modules), so code copied between notebooks keeps working."""
    path, nb = notebook
    source = "\n".join(c.source for c in _code(nb))
    for package in ("sr", "tflite", "scratch", "handwriting"):
        deep = re.findall(
            rf"^\s*(?:from helpers\.{package}\b.*|import helpers\.{package}\b.*)$",
            source,
            flags=re.MULTILINE,
        )
        assert not deep, (
            f"{path.name}: import the subpackage as `from helpers import {package}`, got {deep}"
        )
        aliased = re.findall(
            rf"^\s*from helpers import .*\b{package}\s+as\s+\w+.*$", source, flags=re.MULTILINE
        )
        assert not aliased, f"{path.name}: use the name `{package}`, not an alias: {aliased}"
    for old in ("superres", "quantization", "sr_data", "sr_models", "plots"):  # old module names
        used = rf"helpers\.{old}\b|from helpers import [\w, ]*\b{old}\b"
        assert not re.search(used, source), f"{path.name} uses the old module {old}"


def test_ends_with_what_was_learned_and_a_link_onwards(notebook):
    path, nb = notebook
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    last = markdown[-1].source
    assert re.search(r"what we learned", last, flags=re.IGNORECASE), (
        f"{path.name}: the last markdown cell should sum up what was learned"
    )
    links = re.findall(r"\]\(([^)]+\.(?:ipynb|md))\)", last)
    assert links, f"{path.name}: the last markdown cell should link to the next notebook"
    for link in links:
        assert (path.parent / link).resolve().is_file(), f"{path.name} links to missing {link}"


def test_links_between_notebooks_point_to_real_ones(notebook):
    path, nb = notebook
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for link in re.findall(r"\]\((?!https?:)([^)#]+)", cell.source):
            assert (path.parent / link).resolve().exists(), f"{path.name}: broken link {link}"


def test_no_stray_path_repr_output_at_the_end(notebook):
    path, nb = notebook
    last = _code(nb)[-1]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in last.outputs)
    assert "PosixPath(" not in text and "WindowsPath(" not in text, f"{path.name}: {text}"


def test_installing_helpers_does_not_pull_tensorflow():
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    )
    deps = " ".join(pyproject["project"]["dependencies"]).lower()
    assert not re.search(r"\b(tensorflow|keras|tf-keras)\b", deps), deps
