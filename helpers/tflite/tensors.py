"""Looking inside a TFLite flatbuffer: its operators and their tensor types, the bytes of weights,
the quantized weight tensors (per-channel scales and zero points), and file sizes.

Every function takes TFLite bytes or the path of a ``.tflite`` file. Sizes are in KB of 1,024 bytes.
"""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np

from helpers.tflite import runner
from helpers.tflite.runner import ModelSource

KB = 1024
FLOAT_TYPES = frozenset({"FLOAT32", "FLOAT16", "FLOAT64"})


def _schema() -> Any:
    """Return LiteRT's flatbuffer schema module (imported on first use)."""
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _builtin_names() -> tuple[dict[int, str], dict[int, str]]:
    """Return ``({builtin operator code: name}, {tensor type code: name})`` from LiteRT's schema."""
    schema = _schema()
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    return op_names, type_names


def _op_name(flat: Any, op: Any, op_names: dict[int, str]) -> str:
    """Return the name of one operator of a flatbuffer model, e.g. ``'CONV_2D'`` or ``'CUSTOM:Foo'``."""
    code = flat.OperatorCodes(op.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = op_names.get(builtin, f"BUILTIN_{builtin}")
    return f"CUSTOM:{code.CustomCode().decode()}" if name == "CUSTOM" else name


def _tensor_indices(op: Any, inputs: bool) -> list[int]:
    """Return an operator's input (or output) tensor indices, without the -1 of omitted optional inputs."""
    if not (op.InputsLength() if inputs else op.OutputsLength()):
        return []
    indices = op.InputsAsNumpy() if inputs else op.OutputsAsNumpy()
    return [int(j) for j in indices if j >= 0]


def op_details(model: ModelSource) -> list[dict[str, Any]]:
    """Return one dict per operator of the main graph, in execution order: ``op`` name, ``inputs`` and ``outputs`` tensor types."""
    flat = _schema().Model.GetRootAsModel(runner.model_bytes(model), 0)
    op_names, type_names = _builtin_names()
    graph = flat.Subgraphs(0)

    def types(indices: list[int]) -> list[str]:
        return [type_names[graph.Tensors(j).Type()] for j in indices]

    details = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        details.append(
            {
                "op": _op_name(flat, op, op_names),
                "inputs": types(_tensor_indices(op, inputs=True)),
                "outputs": types(_tensor_indices(op, inputs=False)),
            }
        )
    return details


def ops(model: ModelSource) -> list[str]:
    """Return the operator names of the main graph in execution order, e.g. ``['CONV_2D', 'RELU', ...]``."""
    return [d["op"] for d in op_details(model)]


def float_ops(model: ModelSource) -> list[str]:
    """Return the names of operators that output float tensors (empty for a full-integer model)."""
    return [d["op"] for d in op_details(model) if FLOAT_TYPES & set(d["outputs"])]


def weight_bytes(model: ModelSource) -> int:
    """Return the bytes of constant data (weights, biases, constants) in the flatbuffer, without the graph description."""
    flat = _schema().Model.GetRootAsModel(runner.model_bytes(model), 0)
    metadata_buffers = {flat.Metadata(i).Buffer() for i in range(flat.MetadataLength())}
    total = 0
    for i in range(flat.BuffersLength()):
        if i in metadata_buffers:
            continue
        buffer = flat.Buffers(i)
        # Large models keep buffers outside the flatbuffer table (offset + size).
        total += int(buffer.Size()) if buffer.Offset() else int(buffer.DataLength())
    return total


def constant_tensor_indices(model: ModelSource) -> set[int]:
    """Return the indices of the main graph's tensors that hold data in the file (weights, biases).

    Read from the flatbuffer (a tensor whose buffer has bytes, inline or at an offset): asking the
    interpreter whether a tensor can be read before ``invoke`` depends on the LiteRT version.
    """
    flat = _schema().Model.GetRootAsModel(runner.model_bytes(model), 0)
    graph = flat.Subgraphs(0)
    found = set()
    for i in range(graph.TensorsLength()):
        buffer = flat.Buffers(graph.Tensors(i).Buffer())
        if buffer is not None and (buffer.DataLength() > 0 or buffer.Offset() > 1):
            found.add(i)
    return found


def weight_layers(model: ModelSource) -> dict[int, str]:
    """Return ``{constant tensor index: name of the output of the operator that uses it}``.

    That output is named after the Keras layer that made it (``functional_1/conv_1/Relu;...``) in
    every TF release, while a weight tensor's own name depends on the converter (TF 2.21 names it
    after the layer, TF 2.20 ``tfl.pseudo_qconst3``): this is how a weight is mapped to its layer.
    A weight read through DEQUANTIZE (float16 models) maps to the operator using the dequantized
    tensor. A constant no operator uses maps to ``""``.
    """
    flat = _schema().Model.GetRootAsModel(runner.model_bytes(model), 0)
    graph = flat.Subgraphs(0)
    op_names, _ = _builtin_names()
    users: dict[int, list[tuple[str, list[int]]]] = {}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        used = (_op_name(flat, op, op_names), _tensor_indices(op, inputs=False))
        for j in _tensor_indices(op, inputs=True):
            users.setdefault(j, []).append(used)

    def layer_of(index: int, hops: int = 0) -> str:
        for op, outputs in users.get(index, [])[:1]:
            if op == "DEQUANTIZE" and outputs and hops < 2:
                return layer_of(outputs[0], hops + 1)
            return ";".join(graph.Tensors(j).Name().decode() for j in outputs)
        return ""

    return {i: layer_of(i) for i in sorted(constant_tensor_indices(model))}


def weight_tensors(model: ModelSource) -> list[dict[str, Any]]:
    """Return ``index``, ``name``, ``layer``, ``shape``, ``dtype``, per-channel ``scales`` and ``zero_points`` of every constant tensor with 2+ axes.

    ``layer`` is the name of the output of the operator that uses the tensor (see :func:`weight_layers`).
    """
    interpreter = runner.make_interpreter(model, num_threads=1)
    layers = weight_layers(model)
    details = []
    for d in interpreter.get_tensor_details():
        if len(d["shape"]) < 2 or d["index"] not in layers:
            continue
        q = d["quantization_parameters"]
        details.append(
            {
                "index": d["index"],
                "name": d["name"],
                "layer": layers[d["index"]],
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
    """Return the first weight tensor of the layer whose name contains ``name_contains`` (with ``ndim`` axes if given): the fields of :func:`weight_tensors` plus its ``values``.

    The layer is found through the operator that uses the weight (:func:`weight_layers`), so the
    lookup works whatever the converter names the weight itself; the weight's own name also counts.
    TFLite keeps convolution kernels as (out, h, w, in); Keras keeps them as (h, w, in, out).
    """
    data = runner.model_bytes(model)
    tensors = weight_tensors(data)
    candidates = [
        t
        for t in tensors
        if (name_contains in t["layer"] or name_contains in t["name"])
        and (ndim is None or len(t["shape"]) == ndim)
    ]
    if not candidates:
        raise KeyError(
            f"no weight tensor's layer name contains {name_contains!r}"
            + (f" with {ndim} axes" if ndim is not None else "")
            + f"; the model's weights belong to {sorted({t['layer'] for t in tensors})}"
        )
    chosen = dict(candidates[0])
    chosen["values"] = np.array(runner.make_interpreter(data).get_tensor(chosen["index"]))
    return chosen


def size_kb(model: ModelSource) -> float:
    """Return the size of a TFLite model in KB (1,024 bytes)."""
    return len(runner.model_bytes(model)) / KB


def gzip_size_bytes(data: bytes | bytearray, level: int = 9) -> int:
    """Return the size in bytes of ``data`` after gzip compression (the zeros of a pruned model compress well)."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes (e.g. TFLite bytes), got {type(data).__name__}")
    return len(gzip.compress(bytes(data), compresslevel=level, mtime=0))
