"""Every shipped pretrained model loads on the oldest Keras the kit supports and gives the same outputs.

``./kit.sh test`` builds ``.venv-oldest`` from requirements-oldest.txt (Colab's TensorFlow 2.20 /
Keras 3.13) and sets ``KIT_OLDEST_PYTHON`` to its interpreter; a plain ``pytest`` run without it skips.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import sr
from helpers.kit import config

SCRIPT = config.REPO_ROOT / "scripts" / "shipped_model_outputs.py"
OLDEST = os.environ.get("KIT_OLDEST_PYTHON")


def run(python: str) -> dict:
    done = subprocess.run([python, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not OLDEST, reason="KIT_OLDEST_PYTHON unset: ./kit.sh test sets it")
def test_shipped_models_load_on_the_oldest_supported_keras_with_the_same_outputs():
    wanted = next(
        line.split("==")[1].strip()
        for line in (config.REPO_ROOT / "requirements-oldest.txt").read_text().splitlines()
        if line.startswith("keras==")
    )
    old, new = run(OLDEST), run(sys.executable)
    assert old["keras"] == wanted, old["keras"]
    assert sorted(old["models"]) == sorted(new["models"]) == sr.pretrained_names()
    assert len(old["models"]) >= 4
    for name in new["models"]:
        a, b = np.asarray(old["models"][name]), np.asarray(new["models"][name])
        scale = sr.fsrcnn_spec(name)["scale"]
        assert a.shape == b.shape == (1, 12 * scale, 10 * scale, 1), name
        np.testing.assert_allclose(a, b, atol=2e-5, err_msg=name)
