"""One photo of one digit -> a 28x28 MNIST-style image, the way MNIST itself was made.

MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect ratio (with
anti-aliasing, hence grey levels), then pasted into 28x28 so that their centre of mass sits at the
centre. :func:`mnist_style_steps` does that to a photo, step by step (so a figure can show each one):

1. greyscale, 2. white ink on black (inverted if the paper is lighter than the ink), 3. background
removed (lighting gradient subtracted, Otsu threshold, the ink's grey levels kept, specks dropped),
4. crop to the ink's bounding box, 5. strokes thickened only if much thinner than MNIST's, 6. longer
side to 20 px with anti-aliasing, 7. pasted into 28x28 and shifted by whole pixels so that the centre
of mass is at (14, 14), as in MNIST (whose digits have it there to within half a pixel).

:func:`plain_resize` is what the course report did instead: greyscale, a plain resize to 28x28 and
white-on-black by subtraction (``255 - x``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.handwriting.images import MIN_CONTRAST, HandwritingInputError, describe, to_grey

MNIST_SIZE = 28
BOX_SIZE = 20
MNIST_CENTRE = (14.0, 14.0)  # MNIST's mean centre of mass (scipy.ndimage.center_of_mass convention)
SPECK_FRACTION = 0.05  # ink blobs smaller than 5% of the largest one are specks, not strokes
MIN_INK_SIDE = 4  # pixels: less ink than that is a speck, not a digit
# Strokes thinner than MIN_STROKE of the digit's longer side (MNIST's thinnest 5% of digits) are
# widened to TARGET_STROKE (MNIST's median stroke width).
MIN_STROKE = 0.05
TARGET_STROKE = 0.09
MAX_PHOTO_SIDE = 1000  # larger photos are shrunk (anti-aliased) to this before anything else
STEP_TITLES = {
    "greyscale": "1 greyscale",
    "white_on_black": "2 white on black",
    "background_removed": "3 background removed",
    "cropped": "4 cropped to the ink",
    "strokes": "5 strokes checked",
    "box20": "6 longer side 20 px",
    "mnist": "7 28x28, centre of mass",
}


def _frame(grey: np.ndarray) -> np.ndarray:
    """Return the pixels of the outer frame of ``grey`` (5% of the shorter side, at least 1 px)."""
    width = max(1, int(round(0.05 * min(grey.shape))))
    mask = np.ones(grey.shape, dtype=bool)
    mask[width:-width, width:-width] = False
    return grey[mask]


def _no_ink(source: Any, detail: str) -> HandwritingInputError:
    """Return the error for an image in which no digit can be seen."""
    return HandwritingInputError(
        f"no ink found in {describe(source)} ({detail}): photograph a dark digit on light paper "
        "(or a light one on dark), in even light, filling a good part of the frame",
        source,
        "no ink",
    )


def ink_is_dark(grey: np.ndarray, source: Any = None) -> bool:
    """Return True if the ink is darker than the paper: the frame of the image is mostly paper.

    The frame's median is compared with the Otsu threshold of the whole image.
    """
    from skimage.filters import threshold_otsu

    if float(np.ptp(grey)) < MIN_CONTRAST:
        raise _no_ink(source, f"the image is almost uniform, grey range {np.ptp(grey):.2f}")
    return bool(np.median(_frame(grey)) > threshold_otsu(grey))


def to_white_on_black(grey: np.ndarray, source: Any = None) -> tuple[np.ndarray, bool]:
    """Return ``(image, inverted)``: ``grey`` with white ink on black, and whether it was inverted."""
    if ink_is_dark(grey, source):
        return 1.0 - grey, True
    return grey, False


def _background_plane(x: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Return the plane a*col + b*row + c fitted (least squares) to ``x`` where ``background`` is True."""
    rows, cols = np.mgrid[0 : x.shape[0], 0 : x.shape[1]]
    design = np.column_stack(
        [cols[background], rows[background], np.ones(int(background.sum()))]
    ).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, x[background], rcond=None)
    return coef[0] * cols + coef[1] * rows + coef[2]


def ink_mask(x: np.ndarray, source: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(flat, mask)``: ``x`` (white on black) with its lighting plane subtracted, and its ink.

    The ink is what lies above the Otsu threshold of the flattened image, without specks (blobs
    smaller than ``SPECK_FRACTION`` of the largest). Raises "no ink" if the ink is too faint or tiny.
    """
    from scipy import ndimage
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops

    # The plane is fitted to the paper only: away from the ink and its soft edges.
    paper = ~ndimage.binary_dilation(x > threshold_otsu(x), iterations=2)
    flat = x - _background_plane(x, paper) if paper.sum() >= 3 else x - x.min()
    if float(np.ptp(flat)) < MIN_CONTRAST:
        raise _no_ink(source, f"after removing the lighting, grey range {np.ptp(flat):.2f}")
    mask = flat > threshold_otsu(flat)
    contrast = float(np.percentile(flat[mask], 90) - np.median(flat[~mask])) if (~mask).any() else 0
    if contrast < MIN_CONTRAST:
        raise _no_ink(source, f"ink contrast {contrast:.2f} < {MIN_CONTRAST}")
    labels = label(mask, connectivity=2)
    regions = regionprops(labels)
    largest = max(r.area for r in regions)
    keep = [r.label for r in regions if r.area >= SPECK_FRACTION * largest]
    mask = np.isin(labels, keep)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < MIN_INK_SIDE:
        raise _no_ink(source, f"only a speck of ink, under {MIN_INK_SIDE} px")
    return flat, mask


def remove_background(x: np.ndarray, source: Any = None) -> np.ndarray:
    """Return ``x`` (white on black) with the background at 0 and the ink's grey levels kept in [0, 1].

    The lighting plane is subtracted, values are scaled so that the ink's 90th percentile is 1, and
    everything farther than one pixel from the ink (:func:`ink_mask`) is set to 0; the one-pixel
    rim keeps the soft edges of the strokes.
    """
    from scipy import ndimage

    flat, mask = ink_mask(x, source)
    background = float(np.median(flat[~mask])) if (~mask).any() else 0.0
    level = float(np.percentile(flat[mask], 90)) - background
    rim = ndimage.binary_dilation(mask, structure=np.ones((3, 3), dtype=bool))
    clean = np.clip((flat - background) / level, 0.0, 1.0) * rim
    clean[clean < 0.5 / 255] = 0.0  # what rounds to 0 in uint8 is background (and no float dust)
    return clean


def ink_bbox(x: np.ndarray) -> tuple[int, int, int, int]:
    """Return ``(top, left, bottom, right)`` of the non-zero pixels (bottom/right exclusive)."""
    rows, cols = np.flatnonzero((x > 0).any(axis=1)), np.flatnonzero((x > 0).any(axis=0))
    if not rows.size:
        raise ValueError("the image has no non-zero pixel: nothing to crop")
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def crop_to_ink(x: np.ndarray) -> np.ndarray:
    """Return the part of ``x`` inside the bounding box of its non-zero pixels."""
    top, left, bottom, right = ink_bbox(x)
    return x[top:bottom, left:right]


def stroke_width(mask: np.ndarray) -> float:
    """Return the typical stroke width in pixels of a binary image: 2 x median distance to the edge on the skeleton, minus 1."""
    from scipy import ndimage
    from skimage.morphology import skeletonize

    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return 0.0
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    return float(2.0 * np.median(distance[skeletonize(mask)]) - 1.0)


def thicken_strokes(x: np.ndarray, min_stroke: float = MIN_STROKE) -> np.ndarray:
    """Return ``x`` with its strokes widened (grey dilation with a disk) if they are thinner than ``min_stroke``.

    Widths are fractions of the longer side of ``x`` (a cropped digit). A fine pen on a large photo
    becomes a hair-thin line at 20 px; such strokes are widened to MNIST's median (``TARGET_STROKE``).
    ``min_stroke=0`` turns this off.
    """
    from scipy import ndimage
    from skimage.morphology import disk

    longer = max(x.shape)
    width = stroke_width(x > 0.5)
    if min_stroke <= 0 or width >= min_stroke * longer:
        return x
    radius = int(np.ceil((TARGET_STROKE * longer - width) / 2.0))
    return ndimage.grey_dilation(np.pad(x, radius), footprint=disk(radius))


def fit_longer_side(x: np.ndarray, size: int = BOX_SIZE) -> np.ndarray:
    """Return ``x`` resized (anti-aliased) so that its longer side is ``size`` px, aspect kept, peak scaled to 1."""
    from skimage.transform import resize

    h, w = x.shape
    scale = size / max(h, w)
    shape = (max(1, int(round(h * scale))), max(1, int(round(w * scale))))
    small = resize(x, shape, order=1, anti_aliasing=scale < 1, mode="constant", preserve_range=True)
    peak = float(small.max())
    return small / peak if peak > 0 else small


def paste_centred(x: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Return a ``size`` x ``size`` canvas with ``x`` pasted in, then shifted by whole pixels so that
    its centre of mass is at ``MNIST_CENTRE`` (as far as the canvas allows without cutting ink)."""
    from scipy import ndimage

    h, w = x.shape
    if h > size or w > size:
        raise ValueError(f"a {h}x{w} image does not fit in {size}x{size}: fit it to 20 px first")
    canvas = np.zeros((size, size), dtype=np.float64)
    top, left = (size - h) // 2, (size - w) // 2
    canvas[top : top + h, left : left + w] = x
    if not canvas.any():
        return canvas
    com_row, com_col = ndimage.center_of_mass(canvas)
    bbox_top, bbox_left, bbox_bottom, bbox_right = ink_bbox(canvas)
    shift_row = int(np.clip(round(MNIST_CENTRE[0] - com_row), -bbox_top, size - bbox_bottom))
    shift_col = int(np.clip(round(MNIST_CENTRE[1] - com_col), -bbox_left, size - bbox_right))
    return ndimage.shift(canvas, (shift_row, shift_col), order=0, mode="constant", cval=0.0)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Return a float image in [0, 1] as uint8 0..255 (rounded)."""
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def mnist_style_steps(
    image: Any, source: Any = None, min_stroke: float = MIN_STROKE
) -> dict[str, Any]:
    """Return every intermediate image of :func:`to_mnist_style`, keyed as in ``STEP_TITLES``.

    Floats in [0, 1] except ``"mnist"`` (uint8 28x28); ``"inverted"`` says whether step 2 inverted.
    Photos larger than ``MAX_PHOTO_SIDE`` pixels are shrunk first (the 20-px result is the same).
    """
    from skimage.transform import rescale

    source = image if source is None and not isinstance(image, np.ndarray) else source
    grey = to_grey(image, source)
    if max(grey.shape) > MAX_PHOTO_SIDE:  # a 12-megapixel phone photo: same digit, far less work
        grey = np.clip(rescale(grey, MAX_PHOTO_SIDE / max(grey.shape), anti_aliasing=True), 0, 1)
    white, inverted = to_white_on_black(grey, source)
    clean = remove_background(white, source)
    cropped = crop_to_ink(clean)
    strokes = thicken_strokes(cropped, min_stroke)
    box = fit_longer_side(strokes)
    return {
        "greyscale": grey,
        "white_on_black": white,
        "background_removed": clean,
        "cropped": cropped,
        "strokes": strokes,
        "box20": box,
        "mnist": to_uint8(paste_centred(box)),
        "inverted": inverted,
    }


def to_mnist_style(image: Any, source: Any = None, min_stroke: float = MIN_STROKE) -> np.ndarray:
    """Return a photo of one digit (array or path) as an MNIST-style uint8 image (28, 28): white ink on
    black, the digit's longer side 20 px, its centre of mass at (14, 14). See :func:`mnist_style_steps`."""
    return mnist_style_steps(image, source, min_stroke)["mnist"]


def plain_resize(image: Any, source: Any = None, invert: bool = True) -> np.ndarray:
    """Return the course report's preprocessing: greyscale, a plain resize to 28x28 (anti-aliased,
    aspect ratio not kept, nothing cropped), then ``255 - x`` if ``invert``. uint8 (28, 28)."""
    from skimage.transform import resize

    source = image if source is None and not isinstance(image, np.ndarray) else source
    grey = to_grey(image, source)
    small = resize(grey, (MNIST_SIZE, MNIST_SIZE), order=1, anti_aliasing=True, mode="edge")
    return to_uint8(1.0 - small if invert else small)
