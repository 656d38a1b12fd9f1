"""The checks of notebook 01's exercises (``checks.run("01.dense_params", globals())``).

Each check tests the student's function on small hand-made inputs with known answers (``build_mlp``
is built, never trained), so it runs in well under a second and says what was found and expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import CheckFailed, check_at_most, check_close, check_equal, expect

BASELINE_WIDTHS = (784, 77, 74, 63, 10)  # the baseline MLP: 71,582 parameters
MLP_BUDGET = 72_000


@register("01.dense_params")
def _dense_params(namespace: Mapping[str, Any]) -> None:
    fn = lookup(namespace, "dense_params")
    got = fn(3, 2)
    mistakes = {
        6: "3 x 2 = 6 counts the weights only; each of the 2 output units also has a bias.",
        9: "3 x 2 + 3 = 9 gives one bias per input; there is one bias per output unit (n_out).",
        12: "(3 + 1) x (2 + 1) = 12 adds a bias to the inputs and to the outputs; only the n_out "
        "output units have a bias.",
    }
    if isinstance(got, numbers.Number) and got in mistakes:
        raise CheckFailed(f"dense_params(3, 2): found {got}; expected 8. {mistakes[got]}")
    hint = "a Dense layer has an n_in x n_out weight matrix plus one bias per output unit."
    check_equal("dense_params(3, 2)", got, 8, hint=hint)
    check_equal(
        "dense_params(784, 77) (the baseline's first layer)", fn(784, 77), 60_445, hint=hint
    )
    widths = BASELINE_WIDTHS
    total = sum(fn(a, b) for a, b in zip(widths[:-1], widths[1:]))
    check_equal(
        "the baseline MLP 784-77-74-63-10 summed layer by layer with dense_params",
        total,
        71_582,
        hint=hint,
    )


def _reference_one_cycle(step: int, total_steps: int, peak: float) -> float:
    warmup = round(0.2 * total_steps)
    if step < warmup:
        return peak / 10 + (peak - peak / 10) * step / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total_steps - warmup)))


@register("01.one_cycle_rate")
def _one_cycle_rate(namespace: Mapping[str, Any]) -> None:
    fn = lookup(namespace, "one_cycle_rate")
    cases = [  # (step, what the step is, hint if it is wrong)
        (0, "the first step", "the warm-up starts at a tenth of the peak (peak / 10), not at 0."),
        (
            10,
            "halfway through the warm-up",
            "during the warm-up the rate rises in a straight line from peak / 10 to the peak: "
            "peak / 10 + (peak - peak / 10) * step / warmup_steps.",
        ),
        (
            20,
            "the end of the warm-up (warmup_steps = round(0.2 * 100) = 20)",
            "the rate reaches the peak exactly when the warm-up ends; the cosine starts there, so "
            "measure its progress as (step - warmup_steps) / (total_steps - warmup_steps).",
        ),
        (
            60,
            "halfway through the cosine decay",
            "after the warm-up: peak * 0.5 * (1 + cos(pi * progress)), with progress going from 0 "
            "at the end of the warm-up to 1 at the last step.",
        ),
        (100, "the last step", "the cosine decays to 0 at step total_steps."),
    ]
    for step, where, hint in cases:
        check_close(
            f"one_cycle_rate({step}, 100, 1.0) ({where})",
            fn(step, 100, 1.0),
            _reference_one_cycle(step, 100, 1.0),
            rtol=1e-6,
            atol=1e-9,
            hint=hint,
        )
    check_close(
        "one_cycle_rate(0, 100, 3e-3) (the first step of a peak of 3e-3)",
        fn(0, 100, 3e-3),
        3e-4,
        rtol=1e-6,
        atol=1e-12,
        hint="every rate is proportional to peak: use the argument, not a fixed number.",
    )


@register("01.build_mlp")
def _build_mlp(namespace: Mapping[str, Any]) -> None:
    import keras
    import numpy as np

    fn = lookup(namespace, "build_mlp")
    model = fn()
    expect(
        isinstance(model, keras.Model),
        f"build_mlp() returned a {type(model).__name__}; expected a Keras model.",
        hint="end with `return keras.Model(inputs, outputs)` (or return a keras.Sequential).",
    )
    expect(
        model.built,
        "build_mlp() returned a model that is not built yet, so its input shape and parameters "
        "are unknown.",
        hint="start it with keras.Input(shape=(28, 28, 1)).",
    )
    input_shape = tuple(model.input_shape)
    expect(
        input_shape == (None, 28, 28, 1),
        f"build_mlp() takes inputs of shape {input_shape}; the notebook's images have shape "
        "(None, 28, 28, 1).",
        hint="use keras.Input(shape=(28, 28, 1)) followed by keras.layers.Flatten().",
    )
    output_shape = tuple(model.output_shape)
    expect(
        output_shape == (None, 10),
        f"build_mlp() gives outputs of shape {output_shape}; expected (None, 10), one "
        "probability per digit.",
        hint="end with keras.layers.Dense(10, activation='softmax').",
    )
    check_at_most(
        "parameters of your `build_mlp()` model",
        model.count_params(),
        MLP_BUDGET,
        hint="after Flatten, a hidden layer of h units costs 785 * h parameters: choose h "
        "(and any further layers) so that the total stays within the budget.",
    )
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    expect(
        len(dense) >= 2,
        f"build_mlp() has {len(dense)} Dense layer(s); an MLP needs at least one hidden Dense "
        "layer before the 10-unit output layer.",
        hint="add e.g. keras.layers.Dense(64, activation='relu') after Flatten.",
    )
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    probs = np.asarray(model(images, training=False))
    expect(
        bool(np.all(probs >= 0)) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4),
        "the outputs of build_mlp() are not probabilities: on 4 random images each row sums to "
        f"{np.round(probs.sum(axis=1), 4).tolist()} (expected 1.0, all values >= 0).",
        hint="give the last Dense layer activation='softmax'.",
    )
