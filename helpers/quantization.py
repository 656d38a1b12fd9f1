"""TFLite conversion (float32 / dynamic / float16 / int8), a LiteRT interpreter wrapper, size, parity and
latency measurements, and quantization-aware training and pruning with tensorflow-model-optimization.

* :func:`convert` turns a Keras 3 model (or a ``tf_keras`` model from QAT / pruning) into TFLite bytes with
  ``tf.lite.TFLiteConverter.from_keras_model``. Mode ``"int8"`` is full-integer: int8 input and output,
  ``TFLITE_BUILTINS_INT8`` only, calibrated on representative data that must be preprocessed exactly like
  the training data. Bad representative data is refused before conversion with a message saying why.
* :class:`TFLiteModel` runs the bytes in ``ai_edge_litert``'s ``Interpreter``: it quantizes float inputs with
  the input tensor's (scale, zero point), dequantizes the outputs, batches, and resizes the input tensor to
  each batch / image shape (so a fully convolutional model converted at one size runs at any size).
* QAT and pruning need ``tf_keras`` models (see :mod:`helpers.keras_policy`): :func:`qat_model` and
  :func:`prunable_model` rebuild a helpers architecture with ``keras_module=legacy_keras()`` and copy the
  weights of a trained Keras 3 model into it.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from helpers import config, keras_policy

MODES = ("float32", "dynamic", "float16", "int8")
INTEGER_MODES = (
    "int8",
    "int16x8",
)  # int16x8: int16 activations, int8 weights (fewer ops supported)
MIN_REPRESENTATIVE_SAMPLES = 100
KB = 1024  # sizes are reported in KB of 1,024 bytes

ModelSource = bytes | bytearray | str | Path


class QuantizationError(RuntimeError):
    """A converted model is not what was asked for (e.g. float ops left in a full-integer model)."""


# --------------------------------------------------------------------------------------------------
# Quantization arithmetic
# --------------------------------------------------------------------------------------------------


def quantize_values(
    x: np.ndarray, scale: float, zero_point: int, dtype: Any = np.int8
) -> np.ndarray:
    """Return ``round(x / scale + zero_point)`` clipped to the range of the integer ``dtype``."""
    if not scale > 0:
        raise ValueError(
            f"scale must be positive, got {scale!r} (a tensor with scale 0 is not quantized)"
        )
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float64) / scale + zero_point)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize_values(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Return the float32 values ``(q - zero_point) * scale`` of quantized integers ``q``."""
    return ((np.asarray(q, dtype=np.float64) - zero_point) * scale).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------------


def model_input_shape(model: Any) -> tuple:
    """Return the model's input shape with the batch axis, e.g. ``(None, 28, 28, 1)``."""
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
    """Return the representative samples as float32 after checking dtype, shape, finiteness and count."""
    if data is None:
        raise ValueError(
            "integer modes (int8, int16x8) need representative_data: 100-500 training inputs preprocessed exactly "
            "like the training data (e.g. splits['x_train'][:300])"
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


@contextlib.contextmanager
def _quiet():
    """Silence the converter's prints, Python warnings and C++ log lines inside the block."""
    from helpers.reporting import silenced_stderr

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), silenced_stderr():
        warnings.simplefilter("ignore")
        yield


def convert(
    model: Any,
    mode: str,
    representative_data: np.ndarray | None = None,
    min_samples: int = MIN_REPRESENTATIVE_SAMPLES,
    check_integer_only: bool = True,
) -> bytes:
    """Return the TFLite flatbuffer of a Keras 3 or tf_keras ``model`` in ``mode`` (float32, dynamic, float16, int8, int16x8).

    ``int8`` is full-integer quantization (int8 input and output, builtin int8 ops only), calibrated on
    ``representative_data``: float samples with the model's input shape (free axes such as a fully
    convolutional model's height and width take the samples' size) and the training preprocessing.
    ``int16x8`` (int16 activations and input/output, int8 weights) is calibrated the same way; TFLite
    supports fewer ops in it (e.g. no PRELU in TF 2.21).
    """
    import tensorflow as tf

    if mode not in MODES + INTEGER_MODES[1:]:
        raise ValueError(
            f"unknown mode {mode!r}; use one of {', '.join(MODES + INTEGER_MODES[1:])}"
        )
    samples = None
    if mode in INTEGER_MODES:
        samples = validate_representative_data(
            representative_data, model_input_shape(model), min_samples
        )

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode in INTEGER_MODES:

        def representative_dataset():
            for i in range(len(samples)):
                yield [samples[i : i + 1]]

        converter.representative_dataset = representative_dataset
        if mode == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        else:
            ops_16x8 = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            converter.target_spec.supported_ops = [ops_16x8]
            converter.inference_input_type = converter.inference_output_type = tf.int16
    with _quiet():
        model_bytes = bytes(converter.convert())
    if mode in INTEGER_MODES and check_integer_only:
        leftover = float_ops(model_bytes)
        if leftover:
            raise QuantizationError(
                f"the int8 model still computes in float in these ops: {', '.join(leftover)}. "
                "Replace the layers that produce them, or pass check_integer_only=False to accept a mixed model"
            )
    return model_bytes


def layer_error_table(
    model: Any, representative_data: np.ndarray, min_samples: int = MIN_REPRESENTATIVE_SAMPLES
) -> Any:
    """Return a DataFrame with one row per quantized op: its scale and error vs float (``rmse_over_scale`` near 0.29 = rounding only).

    Runs TFLite's ``QuantizationDebugger`` on the int8 model (float input and output) with the
    representative data. ``rmse_over_scale`` is the root-mean-square difference between the int8 and
    float outputs of the op, in quantization steps: uniform rounding noise gives 1/sqrt(12) = 0.29;
    much more means the layer's values do not fit its 8-bit grid.
    """
    import pandas as pd
    import tensorflow as tf

    samples = validate_representative_data(
        representative_data, model_input_shape(model), min_samples
    )

    def dataset():
        for i in range(len(samples)):
            yield [samples[i : i + 1]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    with _quiet():
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=dataset
        )
        debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
    dump.seek(0)
    table = pd.read_csv(dump)
    table["rmse_over_scale"] = np.sqrt(table["mean_squared_error"]) / table["scale"]
    # Fused op names list every source op; the last layer name in the first one is enough to read.
    table["tensor"] = table["tensor_name"].str.split(";").str[0]
    return table[
        [
            "op_name",
            "tensor",
            "scale",
            "zero_point",
            "mean_error",
            "max_abs_error",
            "rmse_over_scale",
        ]
    ]


def convert_all(
    model: Any,
    representative_data: np.ndarray | None,
    modes: Iterable[str] = MODES,
    min_samples: int = MIN_REPRESENTATIVE_SAMPLES,
) -> dict[str, bytes]:
    """Return ``{mode: tflite bytes}`` for each of ``modes`` (representative data is used for int8 only)."""
    return {
        mode: convert(model, mode, representative_data, min_samples=min_samples) for mode in modes
    }


def save_tflite(model_bytes: bytes, name: str) -> Path:
    """Write the bytes to ``artifacts/<mode>/tflite/<name>.tflite`` and return the path."""
    path = config.artifacts_dir("tflite") / f"{name}.tflite"
    path.write_bytes(model_bytes)
    return path


# --------------------------------------------------------------------------------------------------
# Inspecting a flatbuffer
# --------------------------------------------------------------------------------------------------


def _as_bytes(model: ModelSource) -> bytes:
    """Return the flatbuffer bytes of ``model`` (bytes or a path to a .tflite file)."""
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(
                f"TFLite file {path} does not exist; convert the model first (quantization.convert)"
            )
        return path.read_bytes()
    raise TypeError(
        f"expected TFLite bytes or a path to a .tflite file, got {type(model).__name__}"
    )


def tflite_op_details(model: ModelSource) -> list[dict[str, Any]]:
    """Return one dict per operator of the main graph: op name, input and output tensor types, in order."""
    from ai_edge_litert import schema_py_generated as schema

    data = _as_bytes(model)
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    flat = schema.Model.GetRootAsModel(data, 0)
    graph = flat.Subgraphs(0)
    details = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = flat.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            name = f"CUSTOM:{code.CustomCode().decode()}"
        inputs = (
            [type_names[graph.Tensors(int(j)).Type()] for j in op.InputsAsNumpy() if j >= 0]
            if op.InputsLength()
            else []
        )
        outputs = (
            [type_names[graph.Tensors(int(j)).Type()] for j in op.OutputsAsNumpy()]
            if op.OutputsLength()
            else []
        )
        details.append({"op": name, "inputs": inputs, "outputs": outputs})
    return details


def tflite_ops(model: ModelSource) -> list[str]:
    """Return the names of the operators of the main graph in execution order, e.g. ``['CONV_2D', ...]``."""
    return [d["op"] for d in tflite_op_details(model)]


def weight_bytes(model: ModelSource) -> int:
    """Return the bytes of constant data (weights, biases, constants) in the flatbuffer, without the graph description."""
    from ai_edge_litert import schema_py_generated as schema

    data = _as_bytes(model)
    flat = schema.Model.GetRootAsModel(data, 0)
    metadata_buffers = {flat.Metadata(i).Buffer() for i in range(flat.MetadataLength())}
    total = 0
    for i in range(flat.BuffersLength()):
        if i in metadata_buffers:
            continue
        buffer = flat.Buffers(i)
        total += int(buffer.Size()) if buffer.Offset() else int(buffer.DataLength())
    return total


def float_ops(model: ModelSource) -> list[str]:
    """Return the names of operators that output float tensors (empty for a full-integer model)."""
    floats = {"FLOAT32", "FLOAT16", "FLOAT64"}
    return [d["op"] for d in tflite_op_details(model) if floats & set(d["outputs"])]


def weight_tensors(model: ModelSource) -> list[dict[str, Any]]:
    """Return name, shape, dtype, per-channel scales and zero points of every constant tensor with 2+ axes."""
    details = []
    interpreter = _interpreter(_as_bytes(model), num_threads=1)
    inputs = {d["index"] for d in interpreter.get_input_details()}
    for d in interpreter.get_tensor_details():
        if len(d["shape"]) < 2 or d["index"] in inputs:
            continue
        try:
            interpreter.get_tensor(d["index"])
        except ValueError:  # activations have no data before invoke
            continue
        q = d["quantization_parameters"]
        details.append(
            {
                "index": d["index"],
                "name": d["name"],
                "shape": tuple(int(s) for s in d["shape"]),
                "dtype": np.dtype(d["dtype"]).name,
                "scales": np.asarray(q["scales"], dtype=np.float32),
                "zero_points": np.asarray(q["zero_points"], dtype=np.int64),
                "quantized_dimension": int(q["quantized_dimension"]),
            }
        )
    return details


def read_weight_tensor(
    model: ModelSource, name_contains: str, ndim: int | None = None
) -> dict[str, Any]:
    """Return the first weight tensor whose name contains ``name_contains`` (and has ``ndim`` axes): its values plus the fields of :func:`weight_tensors`."""
    data = _as_bytes(model)
    candidates = [
        t
        for t in weight_tensors(data)
        if name_contains in t["name"] and (ndim is None or len(t["shape"]) == ndim)
    ]
    if not candidates:
        names = [t["name"] for t in weight_tensors(data)]
        raise KeyError(
            f"no weight tensor name contains {name_contains!r}"
            + (f" with {ndim} axes" if ndim is not None else "")
            + f"; the model's weight tensors are {names}"
        )
    chosen = dict(candidates[0])
    interpreter = _interpreter(data, num_threads=1)
    chosen["values"] = np.array(interpreter.get_tensor(chosen["index"]))
    return chosen


# --------------------------------------------------------------------------------------------------
# Running a TFLite model
# --------------------------------------------------------------------------------------------------


def _interpreter(model_bytes: bytes, num_threads: int, use_xnnpack: bool = True):
    """Return a LiteRT interpreter over ``model_bytes`` with its tensors allocated (XNNPACK delegate on or off)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from helpers.reporting import silenced_stderr

    resolver = (
        OpResolverType.AUTO if use_xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    with silenced_stderr():  # "Created TensorFlow Lite XNNPACK delegate" and similar lines
        interpreter = Interpreter(
            model_content=model_bytes,
            num_threads=int(num_threads),
            experimental_op_resolver_type=resolver,
        )
        interpreter.allocate_tensors()
    return interpreter


class TFLiteModel:
    """A TFLite model in LiteRT's interpreter that takes and returns float arrays, whatever its I/O types.

    ``use_xnnpack=False`` runs TFLite's own builtin kernels instead of the default XNNPACK delegate.
    """

    def __init__(self, model: ModelSource, num_threads: int = 1, use_xnnpack: bool = True):
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
        self.model_bytes = _as_bytes(model)
        self.num_threads = num_threads
        self.use_xnnpack = use_xnnpack
        self.interpreter = _interpreter(self.model_bytes, num_threads, use_xnnpack)
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        if (
            len(self.interpreter.get_input_details()) != 1
            or len(self.interpreter.get_output_details()) != 1
        ):
            raise ValueError("TFLiteModel supports models with exactly one input and one output")

    @property
    def size_bytes(self) -> int:
        """Return the flatbuffer's size in bytes."""
        return len(self.model_bytes)

    @property
    def input_dtype(self) -> np.dtype:
        """Return the dtype the interpreter expects at its input (int8 for full-integer models)."""
        return np.dtype(self._input["dtype"])

    @property
    def output_dtype(self) -> np.dtype:
        """Return the dtype of the interpreter's output tensor."""
        return np.dtype(self._output["dtype"])

    @property
    def input_quantization(self) -> tuple[float, int]:
        """Return the input tensor's ``(scale, zero_point)``; ``(0.0, 0)`` means not quantized."""
        scale, zero = self._input["quantization"]
        return float(scale), int(zero)

    @property
    def output_quantization(self) -> tuple[float, int]:
        """Return the output tensor's ``(scale, zero_point)``; ``(0.0, 0)`` means not quantized."""
        scale, zero = self._output["quantization"]
        return float(scale), int(zero)

    @property
    def input_shape(self) -> tuple:
        """Return the input shape with ``None`` for free axes, e.g. ``(None, 28, 28, 1)``."""
        return tuple(None if d < 0 else int(d) for d in self._input["shape_signature"])

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` in the input tensor's dtype: float inputs quantized with its (scale, zero point)."""
        x = np.asarray(x)
        if np.issubdtype(self.input_dtype, np.integer):
            if x.dtype == self.input_dtype:
                return x  # already quantized by the caller
            scale, zero = self.input_quantization
            return quantize_values(x, scale, zero, self.input_dtype)
        return x.astype(self.input_dtype, copy=False)

    def dequantize_output(self, y: np.ndarray) -> np.ndarray:
        """Return the output tensor's values as float32 (dequantized if the output is an integer type)."""
        if np.issubdtype(self.output_dtype, np.integer):
            scale, zero = self.output_quantization
            return dequantize_values(y, scale, zero)
        return np.asarray(y, dtype=np.float32)

    def _check_shape(self, shape: tuple) -> None:
        """Raise a clear error if a batch of ``shape`` cannot go into the input tensor."""
        expected = self.input_shape
        fits = len(shape) == len(expected) and all(
            w is None or w == g for w, g in zip(expected[1:], shape[1:])
        )
        if not fits:
            raise ValueError(
                f"input of shape {shape} does not fit the model input {expected} (None = any size)"
            )

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch (already in the input dtype) and return the raw output tensor."""
        index = self._input["index"]
        current = tuple(self.interpreter.get_input_details()[0]["shape"])
        if current != batch.shape:
            self.interpreter.resize_tensor_input(index, list(batch.shape), strict=False)
            self.interpreter.allocate_tensors()
        self.interpreter.set_tensor(index, batch)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self._output["index"]))

    def predict(self, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
        """Return the float32 outputs for the inputs ``x`` (first axis = samples), run ``batch_size`` at a time."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        x = np.asarray(x)
        self._check_shape(x.shape)
        if len(x) == 0:
            raise ValueError("x holds no samples")
        if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or inf values")
        outputs = [
            self._run(self.quantize_input(x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
        return self.dequantize_output(np.concatenate(outputs, axis=0))

    __call__ = predict


# --------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------


def size_kb(model: ModelSource) -> float:
    """Return the size of a TFLite model in KB (1,024 bytes)."""
    return len(_as_bytes(model)) / KB


def gzip_size_bytes(data: bytes, level: int = 9) -> int:
    """Return the size in bytes of ``data`` after gzip compression (zeros from pruning compress well)."""
    return len(gzip.compress(bytes(data), compresslevel=level, mtime=0))


def output_parity(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Return ``max_abs`` and ``mean_abs`` of ``candidate - reference`` (e.g. TFLite vs Keras outputs)."""
    ref = np.asarray(reference, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if ref.shape != cand.shape:
        raise ValueError(
            f"outputs differ in shape: reference {ref.shape} vs candidate {cand.shape}"
        )
    if ref.size == 0:
        raise ValueError("outputs are empty")
    diff = np.abs(cand - ref)
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean())}


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Return the fraction of samples whose arg-max class equals the label."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels).reshape(-1)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(
            f"expected (N, classes) outputs and N labels, got {probabilities.shape} and {labels.shape}"
        )
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def median_latency_ms(
    model: ModelSource | TFLiteModel,
    x1: np.ndarray,
    threads: Sequence[int] = (1, 2),
    repeats: int = 50,
    warmup: int = 5,
    use_xnnpack: bool = True,
) -> dict[int, float]:
    """Return ``{threads: median milliseconds of one invoke}`` for the single input ``x1`` (batch 1)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    data = model.model_bytes if isinstance(model, TFLiteModel) else _as_bytes(model)
    x1 = np.asarray(x1)
    if x1.ndim >= 1 and x1.shape[0] != 1:
        raise ValueError(
            f"x1 must be one sample with a batch axis of 1, got shape {x1.shape}; use x[:1]"
        )
    result = {}
    for n in threads:
        runner = TFLiteModel(data, num_threads=int(n), use_xnnpack=use_xnnpack)
        runner._check_shape(x1.shape)
        batch = runner.quantize_input(x1)
        runner._run(batch)  # resize and allocate for this shape
        interp, index = runner.interpreter, runner._input["index"]
        for _ in range(warmup):
            interp.set_tensor(index, batch)
            interp.invoke()
        times = []
        for _ in range(repeats):
            interp.set_tensor(index, batch)
            start = time.perf_counter()
            interp.invoke()
            times.append(time.perf_counter() - start)
        result[int(n)] = float(np.median(times) * 1000.0)
    return result


def compare_variants(
    variants: Mapping[str, bytes],
    score: Callable[[Callable[[np.ndarray], np.ndarray]], float],
    parity_input: np.ndarray,
    latency_input: np.ndarray,
    keras_model: Any = None,
    threads: Sequence[int] = (1, 2),
    repeats: int = 30,
    baseline: str = "float32",
) -> Any:
    """Return a DataFrame with one row per TFLite variant: size, score, drop vs Keras, parity vs Keras, latency.

    ``score(predict_fn)`` returns the metric (accuracy, PSNR...) of a prediction function mapping float
    inputs to float outputs; it is also applied to ``keras_model`` (first row) when given. Parity compares
    each variant's output on ``parity_input`` with the Keras output; latency is measured at batch 1 on
    ``latency_input``; sizes and latencies are also given as ratios to the ``baseline`` variant.
    """
    import pandas as pd

    if baseline not in variants:
        raise KeyError(f"baseline {baseline!r} is not among the variants {list(variants)}")
    rows = []
    keras_score = keras_out = None
    if keras_model is not None:

        def keras_predict(x: np.ndarray, batch_size: int = 128) -> np.ndarray:
            x = np.asarray(x, dtype=np.float32)
            parts = [
                np.asarray(keras_model(x[i : i + batch_size], training=False))
                for i in range(0, len(x), batch_size)
            ]
            return np.concatenate(parts, axis=0)

        keras_score = float(score(keras_predict))
        keras_out = keras_predict(parity_input)
        rows.append({"variant": "keras", "score": keras_score})
    for name, data in variants.items():
        runner = TFLiteModel(data)
        row: dict[str, Any] = {
            "variant": name,
            "size_kb": size_kb(data),
            "score": float(score(runner.predict)),
        }
        if keras_model is not None:
            row["score_drop"] = keras_score - row["score"]
            parity = output_parity(keras_out, runner.predict(parity_input))
            row["parity_max_abs"], row["parity_mean_abs"] = parity["max_abs"], parity["mean_abs"]
        for n, ms in median_latency_ms(
            data, latency_input, threads=threads, repeats=repeats
        ).items():
            row[f"latency_ms_{n}t"] = ms
        rows.append(row)
    table = pd.DataFrame(rows).set_index("variant")
    base = table.loc[baseline]
    table["size_vs_float32"] = table["size_kb"] / base["size_kb"]
    for n in threads:
        table[f"latency_vs_float32_{n}t"] = table[f"latency_ms_{n}t"] / base[f"latency_ms_{n}t"]
    return table


# --------------------------------------------------------------------------------------------------
# Quantization-aware training and pruning (tf_keras models only)
# --------------------------------------------------------------------------------------------------


def _weighted_layers(model: Any) -> list:
    """Return the model's layers that own weights, in order (nested models flattened)."""
    layers = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:  # a nested Sequential / Model
            layers.extend(_weighted_layers(layer))
        elif layer.weights:
            layers.append(layer)
    return layers


def copy_weights(source: Any, target: Any) -> int:
    """Copy the weights of ``source`` into ``target`` layer by layer (same architecture); return the layer count."""
    src, dst = _weighted_layers(source), _weighted_layers(target)
    if len(src) != len(dst):
        raise ValueError(
            f"source has {len(src)} layers with weights but target has {len(dst)}: build the target with the "
            f"same builder and arguments as the source"
        )
    for s, d in zip(src, dst):
        sw, dw = s.get_weights(), d.get_weights()
        if [w.shape for w in sw] != [w.shape for w in dw]:
            raise ValueError(
                f"layer {s.name!r} -> {d.name!r}: weight shapes {[w.shape for w in sw]} vs {[w.shape for w in dw]}; "
                "build the target with the same builder and arguments as the source"
            )
        d.set_weights(sw)
    return len(src)


def legacy_clone(
    builder: Callable[..., Any], source_model: Any = None, **builder_kwargs: Any
) -> Any:
    """Return ``builder(keras_module=tf_keras, **builder_kwargs)``, with the weights of ``source_model`` if given."""
    model = builder(keras_module=keras_policy.legacy_keras(), **builder_kwargs)
    if not keras_policy.is_legacy(_keras_module_of(model)):
        raise TypeError(
            f"{getattr(builder, '__name__', builder)} ignored keras_module=tf_keras; tfmot needs a tf_keras model"
        )
    if source_model is not None:
        copy_weights(source_model, model)
    return model


def _keras_module_of(model: Any) -> ModuleType:
    """Return the Keras package a model was built with (keras or tf_keras)."""
    import importlib

    return importlib.import_module(type(model).__module__.split(".")[0])


def qat_model(builder: Callable[..., Any], source_model: Any = None, **builder_kwargs: Any) -> Any:
    """Return a quantization-aware (tfmot ``quantize_model``) tf_keras copy of ``builder``'s architecture.

    With ``source_model`` (a trained Keras 3 model from the same builder) its weights are copied first,
    so fine-tuning starts from the trained model. Compile and fit it with ``tf_keras`` optimizers
    (:func:`fine_tune`): tfmot sets the fake-quantization ranges during the first training steps, so the
    wrapped model's outputs mean nothing before it has been fitted.
    """
    tfmot = keras_policy.import_tfmot()
    base = legacy_clone(builder, source_model, **builder_kwargs)
    return tfmot.quantization.keras.quantize_model(base)


def prunable_model(
    builder: Callable[..., Any],
    source_model: Any = None,
    target_sparsity: float = 0.5,
    begin_step: int = 0,
    end_step: int = 1000,
    frequency: int = 100,
    **builder_kwargs: Any,
) -> Any:
    """Return a tf_keras copy of ``builder``'s architecture wrapped by ``prune_low_magnitude`` (polynomial decay to ``target_sparsity``).

    Weights are pruned every ``frequency`` steps from ``begin_step`` to ``end_step``; make
    ``end_step - begin_step`` a multiple of ``frequency`` so the final step reaches the target.
    """
    if not 0.0 < target_sparsity < 1.0:
        raise ValueError(
            f"target_sparsity must be between 0 and 1 (e.g. 0.5), got {target_sparsity}"
        )
    if not 0 <= begin_step < end_step:
        raise ValueError(f"need 0 <= begin_step < end_step, got {begin_step} and {end_step}")
    if frequency < 1:
        raise ValueError(f"frequency must be >= 1, got {frequency}")
    tfmot = keras_policy.import_tfmot()
    base = legacy_clone(builder, source_model, **builder_kwargs)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=float(target_sparsity),
        begin_step=int(begin_step),
        end_step=int(end_step),
        frequency=int(frequency),
    )
    return tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=schedule)


def fine_tune(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 1,
    batch_size: int = 128,
    learning_rate: float = 1e-4,
    loss: str = "sparse_categorical_crossentropy",
    metrics: Sequence[str] = ("accuracy",),
    validation_data: tuple | None = None,
    callbacks: Sequence[Any] = (),
    verbose: int = 0,
) -> Any:
    """Compile a tf_keras ``model`` with Adam(``learning_rate``) and ``loss``, fit it, and return the History."""
    K = keras_policy.legacy_keras()
    model.compile(optimizer=K.optimizers.Adam(learning_rate), loss=loss, metrics=list(metrics))
    return model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        callbacks=list(callbacks),
        verbose=verbose,
    )


def prune_model(
    builder: Callable[..., Any],
    x: np.ndarray,
    y: np.ndarray,
    source_model: Any = None,
    target_sparsity: float = 0.5,
    epochs: int = 2,
    batch_size: int = 128,
    learning_rate: float = 1e-4,
    loss: str = "sparse_categorical_crossentropy",
    metrics: Sequence[str] = ("accuracy",),
    verbose: int = 0,
    **builder_kwargs: Any,
) -> Any:
    """Return a pruned, stripped tf_keras model: ``builder``'s architecture (weights from ``source_model``) trained on ``(x, y)``.

    Sparsity rises from 0 to ``target_sparsity`` over the first 2/3 of the training steps (polynomial
    decay), then the remaining steps recover accuracy at the final sparsity.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    tfmot = keras_policy.import_tfmot()
    steps = math.ceil(len(x) / batch_size) * epochs
    frequency = max(1, min(100, steps // 30))  # about 20 pruning rounds before end_step
    end_step = frequency * max(1, (2 * steps) // (3 * frequency))
    model = prunable_model(
        builder, source_model, target_sparsity, 0, end_step, frequency, **builder_kwargs
    )
    fine_tune(
        model,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        loss=loss,
        metrics=metrics,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
        verbose=verbose,
    )
    return tfmot.sparsity.keras.strip_pruning(model)


def sparsity(model: Any) -> float:
    """Return the fraction of exactly-zero values among the model's kernels (weights with 2+ axes)."""
    kernels = [
        np.asarray(w)
        for layer in _weighted_layers(model)
        for w in layer.get_weights()
        if np.ndim(w) >= 2
    ]
    total = sum(k.size for k in kernels)
    if total == 0:
        raise ValueError("model has no kernels (weights with 2 or more axes)")
    return float(sum(np.count_nonzero(k == 0) for k in kernels) / total)


# --------------------------------------------------------------------------------------------------
# The models to quantize: saved by earlier notebooks, or trained briefly here
# --------------------------------------------------------------------------------------------------


def load_or_train_classifier(
    name: str, splits: Mapping[str, np.ndarray], verbose: int = 0
) -> tuple[Any, bool]:
    """Return ``(model, trained_here)``: the classifier saved as ``name``, or one trained now with its recipe at quick-mode epochs."""
    from helpers import models, training

    model = training.load_trained(name)
    if model is not None:
        return model, False
    settings = {**training.recipe(name), "epochs": training.RECIPES[name].quick_epochs}
    model = models.build_classifier(name)
    training.train_classifier(model, dict(splits), verbose=verbose, **settings)
    return model, True


def load_or_train_fsrcnn(
    name: str,
    activation: str = "prelu",
    scale: int = 3,
    epochs: int = 2,
    steps_per_epoch: int = 100,
) -> tuple[Any, bool]:
    """Return ``(model, trained_here)``: the FSRCNN saved as ``name``, or FSRCNN(56, 12, 4) trained briefly now."""
    from helpers import superres

    model = superres.load_sr_model(name)
    if model is not None:
        return model, False
    model = superres.build_fsrcnn(scale=scale, activation=activation)
    superres.train_fsrcnn(
        model,
        superres.load_sr_images("train"),
        superres.load_sr_images("val"),
        scale=scale,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=False,
    )
    return model, True
