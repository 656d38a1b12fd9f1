"""helpers.kit.assign.feedback and checks: failures say what was found and what was expected."""

import subprocess
import sys

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import (
    CheckFailed,
    check_at_most,
    check_close,
    check_equal,
    check_shape,
    check_type,
    expect,
)


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)
    with pytest.raises(CheckFailed, match="^the loss is negative. Hint: square it.$"):
        expect(False, "the loss is negative.", hint="square it.")
    expect(True, "never shown")


def test_messages_name_found_and_expected():
    with pytest.raises(CheckFailed) as info:
        check_at_most("parameters of build_mlp()", 101_770, 72_000)
    assert str(info.value) == (
        "parameters of build_mlp(): found 101,770; the exercise asks for at most 72,000."
    )
    with pytest.raises(CheckFailed, match=r"n_classes: found 9; expected 10\."):
        check_equal("n_classes", 9, 10)
    with pytest.raises(CheckFailed, match=r"found shape \(28, 28\); expected \(None, 28, 28, 1\)"):
        check_shape("x_train", np.zeros((28, 28)), (None, 28, 28, 1))
    with pytest.raises(CheckFailed, match=r"found a list; expected a ndarray"):
        check_type("x", [1], np.ndarray)


def test_check_close_scalars_arrays_and_shapes():
    check_close("acc", [0.5, np.nan], [0.5, np.nan])
    check_shape("x", np.zeros((4, 28, 28, 1)), (None, 28, 28, 1))
    with pytest.raises(CheckFailed, match=r"acc: found 0.4; expected 0.5"):
        check_close("acc", 0.4, 0.5)
    with pytest.raises(CheckFailed, match=r"1 of 3 values differ"):
        check_close("acc", [1, 2, 3], [1, 2, 4], hint="off by one?")
    with pytest.raises(CheckFailed, match=r"found shape \(2,\); expected shape \(3,\)"):
        check_close("acc", [1, 2], [1, 2, 3])
    with pytest.raises(CheckFailed, match="not a number"):
        check_close("acc", "high", 1.0)
    with pytest.raises(CheckFailed):
        check_equal("arr", np.array([1, 2]), np.array([1, 3]))
    check_equal("arr", np.array([1, 2]), np.array([1, 2]))


def test_registered_check_reports_missing_and_wrong_functions(capsys):
    with pytest.raises(CheckFailed, match="no function called `per_class_accuracy`"):
        checks.run("demo.per_class_accuracy", {})
    with pytest.raises(CheckFailed, match="per_class_accuracy"):
        checks.run("demo.per_class_accuracy", {"per_class_accuracy": lambda t, p, n: np.ones(n)})

    def right(y_true, y_pred, n):
        return np.array([np.mean(y_pred[y_true == c] == c) for c in range(n)])

    checks.run("demo.per_class_accuracy", {"per_class_accuracy": right})
    assert "all checks passed" in capsys.readouterr().out
    with pytest.raises(KeyError, match="no check called"):
        checks.run("nope", {})


def test_importing_the_engine_imports_no_tensorflow_and_no_nbclient():
    code = (
        "import sys, helpers.kit.assign, helpers.kit.assign.checks, helpers.kit.assign.feedback; "
        "import helpers.kit.assign.notebook, helpers.kit.assign.grader; "
        "bad = [m for m in ('tensorflow', 'keras', 'nbclient') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
