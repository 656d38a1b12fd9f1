"""Whole-image upscaling, PSNR/SSIM tables indexed by image with a "mean" row, speed and cost tables."""

import math

import numpy as np
import pytest

from helpers import sr


@pytest.fixture(scope="module")
def fsrcnn():
    return sr.build_fsrcnn()


def nearest_fn(scale):
    return lambda y: np.repeat(np.repeat(np.asarray(y), scale, axis=1), scale, axis=2)


def small_images():
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    out = []
    for i in range(2):
        field = gaussian_filter(rng.random((60, 72, 3)), (2, 2, 0))
        out.append((f"img{i}", ((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)))
    return out


# ----------------------------------------------------------------------------- upscale
def test_upscale_returns_uint8_rgb_or_grey_of_scale_times_the_size():
    rgb = np.random.default_rng(0).integers(0, 256, (12, 15, 3), dtype=np.uint8)
    out = sr.upscale(nearest_fn(3), rgb)
    assert out.shape == (36, 45, 3) and out.dtype == np.uint8
    grey = rgb[..., 0]
    out = sr.upscale(nearest_fn(2), grey)
    assert out.shape == (24, 30)
    np.testing.assert_array_equal(out[::2, ::2], grey)  # grey level survives the Y round trip


def test_upscale_with_a_keras_model(fsrcnn):
    out = sr.upscale(fsrcnn, np.zeros((20, 21, 3), np.uint8))
    assert out.shape == (60, 63, 3)


def test_upscale_gives_clear_errors(fsrcnn):
    with pytest.raises(ValueError, match="receptive field"):
        sr.upscale(fsrcnn, np.zeros((10, 40, 3), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        sr.upscale(nearest_fn(2), np.full((16, 16, 3), 3.0))
    with pytest.raises(ValueError, match="dtype int64"):
        sr.upscale(nearest_fn(2), np.zeros((16, 16, 3), np.int64))
    with pytest.raises(ValueError, match="alpha"):
        sr.upscale(nearest_fn(2), np.zeros((16, 16, 4), np.uint8))
    with pytest.raises(ValueError, match="integer enlargement"):
        sr.upscale(lambda y: np.zeros((1, 20, 33, 1)), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(TypeError, match="model_or_fn"):
        sr.upscale("not a model", np.zeros((10, 10, 3), np.uint8))


# ----------------------------------------------------------------------------- tables
def test_evaluation_tables_are_indexed_by_image_with_a_mean_row():
    images = small_images()
    table = sr.evaluate_bicubic(images, 3)
    assert list(table.index) == ["img0", "img1", "mean"] and table.index.name == "image"
    assert list(table.columns) == ["psnr", "ssim"]
    assert table.loc["mean", "psnr"] == pytest.approx(table.loc[["img0", "img1"], "psnr"].mean())
    assert table.loc["mean", "ssim"] == pytest.approx(table.loc[["img0", "img1"], "ssim"].mean())
    assert 0 < table.loc["img0", "ssim"] < 1


def test_evaluate_bicubic_is_evaluate_sr_with_bicubic_and_close_to_rgb_bicubic():
    images = small_images()
    table = sr.evaluate_bicubic(images, 3)
    assert table.equals(sr.evaluate_sr(sr.bicubic_predict_fn(3), images, 3))
    # Same figure as enlarging the LR RGB picture with Pillow directly (only rounding differs).
    hr, lr = sr.sr_pair(images[0][1], 3)
    direct = sr.psnr_y(hr, sr.bicubic_resize(lr, hr.shape[:2]), 3)
    assert table.loc["img0", "psnr"] == pytest.approx(direct, abs=0.05)


def test_evaluate_sr_feeds_y_over_255_of_the_bicubic_lr_image():
    images = small_images()[:1]
    seen = []

    def spy(y):
        seen.append(y)
        return sr.bicubic_predict_fn(3)(y)

    sr.evaluate_sr(spy, images, 3)
    hr, lr = sr.sr_pair(images[0][1], 3)
    assert seen[0].dtype == np.float32 and seen[0].shape == (1, 20, 24, 1)
    np.testing.assert_allclose(seen[0], sr.lr_input(lr), atol=1e-7)


def test_evaluation_rejects_bad_input():
    with pytest.raises(ValueError, match="images is empty"):
        sr.evaluate_bicubic([], 3)
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        sr.evaluate_bicubic(small_images(), 1)
    with pytest.raises(ValueError, match="mean row"):
        sr.evaluate_bicubic([("mean", small_images()[0][1])], 2)


def test_versus_bicubic_puts_both_side_by_side_with_the_gain():
    images = small_images()
    bicubic = sr.evaluate_bicubic(images, 2)
    nearest = sr.evaluate_sr(nearest_fn(2), images, 2)
    side = sr.versus_bicubic(nearest, bicubic, label="nearest")
    assert list(side.columns) == [
        "bicubic PSNR",
        "nearest PSNR",
        "gain (dB)",
        "bicubic SSIM",
        "nearest SSIM",
    ]
    expected = nearest.loc["mean", "psnr"] - bicubic.loc["mean", "psnr"]
    assert side.loc["mean", "gain (dB)"] == pytest.approx(expected, abs=1e-12)
    # Nearest neighbour is worse than bicubic on smooth images.
    assert side.loc["mean", "gain (dB)"] < 0
    with pytest.raises(ValueError, match="different images"):
        sr.versus_bicubic(nearest.drop(index="img0"), bicubic)


# ----------------------------------------------------------------------------- speed and cost
def test_seconds_per_megapixel_is_positive_and_checks_its_input():
    assert sr.seconds_per_megapixel(sr.bicubic_predict_fn(2), lr_size=16, repeats=2) > 0
    with pytest.raises(ValueError, match="lr_size"):
        sr.seconds_per_megapixel(sr.bicubic_predict_fn(2), lr_size=0)


def test_cost_quality_table_adds_bicubic_rows_and_gains_per_scale():
    images = small_images()
    x2 = sr.build_fsrcnn(2, d=8, s=4, m=1)
    x3 = sr.build_fsrcnn(3, d=8, s=4, m=1)
    table = sr.cost_quality_table(
        {"tiny x3": x3, "tiny x2": x2}, images, train_seconds={"tiny x3": 5.0}, speed_lr_size=16
    )
    assert list(table.index) == ["bicubic x2", "tiny x2", "bicubic x3", "tiny x3"]
    assert table.index.name == "model"
    # 5x5x1x8 + 1x1x8x4 + 3x3x4x4 + 1x1x4x8 + 9x9x8x1 convolution weights
    assert table.loc["tiny x2", "weights"] == 200 + 32 + 144 + 32 + 648
    assert table.loc["tiny x2", "MACs/pixel"] == pytest.approx(1056 / 4)
    assert table.loc["bicubic x3", "gain (dB)"] == 0.0 and table.loc["bicubic x3", "params"] == 0
    expected = (
        sr.evaluate_sr(x3, images, 3).loc["mean", "psnr"]
        - sr.evaluate_bicubic(images, 3).loc["mean", "psnr"]
    )
    assert table.loc["tiny x3", "gain (dB)"] == pytest.approx(expected, abs=1e-9)
    assert table.loc["tiny x3", "mean"] == pytest.approx(
        table.loc["tiny x3", ["img0", "img1"]].mean()
    )
    assert table.loc["tiny x3", "train (s)"] == 5.0
    assert math.isnan(table.loc["tiny x2", "train (s)"])
    assert (table["CPU s/MP"] > 0).all()
