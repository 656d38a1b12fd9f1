"""Create a notebook with the kit's standard opening cells (title + Colab badge, bootstrap, environment).

    python scripts/new_notebook.py 04_hyperparameter_studies "Hyper-parameter studies" \
        --goal "how batch size changes accuracy" --goal "..."

Authoring scripts can also import :func:`standard_cells` and append their own cells.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from set_bootstrap_cell import BOOTSTRAP  # the cell every notebook runs (beside this file)

REPO_URL = "https://github.com/course-kit/keras-course-kit"
REPO_SLUG = "course-kit/keras-course-kit"
REPO_ROOT = Path(__file__).resolve().parent.parent

ENVIRONMENT = """# extra code: environment report, version guard and run mode (KIT_MODE=quick: small data, few epochs)
from helpers import kit

SEED = kit.start()  # quiet TensorFlow logs, print versions, CPU and run mode, seed 42"""

FINISH = """# extra code: the goals of helpers/kit/targets/nb{number}.py (floors asserted), the results file
kit.finish("{name}", some_metric=0.0)"""


def standard_cells(name: str, title: str, goals: list[str]) -> list:
    """Return the opening cells every kit notebook starts with, and its closing results cell."""
    badge = (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{REPO_SLUG}/blob/main/notebooks/{name}.ipynb)"
    )
    goal_lines = "\n".join(f"- {g}" for g in goals)
    intro = f"# {title}\n\n{badge}\n\n**You will learn**\n{goal_lines}"
    environment = new_code_cell(ENVIRONMENT, metadata={"kit": {"setup": True}})
    finish = new_code_cell(FINISH.format(number=name[:2], name=name))
    outro = new_markdown_cell("## What we learned\n\n- ...\n\nNext: ...")
    return [new_markdown_cell(intro), new_code_cell(BOOTSTRAP), environment, finish, outro]


def notebook_from_cells(cells: list):
    """Return a notebook with the kit's kernel metadata and the given cells."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="file name without .ipynb, e.g. 04_hyperparameter_studies")
    parser.add_argument("title")
    parser.add_argument("--goal", action="append", default=[], help="a learning goal (repeatable)")
    args = parser.parse_args(argv)
    path = REPO_ROOT / "notebooks" / f"{args.name}.ipynb"
    if path.exists():
        parser.error(f"{path} exists already; pick another name or delete it first")
    nbformat.write(
        notebook_from_cells(standard_cells(args.name, args.title, args.goal or ["..."])), path
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
