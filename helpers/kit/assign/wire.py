"""Plain data between the student's kernel and the judge: the encoding, and the kernel's side.

The judge (:mod:`helpers.kit.assign.judge`) never receives a Python object from the student's
process, only bytes it decodes here into plain data: ``None``, ``bool``, ``int``, ``float``,
``str``, lists, tuples, dicts, NumPy arrays and scalars (``.npy`` bytes read with
``allow_pickle=False``, the header checked before any memory is allocated), pandas DataFrames built
from those, Keras models (``.keras`` bytes, rebuilt with ``safe_mode=True``), references to the
student's functions (a handle number) and, for anything else, an :class:`Opaque` placeholder that
equals nothing. A message is ``8-byte header length | JSON header | blobs``; the header's tree uses
tags (``{"$array": 0}``, ``{"$tuple": [...]}``, ...) for what JSON has no type for.

:func:`answer` is what the judge asks the kernel to run: it reads a request (get a name, call a
function by its handle, run an instructor-written probe, bind or delete a name), runs it in the
student's namespace and writes the reply into the scratch folder. It runs inside the student's
process, so the student can change what it sends; that is why the judge trusts nothing but the
decoded plain data.
"""

from __future__ import annotations

import base64
import io
import json
import math
import sys
import types
import zipfile
from typing import Any

import numpy as np

LIMIT_BYTES = 64 * 2**20  # the largest reply the judge reads
HEADER_LIMIT_BYTES = 16 * 2**20  # of which JSON (lists, dicts, numbers, text): arrays go as .npy
MAX_DEPTH = 40  # nesting of lists, tuples and dicts
MAX_NODES = 1_000_000
_ALLOWED_KINDS = "biufcUSMm"  # numbers, booleans, strings, dates: never objects or records


class WireError(Exception):
    """A message is not plain data the judge accepts (the message says why, for the student)."""


class Opaque:
    """What the judge gets for a value that is not plain data: it equals nothing but itself."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<a {self.kind} object, which the grader cannot read: return plain data>"


class Handle:
    """A reference to an object that stays in the student's process (a function, a class)."""

    def __init__(self, number: int, name: str) -> None:
        self.number, self.name = number, name


class Graph:
    """What a function called on symbolic Keras tensors built: ``keras.Model(inputs, outputs)``.

    The judge reconnects it to its own symbolic inputs (:func:`helpers.kit.assign.judge`), so
    ``keras.Model(x, residual_block(x, 64))`` in a check cell holds the student's layers.
    """

    def __init__(self, model: Any) -> None:
        self.model = model


def is_symbolic(value: Any) -> bool:
    """Whether ``value`` is a symbolic Keras tensor (``keras.Input(...)`` or a layer's output)."""
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.KerasTensor)


# ------------------------------------------------------------------------------- encoding


def encode(value: Any, handles: dict[int, Any] | None = None) -> bytes:
    """Return the message carrying ``value`` (raises WireError if it is too deep or too big).

    ``handles``: where the kernel's side keeps the objects it sends as references (functions);
    the judge passes None (its own proxies carry their handle numbers).
    """
    blobs: list[bytes] = []
    tree = _tree(value, blobs, handles, 0)
    header = json.dumps({"value": tree, "blobs": [len(b) for b in blobs]}).encode()
    total = 8 + len(header) + sum(len(b) for b in blobs)
    if total > LIMIT_BYTES:
        raise WireError(
            f"the value is {total / 2**20:.0f} MB; the grader reads at most "
            f"{LIMIT_BYTES / 2**20:.0f} MB"
        )
    return len(header).to_bytes(8, "big") + header + b"".join(blobs)


def _tree(value: Any, blobs: list[bytes], handles: dict | None, depth: int) -> Any:
    """The JSON tree of ``value``; arrays and models go to ``blobs``."""
    if depth > MAX_DEPTH:
        raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool):
        return None if value is None else bool(value)
    if isinstance(value, int) and not isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float) and not isinstance(value, np.floating):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return _container(value, blobs, handles, depth)
    if isinstance(value, (np.ndarray, np.generic)):
        return _array(value, blobs)
    special = _special(value, blobs, handles, depth)
    if special is not None:
        return special
    if isinstance(value, types.ModuleType):
        return {"$module": value.__name__}
    if isinstance(value, Handle):  # the judge's proxy of a student's function, sent back
        return {"$handle": value.number, "name": value.name}
    if callable(value) and handles is not None:
        handles[len(handles) + 1] = value
        return {"$handle": len(handles), "name": str(getattr(value, "__name__", "function"))}
    if hasattr(value, "__array__"):  # tensors, array-likes: whatever NumPy makes of them
        return _array(np.asarray(value), blobs)
    return {"$opaque": type(value).__name__}


def _container(value: Any, blobs: list[bytes], handles: dict | None, depth: int) -> Any:
    if isinstance(value, dict):
        pairs = [
            [_tree(k, blobs, handles, depth + 1), _tree(v, blobs, handles, depth + 1)]
            for k, v in value.items()
        ]
        return {"$dict": pairs}
    items = [_tree(v, blobs, handles, depth + 1) for v in value]
    return {"$tuple": items} if isinstance(value, tuple) else items


def _array(value: Any, blobs: list[bytes]) -> dict:
    array = np.asarray(value)
    if array.dtype.kind not in _ALLOWED_KINDS:
        return {"$opaque": f"array of dtype {array.dtype}"}
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    blobs.append(buffer.getvalue())
    return {"$scalar" if isinstance(value, np.generic) else "$array": len(blobs) - 1}


def _special(value: Any, blobs: list[bytes], handles: dict | None, depth: int) -> dict | None:
    """Keras models and pandas frames, if those libraries are loaded; else None."""
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.Model):
        return {"$keras": _keras_bytes(value, blobs)}
    if isinstance(value, Graph):
        return {"$graph": _keras_bytes(value.model, blobs)}
    if is_symbolic(value):
        shape = [None if d is None else int(d) for d in value.shape]
        return {"$symbolic": [shape, str(value.dtype)]}
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.DataFrame):
        return {"$frame": _frame(value, blobs, handles, depth)}
    return None


def _keras_bytes(model: Any, blobs: list[bytes]) -> int:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        blobs.append(path.read_bytes())
    return len(blobs) - 1


def _column(values: Any, blobs: list[bytes], handles: dict | None, depth: int) -> Any:
    array = np.asarray(values)
    if array.dtype.kind in _ALLOWED_KINDS:
        return _array(array, blobs)
    return _tree(list(array.tolist()), blobs, handles, depth + 1)


def _frame(frame: Any, blobs: list[bytes], handles: dict | None, depth: int) -> dict:
    return {
        "columns": _tree([str(c) for c in frame.columns], blobs, handles, depth + 1),
        "data": [_column(frame[c].to_numpy(), blobs, handles, depth) for c in frame.columns],
        "index": _column(frame.index.to_numpy(), blobs, handles, depth),
        "index_name": None if frame.index.name is None else str(frame.index.name),
    }


# ------------------------------------------------------------------------------- decoding


def decode(data: bytes, make_handle=Handle) -> Any:
    """Return the plain data of a message; raise WireError for anything else.

    ``make_handle(number, name)`` builds what a handle becomes (the judge: a callable proxy).
    """
    if len(data) > LIMIT_BYTES:
        raise WireError(f"the reply is over the grader's limit of {LIMIT_BYTES / 2**20:.0f} MB")
    if len(data) < 8:
        raise WireError("the reply is empty or cut short")
    size = int.from_bytes(data[:8], "big")
    if size > HEADER_LIMIT_BYTES:
        raise WireError(
            f"the value holds {size / 2**20:.0f} MB of lists and numbers; the grader reads at most "
            f"{HEADER_LIMIT_BYTES / 2**20:.0f} MB of those (return a NumPy array instead)"
        )
    try:
        header = json.loads(data[8 : 8 + size].decode())
    except (ValueError, RecursionError) as err:
        raise WireError(f"the reply is not valid: {type(err).__name__}") from None
    lengths = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(lengths, list) or not all(isinstance(n, int) and n >= 0 for n in lengths):
        raise WireError("the reply is not valid: no list of blob lengths")
    offsets, blobs = 8 + size, []
    for n in lengths:
        blobs.append(data[offsets : offsets + n])
        offsets += n
    if offsets != len(data):
        raise WireError("the reply is not valid: its length does not match its header")
    return _Decoder(blobs, make_handle).value(header.get("value"), 0)


class _Decoder:
    """Turns a header tree into plain data, counting nodes and depth."""

    def __init__(self, blobs: list[bytes], make_handle) -> None:
        self.blobs, self.make_handle, self.nodes = blobs, make_handle, 0

    def value(self, tree: Any, depth: int) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH + 2 or self.nodes > MAX_NODES:
            raise WireError("the value is too deep or has too many parts")
        if tree is None or isinstance(tree, (bool, int, float, str)):
            return tree
        if isinstance(tree, list):
            return [self.value(v, depth + 1) for v in tree]
        if not isinstance(tree, dict) or len(tree) not in (1, 2):
            raise WireError("the reply is not valid: an unknown node")
        return self.tagged(tree, depth)

    def tagged(self, tree: dict, depth: int) -> Any:
        tag = next(iter(tree))
        body = tree[tag]
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self.value(v, depth + 1) for v in body)
        if tag == "$dict" and isinstance(body, list):
            pairs = [self.value(p, depth + 1) for p in body]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise WireError("the reply is not valid: a dict without key-value pairs")
            try:
                return {k: v for k, v in pairs}
            except TypeError:
                raise WireError("the reply is not valid: a dict key that is not hashable") from None
        if tag in ("$array", "$scalar"):
            array = load_npy(self.blob(body))
            return array[()] if tag == "$scalar" else array
        if tag == "$keras":
            return load_keras(self.blob(body))
        if tag == "$graph":
            return Graph(load_keras(self.blob(body)))
        if tag == "$symbolic" and isinstance(body, list) and len(body) == 2:
            return _symbolic(*body)
        if tag == "$frame" and isinstance(body, dict):
            return self.frame(body, depth)
        if tag == "$handle" and isinstance(body, int):
            return self.make_handle(body, str(tree.get("name", "function"))[:100])
        if tag == "$module" and isinstance(body, str):
            module = sys.modules.get(body)  # a module the judge has imported itself
            return module if module is not None else Opaque(f"module {body[:60]}")
        if tag == "$opaque" and isinstance(body, str):
            return Opaque(body[:60])
        raise WireError(f"the reply is not valid: an unknown tag {str(tag)[:20]!r}")

    def blob(self, index: Any) -> bytes:
        if not isinstance(index, int) or not 0 <= index < len(self.blobs):
            raise WireError("the reply is not valid: a missing blob")
        return self.blobs[index]

    def frame(self, body: dict, depth: int) -> Any:
        import pandas as pd

        columns = self.value(body.get("columns"), depth + 1)
        data = [self.value(c, depth + 1) for c in body.get("data") or []]
        index = self.value(body.get("index"), depth + 1)
        name = body.get("index_name")
        if not isinstance(columns, list) or len(columns) != len(data):
            raise WireError("the reply is not valid: a table whose columns do not match")
        try:
            frame = pd.DataFrame(dict(zip(columns, data)), index=pd.Index(index, name=name))
        except (TypeError, ValueError) as err:
            raise WireError(f"the reply is not valid: a table pandas refuses ({err})") from None
        return frame


def _symbolic(shape: Any, dtype: Any) -> Any:
    """A fresh ``keras.Input`` of ``shape`` (batch axis included) and ``dtype``."""
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(d is None or (isinstance(d, int) and 0 <= d <= 2**20) for d in shape)
        and dtype in ("float16", "float32", "float64", "int32", "int64", "uint8", "bool")
    ):
        raise WireError("the reply is not valid: a symbolic tensor of an unknown shape or dtype")
    import keras

    return keras.Input(batch_shape=tuple(shape), dtype=dtype)


def load_npy(blob: bytes) -> Any:
    """An array from ``.npy`` bytes: the header is checked before anything is allocated."""
    from numpy.lib import format as npy

    stream = io.BytesIO(blob)
    try:
        version = npy.read_magic(stream)
        read = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}[version]
        shape, _, dtype = read(stream)
    except (ValueError, SyntaxError, TypeError, KeyError) as err:
        raise WireError(f"an array in the reply is not valid .npy data ({err})") from None
    if dtype.hasobject or dtype.kind not in _ALLOWED_KINDS:
        raise WireError(f"an array in the reply has dtype {dtype}; only numbers and text are read")
    count = math.prod(shape)
    if count * dtype.itemsize != len(blob) - stream.tell():
        raise WireError("an array in the reply does not hold as many bytes as its shape says")
    return np.load(io.BytesIO(blob), allow_pickle=False)


def load_keras(blob: bytes) -> Any:
    """A Keras model from ``.keras`` bytes, rebuilt with ``safe_mode=True`` (no Lambda, no code)."""
    import tempfile
    from pathlib import Path

    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise WireError("the model in the reply is not a .keras file") from None
    if unpacked > 4 * LIMIT_BYTES:
        raise WireError(f"the model in the reply unpacks to {unpacked / 2**20:.0f} MB; too big")
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(blob)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as err:  # noqa: BLE001 - a refused model is the student's feedback
            first = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
            raise WireError(
                f"the model cannot be rebuilt by the grader in Keras' safe mode (only built-in "
                f"layers, no Lambda or custom classes): {type(err).__name__}: {first}"
            ) from None


# ------------------------------------------------------------------------------- the kernel's side

_HANDLES: dict[int, Any] = {}  # the objects this kernel sent as references


def answer(request: str, reply_path: str) -> None:
    """Run the judge's ``request`` (base64 of an encoded dict) and write the reply to ``reply_path``.

    Ops: ``get`` a name of the student's namespace; ``call`` a handle with arguments; ``probe``:
    run the instructor's probe on a handle; ``bind`` a handle to a name; ``unbind`` a name. The
    reply is ``{"value": ..., "args": [...], "error": None or [type, message]}``.
    """
    reply: dict[str, Any] = {"value": None, "args": None, "error": None}
    try:
        job = decode(base64.b64decode(request), make_handle=lambda n, name: _HANDLES[n])
        reply["value"], reply["args"] = _run(job)
    except BaseException as err:  # noqa: BLE001 - every failure is reported to the judge
        if isinstance(err, KeyboardInterrupt):
            reply["error"] = ["KeyboardInterrupt", "interrupted"]
        else:
            reply["error"] = [type(err).__name__, str(err)[:500]]
    try:
        data = encode(reply, _HANDLES)
    except Exception as err:  # noqa: BLE001 - a result that cannot be sent is a failure too
        message = str(err)[:300] if isinstance(err, WireError) else f"{type(err).__name__}: {err}"
        error = ["UnsendableResult", f"the result cannot be sent to the grader: {message}"]
        data = encode({"value": None, "args": None, "error": error})
    with open(reply_path, "wb") as handle:
        handle.write(data)


def _namespace() -> dict:
    """The student's namespace: the kernel's globals."""
    from IPython import get_ipython

    return get_ipython().user_ns


def _run(job: dict) -> tuple[Any, Any]:
    """The value (and, for calls, the arguments after the call) of one request."""
    namespace = _namespace()
    op = job["op"]
    if op == "get":
        if job["name"] not in namespace:
            return {"found": False}, None
        return {"found": True, "value": namespace[job["name"]]}, None
    if op == "bind":
        namespace[job["name"]] = job["handle"]  # decoded: the object itself
        return None, None
    if op == "unbind":
        return {"found": namespace.pop(job["name"], _HANDLES) is not _HANDLES}, None
    args, kwargs = list(job.get("args") or []), dict(job.get("kwargs") or {})
    target = job["handle"]
    if op == "probe":
        from helpers.kit.assign import checks

        return checks.run_probe(job["probe"], target, *args, **kwargs), None
    result = target(*args, **kwargs)
    symbolic = [a for a in [*args, *kwargs.values()] if is_symbolic(a)]
    if symbolic and is_symbolic(result):  # a layer graph: send it as a model
        keras = sys.modules["keras"]
        return Graph(keras.Model(symbolic if len(symbolic) > 1 else symbolic[0], result)), None
    return result, [args, kwargs]
