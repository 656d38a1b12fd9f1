"""The checks of notebook 02's exercises (``checks.run("02.conv_output_shape", globals())``).

Each check tests the student's function on small hand-made inputs with known answers (the expected
shapes and MACs are what Keras and ``helpers.complexity`` give for the same layers), so it runs in
milliseconds and says what was found and what was expected.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import CheckFailed, check_close, check_equal, check_shape, expect

# (height, width, kernel, filters, stride, padding) -> (out_height, out_width, channels), from Keras
SHAPE_CASES = [
    ((28, 28, 3, 8, 1, "valid"), (26, 26, 8), "the tiny CNN's first convolution"),
    ((28, 28, 3, 6, 1, "same"), (28, 28, 6), "the small CNN's first convolution"),
    ((11, 11, 1, 8, 1, "valid"), (11, 11, 8), "the tiny CNN's 1x1 transition"),
    ((28, 28, 5, 16, 2, "valid"), (12, 12, 16), "a 5x5 convolution with stride 2"),
    ((7, 5, 3, 4, 2, "same"), (4, 3, 4), "a 7x5 map, stride 2, 'same' padding"),
]

# (height, width, kernel, in_channels, filters, stride, padding) -> MACs, from helpers.complexity
MAC_CASES = [
    ((28, 28, 3, 1, 6, 1, "same"), 42_336, "the small CNN's conv_1"),
    ((14, 14, 3, 6, 6, 1, "same"), 63_504, "the small CNN's conv_2"),
    ((26, 26, 3, 8, 12, 1, "valid"), 497_664, "the tiny CNN's conv_2"),
    ((28, 28, 5, 1, 16, 2, "valid"), 57_600, "a 5x5 convolution with stride 2"),
]


def _call(arguments: tuple) -> str:
    *positional, stride, padding = arguments
    text = ", ".join(str(a) for a in positional)
    if stride != 1:
        text += f", stride={stride}"
    return text + f', padding="{padding}"'


def _as_shape(name: str, got: Any) -> tuple:
    try:
        values = list(got)
    except TypeError:
        raise CheckFailed(
            f"{name}: found {got!r}; expected a tuple (height, width, channels)."
        ) from None
    expect(
        len(values) == 3,
        f"{name}: found {tuple(values)}, {len(values)} values; expected 3: "
        "(height, width, channels).",
        hint="return (out_height, out_width, filters): the filters become the output channels.",
    )
    for v in values:
        expect(
            float(v).is_integer(),
            f"{name}: found {tuple(values)}; sizes are whole numbers.",
            hint="with a stride, divide with // (floor division) for 'valid' padding and round "
            "up for 'same' padding.",
        )
    return tuple(int(v) for v in values)


@register("02.conv_output_shape")
def _conv_output_shape(namespace: Mapping[str, Any]) -> None:
    fn = lookup(namespace, "conv_output_shape")
    for arguments, expected, what in SHAPE_CASES:
        height, width, kernel, filters, stride, padding = arguments
        name = f"conv_output_shape({_call(arguments)}) ({what})"
        got = _as_shape(name, fn(height, width, kernel, filters, stride=stride, padding=padding))
        if got == expected:
            continue
        if padding == "valid" and got[:2] == (
            (height - kernel) // stride,
            (width - kernel) // stride,
        ):
            hint = "a 'valid' convolution fits (size - kernel) // stride + 1 windows: the +1 is missing."
        elif padding == "valid" and got[:2] == (height, width):
            hint = "'valid' means no padding: the map shrinks by kernel - 1 pixels at stride 1."
        elif padding == "same" and stride == 1:
            hint = "'same' padding keeps the size at stride 1: the output is height x width."
        elif got[:2] == (height - kernel + 1, width - kernel + 1) or got[:2] == (height, width):
            hint = "the stride is ignored: with stride s only every s-th position is computed."
        elif got[:2] == (width, height) or got[:2] == (expected[1], expected[0]):
            hint = "height and width are swapped: return (out_height, out_width, channels)."
        elif got[2] != filters:
            hint = "the output has one channel per filter: the third value is `filters`."
        else:
            hint = (
                "'valid': (size - kernel) // stride + 1; 'same': size / stride rounded up, "
                "for the height and the width each."
            )
        check_equal(name, got, expected, hint=hint)


@register("02.conv_macs")
def _conv_macs(namespace: Mapping[str, Any]) -> None:
    fn = lookup(namespace, "conv_macs")
    for arguments, expected, what in MAC_CASES:
        height, width, kernel, channels, filters, stride, padding = arguments
        name = f"conv_macs({_call(arguments)}) ({what}; helpers.complexity counts {expected:,})"
        got = fn(height, width, kernel, channels, filters, stride=stride, padding=padding)
        out_h = (height - kernel) // stride + 1 if padding == "valid" else -(-height // stride)
        out_w = (width - kernel) // stride + 1 if padding == "valid" else -(-width // stride)
        per_output = kernel * kernel * channels
        mistakes = {
            height * width * filters * per_output: "counted at every input position; a convolution "
            "computes one output per position of its output map: use the output's height x width "
            "(conv_output_shape).",
            out_h * out_w * filters * kernel * kernel: "in_channels is missing: each output value "
            "sums kernel x kernel x in_channels products.",
            (per_output + 1) * filters: "that is the layer's parameter count; MACs count how often "
            "the weights are used: once per output value.",
            expected + out_h * out_w * filters: "the bias additions are counted; by the kit's "
            "convention biases are not MACs.",
        }
        hint = mistakes.get(got) if isinstance(got, numbers.Number) and got != expected else None
        check_equal(
            name,
            got,
            expected,
            hint=hint or "MACs = out_height x out_width x filters x kernel x kernel x in_channels.",
        )


@register("02.per_class_accuracy")
def _per_class_accuracy(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "per_class_accuracy")
    y_true = np.array([0, 0, 0, 1, 1, 3])  # class 2 never occurs
    y_pred = np.array([0, 1, 1, 1, 0, 3])
    expected = np.array([1 / 3, 1 / 2, np.nan, 1.0])
    name = "per_class_accuracy([0, 0, 0, 1, 1, 3], [0, 1, 1, 1, 0, 3], num_classes=4)"
    got = np.asarray(fn(y_true.copy(), y_pred.copy(), num_classes=4), dtype=float)
    check_shape(
        name,
        got,
        (4,),
        hint="return one value per class, num_classes in all, also for classes that never occur.",
    )
    expect(
        bool(np.isnan(got[2])),
        f"{name}: class 2 never occurs in y_true, and you returned {got[2]:g} for it; its "
        "accuracy is undefined.",
        hint="return np.nan for a class with no sample (0 would read as 'always wrong').",
    )
    if np.allclose(got, [1 / 2, 1 / 3, np.nan, 1.0], equal_nan=True):
        raise CheckFailed(
            f"{name}: found {np.round(got, 4).tolist()}; expected [0.3333, 0.5, nan, 1.0]. You "
            "divided by the number of times class c was predicted (that is precision). Hint: "
            "divide the correct predictions among the samples with y_true == c by the number of "
            "those samples."
        )
    check_close(
        name,
        got,
        expected,
        hint="for each class c, take the samples with y_true == c and compute the share whose "
        "prediction is c.",
    )
    again = np.asarray(fn([2, 2, 0], [2, 0, 0], num_classes=3), dtype=float)
    check_close(
        "per_class_accuracy([2, 2, 0], [2, 0, 0], num_classes=3) (plain lists)",
        again,
        [1.0, np.nan, 0.5],
        hint="convert the inputs with np.asarray so that lists work too.",
    )
