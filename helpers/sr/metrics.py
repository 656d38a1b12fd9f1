"""Super-resolution metrics as in the literature: PSNR and SSIM on the BT.601 Y channel with a border shave.

The conventions (those of the FSRCNN paper and most super-resolution papers, so numbers compare):

* Y: ITU-R BT.601 studio swing (16..235) of the RGB image, kept in float64 (not rounded).
* Shave ``scale`` pixels at every border (the pixels an SR network cannot reconstruct well).
* PSNR: peak 255, in float64 (NumPy: ``tf.image.psnr`` computes in float32; notebook 07 shows that
  both agree to about 1e-5 dB on these images).
* SSIM: ``tf.image.ssim`` with an 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255
  (Wang et al. 2004): the mean of the SSIM map.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from helpers.sr.data import rgb_to_y

PEAK = 255.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _shaved_y(img: np.ndarray, shave: int, name: str) -> np.ndarray:
    """Return the float64 Y channel of ``img`` with ``shave`` pixels removed at each border."""
    if isinstance(shave, bool) or not isinstance(shave, (int, np.integer)) or shave < 0:
        raise ValueError(
            f"scale (the pixels shaved at each border) must be a non-negative integer, got {shave!r}"
        )
    y = rgb_to_y(img)
    if y.shape[0] <= 2 * shave or y.shape[1] <= 2 * shave:
        raise ValueError(
            f"{name} of size {y.shape[0]}x{y.shape[1]} is too small to shave {shave} px per border"
        )
    return y[shave : y.shape[0] - shave, shave : y.shape[1] - shave] if shave else y


def _check_same_shape(hr: np.ndarray, sr: np.ndarray) -> None:
    """Return None if the two images have the same size; raise a ValueError naming both otherwise."""
    if np.asarray(hr).shape[:2] != np.asarray(sr).shape[:2]:
        raise ValueError(
            f"hr_rgb {np.asarray(hr).shape} and sr_rgb {np.asarray(sr).shape} differ in size: crop the HR image "
            f"with modcrop(hr, scale) before comparing"
        )


def psnr_from_mse(mse: float, peak: float = PEAK) -> float:
    """Return the PSNR in dB for a mean squared error (``inf`` when it is 0)."""
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def psnr_y(hr_rgb: np.ndarray, sr_rgb: np.ndarray, scale: int) -> float:
    """Return the Y-channel PSNR in dB (peak 255, ``scale`` px shaved per border) of an SR image."""
    _check_same_shape(hr_rgb, sr_rgb)
    a, b = _shaved_y(hr_rgb, scale, "hr_rgb"), _shaved_y(sr_rgb, scale, "sr_rgb")
    return psnr_from_mse(float(np.mean((a - b) ** 2)))


def ssim_y(hr_rgb: np.ndarray, sr_rgb: np.ndarray, scale: int) -> float:
    """Return the Y-channel SSIM (mean of the map; ``scale`` px shaved per border) of an SR image.

    ``tf.image.ssim`` with the literature's settings (11x11 Gaussian window, sigma 1.5, K1 = 0.01,
    K2 = 0.03, peak 255) on the float64 BT.601 Y channels; TensorFlow computes it in float32.
    """
    _check_same_shape(hr_rgb, sr_rgb)
    a, b = _shaved_y(hr_rgb, scale, "hr_rgb"), _shaved_y(sr_rgb, scale, "sr_rgb")
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(
            f"images of size {a.shape} (after the shave) are smaller than the "
            f"{SSIM_WINDOW}x{SSIM_WINDOW} SSIM window"
        )
    ssim = tf.image.ssim(
        tf.constant(a[..., None]),
        tf.constant(b[..., None]),
        max_val=PEAK,
        filter_size=SSIM_WINDOW,
        filter_sigma=SSIM_SIGMA,
        k1=SSIM_K1,
        k2=SSIM_K2,
    )
    return float(ssim)
