"""Keras and the NumPy CNN side by side: copy weights both ways, build a Keras twin, compare outputs.

This module never imports TensorFlow or Keras: a Keras model is used through its methods
(``.layers``, ``get_weights``, ``set_weights``, calling a layer), and the functions that must create
Keras objects take the ``keras`` module as an argument (``import keras`` in the notebook, then
``build_keras_twin(net, keras)``).

Layout and kernel orientation: the NumPy layers use Keras' conventions, NHWC images, convolution
kernels ``(k, k, C_in, C_out)`` applied as a cross-correlation (not flipped), dense weights
``(D_in, D_out)`` and a channels-last ``Flatten``; so every array copies over unchanged. (A kernel in
PyTorch's ``(C_out, C_in, k, k)`` layout would need ``transpose(2, 3, 1, 0)``; a library computing a
true convolution would need the kernel flipped, ``W[::-1, ::-1]``.) ``compare_with_keras`` checks it
on real outputs, layer by layer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from helpers.scratch.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from helpers.scratch.losses import softmax
from helpers.scratch.network import (
    RECIPE,
    Sequential,
    build_slides_cnn,
    slides_decay,
    train_slides_cnn,
)
from helpers.scratch.optim import LearningRateDecay

# Keras layer class -> the NumPy layer it corresponds to
_KIND = {
    "Conv2D": Conv2D,
    "Dense": Dense,
    "ReLU": ReLU,
    "MaxPooling2D": MaxPool2D,
    "Flatten": Flatten,
    "Dropout": Dropout,
}
_WEIGHTED = ("Conv2D", "Dense")


def _weighted_pairs(net: Sequential, model: Any) -> list[tuple[Layer, Any]]:
    """Return (NumPy layer, Keras layer) pairs of the layers with weights, checked to correspond."""
    ours = [layer for layer in net.layers if layer.params]
    theirs = [layer for layer in model.layers if layer.get_weights()]
    if len(ours) != len(theirs):
        raise ValueError(
            f"the NumPy network has {len(ours)} layers with weights "
            f"({', '.join(layer.name for layer in ours)}) and the Keras model {len(theirs)} "
            f"({', '.join(layer.name for layer in theirs)}): the architectures differ"
        )
    for mine, other in zip(ours, theirs):
        kind = type(other).__name__
        if kind not in _WEIGHTED or not isinstance(mine, _KIND[kind]):
            raise ValueError(
                f"Keras layer {other.name!r} ({kind}) lines up with NumPy layer {mine.name!r} "
                f"({type(mine).__name__}): only Conv2D and Dense weights can be copied"
            )
        arrays = other.get_weights()
        if len(arrays) != 2:
            raise ValueError(
                f"Keras layer {other.name!r} holds {len(arrays)} arrays, expected a kernel and a bias "
                "(build it with use_bias=True)"
            )
        for name, array in zip(("W", "b"), arrays):
            if array.shape != mine.params[name].shape:
                raise ValueError(
                    f"Keras layer {other.name!r} has a {name} of shape {array.shape}, NumPy layer "
                    f"{mine.name!r} {mine.params[name].shape}"
                )
        if kind == "Conv2D" and tuple(other.strides) != (mine.stride, mine.stride):
            raise ValueError(
                f"Keras layer {other.name!r} has strides {tuple(other.strides)}, NumPy layer "
                f"{mine.name!r} stride {mine.stride}"
            )
    return list(zip(ours, theirs))


def load_keras_weights(net: Sequential, model: Any) -> None:
    """Copy the weights of a Keras model into the NumPy network (same architecture; arrays unchanged)."""
    for mine, other in _weighted_pairs(net, model):
        kernel, bias = other.get_weights()
        mine.params["W"] = np.array(kernel, dtype=mine.params["W"].dtype)
        mine.params["b"] = np.array(bias, dtype=mine.params["b"].dtype)


def set_keras_weights(net: Sequential, model: Any) -> None:
    """Copy the NumPy network's weights into a Keras model of the same architecture."""
    for mine, other in _weighted_pairs(net, model):
        other.set_weights([mine.params["W"], mine.params["b"]])


def build_keras_twin(net: Sequential, keras: Any) -> Any:
    """Return a ``keras.Sequential`` with the NumPy network's layers, its weights and a final Softmax.

    ``keras`` is the Keras module (this module does not import it). Padding becomes a
    ``ZeroPadding2D`` before a 'valid' ``Conv2D``; the softmax of the fused loss becomes a
    ``Softmax`` layer, so ``predict`` returns probabilities as the NumPy ``predict`` does.
    """
    if net.input_shape is None:
        raise ValueError("the network has no input_shape: build it with input_shape=(H, W, C)")
    layers: list[Any] = [keras.Input(shape=net.input_shape)]
    for layer in net.layers:
        if isinstance(layer, Conv2D):
            if layer.padding:
                layers.append(keras.layers.ZeroPadding2D(layer.padding))
            layers.append(
                keras.layers.Conv2D(
                    layer.filters, layer.kernel_size, strides=layer.stride, name=layer.name
                )
            )
        elif isinstance(layer, ReLU):
            layers.append(keras.layers.ReLU(name=layer.name))
        elif isinstance(layer, MaxPool2D):
            layers.append(
                keras.layers.MaxPooling2D(layer.pool_size, strides=layer.stride, name=layer.name)
            )
        elif isinstance(layer, Flatten):
            layers.append(keras.layers.Flatten(name=layer.name))
        elif isinstance(layer, Dense):
            layers.append(keras.layers.Dense(layer.units, name=layer.name))
        elif isinstance(layer, Dropout):
            layers.append(keras.layers.Dropout(layer.rate, name=layer.name))
        else:
            raise TypeError(f"no Keras counterpart for {type(layer).__name__} {layer.name!r}")
    layers.append(keras.layers.Softmax(name="softmax"))
    model = keras.Sequential(layers, name="numpy_cnn_twin")
    set_keras_weights(net, model)
    return model


def _activation_name(layer: Any) -> str:
    """Return the name of a Keras layer's built-in activation ("linear" if none)."""
    return getattr(getattr(layer, "activation", None), "__name__", "linear")


def _numpy_counterpart(net: Sequential, j: int, layer: Any, mine: np.ndarray) -> tuple:
    """Return ``(output, name, next j)``: ``mine`` through the NumPy layer(s) matching Keras ``layer``.

    ``j`` is the index of the next NumPy layer; a Keras Conv2D/Dense with a built-in ReLU also takes
    the NumPy ReLU after it, one with a built-in softmax the softmax of the loss.
    """
    kind, activation = type(layer).__name__, _activation_name(layer)
    if kind == "Softmax" or (kind == "Activation" and activation == "softmax"):
        return softmax(mine), "softmax", j
    if j >= len(net.layers):
        raise ValueError(f"Keras layer {layer.name!r} ({kind}) has no NumPy counterpart left")
    ours = net.layers[j]
    expected = ReLU if kind == "Activation" and activation == "relu" else _KIND.get(kind)
    if expected is None or not isinstance(ours, expected):
        raise ValueError(
            f"Keras layer {layer.name!r} ({kind}) lines up with NumPy layer {ours.name!r} "
            f"({type(ours).__name__}): the architectures differ"
        )
    mine, name, j = ours.forward(mine), ours.name, j + 1
    if kind not in _WEIGHTED or activation == "linear":
        return mine, name, j
    if activation == "softmax":
        return softmax(mine), f"{name} + softmax", j
    if activation != "relu":
        raise ValueError(f"Keras layer {layer.name!r} has a {activation} activation: not supported")
    if j >= len(net.layers) or not isinstance(net.layers[j], ReLU):
        raise ValueError(
            f"Keras layer {layer.name!r} has a built-in ReLU but the NumPy layer after "
            f"{ours.name!r} is not a ReLU"
        )
    return net.layers[j].forward(mine), f"{name} + {net.layers[j].name}", j + 1


def compare_with_keras(net: Sequential, model: Any, x: np.ndarray) -> Any:
    """Return a DataFrame of the max absolute difference between NumPy and Keras outputs after every layer.

    ``x`` (N, H, W, C) goes through both networks layer by layer (inference mode). Keras layers are
    matched in order with the NumPy ones; ``ZeroPadding2D`` is part of the NumPy Conv2D, an activation
    built into a Keras Conv2D/Dense (``activation="relu"`` / ``"softmax"``) is matched with the NumPy
    ReLU that follows / the softmax of the loss. The last row compares the class probabilities.
    """
    import pandas as pd

    x = np.asarray(x, dtype=np.float32)
    mine, theirs = x, x
    rows, j = [], 0
    for layer in model.layers:
        theirs = np.asarray(layer(theirs))
        if type(layer).__name__ in ("InputLayer", "ZeroPadding2D"):
            continue
        mine, name, j = _numpy_counterpart(net, j, layer, mine)
        if mine.shape != theirs.shape:
            raise ValueError(
                f"after {name!r} the NumPy output has shape {mine.shape}, Keras' {layer.name!r} "
                f"{theirs.shape}"
            )
        rows.append(
            {
                "numpy layer": name,
                "keras layer": layer.name,
                "output shape": str(mine.shape[1:]),
                "max abs difference": float(np.max(np.abs(mine - theirs))),
            }
        )
    if j != len(net.layers):
        left = ", ".join(layer.name for layer in net.layers[j:])
        raise ValueError(f"NumPy layers {left} have no Keras counterpart")
    return pd.DataFrame(rows)


def keras_schedule(decay: LearningRateDecay, keras: Any) -> Any:
    """Return the Keras learning-rate schedule that gives the same rate as ``decay`` at steps 0..total_steps.

    (After ``total_steps``, Keras' exponential decay keeps going below the end rate; the others stay.)
    """
    schedules = keras.optimizers.schedules
    if decay.shape == "cosine":
        return schedules.CosineDecay(decay.start, decay.total_steps, alpha=decay.end / decay.start)
    if decay.shape == "exponential":
        return schedules.ExponentialDecay(decay.start, decay.total_steps, decay.end / decay.start)
    return schedules.PolynomialDecay(decay.start, decay.total_steps, decay.end, power=1.0)


def train_keras_twin(
    net: Sequential,
    keras: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    decay: LearningRateDecay,
    momentum: float = 0.0,
    verbose: int = 0,
    steps_per_execution: int = 32,
) -> tuple[Any, dict[str, list[float]]]:
    """Return ``(model, history)``: the Keras twin of ``net`` (starting from its weights) trained with ``model.fit``.

    Same loss, optimizer (SGD with ``momentum``), learning-rate schedule, batch size and epochs as the
    NumPy training; ``history`` is Keras' plus ``seconds`` (wall time of each epoch, no validation).
    ``steps_per_execution`` runs that many training steps per call into TensorFlow's graph: the
    same updates, less Python overhead per step of 32 images.
    """
    model = build_keras_twin(net, keras)
    model.compile(
        optimizer=keras.optimizers.SGD(keras_schedule(decay, keras), momentum=momentum),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    seconds: list[float] = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(seconds.pop() + time.perf_counter()),
    )
    fitted = model.fit(
        x, y, batch_size=batch_size, epochs=epochs, shuffle=True, callbacks=[timer], verbose=verbose
    )
    return model, {**{k: list(v) for k, v in fitted.history.items()}, "seconds": seconds}


def _keras_accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Return the fraction of ``x`` that the Keras ``model`` classifies as ``y``."""
    probabilities = np.asarray(model.predict(x, batch_size=500, verbose=0))
    return float(np.mean(probabilities.argmax(axis=1) == y))


def keras_runs(
    options: Mapping[str, Any],
    splits: Mapping[str, np.ndarray],
    keras: Any,
    seeds: Sequence[int],
    epochs: int = RECIPE["epochs"],
    batch_size: int = RECIPE["batch_size"],
) -> Any:
    """Return a DataFrame with one row per seed: the Keras twin of a variant trained with the recipe.

    ``options`` holds ``filters``, ``dropout``, ``momentum`` (as for :func:`train_slides_cnn`). Each
    seed builds the NumPy network's initial weights with that seed (so the first seed can start where
    a NumPy run of the same seed started), seeds Keras' shuffling and dropout with it, and trains on
    the training split. Columns: ``seed``, ``val_accuracy``, ``test_accuracy`` (fractions),
    ``s_per_epoch`` (median epoch, training only; the first epoch includes tracing).
    """
    import pandas as pd

    x, y = splits["x_train"], splits["y_train"]
    rows = []
    for seed in seeds:
        start = build_slides_cnn(
            options.get("filters", (6, 12)), dropout=options.get("dropout", 0.0), seed=seed
        )
        keras.utils.set_random_seed(int(seed))
        model, history = train_keras_twin(
            start,
            keras,
            x,
            y,
            epochs,
            batch_size,
            slides_decay(len(x), epochs, batch_size),
            momentum=options.get("momentum", RECIPE["momentum"]),
        )
        rows.append(
            {
                "seed": int(seed),
                "val_accuracy": _keras_accuracy(model, splits["x_val"], splits["y_val"]),
                "test_accuracy": _keras_accuracy(model, splits["x_test"], splits["y_test"]),
                "s_per_epoch": float(np.median(history["seconds"])),
            }
        )
    return pd.DataFrame(rows)


def _numpy_row(
    net: Sequential, history: Mapping[str, list[float]], splits: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """Return the NumPy columns of a comparison row for a trained ``net`` and its ``history``."""
    return {
        "parameters": net.count_params(),
        "numpy_val_accuracy": history["val_accuracy"][-1]
        if "val_accuracy" in history
        else float("nan"),
        "numpy_test_accuracy": net.evaluate(splits["x_test"], splits["y_test"])["accuracy"],
        "numpy_s_per_epoch": float(np.median(history["seconds"])),
    }


def _train_numpy(
    options: Mapping[str, Any],
    splits: Mapping[str, np.ndarray],
    epochs: int,
    batch_size: int,
    seed: int,
    verbose: int,
) -> tuple[Sequential, dict[str, list[float]]]:
    """Return ``(net, history)`` of one NumPy training of a variant on the training split."""
    return train_slides_cnn(
        splits["x_train"],
        splits["y_train"],
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(splits["x_val"], splits["y_val"]),
        seed=seed,
        verbose=2 if verbose else 0,
        **options,
    )


def _keras_columns(runs: Any) -> dict[str, float]:
    """Return the Keras columns of a comparison row from :func:`keras_runs`' table (first row first)."""
    return {
        "keras_test_accuracy": float(runs["test_accuracy"].iloc[0]),
        "keras_val_mean": float(runs["val_accuracy"].mean()),
        "keras_val_std": float(runs["val_accuracy"].std()) if len(runs) > 1 else float("nan"),
        "keras_test_mean": float(runs["test_accuracy"].mean()),
        "keras_test_std": float(runs["test_accuracy"].std()) if len(runs) > 1 else float("nan"),
        "keras_seeds": len(runs),
        "keras_s_per_epoch": float(runs["s_per_epoch"].median()),
    }


def compare_configurations(
    configs: Mapping[str, Mapping[str, Any]],
    splits: Mapping[str, np.ndarray],
    keras: Any = None,
    epochs: int = RECIPE["epochs"],
    batch_size: int = RECIPE["batch_size"],
    seed: int = 0,
    keras_seeds: int = 1,
    trained: Mapping[str, tuple[Sequential, Mapping[str, list[float]]]] | None = None,
    verbose: int = 1,
) -> Any:
    """Return a table comparing variants of the slides' CNN trained with the same recipe, NumPy and Keras.

    ``configs`` maps a label to keyword arguments of :func:`train_slides_cnn` (``filters``,
    ``dropout``, ``momentum``); ``splits`` is ``data.load_mnist_splits()``. Each variant is trained
    once in NumPy with ``seed`` (``trained`` may hold ``(net, history)`` runs already done under the
    same label) and, when ``keras`` is given, ``keras_seeds`` times as a Keras twin
    (:func:`keras_runs`, seeds ``seed, seed + 1, ...``; the first from the NumPy run's initial
    weights). Columns: ``parameters``, ``numpy_val_accuracy``, ``numpy_test_accuracy``,
    ``numpy_s_per_epoch`` (median epoch, training only), then with Keras ``keras_test_accuracy``
    (the run from the same initial weights), ``keras_val_mean``/``_std``, ``keras_test_mean``/
    ``_std`` (over the seeds, std with ddof=1), ``keras_seeds`` and ``keras_s_per_epoch``.
    """
    import pandas as pd

    trained = dict(trained or {})
    rows = []
    for label, options in configs.items():
        unknown = set(options) - {"filters", "dropout", "momentum"}
        if unknown:
            raise ValueError(
                f"config {label!r}: unknown options {sorted(unknown)}; use filters, dropout, momentum"
            )
        if label not in trained:
            if verbose:
                print(f"--- {label}: NumPy", flush=True)
            trained[label] = _train_numpy(options, splits, epochs, batch_size, seed, verbose)
        row = {"configuration": label, **_numpy_row(*trained[label], splits)}
        if keras is not None:
            seeds = range(seed, seed + keras_seeds)
            runs = keras_runs(options, splits, keras, seeds, epochs, batch_size)
            row |= _keras_columns(runs)
            if verbose:
                accuracies = ", ".join(f"{a:.4f}" for a in runs["test_accuracy"])
                print(f"--- {label}: Keras test accuracy per seed {accuracies}", flush=True)
        rows.append(row)
    return pd.DataFrame(rows).set_index("configuration")
