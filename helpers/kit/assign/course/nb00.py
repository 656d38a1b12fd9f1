"""The checks of notebook 00's exercises (``checks.run("00.class_counts", globals())``).

Each check tests the student's function on small hand-made inputs with known answers, so it runs
in milliseconds, needs no data and gives feedback that says what was found and what was expected.
Check names start with the notebook's number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import check_close, check_equal, check_shape, expect


@register("00.class_counts")
def _class_counts(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "class_counts")
    got = fn(np.array([2, 0, 2, 2]), 4)  # classes 1 and 3 never occur
    check_shape(
        "class_counts([2, 0, 2, 2], 4)",
        np.asarray(got),
        (4,),
        hint="return one count per class, num_classes in all, also for classes that never occur.",
    )
    check_equal(
        "class_counts([2, 0, 2, 2], 4)",
        [int(v) for v in got],
        [1, 0, 3, 0],
        hint="entry k is the number of labels equal to k; a class that never occurs counts 0.",
    )


@register("00.normalise")
def _normalise(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "normalise")
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)  # one 2x2 image
    got = np.asarray(fn(images))
    check_shape("normalise(one 2x2 uint8 image)", got, (1, 2, 2, 1))
    expect(
        got.dtype == np.float32,
        f"normalise returned dtype {got.dtype}; Keras works in float32: use .astype(np.float32).",
    )
    check_close(
        "normalise(one 2x2 uint8 image)",
        got[..., 0],
        [[[0.0, 1.0], [0.2, 0.4]]],
        hint="divide by 255.0 (a float), so that 255 becomes 1.0 and 51 becomes 0.2.",
    )
