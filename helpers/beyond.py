"""Notebook 06's experiments past 99.5%: the ablation of the tricks, the recipe, ensembles, mistakes.

* :data:`BASE` / :data:`TECHNIQUES` / :func:`technique_settings`: the base recipe (affine
  augmentation, warm-up + cosine, batch-norm momentum 0.9) and one change of it per row (no or more
  augmentation, a constant learning rate, Keras' default BN momentum, label smoothing, focal loss,
  weight EMA, CBAM), as plain settings dicts;
* :func:`ablation_build_fn`: the KerasTuner ``build_fn`` that trains each technique on the same
  model and budget (``tuning.grid_tuner``, several seeds);
* :func:`choose_recipe`: the base recipe with the changes that clearly beat it on validation;
* :func:`train_member`: one model trained with a recipe (augmentation inside ``tf.data``);
* :func:`ensemble_probabilities`, :func:`members_table`, :func:`label_noise_candidates`;
* :func:`tta_probabilities` (test-time augmentation with :func:`shift_batch`);
* :func:`export_model`: the ``.keras`` file and a TensorFlow SavedModel, checked by reloading both.

TensorFlow and Keras load on first use: ``import helpers.beyond`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# The base recipe: what long MNIST runs use (Deotte's Kaggle CNNs, An et al. 2020), written as
# settings. The ablation switches one technique at a time on or off *relative to this recipe*
# (leave one out / add one in), at a budget long enough for the schedule to run its course: a
# first design that added each technique to a bare baseline for ~470 steps measured mostly batch
# norm's lag at Keras' default momentum 0.99 (notebook 06 tells that story).
BASE: dict[str, Any] = {
    "augment": "affine",
    "label_smoothing": 0.0,
    "focal_gamma": 0.0,
    "schedule": "onecycle",
    "bn_momentum": 0.9,
    "ema": False,
    "cbam": False,
}
EMA_MOMENTUM = 0.999
BASELINE = "base recipe"
# One change of BASE per row; the groups say which options exclude each other (the augmentation:
# none, affine or affine + elastic).
TECHNIQUES: dict[str, dict[str, Any]] = {
    BASELINE: {},
    "no augmentation": {"augment": "none"},
    "affine + elastic": {"augment": "affine+elastic"},
    "constant learning rate": {"schedule": "constant"},
    "BN momentum 0.99 (Keras default)": {"bn_momentum": 0.99},
    "label smoothing 0.1": {"label_smoothing": 0.1},
    "focal loss (gamma 2)": {"focal_gamma": 2.0},
    "weight EMA (0.999)": {"ema": True},
    "CBAM attention": {"cbam": True},
}


def technique_settings(name: str) -> dict[str, Any]:
    """The full settings of row ``name``: :data:`BASE` with that row's one change."""
    if name not in TECHNIQUES:
        raise KeyError(f"unknown technique {name!r}; choose one of: {', '.join(TECHNIQUES)}")
    return {**BASE, **TECHNIQUES[name]}


def describe(settings: Mapping[str, Any], full: bool = False) -> str:
    """A short text of the settings that differ from :data:`BASE` (:data:`BASELINE` if none).

    With ``full=True``, every setting is listed (``augment=affine, ...``).
    """
    if full:
        return ", ".join(f"{k}={settings[k]}" for k in BASE if k in settings)
    parts = [f"{k}={v}" for k, v in settings.items() if k in BASE and BASE[k] != v]
    return ", ".join(parts) or BASELINE


def _loss_and_targets(settings: Mapping[str, Any]):
    """The loss for one-hot targets (the ablation always feeds one-hot labels)."""
    import keras

    from helpers import training

    loss, one_hot = training.make_loss(settings["label_smoothing"], settings["focal_gamma"])
    return loss if one_hot else keras.losses.CategoricalCrossentropy()


def build_model(settings: Mapping[str, Any], width: int = 16, augmenter_seed: int | None = None):
    """The strong CNN of ``settings`` (BN momentum, CBAM), with its augmenter in front if any.

    In front of the model, Keras' augmentation layers work during ``fit`` only and are the
    identity in ``evaluate``/``predict``: that is how one KerasTuner grid can switch augmentation
    per trial. (:func:`train_member` puts it in the ``tf.data`` pipeline instead.)
    """
    import keras

    from helpers import augment, models

    core = models.build_strong_cnn(
        width=width, bn_momentum=settings["bn_momentum"], cbam=settings["cbam"]
    )
    if settings["augment"] == "none":
        return core
    if augmenter_seed is None:
        augmenter_seed = int(np.random.randint(0, 2**31 - 16))  # seeded by the tuner's trial seed
    augmenter = augment.make_augmenter(settings["augment"], seed=augmenter_seed)
    inputs = keras.Input(shape=models.MNIST_SHAPE, name="image")
    return keras.Model(inputs, core(augmenter(inputs)), name="augmented_strong_cnn")


def ablation_build_fn(
    total_steps: int, learning_rate: float = 2e-3, width: int = 16
) -> Callable[[Mapping[str, Any]], Any]:
    """``build_fn(settings)`` for ``tuning.grid_tuner`` with a grid ``{"technique": [...]}``.

    Every trial trains the same strong CNN with the same optimizer (Adam, ``learning_rate``) and
    budget (``total_steps``, for the schedule and the EMA's momentum cap,
    ``training.ema_momentum_for``); only its technique differs. Labels are one-hot.
    """
    if int(total_steps) <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps!r}")

    def build(settings: Mapping[str, Any]):
        from helpers import schedules, training

        tech = technique_settings(settings["technique"])
        model = build_model(tech, width=width)
        lr = schedules.learning_rate_schedule(tech["schedule"], learning_rate, int(total_steps))
        ema = training.ema_momentum_for(EMA_MOMENTUM, int(total_steps)) if tech["ema"] else None
        optimizer = training.make_optimizer("adam", lr, ema_momentum=ema)
        model.compile(optimizer=optimizer, loss=_loss_and_targets(tech), metrics=["accuracy"])
        return model

    return build


def gains_table(summary, baseline: str = BASELINE):
    """The ablation summary (``tuning.summary_table`` by technique) with the gain over the baseline.

    Adds ``gain`` (mean minus the baseline's mean, in accuracy) and ``clear`` (True when the gain
    is larger than the two standard deviations added, so the seeds' bands do not overlap).
    """
    table = summary.copy()
    if "technique" in table.columns:
        table = table.set_index("technique")
    if baseline not in table.index:
        raise KeyError(f"the summary has no {baseline!r} row; rows: {', '.join(table.index)}")
    base = table.loc[baseline]
    table["gain"] = table["mean"] - base["mean"]
    spread = table["std"].fillna(0.0) + float(np.nan_to_num(base["std"]))
    table["clear"] = table["gain"].abs() > spread
    table.loc[baseline, "clear"] = False
    return table


def choose_recipe(gains, baseline: str = BASELINE) -> tuple[dict[str, Any], list[str]]:
    """The base recipe, changed only where a row beat it clearly on validation.

    ``gains`` is :func:`gains_table`'s output. A change is adopted when its mean gain is positive
    **and** ``clear`` (larger than the seeds' two standard deviations added): the base recipe is
    the long-run literature's, so the burden of proof is on the change, and two seeds cannot tell
    a smaller gain from luck. Options of one setting exclude each other (no augmentation, or
    affine + elastic instead of affine): the best clear one is adopted. Returns
    ``(settings, reasons)``, one sentence per row.
    """
    settings = dict(BASE)
    reasons = []
    by_key: dict[str, list[tuple[str, float, bool]]] = {}
    for name, row in gains.iterrows():
        if name == baseline:
            continue
        if name not in TECHNIQUES:
            raise KeyError(f"unknown technique {name!r} in the ablation table")
        (key,) = TECHNIQUES[name]
        by_key.setdefault(key, []).append((name, float(row["gain"]), bool(row["clear"])))
    for key, options in by_key.items():
        winners = [o for o in options if o[1] > 0 and o[2]]
        adopted = max(winners, key=lambda item: item[1])[0] if winners else None
        if adopted is not None:
            settings[key] = TECHNIQUES[adopted][key]
        for name, gain, clear in options:
            points = f"{100 * gain:+.2f} points"
            if name == adopted:
                reasons.append(f"adopted {name}: {points}, clearly above the base recipe")
            elif gain > 0 and clear:
                reasons.append(f"not adopted {name}: {points} (the other option won)")
            elif gain > 0:
                reasons.append(f"not adopted {name}: {points}, within the seeds' spread")
            else:
                reasons.append(f"not adopted {name}: {points}")
    return settings, reasons


def train_member(
    settings: Mapping[str, Any],
    splits: Mapping[str, np.ndarray],
    epochs: int,
    seed: int,
    learning_rate: float = 2e-3,
    batch_size: int = 128,
    width: int = 16,
    model: Any = None,
    verbose: int = 0,
):
    """Train one model with the recipe ``settings``; return its ``training.TrainingResult``.

    The model is the strong CNN (or ``model``, e.g. the tiny CNN); augmentation runs inside the
    ``tf.data`` pipeline (``data.make_dataset``), so the trained model has no augmentation layers.
    """
    import keras

    from helpers import models, training

    unknown = set(settings) - set(BASE)
    if unknown:
        raise KeyError(f"unknown settings {sorted(unknown)}; the settings are {', '.join(BASE)}")
    settings = {**BASE, **settings}
    keras.utils.set_random_seed(int(seed))
    if model is None:
        model = models.build_strong_cnn(
            width=width, bn_momentum=settings["bn_momentum"], cbam=settings["cbam"]
        )
    return training.train_classifier(
        model,
        dict(splits),
        epochs=int(epochs),
        batch_size=batch_size,
        learning_rate=learning_rate,
        schedule=settings["schedule"],
        augment=settings["augment"] if settings["augment"] != "none" else False,
        label_smoothing=settings["label_smoothing"],
        focal_gamma=settings["focal_gamma"],
        ema_momentum=EMA_MOMENTUM if settings["ema"] else None,
        seed=int(seed),
        verbose=verbose,
    )


def ensemble_probabilities(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """The ensemble's class probabilities: the mean of the members' ``(N, classes)`` probabilities."""
    arrays = [np.asarray(p, dtype=np.float64) for p in probabilities]
    if not arrays:
        raise ValueError("probabilities is empty: pass one (N, classes) array per member")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise ValueError(f"every member needs the same (N, classes) shape, got {sorted(shapes)}")
    return np.mean(arrays, axis=0)


TTA_SHIFTS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def shift_batch(x: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``x`` (N, H, W[, C]) moved ``dx`` pixels right and ``dy`` down, zero-filled, for a whole batch."""
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"x must be a batch of images (N, H, W) or (N, H, W, C), got shape {x.shape}"
        )
    h, w = x.shape[1:3]
    out = np.zeros_like(x)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def tta_probabilities(
    model: Any,
    x: np.ndarray,
    shifts: Sequence[tuple[int, int]] = TTA_SHIFTS,
    batch_size: int = 512,
) -> np.ndarray:
    """Test-time augmentation: ``model``'s probabilities averaged over shifted copies of ``x``.

    ``shifts`` are ``(dx, dy)`` pixel shifts (default: the image itself and one pixel in each of
    the four directions). Like augmentation during training, but at prediction time: a digit the
    model reads wrongly only in one position is outvoted by its neighbours.
    """
    if not shifts:
        raise ValueError("shifts is empty: pass at least one (dx, dy), e.g. (0, 0)")
    views = [shift_batch(x, int(dx), int(dy)) for dx, dy in shifts]
    return np.mean(
        [np.asarray(model.predict(v, batch_size=batch_size, verbose=0)) for v in views], axis=0
    )


def members_table(
    names: Sequence[str],
    val_probabilities: Sequence[np.ndarray],
    test_probabilities: Sequence[np.ndarray],
    y_val: np.ndarray,
    y_test: np.ndarray,
    extra: Mapping[str, Sequence[Any]] | None = None,
):
    """One row per member and one for the ensemble: validation and test accuracy and errors.

    The members are ordered as given; ``best_on_val`` marks the member with the highest validation
    accuracy (the one chosen as "best single model": the test set plays no part in the choice).
    """
    import pandas as pd

    if not (len(names) == len(val_probabilities) == len(test_probabilities)):
        raise ValueError("names, val_probabilities and test_probabilities differ in length")
    y_val, y_test = np.asarray(y_val), np.asarray(y_test)
    rows = []
    for name, pv, pt in zip(names, val_probabilities, test_probabilities):
        rows.append(
            {
                "model": name,
                "val_accuracy": float(np.mean(np.argmax(pv, 1) == y_val)),
                "test_accuracy": float(np.mean(np.argmax(pt, 1) == y_test)),
                "test_errors": int(np.sum(np.argmax(pt, 1) != y_test)),
            }
        )
    table = pd.DataFrame(rows)
    for column, values in (extra or {}).items():
        table[column] = list(values)
    table["best_on_val"] = False
    table.loc[int(table["val_accuracy"].idxmax()), "best_on_val"] = True
    ens_v = ensemble_probabilities(val_probabilities)
    ens_t = ensemble_probabilities(test_probabilities)
    ensemble = {
        "model": f"ensemble of {len(names)}",
        "val_accuracy": float(np.mean(np.argmax(ens_v, 1) == y_val)),
        "test_accuracy": float(np.mean(np.argmax(ens_t, 1) == y_test)),
        "test_errors": int(np.sum(np.argmax(ens_t, 1) != y_test)),
        "best_on_val": False,
    }
    return pd.concat([table, pd.DataFrame([ensemble])], ignore_index=True)


def label_noise_candidates(
    y_true: np.ndarray, member_probabilities: Sequence[np.ndarray], min_confidence: float = 0.9
) -> np.ndarray:
    """Indices of mistakes on which every member agrees on the same wrong class, confidently.

    A test image whose label every member rejects for the same other class with a mean probability
    of at least ``min_confidence`` is more often a doubtful label (or a digit a person would read
    the same way) than a weakness of one model. Ordered by decreasing mean confidence.
    """
    if not 0.0 < min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in (0, 1], got {min_confidence!r}")
    y = np.asarray(y_true)
    probs = [np.asarray(p) for p in member_probabilities]
    mean = ensemble_probabilities(probs)
    votes = np.stack([np.argmax(p, 1) for p in probs])
    predicted = np.argmax(mean, 1)
    agree = np.all(votes == predicted, axis=0)
    confidence = mean[np.arange(len(y)), predicted]
    picked = np.flatnonzero((predicted != y) & agree & (confidence >= min_confidence))
    return picked[np.argsort(-confidence[picked], kind="stable")]


def export_model(model: Any, name: str, check_images: np.ndarray | None = None) -> dict[str, Path]:
    """Save ``model`` as ``artifacts/<mode>/models/<name>.keras`` and as a TensorFlow SavedModel.

    The SavedModel (``model.export``, folder ``<name>_savedmodel``) serves TensorFlow Serving,
    TFLite's converter and ``tf.saved_model.load`` without the kit. With ``check_images``, both
    are reloaded and must give the model's probabilities (to 1e-5), or ``RuntimeError`` says which
    one differs. Returns ``{"keras": path, "savedmodel": folder}``.
    """
    import shutil

    import tensorflow as tf

    from helpers.kit import artifacts

    keras_path = artifacts.save_model(model, name)
    saved_dir = keras_path.with_name(f"{name}_savedmodel")
    if saved_dir.exists():
        shutil.rmtree(saved_dir)
    model.export(str(saved_dir), format="tf_saved_model", verbose=False)
    if check_images is not None:
        x = np.asarray(check_images, dtype=np.float32)
        expected = np.asarray(model.predict(x, verbose=0))
        from_keras = np.asarray(artifacts.load_model(name).predict(x, verbose=0))
        loaded = tf.saved_model.load(str(saved_dir))  # keep a reference: it owns the variables
        from_saved = np.asarray(loaded.serve(tf.constant(x)))
        for label, got in (("the .keras file", from_keras), ("the SavedModel", from_saved)):
            if not np.allclose(got, expected, atol=1e-5):
                diff = float(np.max(np.abs(got - expected)))
                raise RuntimeError(
                    f"{label} of {name!r} predicts differently (max diff {diff:.2g})"
                )
    return {"keras": keras_path, "savedmodel": saved_dir}
