"""The Colab-like environment after the bootstrap: Colab's packages unchanged, no new pip check problem.

``./kit.sh test`` (and ``./kit.sh colab-check``) builds .venv-oldest from Colab's pip freeze
(ci/colab-constraints.txt), records ``pip list --format=freeze`` in ``.colab-freeze-before.txt``, runs
scripts/colab_bootstrap.py there and sets ``KIT_OLDEST_PYTHON``; a plain ``pytest`` run skips.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from helpers.kit import config

OLDEST = os.environ.get("KIT_OLDEST_PYTHON")
pytestmark = pytest.mark.skipif(not OLDEST, reason="KIT_OLDEST_PYTHON unset: ./kit.sh test sets it")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines) -> dict[str, str]:
    """``{normalized name: version}`` of ``name==version`` lines (comments and blanks skipped)."""
    found = {}
    for line in lines:
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            found[normalize(name)] = version
    return found


def run(*args: str) -> str:
    done = subprocess.run([OLDEST, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def venv() -> Path:
    return Path(OLDEST).parent.parent


def test_the_environment_before_the_bootstrap_was_colabs(venv):
    before = pins((venv / ".colab-freeze-before.txt").read_text().splitlines())
    colab = pins((config.REPO_ROOT / "ci" / "colab-constraints.txt").read_text().splitlines())
    assert len(before) > 50 and before["tensorflow"] == "2.20.0" and before["keras"] == "3.13.2"
    not_colabs = {name: v for name, v in before.items() if colab.get(name) != v}
    assert not not_colabs, f"packages Colab does not have at these versions: {not_colabs}"


def test_the_bootstrap_changed_no_preinstalled_package_and_added_no_pip_check_problem(venv):
    before = pins((venv / ".colab-freeze-before.txt").read_text().splitlines())
    after = pins(run("-m", "pip", "list", "--format=freeze").splitlines())
    changed = {name: (v, after.get(name)) for name, v in before.items() if after.get(name) != v}
    assert not changed, f"the bootstrap changed Colab's packages (before, after): {changed}"
    added = set(after) - set(before)
    colab = pins((config.REPO_ROOT / "ci" / "colab-constraints.txt").read_text().splitlines())
    # what Colab has is preinstalled there: the emulation must have it too (requirements-oldest.txt)
    assert not added & set(colab), f"add to requirements-oldest.txt: {sorted(added & set(colab))}"
    assert {"keras-tuner", "tensorflow-model-optimization", "ai-edge-litert"} <= added
    assert {"kt-legacy", "mock", "course-kit-helpers"} <= added
    # Colab's own pip check is not clean (its ipython 7.34.0 requires jedi, which it lacks): the
    # bootstrap adds no problem to those
    done = subprocess.run(
        [OLDEST, "-m", "pip", "check"], capture_output=True, text=True, timeout=300
    )
    problems = set(done.stdout.splitlines()) if done.returncode else set()  # 0: "No broken ..."
    assert problems <= set((venv / ".colab-pip-check-before.txt").read_text().splitlines())


def test_the_kit_imports_and_the_version_guard_is_quiet_there():
    code = (
        "import json, sys; from helpers.kit import environment as e; "
        "import ai_edge_litert, keras_tuner, tensorflow_model_optimization; "
        "print(json.dumps({'problems': e.version_problems(), 'python': sys.version_info[:2]}))"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [OLDEST, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=config.REPO_ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"problems": [], "python": [3, 13]}
