"""Notebook 07's exercise checks: the solution passes, typical mistakes get a message naming them."""

import math

import numpy as np
import pytest

from helpers import sr
from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed


# ----------------------------------------------------------------------------- rgb_to_y
def _y(image, coefficients=(65.481, 128.553, 24.966), offset=16.0, unit=255.0):
    rgb = np.asarray(image, dtype=np.float64) / unit
    return offset + rgb @ np.array(coefficients)


def test_rgb_to_y_solution_passes():
    def rgb_to_y(image):
        rgb = image / 255.0
        return 16 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]

    checks.run("07.rgb_to_y", {"rgb_to_y": rgb_to_y})


@pytest.mark.parametrize(
    ("rgb_to_y", "match"),
    [
        (lambda image: _y(image, unit=1.0), "divide the uint8 pixels by 255.0"),
        (lambda image: _y(image, offset=0.0), "offset 16 is missing"),
        (
            lambda image: 255 * _y(image, (0.299, 0.587, 0.114), offset=0.0),
            "full-range luma",
        ),
        (lambda image: _y(image[..., ::-1]), "red and blue are swapped"),
        (lambda image: np.round(_y(image)).astype(np.uint8), "rounded"),
        (lambda image: _y(image)[..., None], r"found shape \(1, 5, 1\)"),
        (lambda image: _y(image).astype(np.float32), "dtype float32"),
    ],
    ids=["no /255", "no offset", "full range", "BGR", "rounded", "channel axis", "float32"],
)
def test_rgb_to_y_mistakes_are_named(rgb_to_y, match):
    with pytest.raises(CheckFailed, match=match):
        checks.run("07.rgb_to_y", {"rgb_to_y": rgb_to_y})


def test_rgb_to_y_missing_function():
    with pytest.raises(CheckFailed, match="no function called `rgb_to_y`"):
        checks.run("07.rgb_to_y", {})


# ----------------------------------------------------------------------------- psnr_y
def _psnr(reference, restored, shave, y=sr.rgb_to_y, peak=255.0, top_left_only=False):
    a, b = y(reference), y(restored)
    if shave:
        end = None if top_left_only else -shave
        a, b = a[shave:end, shave:end], b[shave:end, shave:end]
    mse = np.mean((np.asarray(a, dtype=np.float64) - b) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def test_psnr_y_solution_passes():
    def psnr_y(reference, restored, shave):
        a, b = sr.rgb_to_y(reference), sr.rgb_to_y(restored)
        h, w = a.shape
        a = a[shave : h - shave, shave : w - shave]
        b = b[shave : h - shave, shave : w - shave]
        mse = np.mean((a - b) ** 2)
        if mse == 0:
            return float("inf")
        return 10 * np.log10(255**2 / mse)

    checks.run("07.psnr_y", {"psnr_y": psnr_y})


def _rgb(image):
    return np.asarray(image, dtype=np.float64)


@pytest.mark.parametrize(
    ("psnr_y", "match"),
    [
        (lambda a, b, s: _psnr(a, b, 0), "no border was shaved"),
        (lambda a, b, s: _psnr(a, b, s, y=_rgb), "PSNR of the RGB pixels"),
        (lambda a, b, s: _psnr(a, b, s, peak=1.0), "the peak is 1.0"),
        (lambda a, b, s: _psnr(a, b, s, top_left_only=True), "top and left sides only"),
        (lambda a, b, s: _psnr(a, b, s, y=lambda i: sr.rgb_to_y(i) / 255), "divided by 255"),
        (lambda a, b, s: _psnr(a, b, s) if s else math.nan, "y\\[0:-0\\] is an empty array"),
        (lambda a, b, s: 10 * math.log10(255**2 / np.mean((a - b) ** 2)), "raised|found"),
        (lambda a, b, s: [_psnr(a, b, s)] * 3, "expected one number"),
    ],
    ids=["no shave", "RGB", "peak 1", "top-left shave", "Y/255", "shave 0", "uint8", "list"],
)
def test_psnr_y_mistakes_are_named(psnr_y, match):
    with pytest.raises(CheckFailed, match=match):
        checks.run("07.psnr_y", {"psnr_y": psnr_y})


def test_psnr_y_identical_images_must_give_infinity():
    def psnr_y(reference, restored, shave):
        a = sr.rgb_to_y(reference)[shave : -shave or None, shave : -shave or None]
        b = sr.rgb_to_y(restored)[shave : -shave or None, shave : -shave or None]
        return 10 * math.log10(255**2 / float(np.mean((a - b) ** 2)))  # ZeroDivisionError

    with pytest.raises(CheckFailed, match="ZeroDivisionError"):
        checks.run("07.psnr_y", {"psnr_y": psnr_y})


def test_psnr_y_missing_function():
    with pytest.raises(CheckFailed, match="no function called `psnr_y`"):
        checks.run("07.psnr_y", {})


# ----------------------------------------------------------------------------- modcrop
def test_modcrop_solution_passes():
    def modcrop(image, scale):
        h, w = image.shape[:2]
        return image[: h - h % scale, : w - w % scale]

    checks.run("07.modcrop", {"modcrop": modcrop})


def _top_left_cut(image, scale):
    h, w = image.shape[:2]
    return image[h % scale :, w % scale :]


def _negative_slice(image, scale):
    h, w = image.shape[:2]
    return image[: -(h % scale), : -(w % scale)]


@pytest.mark.parametrize(
    ("modcrop", "match"),
    [
        (lambda image, scale: image[::scale, ::scale], "size of the shrunk image"),
        (_top_left_cut, "keep the top-left corner"),
        (_negative_slice, r"image\[:-0\] is empty"),
        (lambda image, scale: image[: image.shape[0] // scale * scale, :, :], "found shape"),
        (
            lambda image, scale: image[
                : len(image) - len(image) % scale, : image.shape[1] - image.shape[1] % scale, :
            ],
            "raised IndexError.*grey image has no channel axis",
        ),
    ],
    ids=["shrunk", "cut top-left", "[:-0]", "rows only", "RGB only"],
)
def test_modcrop_mistakes_are_named(modcrop, match):
    with pytest.raises(CheckFailed, match=match):
        checks.run("07.modcrop", {"modcrop": modcrop})


def test_modcrop_missing_function():
    with pytest.raises(CheckFailed, match="no function called `modcrop`"):
        checks.run("07.modcrop", {})
