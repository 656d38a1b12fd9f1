"""Environment report, per-notebook results files and the run summary (``reports/summary.md``)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers import config

METRICS_SUBDIR = "metrics"
_STARTED = (
    time.time()
)  # a notebook imports this module in its third cell: its elapsed time starts here
FIGURES_SUBDIR = "figures"


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


def environment_report() -> dict[str, Any]:
    """Return Python/TensorFlow/Keras versions, devices, CPU count and the run mode, as a dict."""
    quiet_tensorflow()
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in gpus],
        "colab": "google.colab" in sys.modules,
        "mode": config.run_mode(),
    }


def print_environment() -> dict[str, Any]:
    """Print the environment report in a few readable lines and return it."""
    env = environment_report()
    device = f"{len(env['gpus'])} GPU(s): {', '.join(env['gpus'])}" if env["gpus"] else "CPU only"
    print(f"Python {env['python']} | TensorFlow {env['tensorflow']} | Keras {env['keras']}")
    print(
        f"{env['platform']} | {env['cpu_count']} CPU cores | {device}"
        + (" | Colab" if env["colab"] else "")
    )
    print(
        f"Run mode: {env['mode'].upper()}"
        + (
            " (small data, few epochs: numbers are a smoke test, not results)"
            if env["mode"] == "quick"
            else ""
        )
    )
    return env


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays and paths into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def record_results(
    notebook: str, metrics: Mapping[str, Any], headline: list[str] | None = None
) -> Path:
    """Write ``metrics`` of ``notebook`` to ``reports[/quick]/metrics/<notebook>.json``; return the path.

    ``headline`` names the keys that go into the summary table (default: all scalar keys).
    """
    if not notebook or "/" in notebook or "\\" in notebook:
        raise ValueError(f"notebook must be a bare name like '01_mlp_baseline', got {notebook!r}")
    if headline is not None:
        missing = [k for k in headline if k not in metrics]
        if missing:
            raise KeyError(f"headline keys {missing} are not in the metrics of {notebook}")
    record = {
        "notebook": notebook,
        "mode": config.run_mode(),
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.time() - _STARTED, 1),
        "metrics": _jsonable(dict(metrics)),
        "headline": list(headline) if headline is not None else None,
    }
    out_dir = config.reports_dir() / METRICS_SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{notebook}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def save_figure(fig: Any, name: str, dpi: int = 110) -> Path:
    """Save a Matplotlib figure as ``reports[/quick]/figures/<name>.png``; return the path."""
    out_dir = config.reports_dir() / FIGURES_SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def _format_value(value: Any) -> str:
    """Format one metric for the summary table."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def headline_metrics(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return the scalar headline metrics of one results record."""
    metrics = record.get("metrics", {})
    keys = record.get("headline") or [
        k for k, v in metrics.items() if isinstance(v, (int, float, str, bool))
    ]
    return {k: metrics[k] for k in keys if k in metrics}


def write_summary(
    records: list[Mapping[str, Any]],
    wall_times: Mapping[str, float],
    mode: str,
    out_path: Path,
    failures: Mapping[str, str] | None = None,
) -> Path:
    """Write ``summary.md``: one row per notebook with its headline metrics, run mode and wall time."""
    failures = dict(failures or {})
    by_name = {r["notebook"]: r for r in records}
    # A notebook executed outside the runner still reports its own elapsed time.
    wall_times = {
        **{n: r["elapsed_s"] for n, r in by_name.items() if "elapsed_s" in r},
        **dict(wall_times),
    }
    names = sorted(set(wall_times) | set(by_name) | set(failures))
    lines = [
        "# Results summary",
        "",
        f"Run mode: **{mode}**. Written {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')} "
        f"on {platform.platform(terse=True)}, {os.cpu_count()} CPU cores.",
        "",
        "| notebook | status | wall time (s) | headline metrics |",
        "| --- | --- | ---: | --- |",
    ]
    for name in names:
        if name in failures:
            status = f"FAILED: {failures[name]}"
        elif name not in by_name:
            status = "ran, recorded no results"
        elif by_name[name].get("mode") != mode:
            status = f"stale results from {by_name[name].get('mode')} mode"
        else:
            status = "ok"
        metrics = headline_metrics(by_name[name]) if name in by_name else {}
        cells = "; ".join(f"{k} = {_format_value(v)}" for k, v in metrics.items()) or "-"
        wall = f"{wall_times[name]:.0f}" if name in wall_times else "-"
        lines.append(f"| {name} | {status} | {wall} | {cells} |")
    total = sum(wall_times.values())
    lines += ["", f"Total wall time: {total:.0f} s ({total / 60:.1f} min)."]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_path
