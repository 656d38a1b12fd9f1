"""The machine a notebook runs on: quiet TensorFlow logs, the environment report, the version guard.

``print_environment()`` is the third cell of every notebook: Python / TensorFlow / Keras versions,
CPU model and the instruction sets that decide int8 speed (AVX2, AVX-512, VNNI), GPUs, the run
mode, and a clear warning when a package is outside the ranges of ``requirements.txt``.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from helpers.kit import config

# Every notebook imports this module in its third cell: a notebook's elapsed time starts here.
STARTED = time.time()
REQUIREMENTS_FILE = config.REPO_ROOT / "requirements.txt"
MIN_PYTHON = (3, 10)
# The packages whose versions break course notebooks most often (Colab upgrades them under you).
GUARDED_PACKAGES = ("tensorflow", "keras", "tf-keras", "tensorflow-model-optimization", "numpy")
# CPU flags (as /proc/cpuinfo names them) that decide how fast int8 and float kernels run.
ISA_FLAGS = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx_vnni": "AVX-VNNI",
    "amx_int8": "AMX-INT8",
}


@contextmanager
def silenced_stderr():
    """Send the process's C-level stderr (file descriptor 2) to /dev/null inside the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ and Python log noise out of notebook outputs (call before importing TF)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import logging
    import warnings

    # TF writes a few C++ lines at import and at the first device query before its log level applies.
    with silenced_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*input_shape.*")
    warnings.filterwarnings("ignore", message=".*Do not pass an `input_shape`.*")


def cpu_info(cpuinfo: str | None = None) -> dict[str, Any]:
    """Return ``{"model": str, "isa": [names]}``: the CPU model and its int8-relevant instruction sets.

    Read from ``/proc/cpuinfo`` on Linux (pass its text as ``cpuinfo`` to parse another machine's);
    elsewhere the model is ``platform.processor()`` and the instruction sets are unknown (empty list).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {"model": platform.processor() or platform.machine(), "isa": []}
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, flags=re.MULTILINE)
    flags = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", cpuinfo, flags=re.MULTILINE)
    present = set(flags.group(1).split()) if flags else set()
    return {
        "model": model.group(1).strip() if model else (platform.processor() or platform.machine()),
        "isa": [name for flag, name in ISA_FLAGS.items() if flag in present],
    }


def cpu_line(info: dict[str, Any] | None = None) -> str:
    """Return ``"CPU: <model> (<instruction sets>)"``, the line every report and benchmark prints.

    ``info`` is a :func:`cpu_info` result (default: this machine's).
    """
    info = cpu_info() if info is None else info
    return f"CPU: {info['model']} ({', '.join(info['isa']) or 'no AVX2/AVX-512/VNNI reported'})"


def _requirement_ranges(path: Path = REQUIREMENTS_FILE) -> dict[str, str]:
    """Return ``{package: specifier}`` for the guarded packages listed in ``requirements.txt``."""
    ranges = {}
    if not path.is_file():
        return ranges
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"^([A-Za-z0-9_.\-]+)\s*([<>=!~].*)$", line)
        if match and match.group(1).lower() in GUARDED_PACKAGES:
            ranges[match.group(1).lower()] = match.group(2).replace(" ", "")
    return ranges


def version_problems(
    installed: dict[str, str | None] | None = None,
    python: tuple[int, int] | None = None,
    ranges: dict[str, str] | None = None,
) -> list[str]:
    """Return one sentence per package (or Python) outside the ranges of ``requirements.txt``; empty if all fit.

    ``installed`` maps package names to versions (None = not installed); by default the versions of
    this environment are read with ``importlib.metadata``.
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    ranges = _requirement_ranges() if ranges is None else ranges
    problems = []
    py = python or sys.version_info[:2]
    if tuple(py) < MIN_PYTHON:
        problems.append(
            f"Python {py[0]}.{py[1]} is older than the kit's minimum "
            f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]}: use a newer Python (or Colab)"
        )
    for package, spec in ranges.items():
        if installed is None:
            try:
                version = metadata.version(package)
            except metadata.PackageNotFoundError:
                version = None
        else:
            version = installed.get(package)
        if version is None:
            problems.append(
                f"{package} is not installed; requirements.txt asks for {package}{spec}"
            )
        elif Version(version) not in SpecifierSet(spec):
            problems.append(
                f"{package} {version} is outside requirements.txt's range {spec}: "
                f"run `pip install '{package}{spec}'` (on Colab: then Runtime > Restart session)"
            )
    return problems


def environment_report() -> dict[str, Any]:
    """Return Python/TensorFlow/Keras versions, CPU model and instruction sets, devices and run mode."""
    quiet_tensorflow()
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    cpu = cpu_info()
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(terse=True),
        "cpu_model": cpu["model"],
        "cpu_isa": cpu["isa"],
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in gpus],
        "colab": "google.colab" in sys.modules,
        "mode": config.run_mode(),
        "version_problems": version_problems(),
    }


def print_environment() -> dict[str, Any]:
    """Print the environment report and any version warning in a few readable lines; return the report."""
    env = environment_report()
    device = f"{len(env['gpus'])} GPU(s): {', '.join(env['gpus'])}" if env["gpus"] else "CPU only"
    print(f"Python {env['python']} | TensorFlow {env['tensorflow']} | Keras {env['keras']}")
    print(
        f"{env['platform']} | {env['cpu_count']} CPU cores | {device}"
        + (" | Colab" if env["colab"] else "")
    )
    print(cpu_line({"model": env["cpu_model"], "isa": env["cpu_isa"]}))
    quick_note = " (small data, few epochs: numbers are a smoke test, not results)"
    print(f"Run mode: {env['mode'].upper()}" + (quick_note if env["mode"] == "quick" else ""))
    for problem in env["version_problems"]:
        print(f"WARNING: {problem}")
    return env


def start(seed: int = config.DEFAULT_SEED) -> int:
    """A notebook's first kit cell: quiet TensorFlow's logs, print the environment and run mode, seed.

    Return the seed (``keras.utils.set_random_seed`` through ``config.set_seed``). In a grading
    kernel (``KIT_GRADING=1``, set by the grader) see :func:`start_grading_kernel`.
    """
    if os.environ.get(GRADING_ENV_VAR) == "1":
        return start_grading_kernel(seed)
    quiet_tensorflow()  # before TensorFlow is imported: keeps its log noise out of the outputs
    print_environment()
    return config.set_seed(seed)


GRADING_ENV_VAR = "KIT_GRADING"


def start_grading_kernel(seed: int = config.DEFAULT_SEED) -> int:
    """``start()`` in a kernel that grades a submission: seed, without importing TensorFlow.

    Importing TensorFlow is most of a light notebook's grading time (about 4 of 6 s for notebook
    00's exercise slice, whose exercises are NumPy). So Python and NumPy are seeded now and
    TensorFlow when something first imports it (:class:`_SeedTensorFlowOnImport`): a submission
    graded twice draws the same numbers. Keras draws its initialisers' seeds from Python's
    ``random`` when no global seed is set, so its weights are reproducible too (they are not the
    same draws as ``keras.utils.set_random_seed`` would give in the lesson run).
    """
    import random

    import numpy as np

    seed = config.checked_seed(seed)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    random.seed(int(seed))
    np.random.seed(int(seed))
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(int(seed))
    elif not any(isinstance(f, _SeedTensorFlowOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _SeedTensorFlowOnImport(int(seed)))
    print(
        f"Grading kernel: run mode {config.run_mode().upper()}, seed {seed}, TensorFlow on first use"
    )
    return int(seed)


class _SeedTensorFlowOnImport:
    """An import hook (``sys.meta_path``) that calls ``tf.random.set_seed`` once TensorFlow is loaded."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        import importlib.util

        sys.meta_path.remove(self)  # find the real spec, and hook only the first import
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, seed = spec.loader, self.seed
        real_exec = loader.exec_module

        def exec_module(module):
            real_exec(module)
            module.random.set_seed(seed)

        loader.exec_module = exec_module
        return spec
