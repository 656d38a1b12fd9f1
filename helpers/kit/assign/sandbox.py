"""A sandbox for one submission's kernel: bubblewrap (or Docker), an unprivileged user, limits.

The kernel that runs a student's code is started, when grading as root, as::

    bwrap --ro-bind / / --tmpfs /tmp ... --unshare-pid --unshare-net ...   # read-only, no network
      setpriv --reuid=U --regid=U --clear-groups    # a user of its own: no root, no capabilities
        prlimit --data=... --nproc=... --cpu=... --fsize=...
          python -m ipykernel_launcher -f <connection file>

(as an ordinary user, bwrap makes a user namespace instead and setpriv is left out)
so it sees a read-only file system with a private ``/tmp``, its own scratch folder (the only place
it can write), empty folders over the instructor's (solutions, submissions, grades), no network,
its own process namespace (every process it starts dies with it), and limits on memory, processes
(``RLIMIT_NPROC``: a fork bomb stops there; it counts per user, so each worker slot has its own
user id), CPU time and file size. It talks to the grader over Unix sockets in the scratch folder
(ZeroMQ's ``ipc`` transport), since it has no network.

Where bubblewrap is missing and a Docker daemon answers, :func:`docker_prefix` gives the same from
``docker run`` (an empty image, the host's system folders, interpreter and kit mounted read-only, so
a Linux host only); :func:`stop` then removes the container.

The verdicts are not the kernel's to give: the checks run in the grading process
(:mod:`helpers.kit.assign.judge`), which reads plain data from the kernel through files in the
scratch folder (see README, "Threat model").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import zmq
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets import Int, List, Unicode

FIRST_UID = 61000  # worker slot k runs as uid/gid FIRST_UID + k; no /etc/passwd entry is needed
SLOTS = 1000


def process_slot() -> int:
    """Return this grading process's default slot: two graders running at once never share a user
    (each kills its own user's leftover processes after every submission)."""
    return os.getpid() % SLOTS


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (per process; ``processes`` per sandbox user).

    ``memory_mb`` caps each process's data segment (heap and anonymous mappings: ``RLIMIT_DATA``),
    ``processes`` its user's processes and threads (TensorFlow starts a few dozen threads),
    ``cpu_seconds`` its CPU time, ``file_mb`` the size of any file it writes.
    """

    memory_mb: int = 6144
    processes: int = 512
    cpu_seconds: int = 1800
    file_mb: int = 512


def bwrap_missing_reason() -> str | None:
    """Return why bubblewrap cannot sandbox kernels here, or None if it can (a probe is run)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux; this is {sys.platform}"
    missing = [tool for tool in ("bwrap", "setpriv", "prlimit") if shutil.which(tool) is None]
    if missing:
        return (
            f"{', '.join(missing)} not found: install bubblewrap (Debian/Ubuntu: "
            "`apt-get install -y bubblewrap`; setpriv and prlimit come with util-linux)"
        )
    probe = ["bwrap", "--ro-bind", "/", "/", *_namespaces(), *_drop_user(0), "true"]
    done = subprocess.run(probe, capture_output=True, text=True)
    if done.returncode != 0:
        return f"bubblewrap is installed but cannot start a sandbox here: {done.stderr.strip()}"
    return None


def _namespaces() -> list[str]:
    """Return bwrap's namespace options: a user namespace only when not root (root drops its user)."""
    common = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    common += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    return common if os.geteuid() == 0 else ["--unshare-user", *common]


def _drop_user(slot: int) -> list[str]:
    """Return the command that switches from root to worker slot ``slot``'s own user ([] if not root).

    ``RLIMIT_NPROC`` is never enforced for root, and a user of its own per slot keeps one
    submission's fork bomb from using up another's quota.
    """
    if os.geteuid() != 0:
        return []
    uid = FIRST_UID + slot
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


def _process_quota(limits: Limits) -> int:
    """Return RLIMIT_NPROC: ``limits.processes``, plus what an ordinary user already runs."""
    if os.geteuid() == 0:
        return limits.processes  # the slot's user runs nothing else
    uid, tasks = os.getuid(), 0
    for task in Path("/proc").glob("[0-9]*/task/[0-9]*"):
        try:
            tasks += task.stat().st_uid == uid
        except OSError:
            continue
    return tasks + limits.processes


def _reachable_binds(paths: list[Path]) -> list[str]:
    """Return bwrap options that let another user reach ``paths`` under folders closed to others.

    The first closed ancestor of each path (e.g. ``/root``, mode 700, holding the interpreter of
    ``pyenv``) becomes an empty, traversable tmpfs, and its entry on the way to the path (e.g.
    ``/root/.pyenv``) is bound back read-only: the sandbox sees that and nothing else of it.
    """
    closed: dict[Path, set[Path]] = {}
    for path in paths:
        chain = [*reversed(path.parents), path]
        for ancestor, entry in zip(chain[1:], chain[2:]):
            if not ancestor.stat().st_mode & 0o001:
                closed.setdefault(ancestor, set()).add(entry)
                break
    argv: list[str] = []
    for ancestor, inner in sorted(closed.items()):
        argv += ["--perms", "0755", "--tmpfs", str(ancestor)]
        for path in sorted(inner):
            argv += ["--ro-bind", str(path), str(path)]
    return argv


def needed_paths() -> list[Path]:
    """Return the folders a kernel needs to read: the interpreter's installation and the kit's."""
    import helpers

    kit_root = Path(helpers.__file__).resolve().parent.parent
    found = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), kit_root}
    found.add(Path(sys.executable).resolve().parent.parent)
    return sorted(found)


def sandbox_prefix(scratch: Path, hidden: list[Path], limits: Limits, slot: int = 0) -> list[str]:
    """Return the command that runs the kernel command after it inside the sandbox.

    ``scratch`` is the one writable folder (also the working directory and HOME); every folder of
    ``hidden`` is covered by an empty one (a file by /dev/null).
    """
    needed = needed_paths()
    argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    argv += ["--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/dev/shm"]
    argv += _reachable_binds(needed)
    for path in needed:  # a kit or interpreter under /tmp (a CI checkout) comes back, read-only
        if Path("/tmp") in path.parents:
            between = [d for d in reversed(path.parents) if Path("/tmp") in d.parents]
            for folder in between:  # bwrap would make them 0700: the sandbox user could not pass
                argv += ["--perms", "0755", "--dir", str(folder)]
            argv += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        _refuse_to_hide_needed(path, needed)
        if path.is_dir():
            argv += ["--tmpfs", str(path)]
        elif path.exists():
            argv += ["--ro-bind", "/dev/null", str(path)]
    argv += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch), *_namespaces()]
    # ipykernel would watch JPY_PARENT_PID, a pid its namespace cannot see, and quit at once
    argv += ["--unsetenv", "JPY_PARENT_PID", "--setenv", "HOME", str(scratch)]
    argv += ["--setenv", "IPYTHONDIR", str(scratch / ".ipython"), "--setenv", "MPLCONFIGDIR"]
    argv += [str(scratch / ".matplotlib"), "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    argv += ["--setenv", "TMPDIR", str(scratch)]
    argv += [*_drop_user(slot), "prlimit", f"--data={limits.memory_mb * 2**20}"]
    argv += [f"--nproc={_process_quota(limits)}", f"--cpu={limits.cpu_seconds}"]
    return [*argv, f"--fsize={limits.file_mb * 2**20}", "--"]


# Docker, where bubblewrap is missing: an empty image (made here with `docker import`, no registry
# needed) whose container sees the host's system folders, interpreter and kit read-only, like bwrap.
DOCKER_IMAGE = "kit-grader-empty:1"
DOCKER_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DOCKER_ENV = ("KIT_MODE", "KIT_GRADING", "TF_CPP_MIN_LOG_LEVEL", "MPLBACKEND", "PYTHONPATH", "PATH")


def docker_missing_reason() -> str | None:
    """Return why Docker cannot sandbox kernels here, or None if it can (makes the empty image)."""
    if not sys.platform.startswith("linux"):
        return (
            f"the Docker sandbox runs the host's own interpreter in the container, so it needs a "
            f"Linux host; this is {sys.platform}"
        )
    if shutil.which("docker") is None:
        return "docker not found"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.OSType}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if info.returncode != 0 or info.stdout.strip() != "linux":
            return f"docker cannot run Linux containers here: {info.stderr.strip()[:200]}"
        if subprocess.run(
            ["docker", "image", "inspect", DOCKER_IMAGE], capture_output=True
        ).returncode:
            made = subprocess.run(
                ["docker", "import", "-", DOCKER_IMAGE], input=_empty_tar(), capture_output=True
            )
            if made.returncode != 0:
                return f"docker could not make its empty image: {made.stderr.decode()[:200]}"
    except (OSError, subprocess.SubprocessError) as err:
        return f"docker does not answer: {err}"
    return None


def _empty_tar() -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    tarfile.open(fileobj=buffer, mode="w").close()
    return buffer.getvalue()


def docker_prefix(
    scratch: Path, hidden: list[Path], limits: Limits, slot: int, name: str
) -> list[str]:
    """Return ``docker run ...`` for the kernel command after it: what :func:`sandbox_prefix` gives
    with bubblewrap (read-only system, no network, the scratch folder, the instructor's folders
    hidden, limits), from Docker: ``--network none``, ``--read-only``, a user of its own (as root),
    no capabilities, ``--memory``, ``--pids-limit``, CPU-time and file-size limits."""
    needed = needed_paths()
    user = FIRST_UID + slot if os.geteuid() == 0 else os.getuid()
    argv = ["docker", "run", "--rm", "--name", name, "--network", "none", "--read-only"]
    argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", f"{user}:{user}"]
    argv += ["--memory", f"{limits.memory_mb}m", "--memory-swap", f"{limits.memory_mb}m"]
    argv += ["--pids-limit", str(limits.processes)]
    argv += ["--ulimit", f"cpu={limits.cpu_seconds}:{limits.cpu_seconds}"]
    argv += ["--ulimit", f"data={limits.memory_mb * 2**20}:{limits.memory_mb * 2**20}"]
    argv += ["--ulimit", f"fsize={limits.file_mb * 2**20}:{limits.file_mb * 2**20}"]
    argv += ["--tmpfs", "/tmp:rw,mode=1777"]
    # {where the container sees it: the host folder mounted there}; a merged-/usr link
    # (/lib -> usr/lib) is mounted as its target
    mounts = {Path(f): Path(f).resolve() for f in DOCKER_SYSTEM if Path(f).is_dir()}
    mounts |= {path: path for path in needed}
    for inside, host in mounts.items():
        argv += ["-v", f"{host}:{inside}:ro"]
    for path in hidden:
        _refuse_to_hide_needed(path, needed)
        for inside, host in mounts.items():  # cover it wherever a mount shows it
            if host in path.parents:
                seen = inside / path.relative_to(host)
                if path.is_dir():
                    argv += ["--tmpfs", f"{seen}:ro"]
                elif path.exists():
                    argv += ["-v", f"/dev/null:{seen}:ro"]
    argv += ["-v", f"{scratch}:{scratch}", "-w", str(scratch), "-e", f"HOME={scratch}"]
    argv += [
        "-e",
        f"IPYTHONDIR={scratch / '.ipython'}",
        "-e",
        f"MPLCONFIGDIR={scratch / '.matplotlib'}",
    ]
    argv += ["-e", "PYTHONDONTWRITEBYTECODE=1", "-e", f"TMPDIR={scratch}"]
    return [*argv, DOCKER_IMAGE]


def _refuse_to_hide_needed(path: Path, needed: list[Path]) -> None:
    """Raise ValueError if hiding ``path`` would hide the kit or the interpreter from the kernel."""
    if any(path == p or path in p.parents for p in needed):
        raise ValueError(
            f"cannot hide {path}: the kernel needs {path} to run (it holds the kit or the "
            "interpreter); keep submissions, solutions and grades outside it"
        )


def make_scratch(folder: Path, slot: int) -> None:
    """Give ``folder`` (a fresh temporary folder) to worker slot ``slot``'s user, so it can write there."""
    if os.geteuid() == 0:
        uid = FIRST_UID + slot
        os.chown(folder, uid, uid)
        for path in folder.iterdir():
            os.chown(path, uid, uid)
    os.chmod(folder, 0o700)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts inside :func:`sandbox_prefix` and talks over ``ipc``.

    Interrupts go as messages (the kernel signals itself): a signal to bwrap would not reach it.
    """

    prefix = List(Unicode(), help="the sandbox command put before the kernel command")
    owner = Int(-1, help="uid that must be able to read the connection file (-1: no change)")
    container = Unicode("", help="the Docker container's name (empty: bubblewrap)")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.prefix, *super().format_kernel_cmd(extra_arguments)]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # the kernel's own start-up notes (with the scratch folder's path) stay off the grader's
        # terminal; its errors reach the grader as messages, not on stderr
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        if self.container:  # `docker run` does not hand its own environment to the container
            at = kernel_cmd.index(DOCKER_IMAGE)
            env = kw.get("env") or {}
            passed = [f"{k}={env[k]}" for k in DOCKER_ENV if k in env]
            kernel_cmd = [
                *kernel_cmd[:at],
                *(a for v in passed for a in ("-e", v)),
                *kernel_cmd[at:],
            ]
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def interrupt_kernel(self) -> None:
        try:
            await super().interrupt_kernel()
        except zmq.ZMQError as err:  # a broken control socket: the time limits still stop the run
            self.log.warning("could not interrupt the sandboxed kernel: %s", err)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self.owner >= 0:  # jupyter_client writes it 0600 for the grading user
            os.chown(self.connection_file, self.owner, self.owner)


def kernel_manager(
    scratch: Path, hidden: list[Path], limits: Limits, slot: int = 0, engine: str = "bwrap"
) -> SandboxedKernelManager:
    """Return the manager of a sandboxed ``python3`` kernel working in ``scratch``.

    ``engine``: ``"bwrap"`` (:func:`sandbox_prefix`) or ``"docker"`` (:func:`docker_prefix`).
    """
    container = ""
    if engine == "docker":
        container = f"kit-grade-{slot}-{os.getpid()}-{time.monotonic_ns()}"
        prefix = docker_prefix(scratch, hidden, limits, slot, container)
    else:
        prefix = sandbox_prefix(scratch, hidden, limits, slot)
    km = SandboxedKernelManager(
        kernel_name="python3",
        transport="ipc",
        ip=str(scratch / "kernel"),
        connection_file=str(scratch / "connection.json"),
        prefix=prefix,
        owner=FIRST_UID + slot if os.geteuid() == 0 else -1,
        container=container,
    )
    km.kernel_spec.interrupt_mode = "message"
    return km


def stop(km: SandboxedKernelManager, slot: int = 0) -> None:
    """Kill the sandboxed kernel and everything in its process namespace; never raise.

    As root, also wait until slot ``slot``'s user runs nothing (a fork bomb's last processes
    would otherwise eat the next submission's process quota), killing stragglers.
    """
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # sockets or kernel already gone: kill bwrap, which takes the namespace along
        process = getattr(km.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()
    if km.container:  # killing `docker run` leaves its container running: remove it
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["docker", "rm", "-f", km.container], capture_output=True, timeout=60)
    if os.geteuid() == 0:
        _reap(FIRST_UID + slot)


def _reap(uid: int, seconds: float = 20.0) -> None:
    """Kill every process of ``uid`` until none is left (or ``seconds`` have passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = [int(p.name) for p in Path("/proc").glob("[0-9]*") if _owner(p) == uid]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def _owner(proc: Path) -> int | None:
    try:
        return proc.stat().st_uid
    except OSError:
        return None
