"""Notebook 05's exercise checks: the solution passes, and typical mistakes get feedback that names them."""

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed

# --------------------------------------------------------------------------- 05.to_mnist_polarity


def to_mnist_polarity(image):
    x = np.asarray(image, dtype=np.float32) / 255.0
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    return 1.0 - x if border.mean() > x.mean() else x


def test_to_mnist_polarity_solution_passes(capsys):
    checks.run("05.to_mnist_polarity", {"to_mnist_polarity": to_mnist_polarity})
    assert "all checks passed" in capsys.readouterr().out


def test_to_mnist_polarity_agrees_with_the_kit_on_a_rendered_photo():
    from helpers import handwriting

    grey = handwriting.to_grey(
        handwriting.render_digit_photo(np.eye(8) * 16, np.random.default_rng(0))
    )
    u8 = np.round(grey * 255).astype(np.uint8)
    assert np.allclose(to_mnist_polarity(u8), handwriting.to_white_on_black(grey)[0], atol=1 / 255)


def test_to_mnist_polarity_unscaled_values_are_named():
    def unscaled(image):
        return (255 - image.astype(np.float32)).astype(np.float32)

    with pytest.raises(CheckFailed, match=r"values up to 2\d\d.*divide by 255"):
        checks.run("05.to_mnist_polarity", {"to_mnist_polarity": unscaled})


def test_to_mnist_polarity_always_inverting_is_named():
    def always(image):
        return (1.0 - image / 255.0).astype(np.float32)

    with pytest.raises(CheckFailed, match="already white on black was inverted"):
        checks.run("05.to_mnist_polarity", {"to_mnist_polarity": always})


def test_to_mnist_polarity_fixed_threshold_is_named():
    def fixed_level(image):
        x = image.astype(np.float32) / 255.0
        border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
        return 1.0 - x if border.mean() > 0.5 else x

    with pytest.raises(CheckFailed, match="dim photo.*was not inverted.*not with a fixed level"):
        checks.run("05.to_mnist_polarity", {"to_mnist_polarity": fixed_level})


def test_to_mnist_polarity_wrong_dtype_in_place_and_missing():
    def float64(image):
        return to_mnist_polarity(image).astype(np.float64)

    with pytest.raises(CheckFailed, match="dtype float64; expected float32"):
        checks.run("05.to_mnist_polarity", {"to_mnist_polarity": float64})

    def in_place(image):
        image[:] = 255 - image
        return image.astype(np.float32) / 255

    with pytest.raises(CheckFailed, match="changed the image it was given"):
        checks.run("05.to_mnist_polarity", {"to_mnist_polarity": in_place})
    with pytest.raises(CheckFailed, match="no function called `to_mnist_polarity`"):
        checks.run("05.to_mnist_polarity", {})


# --------------------------------------------------------------------------- 05.center_by_mass


def center_by_mass(image, clamp=True, binary=False, swap=False, target=14, crop_end=1):
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    crop = image[rows[0] : rows[-1] + crop_end, cols[0] : cols[-1] + crop_end]
    h, w = crop.shape
    mass = (crop > 0).astype(float) if binary else crop
    r = (mass.sum(axis=1) * np.arange(h)).sum() / mass.sum()
    c = (mass.sum(axis=0) * np.arange(w)).sum() / mass.sum()
    if swap:
        r, c = c, r
    top, left = round(target - r), round(target - c)
    if clamp:
        top, left = min(max(top, 0), 28 - h), min(max(left, 0), 28 - w)
    frame = np.zeros((28, 28))
    frame[top : top + h, left : left + w] = crop
    return frame


def _run(fn):
    checks.run("05.center_by_mass", {"center_by_mass": fn})


def test_center_by_mass_solution_passes_and_matches_the_kit(capsys):
    from helpers import handwriting

    _run(center_by_mass)
    assert "all checks passed" in capsys.readouterr().out
    dense = np.random.default_rng(0).uniform(0.1, 1.0, (20, 13))
    assert np.allclose(center_by_mass(dense), handwriting.paste_centred(dense))


def test_center_by_mass_hand_made_answer():
    from helpers.kit.assign.course import nb05

    patch = np.array(nb05._PATCH)
    got = center_by_mass(nb05._ink((40, 50), 3, 40, patch))
    assert np.array_equal(got[13:17, 11:17], patch) and np.isclose(got.sum(), patch.sum())


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (dict(binary=True), "weighted every ink pixel by 1"),
        (dict(swap=True), "rows and columns are swapped"),
        (dict(target=13), r"round\(14 - r\), not round\(13.5 - r\)"),
        (dict(crop_end=0), "bounding box includes its last row and column"),
        (dict(clamp=False), "clamp top to"),
    ],
)
def test_center_by_mass_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        _run(lambda image: center_by_mass(image, **mistake))


def test_center_by_mass_bounding_box_centred_is_named():
    def geometric(image):
        rows, cols = np.nonzero(image)
        crop = image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        h, w = crop.shape
        top, left = round(14 - (h - 1) / 2), round(14 - (w - 1) / 2)
        frame = np.zeros((28, 28))
        frame[top : top + h, left : left + w] = crop
        return frame

    with pytest.raises(CheckFailed, match="you centred the bounding box"):
        _run(geometric)


def test_center_by_mass_no_crop_and_missing_function():
    def no_crop(image):
        return image  # a 40x50 image comes back 40x50

    with pytest.raises(CheckFailed, match=r"found shape \(40, 50\); expected \(28, 28\)"):
        _run(no_crop)
    with pytest.raises(CheckFailed, match="no function called `center_by_mass`"):
        checks.run("05.center_by_mass", {})
