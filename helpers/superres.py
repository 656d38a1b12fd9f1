"""FSRCNN super-resolution: upscaling whole images, evaluation, training, saving.

This module is the one to import (``from helpers import superres``); it also re-exports the models
of :mod:`helpers.sr_models`, the data functions of :mod:`helpers.sr_data` and the metrics of
:mod:`helpers.sr_metrics`.

FSRCNN (Dong, Loy & Tang, 2016) works on the low-resolution Y channel and enlarges only at the end:
5x5 conv ``d`` (feature extraction) -> 1x1 conv ``s`` (shrinking) -> ``m`` x 3x3 conv ``s`` (mapping)
-> 1x1 conv ``d`` (expanding) -> 9x9 transposed conv with stride ``scale`` (deconvolution), PReLU after
every layer but the last.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from helpers import config
from helpers.sr_data import (  # noqa: F401  (re-exported)
    DOWNSCALE_FACTORS,
    SR_SPLITS,
    PatchSampler,
    _check_scale,
    as_uint8_image,
    bicubic_downscale,
    bicubic_resize,
    bicubic_upscale_channel,
    crop_center,
    load_sr_images,
    lr_input,
    make_sr_dataset,
    modcrop,
    representative_lr_patches,
    rgb_to_y,
    rgb_to_ycbcr,
    sr_pair,
    to_uint8,
    training_pairs,
    ycbcr_to_rgb,
)
from helpers.sr_metrics import gaussian_window, psnr_from_mse, psnr_y, ssim_map, ssim_y  # noqa: F401
from helpers.sr_models import (  # noqa: F401  (re-exported)
    ACTIVATIONS,
    DECONV_NAME,
    build_fsrcnn,
    cubic_kernel_1d,
    deconv_tap_offsets,
    fsrcnn_config,
    fsrcnn_scale,
    fsrcnn_weight_count,
    init_as_bicubic,
    layer_macs_table,
    macs_per_output_pixel,
    receptive_field,
    resample_deconv_kernel,
    transfer_fsrcnn,
)

PredictFn = Callable[[np.ndarray], Any]
MODEL_NAMES = (
    "fsrcnn_x2",
    "fsrcnn_x3",
    "fsrcnn_x4",
    "fsrcnn_s_x3",
    "fsrcnn_relu_x3",
    "fsrcnn_separable_x3",
    "fsrcnn_bn_x3",
)


# ----------------------------------------------------------------------------- upscaling
def _as_predict_fn(model_or_fn: Any) -> PredictFn:
    """Return a function (1, h, w, 1) float32 -> numpy, calling a Keras model directly if given one."""
    if hasattr(model_or_fn, "layers") and callable(model_or_fn):
        return lambda x: model_or_fn(x, training=False)
    if callable(model_or_fn):
        return model_or_fn
    raise TypeError(
        f"model_or_fn must be a Keras model or a function, got {type(model_or_fn).__name__}"
    )


def bicubic_predict_fn(scale: int) -> PredictFn:
    """Return a predict function that enlarges the Y input (1, h, w, 1) by ``scale`` with bicubic."""
    scale = _check_scale(scale)
    return lambda y: bicubic_upscale_channel(np.asarray(y)[0, :, :, 0], scale)[None, :, :, None]


def upscale(model_or_fn: Any, image: np.ndarray, min_size: int | None = None) -> np.ndarray:
    """Return the super-resolved uint8 image (RGB, or grey for a grey input): Y by the model, Cb/Cr bicubic.

    ``image`` is the low-resolution picture (uint8, or float in [0, 1]) of any size at least the
    model's receptive field; the scale is read from the model's output size.
    """
    img = as_uint8_image(image, "image")
    grey = img.ndim == 2 or img.shape[2] == 1
    if min_size is None:
        min_size = receptive_field(model_or_fn) if hasattr(model_or_fn, "layers") else 3
    if min(img.shape[:2]) < min_size:
        raise ValueError(
            f"image of size {img.shape[0]}x{img.shape[1]} is smaller than the model's receptive field "
            f"({min_size}x{min_size} LR pixels): pass a larger image"
        )
    ycbcr = rgb_to_ycbcr(img)
    y_in = (ycbcr[..., 0] / 255.0).astype(np.float32)[None, :, :, None]
    y_out = np.asarray(_as_predict_fn(model_or_fn)(y_in), dtype=np.float64)
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
    cb = bicubic_upscale_channel(ycbcr[..., 1], scale)
    cr = bicubic_upscale_channel(ycbcr[..., 2], scale)
    return to_uint8(ycbcr_to_rgb(np.stack([y_sr, cb, cr], axis=-1)))


# ----------------------------------------------------------------------------- evaluation
def _degraded(
    images: list[tuple[str, np.ndarray]], scale: int
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (name, cropped HR, LR) for every image, with the kit's one degradation."""
    if not images:
        raise ValueError(
            "images is empty: pass a list of (name, image), e.g. load_sr_images('test')"
        )
    return [(name, *sr_pair(img, scale)) for name, img in images]


def _evaluate_pairs(predict_fn: Any, triples, scale: int):
    """Return the per-image PSNR/SSIM table (plus a "mean" row) of prepared (name, HR, LR) triples."""
    import pandas as pd

    rows = []
    for name, hr, lr in triples:
        sr = upscale(predict_fn, lr, min_size=1)
        rows.append({"name": name, "psnr": psnr_y(hr, sr, scale), "ssim": ssim_y(hr, sr, scale)})
    table = pd.DataFrame(rows)
    mean = {"name": "mean", "psnr": table["psnr"].mean(), "ssim": table["ssim"].mean()}
    return pd.concat([table, pd.DataFrame([mean])], ignore_index=True)


def evaluate_sr(predict_fn: Any, images: list[tuple[str, np.ndarray]], scale: int):
    """Return a DataFrame (name, psnr, ssim), one row per image plus "mean", for a model or predict function.

    ``predict_fn(y_lr)`` maps float32 (1, h, w, 1) Y/255 of the bicubic-downscaled image to
    (1, scale*h, scale*w, 1); the metrics are taken on the Y of the RGB reconstruction (see ``upscale``).
    """
    return _evaluate_pairs(predict_fn, _degraded(images, _check_scale(scale)), scale)


def evaluate_bicubic(images: list[tuple[str, np.ndarray]], scale: int):
    """Return the same table as :func:`evaluate_sr` for plain bicubic upscaling (the baseline)."""
    return evaluate_sr(bicubic_predict_fn(scale), images, scale)


def seconds_per_megapixel(model_or_fn: Any, lr_size: int = 200, repeats: int = 3) -> float:
    """Return the median CPU wall seconds to super-resolve one output megapixel (Y channel through the model)."""
    fn = _as_predict_fn(model_or_fn)
    x = np.random.default_rng(0).random((1, lr_size, lr_size, 1), dtype=np.float32)
    out = np.asarray(fn(x))  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.asarray(fn(x))
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / (out.shape[1] * out.shape[2] / 1e6)


# ----------------------------------------------------------------------------- training
def _cosine_lr(progress: float, lr: float, warmup: float, final_fraction: float) -> float:
    """Return the learning rate at ``progress`` (0..1 of the budget): linear warm-up, then cosine decay."""
    if progress < warmup:
        return lr * max(progress / warmup, 0.01)
    t = min(1.0, (progress - warmup) / max(1e-9, 1.0 - warmup))
    return lr * (final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * t)))


def train_fsrcnn(
    model: Any,
    train_images: list[tuple[str, np.ndarray]],
    val_images: list[tuple[str, np.ndarray]],
    scale: int,
    epochs: int,
    steps_per_epoch: int,
    lr: float = 1e-3,
    deconv_lr_multiplier: float = 1.0,
    patience: int | None = None,
    batch_size: int = 32,
    patch_lr: int = 24,
    seed: int = 42,
    max_seconds: float | None = None,
    verbose: bool = True,
):
    """Train with Adam (MSE, cosine schedule) and early stopping on validation Y-PSNR; return (history, seconds).

    The budget is ``epochs * steps_per_epoch`` steps or ``max_seconds`` of wall time, whichever runs
    out first; the learning rate warms up, then follows a cosine over that budget (so a slow,
    shared CPU still ends with a low learning rate). The validation PSNR is measured after every
    epoch; the best weights are restored at the end and training stops early after ``patience``
    epochs without improvement. ``deconv_lr_multiplier`` scales the deconvolution's learning rate
    (the paper uses a 10x smaller one). ``history`` is a DataFrame with one row per epoch:
    epoch, steps, loss, val_psnr, lr, seconds.
    """
    import keras
    import pandas as pd
    import tensorflow as tf

    scale = _check_scale(scale)
    if fsrcnn_scale(model) != scale:
        raise ValueError(f"the model upscales x{fsrcnn_scale(model)} but scale={scale}")
    if epochs < 1 or steps_per_epoch < 1:
        raise ValueError(
            f"epochs and steps_per_epoch must be positive, got {epochs} and {steps_per_epoch}"
        )
    if deconv_lr_multiplier < 0:
        raise ValueError(f"deconv_lr_multiplier must be >= 0, got {deconv_lr_multiplier}")
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(
            f"max_seconds must be positive (or None for no time limit), got {max_seconds}"
        )

    sampler = PatchSampler(
        [], scale, patch_lr=patch_lr, seed=seed, pairs=training_pairs(train_images, scale)
    )
    val = _degraded(val_images, scale)
    deconv_vars = model.get_layer(DECONV_NAME).trainable_weights
    deconv_ids = {id(v) for v in deconv_vars}
    body_vars = [v for v in model.trainable_weights if id(v) not in deconv_ids]
    opt_body, opt_deconv = (
        keras.optimizers.Adam(learning_rate=lr),
        keras.optimizers.Adam(learning_rate=lr),
    )
    opt_body.build(body_vars)
    opt_deconv.build(deconv_vars)

    @tf.function(reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, body_vars + deconv_vars)
        opt_body.apply(grads[: len(body_vars)], body_vars)
        opt_deconv.apply(grads[len(body_vars) :], deconv_vars)
        return loss

    total_steps = epochs * steps_per_epoch
    rows, best_psnr, best_weights, since_best, step, current_lr = [], -math.inf, None, 0, 0, lr
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        losses, progress = [], 0.0
        for _ in range(steps_per_epoch):
            elapsed = time.perf_counter() - start
            progress = max(step / total_steps, elapsed / max_seconds if max_seconds else 0.0)
            if progress >= 1.0:
                break
            current_lr = _cosine_lr(progress, lr, warmup=0.03, final_fraction=0.01)
            opt_body.learning_rate.assign(current_lr)
            opt_deconv.learning_rate.assign(current_lr * deconv_lr_multiplier)
            x, y = sampler.sample(batch_size)
            losses.append(float(train_step(tf.constant(x), tf.constant(y))))
            step += 1
        if not losses:
            break
        val_psnr = float(_evaluate_pairs(model, val, scale)["psnr"].iloc[-1])
        elapsed = time.perf_counter() - start
        rows.append(
            {
                "epoch": epoch,
                "steps": step,
                "loss": float(np.mean(losses)),
                "val_psnr": val_psnr,
                "lr": current_lr,
                "seconds": elapsed,
            }
        )
        improved = val_psnr > best_psnr
        if improved:
            best_psnr, best_weights, since_best = val_psnr, model.get_weights(), 0
        else:
            since_best += 1
        if verbose:
            print(
                f"epoch {epoch:3d}  step {step:6d}  loss {rows[-1]['loss']:.2e}  val PSNR {val_psnr:6.3f} dB"
                f"{' *' if improved else '  '}  lr {current_lr:.1e}  {elapsed:5.0f} s",
                flush=True,
            )
        if patience is not None and since_best > patience:
            if verbose:
                print(f"early stop: no better validation PSNR for {patience} epochs")
            break
        if progress >= 1.0 or (max_seconds is not None and elapsed >= max_seconds):
            if verbose and step < total_steps:
                print(f"stop: the {max_seconds:.0f} s budget is used up after {step} steps")
            break
    if best_weights is not None:
        model.set_weights(best_weights)
    return pd.DataFrame(rows), time.perf_counter() - start


# ----------------------------------------------------------------------------- saving
def sr_model_path(name: str) -> Path:
    """Return where the model ``name`` is kept: ``artifacts/<mode>/models/<name>.keras``."""
    if not name or "/" in name or "\\" in name or name.endswith(".keras"):
        raise ValueError(f"name must be a bare model name like 'fsrcnn_x3', got {name!r}")
    return config.artifacts_dir("models") / f"{name}.keras"


def save_sr_model(model: Any, name: str) -> Path:
    """Save ``model`` as ``artifacts/<mode>/models/<name>.keras``; return the path."""
    path = sr_model_path(name)
    model.save(path)
    return path


def load_sr_model(name: str):
    """Return the saved Keras 3 model ``name`` (e.g. "fsrcnn_x3"), or None if it has not been trained yet."""
    import keras

    path = sr_model_path(name)
    return keras.models.load_model(path, compile=False) if path.exists() else None
