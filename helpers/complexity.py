"""How big and how costly a model is: parameters, multiply-accumulates (MACs), size on disk, CPU latency.

Counting convention (used everywhere in the kit):

* **One MAC = one multiply-accumulate** ``acc += w * x`` of a weight layer, for ONE input image (batch 1).
  Bias additions are not counted (they are one add per output element, not a MAC).
* Counted layers and their MACs (``K`` = kernel elements, e.g. ``kh*kw``):

  - ``Dense``: ``in_features * units`` per position (times the leading non-batch output dims, if any);
  - ``Conv1D/2D/3D``: ``output elements * K * in_channels / groups``;
  - ``DepthwiseConv``: ``output elements * K`` (each output channel sees one input channel);
  - ``SeparableConv``: depthwise ``out_spatial * in_channels * depth_multiplier * K``
    plus pointwise ``out_spatial * in_channels * depth_multiplier * filters``;
  - ``Conv1D/2D/3DTranspose``: ``input elements * K * filters`` (every input value is scattered
    through the whole kernel; border outputs cropped by ``padding="same"`` are still counted).

* **Pooling, BatchNormalization, activations (ReLU, PReLU, softmax ...), Add, Flatten, Dropout:
  0 MACs.** They cost a few operations per element, not multiply-accumulates, and BatchNormalization
  folds into the preceding convolution at inference time. Their parameters are counted.
* Nested models are expanded layer by layer; a layer called twice counts its MACs twice and its
  parameters once.

Models with ``None`` spatial dimensions (fully convolutional networks) need ``input_shape=(H, W, C)``;
``macs_per_output_pixel`` then gives a size-independent cost figure.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.kit import timing

Shape = tuple[int | None, ...]
ShapeArg = Sequence[int] | Sequence[Sequence[int]] | None

ZERO_MAC_NOTE = "pooling, BatchNormalization, activations, Add, Flatten and Dropout count 0 MACs"


def _keras():
    import keras

    return keras


def _check_keras3(model: Any) -> None:
    """Raise a TypeError unless ``model`` is a Keras 3 layer or model."""
    keras = _keras()
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(
            f"expected a Keras 3 model, got {type(model).__module__}.{type(model).__name__}; "
            "build the model with keras_module=None (Keras 3) to count its complexity"
        )


def count_params(model: Any) -> dict[str, int]:
    """Return {"trainable", "non_trainable", "total"} parameter counts of a built model."""
    if not getattr(model, "built", True):
        raise ValueError("model is not built: call it on an input or give it a keras.Input first")

    def size(weights: Sequence[Any]) -> int:
        return int(sum(math.prod(tuple(w.shape)) for w in weights))

    trainable, frozen = size(model.trainable_weights), size(model.non_trainable_weights)
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}


# --------------------------------------------------------------------------- MACs per layer


def _channels_last(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_last"


def _split(shape: Shape, layer: Any) -> tuple[tuple[int, ...], int]:
    """Return (spatial dims, channels) of a (batch, ...) shape, honouring the layer's data_format."""
    dims = tuple(int(d) for d in shape[1:])
    return (dims[:-1], dims[-1]) if _channels_last(layer) else (dims[1:], dims[0])


def layer_macs(layer: Any, input_shape: Shape, output_shape: Shape) -> int:
    """Return the MACs of one call of a leaf ``layer`` (batch 1) given its input and output shapes."""
    L = _keras().layers
    if isinstance(layer, L.Dense):
        positions = math.prod(int(d) for d in output_shape[1:-1])
        return positions * int(input_shape[-1]) * int(layer.units)
    if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
        spatial, _ = _split(output_shape, layer)
        _, c_in = _split(input_shape, layer)
        k = math.prod(layer.kernel_size)
        mid = c_in * layer.depth_multiplier
        return math.prod(spatial) * mid * (k + layer.filters)
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        spatial, c_out = _split(output_shape, layer)
        return math.prod(spatial) * c_out * math.prod(layer.kernel_size)
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        spatial, c_in = _split(input_shape, layer)
        return math.prod(spatial) * c_in * math.prod(layer.kernel_size) * layer.filters
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        spatial, c_out = _split(output_shape, layer)
        _, c_in = _split(input_shape, layer)
        return math.prod(spatial) * c_out * math.prod(layer.kernel_size) * (c_in // layer.groups)
    return 0


def _shape_of(spec: Any) -> Any:
    """Return the shape (tuple) of a KerasTensor, or a list of shapes for a structure of them."""
    if hasattr(spec, "shape"):
        return tuple(spec.shape)
    if isinstance(spec, (list, tuple)):
        return [_shape_of(s) for s in spec]
    if isinstance(spec, dict):
        return [_shape_of(s) for s in spec.values()]
    return None


def _first_shape(spec: Any) -> Shape | None:
    shape = _shape_of(spec)
    while isinstance(shape, list):
        shape = shape[0] if shape else None
    return shape


def _is_container(op: Any) -> bool:
    keras = _keras()
    return isinstance(op, keras.Model) and (
        isinstance(op, keras.Sequential) or hasattr(op, "_run_through_graph")
    )


class _Walker:
    """Propagates symbolic shapes through a model and records one row per leaf-layer call."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.seen_weights: set[int] = set()
        self.uncounted: list[str] = []

    def run(self, op: Any, spec: Any, prefix: str, top: bool = False) -> Any:
        keras = _keras()
        inner_prefix = prefix if top else f"{prefix}{op.name}/"
        if isinstance(op, keras.Sequential):
            for layer in op.layers:
                spec = self.run(layer, spec, inner_prefix)
            return spec
        if _is_container(op):
            return op._run_through_graph(
                spec, operation_fn=lambda inner: self._wrap(inner, inner_prefix)
            )
        return self._leaf(op, spec, prefix)

    def _wrap(self, op: Any, prefix: str):
        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("training", None)
            kwargs.pop("mask", None)
            if _is_container(op):
                return self.run(op, args[0] if len(args) == 1 else list(args), prefix)
            return self._leaf(op, args[0] if len(args) == 1 else list(args), prefix, **kwargs)

        return call

    def _leaf(self, layer: Any, spec: Any, prefix: str, **kwargs: Any) -> Any:
        keras = _keras()
        if isinstance(layer, keras.layers.InputLayer):
            return spec
        out = layer.compute_output_spec(spec, **kwargs)
        weights = [w for w in getattr(layer, "weights", []) if id(w) not in self.seen_weights]
        self.seen_weights.update(id(w) for w in weights)
        params = int(sum(math.prod(tuple(w.shape)) for w in weights))
        in_shape, out_shape = _first_shape(spec), _first_shape(out)
        macs = 0
        if in_shape is not None and out_shape is not None:
            if any(d is None for d in (*in_shape[1:], *out_shape[1:])):
                raise ValueError(
                    f"layer {layer.name!r} has unknown dimensions {in_shape} -> {out_shape}: "
                    "pass input_shape=(H, W, C) to count MACs of a fully convolutional model"
                )
            macs = layer_macs(layer, in_shape, out_shape)
        if macs == 0 and params and getattr(layer, "_layers", None):
            self.uncounted.append(f"{layer.name} ({type(layer).__name__})")
        out_shapes = _shape_of(out)
        self.rows.append(
            {
                "name": prefix + layer.name,
                "type": type(layer).__name__,
                "output_shape": tuple(out_shapes[1:])
                if isinstance(out_shapes, tuple)
                else out_shapes,
                "params": params,
                "macs": int(macs),
            }
        )
        return out


def _input_specs(model: Any, input_shape: ShapeArg) -> Any:
    """Return batch-1 KerasTensors for the model's inputs (``input_shape`` overrides, without batch dim)."""
    keras = _keras()
    inputs = list(getattr(model, "inputs", None) or [])
    if input_shape is not None:
        shapes = (
            list(input_shape)
            if input_shape and isinstance(input_shape[0], (list, tuple))
            else [input_shape]
        )
    elif inputs:
        shapes = [tuple(x.shape[1:]) for x in inputs]
    else:
        raise ValueError(
            f"model {model.name!r} has no known input shape: pass input_shape=(H, W, C)"
        )
    if inputs and len(shapes) != len(inputs):
        raise ValueError(
            f"model has {len(inputs)} inputs but input_shape gives {len(shapes)} shapes"
        )
    for s in shapes:
        if any(d is None for d in s):
            raise ValueError(
                f"input shape {tuple(s)} has unknown dimensions: pass input_shape=(H, W, C) with every "
                "dimension set (MACs of a fully convolutional net depend on the image size)"
            )
    dtypes = [x.dtype for x in inputs] or ["float32"] * len(shapes)
    specs = [keras.KerasTensor((1, *map(int, s)), dtype=d) for s, d in zip(shapes, dtypes)]
    return specs[0] if len(specs) == 1 else specs


def complexity_table(model: Any, input_shape: ShapeArg = None):
    """Return a DataFrame with one row per layer call: name, type, output_shape, params, macs (batch 1).

    ``input_shape`` (without the batch dimension) overrides the model's own, e.g. for models with
    ``None`` spatial dimensions. See the module docstring for what counts as a MAC.
    """
    import pandas as pd

    _check_keras3(model)
    walker = _Walker()
    walker.run(model, _input_specs(model, input_shape), "", top=True)
    if walker.uncounted:
        warnings.warn(
            "MACs inside these custom layers are not counted (only Keras' built-in weight layers are): "
            + ", ".join(walker.uncounted),
            stacklevel=2,
        )
    return pd.DataFrame(walker.rows, columns=["name", "type", "output_shape", "params", "macs"])


def total_macs(model: Any, input_shape: ShapeArg = None) -> int:
    """Return the model's total MACs for one input (batch 1), following the module's counting convention."""
    return int(complexity_table(model, input_shape)["macs"].sum())


def macs_per_output_pixel(model: Any, input_shape: Sequence[int]) -> float:
    """Return total MACs divided by the number of output pixels (H*W of the first output) for ``input_shape``."""
    table_macs = total_macs(model, input_shape)
    out = model.compute_output_shape((1, *input_shape))
    while isinstance(out, (list, dict)):
        out = list(out.values())[0] if isinstance(out, dict) else out[0]
    spatial = out[1:-1] if len(out) > 2 else out[1:]
    return table_macs / math.prod(int(d) for d in spatial)


# --------------------------------------------------------------------------- size and speed


def model_size_bytes(model: Any, include_optimizer: bool = False) -> int:
    """Return the size in bytes of the model saved as a ``.keras`` file (written to a temporary folder).

    By default the optimizer state is left out (a trained Adam model would otherwise store two extra
    values per weight), so the figure is what inference needs: architecture plus weights.
    """
    keras = _keras()
    to_save = model
    if (
        not include_optimizer
        and getattr(model, "optimizer", None) is not None
        and isinstance(model, keras.Model)
    ):
        to_save = type(model).from_config(
            model.get_config()
        )  # uncompiled copy: no optimizer variables
        to_save.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        to_save.save(path)
        return path.stat().st_size


def _latency_input_shape(model: Any, input_shape: Sequence[int] | None) -> tuple[int, ...]:
    if input_shape is None:
        inputs = getattr(model, "inputs", None)
        if not inputs or len(inputs) != 1:
            raise ValueError("pass input_shape=(H, W, C): the model has no single known input")
        input_shape = tuple(inputs[0].shape[1:])
    if any(d is None for d in input_shape):
        raise ValueError(
            f"input shape {tuple(input_shape)} has unknown dimensions: pass input_shape=(H, W, C)"
        )
    return tuple(int(d) for d in input_shape)


def measure_latency(
    model: Any,
    batch_sizes: int | Sequence[int] = (1, 256),
    input_shape: Sequence[int] | None = None,
    repeats: int = 30,
    warmup: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Return median CPU/GPU latency per batch and per image (ms) for each batch size.

    Keys: ``ms_per_batch_b{n}`` and ``ms_per_image_b{n}`` for every ``n`` in ``batch_sizes``. The model
    runs as a compiled ``tf.function`` of ``model(x, training=False)`` on random inputs; ``warmup`` calls
    (tracing included) are discarded and the median of ``repeats`` timed calls is kept.
    """
    import tensorflow as tf

    if repeats < 1 or warmup < 0:
        raise ValueError(
            f"repeats must be >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}"
        )
    sizes = [batch_sizes] if isinstance(batch_sizes, int) else list(batch_sizes)
    if not sizes or any(int(b) < 1 for b in sizes):
        raise ValueError(f"batch_sizes must be positive integers, got {batch_sizes!r}")
    shape = _latency_input_shape(model, input_shape)
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    rng = np.random.default_rng(seed)
    result: dict[str, float] = {}
    for b in sizes:
        x = tf.constant(rng.random((int(b), *shape), dtype=np.float32))
        median = timing.median_ms(lambda x=x: _block(forward(x)), repeats=repeats, warmup=warmup)
        result[f"ms_per_batch_b{b}"] = median
        result[f"ms_per_image_b{b}"] = median / int(b)
    return result


def _block(outputs: Any) -> None:
    """Wait until the outputs are computed (copying one value to the host forces it)."""
    first = outputs
    while isinstance(first, (list, tuple, dict)):
        first = list(first.values())[0] if isinstance(first, dict) else first[0]
    np.asarray(first)


def summarize(model: Any, input_shape: ShapeArg = None) -> dict[str, Any]:
    """Return {"params", "trainable_params", "macs", "size_kb"} for a comparison table row."""
    params = count_params(model)
    return {
        "params": params["total"],
        "trainable_params": params["trainable"],
        "macs": total_macs(model, input_shape),
        "size_kb": model_size_bytes(model) / 1024.0,
    }


# --------------------------------------------------------------------------- readable tables

# Layers that only transform the output of the weight layer before them: merged into its row.
_FOLLOWERS = ("BatchNormalization", "Activation", "Dropout", "ReLU", "LeakyReLU", "PReLU")
# Zero-MAC layers that followers are merged into too (e.g. "max-pool 2x2 → dropout 0.3").
_MERGE_INTO = ("Add", "MaxPooling2D", "AveragePooling2D")


def _activation_name(layer: Any) -> str:
    """Return the name of a layer's activation function ('' for a linear one)."""
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", "") if fn is not None else ""
    return "" if name in ("linear", "") else name


def describe_layer(layer: Any) -> str:
    """Return a short human description of a Keras layer, e.g. "conv 3x3, 8 filters, ReLU"."""
    kind = type(layer).__name__
    act = _activation_name(layer)
    act_suffix = f", {act}" if act else ""
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        size = "x".join(str(k) for k in layer.kernel_size)
        text = f"conv {size}, {layer.filters} filters"
        if any(s != 1 for s in layer.strides):
            text += f", stride {'x'.join(str(s) for s in layer.strides)}"
        if layer.padding == "same":
            text += ", same padding"
        return text + act_suffix
    if kind == "Dense":
        return f"dense {layer.units}{act_suffix}"
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        size = "x".join(str(k) for k in layer.pool_size)
        text = f"{'max' if kind.startswith('Max') else 'average'}-pool {size}"
        if tuple(layer.strides) != tuple(layer.pool_size):
            text += f", stride {'x'.join(str(s) for s in layer.strides)}"
        return text
    if kind in ("GlobalAveragePooling2D", "GlobalAveragePooling1D"):
        return "global average pooling"
    if kind == "BatchNormalization":
        return "batch norm"
    if kind == "Activation":
        return act or "linear"
    if kind == "Dropout":
        return f"dropout {layer.rate:g}"
    if kind == "Flatten":
        return "flatten"
    if kind == "Add":
        return "add (shortcut)"
    return kind


def layer_table(model: Any, merge: bool = True):
    """Return a compact per-layer DataFrame: layer, operation, output_shape, params, macs (batch 1).

    With ``merge`` a weight layer and the batch norm, activation and dropout layers right after it
    form one row ("conv 3x3, 8 filters → batch norm → relu"), so a 25-layer model reads in 10 rows.
    Nested models are listed by their own type name (see :func:`complexity_table` for every call).
    """
    import pandas as pd

    table = complexity_table(model)
    rows: list[dict[str, Any]] = []
    for record in table.to_dict("records"):
        try:
            layer = model.get_layer(record["name"])
            text = describe_layer(layer)
        except ValueError:  # a layer inside a nested model: no direct handle
            text = record["type"]
        if merge and rows and record["type"] in _FOLLOWERS and rows[-1]["mergeable"]:
            last = rows[-1]
            last["operation"] += f" → {text}"
            last["output_shape"] = record["output_shape"]
            last["params"] += record["params"]
            last["macs"] += record["macs"]
            continue
        rows.append(
            {
                "layer": record["name"],
                "operation": text,
                "output_shape": record["output_shape"],
                "params": record["params"],
                "macs": record["macs"],
                "mergeable": record["macs"] > 0 or record["type"] in _MERGE_INTO,
            }
        )
    return pd.DataFrame(rows, columns=["layer", "operation", "output_shape", "params", "macs"])


def cost_table(
    models: dict[str, Any],
    size: bool = True,
    latency_batch_sizes: Sequence[int] = (),
    repeats: int = 30,
    warmup: int = 3,
):
    """Return a DataFrame indexed by model name: params, macs (per image) and, if asked, size and latency.

    ``size`` adds ``size_kb`` (the ``.keras`` file without optimizer state, KiB);
    ``latency_batch_sizes=(1, 256)`` adds ``ms_per_image_b1`` and ``ms_per_image_b256`` (median
    milliseconds per image, :func:`measure_latency`; machine-dependent, compare within one run).
    """
    import pandas as pd

    if not models:
        raise ValueError("models must map a name to a built Keras model, e.g. {'tiny CNN': model}")
    rows = []
    for name, model in models.items():
        row: dict[str, Any] = {
            "model": name,
            "params": count_params(model)["total"],
            "macs": total_macs(model),
        }
        if size:
            row["size_kb"] = model_size_bytes(model) / 1024.0
        if latency_batch_sizes:
            latency = measure_latency(model, latency_batch_sizes, repeats=repeats, warmup=warmup)
            for b in latency_batch_sizes:
                row[f"ms_per_image_b{b}"] = latency[f"ms_per_image_b{b}"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")
