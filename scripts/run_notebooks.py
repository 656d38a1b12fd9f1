"""The main job: execute every notebook in order, headless, and write ``summary.md``.

    python scripts/run_notebooks.py                 # full mode: outputs written back into notebooks/
    python scripts/run_notebooks.py --mode quick    # quick pass: executed copies in reports/quick/executed/
    python scripts/run_notebooks.py --only 07 08    # a subset, by number or name prefix

Each notebook runs in a fresh kernel with ``KIT_MODE`` set, its working directory ``notebooks/``.
A failing notebook is reported (and makes the exit status non-zero); the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

KERNEL_LOG_LEVEL = "ERROR"
VOLATILE_METADATA = ("widgets", "colab", "accelerator", "papermill")


def strip_volatile_metadata(nb) -> None:
    """Remove widget state, Colab/papermill metadata and per-cell execution timing from ``nb`` in place."""
    for key in VOLATILE_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled", "colab", "id_hint", "outputId"):
            cell.metadata.pop(key, None)


def select_notebooks(folder: Path, only: list[str] | None) -> list[Path]:
    """Return the numbered notebooks in ``folder`` in teaching order, filtered by name prefixes."""
    paths = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        picked = [p for p in paths if any(p.stem.startswith(prefix) for prefix in only)]
        unknown = [prefix for prefix in only if not any(p.stem.startswith(prefix) for p in paths)]
        if unknown:
            raise SystemExit(
                f"--only {' '.join(unknown)}: no notebook in {folder} starts with that"
            )
        return picked
    return paths


def execute_notebook(path: Path, out_path: Path, mode: str, timeout: int | None) -> float:
    """Execute the notebook at ``path`` with ``KIT_MODE=mode``, write it to ``out_path``; return seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["KIT_MODE"] = mode  # the kernel inherits the environment of this process
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        # The kernel's own start-up log (e.g. "Kernel is running over TCP without encryption") is
        # not for students: only errors from the kernel process reach the runner's output.
        extra_arguments=[f"--IPKernelApp.log_level={KERNEL_LOG_LEVEL}"],
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        seconds = time.perf_counter() - start
        strip_volatile_metadata(nb)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from helpers.kit import config, reporting

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode", choices=config.VALID_MODES, default=None, help="default: $KIT_MODE or full"
    )
    parser.add_argument("--only", nargs="*", help="notebook numbers or name prefixes, e.g. 00 03")
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="execute nothing; rebuild summary.md from the results files the notebooks wrote",
    )
    parser.add_argument(
        "--timeout", type=int, default=None, help="seconds per cell (default: none)"
    )
    parser.add_argument("--notebooks-dir", type=Path, default=REPO_ROOT / "notebooks")
    parser.add_argument(
        "--reports-dir",
        type=Path,
        default=None,
        help="where summary.md and wall_times.json go (default: reports/, or reports/quick/ in quick mode)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="where executed notebooks go (default: in place in full mode, reports/quick/executed in quick mode)",
    )
    args = parser.parse_args(argv)

    mode = args.mode or config.run_mode()
    os.environ[config.MODE_ENV_VAR] = mode
    reports = args.reports_dir or config.reports_dir()
    reports.mkdir(parents=True, exist_ok=True)
    out_dir = args.output_dir or (None if mode == "full" else reports / "executed")
    notebooks = [] if args.summary_only else select_notebooks(args.notebooks_dir, args.only)
    if not notebooks and not args.summary_only:
        raise SystemExit(f"no numbered notebooks (NN_name.ipynb) in {args.notebooks_dir}")

    wall_times: dict[str, float] = {}
    failures: dict[str, str] = {}
    for path in notebooks:
        target = path if out_dir is None else out_dir / path.name
        print(f"[{mode}] {path.name} ...", flush=True)
        try:
            wall_times[path.stem] = execute_notebook(path, target, mode, args.timeout)
            print(
                f"[{mode}] {path.name} ok in {wall_times[path.stem]:.0f} s -> {target}", flush=True
            )
        except Exception as exc:  # a failing notebook must not stop the others
            reason = type(exc).__name__
            # the kernel's traceback is coloured: keep the terminal codes out of the summary
            detail = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
            failures[path.stem] = f"{reason}: {detail[-1][:200]}" if detail else reason
            print(
                f"[{mode}] {path.name} FAILED ({failures[path.stem]}); executed copy in {target}",
                flush=True,
            )

    # Wall times are kept across runs so that running a subset (--only) still gives a full summary.
    times_file = reports / "wall_times.json"
    all_times = json.loads(times_file.read_text(encoding="utf-8")) if times_file.is_file() else {}
    all_times.update({name: round(seconds, 1) for name, seconds in wall_times.items()})
    for name in failures:
        all_times.pop(name, None)
    times_file.write_text(json.dumps(all_times, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    metrics_dir = reports / reporting.METRICS_SUBDIR
    every_notebook = select_notebooks(args.notebooks_dir, None)
    records = []
    for path in every_notebook:
        result = metrics_dir / f"{path.stem}.json"
        if result.is_file():
            records.append(json.loads(result.read_text(encoding="utf-8")))
    known = {p.stem for p in every_notebook}
    all_times = {k: v for k, v in all_times.items() if k in known}
    summary = reporting.write_summary(records, all_times, mode, reports / "summary.md", failures)
    print(f"summary: {summary}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
