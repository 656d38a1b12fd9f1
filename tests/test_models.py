"""Classifier builders: output shape and softmax, exact parameter counts derived by hand, tf_keras twins, strategy."""

import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import models
from helpers.kit import keras_policy

REPO_ROOT = Path(__file__).resolve().parent.parent


def dense(n_in, n_out):
    return n_in * n_out + n_out


def conv(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


BN = 4  # gamma, beta, moving mean, moving variance per channel

EXPECTED_PARAMS = {
    "mlp_baseline": dense(784, 77) + dense(77, 74) + dense(74, 63) + dense(63, 10),
    "mlp_tuned": 784 * 90 + BN * 90 + dense(90, 10),
    "small_cnn": conv(3, 1, 6) + conv(3, 6, 6) + dense(7 * 7 * 6, 30) + dense(30, 10),
    "tiny_cnn": conv(3, 1, 8, False)
    + conv(3, 8, 12, False)
    + conv(3, 12, 14, False)
    + conv(1, 14, 8, False)
    + conv(3, 8, 12, False)
    + conv(3, 12, 16, False)
    + conv(3, 16, 16, False)
    + BN * (8 + 12 + 14 + 8 + 12 + 16 + 16)
    + dense(16, 10),
    "lenet5": conv(5, 1, 6)
    + conv(5, 6, 16)
    + dense(5 * 5 * 16, 120)
    + dense(120, 84)
    + dense(84, 10),
    "five_layer_cnn": conv(5, 1, 128)
    + conv(5, 128, 256)
    + dense(4 * 4 * 256, 64)
    + dense(64, 32)
    + dense(32, 10),
    "resnet": conv(7, 1, 64)
    + BN * 64
    + 3 * (2 * conv(3, 64, 64) + 2 * BN * 64)
    + dense(64, 64)
    + dense(64, 10),
    "strong_cnn": conv(3, 1, 16, False)
    + conv(3, 16, 16, False)
    + conv(5, 16, 16, False)
    + conv(3, 16, 32, False)
    + conv(3, 32, 32, False)
    + conv(5, 32, 32, False)
    + conv(4, 32, 64, False)
    + BN * (16 * 3 + 32 * 3 + 64)
    + dense(4 * 4 * 64, 10),
}


def test_hand_counts_match_the_documented_numbers():
    assert EXPECTED_PARAMS["mlp_baseline"] == 71_582  # the course report's MLP
    assert EXPECTED_PARAMS["small_cnn"] == 9_550  # the course report's small CNN
    assert EXPECTED_PARAMS["tiny_cnn"] <= 8_000
    assert EXPECTED_PARAMS["mlp_tuned"] <= 72_000
    assert EXPECTED_PARAMS["lenet5"] == 61_706
    assert EXPECTED_PARAMS["resnet"] == 231_370


def test_registry_has_the_eight_classifiers():
    assert set(models.CLASSIFIERS) == set(EXPECTED_PARAMS)


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_builder_param_count_output_shape_and_name(name):
    model = models.CLASSIFIERS[name]()
    assert model.count_params() == EXPECTED_PARAMS[name]
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert model.name == name


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_legacy_keras_builds_the_same_architecture(name):
    legacy = models.CLASSIFIERS[name](keras_module=keras_policy.legacy_keras())
    assert type(legacy).__module__.startswith("tf_keras")
    assert legacy.count_params() == EXPECTED_PARAMS[name]
    assert legacy.output_shape == (None, 10)


@pytest.mark.parametrize("name", ["small_cnn", "mlp_tuned", "resnet"])
def test_outputs_are_probabilities(name):
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    p = np.asarray(models.CLASSIFIERS[name]()(x, training=False))
    assert p.shape == (3, 10)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_small_cnn_weight_macs_by_hand():
    model = models.build_small_cnn()
    shapes = {layer.name: layer.output.shape[1:] for layer in model.layers}
    assert shapes["conv_1"] == (28, 28, 6) and shapes["pool_2"] == (7, 7, 6)
    macs = 28 * 28 * 9 * 1 * 6 + 14 * 14 * 9 * 6 * 6 + 294 * 30 + 30 * 10
    assert macs == 114_960
    bias_adds = 28 * 28 * 6 + 14 * 14 * 6 + 30 + 10
    assert macs + bias_adds == 120_880  # 5 short of the course report's 120,885


def test_resnet_shapes_and_downsampling():
    model = models.build_resnet()
    assert model.get_layer("stem_pool").output.shape[1:] == (7, 7, 64)
    assert model.get_layer("block_3_out").output.shape[1:] == (7, 7, 64)
    down = models.build_resnet(downsample=(False, True, False))
    assert down.get_layer("block_3_out").output.shape[1:] == (4, 4, 64)
    projection = conv(1, 64, 64) + BN * 64
    assert down.count_params() == EXPECTED_PARAMS["resnet"] + projection


@pytest.mark.parametrize("activation", ["elu", "gelu", "swish", "leaky_relu"])
def test_resnet_activation_is_a_parameter(activation):
    model = models.build_resnet(activation=activation, blocks=1, downsample=(False,))
    expected = keras.activations.get(activation)  # "swish" is stored under its alias "silu"
    assert model.get_layer("block_1_act1").activation is expected
    assert model.get_layer("dense_1").activation is expected


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="activation"):
        models.build_resnet(activation="sigmoidal")
    with pytest.raises(ValueError, match="downsample"):
        models.build_resnet(blocks=3, downsample=(True,))
    with pytest.raises(ValueError, match="input_shape"):
        models.build_small_cnn(input_shape=(28, 28))
    with pytest.raises(ValueError, match="num_classes"):
        models.build_mlp_baseline(num_classes=1)
    with pytest.raises(KeyError, match="unknown classifier"):
        models.build_classifier("vgg16")


STRATEGY_SCRIPT = textwrap.dedent(
    """
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from helpers import models
    strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    rng = np.random.default_rng(0)
    x = rng.random((8, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 8)
    TRAINED = ("resnet",)
    for name, build in models.CLASSIFIERS.items():
        with strategy.scope():
            model = build()
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        kinds = {type(w.value).__name__ for w in model.weights}
        assert kinds <= {"MirroredVariable", "SyncOnReadVariable"}, (name, kinds)
        if name in TRAINED:  # one fit step for the residual net (batch norm, Add); tracing is slow
            history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
            assert np.isfinite(history.history["loss"][0]), name
        print(name, model.count_params())
    print("replicas", strategy.num_replicas_in_sync)
    """
)


def test_every_builder_trains_under_mirrored_strategy_on_two_logical_cpus():
    # Logical devices must be configured before TensorFlow initialises: use a fresh interpreter.
    result = subprocess.run(
        [sys.executable, "-c", STRATEGY_SCRIPT, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split() for line in result.stdout.strip().splitlines())
    assert lines["replicas"] == "2"
    for name, expected in EXPECTED_PARAMS.items():
        assert int(lines[name]) == expected


def test_strong_cnn_shapes_cbam_and_bn_momentum():
    from helpers import attention

    model = models.build_strong_cnn()  # the default momentum is the base recipe's 0.9
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shapes["stage1_down"] == (14, 14, 16) and shapes["stage2_down"] == (7, 7, 32)
    assert shapes["head_conv"] == (4, 4, 64)
    momenta = {
        layer.momentum
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    }
    assert momenta == {0.9}
    slow = models.build_strong_cnn(bn_momentum=0.99)
    assert {lay.momentum for lay in slow.layers if hasattr(lay, "moving_mean")} == {0.99}
    with_cbam = models.build_strong_cnn(cbam=True)
    extra = attention.cbam_parameter_count(16) + attention.cbam_parameter_count(32)
    assert with_cbam.count_params() == EXPECTED_PARAMS["strong_cnn"] + extra
    assert {"stage1_cbam", "stage2_cbam"} <= {layer.name for layer in with_cbam.layers}
    for bad in ({"width": 0}, {"dropout": 1.0}, {"bn_momentum": 1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            models.build_strong_cnn(**bad)
