"""Y-channel PSNR/SSIM as in the literature: hand-computed cases and agreement with tf.image."""

import math

import numpy as np
import pytest

from helpers import sr


def grey_rgb(value, shape=(20, 24)):
    return np.full(shape + (3,), value, dtype=np.uint8)


def test_psnr_of_constant_offset_is_hand_computed():
    # Grey 100 vs grey 110: Y differs by 10 * 219/255 everywhere.
    delta_y = 10 * 219 / 255
    expected = 20 * math.log10(255 / delta_y)
    assert sr.psnr_y(grey_rgb(100), grey_rgb(110), scale=3) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(29.4527, abs=1e-4)


def test_psnr_from_mse_follows_the_formula():
    # PSNR = 10 log10(255^2 / MSE): MSE 65.025 is 255^2 / 1000 -> 30 dB; 10x the MSE costs 10 dB.
    assert sr.psnr_from_mse(65.025) == pytest.approx(30.0, abs=1e-12)
    assert sr.psnr_from_mse(650.25) == pytest.approx(20.0, abs=1e-12)
    assert sr.psnr_from_mse(0.0) == math.inf


def test_identical_images_give_infinite_psnr_and_ssim_one():
    img = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    assert sr.psnr_y(img, img, 2) == math.inf
    assert sr.ssim_y(img, img, 2) == pytest.approx(1.0, abs=1e-6)


def test_border_shave_ignores_scale_pixels_at_each_border():
    hr = grey_rgb(120, (30, 30))
    out = hr.copy()
    out[:3, :] = 0
    out[:, -3:] = 255
    assert sr.psnr_y(hr, out, scale=3) == math.inf
    assert sr.psnr_y(hr, out, scale=2) < 20


def test_psnr_and_ssim_agree_with_tf_image_on_the_shaved_y_channel():
    import tensorflow as tf

    rng = np.random.default_rng(2)
    hr = rng.integers(0, 256, (48, 52, 3), dtype=np.uint8)
    out = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    scale = 3
    y_hr = sr.rgb_to_y(hr)[scale:-scale, scale:-scale, None]
    y_out = sr.rgb_to_y(out)[scale:-scale, scale:-scale, None]
    tf_psnr = float(tf.image.psnr(y_hr, y_out, max_val=255.0))
    tf_ssim = float(
        tf.image.ssim(
            tf.constant(y_hr),
            tf.constant(y_out),
            max_val=255.0,
            filter_size=11,
            filter_sigma=1.5,
            k1=0.01,
            k2=0.03,
        )
    )
    # TF works in float32, the kit in float64.
    assert sr.psnr_y(hr, out, scale) == pytest.approx(tf_psnr, abs=1e-5)
    assert sr.ssim_y(hr, out, scale) == pytest.approx(tf_ssim, abs=1e-5)


def test_ssim_of_a_constant_offset_is_the_luminance_term():
    # Constant images: sigma = 0, so SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1).
    a, b = 16 + 219 * 100 / 255, 16 + 219 * 110 / 255
    c1 = (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    measured = sr.ssim_y(grey_rgb(100, (30, 30)), grey_rgb(110, (30, 30)), 2)
    # tf.image.ssim works in float32: E[x^2] - E[x]^2 of a constant 160 is off by a few 1e-3
    assert measured == pytest.approx(expected, abs=1e-4)


def test_metrics_reject_mismatched_or_tiny_images_and_bad_shaves():
    with pytest.raises(ValueError, match="modcrop"):
        sr.psnr_y(grey_rgb(1, (30, 30)), grey_rgb(1, (30, 33)), 3)
    with pytest.raises(ValueError, match="too small"):
        sr.psnr_y(grey_rgb(1, (6, 6)), grey_rgb(1, (6, 6)), 3)
    with pytest.raises(ValueError, match="SSIM window"):
        sr.ssim_y(grey_rgb(1, (14, 14)), grey_rgb(1, (14, 14)), 2)
    with pytest.raises(ValueError, match="non-negative integer"):
        sr.psnr_y(grey_rgb(1, (30, 30)), grey_rgb(1, (30, 30)), 1.5)
