"""Named checks that ship in the package, so check cells need no files beside the notebook.

A check cell calls ``checks.run(name, globals())``; the check looks up what the exercise defined
in that namespace and raises :class:`~helpers.kit.assign.feedback.CheckFailed` with a message for the
student. Course notebooks register their own checks with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from helpers.kit.assign.feedback import CheckFailed, check_close, check_shape, passed

CheckFunction = Callable[[Mapping[str, Any]], None]
_REGISTRY: dict[str, CheckFunction] = {}


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator: register ``function(namespace)`` as the check called ``name``."""

    def decorator(function: CheckFunction) -> CheckFunction:
        _REGISTRY[name] = function
        return function

    return decorator


def names() -> list[str]:
    """The registered check names."""
    return sorted(_REGISTRY)


def lookup(namespace: Mapping[str, Any], name: str, kind: str = "function") -> Any:
    """``namespace[name]``, or a :class:`CheckFailed` telling the student to run the exercise cell."""
    if name not in namespace:
        raise CheckFailed(
            f"no {kind} called `{name}` is defined; write it in the exercise cell and run that "
            "cell before this one."
        )
    value = namespace[name]
    if kind == "function" and not callable(value):
        raise CheckFailed(f"`{name}` is a {type(value).__name__}; expected a function.")
    return value


def run(name: str, namespace: Mapping[str, Any]) -> None:
    """Run the registered check ``name`` on ``namespace`` (pass ``globals()``)."""
    if name not in _REGISTRY:
        import helpers.kit.assign.course  # noqa: F401  (registers the course notebooks' checks)
    if name not in _REGISTRY:
        raise KeyError(f"no check called {name!r}; registered checks: {', '.join(names())}")
    _REGISTRY[name](namespace)
    passed(name)


# ---------------------------------------------------------------------------------------------
# Example checks (used by the engine's test fixture; pure NumPy so they run in milliseconds)


@register("demo.per_class_accuracy")
def _check_per_class_accuracy(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "per_class_accuracy")
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    got = fn(y_true, y_pred, 3)
    check_shape("per_class_accuracy(y_true, y_pred, 3)", np.asarray(got), (3,))
    check_close(
        "per_class_accuracy(y_true, y_pred, 3)",
        got,
        [0.5, 2 / 3, 1.0],
        hint="for each class c, divide the number of correct predictions among samples with "
        "y_true == c by the number of samples with y_true == c.",
    )
