"""Stand-ins for a student's photos, made from scikit-learn's optdigits (``load_digits``): single
digits rendered as small "photos" (ink on paper, uneven light, noise) and "sheets" with many digits
(paper texture, a lighting gradient, blur, a slight rotation, ruled lines, specks), with the true
box of every digit. ``scripts/make_handwriting_data.py`` writes the kit's copies to
``data/handwriting/``; the tests compose their own sheets with known digit positions.

``load_digits`` is the *test* part of UCI optdigits: 1,797 digits by 13 writers (the 43 writers
of optdigits are split 30 for training, 13 for testing), 8x8 blocks counting the "on" pixels (0..16)
of a 32x32 bitmap. It has no writer ids, so folds over it are by sample, not by writer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.kit import config

PAPER_RGB = (0.92, 0.90, 0.84)  # slightly warm paper
INK_RGB = (0.10, 0.12, 0.28)  # blue-black ballpoint
# Formats of the shipped single-digit sample, in turn: every mode load_digit_folder must read.
SAMPLE_FORMATS = ("png_grey", "png_rgb", "jpeg", "png_palette", "png_rgba", "png_16bit", "bmp")


def load_optdigits() -> tuple[np.ndarray, np.ndarray]:
    """Return scikit-learn's ``load_digits`` as ``(images float64 (1797, 8, 8) in [0, 1], labels int64)``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images / 16.0, digits.target.astype(np.int64)


def upscale_digit(digit: np.ndarray, height: int) -> np.ndarray:
    """Return an 8x8 optdigits image (ink amount in [0, 1]) smoothly upscaled to ``height`` x ``height``."""
    from skimage.transform import resize

    big = resize(np.asarray(digit, dtype=np.float64), (height, height), order=3, mode="edge")
    # Counts of "on" pixels are soft at the stroke edges; a mild contrast stretch gives a pen line.
    return np.clip((big - 0.15) / 0.6, 0.0, 1.0)


def _lighting(shape: tuple[int, int], rng: np.random.Generator, strength: float) -> np.ndarray:
    """Return a smooth illumination field (about 1 - strength .. 1): a tilted plane plus a vignette."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    r, c = rows / max(shape[0] - 1, 1) - 0.5, cols / max(shape[1] - 1, 1) - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    tilt = np.cos(angle) * c + np.sin(angle) * r  # -0.7 .. 0.7
    vignette = r**2 + c**2  # 0 .. 0.5
    field = 1.0 - strength * (0.6 * (tilt + 0.7) / 1.4 + 0.4 * vignette / 0.5)
    return field


def ink_on_paper(
    ink: np.ndarray,
    rng: np.random.Generator,
    lighting: float = 0.15,
    noise: float = 0.015,
    blur: float = 0.0,
) -> np.ndarray:
    """Return an RGB float image in [0, 1]: ``ink`` amounts (H, W) drawn in pen colour on paper, lit unevenly, noisy."""
    from scipy import ndimage

    paper = np.asarray(PAPER_RGB) + rng.uniform(-0.04, 0.04)
    pen = np.asarray(INK_RGB) + rng.uniform(-0.05, 0.05, 3)
    amount = ndimage.gaussian_filter(ink, blur) if blur > 0 else ink
    rgb = paper * (1.0 - amount[..., None]) + pen * amount[..., None]
    rgb = rgb * _lighting(ink.shape, rng, lighting)[..., None]
    rgb = rgb + rng.normal(0.0, noise, rgb.shape)
    return np.clip(rgb, 0.0, 1.0)


def render_digit_photo(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a photo-like uint8 RGB image (40-52 px square) of one 8x8 optdigits image, with a paper margin."""
    height = int(rng.integers(28, 37))
    canvas = int(height + rng.integers(12, 17))
    ink = np.zeros((canvas, canvas))
    top, left = rng.integers(3, canvas - height - 2, size=2)
    ink[top : top + height, left : left + height] = upscale_digit(digit, height)
    rgb = ink_on_paper(ink, rng, lighting=rng.uniform(0.05, 0.2), noise=0.012, blur=0.5)
    return np.round(rgb * 255).astype(np.uint8)


def save_digit(rgb: np.ndarray, path: Path, fmt: str) -> Path:
    """Write a uint8 RGB digit photo in one of ``SAMPLE_FORMATS`` (the suffix of ``path`` is set here); return the path."""
    from PIL import Image
    from skimage.color import rgb2gray

    path = Path(path)
    if fmt not in SAMPLE_FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(SAMPLE_FORMATS)}, got {fmt!r}")
    image = Image.fromarray(rgb)
    if fmt == "png_grey":
        path, image = path.with_suffix(".png"), image.convert("L")
    elif fmt == "png_rgb":
        path = path.with_suffix(".png")
    elif fmt == "jpeg":
        path = path.with_suffix(".jpg")
    elif fmt == "png_palette":
        path, image = path.with_suffix(".png"), image.quantize(colors=16)
    elif fmt == "png_rgba":  # ink only, on a transparent layer (a drawing app's export)
        grey = rgb2gray(rgb)
        alpha = np.clip((grey.max() - grey) / max(np.ptp(grey), 1e-6) * 1.4 - 0.2, 0, 1)
        rgba = np.dstack([rgb, np.round(alpha * 255).astype(np.uint8)])
        path, image = path.with_suffix(".png"), Image.fromarray(rgba, mode="RGBA")
    elif fmt == "png_16bit":
        grey16 = np.round(rgb2gray(rgb) * 65535).astype(np.uint16)
        path, image = path.with_suffix(".png"), Image.fromarray(grey16)
    else:  # uncompressed: greyscale keeps it at a third of the size
        path, image = path.with_suffix(".bmp"), image.convert("L")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **({"quality": 90} if fmt == "jpeg" else {}))
    return path


def export_digits(
    folder: str | Path,
    indices: Sequence[int] | None = None,
    layout: str = "names",
    formats: Sequence[str] = ("png_grey",),
    seed: int = config.DEFAULT_SEED,
    replace: bool = False,
) -> list[Path]:
    """Write optdigits images ``indices`` (default: all 1,797) as photo-like files into ``folder``; return the paths.

    ``layout="subfolders"`` writes ``<label>/<index>.<ext>``; ``"names"`` writes ``<label>_<index>.<ext>``.
    The file formats cycle through ``formats``. The same seed gives the same pixels. ``replace=True``
    first deletes the files an earlier export left in ``folder`` (only names of that pattern).
    """
    if layout not in ("subfolders", "names"):
        raise ValueError(f"layout must be 'subfolders' or 'names', got {layout!r}")
    images, labels = load_optdigits()
    indices = range(len(images)) if indices is None else [int(i) for i in indices]
    folder = Path(folder)
    if replace and folder.is_dir():
        for old in [
            *folder.glob("[0-9]_[0-9][0-9][0-9][0-9].*"),
            *folder.glob("[0-9]/[0-9][0-9][0-9][0-9].*"),
        ]:
            old.unlink()
    paths = []
    for k, index in enumerate(indices):
        rng = np.random.default_rng(
            [seed, index]
        )  # each image its own stream: any subset is reproducible
        rgb = render_digit_photo(images[index], rng)
        label = int(labels[index])
        stem = f"{label}/{index:04d}" if layout == "subfolders" else f"{label}_{index:04d}"
        paths.append(save_digit(rgb, folder / stem, formats[k % len(formats)]))
    return paths


def index_from_name(path: str | Path) -> int:
    """Return the optdigits index encoded in a file name written by :func:`export_digits` (``7_0123.png`` -> 123)."""
    return int(Path(path).stem.split("_")[-1])


def _place_digits(
    digits: np.ndarray,
    columns: int,
    digit_height: tuple[int, int],
    broken: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Return ``(ink, owner, line_rows)``: the 8x8 ``digits`` upscaled and written in rows of
    ``columns`` cells (ink in [0, 1]), which digit (1-based, 0: none) owns each ink pixel, and the
    row under each line of digits where a ruled line goes. ``broken`` digits get a 2-px gap."""
    rows = int(np.ceil(len(digits) / columns))
    cell_h, cell_w = int(digit_height[1] * 1.7), int(digit_height[1] * 1.15)
    height, width = rows * cell_h + 2 * cell_h // 2, columns * cell_w + cell_w
    ink = np.zeros((height, width))
    owner = np.zeros((height, width), dtype=np.int32)
    gapped = set(rng.choice(len(digits), size=min(broken, len(digits)), replace=False).tolist())
    line_rows = []
    for k, grid in enumerate(digits):
        row, col = divmod(k, columns)
        size = int(rng.integers(digit_height[0], digit_height[1] + 1))
        digit = upscale_digit(grid, size)
        if k in gapped:  # a pen that skipped: a 2-px gap across the digit
            cut = int(size * rng.uniform(0.35, 0.6))
            digit[cut : cut + 2, :] = 0.0
        top = cell_h // 2 + row * cell_h + (cell_h - size) // 2 + int(rng.integers(-3, 4))
        left = cell_w // 2 + col * cell_w + (cell_w - size) // 2 + int(rng.integers(-4, 5))
        region = (slice(top, top + size), slice(left, left + size))
        ink[region] = np.maximum(ink[region], digit)
        owner[region][digit > 0.3] = k + 1
        if col == 0:
            line_rows.append(cell_h // 2 + row * cell_h + cell_h - 4)
    return ink, owner, line_rows


def _add_specks(
    ink: np.ndarray, digits: np.ndarray, specks: int, distance: int, rng: np.random.Generator
) -> None:
    """Draw ``specks`` dots of dust (radius 0.8-2.2 px) into ``ink``, each at least ``distance``
    pixels from the ``digits`` mask."""
    from scipy import ndimage

    height, width = ink.shape
    near_digit = ndimage.binary_dilation(digits, iterations=distance)
    placed = 0
    while placed < specks:
        r, c = int(rng.integers(3, height - 3)), int(rng.integers(3, width - 3))
        if near_digit[r - 3 : r + 4, c - 3 : c + 4].any():
            continue
        radius = rng.uniform(0.8, 2.2)
        rr, cc = np.mgrid[-3:4, -3:4]
        dot = np.clip(radius + 0.5 - np.hypot(rr, cc), 0, 1) * rng.uniform(0.6, 0.9)
        ink[r - 3 : r + 4, c - 3 : c + 4] = np.maximum(ink[r - 3 : r + 4, c - 3 : c + 4], dot)
        placed += 1


def compose_sheet(
    indices: Sequence[int],
    columns: int,
    rng: np.random.Generator,
    digit_height: tuple[int, int] = (34, 46),
    rotation: float = 1.5,
    ruled_lines: bool = True,
    margin_line: bool = False,
    line_ink: float = 0.75,
    specks: int = 12,
    broken: int = 2,
    lighting: float = 0.3,
    blur: float = 0.8,
    noise: float = 0.02,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Return ``(photo uint8 RGB, truth)``: optdigits ``indices`` handwritten in rows of ``columns`` on a sheet.

    ``truth`` lists, in reading order, each digit's ``label``, ``index`` (in ``load_digits``) and
    ``box`` ``[top, left, bottom, right]`` (pixels of the photo, bottom/right exclusive), measured on
    the rotated sheet. Ruled lines run under each row (not touching the digits), ``specks`` dots of
    dust sit away from them, and ``broken`` digits have a gap cut across a stroke.
    """
    from skimage.transform import rotate

    images, labels = load_optdigits()
    indices = [int(i) for i in indices]
    cell_w = int(digit_height[1] * 1.15)
    ink, owner, line_rows = _place_digits(images[indices], columns, digit_height, broken, rng)
    if ruled_lines:
        for r in line_rows:
            ink[r : r + 2, :] = np.maximum(ink[r : r + 2, :], line_ink)
    if margin_line:
        c = cell_w // 3
        ink[:, c : c + 2] = np.maximum(ink[:, c : c + 2], line_ink)
    # Dust lies at least half a digit's height from any digit (closer, it would count as part of it).
    _add_specks(ink, owner > 0, specks, digit_height[0] // 2, rng)
    angle = float(rng.uniform(-rotation, rotation))
    ink = rotate(ink, angle, order=1, mode="constant", cval=0.0)
    owner = rotate(owner, angle, order=0, mode="constant", cval=0, preserve_range=True)
    owner = np.round(owner).astype(np.int32)
    photo = ink_on_paper(ink, rng, lighting=lighting, noise=noise, blur=blur)
    truth = []
    for k, index in enumerate(indices):
        rr, cc = np.nonzero(owner == k + 1)
        box = [int(rr.min()), int(cc.min()), int(rr.max()) + 1, int(cc.max()) + 1]
        truth.append({"label": int(labels[index]), "index": index, "box": box})
    return np.round(photo * 255).astype(np.uint8), truth


def write_sheet(photo: np.ndarray, truth: list[dict[str, Any]], path: str | Path) -> Path:
    """Write a sheet photo as JPEG (quality 88) and its truth next to it as ``<stem>.json``; return the photo's path."""
    from PIL import Image

    path = Path(path).with_suffix(".jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo).save(path, quality=88)
    record = {"image": path.name, "digits": truth}
    path.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def read_sheet_truth(path: str | Path) -> list[dict[str, Any]]:
    """Return the true digits of a sheet (``label``, ``index``, ``box``, in reading order) from its JSON file.

    ``path`` is the sheet photo or its ``.json``.
    """
    json_path = Path(path).with_suffix(".json")
    if not json_path.is_file():
        raise FileNotFoundError(
            f"{json_path} does not exist: sheets made by scripts/make_handwriting_data.py have one"
        )
    return json.loads(json_path.read_text(encoding="utf-8"))["digits"]
