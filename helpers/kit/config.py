"""Run mode (quick / full), seeds and the kit's folders: the one place notebooks read them from.

The run mode comes from the environment variable ``KIT_MODE``:

* ``full`` (default): the settings that produce the numbers shown in the committed notebooks.
* ``quick``: small data and few epochs, so every notebook runs in about a minute on a
  2-core CPU. CI and nbval use it.
"""

from __future__ import annotations

import contextlib
import os
import random
from pathlib import Path
from typing import TypeVar

import numpy as np

MODE_ENV_VAR = "KIT_MODE"
VALID_MODES = ("full", "quick")
DEFAULT_SEED = 42

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DATA_DIR = REPO_ROOT / "data"


def run_mode() -> str:
    """Return the run mode, ``"full"`` or ``"quick"``, read from ``KIT_MODE`` (default full)."""
    raw = os.environ.get(MODE_ENV_VAR, "")
    value = raw.strip().lower() or "full"
    if value not in VALID_MODES:
        raise ValueError(
            f"Environment variable {MODE_ENV_VAR}={raw!r} is not a run mode. "
            f"Use one of {', '.join(VALID_MODES)} (e.g. `export {MODE_ENV_VAR}=quick`), "
            f"or unset it for the default full mode."
        )
    return value


def is_quick() -> bool:
    """Return True when the kit runs in quick mode."""
    return run_mode() == "quick"


def pick(full: T, quick: T) -> T:
    """Return ``full`` in full mode and ``quick`` in quick mode (e.g. ``EPOCHS = pick(30, 1)``)."""
    return quick if is_quick() else full


def reports_dir() -> Path:
    """Return the folder for metrics and figures: ``reports/`` (full) or ``reports/quick/`` (quick)."""
    path = REPO_ROOT / "reports" if not is_quick() else REPO_ROOT / "reports" / "quick"
    path.mkdir(parents=True, exist_ok=True)
    return path


ARTIFACTS_ENV_VAR = "KIT_ARTIFACTS"


def artifacts_dir(*parts: str) -> Path:
    """Return (and create) ``artifacts/<mode>/<parts...>``, where trained models are kept for later notebooks.

    ``KIT_ARTIFACTS=<folder>`` puts them under that folder instead of the repository's
    ``artifacts/`` (``./kit.sh colab-check`` starts from an empty one, as a fresh Colab VM does).
    """
    root = os.environ.get(ARTIFACTS_ENV_VAR) or REPO_ROOT / "artifacts"
    path = Path(root).joinpath(run_mode(), *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def checked_seed(seed: int) -> int:
    """Return ``seed`` as an int; raise ValueError unless it is a non-negative integer."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def set_seed(seed: int = DEFAULT_SEED, deterministic: bool = False) -> int:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``); return the seed.

    ``deterministic=True`` also turns on TensorFlow op determinism: bit-identical reruns on
    the same machine, at some cost in speed.
    """
    import keras
    import tensorflow as tf

    seed = checked_seed(seed)
    random.seed(int(seed))
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return int(seed)


@contextlib.contextmanager
def replaced_at_once(path: Path):
    """Yield a temporary file beside ``path`` that replaces it in one step once written.

    A reader (another notebook: ``./kit.sh test`` runs two at once) finds the old file or the new
    one, never half of it; if writing fails, the old file stays and the temporary one is removed.
    """
    path = Path(path)
    part = path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")
    try:
        yield part
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
