"""Print, as JSON, every shipped pretrained model's output on a fixed input, with the Keras that ran it.

Run by tests/test_oldest_keras.py in the oldest supported environment (.venv-oldest, built by
``./kit.sh test`` from requirements-oldest.txt) and compared there with the kit's own environment.
It needs only TensorFlow, Keras and NumPy.
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def outputs() -> dict:
    """Return {"keras": version, "models": {name: output of a fixed 12x10 input, as a nested list}}."""
    import keras
    import numpy as np

    from helpers import sr

    x = np.random.default_rng(0).random((1, 12, 10, 1), dtype=np.float32)
    models = {name: sr.load_pretrained(name) for name in sr.pretrained_names()}
    return {
        "keras": keras.__version__,
        "models": {name: np.asarray(m(x)).round(6).tolist() for name, m in models.items()},
    }


if __name__ == "__main__":
    print(json.dumps(outputs()))
