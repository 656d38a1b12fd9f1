"""Hyper-parameter studies (notebook 04): a configurable CNN, optimizers by name, gradient norms per
layer, the learning-rate range test, and sentences written from measured tables.

* :func:`build_study_cnn` is the NumPy course's CNN in Keras ([conv k x k -> activation -> 2x2
  max-pool] per entry of ``filters`` -> flatten -> optional dropout -> softmax), with the activation,
  the kernel counts, the depth, the padding and the dropout as arguments; :func:`make_build_fn`
  turns it into a ``build_fn(settings)`` for :func:`helpers.tuning.grid_tuner`.
* :func:`gradient_norms` measures the gradient of the loss per layer (why sigmoid trains slowly);
  :func:`plot_gradient_norms` draws it.
* :func:`lr_range_test` sweeps the learning rate exponentially over one pass (Smith 2017,
  "Cyclical learning rates for training neural networks", section 3.3) and returns the smoothed loss;
  :func:`suggest_learning_rate` and :func:`plot_lr_range` read it.
* :func:`best_sentence`, :func:`compare_with_report` and :func:`report_sentence` turn
  :func:`helpers.tuning.summary_table` outputs into conclusions that hold for whatever run made them.

Keras and TensorFlow are imported on first use: ``import helpers.studies`` stays light.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from helpers import models
from helpers.kit import config

MNIST_SHAPE = models.MNIST_SHAPE
CNN_DEFAULTS: dict[str, Any] = {
    "filters": "6-12",
    "kernel_size": 5,
    "activation": "relu",
    "dropout": 0.0,
    "padding": "valid",
    "optimizer": "adam",
    "learning_rate": 1e-3,
}
FIT_KEYS = ("epochs", "batch_size")  # grid settings the tuner hands to model.fit, not to build_fn


# --------------------------------------------------------------------------- the study CNN


def parse_filters(filters: str | Sequence[int]) -> tuple[int, ...]:
    """Return kernel counts as a tuple of ints: ``"6-12"`` -> ``(6, 12)``; a sequence passes through.

    Grid values must be int, float, str or bool, so a sweep names a layout as ``"6-12"``.
    """
    if isinstance(filters, str):
        parts = filters.replace("/", "-").split("-")
        try:
            counts = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"filters must look like '6-12' (kernel counts joined by '-'), got {filters!r}"
            ) from None
    else:
        counts = tuple(int(f) for f in filters)
    if not counts or any(c <= 0 for c in counts):
        raise ValueError(f"filters must be one or more positive kernel counts, got {filters!r}")
    return counts


def build_study_cnn(
    filters: str | Sequence[int] = (6, 12),
    kernel_size: int = 5,
    activation: str = "relu",
    dropout: float = 0.0,
    padding: str = "valid",
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
):
    """Return the un-compiled study CNN: [Conv k x k -> activation -> MaxPool 2] per filter count ->
    Flatten -> Dropout (if > 0) -> Dense softmax.

    The defaults are the NumPy course's slides CNN (``helpers.scratch.build_slides_cnn``): 5x5 'valid'
    convolutions with 6 and 12 kernels, 28 -> 24 -> 12 -> 8 -> 4, 192 features, 3,898 parameters.
    ``padding="same"`` keeps the map size through each convolution (28 -> 14 -> 7 -> 3 with three
    blocks), so a third block fits. ``activation`` is one of :data:`helpers.models.ACTIVATIONS`.
    """
    import keras

    counts = parse_filters(filters)
    if activation not in models.ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(models.ACTIVATIONS)}; got {activation!r}"
        )
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if int(kernel_size) < 1:
        raise ValueError(f"kernel_size must be >= 1, got {kernel_size!r}")
    size = min(int(d) for d in tuple(input_shape)[:2])
    for i in range(len(counts)):
        size = (size - int(kernel_size) + 1 if padding == "valid" else size) // 2
        if size < 1:
            raise ValueError(
                f"{len(counts)} blocks of {kernel_size}x{kernel_size} '{padding}' convolutions and "
                f"2x2 pooling shrink a {tuple(input_shape)[:2]} image to nothing at block {i + 1}; "
                "use padding='same', a smaller kernel_size or fewer filters"
            )
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, count in enumerate(counts, start=1):
        x = keras.layers.Conv2D(
            count, int(kernel_size), padding=padding, activation=activation, name=f"conv_{i}"
        )(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(float(dropout), name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="study_cnn")


def compile_model(model, optimizer: str = "adam", learning_rate: float = 1e-3):
    """Compile ``model`` (softmax outputs) with sparse cross-entropy, accuracy and the named
    optimizer (``training.make_optimizer``: adam, sgd, sgd_momentum, rmsprop, adamw); return it."""
    import keras

    from helpers.training import make_optimizer

    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model


def make_build_fn(**defaults: Any) -> Callable[[Mapping[str, Any]], Any]:
    """Return ``build_fn(settings) -> compiled study CNN`` for :func:`helpers.tuning.grid_tuner`.

    Every key of :data:`CNN_DEFAULTS` (``filters``, ``kernel_size``, ``activation``, ``dropout``,
    ``padding``, ``optimizer``, ``learning_rate``) can be changed in ``defaults`` or per trial in
    ``settings`` (settings win). ``epochs`` and ``batch_size`` are ignored (the tuner gives them to
    ``fit``). The model is compiled with sparse cross-entropy and accuracy.
    """
    unknown = set(defaults) - set(CNN_DEFAULTS)
    if unknown:
        raise KeyError(f"unknown settings {sorted(unknown)}; known: {sorted(CNN_DEFAULTS)}")
    base = {**CNN_DEFAULTS, **defaults}

    def build_fn(settings: Mapping[str, Any] | None = None):
        settings = dict(settings or {})
        unknown = set(settings) - set(CNN_DEFAULTS) - set(FIT_KEYS)
        if unknown:
            raise KeyError(f"unknown settings {sorted(unknown)}; known: {sorted(CNN_DEFAULTS)}")
        s = {**base, **{k: v for k, v in settings.items() if k not in FIT_KEYS}}
        model = build_study_cnn(
            s["filters"], s["kernel_size"], s["activation"], s["dropout"], s["padding"]
        )
        return compile_model(model, s["optimizer"], s["learning_rate"])

    build_fn.defaults = dict(base)  # shown in the notebook, and hashed into the sweep's name
    return build_fn


# --------------------------------------------------------------------------- data and sweeps


def study_splits(
    train_size: int | None = None,
    val_size: int | None = None,
    seed: int = config.DEFAULT_SEED,
) -> dict[str, np.ndarray]:
    """Return :func:`helpers.data.load_mnist_splits` with a class-stratified sample of
    ``train_size`` training images and ``val_size`` validation images (None: all).

    Unlike ``load_mnist_splits(train_subset=n)``, which also cuts the validation set to n/5, the
    5,000 validation images stay whole unless ``val_size`` says otherwise: more validation images,
    less noise in the comparisons. The test set is returned whole.
    """
    from helpers import data

    splits = data.load_mnist_splits(seed=seed)
    rng = np.random.default_rng(seed)
    for part, size in (("train", train_size), ("val", val_size)):
        if size is not None:
            # the kit's one stratified sampler (it also keeps the images in their original order)
            x, y = data.stratified_subset(
                splits[f"x_{part}"], splits[f"y_{part}"], int(size), rng, f"{part}_size"
            )
            splits[f"x_{part}"], splits[f"y_{part}"] = x, y
    return splits


def sweep_name(study: str, *spec: Any) -> str:
    """Return ``"<study>_<8 hex digits>"``: a KerasTuner project name that changes with ``spec``.

    Pass everything that defines the sweep (grid, seeds, epochs, data sizes, build defaults). A
    rerun with the same spec reloads the finished trials; a changed spec starts a new project
    instead of mixing trials of two different sweeps.
    """
    if not study or not isinstance(study, str) or "/" in study:
        raise ValueError(f"study must be a short name such as 'activation', got {study!r}")
    text = json.dumps(spec, sort_keys=True, default=str)
    return f"{study}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def add_seconds_per_epoch(df):
    """Return a copy of a :func:`helpers.tuning.trials_table` with ``seconds_per_epoch`` =
    ``wall_time_s / n_epochs`` (build, tracing and validation included); ``df.attrs`` are kept."""
    for column in ("wall_time_s", "n_epochs"):
        if column not in df.columns:
            raise KeyError(f"df lacks {column!r}: pass tuning.trials_table(tuner)")
    out = df.copy()
    epochs = out["n_epochs"].astype(float).where(out["n_epochs"] > 0)
    out["seconds_per_epoch"] = out["wall_time_s"].astype(float) / epochs
    out.attrs.update(df.attrs)
    return out


def add_last_epoch(df, metric: str = "accuracy"):
    """Return a copy of a :func:`helpers.tuning.trials_table` with ``last_<metric>``: the value of
    ``<metric>_curve`` at the last epoch (e.g. the training accuracy at the end); attrs kept."""
    column = f"{metric}_curve"
    if column not in df.columns:
        curves = [c.removesuffix("_curve") for c in df.columns if str(c).endswith("_curve")]
        raise KeyError(f"df has no {column!r}; pick a metric among {curves}")
    out = df.copy()
    out[f"last_{metric}"] = [
        float(c[-1]) if isinstance(c, (list, tuple)) and len(c) else float("nan")
        for c in out[column]
    ]
    out.attrs.update(df.attrs)
    return out


def trial_models(tuner, settings: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """Return ``[(seed, model), ...]``: every completed trial of ``tuner`` with these settings,
    rebuilt with the weights of its best epoch (KerasTuner's checkpoint), sorted by seed."""
    found = []
    for trial in tuner.oracle.trials.values():
        if str(trial.status) != "COMPLETED":
            continue
        values = trial.hyperparameters.values
        if all(values.get(k) == v for k, v in settings.items()):
            found.append((int(values["seed"]), trial))
    if not found:
        raise LookupError(f"no completed trial with settings {dict(settings)}")
    models_found = []
    for seed, trial in sorted(found, key=lambda t: t[0]):
        with warnings.catch_warnings():
            # the checkpoint holds the optimizer's state too; only the weights are needed here
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            models_found.append((seed, tuner.load_model(trial)))
    return models_found


# --------------------------------------------------------------------------- gradient norms


def gradient_norms(
    model,
    x,
    y,
    loss: Callable | None = None,
    training: bool = True,
    layer_types: Sequence[str] | None = None,
):
    """Return a DataFrame with one row per layer that has trainable weights, input to output:
    ``layer``, ``kind`` (class name), ``n_weights``, ``norm`` and ``rms``.

    ``norm`` is the L2 norm of the gradient of the mean loss over the batch ``(x, y)`` with respect
    to all the layer's trainable weights (kernel and bias together); ``rms = norm / sqrt(n_weights)``
    is the typical gradient of one weight, comparable between layers of different sizes. ``loss``
    defaults to sparse cross-entropy on probabilities (the kit's models end in softmax).
    ``training=True`` runs dropout and batch norm as in a training step. ``layer_types`` keeps only
    layers of these classes, e.g. ``("Conv2D", "Dense")``.
    """
    import keras
    import pandas as pd
    import tensorflow as tf

    loss_fn = loss or keras.losses.SparseCategoricalCrossentropy()
    x = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
    y = np.asarray(y)
    variables = list(model.trainable_variables)
    if not variables:
        raise ValueError("model has no trainable weights: nothing to differentiate")
    with tf.GradientTape() as tape:
        value = loss_fn(y, model(x, training=training))
    grads = tape.gradient(value, variables)
    by_id = {id(v): g for v, g in zip(variables, grads)}
    rows = []
    for layer in model.layers:
        weights = list(layer.trainable_weights)
        if not weights:
            continue
        kind = type(layer).__name__
        if layer_types is not None and kind not in layer_types:
            continue
        total, count = 0.0, 0
        for w in weights:
            g = by_id.get(id(w))
            count += int(np.prod(w.shape))
            if g is not None:
                total += float(np.sum(np.square(np.asarray(g, dtype=np.float64))))
        norm = math.sqrt(total)
        rows.append(
            {
                "layer": layer.name,
                "kind": kind,
                "n_weights": count,
                "norm": norm,
                "rms": norm / math.sqrt(count),
            }
        )
    return pd.DataFrame(rows, columns=["layer", "kind", "n_weights", "norm", "rms"])


def gradient_norms_before_after(
    build_fn: Callable[[], Any],
    probe: tuple[Any, Any],
    train: tuple[Any, Any],
    validation: tuple[Any, Any] | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    seed: int = 0,
    layer_types: Sequence[str] | None = None,
):
    """Return :func:`gradient_norms` of ``build_fn()`` on the ``probe`` batch twice, at
    initialisation and after ``epochs`` of training on ``train``, stacked with a ``when`` column.

    ``build_fn()`` returns a compiled model with an accuracy metric; Keras is seeded with ``seed``
    first. More columns, the same on every row: ``train_seconds`` (wall time of the training),
    ``train_accuracy`` (its last epoch) and, if ``validation`` is given, ``val_accuracy`` after the
    training (inference mode, as ``evaluate`` and ``fit``'s validation use it) and
    ``val_accuracy_batch_stats``: the same images with batch normalization using the statistics of
    each batch of 500 (``training=True``) instead of its running averages. A large gap between the
    two means the running averages lag behind the weights (no gap for a model without batch norm
    or dropout).
    """
    import time

    import keras
    import pandas as pd

    keras.utils.set_random_seed(int(seed))
    model = build_fn()
    before = gradient_norms(model, *probe, layer_types=layer_types)
    start = time.perf_counter()
    history = model.fit(*train, epochs=int(epochs), batch_size=int(batch_size), verbose=0)
    seconds = time.perf_counter() - start
    extra: dict[str, float] = {
        "train_seconds": seconds,
        "train_accuracy": float(history.history.get("accuracy", [float("nan")])[-1]),
    }
    if validation is not None:
        from helpers import evaluation

        x_val, y_val = np.asarray(validation[0]), np.asarray(validation[1])
        extra["val_accuracy"] = evaluation.accuracy(
            y_val, model.predict(x_val, batch_size=500, verbose=0)
        )
        # training=True also moves batch norm's running averages: measured after predict on purpose
        scores = [
            np.asarray(model(x_val[i : i + 500], training=True)) for i in range(0, len(x_val), 500)
        ]
        extra["val_accuracy_batch_stats"] = evaluation.accuracy(y_val, np.concatenate(scores))
    after = gradient_norms(model, *probe, layer_types=layer_types)
    when = f"after {epochs} epoch{'s' if int(epochs) != 1 else ''}"
    table = pd.concat(
        [before.assign(when="at initialisation"), after.assign(when=when)], ignore_index=True
    )
    return table.assign(**extra)


def gradient_ratio(table, by: Sequence[str] = ("when",)):
    """Return, per group of ``by``, the RMS gradient of the first (input) layer, of the last
    (output) layer and their ``ratio`` = first / last: far below 1 means vanishing gradients."""
    import pandas as pd

    by = list(by)
    missing = [c for c in (*by, "layer", "rms") if c not in table.columns]
    if missing:
        raise KeyError(f"table lacks columns {missing}: pass gradient_norms(...) with {by}")
    rows = []
    for key, group in table.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        first, last = float(group["rms"].iloc[0]), float(group["rms"].iloc[-1])
        rows.append(
            {
                **dict(zip(by, key)),
                "first_layer": group["layer"].iloc[0],
                "first_rms": first,
                "last_layer": group["layer"].iloc[-1],
                "last_rms": last,
                "ratio": first / last if last else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def plot_gradient_norms(
    table,
    hue: str = "activation",
    panel: str | None = "when",
    value: str = "rms",
    title: str = "Gradient per weight, layer by layer",
):
    """Return a Figure of ``value`` (``rms`` or ``norm``) per layer on a log scale: one line per
    ``hue`` value (e.g. activation), one panel per ``panel`` value (e.g. "at initialisation", "after
    1 epoch"). Layers keep the table's order (input on the left)."""
    from helpers.figures import pyplot

    for column in ("layer", value, hue) + ((panel,) if panel else ()):
        if column not in table.columns:
            raise KeyError(f"table lacks column {column!r}; it has {list(table.columns)}")
    if table.empty:
        raise ValueError("table is empty: nothing to plot")
    panels = list(dict.fromkeys(table[panel])) if panel else [None]
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.6 * len(panels) + 1, 4.2), sharey=True, squeeze=False
    )
    markers = "os^dvP*X"
    for ax, name in zip(axes[0], panels):
        part = table if name is None else table[table[panel] == name]
        layers = list(dict.fromkeys(part["layer"]))
        for i, (key, group) in enumerate(part.groupby(hue, sort=False)):
            positions = [layers.index(layer) for layer in group["layer"]]
            ax.plot(positions, group[value], f"{markers[i % len(markers)]}-", label=str(key))
        ax.set_xticks(range(len(layers)), layers, rotation=45, ha="right")
        ax.set_yscale("log")
        ax.set_xlabel("layer (input on the left)")
        if name is not None:
            ax.set_title(str(name))
        ax.grid(alpha=0.3, which="both")
    label = "RMS gradient per weight" if value == "rms" else "gradient L2 norm"
    axes[0][0].set_ylabel(f"{label} of the mean loss (log scale)")
    axes[0][-1].legend(title=hue)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- LR range test


def exponential_learning_rates(lr_min: float, lr_max: float, steps: int) -> np.ndarray:
    """Return ``steps`` learning rates from ``lr_min`` to ``lr_max``, each a constant factor
    larger than the one before: ``lr_min * (lr_max / lr_min) ** (i / (steps - 1))``."""
    if not 0 < lr_min < lr_max:
        raise ValueError(f"need 0 < lr_min < lr_max, got lr_min={lr_min!r}, lr_max={lr_max!r}")
    if int(steps) < 2:
        raise ValueError(f"steps must be >= 2, got {steps!r}")
    return lr_min * (lr_max / lr_min) ** (np.arange(int(steps)) / (int(steps) - 1))


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> np.ndarray:
    """Return the bias-corrected exponential moving average of ``losses``:
    ``avg_i = beta * avg_(i-1) + (1 - beta) * loss_i`` (``avg_(-1) = 0``), divided by
    ``1 - beta ** (i + 1)`` so that the first values are not pulled towards 0."""
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    out = np.empty(len(losses), dtype=float)
    avg = 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * float(loss)
        out[i] = avg / (1 - beta ** (i + 1))
    return out


def lr_range_test(
    build_fn: Callable[[], Any],
    x,
    y,
    lr_min: float = 1e-5,
    lr_max: float = 1.0,
    steps: int | None = None,
    batch_size: int = 32,
    beta: float = 0.98,
    stop_factor: float = 4.0,
    seed: int = 0,
):
    """Return a DataFrame ``step, lr, loss, smoothed_loss``: one training step per learning rate,
    the rate growing exponentially from ``lr_min`` to ``lr_max`` (Smith 2017).

    ``build_fn()`` returns a compiled Keras model (built after seeding with ``seed``); its optimizer's
    learning rate is set before every step. ``steps`` defaults to one pass over ``x`` in batches of
    ``batch_size`` (shuffled with ``seed``; more steps than one pass cycle through the data again).
    The loss is smoothed by :func:`smooth_losses`; the test stops early, keeping the rows so far,
    when the smoothed loss exceeds ``stop_factor`` times its minimum or the loss is not finite.
    """
    import keras
    import pandas as pd

    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and as long, got {len(x)} and {len(y)}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    if stop_factor <= 1:
        raise ValueError(f"stop_factor must be > 1, got {stop_factor!r}")
    steps = int(steps) if steps is not None else math.ceil(len(x) / int(batch_size))
    rates = exponential_learning_rates(lr_min, lr_max, steps)
    keras.utils.set_random_seed(int(seed))
    model = build_fn()
    if getattr(model, "optimizer", None) is None:
        raise ValueError("build_fn() must return a compiled model (model.compile(...) first)")
    rng = np.random.default_rng(seed)
    order = np.concatenate(
        [rng.permutation(len(x)) for _ in range(math.ceil(steps * int(batch_size) / len(x)))]
    )
    losses: list[float] = []
    smoothed: list[float] = []
    avg, best = 0.0, math.inf
    for i, lr in enumerate(rates):
        model.optimizer.learning_rate = float(lr)
        idx = order[i * int(batch_size) : (i + 1) * int(batch_size)]
        logs = model.train_on_batch(x[idx], y[idx], return_dict=True)
        loss = float(logs["loss"])
        avg = beta * avg + (1 - beta) * loss
        value = avg / (1 - beta ** (i + 1))
        losses.append(loss)
        smoothed.append(value)
        best = min(best, value)
        if not math.isfinite(loss) or value > stop_factor * best:
            break
    n = len(losses)
    return pd.DataFrame(
        {"step": np.arange(n), "lr": rates[:n], "loss": losses, "smoothed_loss": smoothed}
    )


def suggest_learning_rate(table, factor: float = 10.0) -> float:
    """Return the learning rate at the minimum of the smoothed loss divided by ``factor``: a
    common rule of thumb (one decade below the point where the loss stops falling)."""
    if table.empty:
        raise ValueError("table is empty: run lr_range_test first")
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor!r}")
    return float(table["lr"].iloc[int(np.argmin(table["smoothed_loss"].to_numpy()))]) / factor


def plot_lr_range(
    table,
    marks: Mapping[str, float] | None = None,
    title: str = "Learning-rate range test",
):
    """Return a Figure of the loss against the learning rate (log x): raw loss per step (light),
    smoothed loss (bold), and a vertical line per entry of ``marks`` (label -> learning rate)."""
    from helpers.figures import pyplot

    if table.empty:
        raise ValueError("table is empty: nothing to plot")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(table["lr"], table["loss"], color="tab:blue", alpha=0.25, label="loss of each step")
    ax.plot(table["lr"], table["smoothed_loss"], color="tab:blue", lw=2, label="smoothed loss")
    colors = ("tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown")
    for i, (label, lr) in enumerate((marks or {}).items()):
        ax.axvline(float(lr), color=colors[i % len(colors)], ls="--", lw=1.2, label=label)
    ax.set_xscale("log")
    low = float(np.nanmin(table["smoothed_loss"]))
    first = float(table["smoothed_loss"].iloc[0])
    ax.set_ylim(max(0.0, low - 0.1 * (first - low)), 1.15 * max(first, low))
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training cross-entropy loss (per sample)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- sentences from tables


def _by(summary) -> list[str]:
    by = summary.attrs.get("by") or [
        c for c in summary.columns if c not in ("mean", "std", "n", "seconds_per_epoch")
    ]
    for column in (*by, "mean", "std", "n"):
        if column not in summary.columns:
            raise KeyError(f"summary lacks column {column!r}: pass tuning.summary_table(...)")
    return list(by)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (``np.int64(16)`` -> ``16``)."""
    return value.item() if hasattr(value, "item") else value


def setting_label(summary, index: int, with_names: bool = False) -> str:
    """Return row ``index`` of a summary as text: the value alone for one setting (``"adam"``),
    ``"name=value, ..."`` for several settings or with ``with_names=True``."""
    by = _by(summary)
    values = [_plain(summary[c].iloc[index]) for c in by]  # per column: keeps ints as ints
    if len(by) == 1 and not with_names:
        return str(values[0])
    return ", ".join(f"{c}={v}" for c, v in zip(by, values))


def format_mean_std(mean: float, std: float, n: int, scale: float = 100.0, unit: str = " %") -> str:
    """Return ``"98.90 ± 0.12 % (n=2)"``, or ``"98.90 % (one seed, no std)"`` when n < 2."""
    if int(n) < 2 or std is None or not math.isfinite(float(std)):
        return f"{scale * mean:.2f}{unit} (one seed, no std)"
    return f"{scale * mean:.2f} ± {scale * std:.2f}{unit} (n={int(n)})"


def best_row(summary) -> int:
    """Return the position of the setting with the highest mean."""
    if summary.empty:
        raise ValueError("summary is empty")
    return int(np.nanargmax(summary["mean"].to_numpy(dtype=float)))


def best_sentence(summary, study: str) -> str:
    """Return e.g. ``"best optimizer: adam at 98.90 ± 0.12 % (n=2), 0.35 points above the runner-up
    (sgd_momentum; the ±1 std bands overlap)"``, from a summary of accuracies."""
    i = best_row(summary)
    row = summary.iloc[i]
    text = f"best {study}: {setting_label(summary, i)} at {format_mean_std(row['mean'], row['std'], row['n'])}"
    if len(summary) < 2:
        return text
    means = summary["mean"].to_numpy(dtype=float)
    order = np.argsort(-means, kind="stable")
    j = int(order[1])
    gap = 100 * (means[i] - means[j])
    stds = np.nan_to_num(summary["std"].to_numpy(dtype=float))
    overlap = means[i] - stds[i] <= means[j] + stds[j]
    seeds = int(summary["n"].min())
    if seeds < 2:
        verdict = "one seed: no spread to judge the gap by"
    elif overlap:
        verdict = "the ±1 std bands overlap: the seeds do not separate them"
    else:
        verdict = "the ±1 std bands do not overlap"
    return f"{text}, {gap:.2f} points above the runner-up ({setting_label(summary, j)}; {verdict})"


def compare_with_report(summary, report: Mapping[Any, float]):
    """Return one row per reported setting that was measured: ``setting``, ``report`` and
    ``measured`` (fractions), ``std``, ``n``, ``difference_points`` (measured - report, in
    percentage points), ``report_rank`` and ``measured_rank`` (1 = best among these settings).

    ``report`` maps a setting value (one-setting summaries) or label to the reported accuracy.
    """
    import pandas as pd

    labels = [setting_label(summary, i) for i in range(len(summary))]
    rows = []
    for key, value in report.items():
        if str(key) not in labels:
            continue
        i = labels.index(str(key))
        rows.append(
            {
                "setting": str(key),
                "report": float(value),
                "measured": float(summary["mean"].iloc[i]),
                "std": float(summary["std"].iloc[i]),
                "n": int(summary["n"].iloc[i]),
            }
        )
    table = pd.DataFrame(rows, columns=["setting", "report", "measured", "std", "n"])
    table["difference_points"] = 100 * (table["measured"] - table["report"])
    table["report_rank"] = table["report"].rank(ascending=False, method="min").astype(int)
    table["measured_rank"] = table["measured"].rank(ascending=False, method="min").astype(int)
    return table


def report_sentence(
    summary, report: Mapping[Any, float], study: str, source: str = "report"
) -> str:
    """Return where the measurement agrees or disagrees with the ``source``'s numbers: the order
    of the reported settings, the winner, and the level (how many points above or below)."""
    table = compare_with_report(summary, report)
    plural = source.endswith("s")  # "the slides' order ... the slides pick" / "the report's"
    owner = f"the {source}'" if plural else f"the {source}'s"
    picks = "pick" if plural else "picks"
    if table.empty:
        return f"{study}: none of {owner} settings ({', '.join(map(str, report))}) was measured"
    parts = []
    if len(table) >= 2:
        by_report = table.sort_values("report", ascending=False)["setting"].tolist()
        by_measured = table.sort_values("measured", ascending=False)["setting"].tolist()
        same = by_report == by_measured
        parts.append(
            f"{owner} order is {' > '.join(by_report)}, this run's {' > '.join(by_measured)}"
            + (" (the same order)" if same else " (a DIFFERENT order)")
        )
    top_report = str(max(report, key=lambda k: report[k]))
    top_measured = setting_label(summary, best_row(summary))
    top_shared = str(table.sort_values("measured", ascending=False)["setting"].iloc[0])
    if top_measured not in table["setting"].tolist():
        parts.append(
            f"this run's best, {top_measured}, is not among {owner} settings; among them it picks "
            f"{top_shared}, the {source} {picks} {top_report}"
        )
    elif top_report == top_measured:
        parts.append(f"both pick {top_measured}")
    else:
        parts.append(f"{owner} best is {top_report}, this run's best is {top_measured}")
    low, high = table["difference_points"].min(), table["difference_points"].max()
    if len(table) == 1:
        side = "below" if low < 0 else "above"
        level = f"the measured value is {abs(low):.2f} points {side} the {source}'s number"
    elif high < 0:
        level = f"measured values are {-high:.2f} to {-low:.2f} points below the {source}'s numbers"
    elif low > 0:
        level = f"measured values are {low:.2f} to {high:.2f} points above the {source}'s numbers"
    else:
        level = f"measured values are {low:+.2f} to {high:+.2f} points from the {source}'s numbers"
    parts.append(level)
    return f"{study}: " + "; ".join(parts)


def leaderboard(summaries: Mapping[str, Any]):
    """Return the best setting of every study, best first: ``study``, ``setting``, ``mean``,
    ``std``, ``n`` and ``settings`` (a dict, for :func:`trial_models`)."""
    import pandas as pd

    rows = []
    for study, summary in summaries.items():
        i = best_row(summary)
        row = summary.iloc[i]
        settings = {c: _plain(summary[c].iloc[i]) for c in _by(summary)}
        rows.append(
            {
                "study": study,
                "setting": setting_label(summary, i, with_names=True),
                "mean": float(row["mean"]),
                "std": float(row["std"]),
                "n": int(row["n"]),
                "settings": settings,
            }
        )
    table = pd.DataFrame(rows, columns=["study", "setting", "mean", "std", "n", "settings"])
    return table.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
