"""TFLite conversion modes, the LiteRT wrapper's int8 scaling, parity / size / latency helpers, QAT and pruning."""

import gzip

import numpy as np
import pytest

from helpers import keras_policy
from helpers import quantization as q

RNG = np.random.default_rng(0)
X_CAL = RNG.random(
    (100, 12, 12, 1), dtype=np.float32
)  # calibration data in [0, 1], like the training data
Y_CAL = RNG.integers(0, 4, size=100)


def tiny_classifier(input_shape=(12, 12, 1), num_classes=4, keras_module=None):
    """A small classifier that follows the helpers builder convention (keras_module=None -> Keras 3)."""
    K = keras_module or keras_policy.modern_keras()
    inputs = K.Input(input_shape)
    x = K.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = K.layers.Flatten()(x)
    x = K.layers.Dense(32, activation="relu", name="hidden")(
        x
    )  # 576 x 32 weights: big enough for dynamic range
    outputs = K.layers.Dense(num_classes, activation="softmax", name="out")(x)
    return K.Model(inputs, outputs)


def tiny_fcn(activation="prelu", keras_module=None):
    """A fully convolutional x3 upscaler (variable height and width), FSRCNN-shaped."""
    K = keras_module or keras_policy.modern_keras()
    inputs = K.Input((None, None, 1))
    x = K.layers.Conv2D(8, 5, padding="same", name="feature")(inputs)
    x = K.layers.PReLU(shared_axes=[1, 2])(x) if activation == "prelu" else K.layers.ReLU()(x)
    x = K.layers.Conv2D(4, 1, padding="same", name="shrink")(x)
    x = K.layers.PReLU(shared_axes=[1, 2])(x) if activation == "prelu" else K.layers.ReLU()(x)
    outputs = K.layers.Conv2DTranspose(1, 9, strides=3, padding="same", name="deconv")(x)
    return K.Model(inputs, outputs)


@pytest.fixture(scope="module")
def classifier():
    keras = keras_policy.modern_keras()
    keras.utils.set_random_seed(1)
    model = tiny_classifier()
    for layer in (
        model.layers
    ):  # non-zero biases, as after training (identical zero buffers would be shared)
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(RNG.normal(0, 0.05, layer.bias.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def variants(classifier):
    return q.convert_all(classifier, X_CAL)


@pytest.fixture(scope="module")
def fcn():
    keras = keras_policy.modern_keras()
    keras.utils.set_random_seed(2)
    return tiny_fcn()


# ---------------------------------------------------------------- quantization arithmetic


def test_quantize_values_by_hand():
    # scale 0.5, zero point -10: 1.0 -> 2 - 10 = -8; 1.2 -> round(2.4) - 10 = -8; 100 -> clipped to 127
    out = q.quantize_values(np.array([0.0, 1.0, 1.2, -1.3, 100.0, -100.0]), 0.5, -10)
    np.testing.assert_array_equal(out, np.array([-10, -8, -8, -13, 127, -128], dtype=np.int8))
    assert out.dtype == np.int8
    np.testing.assert_allclose(
        q.dequantize_values(np.array([-10, -8, 127], np.int8), 0.5, -10), [0.0, 1.0, 68.5]
    )
    assert q.quantize_values(np.array([300.0]), 1.0, 0, np.uint8)[0] == 255


def test_quantize_dequantize_round_trip_within_half_a_step():
    scale, zero = 1 / 255, -128
    x = RNG.random(10_000)  # [0, 1): inside the representable range [-0 .. 255/255]
    back = q.dequantize_values(q.quantize_values(x, scale, zero), scale, zero)
    assert np.max(np.abs(back - x)) <= scale / 2 + 1e-7


def test_quantize_values_rejects_zero_scale():
    with pytest.raises(ValueError, match="scale must be positive"):
        q.quantize_values(np.zeros(3), 0.0, 0)


# ---------------------------------------------------------------- conversion modes


def test_each_mode_converts_and_sizes_are_ordered(variants):
    sizes = {mode: len(b) for mode, b in variants.items()}
    assert set(sizes) == set(q.MODES)
    assert sizes["int8"] < sizes["float16"] < sizes["float32"], sizes
    assert sizes["dynamic"] < sizes["float16"], sizes
    assert sizes["int8"] <= 0.4 * sizes["float32"], sizes  # weights go from 4 bytes to 1


def test_int8_model_is_integer_only_with_int8_io(variants):
    int8 = q.TFLiteModel(variants["int8"])
    assert int8.input_dtype == np.int8 and int8.output_dtype == np.int8
    assert int8.input_quantization[0] > 0
    assert q.float_ops(variants["int8"]) == []
    ops = q.tflite_ops(variants["int8"])
    assert "CONV_2D" in ops and "FULLY_CONNECTED" in ops and "SOFTMAX" in ops
    fp32 = q.TFLiteModel(variants["float32"])
    assert fp32.input_dtype == np.float32 and fp32.input_quantization == (0.0, 0)
    assert "CONV_2D" in q.float_ops(variants["float32"])
    assert "DEQUANTIZE" in q.tflite_ops(
        variants["float16"]
    )  # float16 weights are expanded at load time


def test_weight_bytes_count_the_parameters(classifier, variants):
    params = classifier.count_params()  # conv 4*9+4, hidden 576*32+32, out 32*4+4
    assert params == 40 + 18_464 + 132
    fp32 = q.weight_bytes(variants["float32"])
    assert 4 * params <= fp32 <= 4 * params + 256  # plus a few shape constants
    int8 = q.weight_bytes(variants["int8"])
    # int8 kernels (1 byte) and int32 biases (4 bytes), plus the same few constants
    kernels, biases = 36 + 18_432 + 128, 4 + 32 + 4
    assert kernels + 4 * biases <= int8 <= kernels + 4 * biases + 256
    assert q.weight_bytes(variants["int8"]) < len(variants["int8"])


def test_int8_input_scale_matches_calibration_range(variants):
    scale, zero = q.TFLiteModel(variants["int8"]).input_quantization
    # calibration inputs span [0, 1): the converter maps that range onto the 256 int8 steps
    lo, hi = q.dequantize_values(np.array([-128, 127]), scale, zero)
    assert lo == pytest.approx(0.0, abs=scale) and hi == pytest.approx(X_CAL.max(), abs=2 * scale)


def test_tflite_outputs_match_keras(classifier, variants):
    x = X_CAL[:20]
    ref = np.asarray(classifier(x))
    for mode, tol in (("float32", 1e-5), ("dynamic", 0.02), ("float16", 0.01), ("int8", 0.05)):
        out = q.TFLiteModel(variants[mode]).predict(
            x, batch_size=7
        )  # 7 does not divide 20: last batch resized
        assert out.shape == ref.shape and out.dtype == np.float32
        assert q.output_parity(ref, out)["max_abs"] <= tol, mode


def test_int8_wrapper_quantizes_inputs_and_dequantizes_outputs(variants):
    model = q.TFLiteModel(variants["int8"])
    scale, zero = model.input_quantization
    x = X_CAL[:5]
    xq = model.quantize_input(x)
    assert xq.dtype == np.int8
    assert np.max(np.abs(q.dequantize_values(xq, scale, zero) - x)) <= scale / 2 + 1e-7
    assert model.quantize_input(xq) is xq  # already quantized inputs pass through
    raw = model._run(xq)
    assert raw.dtype == np.int8
    out_scale, out_zero = model.output_quantization
    np.testing.assert_allclose(
        model.dequantize_output(raw), (raw.astype(np.float64) - out_zero) * out_scale, rtol=1e-6
    )
    np.testing.assert_allclose(model.predict(x), model.dequantize_output(raw), rtol=1e-6)


def test_variable_shape_model_converted_at_one_size_runs_at_others(fcn):
    b = q.convert(fcn, "int8", X_CAL)  # calibrated on 12x12 patches
    assert q.float_ops(b) == []
    ops = q.tflite_ops(b)
    assert "PRELU" in ops and "TRANSPOSE_CONV" in ops
    model = q.TFLiteModel(b)
    assert model.input_shape == (None, None, None, 1)
    for h, w in ((20, 30), (17, 9)):
        x = RNG.random((1, h, w, 1), dtype=np.float32)
        out = model.predict(x)
        assert out.shape == (1, 3 * h, 3 * w, 1)
        assert q.output_parity(np.asarray(fcn(x)), out)["mean_abs"] < 0.01


def test_layer_error_table_finds_the_badly_scaled_layer():
    keras = keras_policy.modern_keras()
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="good")(inputs)
    outputs = keras.layers.Conv2D(1, 1, name="mixed")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("good").set_weights(
        [RNG.normal(0, 0.3, (3, 3, 1, 64)).astype(np.float32), np.zeros(64, np.float32)]
    )
    # one input channel with weight 1 and 63 with weight 0.011: with one int8 scale (1/127) for all of them,
    # 0.011 rounds to 0.0079, and the 63 small errors add up in the output
    mixed = np.full(64, 0.011, np.float32)
    mixed[0] = 1.0
    model.get_layer("mixed").set_weights([mixed.reshape(1, 1, 64, 1), np.zeros(1, np.float32)])
    table = q.layer_error_table(model, X_CAL[:, :8, :8])
    assert list(table["op_name"]) == ["CONV_2D", "CONV_2D"]
    good, bad = table["rmse_over_scale"]
    assert 0.2 < good < 0.45  # rounding noise only: 1/sqrt(12) = 0.29
    assert bad > 2.0, table
    with pytest.raises(ValueError, match="calibration needs at least 100"):
        q.layer_error_table(model, X_CAL[:10, :8, :8])


def test_int16x8_mode_on_relu_fcn_and_its_prelu_limit(fcn):
    relu = tiny_fcn(activation="relu")
    b = q.convert(relu, "int16x8", X_CAL)
    model = q.TFLiteModel(b)
    assert model.input_dtype == np.int16 and model.output_dtype == np.int16
    assert model.input_quantization[1] == 0  # int16 activations are symmetric
    x = RNG.random((1, 10, 10, 1), dtype=np.float32)
    error_16x8 = q.output_parity(np.asarray(relu(x)), model.predict(x))["mean_abs"]
    error_int8 = q.output_parity(
        np.asarray(relu(x)), q.TFLiteModel(q.convert(relu, "int8", X_CAL)).predict(x)
    )["mean_abs"]
    assert error_16x8 < error_int8  # same int8 weights, finer activations
    with pytest.raises(Exception, match="16x8-bit not yet supported for op: 'PRELU'"):
        q.convert(fcn, "int16x8", X_CAL)


def test_tf_keras_models_convert_too():
    legacy = keras_policy.legacy_keras()
    model = tiny_classifier(keras_module=legacy)
    b = q.convert(model, "int8", X_CAL)
    assert q.TFLiteModel(b).input_dtype == np.int8


def test_read_weight_tensor_gives_per_channel_int8_kernel(classifier, variants):
    t = q.read_weight_tensor(variants["int8"], "conv", ndim=4)
    assert t["values"].dtype == np.int8 and t["shape"] == (
        4,
        3,
        3,
        1,
    )  # TFLite keeps kernels as (out, h, w, in)
    kernel = classifier.get_layer("conv").get_weights()[0]  # Keras: (h, w, in, out)
    float_kernel = np.transpose(kernel, (3, 0, 1, 2))
    np.testing.assert_allclose(
        t["scales"], np.abs(float_kernel).max(axis=(1, 2, 3)) / 127, rtol=1e-5
    )
    dequantized = t["values"] * t["scales"][:, None, None, None]
    assert np.all(np.abs(dequantized - float_kernel) <= t["scales"][:, None, None, None] / 2 + 1e-7)
    with pytest.raises(KeyError, match="no weight tensor name contains"):
        q.read_weight_tensor(variants["int8"], "no_such_layer")
    with pytest.raises(KeyError, match="with 3 axes"):
        q.read_weight_tensor(variants["int8"], "conv", ndim=3)


def test_save_and_load_from_path(variants, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(variants["int8"])
    assert q.TFLiteModel(path).size_bytes == len(variants["int8"])
    assert q.size_kb(path) == pytest.approx(len(variants["int8"]) / 1024)
    with pytest.raises(FileNotFoundError, match="convert the model first"):
        q.TFLiteModel(tmp_path / "missing.tflite")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data, error, message",
    [
        (
            np.where(np.arange(X_CAL.size).reshape(X_CAL.shape) == 5, np.nan, X_CAL),
            ValueError,
            "1 NaN or inf",
        ),
        (np.full_like(X_CAL, np.inf), ValueError, "NaN or inf"),
        (RNG.random((100, 14, 12, 1), dtype=np.float32), ValueError, r"axis 1: 14 != 12"),
        (
            RNG.random((100, 12, 12), dtype=np.float32),
            ValueError,
            "pass a batch of samples with 4 axes",
        ),
        ((X_CAL * 255).astype(np.uint8), TypeError, r"astype\('float32'\) / 255"),
        (X_CAL[:50], ValueError, "50 samples; calibration needs at least 100"),
        (None, ValueError, "integer modes \\(int8, int16x8\\) need representative_data"),
    ],
    ids=["nan", "inf", "wrong-size", "missing-axis", "uint8", "too-few", "none"],
)
def test_bad_representative_data_is_refused(classifier, data, error, message):
    with pytest.raises(error, match=message):
        q.convert(classifier, "int8", data)


def test_few_samples_allowed_when_asked(classifier):
    b = q.convert(classifier, "int8", X_CAL[:10], min_samples=10)
    assert q.TFLiteModel(b).input_dtype == np.int8


def test_unknown_mode_is_refused(classifier):
    with pytest.raises(
        ValueError, match="unknown mode 'int4'; use one of float32, dynamic, float16, int8, int16x8"
    ):
        q.convert(classifier, "int4", X_CAL)


def test_wrapper_refuses_inputs_that_do_not_fit(variants):
    model = q.TFLiteModel(variants["float32"])
    with pytest.raises(ValueError, match=r"does not fit the model input \(None, 12, 12, 1\)"):
        model.predict(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        model.predict(np.full((1, 12, 12, 1), np.nan, np.float32))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.predict(X_CAL[:2], batch_size=0)


# ---------------------------------------------------------------- measurements


def test_output_parity_by_hand():
    ref = np.array([[0.0, 1.0], [2.0, 3.0]])
    out = np.array([[0.5, 1.0], [2.0, 1.0]])
    assert q.output_parity(ref, out) == {"max_abs": 2.0, "mean_abs": 0.625}
    with pytest.raises(
        ValueError, match=r"differ in shape: reference \(2, 2\) vs candidate \(4,\)"
    ):
        q.output_parity(ref, out.ravel())


def test_accuracy_by_hand():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert q.accuracy(probs, np.array([0, 1, 1, 1])) == 0.75


def test_gzip_size_of_zeros_is_small_and_of_noise_is_not():
    zeros = bytes(20_000)
    noise = RNG.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    assert q.gzip_size_bytes(zeros) < 200
    assert q.gzip_size_bytes(noise) > 19_000
    assert gzip.decompress(gzip.compress(zeros)) == zeros


def test_median_latency_for_each_thread_count(variants):
    result = q.median_latency_ms(variants["int8"], X_CAL[:1], threads=(1, 2), repeats=5, warmup=1)
    assert set(result) == {1, 2} and all(0 < ms < 1000 for ms in result.values())
    with pytest.raises(ValueError, match="batch axis of 1"):
        q.median_latency_ms(variants["int8"], X_CAL[:3])


def test_compare_variants_table(classifier, variants):
    x, y = X_CAL[:40], Y_CAL[:40]
    table = q.compare_variants(
        variants,
        lambda predict: q.accuracy(predict(x), y),
        parity_input=x,
        latency_input=x[:1],
        keras_model=classifier,
        threads=(1,),
        repeats=3,
    )
    assert list(table.index) == ["keras", "float32", "dynamic", "float16", "int8"]
    assert table.loc["float32", "size_vs_float32"] == 1.0
    assert table.loc["int8", "size_vs_float32"] < 0.4
    assert table.loc["float32", "parity_max_abs"] < 1e-5
    assert table.loc["float32", "score"] == table.loc["keras", "score"]
    assert table.loc["int8", "score_drop"] == pytest.approx(
        table.loc["keras", "score"] - table.loc["int8", "score"]
    )
    assert table.loc["int8", "latency_ms_1t"] > 0


# ---------------------------------------------------------------- QAT and pruning


def test_copy_weights_checks_architecture(classifier):
    legacy = keras_policy.legacy_keras()
    target = tiny_classifier(keras_module=legacy)
    assert q.copy_weights(classifier, target) == 3  # conv, hidden, out
    np.testing.assert_array_equal(
        target.layers[-1].get_weights()[0], classifier.get_layer("out").get_weights()[0]
    )
    with pytest.raises(ValueError, match="weight shapes"):
        q.copy_weights(classifier, tiny_classifier(num_classes=5, keras_module=legacy))


def test_qat_from_trained_keras3_model_fine_tunes_and_converts(classifier):
    import keras

    model = q.qat_model(tiny_classifier, source_model=classifier)
    assert any(type(layer).__name__ == "QuantizeWrapperV2" for layer in model.layers)
    assert not isinstance(model, keras.Model)  # a tf_keras model, as tfmot requires
    history = q.fine_tune(
        model, X_CAL, Y_CAL, epochs=1, batch_size=50
    )  # the first steps set the quantizer ranges
    assert np.isfinite(history.history["loss"][0])
    # the fake-quantized model started from the trained weights: it agrees with the float model
    np.testing.assert_allclose(
        np.asarray(model(X_CAL[:8])), np.asarray(classifier(X_CAL[:8])), atol=0.05
    )
    b = q.convert(model, "int8", X_CAL)
    assert q.float_ops(b) == [] and q.TFLiteModel(b).input_dtype == np.int8
    import os

    assert "TF_USE_LEGACY_KERAS" not in os.environ


def test_qat_rejects_prelu_but_accepts_relu_fcn():
    with pytest.raises(RuntimeError, match="PReLU.*is not supported"):
        q.qat_model(tiny_fcn, activation="prelu")
    model = q.qat_model(tiny_fcn, activation="relu")
    assert model.output_shape == (None, None, None, 1)


def test_pruning_reaches_target_sparsity_and_compresses(classifier):
    pruned = q.prune_model(
        tiny_classifier,
        X_CAL,
        Y_CAL,
        source_model=classifier,
        target_sparsity=0.5,
        epochs=3,
        batch_size=25,
    )
    assert not any(
        "PruneLowMagnitude" in type(layer).__name__ for layer in pruned.layers
    )  # stripped
    assert 0.45 <= q.sparsity(pruned) <= 0.55
    dense = q.convert(q.legacy_clone(tiny_classifier, classifier), "float32")
    sparse = q.convert(pruned, "float32")
    assert q.gzip_size_bytes(sparse) < 0.8 * q.gzip_size_bytes(dense)
    assert q.float_ops(q.convert(pruned, "int8", X_CAL)) == []


def test_sparsity_by_hand():
    legacy = keras_policy.legacy_keras()
    model = legacy.Sequential([legacy.Input((4,)), legacy.layers.Dense(2)])
    model.layers[0].set_weights(
        [np.array([[0, 1], [0, 2], [3, 0], [4, 5]], np.float32), np.zeros(2, np.float32)]
    )
    assert q.sparsity(model) == 3 / 8  # biases are not counted


def test_qat_model_from_a_helpers_builder():
    models = pytest.importorskip("helpers.models")
    model = q.qat_model(models.build_tiny_cnn)
    assert any(type(layer).__name__ == "QuantizeWrapperV2" for layer in model.layers)
    assert model(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)


def test_latency_without_xnnpack(variants):
    result = q.median_latency_ms(
        variants["float32"], X_CAL[:1], threads=(1,), repeats=3, warmup=1, use_xnnpack=False
    )
    assert 0 < result[1] < 1000
    assert not q.TFLiteModel(variants["float32"], use_xnnpack=False).use_xnnpack


# ---------------------------------------------------------------- models to quantize


def test_load_or_train_classifier_loads_saved_model(monkeypatch, classifier):
    from helpers import training

    monkeypatch.setattr(
        training, "load_trained", lambda name: classifier if name == "tiny_cnn" else None
    )
    assert q.load_or_train_classifier("tiny_cnn", {}) == (classifier, False)


def test_load_or_train_classifier_trains_with_quick_epochs(monkeypatch):
    pytest.importorskip("helpers.models")
    from helpers import training

    calls = {}
    monkeypatch.setattr(training, "load_trained", lambda name: None)
    monkeypatch.setattr(
        training, "train_classifier", lambda model, splits, **kw: calls.update(model=model, **kw)
    )
    model, trained_here = q.load_or_train_classifier("resnet", {"x_train": None})
    assert trained_here and calls["model"] is model and model.name == "resnet"
    assert calls["epochs"] == training.RECIPES["resnet"].quick_epochs
    assert calls["learning_rate"] == training.RECIPES["resnet"].learning_rate
