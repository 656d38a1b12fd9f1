"""Named checks that ship in the package, so check cells need no files beside the notebook.

A check cell calls ``checks.run(name, globals())``; the check looks up what the exercise defined
in that namespace and raises :class:`~helpers.kit.assign.feedback.CheckFailed` with a message for the
student. Course notebooks register their own checks with :func:`register`.

The same checks run in two places: in the student's own notebook (interactive feedback:
``globals()`` is the kernel's namespace), and, when grading, in the grader's process
(:mod:`helpers.kit.assign.judge`), where the student's functions are proxies that send plain data
to the kernel. A check that must build something next to the student's code (e.g. a Keras model
around a function that takes a symbolic tensor) registers a :func:`probe` and calls it with
:func:`call_probe`: in the kernel when grading, right here otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from helpers.kit.assign.feedback import CheckFailed, check_close, check_shape, passed
from helpers.kit.assign.wire import Handle

CheckFunction = Callable[[Mapping[str, Any]], None]
_REGISTRY: dict[str, CheckFunction] = {}
_PROBES: dict[str, Callable[..., Any]] = {}


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator: register ``function(namespace)`` as the check called ``name``."""

    def decorator(function: CheckFunction) -> CheckFunction:
        _REGISTRY[name] = function
        return function

    return decorator


def probe(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``function(student_function, *args)`` as the probe called ``name``.

    A probe is instructor code that runs next to the student's function (in the kernel, when
    grading) and returns plain data or a Keras model for the check to examine.
    """

    def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
        _PROBES[name] = function
        return function

    return decorator


def call_probe(name: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run probe ``name`` on the student's ``function``: in the student's kernel if ``function``
    is the grader's proxy of it (:class:`~helpers.kit.assign.judge.StudentFunction`), else here."""
    if isinstance(function, Handle):
        return function.probe(name, *args, **kwargs)
    return run_probe(name, function, *args, **kwargs)


def run_probe(name: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run the registered probe ``name`` here (the kernel's side of :func:`call_probe`)."""
    if name not in _PROBES:
        import helpers.kit.assign.course  # noqa: F401  (registers the course notebooks' probes)
    return _PROBES[name](function, *args, **kwargs)


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
