"""tflite.optimize: weight copies into tf_keras clones, quantization-aware training and pruning."""

import os

import numpy as np
import pytest
import tflite_testing as t

from helpers import tflite
from helpers.kit import keras_policy

classifier = t.classifier  # shared module fixture
X_CAL, Y_CAL = t.X_CAL, t.Y_CAL


def test_copy_weights_checks_architecture(classifier):
    legacy = keras_policy.legacy_keras()
    target = t.tiny_classifier(keras_module=legacy)
    assert tflite.copy_weights(classifier, target) == 3  # conv, hidden, out
    np.testing.assert_array_equal(
        target.layers[-1].get_weights()[0], classifier.get_layer("out").get_weights()[0]
    )
    with pytest.raises(ValueError, match="weight shapes"):
        tflite.copy_weights(classifier, t.tiny_classifier(num_classes=5, keras_module=legacy))


def test_legacy_clone_needs_a_builder_that_honours_keras_module(classifier):
    clone = tflite.legacy_clone(t.tiny_classifier, classifier)
    assert keras_policy.is_legacy(__import__(type(clone).__module__.split(".")[0]))
    with pytest.raises(TypeError, match="ignored keras_module=tf_keras"):
        tflite.legacy_clone(lambda keras_module=None: t.tiny_classifier())
    with pytest.raises(TypeError, match="builder must be a model builder"):
        tflite.legacy_clone("tiny_cnn")


def test_qat_from_trained_keras3_model_fine_tunes_and_converts(classifier):
    import keras

    model = tflite.qat_model(t.tiny_classifier, source_model=classifier)
    assert any(type(layer).__name__ == "QuantizeWrapperV2" for layer in model.layers)
    assert not isinstance(model, keras.Model)  # a tf_keras model, as tfmot requires
    # the first steps set the quantizer ranges
    history = tflite.fine_tune(model, X_CAL, Y_CAL, epochs=1, batch_size=50)
    assert np.isfinite(history.history["loss"][0])
    # the fake-quantized model started from the trained weights: it agrees with the float model
    np.testing.assert_allclose(
        np.asarray(model(X_CAL[:8])), np.asarray(classifier(X_CAL[:8])), atol=0.05
    )
    b = tflite.convert(model, "int8", X_CAL)
    assert tflite.float_ops(b) == [] and tflite.TFLiteModel(b).input_dtype == np.int8
    assert "TF_USE_LEGACY_KERAS" not in os.environ


def test_qat_rejects_prelu_but_accepts_relu_fcn():
    with pytest.raises(RuntimeError, match="PReLU.*is not supported"):
        tflite.qat_model(t.tiny_fcn, activation="prelu")
    model = tflite.qat_model(t.tiny_fcn, activation="relu")
    assert model.output_shape == (None, None, None, 1)


def test_pruning_reaches_target_sparsity_and_compresses(classifier):
    pruned = tflite.prune_model(
        t.tiny_classifier,
        X_CAL,
        Y_CAL,
        source_model=classifier,
        target_sparsity=0.5,
        epochs=3,
        batch_size=25,
    )
    # stripped: no pruning wrappers left
    assert not any("PruneLowMagnitude" in type(layer).__name__ for layer in pruned.layers)
    assert 0.45 <= tflite.sparsity(pruned) <= 0.55
    dense = tflite.convert(tflite.legacy_clone(t.tiny_classifier, classifier), "float32")
    sparse = tflite.convert(pruned, "float32")
    assert tflite.gzip_size_bytes(sparse) < 0.8 * tflite.gzip_size_bytes(dense)
    assert tflite.float_ops(tflite.convert(pruned, "int8", X_CAL)) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target_sparsity": 1.0}, "target_sparsity must be between 0 and 1"),
        ({"begin_step": 10, "end_step": 10}, "need 0 <= begin_step < end_step"),
        ({"frequency": 0}, "frequency must be >= 1"),
    ],
)
def test_prunable_model_refuses_bad_schedules(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tflite.prunable_model(t.tiny_classifier, **kwargs)


def test_sparsity_by_hand():
    legacy = keras_policy.legacy_keras()
    model = legacy.Sequential([legacy.Input((4,)), legacy.layers.Dense(2)])
    model.layers[0].set_weights(
        [np.array([[0, 1], [0, 2], [3, 0], [4, 5]], np.float32), np.zeros(2, np.float32)]
    )
    assert tflite.sparsity(model) == 3 / 8  # biases are not counted


def test_qat_model_from_a_helpers_builder():
    models = pytest.importorskip("helpers.models")
    model = tflite.qat_model(models.build_tiny_cnn)
    assert any(type(layer).__name__ == "QuantizeWrapperV2" for layer in model.layers)
    assert model(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
