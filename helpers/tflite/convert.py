"""Keras model -> TFLite bytes: the conversion modes, the representative (calibration) data and its
checks, and the per-layer quantization error of an int8 model.

Mode ``"int8"`` is full-integer quantization: int8 input and output, ``TFLITE_BUILTINS_INT8`` ops
only, calibrated on representative data that must be preprocessed exactly like the training data.
Bad representative data is refused before conversion with a message that says why. Calibration
always goes through :func:`representative_dataset`, in :func:`convert` and in
:func:`layer_error_table` alike.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from helpers.kit import environment
from helpers.tflite import tensors

MODES = ("float32", "dynamic", "float16", "int8")
# int16x8: int16 activations, int8 weights (TFLite supports fewer ops in it, e.g. no PRELU).
INTEGER_MODES = ("int8", "int16x8")
ALL_MODES = MODES + ("int16x8",)
MIN_REPRESENTATIVE_SAMPLES = 100


class QuantizationError(RuntimeError):
    """A converted model is not what was asked for (e.g. float ops left in a full-integer model)."""


def model_input_shape(model: Any) -> tuple:
    """Return the model's input shape with the batch axis, ``None`` for free axes, e.g. ``(None, 28, 28, 1)``."""
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else None
    if shape is None:
        raise ValueError(
            "model has no defined input; build it with an Input layer (or call it once) before converting"
        )
    return tuple(None if d is None else int(d) for d in shape)


def validate_representative_data(
    data: Any,
    input_shape: Sequence[int | None],
    min_samples: int = MIN_REPRESENTATIVE_SAMPLES,
) -> np.ndarray:
    """Return the representative samples as float32 after checking dtype, shape, finiteness and count.

    ``input_shape`` includes the batch axis (``None`` = any size, as in :func:`model_input_shape`).
    """
    if data is None:
        raise ValueError(
            "integer modes (int8, int16x8) need representative_data: 100-500 training inputs preprocessed "
            "exactly like the training data (e.g. splits['x_train'][:300])"
        )
    arr = np.asarray(data)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"representative_data has dtype {arr.dtype}; it must be float inputs preprocessed exactly like "
            f"the training data (e.g. uint8 pixels -> x.astype('float32') / 255)"
        )
    expected = tuple(input_shape)
    if arr.ndim != len(expected):
        raise ValueError(
            f"representative_data has shape {arr.shape} but the model input is {expected}: pass a batch of "
            f"samples with {len(expected)} axes, (n_samples, {', '.join(str(d) for d in expected[1:])})"
        )
    for axis, (want, got) in enumerate(zip(expected[1:], arr.shape[1:]), start=1):
        if want is not None and want != got:
            raise ValueError(
                f"representative_data has shape {arr.shape} but the model input is {expected} "
                f"(axis {axis}: {got} != {want}); reshape the samples to the model's input shape"
            )
    if len(arr) < min_samples:
        raise ValueError(
            f"representative_data has {len(arr)} samples; calibration needs at least {min_samples} "
            f"(100-500 is usual). Pass more samples, or set min_samples lower if you really mean it"
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(
            f"representative_data contains {bad} NaN or inf values; clean the samples before calibrating"
        )
    return arr.astype(np.float32, copy=False)


def representative_dataset(samples: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """Return the generator function TFLite calibrates with: one ``[sample]`` of batch 1 per call, in order."""
    samples = np.asarray(samples)
    if samples.ndim < 1 or len(samples) == 0:
        raise ValueError(
            "samples is empty: pass validated representative data (validate_representative_data)"
        )

    def dataset() -> Iterator[list[np.ndarray]]:
        for i in range(len(samples)):
            yield [samples[i : i + 1]]

    return dataset


@contextlib.contextmanager
def quiet_logs():
    """Silence, inside the block, what the converter and the interpreter print: the converter's
    prints (its whole graph, and the temporary paths it saves to), Python warnings and C++ log lines
    (e.g. "Created TensorFlow Lite XNNPACK delegate"). Used in notebook 08 and by :func:`convert`."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        environment.silenced_stderr(),
    ):
        warnings.simplefilter("ignore")
        yield


def _converter(model: Any, mode: str, samples: np.ndarray | None) -> Any:
    """Return a ``TFLiteConverter`` for ``model`` set up for ``mode`` (calibrated on ``samples`` if given).

    ``mode="debug"`` is int8 with float input and output and float fallback, as the debugger needs.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if samples is not None:
        converter.representative_dataset = representative_dataset(samples)
    if mode == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    elif mode == "int16x8":
        ops_16x8 = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        converter.target_spec.supported_ops = [ops_16x8]
        converter.inference_input_type = converter.inference_output_type = tf.int16
    return converter


def convert(
    model: Any,
    mode: str,
    representative_data: np.ndarray | None = None,
    min_samples: int = MIN_REPRESENTATIVE_SAMPLES,
    check_integer_only: bool = True,
) -> bytes:
    """Return the TFLite flatbuffer bytes of a Keras 3 or tf_keras ``model`` in ``mode``.

    Defined in notebook 08, which writes the int8 converter's flags out once (section 1).
    Modes: ``float32``, ``dynamic`` (int8 weights, float compute), ``float16`` (float16 weights),
    ``int8`` (full integer, int8 input and output) and ``int16x8`` (int16 activations and I/O, int8
    weights). The integer modes are calibrated on ``representative_data``: float samples with the
    model's input shape (free axes such as a fully convolutional model's height and width take the
    samples' size) and the training preprocessing. They raise :class:`QuantizationError` if an op
    still outputs floats, unless ``check_integer_only=False``.
    """
    if mode not in ALL_MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(ALL_MODES)}")
    samples = None
    if mode in INTEGER_MODES:
        samples = validate_representative_data(
            representative_data, model_input_shape(model), min_samples
        )
    converter = _converter(model, mode, samples)
    with quiet_logs():
        model_bytes = bytes(converter.convert())
    if mode in INTEGER_MODES and check_integer_only:
        leftover = tensors.float_ops(model_bytes)
        if leftover:
            raise QuantizationError(
                f"the {mode} model still computes in float in these ops: {', '.join(leftover)}. Replace "
                "the layers that produce them, or pass check_integer_only=False to accept a mixed model"
            )
    return model_bytes


def convert_all(
    model: Any,
    representative_data: np.ndarray | None,
    modes: Iterable[str] = MODES,
    min_samples: int = MIN_REPRESENTATIVE_SAMPLES,
) -> dict[str, bytes]:
    """Return ``{mode: TFLite bytes}`` for each of ``modes`` (representative data is used by the integer modes only)."""
    modes = list(modes)
    if not modes:
        raise ValueError(f"modes is empty; pass some of {', '.join(ALL_MODES)}")
    return {mode: convert(model, mode, representative_data, min_samples) for mode in modes}


def layer_error_table(
    model: Any, representative_data: np.ndarray, min_samples: int = MIN_REPRESENTATIVE_SAMPLES
) -> Any:
    """Return a DataFrame, one row per quantized op of the int8 model: its scale, zero point and error vs float.

    Runs TFLite's ``QuantizationDebugger`` on the representative data. ``rmse_over_scale`` is the
    root-mean-square difference between the op's int8 and float outputs in quantization steps:
    uniform rounding noise gives 1/sqrt(12) = 0.29; much more means the op's values do not fit its
    8-bit grid. The debugger needs float input and output, so the int8 I/O types are not set here.
    """
    import pandas as pd
    import tensorflow as tf

    samples = validate_representative_data(
        representative_data, model_input_shape(model), min_samples
    )
    # Optimize.DEFAULT with calibration data quantizes every op it can; input and output stay float.
    converter = _converter(model, "debug", samples)
    with quiet_logs():
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=representative_dataset(samples)
        )
        debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
    dump.seek(0)
    table = pd.read_csv(dump)
    table["rmse_over_scale"] = np.sqrt(table["mean_squared_error"]) / table["scale"]
    # Fused op names list every source op; the first one is enough to read.
    table["tensor"] = table["tensor_name"].str.split(";").str[0]
    columns = ["op_name", "tensor", "scale", "zero_point", "mean_error", "max_abs_error"]
    return table[[*columns, "rmse_over_scale"]]
