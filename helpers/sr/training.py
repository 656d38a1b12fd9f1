"""Training FSRCNN with Keras ``fit``: random aligned patches, a warm-up + cosine learning rate over a
step or wall-time budget, validation Y-PSNR on many fixed crops after every epoch, best weights kept.

Two callbacks do the work Keras has no built-in for:

* :class:`BudgetSchedule` sets the learning rate before every step from ``schedules.warmup_cosine``
  as a function of *progress* (the larger of the fraction of steps done and the fraction of the
  time budget used, so a slow or shared CPU still ends its budget with a low rate) and stops
  training when the budget is used up;
* :class:`ValidationPSNR` measures Y-PSNR (0..255, border of ``scale`` pixels shaved) on fixed
  validation crops, adds ``val_psnr`` to the epoch logs, keeps the best weights and restores them
  at the end. There is no early stopping: with the rate decaying to 1 % of its peak, training runs
  its whole budget and the best epoch is the one kept.

Keras' own ``CSVLogger`` and ``History`` record the rest.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pandas as pd

from helpers import schedules
from helpers.kit import config
from helpers.sr.data import (
    NamedImages,
    PatchSampler,
    bicubic_upscale_channel,
    check_scale,
    load_sr_images,
    make_sr_dataset,
)
from helpers.sr.metrics import PEAK, psnr_from_mse
from helpers.sr.models import fsrcnn_from_name, fsrcnn_scale, fsrcnn_spec

WARMUP_FRACTION = 0.03  # of the budget: Adam's first steps are large, a short ramp keeps them sane
INITIAL_FRACTION = 0.01  # of the peak learning rate, at the first step
FINAL_FRACTION = 0.01  # of the peak learning rate, at the end of the budget
VAL_CROPS = (
    256  # fixed validation crops: the mean over many crops makes the epoch-to-epoch noise small
)
VAL_PATCH_LR = 32  # LR pixels per side of a validation crop
QUICK_STEPS = 300
QUICK_EPOCHS = 3


def validation_crops(
    images: NamedImages, scale: int, n: int = VAL_CROPS, patch_lr: int = VAL_PATCH_LR, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` fixed (LR Y, HR Y) crops of ``images`` in [0, 1]: the same crops for every call.

    No augmentation: crops of the images as they are, at seeded random places (every image equally
    likely). Images smaller than ``patch_lr`` LR pixels are left out by the sampler.
    """
    scale = check_scale(scale)
    if n < 1:
        raise ValueError(f"n must be a positive number of validation crops, got {n}")
    sampler = PatchSampler(images, scale, patch_lr=patch_lr, augment=False, seed=seed)
    return sampler.sample(n)


def crops_psnr(model: Any, lr: np.ndarray, hr: np.ndarray, scale: int, batch: int = 64) -> float:
    """Return the Y-PSNR (dB, peak 255) of ``model`` on crops: one MSE over all crops, border shaved.

    The prediction is clipped to [0, 1] like a saved image; a border of ``scale`` HR pixels is left
    out of every crop, as in the literature's protocol for whole images.
    """
    sq_err, count = 0.0, 0
    for i in range(0, len(lr), batch):
        pred = np.clip(np.asarray(model(lr[i : i + batch], training=False), np.float64), 0.0, 1.0)
        diff = (pred - hr[i : i + batch])[:, scale:-scale, scale:-scale] * PEAK
        sq_err += float(np.sum(diff**2))
        count += diff.size
    return psnr_from_mse(sq_err / count)


def val_patch_size(images: NamedImages, scale: int) -> int:
    """Return the validation crop side in LR pixels: ``VAL_PATCH_LR``, or less for small images."""
    smallest = min(min(img.shape[:2]) for _, img in images) // check_scale(scale)
    return max(3, min(VAL_PATCH_LR, smallest))


def bicubic_crops_psnr(images: NamedImages, scale: int, n: int = VAL_CROPS) -> float:
    """Return bicubic's Y-PSNR on the validation crops that ``train_fsrcnn`` measures (the baseline)."""
    lr, hr = validation_crops(images, scale, n=n, patch_lr=val_patch_size(images, scale))

    def bicubic(x: np.ndarray, training: bool = False) -> np.ndarray:
        return np.stack([bicubic_upscale_channel(c[..., 0], scale)[..., None] for c in x])

    return crops_psnr(bicubic, lr, hr, scale)


class BudgetSchedule(keras.callbacks.Callback):
    """Keras callback: warm-up + cosine learning rate over ``total_steps`` or ``max_seconds``.

    Before every step the optimizer's rate is set to ``schedules.warmup_cosine(progress, lr, ...)``,
    where progress is the larger of ``steps / total_steps`` and ``elapsed / max_seconds``; training
    stops when progress reaches 1. ``clock`` returns seconds (injected by tests). Defined in
    notebook 07, where the live training uses it.
    """

    def __init__(
        self,
        lr: float,
        total_steps: int,
        max_seconds: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        if max_seconds is not None and max_seconds <= 0:
            raise ValueError(
                f"max_seconds must be positive (or None for no time limit), got {max_seconds}"
            )
        if not callable(clock):
            raise TypeError(
                f"clock must be a function returning seconds, got {type(clock).__name__}"
            )
        self.lr, self.total_steps, self.max_seconds, self.clock = (
            lr,
            total_steps,
            max_seconds,
            clock,
        )
        self.steps, self.start, self.current_lr, self.out_of_time = 0, 0.0, lr, False

    def progress(self) -> float:
        """Return the fraction of the budget used (0..1+): steps or wall time, whichever is larger."""
        by_time = (self.clock() - self.start) / self.max_seconds if self.max_seconds else 0.0
        return max(self.steps / self.total_steps, by_time)

    def elapsed(self) -> float:
        """Return the seconds since training began."""
        return self.clock() - self.start

    def on_train_begin(self, logs=None):
        self.steps, self.start, self.out_of_time = 0, self.clock(), False

    def on_train_batch_begin(self, batch, logs=None):
        self.current_lr = schedules.warmup_cosine(
            self.progress(), self.lr, WARMUP_FRACTION, INITIAL_FRACTION, FINAL_FRACTION
        )
        self.model.optimizer.learning_rate.assign(self.current_lr)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.progress() >= 1.0:
            self.out_of_time = self.steps < self.total_steps
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update({"lr": self.current_lr, "steps": self.steps, "seconds": self.elapsed()})


class ValidationPSNR(keras.callbacks.Callback):
    """Keras callback: Y-PSNR (dB) on fixed validation crops after every epoch; best weights kept.

    ``lr``, ``hr``: (n, h, w, 1) and (n, scale*h, scale*w, 1) crops in [0, 1]
    (:func:`validation_crops`). Adds ``val_psnr`` to the epoch logs (so Keras' ``History`` and
    ``CSVLogger`` record it), remembers the weights of the best epoch and restores them when
    training ends. Defined in notebook 07.
    """

    def __init__(self, lr: np.ndarray, hr: np.ndarray, scale: int) -> None:
        super().__init__()
        self.lr, self.hr, self.scale = lr, hr, scale
        self.best_psnr, self.best_epoch, self.best_weights = -math.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        psnr = crops_psnr(self.model, self.lr, self.hr, self.scale)
        if logs is not None:
            logs["val_psnr"] = psnr
        if psnr > self.best_psnr:
            self.best_psnr, self.best_epoch = psnr, epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class EpochPrinter(keras.callbacks.Callback):
    """Keras callback: one line per epoch (step, loss, validation PSNR, a * at a new best, rate, time)."""

    def __init__(self) -> None:
        super().__init__()
        self.best = -math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        psnr = logs.get("val_psnr", math.nan)
        star = " *" if psnr > self.best else "  "
        self.best = max(self.best, psnr)
        print(
            f"epoch {epoch + 1:3d}  step {logs.get('steps', 0):6d}  "
            f"loss {logs.get('loss', math.nan):.2e}  val PSNR {psnr:6.3f} dB{star}  "
            f"lr {logs.get('lr', math.nan):.1e}  {logs.get('seconds', 0):5.0f} s",
            flush=True,
        )


def history_table(fit_history: Any) -> Any:
    """Return Keras' ``History`` of an FSRCNN training as a DataFrame, one row per epoch.

    Columns: epoch, steps (cumulative), loss, val_psnr (dB), lr, seconds (since the start): the
    logs that :class:`BudgetSchedule` and :class:`ValidationPSNR` add to every epoch.
    """
    history = pd.DataFrame(fit_history.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["steps"] = history["steps"].astype(int)
    return history[["epoch", "steps", "loss", "val_psnr", "lr", "seconds"]]


def train_fsrcnn(
    model: Any,
    train_images: NamedImages,
    val_images: NamedImages,
    scale: int,
    epochs: int,
    steps_per_epoch: int,
    lr: float = 1e-3,
    batch_size: int = 32,
    patch_lr: int = 24,
    seed: int = 42,
    max_seconds: float | None = None,
    verbose: bool = True,
    clock: Callable[[], float] = time.perf_counter,
    val_crops: int = VAL_CROPS,
    csv_log: str | None = None,
) -> tuple[Any, float]:
    """Return (history, seconds) of training ``model`` in place with ``model.fit``; best epoch kept.

    Loss: MSE on Y in [0, 1]; Adam; the learning rate rises to ``lr`` over the first 3 % of the
    budget and follows a cosine down to 1 % of it (:class:`BudgetSchedule`). The budget is
    ``epochs * steps_per_epoch`` steps or ``max_seconds`` of wall time (read from ``clock``),
    whichever runs out first. After every epoch the Y-PSNR on ``val_crops`` fixed crops of
    ``val_images`` is measured (:class:`ValidationPSNR`); the best epoch's weights are restored at
    the end. ``csv_log`` writes Keras' CSV log of every epoch. ``history``: :func:`history_table`.
    Defined in notebook 07, whose live training writes the same ``compile`` and ``fit`` out.
    """
    # The model's own scale is valid by construction, so this comparison is the check of ``scale``.
    if fsrcnn_scale(model) != scale:
        raise ValueError(
            f"the model upscales x{fsrcnn_scale(model)} but scale={scale!r}: "
            f"pass scale={fsrcnn_scale(model)}"
        )
    if epochs < 1 or steps_per_epoch < 1:
        raise ValueError(
            f"epochs and steps_per_epoch must be positive, got {epochs} and {steps_per_epoch}"
        )
    budget = BudgetSchedule(lr, epochs * steps_per_epoch, max_seconds, clock)
    data = make_sr_dataset(train_images, scale, patch_lr, batch_size, seed=seed)
    size = val_patch_size(val_images, scale)
    validation = ValidationPSNR(*validation_crops(val_images, scale, val_crops, size), scale)
    callbacks = [budget, validation]
    callbacks += [keras.callbacks.CSVLogger(str(csv_log))] if csv_log is not None else []
    callbacks += [EpochPrinter()] if verbose else []
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
    fit = model.fit(
        data,  # an endless tf.data pipeline of random patches: it shuffles itself
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )
    if verbose and budget.out_of_time:
        print(f"stop: the {max_seconds:g} s budget is used up after {budget.steps} steps")
    if verbose and validation.best_epoch is not None:
        print(
            f"best validation PSNR {validation.best_psnr:.3f} dB at epoch {validation.best_epoch}"
        )
    return history_table(fit), budget.elapsed()


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
