"""The Colab bootstrap: what it installs, the constraints that hold Colab's packages, the cell itself.

The real install runs in ``./kit.sh`` on .venv-oldest (Colab's packages, ci/colab-constraints.txt);
tests/test_colab_environment.py checks that environment after it.
"""

import importlib.util
import re
import shutil
import sys

import nbformat
import pytest

from helpers.kit import config

ROOT = config.REPO_ROOT


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


boot = _load("colab_bootstrap")
cellset = _load("set_bootstrap_cell")


def test_requirements_are_read_with_normalized_names_and_extras(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text(
        "# kit\ntf_keras>=2.20,<2.22   # Keras 2\n\ndask[distributed] >= 2026.7\nNumPy>=2\n"
    )
    assert boot.read_requirements(path) == [
        ("tf-keras", "tf_keras>=2.20,<2.22", False),
        ("dask", "dask[distributed]>=2026.7", True),
        ("numpy", "NumPy>=2", False),
    ]
    path.write_text("numpy>=2\n>=3\n")
    with pytest.raises(ValueError, match=r"requirements.txt:2: cannot read requirement '>=3'"):
        boot.read_requirements(path)
    with pytest.raises(FileNotFoundError, match="nope.txt is missing"):
        boot.read_requirements(tmp_path / "nope.txt")


def test_only_missing_packages_are_installed_never_the_notebook_tools(tmp_path):
    requirements = boot.read_requirements(ROOT / "requirements.txt")
    installed = {
        "tensorflow": "2.20.0",
        "keras": "3.13.2",
        "tf-keras": "2.20.1",
        "dask": "2026.7.1",
    }
    missing = boot.missing_requirements(requirements, installed)
    names = {boot.normalize(re.match(r"[\w.-]+", m).group()) for m in missing}
    assert not names & {"tensorflow", "keras", "tf-keras"}  # Colab's own stay
    assert not names & boot.NOT_ON_COLAB  # Colab runs its own Jupyter; test tools are not needed
    assert {"tensorflow-model-optimization", "keras-tuner", "ai-edge-litert"} <= names
    # installed, but an extra (dask[distributed]) may be missing: pip decides
    assert [m for m in missing if "[" in m] == [spec for _, spec, extras in requirements if extras]
    everything = {name: "1" for name, _, _ in requirements if name != "dask"}
    assert boot.missing_requirements(requirements, everything) == [
        spec for _, spec, extras in requirements if extras
    ]


def test_constraints_hold_every_installed_package_at_its_version(tmp_path):
    path = boot.write_constraints({"numpy": "2.1.3", "torch": "2.11.0+cpu"}, tmp_path / "c.txt")
    assert path.read_text().splitlines() == ["numpy==2.1.3", "torch==2.11.0+cpu"]


def test_progress_line_names_the_packages_and_a_time():
    line = boot.progress_line(["keras-tuner", "kt-legacy", "mock", "ai-edge-litert"])
    assert line.startswith(
        "kit: installing 4 packages (keras-tuner, kt-legacy, mock, ai-edge-litert)"
    )
    assert f"about {boot.estimate_seconds(4)} s" in line
    assert boot.estimate_seconds(4) % 5 == 0 and boot.estimate_seconds(20) > boot.estimate_seconds(
        4
    )
    assert "..." in boot.progress_line([f"p{i}" for i in range(9)])
    assert "1 package (" in boot.progress_line(["mock"])


def test_bootstrap_refuses_a_folder_without_requirements(tmp_path, capsys):
    with pytest.raises(SystemExit):
        boot.main(["--kit", str(tmp_path)])
    assert "no requirements.txt there" in capsys.readouterr().err


def test_constraints_file_is_colabs_freeze():
    lines = (ROOT / "ci" / "colab-constraints.txt").read_text().splitlines()
    lines = [line for line in lines if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==\S+", line) for line in lines)  # no `name @ URL`
    pins = dict(line.split("==", 1) for line in lines)
    assert len(pins) == len(lines) > 600
    versions = {boot.normalize(k): v for k, v in pins.items()}
    for name, version in [("tensorflow", "2.20.0"), ("keras", "3.13.2"), ("tf-keras", "2.20.1")]:
        assert versions[name] == version
    assert versions["ipykernel"] == "6.17.1" and versions["jupyter-client"] == "7.4.9"
    assert not {"keras-tuner", "tensorflow-model-optimization", "ai-edge-litert"} & set(versions)
    oldest = (ROOT / "requirements-oldest.txt").read_text().splitlines()
    for line in (x for x in oldest if x and not x.startswith("#")):
        name, version = line.split("==")
        assert versions[boot.normalize(name)] == version, f"requirements-oldest.txt: {line}"


@pytest.mark.parametrize("path", cellset.select_notebooks([]), ids=lambda p: p.stem)
def test_every_notebook_runs_the_same_bootstrap(path):
    source = nbformat.read(path, as_version=4).cells[cellset.CELL_INDEX].source
    assert source == cellset.BOOTSTRAP


def test_the_bootstrap_cell_never_names_colabs_packages():
    literal = re.findall(r'"([^"]+)"', cellset.BOOTSTRAP)
    assert not [p for p in literal if re.match(r"(tensorflow|keras|tf-keras|tf_keras|numpy)", p)]
    assert "--no-deps" not in cellset.BOOTSTRAP and "bootstrap(" in cellset.BOOTSTRAP


def test_set_bootstrap_cell_changes_that_cell_only(tmp_path):
    src = ROOT / "notebooks" / "00_setup_and_data.ipynb"
    path = shutil.copy(src, tmp_path / "00_copy.ipynb")
    before = nbformat.read(path, as_version=4)
    assert cellset.set_bootstrap(path, "# Bootstrap for google.colab\nx = 1") is True
    after = nbformat.read(path, as_version=4)
    assert after.cells[1].source.endswith("x = 1") and after.cells[1].outputs == []
    assert after.cells[1].execution_count == before.cells[1].execution_count
    assert [c.source for c in after.cells[2:]] == [c.source for c in before.cells[2:]]
    assert cellset.set_bootstrap(path, "# Bootstrap for google.colab\nx = 1") is False
    after.cells[1].source = "print('no bootstrap')"
    nbformat.write(after, path)
    with pytest.raises(SystemExit, match="00_copy.ipynb: cell 2 is not the Colab bootstrap cell"):
        cellset.set_bootstrap(path)
    with pytest.raises(SystemExit, match="no notebook numbered 77"):
        cellset.select_notebooks(["00", "77"], folder=tmp_path)
