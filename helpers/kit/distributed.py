"""Run one KerasTuner sweep with a chief and N worker processes on this machine (the kit's machinery).

KerasTuner's distributed mode: every process runs the same script; the *chief*
(``KERASTUNER_TUNER_ID=chief``) serves the oracle that hands out the trials, the workers
(``tuner0``, ``tuner1``...) train them, and all meet at ``KERASTUNER_ORACLE_IP:PORT``.
:func:`run_distributed` starts them on 127.0.0.1 with hard timeouts, so a dead worker cannot hang
the notebook; ``python -m helpers.kit.distributed package.module:function [args...]`` is the command
each process runs. The sweep itself is an ordinary :func:`helpers.tuning.grid_tuner` (notebook 04
shows how to write one); this module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROLE_ENV = "KERASTUNER_TUNER_ID"
IP_ENV = "KERASTUNER_ORACLE_IP"
PORT_ENV = "KERASTUNER_ORACLE_PORT"
LOCALHOST = "127.0.0.1"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def is_distributed() -> bool:
    """True in a process started by :func:`run_distributed` (KerasTuner's chief/worker env vars)."""
    return IP_ENV in os.environ


def is_chief() -> bool:
    """True in the chief process of a distributed sweep: it serves the oracle and needs no data."""
    return is_distributed() and "chief" in os.environ.get(ROLE_ENV, "")


def is_worker() -> bool:
    """True in a worker process of a distributed sweep (it trains the trials the chief hands out)."""
    return is_distributed() and not is_chief()


class DistributedRunError(RuntimeError):
    """A distributed sweep failed or timed out; ``.run`` holds every process's code and log."""

    def __init__(self, message: str, run: DistributedRun):
        super().__init__(message)
        self.run = run


@dataclasses.dataclass
class DistributedRun:
    """The outcome of :func:`run_distributed`: exit codes and log files per role.

    ``returncodes`` maps ``"chief"``, ``"tuner0"``... to the exit code (negative: killed by that
    signal, as ``subprocess`` reports it); ``log_paths`` to each process's stdout+stderr file.
    ``chief_stopped`` is True when the chief was stopped after every worker had finished
    (KerasTuner's chief may wait up to 20 s more before it notices).
    """

    returncodes: dict[str, int | None]
    log_paths: dict[str, Path]
    port: int
    elapsed_s: float
    chief_stopped: bool = False

    @property
    def ok(self) -> bool:
        """True when every worker exited with 0 and the chief did too (or was stopped after)."""
        workers_ok = all(code == 0 for role, code in self.returncodes.items() if role != "chief")
        return workers_ok and (self.returncodes.get("chief") == 0 or self.chief_stopped)

    @property
    def logs(self) -> dict[str, str]:
        """Every process's log text."""
        return {role: self.log(role) for role in self.log_paths}

    def log(self, role: str) -> str:
        """The log text of one role ("chief", "tuner0", ...)."""
        return Path(self.log_paths[role]).read_text(errors="replace")

    def tail(self, role: str, lines: int = 15) -> str:
        """The last ``lines`` lines of one role's log."""
        return "\n".join(self.log(role).splitlines()[-lines:])


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port that is free now (the OS picks it for a socket bound to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _command(target: str, args: Sequence[str], python: str) -> list[str]:
    if not isinstance(target, (str, os.PathLike)) or not str(target):
        raise TypeError(
            f"target must be 'package.module:function' or a path to a .py script, got {target!r}"
        )
    target = str(target)
    if target.endswith(".py"):
        if not Path(target).is_file():
            raise FileNotFoundError(f"target script {target!r} does not exist")
        return [python, target, *map(str, args)]
    module, _, function = target.partition(":")
    if not module or not function:
        raise ValueError(
            f"target must be 'package.module:function' or a path to a .py script, got {target!r}"
        )
    return [python, "-m", "helpers.kit.distributed", target, *map(str, args)]


def _stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Stop one child and everything it started (its own process group): TERM, then KILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _check_arguments(n_workers: Any, timeout: Any, chief_grace: Any, args: Any) -> None:
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(
            f"n_workers must be an int >= 1 (workers besides the chief), got {n_workers!r}"
        )
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not isinstance(chief_grace, (int, float)) or chief_grace < 0:
        raise ValueError(f"chief_grace must be >= 0 seconds, got {chief_grace!r}")
    if isinstance(args, (str, bytes)):
        raise TypeError(f"args must be a list of strings, e.g. [str(directory)], got {args!r}")


def _child_env(env: Mapping[str, str] | None, port: int) -> dict[str, str]:
    """The environment every process starts with: the repo importable, Keras 3, the oracle's port."""
    base_env = dict(os.environ if env is None else env)
    base_env.pop("TF_USE_LEGACY_KERAS", None)
    base_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    base_env["PYTHONUNBUFFERED"] = "1"
    paths = [str(_REPO_ROOT), *filter(None, base_env.get("PYTHONPATH", "").split(os.pathsep))]
    base_env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    base_env.update({IP_ENV: LOCALHOST, PORT_ENV: str(port)})
    return base_env


def _watch(
    procs: dict[str, subprocess.Popen], timeout: float, chief_grace: float, poll: float
) -> tuple[str | None, bool]:
    """Wait until every process is done, one fails or time is up; return (failure, chief_stopped)."""
    start, workers_done_at = time.monotonic(), None
    while True:
        codes = {role: proc.poll() for role, proc in procs.items()}
        failed = [r for r, c in codes.items() if c not in (None, 0)]
        elapsed = time.monotonic() - start
        if failed:
            return f"{failed[0]} exited with code {codes[failed[0]]} after {elapsed:.1f} s", False
        if all(c == 0 for c in codes.values()):
            return None, False
        if all(c == 0 for r, c in codes.items() if r != "chief"):
            workers_done_at = workers_done_at or time.monotonic()
            if time.monotonic() - workers_done_at >= chief_grace:
                return None, True
        if elapsed > timeout:
            running = [r for r, c in codes.items() if c is None]
            return f"timed out after {timeout:g} s with {', '.join(running)} still running", False
        time.sleep(poll)


def _failure_message(failure: str, run: DistributedRun) -> str:
    culprit = failure.split(" ", 1)[0] if "exited" in failure else None
    stopped = [r for r, c in run.returncodes.items() if c is not None and c < 0]
    message = f"distributed sweep failed: {failure}; stopped {', '.join(stopped) or 'none'}"
    if culprit and culprit != "chief":
        message += " (the chief would have waited forever for that worker's trial)"
    message += ". Fix the error in the log below and run again; finished trials are kept."
    for role in [culprit] if culprit else list(run.log_paths):
        message += f"\n--- last lines of {run.log_paths[role]} ---\n{run.tail(role)}"
    return message


def run_distributed(
    target: str | os.PathLike,
    args: Sequence[str] = (),
    n_workers: int = 2,
    timeout: float = 600.0,
    log_dir: str | os.PathLike | None = None,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    chief_grace: float = 30.0,
    check: bool = True,
    poll: float = 0.2,
) -> DistributedRun:
    """Run one sweep with a chief and ``n_workers`` workers on 127.0.0.1; return their codes/logs.

    Every process runs the same command: ``python -m helpers.kit.distributed
    package.module:function *args`` (the function is called as ``function(*args)`` with string
    arguments) or ``python script.py *args``. ``run_distributed`` picks a fresh free port and sets
    ``KERASTUNER_TUNER_ID`` (``chief``, ``tuner0``, ``tuner1``...), ``KERASTUNER_ORACLE_IP`` and
    ``KERASTUNER_ORACLE_PORT``; the function builds its tuner with
    :func:`helpers.tuning.grid_tuner` and calls ``tuner.search(...)`` (the chief serves the oracle
    and needs no data: see :func:`is_chief`).

    No hang: every process runs in its own process group; as soon as one exits with an error,
    or ``timeout`` seconds pass, all are stopped (TERM, then KILL). After every worker has
    finished, the chief gets ``chief_grace`` seconds to exit and is then stopped. The same
    happens on Ctrl+C. With ``check=True`` a failure raises :class:`DistributedRunError`
    (``.run`` holds the codes and logs); with ``check=False`` the run is returned.

    Logs go to ``log_dir`` (default: a new temporary folder), one ``<role>.log`` per process.
    """
    _check_arguments(n_workers, timeout, chief_grace, args)
    command = _command(target, args, sys.executable)
    log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="kt-dist-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_env = _child_env(env, port)
    roles = ["chief"] + [f"tuner{i}" for i in range(n_workers)]
    log_paths = {role: log_dir / f"{role}.log" for role in roles}
    procs: dict[str, subprocess.Popen] = {}
    start = time.monotonic()
    try:
        for role in roles:
            with open(log_paths[role], "w") as log:
                procs[role] = subprocess.Popen(
                    command,
                    cwd=None if cwd is None else str(cwd),
                    env={**base_env, ROLE_ENV: role},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # own process group: _stop kills its children too
                )
        failure, chief_stopped = _watch(procs, timeout, chief_grace, poll)
    finally:
        for proc in procs.values():
            _stop(proc)
    run = DistributedRun(
        returncodes={role: proc.returncode for role, proc in procs.items()},
        log_paths=log_paths,
        port=port,
        elapsed_s=time.monotonic() - start,
        chief_stopped=chief_stopped,
    )
    if failure and check:
        raise DistributedRunError(_failure_message(failure, run), run)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.kit.distributed package.module:function [args...]``: call ``function(*args)``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or ":" not in argv[0]:
        print(
            "usage: python -m helpers.kit.distributed package.module:function [args...]",
            file=sys.stderr,
        )
        return 2
    module_name, _, function_name = argv[0].partition(":")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        print(f"{module_name} has no function {function_name!r}", file=sys.stderr)
        return 2
    function(*argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
