"""Finding the digits on a photo of a sheet: connected components, broken strokes merged, specks and
ruled lines rejected, reading order (rows top to bottom, left to right in each row).

The course report sliced its sheets by hand in an image editor; :func:`segment_sheet` does it from
one photo and returns the boxes, the cleaned crops and their MNIST-style 28x28 versions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from helpers.handwriting.images import (
    MIN_CONTRAST,
    MIN_SIDE,
    HandwritingInputError,
    describe,
    to_grey,
)
from helpers.handwriting.preprocess import to_mnist_style, to_white_on_black

# Ruled lines: a blob longer than LINE_LENGTH of the sheet's longer side may hold one; it is made of
# straight runs longer than LINE_RUN digit heights (no stroke of a digit is that long), searched above
# FAINT times the ink threshold (printed lines are lighter than ink), up to LINE_TILT degrees off level.
LINE_LENGTH = 0.2
LINE_RUN = 2.5
FAINT = 0.5
LINE_TILT = 3
# Estimating the digits' height: blobs LINE_ASPECT times longer than wide, or filling less than
# MIN_FILL of their box (a grid of lines), are not digit-shaped.
LINE_ASPECT = 4
MIN_FILL = 0.1
# Leftover pieces of lines: longer than FRAGMENT digit heights and 4 times thinner, or a flat dash
# (4 times wider than high, under THIN of a digit's height; a "1" is upright, never flat).
FRAGMENT = 1.5
THIN = 0.2
MERGE_GAP = 0.25  # pieces of one digit: columns overlapping, vertical gap under 25% of its height
SPECK_SIZE = 0.35  # a blob under 35% of a digit's height both ways is a speck
ROW_GAP = 0.5  # a new row starts where digit centres jump down by over half a digit's height
MAX_SIDE = 1600  # larger photos are searched shrunk to this (digits stay tens of pixels tall)
BOX_COLUMNS = ["top", "left", "bottom", "right"]


@dataclasses.dataclass
class SheetDigits:
    """What :func:`segment_sheet` found: one entry per digit, in reading order.

    ``boxes`` are ``(top, left, bottom, right)`` in pixels of the photo (bottom/right exclusive),
    ``rows`` the row of each digit (0 = top), ``crops`` the digit's own ink (white on black, background
    removed, float in [0, 1]), ``images`` the MNIST-style uint8 (n, 28, 28) versions, and ``rejected``
    a table of the blobs that were not digits, with the reason.
    """

    boxes: np.ndarray
    rows: np.ndarray
    crops: list[np.ndarray]
    images: np.ndarray
    rejected: Any
    inverted: bool

    def __len__(self) -> int:
        return len(self.boxes)

    def table(self):
        """Return a DataFrame with one row per digit: row, top, left, bottom, right."""
        import pandas as pd

        table = pd.DataFrame(self.boxes, columns=BOX_COLUMNS)
        table.insert(0, "row", self.rows)
        table.index.name = "digit"
        return table


def _flatten_lighting(white: np.ndarray) -> np.ndarray:
    """Return ``white`` (ink bright) minus a smooth background: a grey opening wider than any stroke."""
    from scipy import ndimage

    size = max(15, min(white.shape) // 8)
    background = ndimage.grey_opening(white, size=(size, size))
    return white - ndimage.uniform_filter(background, size)


def _line_footprints(length: int, horizontal: bool) -> list[np.ndarray]:
    """Return straight-line footprints ``length`` px long at -3..3 degrees (horizontal or vertical)."""
    from skimage.draw import line

    footprints = []
    for degrees in range(-LINE_TILT, LINE_TILT + 1):
        half_rise = int(np.ceil(abs(np.tan(np.radians(degrees))) * (length - 1) / 2))
        footprint = np.zeros((2 * half_rise + 1, length), dtype=bool)
        rise = int(round(np.tan(np.radians(degrees)) * (length - 1) / 2))
        rr, cc = line(half_rise - rise, 0, half_rise + rise, length - 1)
        footprint[rr, cc] = True
        footprints.append(footprint if horizontal else footprint.T)
    return footprints


def _straight_runs(mask: np.ndarray, length: int, horizontal: bool) -> np.ndarray:
    """Return the pixels of ``mask`` that lie on a straight run of ``length`` px or more (within 3 degrees of
    horizontal or vertical), widened by one pixel across: the ruled line inside a component."""
    from scipy import ndimage

    runs = np.zeros_like(mask)
    for footprint in _line_footprints(length, horizontal):
        runs |= ndimage.binary_opening(mask, structure=footprint)
    across = np.ones((3, 1) if horizontal else (1, 3), dtype=bool)
    return ndimage.binary_dilation(runs, structure=across) & mask


def _is_small(box: list[int], scale: float) -> bool:
    """Return True if a box is smaller than ``SPECK_SIZE`` digit heights both ways (a speck, or a small piece)."""
    return box[2] - box[0] < SPECK_SIZE * scale and box[3] - box[1] < SPECK_SIZE * scale


def _line_piece(box: list[int], scale: float) -> bool:
    """Return True if a blob is a piece of a ruled line: longer than ``FRAGMENT`` digit heights and 4
    times thinner, or a flat dash (4 times wider than high, under ``THIN`` of a digit's height)."""
    h, w = _sides(box)
    long_and_thin = max(h, w) >= FRAGMENT * scale and min(h, w) * 4 <= max(h, w)
    flat_dash = w >= 4 * h and h <= THIN * scale  # no digit is a flat dash; a "1" is upright
    return long_and_thin or flat_dash


def _merge_pieces(boxes: list[list[int]], scale: float) -> list[list[int]]:
    """Return groups of box indices that belong to one digit.

    Two groups merge if their boxes overlap, or if one sits above the other (columns overlapping by
    half the narrower width) with a vertical gap under ``MERGE_GAP * scale``. Two small groups never
    merge with each other: specks must not add up to a digit.
    """
    groups = [[i] for i in range(len(boxes))]
    extent = [list(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                (ta, la, ba, ra), (tb, lb, bb, rb) = extent[a], extent[b]
                if _is_small(extent[a], scale) and _is_small(extent[b], scale):
                    continue
                col_overlap = min(ra, rb) - max(la, lb)
                row_gap = max(ta, tb) - min(ba, bb)
                narrower = min(ra - la, rb - lb)
                overlapping = col_overlap > 0 and row_gap < 0
                stacked = col_overlap >= 0.5 * narrower and row_gap <= MERGE_GAP * scale
                if overlapping or stacked:
                    groups[a] += groups.pop(b)
                    extent[a] = [min(ta, tb), min(la, lb), max(ba, bb), max(ra, rb)]
                    extent.pop(b)
                    changed = True
                    break
            if changed:
                break
    return groups


def reading_order(boxes: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(order, rows)``: box indices in reading order and the row of each (in that order).

    Rows are found by sorting box centres top to bottom and starting a new row where the next centre is
    more than ``ROW_GAP * scale`` lower (``scale`` defaults to the median box height). This tolerates a
    sheet photographed a few degrees off level.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    scale = float(np.median(boxes[:, 2] - boxes[:, 0])) if scale is None else scale
    centre_row = (boxes[:, 0] + boxes[:, 2]) / 2
    centre_col = (boxes[:, 1] + boxes[:, 3]) / 2
    by_height = np.argsort(centre_row, kind="stable")
    row_of = np.zeros(len(boxes), dtype=np.int64)
    row_of[by_height] = np.concatenate(
        [[0], np.cumsum(np.diff(centre_row[by_height]) > ROW_GAP * scale)]
    )
    order = np.lexsort((centre_col, row_of))
    return order, row_of[order]


def _box(region: Any, offset: tuple[int, int] = (0, 0)) -> list[int]:
    """Return a regionprops bbox as ``[top, left, bottom, right]``, shifted by ``offset``."""
    top, left, bottom, right = region.bbox
    return [top + offset[0], left + offset[1], bottom + offset[0], right + offset[1]]


def _digit_height(regions: list, shape: tuple[int, int]) -> float:
    """Return the typical digit height: the median height of the large blobs shaped like a digit.

    Digit-shaped: less than ``LINE_ASPECT`` times longer than wide (not a line) and filling at least
    ``MIN_FILL`` of its box (not a grid of lines). Large: at least 20% of the area of the largest
    of them. A tenth of the sheet's shorter side if there is none.
    """
    digit_like = [
        r
        for r in regions
        if max(_sides(r.bbox)) < LINE_ASPECT * min(_sides(r.bbox)) and r.extent >= MIN_FILL
    ]
    if not digit_like:
        return min(shape) / 10.0
    largest = max(r.area for r in digit_like)
    return float(np.median([r.bbox[2] - r.bbox[0] for r in digit_like if r.area >= 0.2 * largest]))


def _sides(bbox: Any) -> tuple[int, int]:
    """Return ``(height, width)`` of a ``(top, left, bottom, right)`` box."""
    return bbox[2] - bbox[0], bbox[3] - bbox[1]


def _may_hold_a_line(bbox: Any, shape: tuple[int, int]) -> bool:
    """Return True if a blob is longer than ``LINE_LENGTH`` of the sheet's longer side (a line, or a grid of them)."""
    return max(_sides(bbox)) >= LINE_LENGTH * max(shape)


def _remove_ruled_lines(
    mask: np.ndarray, faint: np.ndarray, rejected: list[dict]
) -> tuple[np.ndarray, float]:
    """Return ``(mask without ruled lines, digit height)``; each line removed is added to ``rejected``.

    Lines are searched in ``faint``, a mask at a lower threshold, where a light printed line is
    still continuous. Its blobs longer than ``LINE_LENGTH`` of the sheet are searched for straight runs longer than
    ``LINE_RUN`` digit heights (no stroke of a digit is that long). A straight line is fitted to each
    run and a band as thick as the line is cleared along the whole sheet, which also removes the
    pieces of the line that the threshold cut off. A digit touching a line loses only that band.
    """
    from skimage.measure import label, regionprops

    scale = _digit_height(regionprops(label(mask, connectivity=2)), mask.shape)
    length = max(5, int(round(LINE_RUN * scale)))
    labels = label(faint, connectivity=2)
    regions = regionprops(labels)
    rows, cols = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    cleaned = mask.copy()
    for region in regions:
        if not _may_hold_a_line(region.bbox, mask.shape):
            continue
        top, left, bottom, right = region.bbox
        own = labels[top:bottom, left:right] == region.label
        for horizontal in (True, False):
            if own.shape[1 if horizontal else 0] < length:
                continue
            runs = _straight_runs(own, length, horizontal)
            for line in regionprops(label(runs, connectivity=2)):  # one straight line per run
                rr, cc = line.coords[:, 0] + top, line.coords[:, 1] + left
                along, across = (cc, rr) if horizontal else (rr, cc)
                if np.ptp(along) + 1 < length:
                    continue
                slope, intercept = np.polyfit(along, across, 1)
                half_width = len(along) / (np.ptp(along) + 1) / 2 + 1.5
                if horizontal:
                    band = np.abs(rows - (slope * cols + intercept)) <= half_width
                else:
                    band = np.abs(cols - (slope * rows + intercept)) <= half_width
                cleaned &= ~band
                box = [int(rr.min()), int(cc.min()), int(rr.max()) + 1, int(cc.max()) + 1]
                rejected.append({**dict(zip(BOX_COLUMNS, box)), "reason": "ruled line"})
    return cleaned, scale


def _sheet_ink(
    image: Any, source: Any, max_side: int
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Return ``(flat, mask, factor, inverted)`` of a sheet photo: the white-on-black image with its
    lighting flattened, the Otsu ink mask, the shrink factor (<= 1) and whether it was inverted.

    Raises a :class:`HandwritingInputError` naming the file if there is no ink or it is too faint.
    """
    from skimage.filters import threshold_otsu
    from skimage.transform import rescale

    name = describe(source)
    grey = to_grey(image, source)
    factor = min(1.0, max_side / max(grey.shape))
    if factor < 1.0:
        grey = rescale(grey, factor, anti_aliasing=True)
    try:
        white, inverted = to_white_on_black(grey, source)
    except HandwritingInputError as err:
        raise HandwritingInputError(
            f"found no digits in {name}: {err}", source, "no digits"
        ) from err
    flat = _flatten_lighting(white)
    mask = flat > threshold_otsu(flat)
    contrast = float(np.percentile(flat[mask], 90) - np.median(flat[~mask])) if mask.any() else 0.0
    if contrast < MIN_CONTRAST:
        raise HandwritingInputError(
            f"found no digits in {name}: the ink is too faint (contrast {contrast:.2f}); use a dark "
            "pen and even light",
            source,
            "no digits",
        )
    return flat, mask, factor, inverted


def _digit_blobs(labels: np.ndarray, scale: float, rejected: list[dict]) -> tuple[list, list]:
    """Return ``(boxes, members)`` of the digits among the labelled blobs: pieces of a broken digit
    merged, specks and bits of ruled lines appended to ``rejected`` with their reason."""
    from skimage.measure import regionprops

    blobs = []
    for region in regionprops(labels):
        if _line_piece(_box(region), scale):
            rejected.append({**dict(zip(BOX_COLUMNS, _box(region))), "reason": "ruled line"})
        else:
            blobs.append(region)
    groups = _merge_pieces([_box(r) for r in blobs], scale) if blobs else []
    boxes, members = [], []
    for group in groups:
        box = [
            min(blobs[i].bbox[0] for i in group),
            min(blobs[i].bbox[1] for i in group),
            max(blobs[i].bbox[2] for i in group),
            max(blobs[i].bbox[3] for i in group),
        ]
        if _is_small(box, scale) or _line_piece(box, scale):
            reason = "speck" if _is_small(box, scale) else "ruled line"
            rejected.append({**dict(zip(BOX_COLUMNS, box)), "reason": reason})
            continue
        boxes.append(box)
        members.append([blobs[i].label for i in group])
    return boxes, members


def _cut_out(flat: np.ndarray, own: np.ndarray, box: list, level: float, pad: int) -> np.ndarray:
    """Return the crop of one digit: only its own ink (``own``, the blob mask of ``box``), dilated by
    one pixel, scaled by the ink ``level`` to [0, 1], padded by ``pad`` (and to at least MIN_SIDE)."""
    from scipy import ndimage

    top, left, bottom, right = box
    own = ndimage.binary_dilation(np.pad(own, 1), structure=np.ones((3, 3), bool))
    window = np.pad(flat, 1)[top : bottom + 2, left : right + 2]
    crop = np.clip(window / level, 0.0, 1.0) * own
    grow = [max(pad - 1, (MIN_SIDE - n + 1) // 2) for n in crop.shape]
    return np.pad(crop, [(grow[0], grow[0]), (grow[1], grow[1])])


def _no_digits(
    name: str, source: Any, rejected_table: Any, every: bool = False
) -> HandwritingInputError:
    """Return the error for a sheet on which no digit is left, with what was rejected and what to do."""
    reasons = rejected_table["reason"].value_counts().to_dict()
    if every:
        return HandwritingInputError(
            f"found no digits in {name}: every blob was rejected ({reasons})", source, "no digits"
        )
    return HandwritingInputError(
        f"found no digits in {name} (rejected: {reasons or 'nothing'}): photograph the sheet "
        "from above, filling the frame, with dark digits clearly larger than specks of dust",
        source,
        "no digits",
    )


def segment_sheet(image: Any, source: Any = None, max_side: int = MAX_SIDE) -> SheetDigits:
    """Return the digits on a photo of a sheet (array or path), in reading order, as :class:`SheetDigits`.

    Steps: greyscale and white-on-black as for one digit (photos larger than ``max_side`` are
    worked on shrunk, boxes are given in the photo's own pixels); the lighting is flattened (grey
    opening); Otsu threshold; ruled lines (long straight runs) removed; connected components
    (``skimage.measure.label``); pieces of a broken digit merged; specks (small both ways) and
    leftover bits of lines rejected; reading order. Raises a :class:`HandwritingInputError` naming
    the file if no digit is found.
    """
    import pandas as pd
    from skimage.filters import threshold_otsu
    from skimage.measure import label

    source = image if source is None and not isinstance(image, np.ndarray) else source
    name = describe(source)
    flat, mask, factor, inverted = _sheet_ink(image, source, max_side)
    rejected: list[dict] = []
    mask, scale = _remove_ruled_lines(mask, flat > FAINT * threshold_otsu(flat), rejected)
    labels = label(mask, connectivity=2)
    kept_boxes, kept_members = _digit_blobs(labels, scale, rejected)
    if not kept_boxes:
        raise _no_digits(name, source, pd.DataFrame(rejected, columns=[*BOX_COLUMNS, "reason"]))
    order, rows = reading_order(np.array(kept_boxes), scale)
    level = float(np.percentile(flat[mask], 90))
    pad = max(2, int(round(0.15 * scale)))
    crops, images, found = [], [], []
    for k in order:
        top, left, bottom, right = kept_boxes[k]
        own = np.isin(labels[top:bottom, left:right], kept_members[k])
        crop = _cut_out(flat, own, kept_boxes[k], level, pad)
        try:
            images.append(to_mnist_style(crop, source=f"the blob at {kept_boxes[k]} of {name}"))
        except HandwritingInputError as err:  # e.g. too faint once cut out: listed, not dropped
            rejected.append({**dict(zip(BOX_COLUMNS, kept_boxes[k])), "reason": err.kind})
            continue
        crops.append(crop)
        found.append(k)
    rejected_table = pd.DataFrame(rejected, columns=[*BOX_COLUMNS, "reason"])
    if not found:
        raise _no_digits(name, source, rejected_table, every=True)
    rows = rows[np.isin(order, found)]
    boxes = np.array(kept_boxes, dtype=np.float64)[np.array(found, dtype=np.int64)]
    if factor < 1.0:
        boxes = np.round(boxes / factor)
        rejected_table[BOX_COLUMNS] = np.round(rejected_table[BOX_COLUMNS] / factor).astype(int)
    return SheetDigits(
        boxes=boxes.astype(np.int64),
        rows=rows,
        crops=crops,
        images=np.stack(images),
        rejected=rejected_table,
        inverted=inverted,
    )


def box_iou(a: Any, b: Any) -> float:
    """Return the intersection over union of two boxes ``(top, left, bottom, right)``."""
    top, left = max(a[0], b[0]), max(a[1], b[1])
    bottom, right = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, bottom - top) * max(0, right - left)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def match_to_truth(found: Any, truth: Any, min_iou: float = 0.5) -> np.ndarray:
    """Return, for each true box, the index of the found box that overlaps it best (IoU >= ``min_iou``), or -1."""
    found = np.asarray(found).reshape(-1, 4)
    matches = np.full(len(truth), -1, dtype=np.int64)
    for t, box in enumerate(truth):
        ious = [box_iou(box, f) for f in found]
        if ious and max(ious) >= min_iou:
            matches[t] = int(np.argmax(ious))
    return matches


@dataclasses.dataclass
class Reading:
    """What :func:`read_digits` returns: the photo, the digits found on it, and what the model read."""

    photo: np.ndarray
    found: SheetDigits
    predictions: np.ndarray
    confidences: np.ndarray


def read_digits(image: Any, model: Any, source: Any = None) -> Reading:
    """Return a :class:`Reading` of a photo (array or path) of a sheet, or of a single digit: the digits
    found by :func:`segment_sheet`, in reading order, and ``model``'s predicted digit and confidence for each."""
    from helpers import evaluation
    from helpers.handwriting.finetune import as_model_input
    from helpers.handwriting.images import read_image

    source = image if source is None and not isinstance(image, np.ndarray) else source
    photo = image if isinstance(image, np.ndarray) else read_image(image)[0]
    found = segment_sheet(photo, source=source)
    predictions, confidences = evaluation.predict_classes(model, as_model_input(found.images))
    return Reading(photo=photo, found=found, predictions=predictions, confidences=confidences)


def labels_of_found(found: SheetDigits, truth: Any, min_iou: float = 0.5) -> np.ndarray:
    """Return the true label of each digit found (the truth box it overlaps best, IoU >= ``min_iou``), -1 if none.

    ``truth`` is the list of a sheet's JSON (``synthetic.read_sheet_truth``): dicts with "label" and "box".
    """
    labels = np.full(len(found), -1, dtype=np.int64)
    for t, k in enumerate(match_to_truth(found.boxes, [d["box"] for d in truth], min_iou)):
        if k >= 0:
            labels[k] = int(truth[t]["label"])
    return labels


def score_sheet(reading: Reading, truth: Any) -> dict[str, Any]:
    """Return how a reading of a sheet compares with its truth: digits on it, found, found in reading order,
    extra boxes, read correctly, and accuracy = read correctly / digits on the sheet (a missed digit counts as wrong)."""
    matches = match_to_truth(reading.found.boxes, [d["box"] for d in truth])
    found = matches[matches >= 0]
    correct = sum(
        int(reading.predictions[k] == truth[t]["label"]) for t, k in enumerate(matches) if k >= 0
    )
    return {
        "digits": len(truth),
        "found": int(len(found)),
        "in reading order": bool(len(found) == len(truth) and np.all(np.diff(found) > 0)),
        "extra boxes": int(len(reading.found) - len(set(found.tolist()))),
        "read correctly": int(correct),
        "accuracy": correct / len(truth) if len(truth) else float("nan"),
    }
