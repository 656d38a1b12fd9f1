"""Checks with actionable feedback: each failure says what was found and what was expected.

Every helper raises :class:`CheckFailed` (an ``AssertionError``) on failure, so a check cell stops at
its first failure and the grader reports that message to the student::

    check_at_most("parameters of build_mlp()", model.count_params(), 72_000)
    # CheckFailed: parameters of build_mlp(): found 101,770; the exercise asks for at most 72,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CheckFailed",
    "check_at_most",
    "check_close",
    "check_equal",
    "check_shape",
    "check_type",
    "expect",
    "passed",
]


class CheckFailed(AssertionError):
    """A check did not pass; the message is meant for the student."""


def _fmt(value: Any) -> str:
    """Readable number formatting: thousands separators, short floats, short arrays."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "tolist"):
        text = repr(value.tolist())
        return text if len(text) <= 200 else f"array of shape {tuple(shape)}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _with_hint(message: str, hint: str | None) -> str:
    return f"{message} Hint: {hint}" if hint else message


def expect(condition: Any, message: str, hint: str | None = None) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` is true."""
    if not condition:
        raise CheckFailed(_with_hint(message, hint))


def check_equal(name: str, got: Any, expected: Any, hint: str | None = None) -> None:
    """``got == expected`` (arrays compared element-wise and by shape)."""
    try:
        import numpy as np

        if isinstance(got, np.ndarray) or isinstance(expected, np.ndarray):
            same = np.shape(got) == np.shape(expected) and bool(np.all(np.asarray(got) == expected))
        else:
            same = bool(got == expected)
    except Exception:  # noqa: BLE001 - an odd type is simply "not equal"
        same = False
    expect(same, f"{name}: found {_fmt(got)}; expected {_fmt(expected)}.", hint)


def check_close(
    name: str,
    got: Any,
    expected: Any,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str | None = None,
) -> None:
    """``got`` is numerically close to ``expected`` (scalars or arrays of the same shape)."""
    import numpy as np

    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(
            _with_hint(
                f"{name}: found {_fmt(got)}, which is not a number or array of numbers.", hint
            )
        ) from None
    exp_arr = np.asarray(expected, dtype=float)
    if got_arr.shape != exp_arr.shape:
        raise CheckFailed(
            _with_hint(
                f"{name}: found shape {got_arr.shape}; expected shape {exp_arr.shape}.", hint
            )
        )
    if not np.allclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=True):
        if got_arr.ndim == 0:
            detail = f"found {_fmt(float(got_arr))}; expected {_fmt(float(exp_arr))}"
        else:
            bad = int(np.sum(~np.isclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=True)))
            detail = (
                f"{bad} of {got_arr.size} values differ; found {_fmt(got_arr)}; "
                f"expected {_fmt(exp_arr)}"
            )
        raise CheckFailed(_with_hint(f"{name}: {detail} (rtol={rtol:g}, atol={atol:g}).", hint))


def check_shape(
    name: str, value: Any, expected: Sequence[int | None], hint: str | None = None
) -> None:
    """``value.shape`` matches ``expected``; ``None`` in ``expected`` matches any size."""
    shape = getattr(value, "shape", None)
    if shape is None:
        raise CheckFailed(
            _with_hint(
                f"{name}: found a {type(value).__name__} with no shape; expected an array.", hint
            )
        )
    shape = tuple(None if s is None else int(s) for s in shape)
    ok = len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected))
    expect(ok, f"{name}: found shape {shape}; expected {tuple(expected)}.", hint)


def check_type(
    name: str, value: Any, expected: type | tuple[type, ...], hint: str | None = None
) -> None:
    """``isinstance(value, expected)``."""
    names = (
        " or ".join(t.__name__ for t in expected)
        if isinstance(expected, tuple)
        else expected.__name__
    )
    expect(
        isinstance(value, expected),
        f"{name}: found a {type(value).__name__}; expected a {names}.",
        hint,
    )


def check_at_most(name: str, value: float, limit: float, hint: str | None = None) -> None:
    """``value <= limit`` (e.g. a parameter budget)."""
    expect(
        value <= limit,
        f"{name}: found {_fmt(value)}; the exercise asks for at most {_fmt(limit)}.",
        hint,
    )


def passed(exercise: str) -> None:
    """Print the line a check cell ends with when every check passed."""
    print(f"{exercise}: all checks passed.")
