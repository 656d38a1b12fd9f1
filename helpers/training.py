"""Training recipes and ``train_classifier``, the ``compile`` + ``fit`` of notebooks 01 and 02 as one call.

Notebooks 01 and 02 write their trainings out (``model.compile(optimizer, loss, metrics)``,
``model.fit(..., validation_data=..., callbacks=[...])``); later notebooks that train the same
kind of classifier call ``train_classifier(model, splits, **recipe("tiny_cnn"))``: it compiles a
model from ``helpers.models`` (softmax outputs) with Adam/AdamW or SGD and sparse categorical
cross-entropy, fits it on ``x_train`` while validating on ``x_val`` (the test set is never used for
choices), and returns a :class:`TrainingResult` (history, wall time, per-epoch seconds and learning
rates). ``RECIPES`` holds the full-mode hyper-parameters that reach each model's target;
:func:`recipe` shortens them in quick mode.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from helpers import data
from helpers.callbacks import EpochLine, EpochTimer, ValidateWithEMA
from helpers.kit import config
from helpers.schedules import learning_rate_schedule

OPTIMIZERS = ("adam", "sgd", "sgd_momentum", "rmsprop", "adamw")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Full-mode hyper-parameters of one model, and the epochs (and batch size) used in quick mode.

    A quick-mode run sees a few thousand images; ``quick_batch_size`` lets it still take a few hundred
    steps, which batch normalization's running statistics need before the model is usable.
    """

    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    optimizer: str = "adam"
    augment: bool | str = False
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    focal_gamma: float = 0.0
    ema_momentum: float | None = None
    quick_epochs: int = 1
    quick_batch_size: int | None = None


# The recipes of the notebooks that write these trainings out (01: MLPs, 02: CNNs, 03: ResNet,
# 06: strong CNN); their measured accuracies are in reports/metrics/.
RECIPES: dict[str, Recipe] = {
    # The course report's setting: plain SGD, constant rate, 30 epochs (about 96% test).
    "mlp_baseline": Recipe(
        epochs=30,
        batch_size=128,
        learning_rate=0.01,
        schedule="constant",
        optimizer="sgd",
        quick_epochs=2,
    ),
    # Notebook 01's tuned MLP: Adam, one-cycle peak 3e-3, light augmentation, 60 epochs.
    "mlp_tuned": Recipe(
        epochs=60,
        batch_size=128,
        learning_rate=3e-3,
        schedule="onecycle",
        augment=True,
        quick_epochs=2,
    ),
    "small_cnn": Recipe(
        epochs=15, batch_size=128, learning_rate=1e-3, schedule="constant", quick_epochs=2
    ),
    # Notebook 02's recipe (affine augmentation, one-cycle, weight EMA, 30 epochs); notebook 06
    # measures it over seeds. Quick mode: batches of 16, enough steps for batch norm's statistics.
    "tiny_cnn": Recipe(
        epochs=30,
        batch_size=128,
        learning_rate=1e-2,
        schedule="onecycle",
        augment="affine",
        ema_momentum=0.999,
        quick_epochs=2,
        quick_batch_size=16,
    ),
    "lenet5": Recipe(
        epochs=15, batch_size=128, learning_rate=1e-3, schedule="cosine", quick_epochs=1
    ),
    "five_layer_cnn": Recipe(
        epochs=10, batch_size=128, learning_rate=1e-3, schedule="cosine", quick_epochs=1
    ),
    "resnet": Recipe(
        epochs=15,
        batch_size=128,
        learning_rate=2e-3,
        schedule="onecycle",
        augment=True,
        quick_epochs=2,
        quick_batch_size=32,
    ),
    # Used only when a notebook asks artifacts.load_or_train for a strong CNN that no notebook saved
    # (notebook 08 on a fresh machine). It is notebook 06's base recipe, which 06's ablation kept
    # (no change beat it clearly); the model's default BN momentum is that recipe's 0.9.
    "strong_cnn": Recipe(
        epochs=25,
        batch_size=128,
        learning_rate=2e-3,
        schedule="onecycle",
        augment="affine",
        quick_epochs=1,
        quick_batch_size=32,
    ),
}


def recipe(name: str, quick: bool | None = None) -> dict[str, Any]:
    """Return ``name``'s recipe as keyword arguments for :func:`train_classifier`.

    ``quick`` (default: the run mode) gives the recipe's quick-mode epochs and batch size.
    """
    if name not in RECIPES:
        raise KeyError(f"no recipe for {name!r}; recipes exist for {', '.join(RECIPES)}")
    settings = dataclasses.asdict(RECIPES[name])
    quick_epochs, quick_batch_size = settings.pop("quick_epochs"), settings.pop("quick_batch_size")
    if config.is_quick() if quick is None else quick:
        settings["epochs"], settings["batch_size"] = (
            quick_epochs,
            quick_batch_size or settings["batch_size"],
        )
    return settings


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train_classifier` returns: the model, its history, and how long training took."""

    model: Any
    history: dict[str, list[float]]
    seconds: float
    epoch_seconds: list[float]
    learning_rates: list[float] = dataclasses.field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Return the number of epochs actually trained."""
        return len(self.epoch_seconds)

    def final(self, key: str = "val_accuracy") -> float:
        """Return the last epoch's value of ``key`` (e.g. ``"val_accuracy"``)."""
        if key not in self.history:
            raise KeyError(f"{key!r} is not in the history; keys: {', '.join(self.history)}")
        return float(self.history[key][-1])

    def epoch_table(self, key: str = "val_accuracy"):
        """Return a DataFrame by epoch (1, 2, ...): learning rate / its peak, ``key``, change from the epoch before.

        The learning rate is that of the epoch's last step (see :func:`learning_rates_per_epoch`);
        the change of epoch 1 is NaN.
        """
        import pandas as pd

        if key not in self.history:
            raise KeyError(f"{key!r} is not in the history; keys: {', '.join(self.history)}")
        values = np.asarray(self.history[key], dtype=float)
        table = pd.DataFrame(
            {key: values, "change": np.concatenate([[np.nan], np.diff(values)])},
            index=pd.RangeIndex(1, len(values) + 1, name="epoch"),
        )
        if len(self.learning_rates) == len(values):
            rates = np.asarray(self.learning_rates, dtype=float)
            table.insert(0, "learning rate / peak", rates / rates.max())
        return table


def learning_rates_per_epoch(
    schedule: str, learning_rate: float, epochs: int, steps_per_epoch: int
) -> list[float]:
    """Return the learning rate of the last step of each epoch, as ``train_classifier`` schedules it.

    ``steps_per_epoch`` is ``ceil(training images / batch size)``; the schedule spans
    ``epochs * steps_per_epoch`` steps (one-cycle: warm-up over the first 20% of them).
    """
    if int(epochs) <= 0 or int(steps_per_epoch) <= 0:
        raise ValueError(
            f"epochs and steps_per_epoch must be positive, got {epochs} and {steps_per_epoch}"
        )
    rate = learning_rate_schedule(schedule, learning_rate, int(epochs) * int(steps_per_epoch))
    if not callable(rate):
        return [float(rate)] * int(epochs)
    # The optimizer's step counter starts at 0: the last step of epoch e is step e*spe - 1.
    return [float(rate(e * int(steps_per_epoch) - 1)) for e in range(1, int(epochs) + 1)]


def make_optimizer(
    name: str, learning_rate, weight_decay: float = 0.0, ema_momentum: float | None = None
):
    """Return a Keras optimizer by name, at ``learning_rate`` (a float or a Keras schedule).

    ``adam`` (AdamW when ``weight_decay`` > 0), ``sgd`` (no momentum), ``sgd_momentum`` (0.9),
    ``rmsprop``, ``adamw`` (``weight_decay``, or Keras' default 0.004 when it is 0).
    ``ema_momentum`` (e.g. 0.999) turns on Keras' built-in exponential moving average of the
    weights (``use_ema=True``): ``fit`` trains the raw weights and, when it ends, replaces them by
    their average (``optimizer.finalize_variable_values``), the weights that are then evaluated and
    saved. A bare ``fit`` validates the raw weights; :func:`train_classifier` adds
    ``callbacks.ValidateWithEMA`` so that its history is that of the averaged weights.
    """
    import keras

    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
    if isinstance(learning_rate, (int, float)) and not float(learning_rate) > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if ema_momentum is not None and not 0.0 < float(ema_momentum) < 1.0:
        raise ValueError(f"ema_momentum must be in (0, 1) or None, got {ema_momentum!r}")
    kw = {"learning_rate": learning_rate}
    if ema_momentum:
        kw.update(use_ema=True, ema_momentum=float(ema_momentum))
    if name == "adamw" or (name == "adam" and weight_decay > 0):
        return keras.optimizers.AdamW(
            **kw, **({"weight_decay": weight_decay} if weight_decay else {})
        )
    if name == "adam":
        return keras.optimizers.Adam(**kw)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(**kw, weight_decay=weight_decay or None)
    momentum = 0.9 if name == "sgd_momentum" else 0.0
    return keras.optimizers.SGD(**kw, momentum=momentum, weight_decay=weight_decay or None)


def ema_momentum_for(momentum: float, total_steps: int) -> float:
    """The EMA momentum for a run of ``total_steps``: ``momentum``, capped by the budget.

    An average with momentum m spans about 1 / (1 - m) steps. With 0.999 that is 1,000 steps: fine
    for a full run of 10,000 steps, but a quick run of 50 steps would end with the weights of its
    first steps. So the momentum is at most ``1 - 10 / total_steps`` (the average spans at least
    the last tenth of the run), and at least 0.5.
    """
    if not 0.0 < float(momentum) < 1.0:
        raise ValueError(f"ema_momentum must be in (0, 1) or None, got {momentum!r}")
    if int(total_steps) <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps!r}")
    return max(0.5, min(float(momentum), 1.0 - 10.0 / int(total_steps)))


def make_loss(label_smoothing: float = 0.0, focal_gamma: float = 0.0):
    """Return the classification loss for softmax outputs, and whether it needs one-hot targets.

    Plain sparse cross-entropy by default; ``label_smoothing`` > 0 gives Keras'
    ``CategoricalCrossentropy(label_smoothing=...)``; ``focal_gamma`` > 0 gives Keras'
    ``CategoricalFocalCrossentropy(gamma=focal_gamma, alpha=1)`` (Lin et al. 2017: the loss of an
    example is scaled by ``(1 - p_true) ** gamma``, so confidently right examples count less; alpha
    stays 1 because MNIST's classes are balanced), with the same label smoothing.
    """
    import keras

    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if focal_gamma < 0:
        raise ValueError(f"focal_gamma must be >= 0 (0 = plain cross-entropy), got {focal_gamma}")
    if focal_gamma > 0:
        loss = keras.losses.CategoricalFocalCrossentropy(
            alpha=1.0, gamma=float(focal_gamma), label_smoothing=label_smoothing
        )
        return loss, True
    if label_smoothing > 0:
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing), True
    return keras.losses.SparseCategoricalCrossentropy(), False


def compile_classifier(
    model, optimizer, label_smoothing: float = 0.0, focal_gamma: float = 0.0
) -> bool:
    """Compile ``model`` (softmax outputs) with :func:`make_loss` and accuracy.

    Returns True when the loss needs one-hot targets (label smoothing or focal loss).
    """
    loss, one_hot = make_loss(label_smoothing, focal_gamma)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return one_hot


def _targets(y: np.ndarray, num_classes: int, one_hot: bool) -> np.ndarray:
    """Return integer labels as they are, or as float32 one-hot rows."""
    return np.eye(num_classes, dtype=np.float32)[y] if one_hot else y


def _check_fit_arguments(splits: dict, epochs: int, batch_size: int, verbose: int) -> None:
    """Raise a clear error for missing splits or an impossible epochs / batch_size / verbose."""
    missing = [k for k in ("x_train", "y_train", "x_val", "y_val") if k not in splits]
    if missing:
        raise KeyError(
            f"splits lacks {missing}; pass the dict returned by data.load_mnist_splits()"
        )
    if int(epochs) <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose}")
    if int(batch_size) <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")


def _datasets(splits: dict, num_classes: int, one_hot: bool, batch_size: int, augment, seed: int):
    """Return the shuffled (and augmented) training dataset and the validation dataset (or None)."""
    if isinstance(augment, str):
        from helpers.augment import make_augmenter

        augmenter = make_augmenter(augment, seed=seed)
    else:
        augmenter = data.mnist_augmenter(seed=seed) if augment is True else (augment or None)
    train_ds = data.make_dataset(
        splits["x_train"],
        _targets(splits["y_train"], num_classes, one_hot),
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        augment=augmenter,
    )
    if not len(splits["x_val"]):
        return train_ds, None
    y_val = _targets(splits["y_val"], num_classes, one_hot)
    return train_ds, data.make_dataset(splits["x_val"], y_val, batch_size=512)


def train_classifier(
    model,
    splits: dict[str, np.ndarray],
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    schedule: str = "cosine",
    optimizer: str = "adam",
    augment: bool | str | Callable = False,
    label_smoothing: float = 0.0,
    weight_decay: float = 0.0,
    focal_gamma: float = 0.0,
    ema_momentum: float | None = None,
    callbacks: Sequence = (),
    verbose: int = 1,
    seed: int = config.DEFAULT_SEED,
) -> TrainingResult:
    """Compile ``model``, fit it on ``splits["x_train"]`` validating on ``x_val``; return a :class:`TrainingResult`.

    The ``compile`` + ``fit`` that notebooks 01 and 02 write out, with a recipe's settings as
    arguments (Defined in notebook 01; the EMA and affine augmentation of notebook 02's tiny CNN).
    ``augment``: True (``data.mnist_augmenter``), False, a name of ``augment.AUGMENTERS`` or a
    callable. ``focal_gamma`` / ``label_smoothing``: :func:`make_loss`; ``ema_momentum``:
    :func:`make_optimizer`, capped for short runs by :func:`ema_momentum_for`. ``verbose``: 0 silent,
    1 one line per epoch, 2 Keras' lines. ``callbacks`` run before the kit's timer, so values they
    add to the logs (e.g. ``PerClassAccuracy``) land in the history.
    """
    _check_fit_arguments(splits, epochs, batch_size, verbose)
    epochs, steps_per_epoch = int(epochs), int(np.ceil(len(splits["x_train"]) / batch_size))
    lr = learning_rate_schedule(schedule, learning_rate, steps_per_epoch * epochs)
    if ema_momentum is not None:
        ema_momentum = ema_momentum_for(ema_momentum, steps_per_epoch * epochs)
    optimizer = make_optimizer(optimizer, lr, weight_decay, ema_momentum)
    one_hot = compile_classifier(model, optimizer, label_smoothing, focal_gamma)
    num_classes = int(model.outputs[0].shape[-1])
    train_ds, val_ds = _datasets(splits, num_classes, one_hot, batch_size, augment, seed)
    timer = EpochTimer()
    kit_callbacks = [timer] + ([EpochLine(epochs)] if verbose == 1 else [])
    if ema_momentum is not None:  # the history's val_* are then those of the averaged weights
        kit_callbacks.insert(0, ValidateWithEMA())
    start = time.perf_counter()
    history = model.fit(  # the dataset is shuffled each epoch already
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        shuffle=False,
        callbacks=list(callbacks) + kit_callbacks,
        verbose=2 if verbose == 2 else 0,
    )
    seconds = time.perf_counter() - start
    rates = learning_rates_per_epoch(schedule, learning_rate, epochs, steps_per_epoch)
    return TrainingResult(
        model=model,
        history=dict(history.history),
        seconds=seconds,
        epoch_seconds=timer.epoch_seconds,
        learning_rates=rates[: len(timer.epoch_seconds)],
    )


def quick_train(name: str, splits: dict[str, np.ndarray], verbose: int = 0) -> Any:
    """Return the classifier ``name`` built and trained with its recipe at quick-mode length (epochs, batch).

    Used by ``artifacts.load_or_train`` when a later notebook needs a model that no earlier notebook
    saved (e.g. on a fresh Colab VM): the model works, its accuracy is below the full recipe's.
    """
    from helpers import models

    settings = recipe(name, quick=True)
    model = models.build_classifier(name)
    train_classifier(model, dict(splits), verbose=verbose, **settings)
    return model
