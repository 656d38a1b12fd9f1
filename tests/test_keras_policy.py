"""The Keras policy: Keras 3 everywhere; tf_keras only for tfmot; no import changes which Keras others get."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.kit import keras_policy

REPO_ROOT = Path(__file__).resolve().parent.parent
# Every module of the package, subpackages included (helpers.sr.*, helpers.tflite.*).
HELPER_MODULES = sorted(
    ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in (REPO_ROOT / "helpers").rglob("*.py")
)

PROBE = r"""
import importlib, json, os, sys
order = json.loads(sys.argv[1])
for name in order:
    if name == "tfmot":
        from helpers.kit.keras_policy import import_tfmot
        import_tfmot()
    else:
        importlib.import_module(name)
import keras
import tensorflow as tf
layer = tf.keras.layers.Dense(2)
print(json.dumps({
    "keras": keras.__version__,
    "tf_keras_namespace": tf.keras.version(),
    "tf_keras_layer_is_keras3": isinstance(layer, keras.layers.Layer),
    "legacy_env": os.environ.get("TF_USE_LEGACY_KERAS"),
}))
"""


def _probe(order):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(order)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(["tfmot"] + HELPER_MODULES, id="tfmot-first"),
        pytest.param(HELPER_MODULES + ["tfmot"], id="tfmot-last"),
        pytest.param(list(reversed(HELPER_MODULES)), id="helpers-reversed"),
    ],
)
def test_importing_helpers_in_any_order_keeps_everyone_on_keras3(order):
    result = _probe(order)
    assert result["keras"].startswith("3."), result
    assert result["tf_keras_namespace"].startswith("3."), result
    assert result["tf_keras_layer_is_keras3"] is True, result
    assert result["legacy_env"] is None, result


def test_builders_are_told_apart_by_module():
    assert keras_policy.is_legacy(keras_policy.legacy_keras())
    assert not keras_policy.is_legacy(keras_policy.modern_keras())


def test_qat_model_can_be_built_from_a_helpers_builder():
    import numpy as np

    from helpers import models

    tfmot = keras_policy.import_tfmot()
    legacy = keras_policy.legacy_keras()
    base = models.build_small_cnn(keras_module=legacy)
    qat = tfmot.quantization.keras.quantize_model(base)
    wrappers = [layer for layer in qat.layers if type(layer).__name__ == "QuantizeWrapperV2"]
    assert wrappers, [type(layer).__name__ for layer in qat.layers]
    out = qat(np.zeros((2, 28, 28, 1), np.float32), training=False)
    assert tuple(out.shape) == (2, 10)
    # the same builder still gives Keras 3 models to the ordinary notebooks, in this same process
    import keras

    assert isinstance(models.build_small_cnn(), keras.Model)
    assert "TF_USE_LEGACY_KERAS" not in os.environ
