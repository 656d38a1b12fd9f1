"""Notebook 08's exercise checks: the solution passes, typical mistakes get a message naming them."""

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed


# ----------------------------------------------------------------------------- quantize
def test_quantize_solution_passes():
    def quantize(x, scale, zero_point):
        q = np.round(np.asarray(x) / scale) + zero_point
        return np.clip(q, -128, 127).astype(np.int8)

    checks.run("08.quantize", {"quantize": quantize})


@pytest.mark.parametrize(
    ("quantize", "match"),
    [
        (lambda x, s, z: (np.round(x / s) + z).astype(np.int8), "wrapped around"),
        (lambda x, s, z: (np.round(x / s) + z).astype(np.int64), "not clipped"),
        (lambda x, s, z: np.clip((x / s).astype(np.int64) + z, -128, 127), "truncated"),
        (lambda x, s, z: np.clip(np.round(x / s) - z, -128, 127).astype(np.int8), "subtracted"),
        (lambda x, s, z: np.clip(np.round(x * s) + z, -128, 127).astype(np.int8), "multiplied"),
        (lambda x, s, z: np.clip(np.round(x / s) + z, -128, 127), "dtype float"),
        (lambda x, s, z: np.clip(np.round(x / s) + z, 0, 255).astype(np.uint8), "uint8 range"),
    ],
    ids=["wrap", "no clip", "truncate", "minus zero point", "times scale", "float", "uint8"],
)
def test_quantize_mistakes_are_named(quantize, match):
    with pytest.raises(CheckFailed, match=match):
        checks.run("08.quantize", {"quantize": quantize})


def test_quantize_must_not_change_its_input():
    def quantize(x, scale, zero_point):
        x /= scale
        return np.clip(np.round(x) + zero_point, -128, 127).astype(np.int8)

    with pytest.raises(CheckFailed, match="changed its input"):
        checks.run("08.quantize", {"quantize": quantize})


def test_quantize_missing_function():
    with pytest.raises(CheckFailed, match="no function called `quantize`"):
        checks.run("08.quantize", {})


# ----------------------------------------------------------------------------- dequantize
def test_dequantize_solution_passes():
    def dequantize(q, scale, zero_point):
        return (scale * (q.astype(np.float32) - zero_point)).astype(np.float32)

    checks.run("08.dequantize", {"dequantize": dequantize})


@pytest.mark.parametrize(
    ("dequantize", "match"),
    [
        (lambda q, s, z: (s * (q - z)).astype(np.float32), "computed in int8 and wrapped"),
        (lambda q, s, z: (s * (q.astype(np.float32) + z)).astype(np.float32), "was added"),
        (lambda q, s, z: ((q.astype(np.float32) - z) / s).astype(np.float32), "was divided"),
        (lambda q, s, z: (s * q.astype(np.float32) - z).astype(np.float32), "after scaling"),
        (lambda q, s, z: s * (q.astype(np.int64) - z), "dtype float64"),
    ],
    ids=["int8 wrap", "plus zero point", "divide", "order", "float64"],
)
def test_dequantize_mistakes_are_named(dequantize, match):
    with pytest.raises(CheckFailed, match=match):
        checks.run("08.dequantize", {"dequantize": dequantize})


def test_dequantize_missing_function():
    with pytest.raises(CheckFailed, match="no function called `dequantize`"):
        checks.run("08.dequantize", {})


# ----------------------------------------------------------------------------- int8_params
def test_int8_params_solution_passes():
    def int8_params(x_min, x_max):
        x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
        scale = (x_max - x_min) / 255
        return scale, int(round(-128 - x_min / scale))

    checks.run("08.int8_params", {"int8_params": int8_params})


def _without_zero(x_min, x_max):
    scale = (x_max - x_min) / 255
    return scale, int(round(-128 - x_min / scale))


def _uint8(x_min, x_max):
    x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    scale = (x_max - x_min) / 255
    return scale, int(round(-x_min / scale))


def _steps_256(x_min, x_max):
    x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    scale = (x_max - x_min) / 256
    return scale, int(round(-128 - x_min / scale))


def _symmetric(x_min, x_max):
    return max(abs(x_min), abs(x_max)) / 127, 0


def _float_zero_point(x_min, x_max):
    x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    scale = (x_max - x_min) / 255
    return scale, np.round(-128 - x_min / scale)


def _sign(x_min, x_max):
    x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    scale = (x_max - x_min) / 255
    return scale, int(round(-128 + x_min / scale))


@pytest.mark.parametrize(
    ("int8_params", "match"),
    [
        (_without_zero, "must contain 0.0"),
        (_uint8, "uint8 zero point"),
        (_steps_256, "255 steps"),
        (_symmetric, "symmetric rule"),
        (_float_zero_point, "expected an integer"),
        (_sign, "sign of x_min / scale"),
        (lambda x_min, x_max: (x_max - x_min) / 255, "expected a pair"),
    ],
    ids=["range without 0", "uint8", "256", "symmetric", "float zero point", "sign", "scalar"],
)
def test_int8_params_mistakes_are_named(int8_params, match):
    with pytest.raises(CheckFailed, match=match):
        checks.run("08.int8_params", {"int8_params": int8_params})


def test_int8_params_missing_function():
    with pytest.raises(CheckFailed, match="no function called `int8_params`"):
        checks.run("08.int8_params", {})
