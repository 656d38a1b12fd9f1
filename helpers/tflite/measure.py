"""Measuring TFLite variants against each other and against the Keras model: output parity, batch-1
latency per thread count, and the one table that puts size, score, parity and latency side by side.

Latencies are medians from :meth:`TFLiteModel.latency_ms` (``helpers.kit.timing.median_ms``). They are
printed, never asserted: the int8/float32 ratio depends on the CPU's instruction set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from helpers.tflite import tensors
from helpers.tflite.runner import ModelSource, TFLiteModel, dequantize_values, model_bytes

PredictFn = Callable[[np.ndarray], np.ndarray]


def output_parity(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Return ``max_abs`` and ``mean_abs`` of ``candidate - reference`` (e.g. TFLite vs Keras outputs, same units)."""
    ref = np.asarray(reference, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if ref.shape != cand.shape:
        raise ValueError(
            f"outputs differ in shape: reference {ref.shape} vs candidate {cand.shape}"
        )
    if ref.size == 0:
        raise ValueError("outputs are empty: pass at least one sample")
    diff = np.abs(cand - ref)
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean())}


def _threads(threads: Sequence[int]) -> list[int]:
    """Return ``threads`` as a list of positive ints, or raise a ValueError naming the argument."""
    out = [int(n) for n in threads]
    if not out or any(n < 1 for n in out):
        raise ValueError(f"threads must be a non-empty list of positive integers, got {threads!r}")
    return out


def latency_table(
    variants: Mapping[str, ModelSource],
    x1: np.ndarray,
    threads: Sequence[int] = (1, 2),
    repeats: int = 30,
    warmup: int = 3,
    use_xnnpack: bool = True,
    baseline: str = "float32",
) -> Any:
    """Return a DataFrame, one row per variant: median batch-1 latency ``latency_ms_{n}t`` (ms) for each thread count ``n``, and ``latency_vs_{baseline}_{n}t`` (ratio to the baseline variant, below 1 = faster)."""
    import pandas as pd

    if baseline not in variants:
        raise KeyError(f"baseline {baseline!r} is not among the variants {list(variants)}")
    threads = _threads(threads)
    rows = {
        name: {
            f"latency_ms_{n}t": TFLiteModel(
                data, num_threads=n, use_xnnpack=use_xnnpack
            ).latency_ms(x1, repeats=repeats, warmup=warmup)
            for n in threads
        }
        for name, data in variants.items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variant"
    for n in threads:
        table[f"latency_vs_{baseline}_{n}t"] = (
            table[f"latency_ms_{n}t"] / table.loc[baseline, f"latency_ms_{n}t"]
        )
    return table


def _keras_predict(keras_model: Any, batch_size: int = 128) -> PredictFn:
    """Return a function mapping float inputs to the Keras model's float outputs, batch by batch."""

    def predict(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        parts = [
            np.asarray(keras_model(x[i : i + batch_size], training=False))
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts, axis=0)

    return predict


def compare_variants(
    variants: Mapping[str, ModelSource],
    score: Callable[[PredictFn], float],
    parity_input: np.ndarray,
    latency_input: np.ndarray,
    keras_model: Any = None,
    threads: Sequence[int] = (1, 2),
    repeats: int = 30,
    baseline: str = "float32",
) -> Any:
    """Return a DataFrame, one row per TFLite variant: size (KB), score, drop vs Keras, parity vs Keras, batch-1 latency (ms).

    ``score(predict)`` returns the metric (accuracy, PSNR...) of a function mapping float inputs to
    float outputs; it is also applied to ``keras_model`` (a first row ``"keras"``) when given, and
    then ``score_drop = keras score - variant score`` and ``parity_max_abs`` / ``parity_mean_abs``
    compare each variant's output on ``parity_input`` with the Keras output. Latency is measured on
    ``latency_input`` (one sample) with each of ``threads``; sizes and latencies are also given as
    ratios to the ``baseline`` variant (``size_vs_float32``, ``latency_vs_float32_{n}t``).
    """
    import pandas as pd

    if baseline not in variants:
        raise KeyError(f"baseline {baseline!r} is not among the variants {list(variants)}")
    rows: dict[str, dict[str, float]] = {}
    keras_score = keras_out = None
    if keras_model is not None:
        keras_predict = _keras_predict(keras_model)
        keras_score = float(score(keras_predict))
        keras_out = keras_predict(parity_input)
        rows["keras"] = {"score": keras_score}
    for name, data in variants.items():
        runner = TFLiteModel(data)
        row = {
            "size_kb": tensors.size_kb(runner.model_bytes),
            "score": float(score(runner.predict)),
        }
        if keras_model is not None:
            row["score_drop"] = keras_score - row["score"]
            parity = output_parity(keras_out, runner.predict(parity_input))
            row["parity_max_abs"], row["parity_mean_abs"] = parity["max_abs"], parity["mean_abs"]
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variant"
    table[f"size_vs_{baseline}"] = table["size_kb"] / table.loc[baseline, "size_kb"]
    latency = latency_table(variants, latency_input, threads, repeats=repeats, baseline=baseline)
    return table.join(latency)


def size_table(
    models: Mapping[str, ModelSource],
    score: Callable[[PredictFn], float] | None = None,
    score_name: str = "score",
) -> Any:
    """Return a DataFrame, one row per TFLite model: ``size_kb``, ``gzip_kb`` (KB after gzip -9) and, with ``score``, the score of its ``predict`` under ``score_name``.

    A TFLite file stores zeros like any other number; gzip is what shows the gain of pruning.
    """
    import pandas as pd

    if not models:
        raise ValueError("models is empty: pass {label: TFLite bytes or .tflite path}")
    rows = {}
    for label, model in models.items():
        data = model_bytes(model)
        row = {
            "size_kb": tensors.size_kb(data),
            "gzip_kb": tensors.gzip_size_bytes(data) / tensors.KB,
        }
        if score is not None:
            row[score_name] = float(score(TFLiteModel(data).predict))
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def kernel_rounding_error(float_kernel: np.ndarray, int8_kernel: Mapping[str, Any]) -> float:
    """Return max |w - dequantized q| / (scale / 2) over a conv kernel: at most 1 when rounding is the only error.

    ``float_kernel`` is the Keras kernel (h, w, in, out); ``int8_kernel`` the :func:`read_weight_tensor`
    dict of the same layer (values (out, h, w, in), one scale and zero point per output channel).
    """
    values = np.asarray(int8_kernel["values"])
    w = np.transpose(np.asarray(float_kernel, dtype=np.float64), (3, 0, 1, 2))
    if w.shape != values.shape:
        raise ValueError(
            f"float_kernel {np.shape(float_kernel)} (Keras h, w, in, out) does not match the int8 "
            f"kernel {values.shape} (TFLite out, h, w, in): pass the same layer of the same model"
        )
    per_channel = (-1,) + (1,) * (values.ndim - 1)
    scales = np.asarray(int8_kernel["scales"], dtype=np.float64).reshape(per_channel)
    zeros = np.asarray(int8_kernel["zero_points"]).reshape(per_channel)
    back = dequantize_values(values, scales, zeros)
    return float(np.max(np.abs(w - back) / (scales / 2)))
