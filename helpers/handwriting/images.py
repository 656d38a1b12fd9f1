"""Reading one image (file or array) as a float greyscale array in [0, 1], and the input errors of
``helpers.handwriting``.

Every mode a phone, a scanner or a paint program writes is accepted: greyscale, RGB, RGBA with a
transparent background, palette, 16-bit, bilevel. Phone photos are turned upright from their EXIF
orientation. Whatever goes wrong raises a :class:`HandwritingInputError` (a ``ValueError``) that
names the file and says what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
MIN_SIDE = 8  # pixels: smaller images cannot hold a recognisable digit (optdigits itself is 8x8)
MIN_CONTRAST = 0.12  # ink must differ from the paper by at least 12% of the grey range


class HandwritingInputError(ValueError):
    """An image, a folder or a sheet that cannot be used; ``path`` names it, ``kind`` says why.

    ``kind`` is one of "unreadable", "not an image", "too small", "no ink", "no digits",
    "empty folder", "no usable image", "not a folder".
    """

    def __init__(self, message: str, path: Any = None, kind: str = "invalid"):
        super().__init__(message)
        self.path = path
        self.kind = kind


def describe(source: Any) -> str:
    """Return how an error message should name ``source``: its path, or "the image" for an array."""
    return str(source) if isinstance(source, (str, Path)) else "the image"


def _pil_to_array(img: Any) -> np.ndarray:
    """Return the pixels of a PIL image as uint8 (grey, RGB or RGBA), uint16 (16-bit) or float32 array."""
    mode = img.mode
    if mode.startswith("I;16"):
        return np.asarray(img, dtype=np.uint16)
    if mode == "I":  # 16-bit PNGs open as 32-bit integers in some Pillow versions
        arr = np.asarray(img, dtype=np.int64)
        return arr.clip(0, 65535).astype(np.uint16 if arr.max(initial=0) > 255 else np.uint8)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        return (arr / 255.0 if arr.max(initial=0) > 1.0 else arr).clip(0, 1)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        return np.asarray(img.convert("RGBA"))
    if mode in ("L", "RGB"):
        return np.asarray(img)
    if mode == "1":
        return np.asarray(img.convert("L"))
    return np.asarray(img.convert("RGB"))  # palette, CMYK, YCbCr, LAB, HSV


def read_image(path: str | Path) -> tuple[np.ndarray, str]:
    """Return ``(pixels, mode)`` of the image file at ``path``: the array as stored and PIL's mode name.

    Raises a :class:`HandwritingInputError` naming the file if it is not a readable PNG/JPEG/BMP.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise HandwritingInputError(
            f"{path} does not exist or is not a file: check the path", path, "unreadable"
        )
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise HandwritingInputError(
            f"{path} is not an image ({path.suffix or 'no extension'}): save your photos as "
            f"{', '.join(IMAGE_SUFFIXES)}",
            path,
            "not an image",
        )
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            upright = ImageOps.exif_transpose(img)  # phone photos store their rotation in EXIF
            return _pil_to_array(upright), mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise HandwritingInputError(
            f"{path} cannot be read as an image ({type(err).__name__}: {err}); the file may be "
            "damaged or not really a picture: open it in an image viewer and save it again as PNG or JPEG",
            path,
            "unreadable",
        ) from err


def _composite_alpha(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Return grey values with transparent pixels replaced by a paper colour opposite to the ink's.

    Transparent pixels are background. Dark opaque strokes (ink drawn on a transparent layer) get
    white paper, light strokes get black paper.
    """
    opaque = alpha > 0.5
    ink_is_dark = not opaque.any() or float(np.median(rgb[opaque])) < 0.5
    paper = 1.0 if ink_is_dark else 0.0
    return alpha * rgb + (1.0 - alpha) * paper


def to_grey(image: Any, source: Any = None) -> np.ndarray:
    """Return ``image`` (an array of any layout, or a path) as float64 greyscale ``(H, W)`` in [0, 1].

    uint8 is divided by 255 and uint16 by 65,535; floats must already be in [0, 1]. RGB uses
    luminance weights (``skimage.color.rgb2gray``); RGBA and grey+alpha are composited on a paper
    colour opposite to the ink (:func:`_composite_alpha`). Images smaller than ``MIN_SIDE`` pixels
    are refused.
    """
    from skimage.color import rgb2gray

    if isinstance(image, (str, Path)):
        source = image if source is None else source
        image, _ = read_image(image)
    name = describe(source)
    arr = np.asarray(image)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    elif arr.dtype == np.uint8:
        arr = arr / 255.0
    elif arr.dtype == np.uint16:
        arr = arr / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
        if arr.size and (np.nanmin(arr) < 0.0 or np.nanmax(arr) > 1.0):
            raise HandwritingInputError(
                f"{name}: float pixel values must be in [0, 1], got {np.nanmin(arr):.3g}..{np.nanmax(arr):.3g}; "
                "divide 8-bit values by 255",
                source,
                "unreadable",
            )
    else:
        raise HandwritingInputError(
            f"{name}: pixels of dtype {arr.dtype} are not supported; use uint8, uint16 or floats in [0, 1]",
            source,
            "unreadable",
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        colour = arr[..., :-1]
        grey = colour[..., 0] if colour.shape[2] == 1 else rgb2gray(colour)
        arr = _composite_alpha(grey, arr[..., -1])
    elif arr.ndim == 3 and arr.shape[2] == 3:
        arr = rgb2gray(arr)
    elif arr.ndim != 2:
        raise HandwritingInputError(
            f"{name}: expected an image (H, W), (H, W, 3) or (H, W, 4), got shape {arr.shape}",
            source,
            "unreadable",
        )
    if min(arr.shape) < MIN_SIDE:
        raise HandwritingInputError(
            f"{name} is too small ({arr.shape[1]}x{arr.shape[0]} px) to hold a digit: it needs at "
            f"least {MIN_SIDE} px on each side; photograph the digit closer or crop less tightly",
            source,
            "too small",
        )
    if not np.isfinite(arr).all():
        raise HandwritingInputError(f"{name} contains NaN or infinite pixels", source, "unreadable")
    return arr
