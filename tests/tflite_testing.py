"""Shared tiny models, data and fixtures of the tests/test_tflite_*.py files (not a test module)."""

import numpy as np
import pytest

from helpers import tflite
from helpers.kit import keras_policy

RNG = np.random.default_rng(0)
# Calibration data in [0, 1], like the training data.
X_CAL = RNG.random((100, 12, 12, 1), dtype=np.float32)
Y_CAL = RNG.integers(0, 4, size=100)


def tiny_classifier(input_shape=(12, 12, 1), num_classes=4, keras_module=None):
    """A small classifier that follows the helpers builder convention (keras_module=None -> Keras 3)."""
    K = keras_module or keras_policy.modern_keras()
    inputs = K.Input(input_shape)
    x = K.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = K.layers.Flatten()(x)
    # 576 x 32 weights: big enough for the dynamic-range converter to quantize them
    x = K.layers.Dense(32, activation="relu", name="hidden")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="out")(x)
    return K.Model(inputs, outputs)


def tiny_fcn(activation="prelu", keras_module=None):
    """A fully convolutional x3 upscaler (variable height and width), FSRCNN-shaped."""
    K = keras_module or keras_policy.modern_keras()

    def act(x):
        return (
            K.layers.PReLU(shared_axes=[1, 2])(x) if activation == "prelu" else K.layers.ReLU()(x)
        )

    inputs = K.Input((None, None, 1))
    x = act(K.layers.Conv2D(8, 5, padding="same", name="feature")(inputs))
    x = act(K.layers.Conv2D(4, 1, padding="same", name="shrink")(x))
    outputs = K.layers.Conv2DTranspose(1, 9, strides=3, padding="same", name="deconv")(x)
    return K.Model(inputs, outputs)


@pytest.fixture(scope="module")
def classifier():
    keras = keras_policy.modern_keras()
    keras.utils.set_random_seed(1)
    model = tiny_classifier()
    # non-zero biases, as after training (identical zero buffers would be shared in the flatbuffer)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(RNG.normal(0, 0.05, layer.bias.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def variants(classifier):
    return tflite.convert_all(classifier, X_CAL)


@pytest.fixture(scope="module")
def fcn():
    keras = keras_policy.modern_keras()
    keras.utils.set_random_seed(2)
    return tiny_fcn()
