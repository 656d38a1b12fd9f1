"""Training FSRCNN: Adam on random aligned patches, a warm-up + cosine learning rate over a step or
wall-time budget, early stopping on validation Y-PSNR, and ``quick_train`` for ``artifacts.load_or_train``.

The learning rate comes from ``helpers.schedules.warmup_cosine`` as a function of *progress*: the
larger of the fraction of steps done and the fraction of the time budget used, so a slow or shared
CPU still ends its budget with a low learning rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from helpers import config, schedules
from helpers.sr.data import NamedImages, PatchSampler, load_sr_images
from helpers.sr.evaluation import MEAN_ROW, degraded_triples, evaluate_triples
from helpers.sr.models import DECONV_NAME, fsrcnn_from_name, fsrcnn_scale, fsrcnn_spec

WARMUP_FRACTION = 0.03  # of the budget: Adam's first steps are large, a short ramp keeps them sane
INITIAL_FRACTION = 0.01  # of the peak learning rate, at the first step
FINAL_FRACTION = 0.01  # of the peak learning rate, at the end of the budget
QUICK_STEPS = 300
QUICK_EPOCHS = 3


def train_fsrcnn(
    model: Any,
    train_images: NamedImages,
    val_images: NamedImages,
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
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[Any, float]:
    """Return (history, seconds) of training ``model`` in place: Adam on Y patches, early stopping on val PSNR.

    Loss: MSE on Y in [0, 1]; learning rate: ``lr`` with warm-up and cosine decay over the budget.
    The budget is ``epochs * steps_per_epoch`` steps or ``max_seconds`` of wall time (read from
    ``clock``, in seconds), whichever runs out first. The validation PSNR is measured after every
    epoch; the best weights are restored at the end and training stops early after ``patience``
    epochs without improvement. ``deconv_lr_multiplier`` scales the deconvolution's learning rate
    (the paper uses a 10x smaller one). ``history`` is a DataFrame with one row per epoch:
    epoch, steps (cumulative), loss, val_psnr (dB), lr, seconds (since the start).
    """
    import keras
    import pandas as pd
    import tensorflow as tf

    # The model's own scale is valid by construction, so this comparison is the check of ``scale``.
    if fsrcnn_scale(model) != scale:
        raise ValueError(
            f"the model upscales x{fsrcnn_scale(model)} but scale={scale!r}: pass scale={fsrcnn_scale(model)}"
        )
    scale = fsrcnn_scale(model)
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
    if not callable(clock):
        raise TypeError(f"clock must be a function returning seconds, got {type(clock).__name__}")

    sampler = PatchSampler(train_images, scale, patch_lr=patch_lr, seed=seed)
    val = degraded_triples(val_images, scale)
    # Two optimisers so the deconvolution can learn at its own rate (the paper's 10x smaller one).
    deconv_vars = model.get_layer(DECONV_NAME).trainable_weights
    deconv_ids = {id(v) for v in deconv_vars}
    body_vars = [v for v in model.trainable_weights if id(v) not in deconv_ids]
    opt_body = keras.optimizers.Adam(learning_rate=lr)
    opt_deconv = keras.optimizers.Adam(learning_rate=lr)
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
    start = clock()
    for epoch in range(1, epochs + 1):
        losses, progress = [], 0.0
        for _ in range(steps_per_epoch):
            elapsed = clock() - start
            progress = max(step / total_steps, elapsed / max_seconds if max_seconds else 0.0)
            if progress >= 1.0:
                break
            current_lr = schedules.warmup_cosine(
                progress, lr, WARMUP_FRACTION, INITIAL_FRACTION, FINAL_FRACTION
            )
            opt_body.learning_rate.assign(current_lr)
            opt_deconv.learning_rate.assign(current_lr * deconv_lr_multiplier)
            x, y = sampler.sample(batch_size)
            losses.append(float(train_step(tf.constant(x), tf.constant(y))))
            step += 1
        if not losses:
            break
        val_psnr = float(evaluate_triples(model, val, scale).loc[MEAN_ROW, "psnr"])
        elapsed = clock() - start
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
                print(f"stop: the {max_seconds:g} s budget is used up after {step} steps")
            break
    if best_weights is not None:
        model.set_weights(best_weights)
    return pd.DataFrame(rows), clock() - start


def quick_train(name: str, verbose: bool = False, steps: int | None = None) -> Any:
    """Return the FSRCNN ``name`` (e.g. "fsrcnn_x3", "fsrcnn_relu_x3") trained briefly from its bicubic start.

    The name gives the scale and the variant (:func:`helpers.sr.models.fsrcnn_spec`; a ValueError
    lists the accepted names). ``steps`` batches of 32 patches of the training photographs (default
    ``QUICK_STEPS``, a few hundred: far below notebook 07's training, under a minute on 2 CPU cores).
    Used by ``artifacts.load_or_train`` when a notebook needs a model that no earlier notebook saved.
    """
    spec = fsrcnn_spec(name)
    steps = QUICK_STEPS if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive number of training steps, got {steps!r}")
    model = fsrcnn_from_name(name)
    epochs = min(QUICK_EPOCHS, steps)
    history, seconds = train_fsrcnn(
        model,
        load_sr_images("train"),
        load_sr_images("val"),
        spec["scale"],
        epochs=epochs,
        steps_per_epoch=steps // epochs,
        seed=config.DEFAULT_SEED,
        verbose=verbose,
    )
    if verbose:
        print(
            f"{name}: trained {int(history['steps'].max())} steps in {seconds:.0f} s "
            f"(quick length), best validation PSNR {history['val_psnr'].max():.2f} dB"
        )
    return model
