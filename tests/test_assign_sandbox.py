"""Submissions written to attack the grader, graded in the sandbox (bubblewrap) as an instructor would.

One folder of attacks and controls is graded once (module fixture); each test reads its rows. Every
attack is an otherwise blank submission: it must score 0 on the exercises it did not solve, leave
the instructor's files and other submissions alone, and leave no process behind; a correct
submission graded after the attacks keeps full marks. ``./kit.sh test`` installs bubblewrap when it
is missing, so these run in CI.

Two attacks still win and are marked ``xfail(strict=True)``: they rewrite IPython's error reporting
inside the student's own kernel, and the verdicts still come from that kernel's messages. They
stop winning only when the judge leaves the student's process (then the xfail turns into a failure
and the marker goes).
"""

import csv
import hashlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from helpers.kit.assign import generate, grade
from helpers.kit.assign.notebook import cell_role
from helpers.kit.assign.sandbox import FIRST_UID, Limits, process_slot

FIXTURE = Path(__file__).parent / "fixtures" / "assign" / "solution.ipynb"
REPO_ROOT = Path(__file__).resolve().parent.parent
KIT_FILES = [
    REPO_ROOT / "helpers" / "kit" / "environment.py",
    REPO_ROOT / "helpers" / "kit" / "assign" / "checks.py",
    REPO_ROOT / "README.md",
]
DAEMON_SECONDS = 917  # an unusual number, to find the daemon's process afterwards

SWALLOW = "\n\nimport IPython\nIPython.get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
ATTACKS = {
    # hide every later error from the kernel's messages (the judge is still in this process)
    "a_custom_exc": SWALLOW,
    "a_showtraceback": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.showtraceback = lambda *a, **k: None\n"
        "InteractiveShell._showtraceback = lambda *a, **k: None\n"
    ),
    # make every later kernel swallow its errors, by appending to the kit's own files
    "b_rewrite_kit": (
        "import helpers.kit.environment as e, helpers.kit.assign.checks as c\n"
        "for module in (e, c):\n"
        "    with open(module.__file__, 'a') as f:\n"
        f"        f.write({SWALLOW!r})\n"
    ),
    # find the other submissions and overwrite them (the path is given: the worst case)
    "c_sabotage": (
        "import glob\n"
        "for path in glob.glob('{subs}/*.ipynb') + glob.glob('/tmp/**/*.ipynb', recursive=True):\n"
        "    with open(path, 'w') as f:\n"
        "        f.write('{{}}')\n"
    ),
    "d_daemon": f"import subprocess\nsubprocess.Popen(['setsid', 'sleep', '{DAEMON_SECONDS}'])\n",
    "e_fork_bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    "f_memory_bomb": "block = bytearray(64 * 2**30)\n",
    "g_infinite_loop": "while True:\n    pass\n",
    "h_write_outside": (
        "from pathlib import Path\nPath('{repo}/README.md').write_text('defaced')\n"
    ),
    "i_read_solution": (
        "import json\nnb = json.load(open('{solution}'))\nexec(''.join(nb['cells'][3]['source']))\n"
    ),
    "j_network": ("import socket\nsocket.create_connection(('pypi.org', 443), timeout=5)\n"),
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _with_answers(student_nb, answers):
    nb = nbformat.from_dict(student_nb)
    for cell in nb.cells:
        role = cell_role(cell)
        if role and role[0] == "exercise" and role[1] in answers:
            cell.source = answers[role[1]]
    return nb


def _daemons() -> list[str]:
    found = subprocess.run(["pgrep", "-af", f"sleep {DAEMON_SECONDS}"], capture_output=True)
    return found.stdout.decode().splitlines()


def _sandbox_processes() -> list[str]:
    found = subprocess.run(["pgrep", "-u", str(FIRST_UID + process_slot())], capture_output=True)
    return found.stdout.decode().split()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    instructor = root / "instructor"
    instructor.mkdir()
    solution = instructor / "solution.ipynb"
    shutil.copyfile(FIXTURE, solution)
    student = nbformat.read(generate(solution, root / "release"), as_version=4)
    solved = {
        cell_role(c)[1]: c.source
        for c in nbformat.read(FIXTURE, as_version=4).cells
        if cell_role(c) and cell_role(c)[0] == "exercise"
    }
    subs = root / "submissions"
    subs.mkdir()
    names = {"subs": subs, "repo": REPO_ROOT, "solution": solution}
    for name, code in ATTACKS.items():
        nbformat.write(_with_answers(student, {"q1": code.format(**names)}), subs / f"{name}.ipynb")
    nbformat.write(_with_answers(student, {}), subs / "y_blank_after.ipynb")
    nbformat.write(_with_answers(student, solved), subs / "z_solved_after.ipynb")
    before = {p: _sha(p) for p in [*KIT_FILES, solution, *subs.glob("*.ipynb")]}
    start = time.monotonic()
    limits = Limits(processes=128)  # enough for a kernel; a fork bomb spins fewer processes
    grade(subs, solution, root / "grades" / "grades.csv", 8, 40, limits=limits)
    seconds = time.monotonic() - start
    time.sleep(1)
    with open(root / "grades" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"rows": rows, "before": before, "seconds": seconds, "daemons": _daemons()}


def test_every_row_was_graded_in_the_sandbox(attacked):
    rows = attacked["rows"]
    assert set(rows) == {*ATTACKS, "y_blank_after", "z_solved_after"}
    assert {row["sandbox"] for row in rows.values()} == {"bwrap"}


def test_a_correct_submission_graded_after_the_attacks_keeps_full_marks(attacked):
    row = attacked["rows"]["z_solved_after"]
    assert (row["q1"], row["q2"], row["total"], row["status"]) == ("2", "3", "5", "ok"), row


def test_a_blank_submission_graded_after_the_attacks_scores_zero(attacked):
    row = attacked["rows"]["y_blank_after"]
    assert (row["total"], row["status"]) == ("0", "ok"), row


@pytest.mark.parametrize(
    "name",
    [
        "b_rewrite_kit",
        "c_sabotage",
        "d_daemon",
        "e_fork_bomb",
        "f_memory_bomb",
        "g_infinite_loop",
        "h_write_outside",
        "i_read_solution",
        "j_network",
    ],
)
def test_an_attack_earns_nothing_and_its_row_says_why(attacked, name):
    row = attacked["rows"][name]
    assert (row["q1"], row["q2"], row["total"]) == ("0", "0", "0"), row
    assert row["reason"].strip(), row


@pytest.mark.xfail(
    strict=True,
    reason="the verdicts still come from the student's own kernel: code that rewrites IPython's "
    "error reporting there hides the failed checks (the judge must leave the student's process)",
)
@pytest.mark.parametrize("name", ["a_custom_exc", "a_showtraceback"])
def test_hiding_errors_inside_the_kernel_earns_nothing(attacked, name):
    assert attacked["rows"][name]["total"] == "0", attacked["rows"][name]


def test_the_instructors_files_and_the_submissions_are_untouched(attacked):
    changed = [str(p) for p, sha in attacked["before"].items() if _sha(p) != sha]
    assert not changed, changed


def test_nothing_the_submissions_started_is_left_running(attacked):
    assert attacked["daemons"] == [] and _daemons() == []
    assert _sandbox_processes() == []


def test_the_reasons_name_what_stopped_each_attack(attacked):
    rows = attacked["rows"]
    assert "Timeout" in rows["g_infinite_loop"]["reason"] or rows["g_infinite_loop"]["status"] in (
        "timeout",
        "kernel_died",
    )
    assert "MemoryError" in rows["f_memory_bomb"]["reason"], rows["f_memory_bomb"]
    assert "Read-only file system" in rows["h_write_outside"]["reason"] or (
        "Permission denied" in rows["h_write_outside"]["reason"]
    ), rows["h_write_outside"]
    assert "FileNotFoundError" in rows["i_read_solution"]["reason"], rows["i_read_solution"]
    assert "gaierror" in rows["j_network"]["reason"] or "OSError" in rows["j_network"]["reason"]


def test_a_kit_under_tmp_comes_back_read_only_after_the_private_tmp(monkeypatch, tmp_path):
    from helpers.kit.assign import sandbox

    checkout = Path(tempfile.mkdtemp(prefix="ci-checkout-", dir="/tmp"))
    checkout.chmod(0o755)
    kit = checkout / "kit"
    kit.mkdir()
    monkeypatch.setattr(sandbox, "needed_paths", lambda: [kit])
    argv = sandbox.sandbox_prefix(tmp_path, [], sandbox.Limits())
    tmp_at = argv.index("/tmp")
    assert argv[tmp_at - 1] == "--tmpfs"
    bind_at = argv.index(str(kit))
    assert argv[bind_at - 1] == "--ro-bind" and bind_at > tmp_at
    with pytest.raises(ValueError, match=f"cannot hide {checkout}: the kernel needs"):
        sandbox.sandbox_prefix(tmp_path, [checkout], sandbox.Limits())
    shutil.rmtree(checkout)


def test_grades_written_into_the_kit_hide_files_not_the_kit(tmp_path):
    from helpers.kit.assign.grader import _sandbox_for

    subs = tmp_path / "subs"
    subs.mkdir()
    solution = REPO_ROOT / "notebooks" / "00_setup_and_data.ipynb"
    box = _sandbox_for(subs, solution, REPO_ROOT / "grades.csv", tmp_path / "feedback", None)
    assert subs.resolve() in box.hidden and (REPO_ROOT / "notebooks").resolve() in box.hidden
    assert REPO_ROOT not in box.hidden and (tmp_path / "feedback").resolve() in box.hidden
