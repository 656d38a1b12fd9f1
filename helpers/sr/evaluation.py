"""Super-resolving whole images and measuring the result: upscaling, PSNR/SSIM tables, speed.

An evaluation table has one row per image, indexed by the image name, and a final ``"mean"`` row:
``table.loc["mean", "psnr"]`` is the mean Y-PSNR in dB. The images are degraded with the kit's one
degradation (:func:`helpers.sr.data.sr_pair`); the model enlarges the Y channel of the LR image and
Cb/Cr are enlarged with bicubic (:func:`upscale`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from helpers.kit import timing
from helpers.sr.data import (
    NamedImages,
    _sr_pair,
    _upscale_channel,
    as_uint8_image,
    check_scale,
    rgb_to_ycbcr,
    to_uint8,
    ycbcr_to_rgb,
)
from helpers.sr.metrics import psnr_y, ssim_y
from helpers.sr.models import (
    fsrcnn_scale,
    fsrcnn_weight_count,
    macs_per_output_pixel,
    receptive_field,
)

PredictFn = Callable[[np.ndarray], Any]
MEAN_ROW = "mean"


# ----------------------------------------------------------------------------- upscaling
def _as_predict_fn(model_or_fn: Any) -> PredictFn:
    """Return a function (1, h, w, 1) float32 -> array, calling a Keras model directly if given one."""
    if hasattr(model_or_fn, "layers") and callable(model_or_fn):
        return lambda x: model_or_fn(x, training=False)
    if callable(model_or_fn):
        return model_or_fn
    raise TypeError(
        f"model_or_fn must be a Keras model or a function, got {type(model_or_fn).__name__}"
    )


def bicubic_predict_fn(scale: int) -> PredictFn:
    """Return a predict function that enlarges the Y input (1, h, w, 1) by ``scale`` with bicubic."""
    return _bicubic_fn(check_scale(scale))


def _bicubic_fn(scale: int) -> PredictFn:
    """Return ``bicubic_predict_fn`` for an already checked ``scale``."""
    return lambda y: _upscale_channel(np.asarray(y)[0, :, :, 0], scale)[None, :, :, None]


def upscale(model_or_fn: Any, image: np.ndarray, min_size: int | None = None) -> np.ndarray:
    """Return the super-resolved uint8 image (RGB, or grey for a grey input): Y by the model, Cb/Cr bicubic.

    ``image`` is the low-resolution picture (uint8, or float in [0, 1]) of any size at least the
    model's receptive field (``min_size`` LR pixels); the scale is read from the model's output size.
    """
    img = as_uint8_image(image, "image")
    if min_size is None:
        min_size = receptive_field(model_or_fn) if hasattr(model_or_fn, "layers") else 3
    if min(img.shape[:2]) < min_size:
        raise ValueError(
            f"image of size {img.shape[0]}x{img.shape[1]} is smaller than the model's receptive field "
            f"({min_size}x{min_size} LR pixels): pass a larger image"
        )
    return _upscale(_as_predict_fn(model_or_fn), img)


def _upscale(predict: PredictFn, img: np.ndarray) -> np.ndarray:
    """Return ``upscale`` of a checked uint8 image with a predict function."""
    grey = img.ndim == 2 or img.shape[2] == 1
    ycbcr = rgb_to_ycbcr(img)
    y_in = (ycbcr[..., 0] / 255.0).astype(np.float32)[None, :, :, None]
    y_out = np.asarray(predict(y_in), dtype=np.float64)
    h, w = img.shape[:2]
    if y_out.ndim != 4 or y_out.shape[0] != 1 or y_out.shape[3] != 1:
        raise ValueError(
            f"the model returned shape {y_out.shape}; expected (1, scale*{h}, scale*{w}, 1)"
        )
    scale = y_out.shape[1] // h
    if scale < 1 or y_out.shape[1] != scale * h or y_out.shape[2] != scale * w:
        raise ValueError(
            f"the model returned {y_out.shape[1:3]} for a {h}x{w} input: not an integer enlargement"
        )
    y_sr = np.clip(y_out[0, :, :, 0] * 255.0, 0.0, 255.0)
    if grey:
        # Grey in, grey out: R = G = B, so Y maps back to the grey level directly.
        return to_uint8((y_sr - 16.0) / 219.0)
    cb = _upscale_channel(ycbcr[..., 1], scale)
    cr = _upscale_channel(ycbcr[..., 2], scale)
    return to_uint8(ycbcr_to_rgb(np.stack([y_sr, cb, cr], axis=-1)))


# ----------------------------------------------------------------------------- PSNR/SSIM tables
def degraded_triples(images: NamedImages, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (name, cropped HR, LR) for every image, with the kit's one degradation."""
    if not images:
        raise ValueError(
            "images is empty: pass a list of (name, image), e.g. sr.load_sr_images('test')"
        )
    return [(name, *_sr_pair(img, scale)) for name, img in images]


def evaluate_triples(
    predict_fn: Any, triples: list[tuple[str, np.ndarray, np.ndarray]], scale: int
) -> Any:
    """Return the PSNR/SSIM table (indexed by image, plus a "mean" row) of prepared (name, HR, LR) triples."""
    import pandas as pd

    predict = _as_predict_fn(predict_fn)
    rows = {}
    for name, hr, lr in triples:
        sr = _upscale(predict, lr)
        rows[name] = {"psnr": psnr_y(hr, sr, scale), "ssim": ssim_y(hr, sr, scale)}
    if MEAN_ROW in rows:
        raise ValueError(
            f"an image is called {MEAN_ROW!r}, the name of the table's mean row: rename it"
        )
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.loc[MEAN_ROW] = table.mean()
    table.index.name = "image"
    return table


def evaluate_sr(predict_fn: Any, images: NamedImages, scale: int) -> Any:
    """Return a DataFrame of Y-PSNR (dB) and SSIM indexed by image name, with a final "mean" row.

    ``predict_fn`` is a Keras model or a function mapping float32 (1, h, w, 1) Y/255 of the
    bicubic-downscaled image to (1, scale*h, scale*w, 1); the metrics are taken on the Y of the RGB
    reconstruction (see :func:`upscale`), ``scale`` pixels shaved at every border.
    """
    scale = check_scale(scale)
    return evaluate_triples(predict_fn, degraded_triples(images, scale), scale)


def evaluate_bicubic(images: NamedImages, scale: int) -> Any:
    """Return the table of :func:`evaluate_sr` for plain bicubic upscaling (the baseline)."""
    scale = check_scale(scale)
    return evaluate_triples(_bicubic_fn(scale), degraded_triples(images, scale), scale)


def versus_bicubic(table: Any, bicubic_table: Any, label: str = "FSRCNN") -> Any:
    """Return a model's and bicubic's PSNR (dB) and SSIM side by side with the gain in dB, per image and "mean"."""
    import pandas as pd

    if list(table.index) != list(bicubic_table.index):
        raise ValueError(
            f"table and bicubic_table cover different images ({list(table.index)} vs "
            f"{list(bicubic_table.index)}): evaluate both on the same images and scale"
        )
    return pd.DataFrame(
        {
            "bicubic PSNR": bicubic_table["psnr"],
            f"{label} PSNR": table["psnr"],
            "gain (dB)": table["psnr"] - bicubic_table["psnr"],
            "bicubic SSIM": bicubic_table["ssim"],
            f"{label} SSIM": table["ssim"],
        }
    )


# ----------------------------------------------------------------------------- speed and cost
def seconds_per_megapixel(model_or_fn: Any, lr_size: int = 200, repeats: int = 3) -> float:
    """Return the median CPU wall seconds to super-resolve one output megapixel (Y through the model).

    The input is a random ``lr_size`` x ``lr_size`` LR Y channel; timed with ``timing.median_ms``
    over ``repeats`` calls after a warm-up. Printed, never asserted: it depends on the machine.
    """
    if not isinstance(lr_size, int) or lr_size < 1:
        raise ValueError(f"lr_size must be a positive number of LR pixels, got {lr_size!r}")
    fn = _as_predict_fn(model_or_fn)
    x = np.random.default_rng(0).random((1, lr_size, lr_size, 1), dtype=np.float32)
    out = np.asarray(fn(x))  # the output size gives the megapixels (and warms up)
    ms = timing.median_ms(lambda: np.asarray(fn(x)), repeats=repeats, warmup=0)
    return ms / 1000.0 / (out.shape[1] * out.shape[2] / 1e6)


def cost_quality_table(
    models: Mapping[str, Any],
    images: NamedImages,
    train_seconds: Mapping[str, float] | None = None,
    speed_lr_size: int = 200,
) -> Any:
    """Return one row per model and per bicubic baseline: cost, Y-PSNR (dB) per image and mean, SSIM, gain.

    ``models`` maps a row name to a trained FSRCNN (its scale is read from the model). Columns:
    scale, params, weights (convolution kernels), MACs/pixel (per output pixel), one PSNR column per
    image, mean (PSNR), SSIM (mean), gain (dB) over bicubic at the same scale, train (s) (from
    ``train_seconds``, NaN if not given) and CPU s/MP (:func:`seconds_per_megapixel`). Rows are
    sorted by scale, then by parameters; bicubic rows are named "bicubic x<scale>".
    """
    import pandas as pd

    if not models:
        raise ValueError("models is empty: pass {'name': trained_model, ...}")
    train_seconds = dict(train_seconds or {})
    scales = {name: fsrcnn_scale(model) for name, model in models.items()}
    entries = {f"bicubic x{s}": (None, s) for s in sorted(set(scales.values()))}
    entries.update({name: (model, scales[name]) for name, model in models.items()})
    # one degradation per scale among the models
    degraded = {s: degraded_triples(images, s) for s in set(scales.values())}
    bicubic_mean, rows = {}, {}
    for name, (model, s) in entries.items():
        fn = _bicubic_fn(s) if model is None else model
        table = evaluate_triples(fn, degraded[s], s)
        if model is None:
            bicubic_mean[s] = table.loc[MEAN_ROW, "psnr"]
        rows[name] = {
            "scale": s,
            "params": 0 if model is None else model.count_params(),
            "weights": 0 if model is None else fsrcnn_weight_count(model),
            "MACs/pixel": 0.0 if model is None else macs_per_output_pixel(model),
            **table["psnr"].to_dict(),
            "SSIM": table.loc[MEAN_ROW, "ssim"],
            "gain (dB)": table.loc[MEAN_ROW, "psnr"] - bicubic_mean[s],
            "train (s)": 0.0 if model is None else train_seconds.get(name, np.nan),
            "CPU s/MP": seconds_per_megapixel(fn, lr_size=speed_lr_size),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table.sort_values(["scale", "params"], kind="stable")
