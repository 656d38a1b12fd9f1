"""Y-channel PSNR/SSIM and BT.601 colour conversion: hand-computed cases and agreement with tf.image."""

import math

import numpy as np
import pytest

from helpers import sr_data, sr_metrics


def grey_rgb(value, shape=(20, 24)):
    return np.full(shape + (3,), value, dtype=np.uint8)


def test_ycbcr_of_white_black_and_red_match_bt601_studio_swing():
    ycc = sr_data.rgb_to_ycbcr(
        np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0]]], dtype=np.uint8)
    )
    np.testing.assert_allclose(ycc[0, 0], [235.0, 128.0, 128.0], atol=1e-9)
    np.testing.assert_allclose(ycc[0, 1], [16.0, 128.0, 128.0], atol=1e-9)
    np.testing.assert_allclose(ycc[0, 2], [16 + 65.481, 128 - 37.797, 128 + 112.0], atol=1e-9)


def test_ycbcr_round_trip_and_float_input_agree_with_uint8():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    ycc = sr_data.rgb_to_ycbcr(img)
    np.testing.assert_allclose(sr_data.ycbcr_to_rgb(ycc) * 255, img, atol=1e-9)
    np.testing.assert_allclose(sr_data.rgb_to_ycbcr(img / 255.0), ycc, atol=1e-9)
    grey = img[..., 0]
    np.testing.assert_allclose(
        sr_data.rgb_to_y(grey), 16 + 219 * grey.astype(float) / 255.0, atol=1e-9
    )


def test_colour_conversion_rejects_bad_input():
    with pytest.raises(ValueError, match="outside"):
        sr_data.rgb_to_ycbcr(np.full((4, 4, 3), 2.0))
    with pytest.raises(ValueError, match="alpha"):
        sr_data.rgb_to_ycbcr(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="HxWx3"):
        sr_data.ycbcr_to_rgb(np.zeros((4, 4)))


def test_psnr_of_constant_offset_is_hand_computed():
    # Grey 100 vs grey 110: Y differs by 10 * 219/255 everywhere.
    delta_y = 10 * 219 / 255
    expected = 20 * math.log10(255 / delta_y)
    assert sr_metrics.psnr_y(grey_rgb(100), grey_rgb(110), scale=3) == pytest.approx(
        expected, abs=1e-9
    )
    assert expected == pytest.approx(29.4527, abs=1e-4)


def test_identical_images_give_infinite_psnr_and_ssim_one():
    img = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    assert sr_metrics.psnr_y(img, img, 2) == math.inf
    assert sr_metrics.ssim_y(img, img, 2) == pytest.approx(1.0, abs=1e-12)


def test_border_shave_ignores_scale_pixels_at_each_border():
    hr = grey_rgb(120, (30, 30))
    sr = hr.copy()
    sr[:3, :] = 0
    sr[:, -3:] = 255
    assert sr_metrics.psnr_y(hr, sr, scale=3) == math.inf
    assert sr_metrics.psnr_y(hr, sr, scale=2) < 20


def test_psnr_and_ssim_agree_with_tf_image_on_the_shaved_y_channel():
    import tensorflow as tf

    rng = np.random.default_rng(2)
    hr = rng.integers(0, 256, (48, 52, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    scale = 3
    y_hr = sr_data.rgb_to_y(hr)[scale:-scale, scale:-scale, None]
    y_sr = sr_data.rgb_to_y(sr)[scale:-scale, scale:-scale, None]
    tf_psnr = float(tf.image.psnr(y_hr, y_sr, max_val=255.0))
    tf_ssim = float(
        tf.image.ssim(
            tf.constant(y_hr),
            tf.constant(y_sr),
            max_val=255.0,
            filter_size=11,
            filter_sigma=1.5,
            k1=0.01,
            k2=0.03,
        )
    )
    assert sr_metrics.psnr_y(hr, sr, scale) == pytest.approx(
        tf_psnr, abs=1e-5
    )  # TF works in float32
    assert sr_metrics.ssim_y(hr, sr, scale) == pytest.approx(tf_ssim, abs=1e-5)


def test_ssim_of_a_constant_offset_is_the_luminance_term():
    # Constant images: sigma = 0, so SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1).
    a, b = 16 + 219 * 100 / 255, 16 + 219 * 110 / 255
    c1 = (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert sr_metrics.ssim_y(grey_rgb(100, (30, 30)), grey_rgb(110, (30, 30)), 2) == pytest.approx(
        expected, abs=1e-12
    )


def test_gaussian_window_is_normalised_and_symmetric():
    g = sr_metrics.gaussian_window()
    assert g.shape == (11,) and g.sum() == pytest.approx(1.0) and np.allclose(g, g[::-1])
    assert g[5] / g[4] == pytest.approx(math.exp(1 / (2 * 1.5**2)))


def test_metrics_reject_mismatched_or_tiny_images():
    with pytest.raises(ValueError, match="modcrop"):
        sr_metrics.psnr_y(grey_rgb(1, (30, 30)), grey_rgb(1, (30, 33)), 3)
    with pytest.raises(ValueError, match="too small"):
        sr_metrics.psnr_y(grey_rgb(1, (6, 6)), grey_rgb(1, (6, 6)), 3)
    with pytest.raises(ValueError, match="SSIM window"):
        sr_metrics.ssim_y(grey_rgb(1, (14, 14)), grey_rgb(1, (14, 14)), 2)
