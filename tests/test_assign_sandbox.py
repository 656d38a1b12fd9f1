"""Submissions written to attack the grader, graded in the sandbox (bubblewrap) as an instructor would.

One folder of attacks and controls is graded once (module fixture); each test reads its rows. Every
attack is an otherwise blank submission: it must score 0 on the exercises it did not solve, leave
the instructor's files and other submissions alone, and leave no process behind; a correct
submission graded after the attacks keeps full marks. ``./kit.sh test`` installs bubblewrap when it
is missing, so these run in CI.

The check cells and hidden tests run in the grading process (the judge), on plain data asked of
the student's kernel, so rewriting IPython's error reporting in that kernel, returning an object
that equals everything, a function that never returns or a huge array all fail the exercise with
a reason, and grading goes on.
"""

import csv
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from assign_testing import FIXTURE, exercise_answers
from assign_testing import with_answers as _with_answers

from helpers.kit.assign import generate, grade
from helpers.kit.assign.sandbox import FIRST_UID, Limits, process_slot

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
ALWAYS_EQUAL = "class A:\n    __eq__ = lambda *a: True\n    __ne__ = lambda *a: False\n"
# attacks on the judge: (q1 answer, q2 answer); q2 answered correctly where grading must go on
JUDGE_ATTACKS = {
    "k_always_equal": (
        ALWAYS_EQUAL + "def per_class_accuracy(*a, **k):\n    return A()\n",
        ALWAYS_EQUAL + "def quantize(*a, **k):\n    return A()\n",
    ),
    "l_always_equal_array": (
        "import numpy as np\n\n"
        + ALWAYS_EQUAL
        + "    def __array__(self, *a, **k):\n        return np.zeros(3)\n"
        + "    def tolist(self):\n        return [3, 5, -1]\n"
        + "    dtype = np.int8\n\n"
        + "def per_class_accuracy(*a, **k):\n    return A()\n"
        + "def quantize(*a, **k):\n    return A()\n",
        None,
    ),
    "m_function_never_returns": (
        "def per_class_accuracy(*a, **k):\n    while True:\n        pass\n",
        "solved",
    ),
    "n_huge_array": (
        "import numpy as np\n\ndef per_class_accuracy(*a, **k):\n    return np.zeros(2**25)\n",
        "solved",
    ),
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _daemons() -> list[str]:
    found = subprocess.run(["pgrep", "-af", f"sleep {DAEMON_SECONDS}"], capture_output=True)
    return found.stdout.decode().splitlines()


def _sandbox_processes() -> list[str]:
    found = subprocess.run(["pgrep", "-u", str(FIRST_UID + process_slot())], capture_output=True)
    return found.stdout.decode().split()


@pytest.fixture(scope="module", params=["bwrap", "docker"])
def attacked(request, tmp_path_factory):
    """The attack suite graded with each sandbox engine (Docker only where its daemon answers)."""
    from helpers.kit.assign.sandbox import docker_missing_reason

    engine = request.param
    if engine == "docker" and (why := docker_missing_reason()):
        pytest.skip(f"no Docker sandbox here: {why}")
    root = tmp_path_factory.mktemp(f"attacks-{engine}")
    instructor = root / "instructor"
    instructor.mkdir()
    solution = instructor / "solution.ipynb"
    shutil.copyfile(FIXTURE, solution)
    student = nbformat.read(generate(solution, root / "release"), as_version=4)
    solved = exercise_answers()
    subs = root / "submissions"
    subs.mkdir()
    names = {"subs": subs, "repo": REPO_ROOT, "solution": solution}
    for name, code in ATTACKS.items():
        nbformat.write(_with_answers(student, {"q1": code.format(**names)}), subs / f"{name}.ipynb")
    for name, (q1, q2) in JUDGE_ATTACKS.items():
        answers = {"q1": q1, **({"q2": solved["q2"] if q2 == "solved" else q2} if q2 else {})}
        nbformat.write(_with_answers(student, answers), subs / f"{name}.ipynb")
    nbformat.write(_with_answers(student, {}), subs / "y_blank_after.ipynb")
    nbformat.write(_with_answers(student, solved), subs / "z_solved_after.ipynb")
    before = {p: _sha(p) for p in [*KIT_FILES, solution, *subs.glob("*.ipynb")]}
    start = time.monotonic()
    limits = Limits(processes=128)  # enough for a kernel; a fork bomb spins fewer processes
    # one worker: the kernels run as this process's sandbox user, which the checks below look at
    out = root / "grades" / "grades.csv"
    grade(subs, solution, out, 8, 40, limits=limits, workers=1, sandbox=engine)
    seconds = time.monotonic() - start
    time.sleep(1)
    with open(root / "grades" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    daemons = _daemons()
    return {
        "rows": rows,
        "before": before,
        "seconds": seconds,
        "daemons": daemons,
        "engine": engine,
    }


def test_every_row_was_graded_in_the_sandbox(attacked):
    rows = attacked["rows"]
    assert set(rows) == {*ATTACKS, *JUDGE_ATTACKS, "y_blank_after", "z_solved_after"}
    assert {row["sandbox"] for row in rows.values()} == {attacked["engine"]}


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


@pytest.mark.parametrize("name", ["a_custom_exc", "a_showtraceback"])
def test_hiding_errors_inside_the_kernel_earns_nothing(attacked, name):
    row = attacked["rows"][name]
    assert (row["q1"], row["q2"], row["total"]) == ("0", "0", "0"), row
    assert "NotImplementedError" in row["reason"] or "no function" in row["reason"], row


@pytest.mark.parametrize("name", ["k_always_equal", "l_always_equal_array"])
def test_an_object_equal_to_everything_earns_nothing(attacked, name):
    row = attacked["rows"][name]
    assert (row["q1"], row["q2"], row["total"], row["status"]) == ("0", "0", "0", "ok"), row
    assert row["reason"].startswith("q1: the check failed: CheckFailed: per_class_accuracy"), row


def test_a_function_that_never_returns_fails_its_exercise_and_grading_goes_on(attacked):
    row = attacked["rows"]["m_function_never_returns"]
    assert (row["q1"], row["q2"], row["total"]) == ("0", "3", "3"), row
    assert "Timeout" in row["reason"] and "interrupted" in row["reason"], row


def test_a_huge_array_is_refused_with_its_size(attacked):
    row = attacked["rows"]["n_huge_array"]
    assert (row["q1"], row["q2"], row["total"]) == ("0", "3", "3"), row
    assert "256 MB" in row["reason"] and "at most 64 MB" in row["reason"], row


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


def test_docker_runs_the_kernel_without_network_read_only_under_limits(monkeypatch, tmp_path):
    """The Docker sandbox's command (checked everywhere; the attack suite runs it where Docker is)."""
    from helpers.kit.assign import sandbox

    kit = tmp_path / "kit"
    (kit / "notebooks").mkdir(parents=True)
    (kit / "grades.csv").write_text("")
    monkeypatch.setattr(sandbox, "needed_paths", lambda: [kit])
    limits = sandbox.Limits(memory_mb=100, processes=64, cpu_seconds=30, file_mb=2)
    argv = sandbox.docker_prefix(
        tmp_path / "scratch", [kit / "notebooks", kit / "grades.csv"], limits, 3, "box"
    )
    line = " ".join(argv)
    assert argv[:2] == ["docker", "run"] and argv[-1] == sandbox.DOCKER_IMAGE
    for option in ("--network none", "--read-only", "--cap-drop ALL", "--pids-limit 64"):
        assert option in line, option
    assert "--memory 100m" in line and f"--ulimit data={100 * 2**20}" in line
    assert f"-v {kit}:{kit}:ro" in line and f"--tmpfs {kit / 'notebooks'}:ro" in line
    assert f"-v /dev/null:{kit / 'grades.csv'}:ro" in line
    assert f"-v {tmp_path / 'scratch'}:{tmp_path / 'scratch'} " in line  # the only writable one
    if os.geteuid() == 0:
        assert f"--user {FIRST_UID + 3}:{FIRST_UID + 3}" in line
    with pytest.raises(ValueError, match=f"cannot hide {tmp_path}: the kernel needs"):
        sandbox.docker_prefix(tmp_path / "scratch", [tmp_path], limits, 3, "box")


def test_docker_hides_the_instructors_folders_under_a_system_folder_and_its_link(
    monkeypatch, tmp_path
):
    from helpers.kit.assign import sandbox

    (tmp_path / "usr" / "grading").mkdir(parents=True)
    (tmp_path / "lib").symlink_to(tmp_path / "usr")  # like a merged-/usr link
    system = (str(tmp_path / "usr"), str(tmp_path / "lib"))
    monkeypatch.setattr(sandbox, "DOCKER_SYSTEM", system)
    monkeypatch.setattr(sandbox, "needed_paths", lambda: [tmp_path / "kit"])
    argv = sandbox.docker_prefix(
        tmp_path / "scratch", [tmp_path / "usr" / "grading"], sandbox.Limits(), 0, "box"
    )
    line = " ".join(argv)
    assert f"-v {tmp_path / 'usr'}:{tmp_path / 'lib'}:ro" in line
    assert f"--tmpfs {tmp_path / 'usr' / 'grading'}:ro" in line
    assert f"--tmpfs {tmp_path / 'lib' / 'grading'}:ro" in line


def test_grading_falls_back_to_docker_and_names_both_when_neither_works(monkeypatch, tmp_path):
    from helpers.kit.assign import sandbox
    from helpers.kit.assign.grader import SandboxUnavailable, _sandbox_for

    monkeypatch.setattr(sandbox, "bwrap_missing_reason", lambda: "bwrap not found")
    monkeypatch.setattr(sandbox, "docker_missing_reason", lambda: None)
    args = (tmp_path / "subs", FIXTURE, tmp_path / "g.csv", tmp_path / "feedback", None)
    assert _sandbox_for(*args).engine == "docker"
    with pytest.raises(SandboxUnavailable, match="bwrap: bwrap not found"):
        _sandbox_for(*args, "bwrap")
    monkeypatch.setattr(sandbox, "docker_missing_reason", lambda: "docker not found")
    with pytest.raises(SandboxUnavailable, match="bwrap not found; docker: docker not found"):
        _sandbox_for(*args)
    with pytest.raises(ValueError, match="sandbox must be"):
        _sandbox_for(*args, "podman")
