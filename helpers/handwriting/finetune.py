"""Adapting an MNIST classifier to new writers: fine-tuning three ways, learning curves, and
stratified k-fold cross-validation on the new set.

The three ways (``METHODS``), all starting from the trained MNIST model:

* ``"mixed"``: the whole network trains on part of MNIST mixed with the new samples (the course
  report's approach: the new writers are learned, MNIST is not forgotten);
* ``"whole"``: the whole network trains on the new samples only;
* ``"head"``: only the classifier head (the dense layers after global pooling) trains on the new
  samples; the convolutional features (and batch normalization's statistics) stay as they are.

Every run keeps apart a validation split of its own new training samples and keeps the weights of
the epoch with the lowest validation loss: epochs are chosen on validation data, never on the test fold.
Notebook 05 writes one run out in Keras (``layer.trainable``, ``compile`` with a small learning
rate, ``fit``); :func:`fine_tune` is those lines as a function, which the cross-validation calls.
The folds of :func:`cross_validate` hold out samples, not writers (optdigits has no writer ids).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from helpers.kit import config

METHODS = ("mixed", "whole", "head")


@dataclasses.dataclass(frozen=True)
class FineTuneRecipe:
    """Settings of one fine-tuning run (Adam, cosine decay, light augmentation as in ``data.mnist_augmenter``).

    ``mnist_images`` MNIST training images are mixed in by the "mixed" method; the new samples are
    repeated so that they make up about ``new_share`` of each epoch. ``val_share`` of the new training
    samples are kept apart to pick the best epoch (when no validation set is given).
    """

    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 5e-4
    mnist_images: int = 5000
    new_share: float = 0.5
    val_share: float = 0.15
    augment: bool = True


@dataclasses.dataclass
class FineTuneResult:
    """One fine-tuning run: the model (best validation epoch), its history, that epoch (1-based), and the time."""

    model: Any
    method: str
    history: dict[str, list[float]]
    best_epoch: int
    seconds: float
    train_images: int

    @property
    def best_val_accuracy(self) -> float:
        """Return the validation accuracy of the kept epoch (the one with the lowest validation loss)."""
        return float(self.history["val_accuracy"][self.best_epoch - 1])


def as_model_input(x: np.ndarray) -> np.ndarray:
    """Return images as the kit's models take them: float32 ``(N, 28, 28, 1)`` in [0, 1] (uint8 is divided by 255)."""
    from helpers import data

    x = np.asarray(x)
    if x.dtype == np.uint8:
        return data.to_float_images(x)
    x = x.astype(np.float32)
    return x[..., np.newaxis] if x.ndim == 3 else x


def stratified_order(y: np.ndarray, seed: int = config.DEFAULT_SEED) -> np.ndarray:
    """Return the indices of ``y`` shuffled within each class and dealt out class by class, so that every
    prefix is as balanced as possible (the first 50 hold 5 of each of 10 classes); prefixes nest."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    ranks = np.empty(len(y), dtype=np.float64)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        ranks[rng.permutation(idx)] = np.arange(len(idx)) + rng.uniform(0, 1e-3)
    return np.argsort(ranks, kind="stable")


def split_validation(
    x: np.ndarray, y: np.ndarray, share: float, seed: int = config.DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_fit, y_fit, x_val, y_val)``: a stratified ``share`` of the samples (at least one per
    class) kept apart for validation."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be in (0, 1), got {share}")
    classes = len(np.unique(y))
    n_val = max(int(round(share * len(y))), classes)  # at least one sample of every class
    if len(y) - n_val < classes:
        raise ValueError(
            f"{len(y)} samples are too few to keep a validation split with every one of {classes} "
            "classes and still train on every class: use more samples"
        )
    x_fit, x_val, y_fit, y_val = train_test_split(
        x, y, test_size=n_val, stratify=y, random_state=seed
    )
    return x_fit, y_fit, x_val, y_val


def mix_with_mnist(
    x_new: np.ndarray,
    y_new: np.ndarray,
    x_mnist: np.ndarray,
    y_mnist: np.ndarray,
    mnist_images: int,
    new_share: float = 0.5,
    seed: int = config.DEFAULT_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Return shuffled training images: ``mnist_images`` stratified MNIST images plus the new samples,
    repeated (whole copies, at least one) so that they make up about ``new_share`` of the mix."""
    if not 0.0 < new_share < 1.0:
        raise ValueError(f"new_share must be in (0, 1), got {new_share}")
    rng = np.random.default_rng(seed)
    take = stratified_order(y_mnist, seed)[: int(mnist_images)]
    wanted = new_share / (1.0 - new_share) * len(take)
    copies = max(1, int(round(wanted / max(len(y_new), 1))))
    x = np.concatenate([as_model_input(x_mnist[take])] + [as_model_input(x_new)] * copies)
    y = np.concatenate([np.asarray(y_mnist)[take]] + [np.asarray(y_new)] * copies).astype(np.int64)
    order = rng.permutation(len(y))
    return x[order], y[order]


def head_layer_names(model: Any) -> list[str]:
    """Return the names of the classifier head: the layers after the last global pooling or Flatten layer."""
    import keras

    ends = (
        keras.layers.GlobalAveragePooling2D,
        keras.layers.GlobalMaxPooling2D,
        keras.layers.Flatten,
    )
    last = max((i for i, layer in enumerate(model.layers) if isinstance(layer, ends)), default=None)
    if last is None:
        raise ValueError(
            f"{model.name} has no global pooling or Flatten layer: cannot tell its head from its features"
        )
    return [layer.name for layer in model.layers[last + 1 :]]


def copy_for_fine_tuning(base: Any, method: str) -> Any:
    """Return a copy of ``base`` with its weights, every layer trainable ("mixed", "whole") or only the head ("head")."""
    import keras

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    model = keras.models.clone_model(base)
    model.set_weights(base.get_weights())
    head = set(head_layer_names(model)) if method == "head" else None
    for layer in model.layers:
        layer.trainable = head is None or layer.name in head
    return model


def compile_for_fine_tuning(model: Any, learning_rate: float, total_steps: int) -> None:
    """Compile ``model`` with Adam at ``learning_rate`` decaying along a cosine to 0 over ``total_steps``.

    Defined in notebook 05: sparse cross-entropy on the softmax outputs, accuracy as the metric.
    """
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=int(total_steps))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def _training_set(
    x_new: np.ndarray,
    y_new: np.ndarray,
    method: str,
    mnist: tuple[np.ndarray, np.ndarray] | None,
    recipe: FineTuneRecipe,
    validation: tuple[np.ndarray, np.ndarray] | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_val, y_val)`` of one fine-tuning run: float32 images ``(n, 28, 28, 1)``.

    The validation samples are ``validation`` or a stratified ``recipe.val_share`` of the new ones;
    "mixed" adds MNIST images to the training set (:func:`mix_with_mnist`).
    """
    if validation is None:
        x_new, y_new, x_val, y_val = split_validation(x_new, y_new, recipe.val_share, seed)
    else:
        x_val, y_val = validation
    if method == "mixed":
        x_train, y_train = mix_with_mnist(
            x_new, y_new, *mnist, recipe.mnist_images, recipe.new_share, seed
        )
    else:
        x_train, y_train = as_model_input(x_new), np.asarray(y_new, dtype=np.int64)
    return x_train, y_train, as_model_input(x_val), np.asarray(y_val, dtype=np.int64)


def fine_tune(
    base: Any,
    x_new: np.ndarray,
    y_new: np.ndarray,
    method: str = "mixed",
    mnist: tuple[np.ndarray, np.ndarray] | None = None,
    recipe: FineTuneRecipe = FineTuneRecipe(),
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = config.DEFAULT_SEED,
) -> FineTuneResult:
    """Return a copy of ``base`` fine-tuned on the new samples by ``method`` (see the module docstring).

    Defined in notebook 05. ``x_new``: images ``(n, 28, 28)`` uint8 or ``(n, 28, 28, 1)`` in [0, 1];
    ``mnist`` is ``(x_train, y_train)`` of MNIST, needed by "mixed". ``validation`` is ``(x, y)`` of
    new samples to choose the epoch on; by default ``recipe.val_share`` of ``x_new`` is kept apart.
    """
    import keras

    from helpers import data

    if method == "mixed" and mnist is None:
        raise ValueError(
            "method 'mixed' needs mnist=(x_train, y_train) to mix with the new samples"
        )
    x_train, y_train, x_val, y_val = _training_set(
        x_new, y_new, method, mnist, recipe, validation, seed
    )
    config.set_seed(seed)
    model = copy_for_fine_tuning(base, method)
    steps = int(np.ceil(len(y_train) / recipe.batch_size)) * recipe.epochs
    compile_for_fine_tuning(model, recipe.learning_rate, steps)
    augment = data.mnist_augmenter(seed=seed) if recipe.augment else None
    train_ds = data.make_dataset(
        x_train, y_train, recipe.batch_size, shuffle=True, seed=seed, augment=augment
    )
    # Keeps the weights of the epoch with the lowest validation loss (accuracy ties too often on a
    # few hundred validation digits); patience = epochs, so it never stops early.
    keep_best = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=recipe.epochs, restore_best_weights=True
    )
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        validation_data=(x_val, y_val),
        validation_batch_size=512,
        epochs=recipe.epochs,
        shuffle=False,  # train_ds shuffles itself
        callbacks=[keep_best],
        verbose=0,
    )
    return FineTuneResult(
        model=model,
        method=method,
        history=dict(history.history),
        best_epoch=int(keep_best.best_epoch) + 1,
        seconds=time.perf_counter() - start,
        train_images=len(y_train),
    )


def stratified_folds(
    y: np.ndarray, n_splits: int = 5, seed: int = config.DEFAULT_SEED
) -> tuple[list[tuple[np.ndarray, np.ndarray]], Any]:
    """Return ``(folds, table)``: ``(train_idx, test_idx)`` of each fold of
    ``sklearn.model_selection.StratifiedKFold`` (shuffled, seeded), and a table with one row per fold
    (1..k): number of training and test samples, then the test count of every class."""
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    folds = list(splitter.split(np.zeros(len(y)), y))
    classes = np.unique(y)
    rows = []
    for train_idx, test_idx in folds:
        counts = {f"test {c}": int(np.sum(y[test_idx] == c)) for c in classes}
        rows.append({"train": len(train_idx), "test": len(test_idx), **counts})
    table = pd.DataFrame(rows, index=pd.RangeIndex(1, n_splits + 1, name="fold"))
    return folds, table


@dataclasses.dataclass
class CrossValidation:
    """Results of :func:`cross_validate`: a table with one row per (fold, method), out-of-fold predictions."""

    table: Any
    folds: list[tuple[np.ndarray, np.ndarray]]
    fold_table: Any
    predictions: dict[str, np.ndarray]  # method -> out-of-fold predicted labels, plus "zero-shot"
    confidences: dict[str, np.ndarray]

    def summary(self):
        """Return mean and standard deviation (over folds, ddof=1) of each measure, by method."""
        measures = [
            c for c in ("accuracy", "mnist_accuracy", "best_epoch", "seconds") if c in self.table
        ]
        grouped = self.table.groupby("method", sort=False)[measures]
        summary = grouped.agg(["mean", "std"])
        summary.columns = [f"{m} {s}" for m, s in summary.columns]
        return summary

    def accuracy(self, method: str) -> tuple[float, float]:
        """Return the mean and standard deviation (ddof=1) over folds of ``method``'s accuracy."""
        values = self.table.loc[self.table["method"] == method, "accuracy"]
        if values.empty:
            raise KeyError(
                f"no results for method {method!r}; methods: {self.table['method'].unique()}"
            )
        return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _mnist_accuracy(model: Any, mnist_test: tuple[np.ndarray, np.ndarray] | None) -> float:
    """Return ``model``'s accuracy on MNIST test images ``(x, y)``, or NaN if there are none."""
    from helpers import evaluation

    if mnist_test is None:
        return float("nan")
    return evaluation.accuracy(mnist_test[1], evaluation.predict_classes(model, mnist_test[0])[0])


def _row(fold: int, method: str, accuracy: float, mnist_accuracy: float, run: Any = None) -> dict:
    """Return one row of the cross-validation table (``run``: the FineTuneResult, None for zero-shot)."""
    return {
        "fold": fold,
        "method": method,
        "accuracy": accuracy,
        "mnist_accuracy": mnist_accuracy,
        "best_epoch": run.best_epoch if run else 0,
        "seconds": run.seconds if run else 0.0,
    }


def cross_validate(
    base: Any,
    x: np.ndarray,
    y: np.ndarray,
    methods: Sequence[str] = METHODS,
    mnist: tuple[np.ndarray, np.ndarray] | None = None,
    mnist_test: tuple[np.ndarray, np.ndarray] | None = None,
    recipe: FineTuneRecipe = FineTuneRecipe(),
    n_splits: int = 5,
    seed: int = config.DEFAULT_SEED,
    progress: bool = True,
) -> CrossValidation:
    """Return a :class:`CrossValidation`: ``base`` fine-tuned by each method on k-1 folds, tested on the last.

    The folds (stratified, :func:`stratified_folds`) hold out samples. The "zero-shot" rows are
    ``base`` itself on each test fold. ``mnist_test`` ``(x, y)`` adds the MNIST test accuracy of each
    fine-tuned model (how much of MNIST it forgot). ``progress`` prints one line per fold.
    """
    import pandas as pd

    from helpers import evaluation

    folds, fold_table = stratified_folds(y, n_splits, seed)
    x_all, y = as_model_input(x), np.asarray(y, dtype=np.int64)
    zero_pred, zero_conf = evaluation.predict_classes(base, x_all)
    base_mnist = _mnist_accuracy(base, mnist_test)
    predictions = {"zero-shot": zero_pred, **{m: np.full(len(y), -1) for m in methods}}
    confidences = {"zero-shot": zero_conf, **{m: np.zeros(len(y)) for m in methods}}
    rows = []
    for k, (train_idx, test_idx) in enumerate(folds):
        zero = evaluation.accuracy(y[test_idx], zero_pred[test_idx])
        rows.append(_row(k + 1, "zero-shot", zero, base_mnist))
        for method in methods:
            run = fine_tune(
                base, x_all[train_idx], y[train_idx], method, mnist, recipe, seed=seed + k
            )
            pred, conf = evaluation.predict_classes(run.model, x_all[test_idx])
            predictions[method][test_idx], confidences[method][test_idx] = pred, conf
            accuracy = evaluation.accuracy(y[test_idx], pred)
            rows.append(_row(k + 1, method, accuracy, _mnist_accuracy(run.model, mnist_test), run))
        if progress:
            done = ", ".join(
                f"{r['method']} {r['accuracy']:.2%}" for r in rows[-1 - len(methods) :]
            )
            print(f"fold {k + 1}/{len(folds)}: {done}", flush=True)
    table = pd.DataFrame(rows)
    return CrossValidation(table, folds, fold_table, predictions, confidences)


def learning_curve(
    base: Any,
    x_pool: np.ndarray,
    y_pool: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    sizes: Sequence[int] = (0, 50, 100, 200, 500),
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    method: str = "mixed",
    mnist: tuple[np.ndarray, np.ndarray] | None = None,
    recipe: FineTuneRecipe = FineTuneRecipe(),
    seed: int = config.DEFAULT_SEED,
) -> Any:
    """Return a DataFrame (one row per size): accuracy on ``(x_test, y_test)`` after fine-tuning on the
    first ``n`` new samples of ``x_pool`` in :func:`stratified_order` (nested, balanced), best epoch, seconds.

    ``n = 0`` is ``base`` itself (zero-shot). ``validation`` (new samples kept out of the pool) picks
    the epoch of every run; by default a stratified ``recipe.val_share`` of the pool is kept apart.
    """
    import pandas as pd

    from helpers import evaluation

    if validation is None:
        x_pool, y_pool, *validation = split_validation(x_pool, y_pool, recipe.val_share, seed)
    order = stratified_order(y_pool, seed)
    too_many = [n for n in sizes if n > len(order)]
    if too_many:
        raise ValueError(f"sizes {too_many} exceed the {len(order)} samples available for training")
    x_test_in = as_model_input(x_test)
    rows = []
    for n in sizes:
        run = None
        if n == 0:
            model = base
        else:
            take = order[:n]
            run = fine_tune(
                base, x_pool[take], y_pool[take], method, mnist, recipe, tuple(validation), seed
            )
            model = run.model
        pred = evaluation.predict_classes(model, x_test_in)[0]
        rows.append(
            {
                "new samples": int(n),
                "accuracy": evaluation.accuracy(y_test, pred),
                "best_epoch": run.best_epoch if run else 0,
                "seconds": run.seconds if run else 0.0,
            }
        )
    return pd.DataFrame(rows)
