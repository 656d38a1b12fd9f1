"""tflite.measure: output parity, latency per thread count, the variant comparison table, the kernel
rounding check."""

import math

import numpy as np
import pytest
import tflite_testing as t

from helpers import evaluation, tflite

classifier, variants = t.classifier, t.variants  # shared module fixtures
X_CAL, Y_CAL = t.X_CAL, t.Y_CAL


def test_output_parity_by_hand():
    ref = np.array([[0.0, 1.0], [2.0, 3.0]])
    out = np.array([[0.5, 1.0], [2.0, 1.0]])
    assert tflite.output_parity(ref, out) == {"max_abs": 2.0, "mean_abs": 0.625}
    with pytest.raises(
        ValueError, match=r"differ in shape: reference \(2, 2\) vs candidate \(4,\)"
    ):
        tflite.output_parity(ref, out.ravel())
    with pytest.raises(ValueError, match="outputs are empty"):
        tflite.output_parity(np.zeros(0), np.zeros(0))


def test_latency_table_for_each_thread_count(variants):
    table = tflite.latency_table(variants, X_CAL[:1], threads=(1, 2), repeats=3, warmup=1)
    assert list(table.index) == list(variants)
    for n in (1, 2):
        ms = table[f"latency_ms_{n}t"]
        assert all(math.isfinite(v) and v > 0 for v in ms)
        assert table.loc["float32", f"latency_vs_float32_{n}t"] == 1.0
        np.testing.assert_allclose(
            table[f"latency_vs_float32_{n}t"], ms / ms["float32"], rtol=1e-12
        )
    builtin = tflite.latency_table(
        variants, X_CAL[:1], threads=(1,), repeats=2, warmup=1, use_xnnpack=False
    )
    assert list(builtin.columns) == ["latency_ms_1t", "latency_vs_float32_1t"]
    with pytest.raises(ValueError, match="batch axis of 1"):
        tflite.latency_table(variants, X_CAL[:3], threads=(1,))
    with pytest.raises(ValueError, match="threads must be a non-empty list"):
        tflite.latency_table(variants, X_CAL[:1], threads=())
    with pytest.raises(KeyError, match="baseline 'float32' is not among"):
        tflite.latency_table({"int8": variants["int8"]}, X_CAL[:1])


def test_compare_variants_table(classifier, variants):
    x, y = X_CAL[:40], Y_CAL[:40]
    table = tflite.compare_variants(
        variants,
        lambda predict: evaluation.accuracy(y, predict(x)),
        parity_input=x,
        latency_input=x[:1],
        keras_model=classifier,
        threads=(1,),
        repeats=3,
    )
    assert list(table.index) == ["keras", "float32", "dynamic", "float16", "int8"]
    assert table.loc["float32", "size_vs_float32"] == 1.0
    assert table.loc["int8", "size_vs_float32"] < 0.4
    assert table.loc["int8", "size_kb"] == pytest.approx(len(variants["int8"]) / 1024)
    assert table.loc["float32", "parity_max_abs"] < 1e-5
    assert table.loc["float32", "score"] == table.loc["keras", "score"]
    assert table.loc["keras", "score"] == evaluation.accuracy(y, np.asarray(classifier(x)))
    assert table.loc["int8", "score_drop"] == pytest.approx(
        table.loc["keras", "score"] - table.loc["int8", "score"]
    )
    assert table.loc["int8", "latency_ms_1t"] > 0
    assert math.isnan(table.loc["keras", "latency_ms_1t"])  # Keras is scored, not timed


def test_compare_variants_without_keras_model(variants):
    table = tflite.compare_variants(
        {m: variants[m] for m in ("float32", "int8")},
        lambda predict: float(predict(X_CAL[:4]).mean()),
        parity_input=X_CAL[:4],
        latency_input=X_CAL[:1],
        threads=(1,),
        repeats=2,
    )
    assert list(table.index) == ["float32", "int8"]
    assert "score_drop" not in table and "parity_max_abs" not in table


def test_size_table_sizes_gzip_and_score(variants, tmp_path):
    path = tmp_path / "int8.tflite"
    path.write_bytes(variants["int8"])
    table = tflite.size_table({"fp32": variants["float32"], "int8 file": path})
    assert list(table.columns) == ["size_kb", "gzip_kb"]
    assert table.loc["fp32", "size_kb"] == len(variants["float32"]) / 1024
    assert table.loc["int8 file", "gzip_kb"] == tflite.gzip_size_bytes(variants["int8"]) / 1024
    scored = tflite.size_table(
        {"int8": variants["int8"]}, lambda predict: predict(X_CAL[:3]).shape[0], "samples"
    )
    assert scored.loc["int8", "samples"] == 3.0
    with pytest.raises(ValueError, match="models is empty"):
        tflite.size_table({})


def test_kernel_rounding_error_by_hand():
    # Keras kernel (h, w, in, out) = (1, 1, 1, 2): channel 0 holds 1.2, channel 1 holds -0.33
    float_kernel = np.array([1.2, -0.33]).reshape(1, 1, 1, 2)
    # scales 0.5 and 0.1: q = round(2.4) = 2 -> 1.0 (error 0.2 = 0.8 half-steps) and
    # q = round(-3.3) = -3 -> -0.3 (error 0.03 = 0.6 half-steps)
    int8 = {
        "values": np.array([2, -3], np.int8).reshape(2, 1, 1, 1),
        "scales": np.array([0.5, 0.1]),
        "zero_points": np.array([0, 0]),
    }
    assert tflite.kernel_rounding_error(float_kernel, int8) == pytest.approx(0.8, rel=1e-6)
    with pytest.raises(ValueError, match="does not match the int8 kernel"):
        tflite.kernel_rounding_error(float_kernel.reshape(1, 1, 2, 1), int8)


def test_kernel_rounding_error_of_a_converted_kernel_is_rounding_only(classifier, variants):
    int8 = tflite.read_weight_tensor(variants["int8"], "conv", ndim=4)
    error = tflite.kernel_rounding_error(classifier.get_layer("conv").get_weights()[0], int8)
    assert 0.5 < error <= 1.0 + 1e-4  # 36 weights: some land near half a step, none beyond
