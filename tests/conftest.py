"""Shared pytest setup: quiet TensorFlow, a headless Matplotlib backend, and the repo on sys.path."""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless figures in unit tests (notebook kernels keep their inline backend)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
