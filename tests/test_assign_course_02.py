"""Notebook 02's exercise checks: the solution passes, typical mistakes get feedback that names them."""

import math

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed

# ------------------------------------------------------------------------------ conv_output_shape


def conv_output_shape(height, width, kernel, filters, stride=1, padding="valid"):
    if padding == "same":
        return math.ceil(height / stride), math.ceil(width / stride), filters
    return (height - kernel) // stride + 1, (width - kernel) // stride + 1, filters


def test_conv_output_shape_solution_passes():
    checks.run("02.conv_output_shape", {"conv_output_shape": conv_output_shape})


def test_conv_output_shape_accepts_a_list_or_an_array():
    def as_array(*args, **kwargs):
        return np.array(conv_output_shape(*args, **kwargs))

    checks.run("02.conv_output_shape", {"conv_output_shape": as_array})


def test_the_shape_cases_are_what_keras_gives():
    import keras

    from helpers.kit.assign.course import nb02

    for (height, width, kernel, filters, stride, padding), expected, _ in nb02.SHAPE_CASES:
        layer = keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding)
        assert layer.compute_output_shape((1, height, width, 1))[1:] == expected


def _no_plus_one(height, width, kernel, filters, stride=1, padding="valid"):
    if padding == "same":
        return conv_output_shape(height, width, kernel, filters, stride, padding)
    return (height - kernel) // stride, (width - kernel) // stride, filters


def _same_as_valid(height, width, kernel, filters, stride=1, padding="valid"):
    return conv_output_shape(height, width, kernel, filters, stride, "valid")


def _stride_ignored(height, width, kernel, filters, stride=1, padding="valid"):
    return conv_output_shape(height, width, kernel, filters, 1, padding)


def _true_division(height, width, kernel, filters, stride=1, padding="valid"):
    if padding == "same":
        return height / stride, width / stride, filters
    return (height - kernel) / stride + 1, (width - kernel) / stride + 1, filters


def _two_values(height, width, kernel, filters, stride=1, padding="valid"):
    return conv_output_shape(height, width, kernel, filters, stride, padding)[:2]


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (_no_plus_one, r"found \(25, 25, 8\); expected \(26, 26, 8\).*the \+1 is missing"),
        (_same_as_valid, r"found \(26, 26, 6\); expected \(28, 28, 6\).*'same' padding keeps"),
        (_stride_ignored, r"stride=2.*found \(24, 24, 16\).*the stride is ignored"),
        (_true_division, r"found \(12\.5, 12\.5, 16\); sizes are whole numbers.*//"),
        (_two_values, r"2 values; expected 3.*filters become the output channels"),
    ],
    ids=["no +1", "same as valid", "stride ignored", "true division", "no channels"],
)
def test_conv_output_shape_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("02.conv_output_shape", {"conv_output_shape": mistake})


def test_conv_output_shape_missing():
    with pytest.raises(CheckFailed, match="no function called `conv_output_shape`"):
        checks.run("02.conv_output_shape", {})


# ------------------------------------------------------------------------------ conv_macs


def conv_macs(height, width, kernel, in_channels, filters, stride=1, padding="valid"):
    out_h, out_w, channels = conv_output_shape(height, width, kernel, filters, stride, padding)
    return out_h * out_w * channels * kernel * kernel * in_channels


def test_conv_macs_solution_passes():
    checks.run("02.conv_macs", {"conv_macs": conv_macs})


def test_the_mac_cases_are_what_the_kit_counts():
    import keras

    from helpers import complexity
    from helpers.kit.assign.course import nb02

    for (height, width, kernel, channels, filters, stride, padding), expected, _ in nb02.MAC_CASES:
        layer = keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding)
        output_shape = layer.compute_output_shape((1, height, width, channels))
        assert complexity.layer_macs(layer, (1, height, width, channels), output_shape) == expected


def _input_positions(height, width, kernel, in_channels, filters, stride=1, padding="valid"):
    return height * width * filters * kernel * kernel * in_channels


def _no_in_channels(height, width, kernel, in_channels, filters, stride=1, padding="valid"):
    return conv_macs(height, width, kernel, 1, filters, stride, padding)


def _parameters(height, width, kernel, in_channels, filters, stride=1, padding="valid"):
    return (kernel * kernel * in_channels + 1) * filters


def _with_biases(height, width, kernel, in_channels, filters, stride=1, padding="valid"):
    out_h, out_w, channels = conv_output_shape(height, width, kernel, filters, stride, padding)
    return conv_macs(height, width, kernel, in_channels, filters, stride, padding) + (
        out_h * out_w * channels
    )


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (_input_positions, r"the tiny CNN's conv_2.*found 584,064; expected 497,664.*output's"),
        (_no_in_channels, r"small CNN's conv_2.*found 10,584; expected 63,504.*in_channels"),
        (_parameters, r"found 60; expected 42,336.*parameter count"),
        (_with_biases, r"found 47,040; expected 42,336.*biases are not MACs"),
    ],
    ids=["input positions", "no in_channels", "parameters", "biases counted"],
)
def test_conv_macs_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("02.conv_macs", {"conv_macs": mistake})


def test_conv_macs_missing():
    with pytest.raises(CheckFailed, match="no function called `conv_macs`"):
        checks.run("02.conv_macs", {})


# ------------------------------------------------------------------------------ per_class_accuracy


def per_class_accuracy(y_true, y_pred, num_classes=10):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    result = np.full(num_classes, np.nan)
    for c in range(num_classes):
        if np.any(y_true == c):
            result[c] = np.mean(y_pred[y_true == c] == c)
    return result


def test_per_class_accuracy_solution_passes():
    checks.run("02.per_class_accuracy", {"per_class_accuracy": per_class_accuracy})


def test_per_class_accuracy_agrees_with_the_kit():
    from helpers import evaluation

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 9, 200), rng.integers(0, 10, 200)  # class 9 never true
    np.testing.assert_allclose(
        per_class_accuracy(y_true, y_pred), evaluation.per_class_accuracy(y_true, y_pred)
    )


def _zero_for_absent(y_true, y_pred, num_classes=10):
    return np.nan_to_num(per_class_accuracy(y_true, y_pred, num_classes))


def _precision(y_true, y_pred, num_classes=10):
    return per_class_accuracy(y_pred, y_true, num_classes)  # divides by the predicted counts


def _only_seen_classes(y_true, y_pred, num_classes=10):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.array([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)])


def _overall_accuracy(y_true, y_pred, num_classes=10):
    result = per_class_accuracy(y_true, y_pred, num_classes)
    overall = np.mean(np.asarray(y_true) == np.asarray(y_pred))
    return np.where(np.isnan(result), np.nan, overall)


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (_zero_for_absent, r"class 2 never occurs in y_true, and you returned 0.*np\.nan"),
        (_precision, r"that is precision"),
        (_only_seen_classes, r"found shape \(3,\); expected \(4,\).*num_classes in all"),
        (_overall_accuracy, r"found \[0\.5, 0\.5, nan, 0\.5\]; expected"),
    ],
    ids=["0 for an absent class", "precision", "seen classes only", "overall accuracy"],
)
def test_per_class_accuracy_mistakes_are_named(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.run("02.per_class_accuracy", {"per_class_accuracy": mistake})


def test_per_class_accuracy_missing():
    with pytest.raises(CheckFailed, match="no function called `per_class_accuracy`"):
        checks.run("02.per_class_accuracy", {})
