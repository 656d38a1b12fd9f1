"""Keras callbacks of the kit: per-class validation accuracy, epoch timing, one compact line per epoch,
validation with the weight average (EMA).

:class:`PerClassAccuracy` writes ``val_accuracy_class_0 .. val_accuracy_class_{C-1}`` into the epoch
``logs``, so the values appear in ``History``, ``CSVLogger`` and ``TensorBoard`` like any metric
(list it *before* those callbacks). ``helpers.figures.plot_per_class_accuracy(history)`` draws them.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from helpers.evaluation import per_class_accuracy

KEY_PREFIX = "val_accuracy_class_"


def per_class_key(k: int) -> str:
    """Return the log key of class ``k``'s validation accuracy, e.g. ``"val_accuracy_class_3"``."""
    return f"{KEY_PREFIX}{int(k)}"


def _as_class_indices(y: np.ndarray, name: str) -> np.ndarray:
    """Return integer class indices from integer labels (N,) / (N, 1) or one-hot / probability rows (N, C)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be integer labels (N,) or one-hot rows (N, C); got shape {y.shape}"
        )
    return y.astype(np.int64)


class PerClassAccuracy(keras.callbacks.Callback):
    """After each epoch, add ``val_accuracy_class_{k}`` (k = 0..C-1) to the epoch logs.

    ``validation_data`` is ``(x, y)`` NumPy arrays or a ``tf.data.Dataset`` yielding batches
    ``(x, y)``; labels may be integers or one-hot rows. The model's output may be logits or
    probabilities (the arg-max is the same). The number of classes C is the width of the model's
    output, not the set of labels present: a class with no validation sample gets NaN.
    One prediction pass per epoch; the per-class values of every epoch are also kept in
    ``self.per_epoch`` (a list of arrays of shape (C,)).
    """

    def __init__(self, validation_data, batch_size: int = 512, every: int = 1):
        super().__init__()
        if batch_size <= 0 or every <= 0:
            raise ValueError(f"batch_size and every must be positive, got {batch_size} and {every}")
        self.batch_size = int(batch_size)
        self.every = int(every)
        self.per_epoch: list[np.ndarray] = []
        if isinstance(validation_data, (tuple, list)):
            if len(validation_data) != 2:
                raise ValueError(
                    "validation_data must be (x, y) or a tf.data.Dataset of (x, y) batches"
                )
            x, y = validation_data
            if len(x) != len(y):
                raise ValueError(f"validation_data x and y differ in length: {len(x)} vs {len(y)}")
            self._labels = _as_class_indices(y, "validation_data y")
            self._x, self._dataset = self._cached_batches(np.asarray(x)), None
        elif hasattr(validation_data, "element_spec"):
            spec = validation_data.element_spec
            if not isinstance(spec, tuple) or len(spec) < 2:
                raise ValueError(
                    "the validation dataset must yield (x, y) batches, e.g. make_dataset(x_val, y_val)"
                )
            self._x, self._labels, self._dataset = None, None, validation_data
        else:
            raise TypeError(
                f"validation_data must be a tuple (x, y) or a tf.data.Dataset, got {type(validation_data).__name__}"
            )

    def _cached_batches(self, x: np.ndarray):
        """Return ``x`` as a cached, batched dataset: built once, it makes each epoch's pass about 3x cheaper."""
        import tensorflow as tf

        return (
            tf.data.Dataset.from_tensor_slices(x)
            .batch(self.batch_size)
            .cache()
            .prefetch(tf.data.AUTOTUNE)
        )

    def _num_classes(self) -> int:
        """Return the width of the model's output (the number of classes)."""
        width = self.model.outputs[0].shape[-1] if getattr(self.model, "outputs", None) else None
        if width is None or int(width) < 2:
            raise ValueError(
                f"PerClassAccuracy needs a model with one output of C >= 2 class scores, got width {width}"
            )
        return int(width)

    def _true_and_predicted(self) -> tuple[np.ndarray, np.ndarray]:
        """Return true and predicted class indices over the validation data, from one prediction pass."""
        if self._dataset is None:
            scores = self.model.predict(self._x, verbose=0)
            return self._labels, np.argmax(scores, axis=-1)
        # Labels are collected in the same pass, so a reshuffling dataset stays aligned.
        true_parts, pred_parts = [], []
        for batch in self._dataset:
            xb, yb = batch[0], batch[1]
            pred_parts.append(np.argmax(np.asarray(self.model.predict_on_batch(xb)), axis=-1))
            true_parts.append(_as_class_indices(np.asarray(yb), "validation dataset labels"))
        return np.concatenate(true_parts), np.concatenate(pred_parts)

    def compute(self) -> np.ndarray:
        """Return the current model's accuracy on each class of the validation data, shape (C,)."""
        num_classes = self._num_classes()
        true_idx, pred_idx = self._true_and_predicted()
        if true_idx.size and (true_idx.min() < 0 or true_idx.max() >= num_classes):
            raise ValueError(
                f"validation labels must lie in 0..{num_classes - 1} (the model has {num_classes} outputs)"
            )
        return per_class_accuracy(true_idx, pred_idx, num_classes)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None or (epoch + 1) % self.every:
            return
        values = self.compute()
        self.per_epoch.append(values)
        for k, value in enumerate(values):
            logs[per_class_key(k)] = float(value)


class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock seconds of every epoch in ``self.epoch_seconds`` (training + validation)."""

    def __init__(self):
        super().__init__()
        self.epoch_seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._start)


class EpochLine(keras.callbacks.Callback):
    """Print one short line per epoch: loss, accuracy, validation loss and accuracy, seconds."""

    KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")

    def __init__(self, total_epochs: int | None = None):
        super().__init__()
        self.total_epochs = total_epochs
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        total = f"/{self.total_epochs}" if self.total_epochs else ""
        parts = [f"{k} {logs[k]:.4f}" for k in self.KEYS if k in logs]
        print(
            f"epoch {epoch + 1:>3}{total}  "
            + "  ".join(parts)
            + f"  ({time.perf_counter() - self._start:.0f} s)",
            flush=True,
        )


class ValidateWithEMA(keras.callbacks.SwapEMAWeights):
    """Evaluate with the optimizer's weight average (EMA) during ``fit``; a no-op without one.

    With ``use_ema=True`` Keras trains the raw weights and copies the average into the model only
    when ``fit`` ends, so every ``val_*`` value of the history (and a tuner's objective) would be
    that of the raw weights, not of the model one gets. Keras' ``SwapEMAWeights`` swaps the average
    in for each evaluation and back afterwards, but refuses an optimizer without EMA; this subclass
    lets one callback list serve every trial of a grid, with and without EMA.
    """

    def _uses_ema(self) -> bool:
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        return bool(getattr(optimizer, "use_ema", False))

    def on_test_begin(self, logs=None):
        if self._uses_ema():
            super().on_test_begin(logs)

    def on_test_end(self, logs=None):
        if self._uses_ema():
            super().on_test_end(logs)

    def on_predict_begin(self, logs=None):
        if self._uses_ema():
            super().on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        if self._uses_ema():
            super().on_predict_end(logs)
