"""Grading throughput: submissions per minute on notebook 00, 1 vs 2 workers, slice vs whole notebook.

    nice -n 10 .venv/bin/python benchmarks/grading_throughput.py            # 12 submissions, 1 round
    nice -n 10 .venv/bin/python benchmarks/grading_throughput.py --submissions 6 --rounds 3

Generates N submissions of notebook 00's student copy (a third each blank, solved and broken: one
exercise solved, the other failing its check), then grades the same folder, sandboxed (bubblewrap),
with every combination of workers and {exercise slice, whole notebook}, in one run; ``--rounds R``
repeats them (in alternating order, so a load that drifts hits every configuration alike). One
table: submissions per minute (median over the rounds, min-max), the median seconds of one
submission's grading and the ratio to one worker on the whole notebook (how grading ran before the
slice and the workers). Every configuration must give every student the expected total and the same
CSV (checked; a mismatch is printed and fails the run). ``os.getloadavg()`` is printed before,
after and at each run: on a shared machine the rates move with it. Writes
``benchmarks/results/grading_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from helpers.kit.assign import generate, grade  # noqa: E402
from helpers.kit.assign.notebook import cell_role  # noqa: E402

NOTEBOOK = REPO_ROOT / "notebooks" / "00_setup_and_data.ipynb"
OUT = REPO_ROOT / "benchmarks" / "results" / "grading_throughput.json"
KINDS = ("blank", "solved", "broken")
EXPECTED_TOTAL = {"blank": 0, "solved": 4, "broken": 2}  # notebook 00: two exercises of 2 points


def write_submissions(folder: Path, count: int) -> dict[str, str]:
    """Write ``count`` submissions into ``folder/submissions``; return ``{student: kind}``."""
    student = nbformat.read(generate(NOTEBOOK, folder / "release"), as_version=4)
    solution = nbformat.read(NOTEBOOK, as_version=4)
    answers = {
        cell_role(c)[1]: c.source
        for c in solution.cells
        if cell_role(c) and cell_role(c)[0] == "exercise"
    }
    broken = {"q1": answers["q1"], "q2": "def normalise(images):\n    return images / 0\n"}
    subs = folder / "submissions"
    subs.mkdir()
    kinds = {}
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        filled = {"blank": {}, "solved": answers, "broken": broken}[kind]
        nb = nbformat.from_dict(student)
        for cell in nb.cells:
            role = cell_role(cell)
            if role and role[0] == "exercise" and role[1] in filled:
                cell.source = filled[role[1]]
        name = f"s{i:03d}_{kind}"
        nbformat.write(nb, subs / f"{name}.ipynb")
        kinds[name] = kind
    return kinds


def measure(folder: Path, workers: int, whole: bool, timeout: float) -> dict:
    """Grade the folder once; return wall seconds, rate, median seconds and totals per student."""
    out = folder / f"grades_w{workers}_{'whole' if whole else 'slice'}.csv"
    load = os.getloadavg()[0]
    start = time.perf_counter()
    results = grade(
        folder / "submissions", NOTEBOOK, out, timeout, workers=workers, whole_notebook=whole
    )
    wall = time.perf_counter() - start
    return {
        "workers": workers,
        "part": "whole notebook" if whole else "exercise slice",
        "submissions": len(results),
        "load_1min": round(load, 2),
        "wall_s": round(wall, 1),
        "per_minute": round(60 * len(results) / wall, 1),
        "median_s_per_submission": round(statistics.median(r.seconds for r in results), 2),
        "totals": {r.student: r.total for r in results},
        "statuses": sorted({r.status for r in results}),
        "csv": out.read_text(encoding="utf-8"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=12, help="how many (default 12)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1, help="runs of each configuration")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help="seconds per cell (default 300, not grade's 60: on a loaded machine the set-up cell's "
        "TensorFlow import alone can pass 60 s, and a timeout would change the grades measured)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    print(f"load average before (1, 5, 15 min): {load_before}  cores: {os.cpu_count()}")
    configs = [(workers, whole) for whole in (True, False) for workers in args.workers]
    runs = []
    with tempfile.TemporaryDirectory(prefix="kit-grading-bench-") as tmp:
        kinds = write_submissions(Path(tmp), args.submissions)
        for round_ in range(args.rounds):  # alternate the order: a load that drifts hits all alike
            for workers, whole in configs if round_ % 2 == 0 else configs[::-1]:
                runs.append(measure(Path(tmp), workers, whole, args.timeout))
                print(
                    f"  round {round_ + 1}: {runs[-1]['part']}, {workers} worker(s): "
                    f"{runs[-1]['wall_s']} s (load {runs[-1]['load_1min']})",
                    flush=True,
                )
    load_after = os.getloadavg()
    problems = check_grades(runs, kinds)
    table = summarise(runs)
    print_table(table)
    print(f"load average after (1, 5, 15 min): {load_after}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    save(args.out, table, runs, load_before, load_after, problems)
    return 1 if problems else 0


def check_grades(runs: list[dict], kinds: dict[str, str]) -> list[str]:
    """Every configuration gives each student the expected total and the same CSV."""
    problems = []
    for run in runs:
        label = f"{run['part']}, {run['workers']} worker(s)"
        for student, total in run["totals"].items():
            if total != EXPECTED_TOTAL[kinds[student]]:
                problems.append(f"{label}: {student} got {total}")
        differ = set(run["csv"].splitlines()) ^ set(runs[0]["csv"].splitlines())
        problems += [
            f"{label}: CSV row differs from the first run's: {row}" for row in sorted(differ)
        ]
    return problems


def summarise(runs: list[dict]) -> list[dict]:
    """Per configuration: the median rate over its rounds, and its ratio to the first one's."""
    table = []
    for part in ("whole notebook", "exercise slice"):
        for workers in sorted({run["workers"] for run in runs}):
            mine = [r for r in runs if r["part"] == part and r["workers"] == workers]
            rates = [r["per_minute"] for r in mine]
            table.append(
                {
                    "part": part,
                    "workers": workers,
                    "submissions": mine[0]["submissions"],
                    "rounds": len(mine),
                    "median_per_minute": round(statistics.median(rates), 1),
                    "min_per_minute": min(rates),
                    "max_per_minute": max(rates),
                    "median_wall_s": round(statistics.median(r["wall_s"] for r in mine), 1),
                    "median_s_per_submission": statistics.median(
                        r["median_s_per_submission"] for r in mine
                    ),
                }
            )
    for row in table:  # the first row is one worker on the whole notebook: grading before
        row["x_whole_1_worker"] = round(row["median_per_minute"] / table[0]["median_per_minute"], 2)
    return table


def print_table(table: list[dict]) -> None:
    print(
        f"\n{'part':<16} {'workers':>7} {'N':>4} {'rounds':>6} {'subs/min':>9} {'(min-max)':>13} "
        f"{'s/sub':>6} {'x base':>7}"
    )
    for row in table:
        spread = f"({row['min_per_minute']}-{row['max_per_minute']})"
        print(
            f"{row['part']:<16} {row['workers']:>7} {row['submissions']:>4} {row['rounds']:>6} "
            f"{row['median_per_minute']:>9} {spread:>13} {row['median_s_per_submission']:>6} "
            f"{row['x_whole_1_worker']:>7}"
        )
    print("subs/min: median over the rounds; s/sub: median seconds of one submission's grading")


def save(path: Path, table, runs, load_before, load_after, problems) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "notebook": NOTEBOOK.name,
        "sandbox": "bwrap",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "command": "benchmarks/grading_throughput.py " + " ".join(sys.argv[1:]),
        "summary": table,
        "runs": [{k: v for k, v in run.items() if k not in ("totals", "csv")} for run in runs],
        "same_grades_everywhere": not problems,
    }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"-> {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")


if __name__ == "__main__":
    raise SystemExit(main())
