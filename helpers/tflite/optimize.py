"""Quantization-aware training (QAT) and magnitude pruning with tensorflow-model-optimization (tfmot).

tfmot only accepts ``tf_keras`` models, so :func:`legacy_clone` rebuilds a helpers architecture
with ``keras_module=legacy_keras()`` and copies the weights of a trained Keras 3 model into it;
:func:`qat_model` and :func:`prunable_model` wrap that clone. tfmot is imported only through
``keras_policy.import_tfmot()``, which leaves ``tf.keras`` and the environment as they were.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from helpers.kit import keras_policy


def _weighted_layers(model: Any) -> list:
    """Return the model's layers that own weights, in order (nested models flattened)."""
    layers = []
    for layer in model.layers:
        if getattr(layer, "layers", None):  # a nested Sequential / Model
            layers.extend(_weighted_layers(layer))
        elif layer.weights:
            layers.append(layer)
    return layers


def copy_weights(source: Any, target: Any) -> int:
    """Return the number of layers whose weights were copied from ``source`` into ``target`` (same architecture, Keras 3 or tf_keras)."""
    src, dst = _weighted_layers(source), _weighted_layers(target)
    if len(src) != len(dst):
        raise ValueError(
            f"source has {len(src)} layers with weights but target has {len(dst)}: build the target "
            "with the same builder and arguments as the source"
        )
    for s, d in zip(src, dst):
        sw, dw = s.get_weights(), d.get_weights()
        if [w.shape for w in sw] != [w.shape for w in dw]:
            raise ValueError(
                f"layer {s.name!r} -> {d.name!r}: weight shapes {[w.shape for w in sw]} vs "
                f"{[w.shape for w in dw]}; build the target with the same builder and arguments as the source"
            )
        d.set_weights(sw)
    return len(src)


def _keras_package(model: Any) -> Any:
    """Return the Keras package a model was built with (``keras`` or ``tf_keras``)."""
    return importlib.import_module(type(model).__module__.split(".")[0])


def legacy_clone(
    builder: Callable[..., Any], source_model: Any = None, **builder_kwargs: Any
) -> Any:
    """Return ``builder(keras_module=tf_keras, **builder_kwargs)``, with the weights of ``source_model`` if given."""
    if not callable(builder):
        raise TypeError(
            f"builder must be a model builder such as models.build_tiny_cnn, got {builder!r}"
        )
    model = builder(keras_module=keras_policy.legacy_keras(), **builder_kwargs)
    if not keras_policy.is_legacy(_keras_package(model)):
        raise TypeError(
            f"{getattr(builder, '__name__', builder)} ignored keras_module=tf_keras; tfmot needs a "
            "tf_keras model: give the builder a keras_module argument"
        )
    if source_model is not None:
        copy_weights(source_model, model)
    return model


def qat_model(builder: Callable[..., Any], source_model: Any = None, **builder_kwargs: Any) -> Any:
    """Return a quantization-aware (tfmot ``quantize_model``) tf_keras copy of ``builder``'s architecture.

    With ``source_model`` (a trained Keras 3 model from the same builder) its weights are copied
    first, so fine-tuning starts from the trained model. Fit it with :func:`fine_tune`: tfmot sets
    the fake-quantization ranges during the first training steps, so the wrapped model's outputs
    mean nothing before it has been fitted.
    """
    tfmot = keras_policy.import_tfmot()
    base = legacy_clone(builder, source_model, **builder_kwargs)
    return tfmot.quantization.keras.quantize_model(base)


def prunable_model(
    builder: Callable[..., Any],
    source_model: Any = None,
    target_sparsity: float = 0.5,
    begin_step: int = 0,
    end_step: int = 1000,
    frequency: int = 100,
    **builder_kwargs: Any,
) -> Any:
    """Return a tf_keras copy of ``builder``'s architecture wrapped by ``prune_low_magnitude`` (sparsity rising polynomially to ``target_sparsity``).

    Weights are pruned every ``frequency`` training steps from ``begin_step`` to ``end_step``; make
    ``end_step - begin_step`` a multiple of ``frequency`` so the final step reaches the target.
    """
    if not 0.0 < target_sparsity < 1.0:
        raise ValueError(
            f"target_sparsity must be between 0 and 1 (e.g. 0.5), got {target_sparsity}"
        )
    if not 0 <= begin_step < end_step:
        raise ValueError(f"need 0 <= begin_step < end_step, got {begin_step} and {end_step}")
    if frequency < 1:
        raise ValueError(f"frequency must be >= 1 (training steps), got {frequency}")
    tfmot = keras_policy.import_tfmot()
    base = legacy_clone(builder, source_model, **builder_kwargs)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=float(target_sparsity),
        begin_step=int(begin_step),
        end_step=int(end_step),
        frequency=int(frequency),
    )
    return tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=schedule)


def fine_tune(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 1,
    batch_size: int = 128,
    learning_rate: float = 1e-4,
    loss: str = "sparse_categorical_crossentropy",
    metrics: Sequence[str] = ("accuracy",),
    validation_data: tuple | None = None,
    callbacks: Sequence[Any] = (),
    verbose: int = 0,
) -> Any:
    """Return the History of fitting a tf_keras ``model`` compiled with Adam(``learning_rate``) and ``loss``."""
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    K = keras_policy.legacy_keras()
    model.compile(optimizer=K.optimizers.Adam(learning_rate), loss=loss, metrics=list(metrics))
    return model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        callbacks=list(callbacks),
        verbose=verbose,
    )


def prune_model(
    builder: Callable[..., Any],
    x: np.ndarray,
    y: np.ndarray,
    source_model: Any = None,
    target_sparsity: float = 0.5,
    epochs: int = 2,
    batch_size: int = 128,
    learning_rate: float = 1e-4,
    loss: str = "sparse_categorical_crossentropy",
    metrics: Sequence[str] = ("accuracy",),
    verbose: int = 0,
    **builder_kwargs: Any,
) -> Any:
    """Return a pruned, stripped tf_keras model: ``builder``'s architecture (weights from ``source_model``) fine-tuned on ``(x, y)``.

    Sparsity rises from 0 to ``target_sparsity`` over the first 2/3 of the training steps
    (polynomial decay); the remaining steps recover accuracy at the final sparsity.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    tfmot = keras_policy.import_tfmot()
    steps = math.ceil(len(x) / batch_size) * epochs
    frequency = max(1, min(100, steps // 30))  # about 20 pruning rounds before end_step
    end_step = frequency * max(1, (2 * steps) // (3 * frequency))
    model = prunable_model(
        builder, source_model, target_sparsity, 0, end_step, frequency, **builder_kwargs
    )
    fine_tune(
        model,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        loss=loss,
        metrics=metrics,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
        verbose=verbose,
    )
    return tfmot.sparsity.keras.strip_pruning(model)


def sparsity(model: Any) -> float:
    """Return the fraction (0..1) of exactly-zero values among the model's kernels (weights with 2+ axes; biases not counted)."""
    kernels = [
        np.asarray(w)
        for layer in _weighted_layers(model)
        for w in layer.get_weights()
        if np.ndim(w) >= 2
    ]
    total = sum(k.size for k in kernels)
    if total == 0:
        raise ValueError("model has no kernels (weights with 2 or more axes)")
    return float(sum(np.count_nonzero(k == 0) for k in kernels) / total)
