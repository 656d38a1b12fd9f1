"""The main job's runner: executes notebooks in order in real kernels, keeps going after a failure, writes the summary."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import run_notebooks  # noqa: E402


def _write(folder: Path, name: str, sources: list[str]) -> Path:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["widgets"] = {"state": "volatile"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_runner_executes_in_order_reports_failures_and_writes_summary(tmp_path):
    books = tmp_path / "notebooks"
    books.mkdir()
    _write(books, "00_ok", ["import os\nprint('mode', os.environ['KIT_MODE'])", "print(6 * 7)"])
    _write(books, "01_broken", ["raise RuntimeError('deliberate failure')"])
    _write(books, "02_after", ["print('still ran')"])
    (books / "scratch.ipynb").write_text("{}")  # not numbered: ignored
    reports, executed = tmp_path / "reports", tmp_path / "executed"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "run_notebooks.py"),
            "--mode",
            "quick",
            "--notebooks-dir",
            str(books),
            "--reports-dir",
            str(reports),
            "--output-dir",
            str(executed),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one notebook failed
    # the kernel's start-up log is not for students
    assert "IPKernelApp" not in proc.stdout + proc.stderr, proc.stderr
    assert "without encryption" not in proc.stdout + proc.stderr, proc.stderr
    ok = nbformat.read(executed / "00_ok.ipynb", as_version=4)
    assert ok.cells[0].outputs[0]["text"] == "mode quick\n"
    assert ok.cells[1].outputs[0]["text"] == "42\n"
    assert "widgets" not in ok.metadata
    after = nbformat.read(executed / "02_after.ipynb", as_version=4)
    assert after.cells[0].outputs[0]["text"] == "still ran\n"
    summary = (reports / "summary.md").read_text()
    assert "Run mode: **quick**" in summary
    assert "| 01_broken | FAILED: " in summary and "deliberate failure" in summary
    assert "\x1b[" not in summary  # no terminal colour codes from the kernel's traceback
    assert "| 00_ok | ran, recorded no results |" in summary and "| 02_after |" in summary
    assert "scratch" not in summary
    assert set(json.loads((reports / "wall_times.json").read_text())) == {"00_ok", "02_after"}


def test_select_notebooks_filters_by_prefix_and_rejects_unknown(tmp_path):
    for name in ("00_a", "01_b", "10_c"):
        _write(tmp_path, name, ["1"])
    assert [p.stem for p in run_notebooks.select_notebooks(tmp_path, None)] == [
        "00_a",
        "01_b",
        "10_c",
    ]
    assert [p.stem for p in run_notebooks.select_notebooks(tmp_path, ["01", "10"])] == [
        "01_b",
        "10_c",
    ]
    try:
        run_notebooks.select_notebooks(tmp_path, ["07"])
    except SystemExit as exc:
        assert "07" in str(exc)
    else:
        raise AssertionError("an unknown prefix must be an error")
