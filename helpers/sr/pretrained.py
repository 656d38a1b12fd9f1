"""Pretrained FSRCNN weights shipped with the kit: ``data/pretrained/<name>.weights.npz`` and their manifest.

``scripts/train_fsrcnn.py`` trains a model for a long budget, saves its weights here (a compressed
NumPy archive, one array per ``<layer name>/<index>``, about 45 KB) and records in ``manifest.json``
the builder's arguments (``sr.build_fsrcnn(**builder)``), the sha256, the exact command, the steps,
the wall time, the best validation PSNR and the test PSNR. The architecture lives in code and the
file holds only arrays, so it loads on every Keras the kit admits: a ``.keras`` file carries the
saving Keras' config schema, and files saved by Keras 3.15 do not load on Colab's 3.13.
:func:`load_pretrained` checks the file's sha256 against the manifest before loading it, as
``helpers.data`` does for MNIST, so a truncated or edited file gives a clear error instead of a
silently worse model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from helpers.data import sha256_of
from helpers.kit import config

PRETRAINED_DIR = config.DATA_DIR / "pretrained"
MANIFEST_NAME = "manifest.json"
TRAIN_SCRIPT = "scripts/train_fsrcnn.py"
SUFFIX = ".weights.npz"


class PretrainedChecksumError(ValueError):
    """A pretrained file's sha256 differs from the manifest (the message names the file and the fix)."""


def read_manifest(folder: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Return the manifest of ``folder`` (default ``data/pretrained``): name -> record; {} if none yet."""
    path = Path(folder or PRETRAINED_DIR) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}): restore it with `git checkout -- {path}`"
        ) from err


def write_manifest_entry(
    name: str, record: dict[str, Any], folder: str | Path | None = None
) -> Path:
    """Add or replace ``name``'s record in the manifest of ``folder``; return the manifest's path."""
    folder = Path(folder or PRETRAINED_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(folder)
    manifest[name] = record
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(dict(sorted(manifest.items())), indent=1) + "\n")
    return path


def save_weights(model: Any, path: str | Path) -> Path:
    """Write ``model``'s weights to ``path`` (``.weights.npz``): one array per ``<layer>/<index>``.

    Only arrays, no Keras config: the file loads into the same architecture built by code on any
    Keras 3 (:func:`load_weights`). Return the path.
    """
    path = Path(path)
    arrays = {
        f"{layer.name}/{i}": np.asarray(w)
        for layer in model.layers
        for i, w in enumerate(layer.get_weights())
    }
    with path.open("wb") as f:  # a file object: numpy would otherwise append ".npz"
        np.savez_compressed(f, **arrays)
    return path


def load_weights(model: Any, path: str | Path) -> Any:
    """Set ``model``'s weights from a :func:`save_weights` file; return the model.

    Every layer's arrays must be in the file with the same shapes, and the file must hold nothing
    else; otherwise a ValueError names the file and the first layer that differs.
    """
    path = Path(path)
    with np.load(path, allow_pickle=False) as archive:
        stored = {key: archive[key] for key in archive.files}
    for layer in model.layers:
        current = layer.get_weights()
        arrays = [stored.pop(f"{layer.name}/{i}", None) for i in range(len(current))]
        for i, (old, new) in enumerate(zip(current, arrays)):
            if new is None or new.shape != old.shape:
                got = "missing" if new is None else f"shape {new.shape}"
                raise ValueError(
                    f"{path} does not fit model {model.name!r}: weight {layer.name}/{i} has "
                    f"shape {old.shape}, the file: {got}. Build the model with the manifest's "
                    f"'builder' arguments"
                )
        layer.set_weights(arrays)
    if stored:
        raise ValueError(
            f"{path} has weights that model {model.name!r} lacks: {sorted(stored)[:3]}. Build "
            f"the model with the manifest's 'builder' arguments"
        )
    return model


def pretrained_names(folder: str | Path | None = None) -> list[str]:
    """Return the names of the pretrained models listed in the manifest, sorted."""
    return sorted(read_manifest(folder))


def pretrained_path(name: str, folder: str | Path | None = None, verify: bool = True) -> Path:
    """Return the path of the pretrained model ``name`` after checking that it exists and its sha256.

    Raises KeyError (listing the available names) if the manifest does not know ``name``,
    FileNotFoundError if the file is missing and :class:`PretrainedChecksumError` if its content
    differs from the manifest; each message says how to restore or rebuild the file.
    """
    folder = Path(folder or PRETRAINED_DIR)
    manifest = read_manifest(folder)
    if name not in manifest:
        raise KeyError(
            f"no pretrained model {name!r} in {folder / MANIFEST_NAME}; available: "
            f"{sorted(manifest) or 'none'}. Train it with `python {TRAIN_SCRIPT} --name {name}`"
        )
    record = manifest[name]
    path = folder / f"{name}{SUFFIX}"
    command = record.get("command", f"python {TRAIN_SCRIPT} --name {name}")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: restore it with `git checkout -- {path}` or rebuild it with `{command}`"
        )
    if verify:
        actual = sha256_of(path)
        if actual != record["sha256"]:
            raise PretrainedChecksumError(
                f"{path} is corrupt or was changed: sha256 {actual}, the manifest expects "
                f"{record['sha256']}. Restore it with `git checkout -- {path}`, or rebuild it with "
                f"`{command}` (which also updates the manifest)"
            )
    return path


def load_pretrained(name: str, folder: str | Path | None = None) -> Any:
    """Return the pretrained Keras model ``name`` (e.g. "fsrcnn_x3", "fsrcnn_anchor_x3"), checksum checked.

    The model is built by ``sr.build_fsrcnn(**record["builder"])`` and its weights set from the file.
    """
    from helpers.sr.models import build_fsrcnn

    path = pretrained_path(name, folder)
    builder = read_manifest(folder)[name].get("builder")
    if not isinstance(builder, dict):
        raise ValueError(
            f"the manifest record of {name!r} in {Path(folder or PRETRAINED_DIR) / MANIFEST_NAME} "
            f"has no 'builder' arguments: retrain it with `python {TRAIN_SCRIPT} --name {name}`"
        )
    return load_weights(build_fsrcnn(**builder), path)


def pretrained_record(name: str, folder: str | Path | None = None) -> dict[str, Any]:
    """Return the manifest record of ``name`` (command, steps, seconds, PSNRs, sha256, versions)."""
    pretrained_path(
        name, folder, verify=False
    )  # the same clear errors for unknown or missing names
    return read_manifest(folder)[name]


def pretrained_history(name: str, folder: str | Path | None = None) -> Any:
    """Return the training log of a pretrained model: one row per epoch (epoch from 1, steps, loss,
    val_psnr, lr, seconds), read from ``logs/<name>.csv`` (Keras' CSVLogger) next to the model."""
    import pandas as pd

    pretrained_path(name, folder, verify=False)
    path = Path(folder or PRETRAINED_DIR) / "logs" / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: restore it with `git checkout -- {path}`")
    log = pd.read_csv(path)
    log["epoch"] = log["epoch"] + 1  # Keras counts epochs from 0
    return log[["epoch", "steps", "loss", "val_psnr", "lr", "seconds"]]


MANIFEST_COLUMNS = (
    ("model", None),
    ("started from", "started_from"),
    ("steps", "steps"),
    ("wall time", "seconds"),
    ("best val Y-PSNR", "best_val_psnr"),
    ("test gain over bicubic", "test_gain_db"),
    ("file", "bytes"),
    ("sha256", "sha256"),
)


def manifest_markdown(folder: str | Path | None = None) -> str:
    """Return the manifest as a Markdown table (one row per model), as printed in data/README.md."""
    manifest = read_manifest(folder)
    lines = ["| " + " | ".join(c for c, _ in MANIFEST_COLUMNS) + " |"]
    lines.append("|" + " --- |" * len(MANIFEST_COLUMNS))
    for name, r in manifest.items():
        cells = [
            f"`{name}`",
            f"`{r['started_from']}`" if r.get("started_from") else "-",
            f"{r['steps']:,}",
            f"{r['seconds'] / 60:.0f} min",
            f"{r['best_val_psnr']:.2f} dB",
            f"{r['test_gain_db']:+.2f} dB",
            f"{r['bytes'] / 1024:.1f} KB",
            f"`{r['sha256'][:12]}...`",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
