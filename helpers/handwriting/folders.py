"""A folder of digit photos -> MNIST-style arrays and a report of every file read or skipped.

Two layouts, as a student would make them:

* one sub-folder per label: ``my_digits/0/a.jpg``, ``my_digits/7/IMG_0042.png``, ...
* file names that start with the label: ``my_digits/7_first.png``, ``my_digits/3-b.jpg``, ...

Nothing is dropped silently: a file that cannot be used gets a row in the report saying why.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from helpers.handwriting.images import IMAGE_SUFFIXES, HandwritingInputError, read_image
from helpers.handwriting.preprocess import MIN_STROKE, to_mnist_style

LABEL_IN_NAME = re.compile(r"^(\d)(?!\d)")  # "7_a.png", "7-b.jpg", "7.png"; not "12.png"
PROGRESS_FROM = 50  # files: a progress bar is shown from this many on
REPORT_COLUMNS = ["file", "label", "status", "problem", "mode", "size", "reason"]


def _label_of(relative: Path) -> tuple[int | None, str]:
    """Return ``(label, problem)`` of a file from its sub-folder or its name; ``problem`` is "" if found."""
    if len(relative.parts) > 1:
        folder = relative.parts[0]
        if re.fullmatch(r"\d", folder):
            return int(folder), ""
        return None, (
            f"its folder {folder!r} is not a digit 0-9: put each photo in the folder of its label "
            "(0/ ... 9/) or name it after the label (7_xxx.png)"
        )
    match = LABEL_IN_NAME.match(relative.name)
    if match:
        return int(match.group(1)), ""
    return None, (
        f"its name {relative.name!r} does not start with a single digit: rename it like 7_xxx.png, "
        "or put it in a sub-folder named after its label (7/)"
    )


def _progress(items: list, enabled: bool | None, desc: str) -> Any:
    """Return ``items`` wrapped in a text tqdm bar on stdout when enabled (default: from ``PROGRESS_FROM`` items)."""
    if enabled is False or (enabled is None and len(items) < PROGRESS_FROM):
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, file=sys.stdout, mininterval=1.0, ncols=90, leave=False)


def _read_one(path: Path, folder: Path, min_stroke: float) -> tuple[dict, np.ndarray | None]:
    """Return ``(report row, MNIST-style image or None)`` for one file of ``folder``.

    Reasons name the file from the folder on (``my_digits/7/a.png``), never by its absolute path.
    """
    relative = path.relative_to(folder)
    row = dict.fromkeys(REPORT_COLUMNS, "")
    row.update(file=relative.as_posix(), label=None, status="skipped")
    if any(part.startswith(".") for part in relative.parts):
        row["problem"], row["reason"] = "hidden", "hidden file (its name starts with '.')"
        return row, None
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        row["problem"] = "not an image"
        row["reason"] = (
            f"not an image ({path.suffix or 'no extension'}; supported: {', '.join(IMAGE_SUFFIXES)})"
        )
        return row, None
    label, problem = _label_of(relative)
    if problem:
        row["problem"], row["reason"] = "no label", problem
        return row, None
    row["label"] = label
    try:
        pixels, mode = read_image(path)
        row["mode"], row["size"] = mode, f"{pixels.shape[1]}x{pixels.shape[0]}"
        image = to_mnist_style(pixels, source=path, min_stroke=min_stroke)
    except HandwritingInputError as err:
        shown = (Path(folder.name) / relative).as_posix()
        row["problem"], row["reason"] = err.kind, str(err).replace(str(path), shown)
        return row, None
    row["status"] = "read"
    return row, image


def load_digit_folder(
    folder: str | Path, progress: bool | None = None, min_stroke: float = MIN_STROKE
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Return ``(x, y, report)``: every usable photo in ``folder`` as MNIST-style uint8 ``(n, 28, 28)``,
    its int64 label, and a DataFrame with one row per file, in sorted order (file, label, status
    "read"/"skipped", problem kind, PIL mode, size, the full reason). Hidden files are listed too.

    Raises a :class:`HandwritingInputError` if ``folder`` is missing, holds no file, or no usable image.
    """
    import pandas as pd

    folder = Path(folder)
    if not folder.is_dir():
        raise HandwritingInputError(
            f"{folder} is not a folder: pass the folder that holds your digit photos",
            folder,
            "not a folder",
        )
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise HandwritingInputError(
            f"{folder} holds no files: put photos of your digits in sub-folders 0/ ... 9/, or name "
            "them after their label (7_xxx.png)",
            folder,
            "empty folder",
        )
    rows, images, labels = [], [], []
    for path in _progress(files, progress, f"reading {folder.name}"):
        row, image = _read_one(path, folder, min_stroke)
        rows.append(row)
        if image is not None:
            images.append(image)
            labels.append(row["label"])
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    report["label"] = report["label"].astype("Int64")
    if not images:
        reasons = "; ".join(report["reason"].head(3))
        raise HandwritingInputError(
            f"none of the {len(files)} files in {folder} could be used (first reasons: {reasons})",
            folder,
            "no usable image",
        )
    return np.stack(images), np.asarray(labels, dtype=np.int64), report


def summarize_report(report: Any) -> Any:
    """Return how many files of a load report were read, and skipped for each kind of problem."""
    counts = report.groupby(["status", "problem"]).size().rename("files").reset_index()
    return counts.sort_values(["status", "files"], ascending=[True, False]).reset_index(drop=True)
