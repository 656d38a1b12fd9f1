"""The judge: check cells and hidden tests run in the grading process, on plain data.

During grading the student's kernel runs only the set-up and exercise cells. Every visible check
and hidden test (nbgrader test cells too) runs here, in the grader's own process, with
:class:`JudgeNamespace` as its globals: a name the instructor's set-up cells import is imported
here; any other name is asked of the student's kernel and comes back as plain data
(:mod:`helpers.kit.assign.wire`): numbers, strings, lists, arrays read with
``allow_pickle=False``, Keras models rebuilt in safe mode, and, for a function, a
:class:`StudentFunction` whose arguments and result cross as plain data, with a time limit per
call (an endless loop fails that call; the kernel is interrupted and grading goes on). Code in a
submission can make its own answers wrong, never the judge's verdict: ``__eq__`` always True,
``set_custom_exc``, a replaced ``showtraceback`` do not reach this process.

``pytest-prairielearn-grader`` (0.3.1, MIT, alpha) was read first: it runs student code in a
subprocess, queries variables and calls functions by name over a socket in JSON, with a timeout
per query. We took that design (query by name, call with plain arguments, a timeout per call). It
is not used: it flattens a notebook into one script instead of running cells in our sandboxed
Jupyter kernel, its tests are pytest files rather than nbgrader/otter test cells, it moves
arguments and set-up values with dill, and its JSON decoder calls ``getattr(np, <name from the
student>)``, so the judge would not see plain data only.

Limits (README, "Threat model"): values the set-up cells compute (data, constants) are read from
the student's kernel like any other name, so a check should build its own inputs; names a
check cell binds to the student's functions, and names it deletes, are mirrored in the kernel
(nbgrader's "uses squares()" test deletes a name and calls a function that needs it).
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import io
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from IPython.core.inputtransformer2 import TransformerManager

from helpers.kit.assign import wire

BUILTIN_NAMES = frozenset(dir(builtins))
# Exceptions of the student's code that come back as the same built-in type (checks test for
# them, e.g. nbgrader's `except ValueError`); any other type becomes a StudentError.
_SAME_TYPE = {
    name: getattr(builtins, name)
    for name in (
        "ArithmeticError AttributeError IndexError KeyError LookupError MemoryError NameError "
        "NotImplementedError OverflowError RecursionError RuntimeError TypeError ValueError "
        "ZeroDivisionError"
    ).split()
}


class StudentError(RuntimeError):
    """The student's code raised an exception of a type the judge does not re-create."""


class StudentTimeout(RuntimeError):
    """A request to the student's kernel did not finish in time (the kernel was interrupted)."""


class KernelDied(RuntimeError):
    """The student's kernel died while the judge was waiting for it."""


class ChannelError(RuntimeError):
    """The kernel gave no usable answer (its code may have replaced the grader's helpers)."""


class StudentFunction(wire.Handle):
    """A function that stays in the student's kernel: calling it sends plain data both ways.

    Arrays, lists and dicts passed to it are written back in place after the call, as the
    student's function left them, so checks that a function leaves its inputs alone still work.
    """

    def __init__(self, student: Student, number: int, name: str) -> None:
        super().__init__(number, name)
        self.student = student
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.student.call(self, args, kwargs)

    def probe(self, probe: str, *args: Any, **kwargs: Any) -> Any:
        """Run the instructor's probe ``probe`` on this function in the student's kernel."""
        return self.student.request(
            {"op": "probe", "probe": probe, "handle": self, "args": list(args), "kwargs": kwargs}
        )[0]

    def __repr__(self) -> str:
        return f"<the student's {self.name}>"


class Student:
    """The grading process's line to one student's kernel.

    ``execute(code, timeout)`` runs ``code`` in the kernel and returns "ok", "error" or
    "timeout" (raising :class:`KernelDied` if the kernel dies); ``scratch`` is the kernel's
    writable folder, where it leaves its replies; ``timeout()`` gives each request's seconds.
    """

    def __init__(self, execute: Callable[[str, float], str], scratch: Path, timeout) -> None:
        self.execute, self.scratch, self.timeout = execute, Path(scratch), timeout

    def request(self, job: dict) -> tuple[Any, Any]:
        """Send ``job`` to the kernel; return ``(value, arguments after a call)``."""
        reply_path = self.scratch / f".kit-reply-{secrets.token_hex(8)}"
        payload = base64.b64encode(wire.encode(job)).decode("ascii")
        code = (
            "__import__('helpers.kit.assign.wire', fromlist=['answer'])"
            f".answer({payload!r}, {str(reply_path)!r})"
        )
        seconds = self.timeout()
        if self.execute(code, seconds) == "timeout":
            raise StudentTimeout(f"no answer within {seconds:g} s (the kernel was interrupted)")
        reply = wire.decode(read_reply(reply_path), lambda n, name: StudentFunction(self, n, name))
        if not isinstance(reply, dict) or not {"value", "args", "error"} <= set(reply):
            raise ChannelError("the kernel's answer is not a reply")
        error = reply["error"]
        if error is not None:
            raise _student_exception(error)
        return reply["value"], reply["args"]

    def get(self, name: str) -> tuple[bool, Any]:
        """``(True, value)`` of ``name`` in the student's namespace, or ``(False, None)``."""
        value = self.request({"op": "get", "name": name})[0]
        if not isinstance(value, dict) or not isinstance(value.get("found"), bool):
            raise ChannelError("the kernel's answer to a name lookup is not valid")
        return value["found"], value.get("value")

    def call(self, function: StudentFunction, args: tuple, kwargs: dict) -> Any:
        job = {"op": "call", "handle": function, "args": list(args), "kwargs": kwargs}
        value, after = self.request(job)
        if isinstance(value, wire.Graph):
            return _reconnect(value.model, [*args, *kwargs.values()])
        if (
            isinstance(after, list)
            and len(after) == 2
            and isinstance(after[0], list)
            and isinstance(after[1], dict)
        ):
            for old, new in zip([*args, *kwargs.values()], [*after[0], *after[1].values()]):
                _write_back(old, new)
        return value

    def bind(self, name: str, function: StudentFunction) -> None:
        self.request({"op": "bind", "name": name, "handle": function})

    def unbind(self, name: str) -> bool:
        value = self.request({"op": "unbind", "name": name})[0]
        return bool(isinstance(value, dict) and value.get("found") is True)


def _reconnect(model: Any, arguments: list) -> Any:
    """The output of ``model``'s layers applied to the symbolic tensors among ``arguments``.

    The kernel built ``model`` from the student's function called on symbolic inputs; cloning it
    onto the judge's own inputs, with its layers kept (not copied), gives a tensor from which
    ``keras.Model(inputs, output)`` holds the student's layers, as in the student's notebook.
    """
    import keras

    inputs = [a for a in arguments if wire.is_symbolic(a)]
    if len(inputs) != len(model.inputs):
        raise ChannelError("the kernel's layer graph does not match the symbolic inputs")
    cloned = keras.models.clone_model(
        model, input_tensors=inputs if len(inputs) > 1 else inputs[0], clone_function=lambda x: x
    )
    return cloned.output


def _student_exception(error: Any) -> Exception:
    """The exception to raise for the student's ``[type name, message]``."""
    if not (isinstance(error, list) and len(error) == 2 and all(isinstance(e, str) for e in error)):
        return ChannelError("the kernel's error report is not valid")
    name, message = error[0][:80], error[1][:500]
    if name == "KeyboardInterrupt":
        return StudentTimeout("interrupted: it did not finish in time")
    if name in _SAME_TYPE:
        return _SAME_TYPE[name](message)
    return StudentError(f"{name}: {message}")


def _write_back(old: Any, new: Any) -> None:
    """Make the judge's argument ``old`` hold what the student's function left in its copy."""
    import numpy as np

    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
        if new.shape == old.shape and not np.array_equal(
            old, new, equal_nan=old.dtype.kind in "fc"
        ):
            if not old.flags.writeable:
                raise StudentError(
                    "the function changed an array of the notebook's data that it was given; "
                    "leave its inputs unchanged (work on a copy)"
                )
            with contextlib.suppress(TypeError, ValueError):
                old[...] = new
    elif isinstance(old, list) and isinstance(new, list) and old != new:
        old[:] = new
    elif isinstance(old, dict) and isinstance(new, dict) and old != new:
        old.clear()
        old.update(new)
    elif _is_frame(old) and _is_frame(new) and not old.equals(new):
        for column in [c for c in old.columns if c not in new.columns]:
            del old[column]
        if len(new) == len(old):
            for column in new.columns:
                old[column] = new[column].to_numpy()


def _is_frame(value: Any) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def read_reply(path: Path) -> bytes:
    """The bytes of the kernel's reply file (a regular file, never followed if a link), then gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ChannelError(
            "the kernel sent no answer (was the grader's helper replaced?)"
        ) from None
    except OSError as err:
        raise ChannelError(f"the kernel's answer cannot be read: {err.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ChannelError("the kernel's answer is not a regular file")
        if info.st_size > wire.LIMIT_BYTES:
            raise wire.WireError(
                f"the answer is {info.st_size / 2**20:.0f} MB; the grader reads at most "
                f"{wire.LIMIT_BYTES / 2**20:.0f} MB"
            )
        chunks, left = [], wire.LIMIT_BYTES + 1
        while left > 0 and (chunk := os.read(fd, min(left, 2**20))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)


class JudgeNamespace(dict):
    """The globals of a check cell run by the judge.

    Lookups go: names bound here (by earlier check cells), then what the instructor's set-up
    cells bound when run here (``setup``, see :func:`setup_namespace`), then their imports
    (``imports``: name -> import statement, run here on first use), then Python's built-ins, then
    the student's kernel. Binding a :class:`StudentFunction` to a name, or deleting a name that
    came from the kernel, is done in the kernel too.
    """

    def __init__(
        self,
        state: dict,
        imports: dict[str, ast.stmt],
        student: Student,
        setup: TrustedSetup | None = None,
    ) -> None:
        super().__init__(state)
        dict.__setitem__(self, "__builtins__", builtins)
        self.imports, self.student, self.fetched = imports, student, set()
        self.setup = setup if setup is not None else TrustedSetup([])

    def __missing__(self, name: str) -> Any:
        found, value = self.setup.lookup(name)
        if found:
            dict.__setitem__(self, name, value)
            self.fetched.add(name)  # not carried: it is looked up again in the next cell
            return value
        if name in self.imports:
            exec(compile(ast.Module([self.imports[name]], []), "<imports>", "exec"), self)
            return dict.__getitem__(self, name)
        if name in BUILTIN_NAMES or name.startswith("__"):
            raise KeyError(name)
        try:
            found, value = self.student.get(name)
        except KeyError as err:  # a KeyError here must not read as "no such name"
            raise ChannelError(f"looking up {name!r} in the kernel failed: {err}") from None
        if not found:
            raise KeyError(name)
        dict.__setitem__(self, name, value)
        self.fetched.add(name)
        return value

    def __contains__(self, name: object) -> bool:
        if dict.__contains__(self, name):
            return True
        try:
            self[name]
        except KeyError:
            return False
        return True

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self, name, value)
        self.fetched.discard(name)
        if isinstance(value, StudentFunction):
            self.student.bind(name, value)

    def __delitem__(self, name: str) -> None:
        here = dict.__contains__(self, name)
        if here:
            dict.__delitem__(self, name)
        came_from_kernel = (name in self.fetched or not here) and name not in self.setup.names
        self.fetched.discard(name)
        if came_from_kernel and not self.student.unbind(name) and not here:
            raise KeyError(name)

    def own(self) -> dict:
        """What this cell bound itself (carried to the next check cell), without kernel values."""
        return {k: v for k, v in self.items() if k not in self.fetched and k != "__builtins__"}


def python_source(source: str) -> str:
    """A cell's source as plain Python (IPython's ``%magics`` and ``!commands`` translated)."""
    return TransformerManager().transform_cell(source)


def instructor_imports(sources: Iterable[str]) -> dict[str, ast.stmt]:
    """The top-level imports of the instructor's set-up cells: bound name -> import statement."""
    found: dict[str, ast.stmt] = {}
    for source in sources:
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    found[name] = ast.fix_missing_locations(ast.Import([alias]))
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                for alias in node.names:
                    if alias.name != "*":
                        statement = ast.ImportFrom(node.module, [alias], 0)
                        found[alias.asname or alias.name] = ast.fix_missing_locations(statement)
    return found


_SETUP_CACHE: dict[tuple[str, ...], tuple[dict, list[str]]] = {}


class TrustedSetup:
    """The instructor's set-up cells, run here (:func:`setup_namespace`) only when a check first
    asks for a name they bind (a blank submission's checks usually never do).

    ``seconds``: the time spent running them, which the grader does not count against the
    submission's time limit (:meth:`take_seconds`).
    """

    def __init__(self, sources: Iterable[str]) -> None:
        self.sources = list(sources)
        self.names = bound_names(self.sources)
        self.seconds = 0.0

    def lookup(self, name: str) -> tuple[bool, Any]:
        """``(True, value)`` if the set-up cells bind ``name`` (they run now if they have not)."""
        if name not in self.names:
            return False, None
        start = time.monotonic()
        namespace = setup_namespace(self.sources)[0]
        self.seconds += time.monotonic() - start
        return (True, namespace[name]) if name in namespace else (False, None)

    def take_seconds(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def bound_names(sources: Iterable[str]) -> set[str]:
    """The names that cells bind (assignments, loops, ``def``, ``class``, imports; a superset)."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
    names.discard("*")
    return names


def setup_namespace(sources: list[str]) -> tuple[dict, list[str]]:
    """Run the instructor's set-up cells here, once per process; return ``(namespace, problems)``.

    The cells marked ``{"kit": {"setup": true}}`` (imports, data loading) run in quick mode, as
    in the kernel, so the checks read the instructor's own data, not the student's copy. Arrays
    in it are made read-only: a check cannot change them for the next submission, and a student
    function that changes such an input fails (:class:`StudentError`). A cell that fails here
    is listed in ``problems``; the names it would have bound come from the kernel.
    """
    key = tuple(sources)
    if key not in _SETUP_CACHE:
        namespace: dict = {"__builtins__": builtins, "__name__": "__main__"}
        problems = []
        previous, path, cwd = os.environ.get("KIT_MODE"), list(sys.path), os.getcwd()
        os.environ["KIT_MODE"] = "quick"
        try:
            for index, source in enumerate(sources):
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(python_source(source), "<set-up>", "exec"), namespace)
                except Exception as err:  # noqa: BLE001 - reported; the kernel's values are used
                    problems.append(f"set-up cell {index + 1}: {type(err).__name__}: {err}")
        finally:  # the grader's mode, import path and folder are its own again
            if previous is None:
                os.environ.pop("KIT_MODE", None)
            else:
                os.environ["KIT_MODE"] = previous
            sys.path[:] = path
            os.chdir(cwd)
        _freeze(namespace)
        _SETUP_CACHE[key] = namespace, problems
    return _SETUP_CACHE[key]


def _freeze(value: Any, depth: int = 0) -> None:
    """Make the NumPy arrays in ``value`` (a dict, list or tuple, nested) read-only."""
    import numpy as np

    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif depth < 4 and isinstance(value, dict):
        for item in value.values():
            _freeze(item, depth + 1)
    elif depth < 4 and isinstance(value, (list, tuple)):
        for item in value:
            _freeze(item, depth + 1)


def run_cell(
    source: str,
    label: str,
    state: dict,
    imports: dict[str, ast.stmt],
    student: Student,
    setup: TrustedSetup | None = None,
) -> tuple[str, str]:
    """Run one check or hidden-test cell here; return ``(status, message)``: ok or error.

    ``state`` (the names earlier check cells bound) is updated in place; ``setup``: the
    instructor's set-up cells (:class:`TrustedSetup`). :class:`KernelDied` is raised, not
    reported: the grader stops the submission there.
    """
    namespace = JudgeNamespace(state, imports, student, setup)
    printed = io.StringIO()
    try:
        code = compile(python_source(source), label, "exec")
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            exec(code, namespace)
    except KernelDied:
        raise
    except StudentTimeout as err:
        return "error", f"Timeout: {err}"
    except Exception as err:  # noqa: BLE001 - a failed check, whatever raised it
        return "error", f"{type(err).__name__}: {err}"
    finally:
        state.clear()
        state.update(namespace.own())
    return "ok", ""
