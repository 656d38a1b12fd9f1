"""Results: per-notebook metrics files, reading another notebook's results, target verdicts, the summary.

* ``record_results(notebook, metrics)`` writes ``reports[/quick]/metrics/<notebook>.json``;
  ``load_results(notebook)`` reads it back in a later notebook.
* ``check_targets([Target(...), ...])`` prints a met/missed table against the kit's targets and asserts
  only the floors that hold in both run modes (never a time or a speed ratio).
* ``finish(notebook, **metrics)``, a notebook's last cell: the verdicts of its goals
  (``helpers/kit/targets/nbNN.py``) and its results file, in one call;
* ``write_summary`` builds ``reports[/quick]/summary.md`` for the main job.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.kit import config, environment

METRICS_SUBDIR = "metrics"


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
    notebook: str,
    metrics: Mapping[str, Any],
    headline: list[str] | None = None,
    reloaded: Sequence[str] = (),
) -> Path:
    """Write ``metrics`` of ``notebook`` to ``reports[/quick]/metrics/<notebook>.json``; return the path.

    ``headline`` names the keys that go into the summary table (default: all scalar keys);
    ``reloaded`` the trainings this run loaded from ``artifacts/`` instead of running them.
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
        "elapsed_s": round(time.time() - environment.STARTED, 1),
        "metrics": _jsonable(dict(metrics)),
        "headline": list(headline) if headline is not None else None,
        "reloaded": sorted(set(reloaded)),
    }
    out_dir = config.reports_dir() / METRICS_SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{notebook}.json"
    with config.replaced_at_once(path) as part:  # load_results in another notebook: old or new
        part.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load_results(notebook: str) -> dict[str, Any]:
    """Return the metrics another notebook recorded in this run mode (``reports[/quick]/metrics/<notebook>.json``).

    Raises a FileNotFoundError that names the notebook to run when it has not been run yet.
    """
    if not notebook or "/" in notebook or "\\" in notebook:
        raise ValueError(f"notebook must be a bare name like '02_cnn_vs_mlp', got {notebook!r}")
    path = config.reports_dir() / METRICS_SUBDIR / f"{notebook}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: run notebooks/{notebook}.ipynb first in {config.run_mode()} mode "
            f"(e.g. ./kit.sh run --only {notebook[:2]}{' --quick' if config.is_quick() else ''})"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}); re-run notebooks/{notebook}.ipynb"
        ) from err
    return dict(record.get("metrics", {}))


@dataclass(frozen=True)
class Target:
    """One of the kit's targets: what is measured, its value, the target and the floor asserted in every run.

    ``higher_is_better=False`` turns the target and the floor into upper bounds (e.g. an accuracy drop).
    ``floor`` is a sanity bound that must hold in both modes (pick it with ``config.pick(full, quick)``);
    None asserts nothing. Never give a floor to a time, a latency or a speed ratio: they are machine-dependent.
    """

    name: str
    value: float
    target: float
    higher_is_better: bool = True
    floor: float | None = None
    unit: str = ""

    def met(self) -> bool:
        """Return True if the value reaches the target."""
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def within_floor(self) -> bool:
        """Return True if there is no floor or the value respects it."""
        if self.floor is None:
            return True
        return self.value >= self.floor if self.higher_is_better else self.value <= self.floor


def check_targets(targets: Sequence[Target], title: str = "Targets") -> Any:
    """Print a met/missed line per target, assert the floors, and return the verdict table (a DataFrame).

    Missed targets are printed with the measured value and the gap, never hidden; an AssertionError
    lists every value that broke its floor (a real regression, not a missed target).
    """
    import pandas as pd

    if not targets:
        raise ValueError("targets is empty: pass a list of reporting.Target(...)")
    rows = []
    for t in targets:
        if not isinstance(t, Target):
            raise TypeError(f"expected reporting.Target entries, got {type(t).__name__}")
        if not math.isfinite(float(t.value)):
            raise ValueError(f"target {t.name!r} has a non-finite value {t.value!r}")
        sign = ">=" if t.higher_is_better else "<="
        rows.append(
            {
                "measure": t.name,
                "value": float(t.value),
                "target": f"{sign} {t.target:g}{t.unit}",
                "met": t.met(),
                "gap": 0.0 if t.met() else abs(float(t.value) - float(t.target)),
                "floor": "-" if t.floor is None else f"{sign} {t.floor:g}{t.unit}",
            }
        )
    table = pd.DataFrame(rows).set_index("measure")
    met = int(table["met"].sum())
    print(f"{title}: {met} of {len(table)} met ({config.run_mode()} mode)")
    for t, row in zip(targets, rows):
        verdict = "met   " if row["met"] else "MISSED"
        gap = "" if row["met"] else f" (short by {row['gap']:.4g}{t.unit})"
        print(f"  {verdict} {t.name}: {t.value:.4g}{t.unit}, target {row['target']}{gap}")
    broken = [t for t in targets if not t.within_floor()]
    assert not broken, "below the floor that must hold in every run: " + "; ".join(
        f"{t.name} = {t.value:.4g}{t.unit} (floor {t.floor:g}{t.unit})" for t in broken
    )
    return table


def finish(notebook: str, headline: list[str] | None = None, **metrics: Any) -> None:
    """A notebook's last cell: print its goals' verdicts, assert their floors, write its results file.

    ``metrics`` are the measured numbers (plain floats, ints or strings; fractions as fractions).
    Goals come from ``helpers/kit/targets/nbNN.py``; a goal whose metric is missing is an error.
    The results file is ``reports[/quick]/metrics/<notebook>.json`` (printed repo-relative; nothing
    is returned, so a notebook's last cell shows no machine path).
    """
    from helpers.kit import artifacts
    from helpers.kit.targets import goals_for

    goals = goals_for(notebook)
    missing = [g.metric for g in goals if g.metric not in metrics]
    if missing:
        raise KeyError(f"kit.finish({notebook!r}) needs the metrics {missing} for its targets")
    if goals:
        table = check_targets([g.as_target(metrics[g.metric]) for g in goals], title=notebook)
        metrics["targets_met"] = f"{int(table['met'].sum())}/{len(table)}"
    path = record_results(notebook, metrics, headline, reloaded=artifacts.RELOADED)
    reloaded = sorted(set(artifacts.RELOADED))
    print(
        f"results: {path.relative_to(config.REPO_ROOT)} ({config.run_mode()} mode"
        + (f"; reloaded, not trained: {', '.join(reloaded)})" if reloaded else ")")
    )


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
        elif by_name[name].get("reloaded"):
            status = "ok, reloaded " + ", ".join(by_name[name]["reloaded"])
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
