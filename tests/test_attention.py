"""CBAM: shape kept, parameters by formula, the exact 0.25 gate with zero weights, training, saving, errors."""

import keras
import numpy as np
import pytest
from subprocess_testing import run_python

from helpers import attention

CBAM = attention.cbam_layer()


def hand_count(c, r, k=7):
    """Shared MLP C -> C/r -> C with biases, plus a k x k conv from 2 maps to 1, with bias."""
    return (c * (c // r) + c // r) + ((c // r) * c + c) + (k * k * 2 + 1)


@pytest.mark.parametrize(
    "shape, reduction",
    [((2, 28, 28, 16), 8), ((1, 7, 7, 64), 16), ((3, 5, 9, 8), 8), ((2, 14, 14, 3), 1)],
)
def test_output_shape_equals_input_shape(shape, reduction):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    layer = CBAM(reduction=reduction)
    assert tuple(layer(x).shape) == shape
    assert tuple(layer.compute_output_shape(shape)) == shape


@pytest.mark.parametrize("c, r, k", [(16, 8, 7), (64, 16, 7), (32, 4, 3), (12, 8, 5)])
def test_parameter_count_matches_the_formula(c, r, k):
    layer = CBAM(reduction=r, spatial_kernel=k)
    layer.build((None, 10, 10, c))
    assert layer.count_params() == hand_count(c, r, k) == attention.cbam_parameter_count(c, r, k)
    if c % r == 0:
        assert layer.count_params() == 2 * c * c // r + c // r + c + k * k * 2 + 1


def test_zero_weights_multiply_the_input_by_a_quarter_exactly():
    x = np.random.default_rng(1).normal(size=(2, 9, 9, 16)).astype(np.float32)
    layer = CBAM(reduction=4)
    layer.build(x.shape)
    layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    np.testing.assert_array_equal(np.asarray(layer(x)), x * 0.25)  # sigmoid(0) * sigmoid(0)


def test_gates_are_between_zero_and_one():
    x = np.abs(np.random.default_rng(2).normal(size=(2, 8, 8, 16))).astype(np.float32)
    out = np.asarray(CBAM(reduction=4)(x))
    assert (out >= 0).all() and (out <= x).all()


def small_model(seed=0, compile=True):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    h = CBAM(reduction=4, name="cbam")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    return model


def test_trains_one_step_inside_a_functional_model():
    model = small_model()
    before = [w.copy() for w in model.get_layer("cbam").get_weights()]
    x = np.random.default_rng(3).random((16, 28, 28, 1), dtype=np.float32)
    y = np.arange(16) % 10
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    after = model.get_layer("cbam").get_weights()
    assert len(after) == 6  # MLP kernel+bias twice, spatial conv kernel+bias
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_round_trips_through_saving(tmp_path):
    model = small_model(seed=4, compile=False)
    model.save(tmp_path / "cbam.keras")
    loaded = keras.saving.load_model(tmp_path / "cbam.keras")
    layer = loaded.get_layer("cbam")
    assert type(layer).__name__ == "CBAM"
    assert (layer.reduction, layer.spatial_kernel) == (4, 7)
    x = np.random.default_rng(5).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-7)


def test_the_module_level_class_is_the_registered_class():
    assert attention.CBAM is CBAM
    assert keras.saving.get_registered_object("helpers.attention>CBAM") is CBAM


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"reduction": 0}, "reduction"),
        ({"reduction": 2.5}, "reduction"),
        ({"spatial_kernel": 6}, "spatial_kernel"),
        ({"spatial_kernel": -7}, "spatial_kernel"),
        ({"spatial_kernel": 0}, "spatial_kernel"),
    ],
)
def test_bad_arguments_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        CBAM(**kwargs)


def test_reduction_larger_than_channels_is_refused():
    with pytest.raises(ValueError, match="reduction=16 is larger than the 8 input channels"):
        CBAM(reduction=16)(np.zeros((1, 5, 5, 8), np.float32))


def test_wrong_rank_is_refused():
    with pytest.raises(ValueError, match="batch, height, width, channels"):
        CBAM()(np.zeros((2, 16), np.float32))


def test_a_fresh_process_loads_it_after_importing_the_module(tmp_path):
    small_model(seed=6, compile=False).save(tmp_path / "m.keras")
    code = (
        "import sys, keras\n"
        "from helpers import attention  # noqa: F401 (importing registers the class)\n"
        "m = keras.saving.load_model(sys.argv[1])\n"
        "print(type(m.get_layer('cbam')).__name__)\n"
    )
    out = run_python(code, str(tmp_path / "m.keras"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "CBAM"
