"""The checks of notebook 07's exercises (``checks.run("07.psnr_y", globals())``).

The super-resolution protocol by hand: the BT.601 luma Y, the Y-PSNR with a border shave, and the
crop of an image to a multiple of the scale. Each check runs the student's function on small
hand-made images and compares it with the kit's own :mod:`helpers.sr` functions; when a result
matches a typical mistake (RGB instead of Y, no shave, the wrong peak, ...), the message names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import CheckFailed, check_close, check_equal, check_shape, expect


def _call(label: str, fn: Any, *args: Any, hint: str | None = None) -> Any:
    """``fn(*args)``, or a :class:`CheckFailed` naming the call and the exception it raised."""
    import numpy as np

    try:
        with np.errstate(all="ignore"):
            return fn(*args)
    except CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported
        message = f"{label} raised {type(err).__name__}: {err}."
        raise CheckFailed(f"{message} Hint: {hint}" if hint else message) from None


def _scalar(label: str, value: Any) -> float:
    """``value`` as a float, or a :class:`CheckFailed` if it is not one number."""
    import numpy as np

    arr = np.asarray(value)
    expect(
        arr.size == 1 and np.issubdtype(arr.dtype, np.number),
        f"{label} returned {value!r}; expected one number (the PSNR in dB).",
        hint="average the squared differences over all pixels with np.mean, then take 10 * log10.",
    )
    return float(arr)


# ----------------------------------------------------------------------------- 07.rgb_to_y
@register("07.rgb_to_y")
def _rgb_to_y(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "rgb_to_y")
    # one row of five pixels: black, white, pure red, pure green, pure blue
    image = np.array(
        [[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8
    )
    label = "rgb_to_y(black, white, red, green, blue pixels)"
    before = image.copy()
    got = _call(label, fn, image)
    expect(
        np.array_equal(image, before),
        "rgb_to_y changed its input image; compute on a converted copy "
        "(image / 255.0 makes a new float array) instead of writing into the image.",
    )
    got = np.asarray(got)
    check_shape(
        label,
        got,
        (1, 5),
        hint="return one Y value per pixel, shape (height, width), without a channel axis: "
        "combine the three channels of image[..., 0], image[..., 1], image[..., 2].",
    )
    expected = np.array([[16.0, 235.0, 81.481, 144.553, 40.966]])
    mistakes = [
        (
            "the values are those of 0..255 pixels put into the formula: divide the uint8 "
            "pixels by 255.0 first (the formula takes R, G, B in [0, 1])",
            16.0 + np.array([[0.0, 219.0, 65.481, 128.553, 24.966]]) * 255.0,
        ),
        (
            "the offset 16 is missing: Y = 16 + 65.481 R + 128.553 G + 24.966 B (black is 16, "
            "white 235)",
            expected - 16.0,
        ),
        (
            "this is the full-range luma (0.299 R + 0.587 G + 0.114 B) * 255, from 0 to 255; "
            "the kit uses BT.601 studio swing, Y = 16 + 65.481 R + 128.553 G + 24.966 B",
            np.array([[0.0, 255.0, 76.245, 149.685, 29.07]]),
        ),
        (
            "red and blue are swapped: the last axis holds R, G, B in that order "
            "(image[..., 0] is R, image[..., 2] is B)",
            np.array([[16.0, 235.0, 40.966, 144.553, 81.481]]),
        ),
        (
            "the values are rounded: keep Y as float64, unrounded (81.481 for pure red, not 81)",
            np.round(expected),
        ),
    ]
    for message, candidate in mistakes:
        if np.allclose(got, candidate, atol=1e-3) and not np.allclose(got, expected, atol=1e-3):
            raise CheckFailed(f"{label}: found {got.round(3).tolist()}; {message}.")
    check_close(
        label,
        got,
        expected,
        rtol=1e-6,
        atol=1e-6,
        hint="Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B = image[..., 0..2] / 255.0.",
    )
    expect(
        got.dtype == np.float64,
        f"rgb_to_y returned dtype {got.dtype}; expected float64 (as the kit computes Y): "
        "divide by 255.0 without converting to float32 or to an integer type.",
    )


# ----------------------------------------------------------------------------- 07.psnr_y
def _psnr_images() -> tuple[Any, Any]:
    """A 10x12 reference and a restored copy: small errors inside, large ones on a 2-px border."""
    import numpy as np

    rng = np.random.default_rng(7)
    reference = rng.integers(20, 236, size=(10, 12, 3)).astype(np.uint8)
    noise = rng.integers(-6, 7, size=reference.shape)
    border = np.ones(reference.shape[:2], dtype=bool)
    border[2:-2, 2:-2] = False
    noise[border] += 18  # border errors: what the shave leaves out
    restored = np.clip(reference.astype(int) + noise, 0, 255).astype(np.uint8)
    return reference, restored


def _psnr_from(a: Any, b: Any, peak: float = 255.0) -> float:
    import numpy as np

    mse = float(np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


@register("07.psnr_y")
def _psnr_y(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    from helpers import sr

    fn = lookup(namespace, "psnr_y")
    reference, restored = _psnr_images()
    shave = 2
    label = "psnr_y(reference, restored, shave=2) on two 10x12 images"
    before = (reference.copy(), restored.copy())
    got = _scalar(label, _call(label, fn, reference, restored, shave))
    expect(
        np.array_equal(reference, before[0]) and np.array_equal(restored, before[1]),
        "psnr_y changed one of its input images; compute on the Y channels (new arrays) instead.",
    )
    expected = sr.psnr_y(reference, restored, shave)
    y_ref, y_res = sr.rgb_to_y(reference), sr.rgb_to_y(restored)
    inner = (slice(shave, -shave), slice(shave, -shave))
    mse = float(np.mean((y_ref[inner] - y_res[inner]) ** 2))
    mistakes = [
        (
            "that is the PSNR of the whole images: no border was shaved. Cut `shave` pixels "
            "from every side of both Y channels, y[shave:h - shave, shave:w - shave]",
            _psnr_from(y_ref, y_res),
        ),
        (
            "that is the PSNR of the RGB pixels; the protocol measures the Y channel only: convert "
            "both images with rgb_to_y first",
            _psnr_from(reference[inner], restored[inner]),
        ),
        (
            "that is the PSNR of the whole RGB images: convert both with rgb_to_y, then shave the "
            "border",
            _psnr_from(reference, restored),
        ),
        (
            "the border was cut on the top and left sides only: shave `shave` pixels from all "
            "four sides, y[shave:h - shave, shave:w - shave]",
            _psnr_from(y_ref[shave:, shave:], y_res[shave:, shave:]),
        ),
        (
            "the peak is 1.0; Y runs over 0..255 here, so the peak is 255: "
            "PSNR = 10 log10(255**2 / MSE)",
            _psnr_from(y_ref[inner], y_res[inner], peak=1.0),
        ),
        (
            "the peak is not squared: PSNR = 10 log10(255**2 / MSE), not 10 log10(255 / MSE)",
            10.0 * math.log10(255.0 / mse),
        ),
        (
            "the Y values were divided by 255 while the peak stayed 255: keep Y in 0..255 "
            "(as rgb_to_y returns it) with peak 255",
            _psnr_from(y_ref[inner] / 255.0, y_res[inner] / 255.0),
        ),
        (
            "that is the MSE, not the PSNR: return 10 * log10(255**2 / MSE)",
            mse,
        ),
        (
            "20 log10 of the ratio was used on the squared error: PSNR = 10 log10(255**2 / MSE) "
            "(or 20 log10(255 / RMSE))",
            20.0 * math.log10(255.0**2 / mse),
        ),
    ]
    for message, candidate in mistakes:
        if math.isclose(got, candidate, rel_tol=1e-6) and not math.isclose(
            got, expected, rel_tol=1e-6
        ):
            raise CheckFailed(
                f"{label}: found {got:.4f} dB; expected {expected:.4f} dB; {message}."
            )
    check_close(
        label,
        got,
        expected,
        rtol=1e-6,
        hint="convert both images with your rgb_to_y (its check must pass), shave `shave` pixels "
        "at every border, MSE = np.mean((y1 - y2) ** 2) in float64 (a difference of uint8 "
        "arrays wraps around), PSNR = 10 log10(255**2 / MSE).",
    )

    label0 = "psnr_y(reference, restored, shave=0)"
    got0 = _scalar(label0, _call(label0, fn, reference, restored, 0))
    expect(
        not math.isnan(got0),
        f"{label0}: found nan; with shave=0 nothing is cut, but y[0:-0] is an empty array (-0 is 0). "
        "Slice with y[shave:h - shave, shave:w - shave], using the height h and width w.",
    )
    check_close(label0, got0, sr.psnr_y(reference, restored, 0), rtol=1e-6)

    label_same = "psnr_y(reference, reference, shave=2) (identical images)"
    same = _scalar(label_same, _call(label_same, fn, reference, reference.copy(), shave))
    expect(
        math.isinf(same) and same > 0,
        f"{label_same}: found {same}; identical images have MSE 0 and a PSNR of infinity: "
        "return math.inf (or float('inf')) when the MSE is 0.",
    )


# ----------------------------------------------------------------------------- 07.modcrop
@register("07.modcrop")
def _modcrop(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "modcrop")
    image = np.arange(7 * 10 * 3, dtype=np.uint8).reshape(7, 10, 3)
    label = "modcrop(image of 7x10 pixels, 3)"
    before = image.copy()
    got = np.asarray(_call(label, fn, image, 3))
    expect(
        np.array_equal(image, before),
        "modcrop changed its input image; return a slice (or a copy) instead.",
    )
    if got.shape[:2] in {(2, 3), (3, 4)}:  # 7 // 3 x 10 // 3, or every third pixel
        raise CheckFailed(
            f"{label}: found shape {got.shape}, the size of the shrunk image; modcrop keeps the "
            "full resolution and only cuts the leftover rows and columns: height 7 -> 6, width "
            "10 -> 9, so h - h % scale, not h // scale."
        )
    check_shape(
        label,
        got,
        (6, 9, 3),
        hint="cut h % scale rows and w % scale columns: image[:h - h % scale, :w - w % scale].",
    )
    expect(
        np.array_equal(got, image[:6, :9]),
        f"{label}: the shape (6, 9, 3) is right but the pixels are not those of image[:6, :9]; "
        "keep the top-left corner: cut the leftover rows at the bottom and the leftover columns "
        "at the right, image[:h - h % scale, :w - w % scale], as the kit does.",
    )

    whole = np.arange(6 * 10 * 3, dtype=np.uint8).reshape(6, 10, 3)  # the height divides by 3
    label_whole = "modcrop(image of 6x10 pixels, 3)"
    got_whole = np.asarray(_call(label_whole, fn, whole, 3))
    if got_whole.size == 0:
        raise CheckFailed(
            f"{label_whole}: found an empty array of shape {got_whole.shape}; the height 6 already "
            "divides by 3 and must stay whole, but image[:-0] is empty (-0 is 0): slice with "
            "image[:h - h % scale, :w - w % scale]."
        )
    check_shape(label_whole, got_whole, (6, 9, 3))
    check_equal(label_whole, got_whole, whole[:6, :9])

    grey = np.arange(25, dtype=np.uint8).reshape(5, 5)
    label_grey = "modcrop(grey image of 5x5 pixels, 2)"
    grey_hint = (
        "a grey image has no channel axis: read h, w = image.shape[:2] and slice only the "
        "first two axes, so the function works for both."
    )
    got_grey = np.asarray(_call(label_grey, fn, grey, 2, hint=grey_hint))
    check_shape(label_grey, got_grey, (4, 4), hint=grey_hint)
    check_equal(label_grey, got_grey, grey[:4, :4])
