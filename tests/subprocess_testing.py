"""Run Python code in a fresh interpreter from the repository root (for tests of what a new
process sees: lazy imports, registered Keras layers, saved models loading)."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Return the finished ``python -c code args...`` run from the repository root (quiet TF)."""
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO_ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def child_env(**extra: str) -> dict[str, str]:
    """Return an environment for a child Python process: the repo importable, quiet TensorFlow,
    no KerasTuner role variables and no legacy-Keras switch inherited from this process; ``extra``
    on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env.pop("TF_USE_LEGACY_KERAS", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env
