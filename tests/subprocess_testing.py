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
