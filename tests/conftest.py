"""Shared pytest setup: quiet TensorFlow, headless Matplotlib, the repo on sys.path, no KIT_ARTIFACTS."""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless figures in unit tests (notebook kernels keep their inline backend)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# Unit tests choose their own artifacts folder: `./kit.sh colab-check` points the notebooks it runs
# before them at an empty one with KIT_ARTIFACTS, which must not leak into the tests.
os.environ.pop("KIT_ARTIFACTS", None)
