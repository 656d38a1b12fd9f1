"""Assignments: student notebooks from solution notebooks, validation, grading a folder.

    python scripts/assignments.py generate notebooks/ assignments-out/
    python scripts/assignments.py validate notebooks/NN_topic.ipynb
    python scripts/assignments.py grade submissions/ notebooks/NN_topic.ipynb grades.csv
    python scripts/assignments.py grade submissions/ SOLUTION grades.csv --scheduler tcp://host:8786

Exercise format (in a solution notebook; the markers are nbgrader's and otter's):

    cell metadata {"kit": {"exercise": "q1", "points": 2}}   or first line  # EXERCISE q1 (2 points)
        ... ### BEGIN SOLUTION ... ### END SOLUTION ...
    cell metadata {"kit": {"check": "q1"}}                   or first line  # CHECK q1
        visible check, e.g. checks.run("name", globals()) or helpers.kit.assign.feedback calls;
        may hold ### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS
    cell metadata {"kit": {"hidden": "q1"}}                  or first line  # HIDDEN q1

`generate` writes the student copies into an output folder that is NOT committed (hand it out,
then delete it or keep it outside the repository). `grade` writes one CSV (student, q1, ...,
total, max, status, reason) and a feedback/<student>.md per student beside it. An exercise earns
its full points only when its cell and all its visible and hidden checks run without an error.
Each submission runs in a bubblewrap sandbox (else Docker; --sandbox); `grade` runs only the exercise slice (set-up, exercise,
check and hidden cells) when the solution marks set-up cells (--whole-notebook: every cell), and
grades --workers submissions at once (default: one per core), or on a Dask cluster (--scheduler).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
# TensorFlow's C++ start-up lines (CUDA, oneDNN) from the worker processes are noise on this command's output
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _solution_notebooks(source: Path) -> list[Path]:
    from helpers.kit.assign.notebook import has_exercises

    if source.is_file():
        return [source]
    found = []
    for path in sorted(source.glob("*.ipynb")):
        try:
            if has_exercises(path):
                found.append(path)
        except Exception as exc:  # noqa: BLE001 - report and skip a broken notebook
            print(f"skipped {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return found


def _positive(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def cmd_generate(args: argparse.Namespace) -> int:
    from helpers.kit.assign.notebook import generate

    paths = _solution_notebooks(args.source)
    if not paths:
        print(f"no notebook with exercise cells in {args.source}")
        return 1
    for path in paths:
        print(f"{path.name} -> {generate(path, args.out_dir)}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from helpers.kit.assign.grader import validate_many

    paths = _solution_notebooks(args.source)
    if not paths:
        print(f"no notebook with exercise cells in {args.source}")
        return 1
    results = validate_many(
        paths,
        workers=args.workers,
        timeout=args.timeout,
        notebook_timeout=args.notebook_timeout,
        exercises_only=args.exercises_only,
    )
    failed = 0
    for path, (ok, problems) in results.items():
        if ok:
            print(
                f"{path.name}: OK (every exercise passes on the solution and fails on the student copy)"
            )
        else:
            failed += 1
            print(f"{path.name}: FAILED")
            for problem in problems:
                print(f"  - {problem}")
    return 1 if failed else 0


def cmd_grade(args: argparse.Namespace) -> int:
    from helpers.kit.assign.grader import grade

    results = grade(
        args.submissions,
        args.solution,
        args.out_csv,
        timeout=args.timeout,
        notebook_timeout=args.notebook_timeout,
        feedback_dir=args.feedback_dir,
        assignment=args.assignment,
        verbose=True,
        sandbox=False if args.no_sandbox else (True if args.sandbox == "auto" else args.sandbox),
        workers=args.workers,
        scheduler=args.scheduler,
        whole_notebook=args.whole_notebook,
    )
    where = (
        f"on {args.scheduler}" if args.scheduler else f"{args.workers or os.cpu_count()} at a time"
    )
    print(f"{len(results)} submissions graded ({where}) -> {args.out_csv}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser(
        "generate",
        help="write student notebooks (solutions stripped, hidden tests removed)",
        description="Write student copies: outputs cleared, solution blocks replaced by a TODO and "
        "NotImplementedError, hidden tests removed. The output folder is not committed: "
        "do not write it inside notebooks/.",
    )
    gen.add_argument("source", type=Path, help="a solution notebook or a folder of them")
    gen.add_argument(
        "out_dir", type=Path, help="output folder, e.g. assignments-out/ (not committed)"
    )
    gen.set_defaults(func=cmd_generate)

    timeouts = argparse.ArgumentParser(add_help=False)
    timeouts.add_argument("--timeout", type=float, default=60, help="seconds per cell (default 60)")
    timeouts.add_argument(
        "--notebook-timeout", type=float, default=600, help="seconds per notebook (default 600)"
    )

    val = sub.add_parser(
        "validate",
        parents=[timeouts],
        help="every exercise passes on the solution and fails on the student copy",
    )
    val.add_argument("source", type=Path, help="a solution notebook or a folder of them")
    val.add_argument(
        "--workers", type=int, default=2, help="notebooks validated at a time (default 2)"
    )
    val.add_argument(
        "--exercises-only",
        action="store_true",
        help="run only the setup cells and the exercise cells (seconds; what CI does), "
        "not the whole notebook in quick mode",
    )
    val.set_defaults(func=cmd_validate)

    gra = sub.add_parser(
        "grade",
        parents=[timeouts],
        help="grade a folder of submissions: one CSV + feedback/<student>.md",
        description="Grade <student>.ipynb files or <student>/ folders. Each runs in a fresh kernel "
        "(KIT_MODE=quick), sandboxed with bubblewrap, in a temporary folder holding only its copy; "
        "the instructor's check and hidden cells replace whatever the student left.",
    )
    gra.add_argument("submissions", type=Path, help="folder of <student>.ipynb or <student>/")
    gra.add_argument("solution", type=Path, help="the solution notebook, or a folder holding it")
    gra.add_argument("out_csv", type=Path, help="grades CSV to write")
    gra.add_argument("--assignment", help="solution notebook name when SOLUTION is a folder")
    gra.add_argument(
        "--feedback-dir", type=Path, default=None, help="default: feedback/ beside the CSV"
    )
    gra.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "docker"),
        default="auto",
        help="how each kernel is sandboxed: bubblewrap, else Docker (auto, the default), or that one",
    )
    gra.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the kernels without a sandbox (only for trusted work; the CSV says 'none')",
    )
    gra.add_argument(
        "--whole-notebook",
        action="store_true",
        help="run every cell of the solution in quick mode, not only the exercise slice (set-up, "
        "exercise, check and hidden cells; taken when the solution marks set-up cells)",
    )
    gra.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="submissions graded at once, each in its own process and sandbox "
        "(default: the number of cores)",
    )
    gra.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on this Dask cluster (e.g. tcp://host:8786; its workers need the kit "
        "installed and bubblewrap) instead of local worker processes",
    )
    gra.set_defaults(func=cmd_grade)

    args = parser.parse_args(argv)
    from helpers.kit.assign.grader import SandboxUnavailable
    from helpers.kit.assign.notebook import FormatError
    from helpers.kit.assign.parallel import ClusterUnavailable

    try:
        return args.func(args)
    except (FormatError, SandboxUnavailable, ClusterUnavailable, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)  # one line that names the file and the fix
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the workers, their kernels and sandboxes are gone by now
        print("interrupted: no grades written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
