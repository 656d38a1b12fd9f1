"""tflite.runner: quantization arithmetic, the LiteRT wrapper (int8 scaling, batching, resizing, bad
input) and its batch-1 latency."""

import math

import numpy as np
import pytest
import tflite_testing as t

from helpers import tflite

classifier, variants, fcn = t.classifier, t.variants, t.fcn  # shared module fixtures
X_CAL, RNG = t.X_CAL, t.RNG


# ---------------------------------------------------------------- quantization arithmetic


def test_quantize_values_by_hand():
    # scale 0.5, zero point -10: 1.0 -> 2 - 10 = -8; 1.2 -> round(2.4) - 10 = -8; 100 -> clipped to 127
    out = tflite.quantize_values(np.array([0.0, 1.0, 1.2, -1.3, 100.0, -100.0]), 0.5, -10)
    np.testing.assert_array_equal(out, np.array([-10, -8, -8, -13, 127, -128], dtype=np.int8))
    assert out.dtype == np.int8
    np.testing.assert_allclose(
        tflite.dequantize_values(np.array([-10, -8, 127], np.int8), 0.5, -10), [0.0, 1.0, 68.5]
    )
    assert tflite.quantize_values(np.array([300.0]), 1.0, 0, np.uint8)[0] == 255


def test_per_channel_scales_broadcast():
    # two channels with scales 0.1 and 1.0, zero point 0 (how TFLite stores kernels)
    w = np.array([[0.34, 0.34], [-0.26, -2.6]])
    scales = np.array([0.1, 1.0])
    q = tflite.quantize_values(w, scales, 0)
    np.testing.assert_array_equal(q, [[3, 0], [-3, -3]])
    np.testing.assert_allclose(tflite.dequantize_values(q, scales, 0), [[0.3, 0.0], [-0.3, -3.0]])


def test_quantize_dequantize_round_trip_within_half_a_step():
    scale, zero = 1 / 255, -128
    x = RNG.random(10_000)  # [0, 1): inside the representable range [0 .. 255/255]
    back = tflite.dequantize_values(tflite.quantize_values(x, scale, zero), scale, zero)
    assert np.max(np.abs(back - x)) <= scale / 2 + 1e-7


def test_quantize_values_rejects_zero_scale():
    with pytest.raises(ValueError, match="scale must be positive"):
        tflite.quantize_values(np.zeros(3), 0.0, 0)


# ---------------------------------------------------------------- the wrapper


def test_tflite_outputs_match_keras(classifier, variants):
    x = X_CAL[:20]
    ref = np.asarray(classifier(x))
    for mode, tol in (("float32", 1e-5), ("dynamic", 0.02), ("float16", 0.01), ("int8", 0.05)):
        # 7 does not divide 20: the last batch resizes the input tensor
        out = tflite.TFLiteModel(variants[mode]).predict(x, batch_size=7)
        assert out.shape == ref.shape and out.dtype == np.float32
        assert tflite.output_parity(ref, out)["max_abs"] <= tol, mode


def test_int8_wrapper_quantizes_inputs_and_dequantizes_outputs(variants):
    model = tflite.TFLiteModel(variants["int8"])
    scale, zero = model.input_quantization
    x = X_CAL[:5]
    xq = model.quantize_input(x)
    assert xq.dtype == np.int8
    assert np.max(np.abs(tflite.dequantize_values(xq, scale, zero) - x)) <= scale / 2 + 1e-7
    assert model.quantize_input(xq) is xq  # already quantized inputs pass through
    raw = model.run_raw(xq)
    assert raw.dtype == np.int8
    out_scale, out_zero = model.output_quantization
    np.testing.assert_allclose(
        model.dequantize_output(raw), (raw.astype(np.float64) - out_zero) * out_scale, rtol=1e-6
    )
    np.testing.assert_allclose(model.predict(x), model.dequantize_output(raw), rtol=1e-6)
    with pytest.raises(TypeError, match="use predict for float inputs"):
        model.run_raw(x)


def test_float_model_reports_no_quantization(variants):
    model = tflite.TFLiteModel(variants["float32"])
    assert model.input_dtype == np.float32 and model.input_quantization == (0.0, 0)
    assert model.input_shape == (None, 12, 12, 1)
    assert "KB" in repr(model)


def test_load_from_path(variants, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(variants["int8"])
    assert tflite.TFLiteModel(path).size_bytes == len(variants["int8"])
    assert tflite.TFLiteModel(str(path)).size_bytes == len(variants["int8"])
    with pytest.raises(FileNotFoundError, match="convert the model first"):
        tflite.TFLiteModel(tmp_path / "missing.tflite")
    with pytest.raises(TypeError, match="TFLite bytes or the path"):
        tflite.TFLiteModel(123)
    with pytest.raises(ValueError, match="num_threads must be a positive integer"):
        tflite.TFLiteModel(variants["int8"], num_threads=0)


def test_wrapper_refuses_inputs_that_do_not_fit(variants):
    model = tflite.TFLiteModel(variants["float32"])
    with pytest.raises(ValueError, match=r"does not fit the model input \(None, 12, 12, 1\)"):
        model.predict(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        model.predict(np.full((1, 12, 12, 1), np.nan, np.float32))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.predict(X_CAL[:2], batch_size=0)
    with pytest.raises(ValueError, match="holds no samples"):
        model.predict(X_CAL[:0])


def test_variable_shape_model_runs_at_any_size(fcn):
    model = tflite.TFLiteModel(tflite.convert(fcn, "float32"))
    assert model.input_shape == (None, None, None, 1)
    for h, w in ((20, 30), (17, 9)):
        x = RNG.random((1, h, w, 1), dtype=np.float32)
        assert model.predict(x).shape == (1, 3 * h, 3 * w, 1)


# ---------------------------------------------------------------- latency


@pytest.mark.parametrize("mode", ["float32", "int8"])
@pytest.mark.parametrize("use_xnnpack", [True, False])
def test_latency_ms_is_a_positive_finite_float(variants, mode, use_xnnpack):
    model = tflite.TFLiteModel(variants[mode], use_xnnpack=use_xnnpack)
    assert model.use_xnnpack is use_xnnpack
    ms = model.latency_ms(X_CAL[:1], repeats=3, warmup=1)
    assert isinstance(ms, float) and math.isfinite(ms) and ms > 0


def test_latency_ms_uses_the_kit_timer(variants, monkeypatch):
    calls = {}

    def fake_median_ms(fn, repeats, warmup):
        calls.update(repeats=repeats, warmup=warmup)
        fn()  # the timed callable runs the interpreter on the prepared input
        return 1.5

    monkeypatch.setattr(tflite.runner.timing, "median_ms", fake_median_ms)
    model = tflite.TFLiteModel(variants["int8"])
    assert model.latency_ms(X_CAL[:1], repeats=7, warmup=2) == 1.5
    assert calls == {"repeats": 7, "warmup": 2}


def test_latency_ms_needs_one_sample(variants):
    model = tflite.TFLiteModel(variants["int8"])
    with pytest.raises(ValueError, match="batch axis of 1"):
        model.latency_ms(X_CAL[:3])
    with pytest.raises(ValueError, match="does not fit the model input"):
        model.latency_ms(np.zeros((1, 28, 28, 1), np.float32))
