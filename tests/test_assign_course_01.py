"""Notebook 01's exercise checks: the solution passes, typical mistakes get feedback that names them."""

import math

import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed

# ------------------------------------------------------------------------------ dense_params


def dense_params(n_in, n_out):
    return n_in * n_out + n_out


def test_dense_params_solution_passes():
    checks.run("01.dense_params", {"dense_params": dense_params})


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (lambda n_in, n_out: n_in * n_out, r"found 6; expected 8\. .*weights only.*bias"),
        (lambda n_in, n_out: n_in * n_out + n_in, r"found 9; .*one bias per output unit"),
        (lambda n_in, n_out: (n_in + 1) * (n_out + 1), r"found 12; .*only the n_out output"),
        (
            lambda n_in, n_out: n_in * n_out + 2,
            r"dense_params\(784, 77\).*found 60,370; expected 60,445",
        ),
    ],
    ids=["no bias", "bias per input", "bias on both sides", "a constant instead of n_out"],
)
def test_dense_params_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("01.dense_params", {"dense_params": mistake})


def test_dense_params_missing():
    with pytest.raises(CheckFailed, match="no function called `dense_params`"):
        checks.run("01.dense_params", {})


# ------------------------------------------------------------------------------ one_cycle_rate


def one_cycle_rate(step, total_steps, peak):
    warmup_steps = round(0.2 * total_steps)
    if step < warmup_steps:
        return peak / 10 + (peak - peak / 10) * step / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def test_one_cycle_rate_solution_passes():
    checks.run("01.one_cycle_rate", {"one_cycle_rate": one_cycle_rate})


def test_one_cycle_rate_matches_the_kit_schedule():
    from helpers import training

    schedule = training.learning_rate_schedule("onecycle", 3e-3, 1000)
    for step in (0, 50, 199, 200, 600, 999):
        assert one_cycle_rate(step, 1000, 3e-3) == pytest.approx(
            float(schedule(step)), rel=1e-4, abs=1e-9
        )


def _warmup_from_zero(step, total_steps, peak):
    warmup_steps = round(0.2 * total_steps)
    if step < warmup_steps:
        return peak * step / warmup_steps
    return one_cycle_rate(step, total_steps, peak)


def _cosine_over_all_steps(step, total_steps, peak):
    if step < round(0.2 * total_steps):
        return one_cycle_rate(step, total_steps, peak)
    return peak * 0.5 * (1 + math.cos(math.pi * step / total_steps))


def _fixed_peak(step, total_steps, peak):
    return one_cycle_rate(step, total_steps, 1.0)


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (_warmup_from_zero, r"one_cycle_rate\(0, 100, 1\.0\) \(the first step\).*peak / 10"),
        (_cosine_over_all_steps, r"end of the warm-up.*\(step - warmup_steps\)"),
        (_fixed_peak, r"peak of 3e-3.*proportional to peak"),
    ],
    ids=["warm-up from 0", "cosine over all steps", "peak ignored"],
)
def test_one_cycle_rate_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("01.one_cycle_rate", {"one_cycle_rate": mistake})


def test_one_cycle_rate_missing():
    with pytest.raises(CheckFailed, match="no function called `one_cycle_rate`"):
        checks.run("01.one_cycle_rate", {})


# ------------------------------------------------------------------------------ build_mlp


def _mlp(hidden=(88,), input_shape=(28, 28, 1), last_activation="softmax", outputs=10):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    for units in hidden:
        x = keras.layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(outputs, activation=last_activation)(x))


def test_build_mlp_solution_passes():
    checks.run("01.build_mlp", {"build_mlp": _mlp})


def test_build_mlp_sequential_passes():
    import keras

    def build_mlp():
        return keras.Sequential(
            [
                keras.Input(shape=(28, 28, 1)),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(10),
                keras.layers.Softmax(),
            ]
        )

    checks.run("01.build_mlp", {"build_mlp": build_mlp})


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (
            lambda: _mlp(hidden=(128,)),
            r"your `build_mlp\(\)` model: found 101,770; the exercise asks for at most 72,000",
        ),
        (lambda: _mlp(input_shape=(784,)), r"inputs of shape \(None, 784\).*\(None, 28, 28, 1\)"),
        (lambda: _mlp(last_activation=None), r"not probabilities.*activation='softmax'"),
        (lambda: _mlp(hidden=()), r"1 Dense layer\(s\).*hidden Dense layer"),
        (lambda: _mlp(outputs=1, last_activation="sigmoid"), r"outputs of shape \(None, 1\)"),
    ],
    ids=["over budget", "flat input", "no softmax", "no hidden layer", "one output"],
)
def test_build_mlp_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("01.build_mlp", {"build_mlp": mistake})


def test_build_mlp_missing_or_not_a_model():
    with pytest.raises(CheckFailed, match="no function called `build_mlp`"):
        checks.run("01.build_mlp", {})
    with pytest.raises(CheckFailed, match="returned a NoneType; expected a Keras model"):
        checks.run("01.build_mlp", {"build_mlp": lambda: None})
