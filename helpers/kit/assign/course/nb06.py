"""The checks of notebook 06's exercises: a shift by hand, label smoothing by hand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import check_close, check_equal, check_shape, expect


@register("06.shift_image")
def _shift_image(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "shift_image")
    image = np.arange(1, 13, dtype=np.float32).reshape(3, 4)  # 3 rows, 4 columns, no zeros
    before = image.copy()
    got = np.asarray(fn(image, 1, 0))
    check_shape("shift_image(a 3x4 image, dx=1, dy=0)", got, (3, 4))
    expect(
        np.array_equal(image, before),
        "shift_image changed its input; work on a new array (np.zeros_like(image)).",
    )
    right = np.array([[0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]], dtype=np.float32)
    expect(
        not np.array_equal(got, np.roll(image, 1, axis=1)),
        "shift_image(a 3x4 image, dx=1, dy=0) wrapped around: the last column came back on the "
        "left, as np.roll does. Pixels that come in from outside the image must be 0.",
    )
    check_equal(
        "shift_image(a 3x4 image, dx=1, dy=0)",
        got.tolist(),
        right.tolist(),
        hint="dx moves the content to the right: column 0 of the result is new (0) and column "
        "j + 1 holds the input's column j; the last input column leaves the image.",
    )
    down_left = np.array([[0, 0, 0, 0], [2, 3, 4, 0], [6, 7, 8, 0]], dtype=np.float32)
    check_equal(
        "shift_image(a 3x4 image, dx=-1, dy=1)",
        np.asarray(fn(image, -1, 1)).tolist(),
        down_left.tolist(),
        hint="dy > 0 moves the content down and dx < 0 moves it left; rows and columns that "
        "come in from outside the image are 0.",
    )
    same = np.asarray(fn(image, 0, 0))
    expect(
        same.dtype == image.dtype,
        f"shift_image returned dtype {same.dtype} for a {image.dtype} image; keep the input's "
        "dtype (np.zeros_like keeps it).",
    )


@register("06.smooth_labels")
def _smooth_labels(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "smooth_labels")
    got = np.asarray(fn(np.array([2, 0]), 4, 0.2))
    check_shape("smooth_labels([2, 0], num_classes=4, epsilon=0.2)", got, (2, 4))
    expect(
        got.dtype == np.float32,
        f"smooth_labels returned dtype {got.dtype}; Keras trains in float32: use dtype=np.float32.",
    )
    sums = got.sum(axis=1)
    check_close(
        "the row sums of smooth_labels([2, 0], 4, 0.2)",
        sums,
        [1.0, 1.0],
        rtol=1e-6,
        hint="each row is a probability distribution: (1 - epsilon) on the right class plus "
        "epsilon / num_classes on every class (the right one included) sums to 1.",
    )
    check_close(
        "smooth_labels([2, 0], num_classes=4, epsilon=0.2)",
        got,
        [[0.05, 0.05, 0.85, 0.05], [0.85, 0.05, 0.05, 0.05]],
        rtol=1e-6,
        hint="the right class gets 1 - epsilon + epsilon / num_classes = 0.85 and every other "
        "class epsilon / num_classes = 0.05.",
    )
