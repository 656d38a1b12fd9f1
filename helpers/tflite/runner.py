"""Running TFLite bytes in LiteRT's interpreter (``ai_edge_litert``) with float arrays in and out.

An int8 tensor stores integers ``q`` and two numbers, a scale and a zero point:
``q = round(x / scale) + zero_point`` and back ``x = scale * (q - zero_point)``.
:class:`TFLiteModel` quantizes float inputs with its input tensor's (scale, zero point), dequantizes
the outputs, batches, and resizes the input tensor to each batch / image shape (so a fully
convolutional model converted at one size runs at any size). ``latency_ms`` times one batch-1
``invoke`` with :func:`helpers.kit.timing.median_ms`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from helpers.kit import environment, timing

ModelSource = bytes | bytearray | str | Path


def model_bytes(model: ModelSource) -> bytes:
    """Return the flatbuffer bytes of ``model``: TFLite bytes, or the path of a ``.tflite`` file."""
    if isinstance(model, (bytes, bytearray)):
        if not model:
            raise ValueError("model is empty bytes; pass the output of tflite.convert")
        return bytes(model)
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(
                f"TFLite file {path} does not exist; convert the model first (tflite.convert) and "
                "save it (artifacts.save_tflite)"
            )
        return path.read_bytes()
    raise TypeError(
        f"model must be TFLite bytes or the path of a .tflite file, got {type(model).__name__}"
    )


def quantize_values(
    x: np.ndarray, scale: float | np.ndarray, zero_point: int, dtype: Any = np.int8
) -> np.ndarray:
    """Return ``round(x / scale) + zero_point`` clipped to the range of the integer ``dtype``."""
    if not np.all(np.asarray(scale) > 0):
        raise ValueError(
            f"scale must be positive, got {scale!r} (a tensor with scale 0 is not quantized)"
        )
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize_values(
    q: np.ndarray, scale: float | np.ndarray, zero_point: int | np.ndarray
) -> np.ndarray:
    """Return the float32 values ``scale * (q - zero_point)`` of quantized integers ``q``."""
    return (np.asarray(scale) * (np.asarray(q, dtype=np.float64) - zero_point)).astype(np.float32)


def make_interpreter(data: ModelSource, num_threads: int = 1, use_xnnpack: bool = True) -> Any:
    """Return a LiteRT ``Interpreter`` over the model with its tensors allocated (XNNPACK delegate on or off)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if not isinstance(num_threads, int) or isinstance(num_threads, bool) or num_threads < 1:
        raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
    resolver = (
        OpResolverType.AUTO if use_xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    with environment.silenced_stderr():  # "Created TensorFlow Lite XNNPACK delegate" and similar
        interpreter = Interpreter(
            model_content=model_bytes(data),
            num_threads=num_threads,
            experimental_op_resolver_type=resolver,
        )
        interpreter.allocate_tensors()
    return interpreter


class TFLiteModel:
    """A TFLite model in LiteRT's interpreter that takes and returns float arrays, whatever its I/O types.

    Defined in notebook 08, which writes the interpreter loop out once (quantize the input with the
    input tensor's scale and zero point, ``invoke``, dequantize the output); :meth:`predict` runs it.
    ``use_xnnpack=False`` runs TFLite's own builtin kernels instead of the default XNNPACK delegate.
    """

    def __init__(self, model: ModelSource, num_threads: int = 1, use_xnnpack: bool = True):
        self.model_bytes = model_bytes(model)
        self.num_threads = num_threads
        self.use_xnnpack = bool(use_xnnpack)
        self.interpreter = make_interpreter(self.model_bytes, num_threads, self.use_xnnpack)
        inputs, outputs = (
            self.interpreter.get_input_details(),
            self.interpreter.get_output_details(),
        )
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"TFLiteModel supports models with one input and one output, got {len(inputs)} "
                f"and {len(outputs)}; use make_interpreter for others"
            )
        self._input, self._output = inputs[0], outputs[0]

    def __repr__(self) -> str:
        return (
            f"TFLiteModel({self.size_bytes / 1024:.1f} KB, input {self.input_shape} "
            f"{self.input_dtype}, output {self.output_dtype}, threads={self.num_threads})"
        )

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

    def _check_input(self, x: np.ndarray) -> None:
        """Raise a ValueError if ``x`` cannot go into the input tensor (shape, emptiness, NaN)."""
        expected = self.input_shape
        fits = x.ndim == len(expected) and all(
            w is None or w == g for w, g in zip(expected[1:], x.shape[1:])
        )
        if not fits:
            raise ValueError(
                f"input of shape {x.shape} does not fit the model input {expected} (None = any size)"
            )
        if len(x) == 0:
            raise ValueError("x holds no samples")
        if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or inf values")

    def _prepare(self, batch: np.ndarray) -> None:
        """Resize the input tensor to ``batch.shape`` if needed and copy ``batch`` (input dtype) into it."""
        index = self._input["index"]
        current = tuple(self.interpreter.get_input_details()[0]["shape"])
        if current != batch.shape:
            self.interpreter.resize_tensor_input(index, list(batch.shape), strict=False)
            self.interpreter.allocate_tensors()
        self.interpreter.set_tensor(index, batch)

    def run_raw(self, batch: np.ndarray) -> np.ndarray:
        """Return the raw output tensor (e.g. int8) for one batch already in the input dtype."""
        batch = np.asarray(batch)
        if batch.dtype != self.input_dtype:
            raise TypeError(
                f"batch has dtype {batch.dtype} but the input tensor is {self.input_dtype}; "
                "use predict for float inputs, or quantize_input first"
            )
        self._check_input(batch)
        self._prepare(batch)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self._output["index"]))

    def predict(self, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
        """Return the float32 outputs for the inputs ``x`` (first axis = samples), run ``batch_size`` at a time."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        x = np.asarray(x)
        self._check_input(x)
        outputs = [
            self.run_raw(self.quantize_input(x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
        return self.dequantize_output(np.concatenate(outputs, axis=0))

    __call__ = predict

    def latency_ms(self, x1: np.ndarray, repeats: int = 30, warmup: int = 3) -> float:
        """Return the median milliseconds of one ``invoke()`` on the single input ``x1`` (batch 1).

        The input is quantized, copied into the resized input tensor once, then only ``invoke`` is
        timed (``timing.median_ms``, warm-up calls discarded). The value depends on the CPU: print
        it, never assert an upper bound on it.
        """
        x1 = np.asarray(x1)
        if x1.ndim < 1 or x1.shape[0] != 1:
            raise ValueError(
                f"x1 must be one sample with a batch axis of 1, got shape {x1.shape}; use x[:1]"
            )
        self._check_input(x1)
        self._prepare(self.quantize_input(x1))
        return timing.median_ms(self.interpreter.invoke, repeats=repeats, warmup=warmup)
