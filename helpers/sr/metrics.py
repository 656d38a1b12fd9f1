"""Super-resolution metrics as in the literature: PSNR and SSIM on the BT.601 Y channel with a border shave.

The conventions (those of the FSRCNN paper and most super-resolution papers, so numbers compare):

* Y: ITU-R BT.601 studio swing (16..235) of the RGB image, kept in float64 (not rounded).
* Shave ``scale`` pixels at every border (the pixels an SR network cannot reconstruct well).
* PSNR: peak 255, float64. SSIM: 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03,
  L = 255, "valid" filtering and the mean of the SSIM map (Wang et al. 2004, same as ``tf.image.ssim``).
"""

from __future__ import annotations

import math

import numpy as np

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


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Return the normalised 1-D Gaussian of ``size`` taps (the SSIM window is its outer product)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Return ``img`` correlated with the separable window ``g`` x ``g``, 'valid' part only."""
    from scipy.ndimage import correlate1d

    out = correlate1d(correlate1d(img, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    r = len(g) // 2
    return out[r : img.shape[0] - r, r : img.shape[1] - r]


def ssim_map(a: np.ndarray, b: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """Return the SSIM map of two float 2-D images (11x11 Gaussian window, sigma 1.5, valid part)."""
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(
            f"images of size {a.shape} are smaller than the {SSIM_WINDOW}x{SSIM_WINDOW} SSIM window"
        )
    g = gaussian_window()
    c1, c2 = (SSIM_K1 * peak) ** 2, (SSIM_K2 * peak) ** 2
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a**2
    var_b = _filter_valid(b * b, g) - mu_b**2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )


def ssim_y(hr_rgb: np.ndarray, sr_rgb: np.ndarray, scale: int) -> float:
    """Return the Y-channel SSIM (mean of the map; ``scale`` px shaved per border) of an SR image."""
    _check_same_shape(hr_rgb, sr_rgb)
    a, b = _shaved_y(hr_rgb, scale, "hr_rgb"), _shaved_y(sr_rgb, scale, "sr_rgb")
    return float(np.mean(ssim_map(a, b)))
