"""Pretrained FSRCNN weights shipped with the kit: ``data/pretrained/<name>.keras`` and their manifest.

``scripts/train_fsrcnn.py`` trains a model for a long budget, saves it here (without optimizer state,
a few tens of KB) and records in ``manifest.json`` its sha256, the exact command, the steps, the
wall time, the best validation PSNR and the test PSNR. :func:`load_pretrained` checks the file's
sha256 against the manifest before loading it, as ``helpers.data`` does for MNIST, so a truncated
or edited file gives a clear error instead of a silently worse model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import config
from helpers.data import sha256_of

PRETRAINED_DIR = config.DATA_DIR / "pretrained"
MANIFEST_NAME = "manifest.json"
TRAIN_SCRIPT = "scripts/train_fsrcnn.py"


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


def compact_keras_file(path: str | Path) -> Path:
    """Re-pack a saved ``.keras`` file with zip compression and fixed timestamps; return its path.

    Keras stores the archive uncompressed, and the HDF5 weights file is mostly padding: an FSRCNN's
    12k weights take about 230 KB stored and about 55 KB compressed. Keras reads either.
    """
    import zipfile

    path = Path(path)
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, data)
    tmp.replace(path)
    return path


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
    path = folder / f"{name}.keras"
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
    """Return the pretrained Keras model ``name`` (e.g. "fsrcnn_x3", "fsrcnn_anchor_x3"), checksum checked."""
    import keras

    from helpers.sr.models import depth_to_space_layer

    path = pretrained_path(name, folder)
    depth_to_space_layer()  # the anchor model's custom layer must be registered before loading
    return keras.saving.load_model(path, compile=False)


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
