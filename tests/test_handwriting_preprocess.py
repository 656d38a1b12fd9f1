"""helpers.handwriting preprocessing on hand-made arrays: greyscale, inversion, background removal,
crop, 20-px box, centre of mass, stroke thickening, the report's plain resize, and bad images."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from helpers import handwriting as hw
from helpers.handwriting import preprocess


def ink_on_paper(ink: np.ndarray, paper: float = 0.9, pen: float = 0.15) -> np.ndarray:
    """Return a float photo in [0, 1]: dark pen where ink is 1, light paper where it is 0."""
    return paper - (paper - pen) * ink


def block_digit(shape=(60, 50), rows=(10, 50), cols=(15, 25)) -> np.ndarray:
    """Return an ink map (1 = ink) holding one solid bar: a crude '1'."""
    ink = np.zeros(shape)
    ink[rows[0] : rows[1], cols[0] : cols[1]] = 1.0
    return ink


def l_shape(shape=(64, 64)) -> np.ndarray:
    """Return an ink map of an 'L' whose centre of mass is far from its box centre."""
    ink = np.zeros(shape)
    ink[8:56, 10:20] = 1.0  # the upright
    ink[46:56, 10:50] = 1.0  # the foot
    return ink


# ----------------------------------------------------------------------------- greyscale and inversion
def test_greyscale_scales_each_dtype_to_0_1():
    grey8 = np.full((10, 10), 51, np.uint8)
    grey16 = np.full((10, 10), 13107, np.uint16)  # 0.2 * 65535
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 1] = 255  # pure green: luminance 0.7152 (BT.709 weights)
    np.testing.assert_allclose(hw.to_grey(grey8), 0.2)
    np.testing.assert_allclose(hw.to_grey(grey16), 0.2)
    np.testing.assert_allclose(hw.to_grey(rgb), 0.7152, atol=1e-3)
    np.testing.assert_allclose(hw.to_grey(np.full((9, 9), 0.25)), 0.25)


def test_transparent_background_becomes_paper_opposite_to_the_ink():
    rgba = np.zeros((20, 20, 4), np.uint8)  # black everywhere, transparent except the stroke
    rgba[5:15, 8:12, 3] = 255
    grey = hw.to_grey(rgba)
    assert grey[0, 0] == pytest.approx(1.0) and grey[10, 10] == pytest.approx(0.0)
    rgba[..., :3] = 255  # white strokes on a transparent layer: paper becomes black
    grey = hw.to_grey(rgba)
    assert grey[0, 0] == pytest.approx(0.0) and grey[10, 10] == pytest.approx(1.0)


def test_inversion_decision_follows_the_paper_not_the_ink():
    photo = ink_on_paper(block_digit())
    white, inverted = hw.to_white_on_black(photo)
    assert inverted and white[0, 0] == pytest.approx(0.1) and white[30, 20] == pytest.approx(0.85)
    white, inverted = hw.to_white_on_black(
        1.0 - photo
    )  # chalk on a blackboard: already white on black
    assert not inverted and white[30, 20] == pytest.approx(0.85)
    # a fat digit covering most of the image: the frame is still paper, so it is still inverted
    fat = np.ones((40, 40))
    fat[:3, :] = fat[-3:, :] = fat[:, :3] = fat[:, -3:] = 0.0
    assert hw.ink_is_dark(ink_on_paper(fat))


# ----------------------------------------------------------------------------- background removal
def test_background_removal_subtracts_a_lighting_gradient_and_keeps_grey_levels():
    ink = block_digit()
    ink[10:50, 14] = ink[10:50, 25] = 0.5  # soft edges, as a pen on a photo
    rows, cols = np.mgrid[0:60, 0:50]
    lighting = 1.0 - 0.3 * cols / 49  # the right side is 30% darker
    white, _ = hw.to_white_on_black(ink_on_paper(ink) * lighting)
    clean = hw.remove_background(white)
    assert clean.min() == 0.0 and clean.max() == pytest.approx(1.0)
    assert np.all(clean[ink == 0] < 0.02)  # paper is black on both sides despite the gradient
    near_ink = ndimage.binary_dilation(ink > 0, structure=np.ones((3, 3), bool))
    assert not clean[~near_ink].any()  # only a one-pixel rim around the ink may be non-zero
    edge = clean[10:50, 14]
    assert 0.3 < edge.mean() < 0.7  # the half-inked edge keeps a grey level, not 0 or 1
    assert np.all(clean[12:48, 16:24] > 0.95)


def test_background_removal_drops_specks_but_keeps_a_detached_stroke():
    ink = block_digit(rows=(20, 50), cols=(20, 30))
    ink[10:14, 15:35] = 1.0  # a detached bar, 80 px (27% of the body): part of the digit
    ink[2, 2] = ink[55, 45] = 1.0  # two one-pixel specks
    clean = hw.remove_background(1.0 - ink_on_paper(ink))
    assert clean[12, 25] > 0.9 and clean[35, 25] > 0.9
    assert clean[2, 2] == 0.0 and clean[55, 45] == 0.0


# ----------------------------------------------------------------------------- crop, box, paste
def test_crop_to_ink_returns_the_bounding_box():
    x = np.zeros((30, 40))
    x[5:15, 7:12] = 0.5
    x[14, 20] = 1.0
    assert hw.crop_to_ink(x).shape == (10, 14)
    assert preprocess.ink_bbox(x) == (5, 7, 15, 21)
    np.testing.assert_array_equal(hw.crop_to_ink(x)[0, :5], 0.5)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((40, 10), (20, 5)), ((10, 40), (5, 20)), ((7, 7), (20, 20)), ((100, 63), (20, 13))],
)
def test_longer_side_becomes_20_px_keeping_the_aspect_ratio(shape, expected):
    small = hw.fit_longer_side(np.ones(shape))
    assert small.shape == expected
    assert small.max() == pytest.approx(1.0)


def test_downscaling_is_anti_aliased():
    stripes = np.zeros((200, 200))
    stripes[:, ::2] = 1.0  # one-pixel stripes: without anti-aliasing they alias to 0 or 1
    small = (
        preprocess.fit_longer_side(stripes) * 0.5
    )  # undo the peak normalisation for a flat image
    assert np.ptp(small[2:-2, 2:-2]) < 0.05


def test_paste_centred_puts_the_centre_of_mass_at_14_14():
    box = np.zeros((20, 12))
    box[:, :3] = 1.0  # all the mass on the left: the box centre is far from the centre of mass
    canvas = hw.paste_centred(box)
    assert canvas.shape == (28, 28)
    com = ndimage.center_of_mass(canvas)
    assert abs(com[0] - 14) <= 0.5 and abs(com[1] - 14) <= 0.5
    assert canvas.sum() == pytest.approx(box.sum())  # shifted by whole pixels, nothing cut off


@pytest.mark.parametrize("make", [block_digit, l_shape], ids=["bar", "L"])
def test_to_mnist_style_output_is_mnist_like(make):
    out = hw.to_mnist_style(np.round(255 * ink_on_paper(make())).astype(np.uint8))
    assert out.dtype == np.uint8 and out.shape == (28, 28)
    assert out.max() == 255 and out[0, 0] == 0  # white ink on a black background
    com = ndimage.center_of_mass(out.astype(float))
    # Whole-pixel shifts, as in MNIST: within half a pixel (a symmetric bar sits exactly on the half).
    assert abs(com[0] - 14) <= 0.5 + 1e-3 and abs(com[1] - 14) <= 0.5 + 1e-3
    top, left, bottom, right = preprocess.ink_bbox(out)
    assert max(bottom - top, right - left) == 20


def test_steps_are_all_there_and_the_l_keeps_its_aspect_ratio():
    steps = hw.mnist_style_steps(ink_on_paper(l_shape()))
    assert set(hw.STEP_TITLES) <= set(steps) and steps["inverted"] is True
    assert steps["cropped"].shape == (48, 40)
    assert steps["box20"].shape == (20, 17)  # 40/48 * 20 = 16.7 -> 17


# ----------------------------------------------------------------------------- strokes
def test_stroke_width_of_bars():
    for width in (1, 3, 5):
        mask = np.zeros((40, 40), bool)
        mask[5:35, 10 : 10 + width] = True
        assert hw.stroke_width(mask) == pytest.approx(width)


def test_hair_thin_strokes_are_thickened_and_normal_ones_left_alone():
    thin = np.zeros((200, 120))
    thin[10:190, 60] = 1.0  # a 1-px pen line on a large photo: 0.5% of the height
    thickened = hw.thicken_strokes(thin)
    assert hw.stroke_width(thickened > 0.5) >= 0.08 * 200
    normal = np.zeros((40, 30))
    normal[5:35, 12:16] = 1.0  # 4 px of 30: 10%, like MNIST
    assert hw.thicken_strokes(normal) is normal
    assert hw.thicken_strokes(thin, min_stroke=0) is thin


# ----------------------------------------------------------------------------- the report's method
def test_plain_resize_keeps_the_paper_grey_and_the_aspect_distorted():
    photo = ink_on_paper(block_digit(shape=(60, 50), rows=(10, 50), cols=(15, 25)))
    out = hw.plain_resize(photo)
    assert out.dtype == np.uint8 and out.shape == (28, 28)
    assert out[0, 0] == pytest.approx(
        255 * 0.1, abs=1
    )  # 1 - 0.9: the paper is dark grey, not black
    assert out.max() == pytest.approx(255 * 0.85, abs=1)  # 1 - 0.15: the ink
    # The bar fills rows 10..50 of 60: two thirds of the height, as in the photo (no crop, no centring).
    rows_with_ink = np.flatnonzero(out.max(axis=1) > 128)
    assert 17 <= len(rows_with_ink) <= 20


# ----------------------------------------------------------------------------- bad images
def test_uniform_or_noise_only_images_have_no_ink(tmp_path):
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((40, 40), 230, np.uint8)).save(path)
    with pytest.raises(hw.HandwritingInputError, match="no ink found in .*blank.png") as info:
        hw.to_mnist_style(path)
    assert info.value.kind == "no ink" and info.value.path == path
    noise = 0.85 + np.random.default_rng(0).normal(0, 0.02, (40, 40))
    with pytest.raises(hw.HandwritingInputError, match="no ink") as info:
        hw.to_mnist_style(noise.clip(0, 1))
    assert isinstance(info.value, ValueError)


def test_a_single_speck_is_not_a_digit():
    ink = np.zeros((40, 40))
    ink[20:22, 20:22] = 1.0
    with pytest.raises(hw.HandwritingInputError, match="speck"):
        hw.to_mnist_style(ink_on_paper(ink))


def test_too_small_and_bad_arrays_are_refused_with_the_file_named(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(path)
    with pytest.raises(hw.HandwritingInputError, match=r"tiny.png is too small \(6x5 px\)") as info:
        hw.to_mnist_style(path)
    assert info.value.kind == "too small"
    with pytest.raises(hw.HandwritingInputError, match=r"float pixel values must be in \[0, 1\]"):
        hw.to_grey(np.full((10, 10), 200.0))
    with pytest.raises(hw.HandwritingInputError, match="expected an image"):
        hw.to_grey(np.zeros((4, 10, 10)))


def test_a_large_photo_is_shrunk_first_and_gives_the_same_digit():
    small = ink_on_paper(l_shape())
    large = np.kron(small, np.ones((20, 20)))  # 1280 x 1280 px
    steps = hw.mnist_style_steps(large)
    assert max(steps["greyscale"].shape) == preprocess.MAX_PHOTO_SIDE
    diff = np.abs(steps["mnist"].astype(int) - hw.to_mnist_style(small).astype(int))
    assert diff.mean() < 6
