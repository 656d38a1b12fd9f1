"""The checks of notebook 05's exercises (``checks.run("05.to_mnist_polarity", globals())``).

Two steps of the MNIST-style pipeline, each tested on tiny synthetic images whose answer is known
by hand: the polarity (white ink on black, in [0, 1]) and the placement in the 28x28 frame (crop to
the ink, centre of mass at (14, 14), clamped so that no ink is cut). The feedback says which part of
the step is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import CheckFailed, check_close, check_shape, expect

# --------------------------------------------------------------------------- 05.to_mnist_polarity


def _photo(paper: int, ink: int):
    """A 6x7 uint8 'photo': ``paper`` everywhere, an L-shaped stroke of ``ink`` inside."""
    import numpy as np

    image = np.full((6, 7), paper, dtype=np.uint8)
    image[1:5, 2] = ink
    image[4, 2:5] = ink
    return image


def _polarity_case(fn, name: str, image, invert: bool, describe: str) -> None:
    import numpy as np

    before = image.copy()
    call = f"to_mnist_polarity({name})"
    got = fn(image)
    expect(
        np.array_equal(image, before),
        f"{call} changed the image it was given; leave the input unchanged "
        "(compute a new array, e.g. image / 255.0, instead of writing into image).",
    )
    got = np.asarray(got)
    check_shape(call, got, image.shape, hint="return an image of the same shape as the input.")
    scaled = image.astype(np.float64) / 255.0
    expected = 1.0 - scaled if invert else scaled
    if float(np.max(got)) > 1.0 + 1e-6:
        raise CheckFailed(
            f"{call}: found values up to {float(np.max(got)):g}; expected values in [0, 1]. "
            "Hint: divide by 255.0 (after or before inverting: 255 - x becomes 1 - x / 255)."
        )
    if not np.allclose(got, expected, atol=1e-6):
        if invert and np.allclose(got, scaled, atol=1e-6):
            raise CheckFailed(
                f"{call}: {describe} was not inverted; its ink stayed dark. Hint: the border "
                "pixels (first and last rows and columns) are lighter on average than the whole "
                "image, so the paper is light: return 1 - x."
                + (
                    " Compare the border with the image's own mean, not with a fixed level "
                    "such as 0.5 or 128: a photo taken in dim light has grey paper."
                    if "dim" in describe
                    else ""
                )
            )
        if not invert and np.allclose(got, 1.0 - scaled, atol=1e-6):
            raise CheckFailed(
                f"{call}: {describe} was inverted, so its ink became dark. Hint: invert only when "
                "the border is lighter on average than the whole image; an image that already "
                "has light ink on a dark background is returned as x / 255."
            )
        check_close(
            call,
            got,
            expected,
            atol=1e-6,
            hint=f"{describe}: expected {'1 - x / 255' if invert else 'x / 255'}.",
        )
    expect(
        got.dtype == np.float32,
        f"{call} returned dtype {got.dtype}; expected float32, the dtype Keras works in. "
        "Hint: .astype(np.float32).",
    )


@register("05.to_mnist_polarity")
def _to_mnist_polarity(namespace: Mapping[str, Any]) -> None:
    fn = lookup(namespace, "to_mnist_polarity")
    _polarity_case(
        fn,
        "dark ink 40 on light paper 200",
        _photo(200, 40),
        True,
        "a photo of dark ink on light paper",
    )
    _polarity_case(
        fn,
        "light ink 250 on dark background 10",
        _photo(10, 250),
        False,
        "an image that is already white on black",
    )
    _polarity_case(
        fn,
        "dark ink 20 on dim paper 100",
        _photo(100, 20),
        True,
        "a dim photo (grey paper 100, ink 20)",
    )


# --------------------------------------------------------------------------- 05.center_by_mass

SIZE = 28
CENTRE = 14


def _ink(shape, top: int, left: int, patch):
    """A float image of ``shape``, black, with ``patch`` pasted at (top, left)."""
    import numpy as np

    image = np.zeros(shape)
    patch = np.asarray(patch, dtype=float)
    image[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return image


# A 4x6 patch of ink whose bounding box touches its four sides. Its centre of mass, weighted by the
# grey levels, is at (1.42, 3.33): it goes to top 13, left 11. The usual mistakes put it elsewhere:
# every ink pixel weighted 1 (centre (1.75, 3.0)) at (12, 11); rows and columns swapped at (11, 13);
# the target 13.5 or 13 instead of 14 at (12, 10); the bounding box centred at (12, 12).
_PATCH = [
    [0.0, 0.0, 1.0, 0.0, 0.2, 1.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    [0.2, 0.0, 0.2, 1.0, 0.2, 0.0],
]


def _place(patch, top: int, left: int):
    """A 28x28 black frame with ``patch`` at (top, left)."""
    return _ink((SIZE, SIZE), top, left, patch)


def _reference(image, weights=None, centre=(CENTRE, CENTRE), swap=False, clamp=True):
    """The exercise's answer, or a typical mistake: binary weights, another centre, swapped axes,
    no clamping. Returns None if the mistake cannot be placed (the ink would leave the frame)."""
    import numpy as np

    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    mass = crop if weights is None else weights(crop)
    r = float((mass.sum(axis=1) * np.arange(h)).sum() / mass.sum())
    c = float((mass.sum(axis=0) * np.arange(w)).sum() / mass.sum())
    if swap:
        r, c = c, r
    top, left = round(centre[0] - r), round(centre[1] - c)
    if clamp:
        top, left = min(max(top, 0), SIZE - h), min(max(left, 0), SIZE - w)
    if top < 0 or left < 0 or top + h > SIZE or left + w > SIZE:
        return None
    return _place(crop, top, left)


def _where(image) -> str:
    """'top-left corner of the ink at (r, c), centre of mass at (r, c)'."""
    import numpy as np

    if not np.any(image):
        return "no ink at all"
    rows, cols = np.nonzero(image)
    total = float(image.sum())
    com = (
        float((image.sum(axis=1) * np.arange(image.shape[0])).sum() / total),
        float((image.sum(axis=0) * np.arange(image.shape[1])).sum() / total),
    )
    return (
        f"the ink's bounding box starts at (row {rows.min()}, column {cols.min()}) and its centre "
        f"of mass is at ({com[0]:.2f}, {com[1]:.2f})"
    )


def _centre_case(fn, name: str, image) -> None:
    import numpy as np

    before = image.copy()
    call = f"center_by_mass({name})"
    try:
        got = fn(image)
    except (IndexError, ValueError) as error:
        raise CheckFailed(
            f"{call} raised {type(error).__name__}: {error}. Hint: if round(14 - r) or "
            "round(14 - c) would put ink outside the frame, clamp top to [0, 28 - h] and left to "
            "[0, 28 - w] before pasting."
        ) from None
    expect(
        np.array_equal(image, before),
        f"{call} changed the image it was given; leave the input unchanged "
        "(paste the crop into a new np.zeros((28, 28)) frame).",
    )
    got = np.asarray(got, dtype=float)
    check_shape(
        call,
        got,
        (SIZE, SIZE),
        hint="return a new 28x28 frame, whatever the size of the input: crop the ink's bounding "
        "box first, then paste it into np.zeros((28, 28)).",
    )
    expected = _reference(image)
    if np.allclose(got, expected):
        return
    ink, ink_expected = float(got.sum()), float(image.sum())
    if not np.isclose(ink, ink_expected):
        raise CheckFailed(
            f"{call}: the result holds ink {ink:g} in all (the sum of its pixels); the input "
            f"held {ink_expected:g}. Hint: the bounding box includes its last row and column: "
            "crop image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], and paste that crop "
            "unchanged (no resizing, no rescaling)."
        )
    found = f"{call}: {_where(got)}; expected {_where(expected)}."
    mistakes = [
        (
            _reference(image, weights=lambda crop: (crop > 0).astype(float)),
            "you weighted every ink pixel by 1; the centre of mass weights each pixel by its "
            "grey level (r = sum(row * value) / sum(value)).",
        ),
        (
            _reference(image, swap=True),
            "rows and columns are swapped: r (the row of the centre of mass) decides top, c (the "
            "column) decides left.",
        ),
        (
            _reference(image, clamp=False),
            "the ink must stay in the frame: clamp top to [0, 28 - h] and left to [0, 28 - w].",
        ),
        (
            _reference(image, centre=(13.5, 13.5)),
            "the target is pixel (14, 14), where MNIST puts the centre of mass: top = "
            "round(14 - r), not round(13.5 - r) or round(13 - r).",
        ),
        (
            _reference(image, centre=(13, 13)),
            "the target is pixel (14, 14), where MNIST puts the centre of mass: top = "
            "round(14 - r), not round(13.5 - r) or round(13 - r).",
        ),
    ]
    for candidate, hint in mistakes:
        if candidate is not None and np.allclose(got, candidate):
            raise CheckFailed(f"{found} Hint: {hint}")
    rows, cols = np.nonzero(image)
    crop = image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    geometric = _place(crop, round(CENTRE - (h - 1) / 2), round(CENTRE - (w - 1) / 2))
    hint = (
        "you centred the bounding box; the exercise centres the centre of mass of the ink "
        "(weighted by the grey levels): top = round(14 - r), left = round(14 - c)."
        if np.allclose(got, geometric)
        else "top = round(14 - r) and left = round(14 - c), with (r, c) the centre of mass of "
        "the crop (row and column indices weighted by the grey levels), clamped to keep the ink "
        "in the frame."
    )
    raise CheckFailed(f"{found} Hint: {hint}")


@register("05.center_by_mass")
def _center_by_mass(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "center_by_mass")
    # 1. A 40x50 photo with the patch near its top right: crop, then centre of mass to (14, 14).
    _centre_case(fn, "a 40x50 image, a 4x6 digit at (3, 40)", _ink((40, 50), 3, 40, _PATCH))
    # 2. A 28x28 frame with the same patch in its bottom-left corner.
    _centre_case(fn, "a 28x28 image, the same digit at (24, 0)", _place(_PATCH, 24, 0))
    # 3. A tall stroke heavy at its bottom (r = 17.70): round(14 - r) = -4, clamped to top 0.
    tall = np.full((24, 3), 0.1)
    tall[-5:, :] = 1.0
    _centre_case(fn, "a 24x3 stroke heavy at its bottom", _ink((30, 30), 3, 20, tall))
