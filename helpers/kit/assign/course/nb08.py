"""The checks of notebook 08's exercises (``checks.run("08.quantize", globals())``).

int8 quantization by hand: ``q = round(x / scale) + zero_point`` clipped to -128..127, back
``x = scale * (q - zero_point)``, and the per-tensor (asymmetric) scale and zero point of an
activation range. Each check uses small hand-made values with known answers; when a result matches
a typical mistake (no clip, a cast that wraps around, truncation, ...), the message names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import lookup, register
from helpers.kit.assign.feedback import CheckFailed, check_close, check_equal, check_shape, expect


def _call(label: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, or a :class:`CheckFailed` naming the call and the exception it raised."""
    import numpy as np

    try:
        with np.errstate(all="ignore"):
            return fn(*args)
    except CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported
        raise CheckFailed(f"{label} raised {type(err).__name__}: {err}") from None


def _diagnose(label: str, got: Any, expected: Any, mistakes: list[tuple[str, Any]]) -> None:
    """Raise a :class:`CheckFailed` naming the first mistake whose values ``got`` matches."""
    import numpy as np

    got = np.asarray(got)
    if got.shape != np.shape(expected) or not np.issubdtype(got.dtype, np.number):
        return
    if np.allclose(got, expected, rtol=1e-5, atol=1e-6):
        return
    for message, candidate in mistakes:
        if np.allclose(got, candidate, rtol=1e-5, atol=1e-6):
            raise CheckFailed(
                f"{label}: found {got.tolist()}; expected {np.asarray(expected).tolist()}; "
                f"{message}."
            )


# ----------------------------------------------------------------------------- 08.quantize
_X = [-20.0, -0.46, -0.04, 0.0, 0.04, 0.27, 1.0, 12.0, 12.5, 20.0]
_SCALE, _ZERO = 0.1, 5


@register("08.quantize")
def _quantize(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "quantize")
    x = np.array(_X, dtype=np.float32)
    before = x.copy()
    label = f"quantize({_X}, scale={_SCALE}, zero_point={_ZERO})"
    got = np.asarray(_call(label, fn, x, _SCALE, _ZERO))
    expect(
        np.array_equal(x, before),
        "quantize changed its input array x; compute on a new array (x / scale makes one).",
    )
    check_shape(label, got, x.shape, hint="return one integer per input value, same shape as x.")
    steps = np.asarray(_X) / _SCALE
    expected = np.clip(np.round(steps) + _ZERO, -128, 127).astype(np.int64)
    unclipped = np.round(steps) + _ZERO
    _diagnose(
        label,
        got,
        expected,
        [
            (
                "the values wrapped around (205 became -51): converting to int8 before clipping "
                "wraps instead of saturating; np.clip(q, -128, 127) first, then .astype(np.int8)",
                unclipped.astype(np.int64).astype(np.int8),
            ),
            (
                "the values are not clipped: int8 holds -128..127 only, so np.clip(q, -128, 127) "
                "before .astype(np.int8)",
                unclipped,
            ),
            (
                "the values are clipped to 0..255, the uint8 range; int8 holds -128..127: "
                "np.clip(q, -128, 127).astype(np.int8)",
                np.clip(unclipped, 0, 255),
            ),
            (
                "the values are truncated towards zero (-4.6 -> -4, 2.7 -> 2) instead of rounded: "
                "use np.round(x / scale) before adding the zero point",
                np.clip(np.trunc(steps) + _ZERO, -128, 127),
            ),
            (
                "the values are rounded down (np.floor) instead of to the nearest integer: use "
                "np.round(x / scale)",
                np.clip(np.floor(steps) + _ZERO, -128, 127),
            ),
            (
                "the zero point was subtracted; quantizing adds it: q = round(x / scale) + "
                "zero_point",
                np.clip(np.round(steps) - _ZERO, -128, 127),
            ),
            (
                "x was multiplied by the scale; quantizing divides by it: q = round(x / scale) + "
                "zero_point",
                np.clip(np.round(np.asarray(_X) * _SCALE) + _ZERO, -128, 127),
            ),
        ],
    )
    check_equal(
        label,
        got.astype(np.int64) if np.issubdtype(got.dtype, np.number) else got,
        expected.astype(np.int64),
        hint="q = np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8).",
    )
    expect(
        got.dtype == np.int8,
        f"quantize returned dtype {got.dtype}; the values are right, but an int8 tensor stores "
        "int8: end with .astype(np.int8) (after the clip).",
    )


# ----------------------------------------------------------------------------- 08.dequantize
_Q = [-128, -64, -1, 0, 5, 127]


@register("08.dequantize")
def _dequantize(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "dequantize")
    q = np.array(_Q, dtype=np.int8)
    before = q.copy()
    scale, zero = 0.5, -128
    label = f"dequantize(np.array({_Q}, dtype=np.int8), scale={scale}, zero_point={zero})"
    got = np.asarray(_call(label, fn, q, scale, zero))
    expect(
        np.array_equal(q, before),
        "dequantize changed its input array q; compute on a converted copy instead.",
    )
    check_shape(label, got, q.shape, hint="return one float per integer, same shape as q.")
    wide = np.asarray(_Q, dtype=np.float64)
    expected = scale * (wide - zero)
    _diagnose(
        label,
        got,
        expected,
        [
            (
                "q - zero_point was computed in int8 and wrapped around (127 - (-128) = 255 does "
                "not fit in int8): convert q first, q.astype(np.float32) - zero_point",
                scale * (q - np.int8(zero)).astype(np.float64),
            ),
            (
                "the zero point was added; dequantizing subtracts it: x = scale * (q - zero_point)",
                scale * (wide + zero),
            ),
            (
                "q was divided by the scale; dequantizing multiplies: x = scale * (q - zero_point)",
                (wide - zero) / scale,
            ),
            (
                "the zero point was subtracted after scaling: x = scale * (q - zero_point), not "
                "scale * q - zero_point",
                scale * wide - zero,
            ),
        ],
    )
    check_close(
        label,
        got,
        expected,
        rtol=1e-6,
        hint="x = scale * (q.astype(np.float32) - zero_point).",
    )
    expect(
        got.dtype == np.float32,
        f"dequantize returned dtype {got.dtype}; the values are right, but the model works in "
        "float32: end with .astype(np.float32).",
    )


# ----------------------------------------------------------------------------- 08.int8_params
_RANGES = [(0.0, 1.0), (-1.0, 3.0), (2.0, 6.0), (-3.0, -1.0)]


def _params(x_min: float, x_max: float) -> tuple[float, int]:
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / 255.0
    return scale, int(round(-128 - lo / scale))


@register("08.int8_params")
def _int8_params(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "int8_params")
    for x_min, x_max in _RANGES:
        label = f"int8_params({x_min}, {x_max})"
        got = _call(label, fn, x_min, x_max)
        expect(
            isinstance(got, (tuple, list)) and len(got) == 2,
            f"{label} returned {got!r}; expected a pair (scale, zero_point).",
            hint="end with return scale, zero_point.",
        )
        scale, zero = got
        expect(
            np.ndim(scale) == 0 and np.ndim(zero) == 0,
            f"{label} returned ({scale!r}, {zero!r}); expected two numbers.",
        )
        scale = float(scale)
        exp_scale, exp_zero = _params(x_min, x_max)
        lo, hi = min(x_min, 0.0), max(x_max, 0.0)
        if not math.isclose(scale, exp_scale, rel_tol=1e-6):
            if math.isclose(scale, (x_max - x_min) / 255.0, rel_tol=1e-6):
                raise CheckFailed(
                    f"{label}: found scale {scale:.6g}, (x_max - x_min) / 255; expected "
                    f"{exp_scale:.6g}: the range must contain 0.0 so that 0 is exactly "
                    "representable: extend it first with x_min = min(x_min, 0.0) and "
                    "x_max = max(x_max, 0.0)."
                )
            if math.isclose(scale, (hi - lo) / 256.0, rel_tol=1e-6):
                raise CheckFailed(
                    f"{label}: found scale {scale:.6g}; expected {exp_scale:.6g}: 256 integers "
                    "-128..127 make 255 steps, so scale = (x_max - x_min) / 255."
                )
            if math.isclose(scale, max(abs(lo), abs(hi)) / 127.0, rel_tol=1e-6):
                raise CheckFailed(
                    f"{label}: found scale {scale:.6g}, max|x| / 127; expected {exp_scale:.6g}: "
                    "that is the symmetric rule of the weights; an activation range is spread "
                    "over all 256 integers, scale = (x_max - x_min) / 255."
                )
            check_close(
                f"scale of {label}",
                scale,
                exp_scale,
                rtol=1e-6,
                hint="scale = (x_max - x_min) / 255 after extending the range to contain 0.0.",
            )
        expect(
            isinstance(zero, (int, np.integer)),
            f"{label}: the zero point is {zero!r} ({type(zero).__name__}); expected an integer, "
            "so that 0.0 is exactly one of the 256 levels: int(round(...)).",
        )
        zero = int(zero)
        if zero != exp_zero:
            unsigned = int(round(-lo / exp_scale))
            if zero == unsigned:
                raise CheckFailed(
                    f"{label}: found zero point {zero}; expected {exp_zero}: {zero} is the uint8 "
                    "zero point (integers 0..255); int8 integers start at -128, so "
                    "zero_point = round(-128 - x_min / scale)."
                )
            if zero == 0:
                raise CheckFailed(
                    f"{label}: found zero point 0; expected {exp_zero}: zero point 0 is the "
                    "symmetric rule of the weights; for an activation range q = -128 must stand "
                    "for x_min, so zero_point = round(-128 - x_min / scale)."
                )
            if zero == int(round(-128 + lo / exp_scale)):
                raise CheckFailed(
                    f"{label}: found zero point {zero}; expected {exp_zero}: the sign of "
                    "x_min / scale is wrong: q = -128 stands for x_min, so "
                    "zero_point = round(-128 - x_min / scale)."
                )
            check_equal(
                f"zero point of {label}",
                zero,
                exp_zero,
                hint="zero_point = round(-128 - x_min / scale), after extending the range to "
                "contain 0.0.",
            )
