"""tflite.convert: the conversion modes, the representative data and its checks, the per-layer int8
error table."""

import numpy as np
import pytest
import tflite_testing as t

from helpers import tflite
from helpers.kit import keras_policy

classifier, variants, fcn = t.classifier, t.variants, t.fcn  # shared module fixtures
X_CAL, RNG = t.X_CAL, t.RNG


def test_each_mode_converts_and_sizes_are_ordered(variants):
    sizes = {mode: len(b) for mode, b in variants.items()}
    assert set(sizes) == set(tflite.MODES)
    assert sizes["int8"] < sizes["float16"] < sizes["float32"], sizes
    assert sizes["dynamic"] < sizes["float16"], sizes
    assert sizes["int8"] <= 0.4 * sizes["float32"], sizes  # weights go from 4 bytes to 1


def test_int8_model_is_integer_only_with_int8_io(variants):
    int8 = tflite.TFLiteModel(variants["int8"])
    assert int8.input_dtype == np.int8 and int8.output_dtype == np.int8
    assert int8.input_quantization[0] > 0
    assert tflite.float_ops(variants["int8"]) == []
    ops = tflite.ops(variants["int8"])
    assert "CONV_2D" in ops and "FULLY_CONNECTED" in ops and "SOFTMAX" in ops
    assert "CONV_2D" in tflite.float_ops(variants["float32"])
    # float16 weights are expanded to float32 at load time
    assert "DEQUANTIZE" in tflite.ops(variants["float16"])


def test_int8_input_scale_matches_calibration_range(variants):
    scale, zero = tflite.TFLiteModel(variants["int8"]).input_quantization
    # calibration inputs span [0, 1): the converter maps that range onto the 256 int8 steps
    lo, hi = tflite.dequantize_values(np.array([-128, 127]), scale, zero)
    assert lo == pytest.approx(0.0, abs=scale) and hi == pytest.approx(X_CAL.max(), abs=2 * scale)


def test_variable_shape_model_converted_at_one_size_runs_at_others(fcn):
    b = tflite.convert(fcn, "int8", X_CAL)  # calibrated on 12x12 patches
    assert tflite.float_ops(b) == []
    ops = tflite.ops(b)
    assert "PRELU" in ops and "TRANSPOSE_CONV" in ops
    model = tflite.TFLiteModel(b)
    assert model.input_shape == (None, None, None, 1)
    for h, w in ((20, 30), (17, 9)):
        x = RNG.random((1, h, w, 1), dtype=np.float32)
        out = model.predict(x)
        assert out.shape == (1, 3 * h, 3 * w, 1)
        assert tflite.output_parity(np.asarray(fcn(x)), out)["mean_abs"] < 0.01


def test_representative_dataset_yields_each_sample_once_with_batch_1():
    samples = np.arange(6, dtype=np.float32).reshape(3, 2)
    batches = list(tflite.representative_dataset(samples)())
    assert len(batches) == 3 and all(len(b) == 1 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), samples)
    assert batches[1][0].shape == (1, 2)
    assert len(list(tflite.representative_dataset(samples)())) == 3  # each call starts over
    with pytest.raises(ValueError, match="samples is empty"):
        tflite.representative_dataset(samples[:0])


def test_layer_error_table_finds_the_badly_scaled_layer():
    keras = keras_policy.modern_keras()
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="good")(inputs)
    outputs = keras.layers.Conv2D(1, 1, name="mixed")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("good").set_weights(
        [RNG.normal(0, 0.3, (3, 3, 1, 64)).astype(np.float32), np.zeros(64, np.float32)]
    )
    # one input channel with weight 1 and 63 with weight 0.011: with one int8 scale (1/127) for all
    # of them, 0.011 rounds to 0.0079, and the 63 small errors add up in the output
    mixed = np.full(64, 0.011, np.float32)
    mixed[0] = 1.0
    model.get_layer("mixed").set_weights([mixed.reshape(1, 1, 64, 1), np.zeros(1, np.float32)])
    table = tflite.layer_error_table(model, X_CAL[:, :8, :8])
    assert list(table["op_name"]) == ["CONV_2D", "CONV_2D"]
    good, bad = table["rmse_over_scale"]
    assert 0.2 < good < 0.45  # rounding noise only: 1/sqrt(12) = 0.29
    assert bad > 2.0, table
    with pytest.raises(ValueError, match="calibration needs at least 100"):
        tflite.layer_error_table(model, X_CAL[:10, :8, :8])


def test_int16x8_mode_on_relu_fcn_and_its_prelu_limit(fcn):
    relu = t.tiny_fcn(activation="relu")
    b = tflite.convert(relu, "int16x8", X_CAL)
    model = tflite.TFLiteModel(b)
    assert model.input_dtype == np.int16 and model.output_dtype == np.int16
    assert model.input_quantization[1] == 0  # int16 activations are symmetric
    x = RNG.random((1, 10, 10, 1), dtype=np.float32)
    error_16x8 = tflite.output_parity(np.asarray(relu(x)), model.predict(x))["mean_abs"]
    int8 = tflite.TFLiteModel(tflite.convert(relu, "int8", X_CAL))
    error_int8 = tflite.output_parity(np.asarray(relu(x)), int8.predict(x))["mean_abs"]
    assert error_16x8 < error_int8  # same int8 weights, finer activations
    with pytest.raises(Exception, match="16x8-bit not yet supported for op: 'PRELU'"):
        tflite.convert(fcn, "int16x8", X_CAL)


def test_tf_keras_models_convert_too():
    legacy = keras_policy.legacy_keras()
    model = t.tiny_classifier(keras_module=legacy)
    b = tflite.convert(model, "int8", X_CAL)
    assert tflite.TFLiteModel(b).input_dtype == np.int8


def test_float_ops_left_in_an_integer_model_are_refused(classifier, monkeypatch):
    monkeypatch.setattr(tflite.tensors, "float_ops", lambda model: ["GELU"])
    with pytest.raises(
        tflite.QuantizationError, match="still computes in float in these ops: GELU"
    ):
        tflite.convert(classifier, "int8", X_CAL)
    mixed = tflite.convert(classifier, "int8", X_CAL, check_integer_only=False)
    assert isinstance(mixed, bytes) and mixed


def test_model_input_shape():
    assert tflite.model_input_shape(t.tiny_classifier()) == (None, 12, 12, 1)
    assert tflite.model_input_shape(t.tiny_fcn()) == (None, None, None, 1)
    with pytest.raises(ValueError, match="model has no defined input"):
        tflite.model_input_shape(object())


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
        tflite.convert(classifier, "int8", data)


def test_few_samples_allowed_when_asked(classifier):
    b = tflite.convert(classifier, "int8", X_CAL[:10], min_samples=10)
    assert tflite.TFLiteModel(b).input_dtype == np.int8


def test_unknown_mode_is_refused(classifier):
    with pytest.raises(
        ValueError, match="unknown mode 'int4'; use one of float32, dynamic, float16, int8, int16x8"
    ):
        tflite.convert(classifier, "int4", X_CAL)
    with pytest.raises(ValueError, match="modes is empty"):
        tflite.convert_all(classifier, X_CAL, modes=())


def test_float_modes_need_no_representative_data(classifier):
    by_mode = tflite.convert_all(classifier, None, modes=("float32", "float16", "dynamic"))
    assert list(by_mode) == ["float32", "float16", "dynamic"]
