"""Write the kit's Colab bootstrap (cell 2 of every notebook) into notebooks, changing no other cell.

    python scripts/set_bootstrap_cell.py              # every notebooks/NN_*.ipynb
    python scripts/set_bootstrap_cell.py 00 01 07     # only the notebooks with these numbers
    python scripts/set_bootstrap_cell.py --check      # exit 1 naming each notebook whose cell differs

The cell keeps its metadata and execution count; its outputs are emptied (it does nothing off
Colab, so a run leaves them empty too). ``scripts/new_notebook.py`` can import :data:`BOOTSTRAP` for a new notebook.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO_ROOT / "notebooks"
KIT_URL = "https://github.com/course-kit/keras-course-kit.git"
# The bootstrap is the second cell (index 1): after the title, before kit.start().
CELL_INDEX = 1

BOOTSTRAP = f"""# Bootstrap. On Colab: fetch the kit, then pip-install what the notebooks need beside Colab's
# own packages, which stay at their versions (scripts/colab_bootstrap.py; the next cell warns if
# TensorFlow or Keras fall outside the kit's ranges). Locally (./kit.sh or your own environment):
# nothing to do.
import os
import subprocess
import sys
from pathlib import Path

KIT_URL = "{KIT_URL}"
if "google.colab" in sys.modules and not Path("../helpers").is_dir():
    if not Path("/content/kit").is_dir():
        subprocess.run(["git", "clone", "--depth", "1", KIT_URL, "/content/kit"], check=True)
    sys.path.insert(0, "/content/kit")
    from scripts.colab_bootstrap import bootstrap

    bootstrap(Path("/content/kit"), sys.executable)
    os.chdir("/content/kit/notebooks")
REPO_ROOT = Path.cwd().parent if Path("../helpers").is_dir() else Path.cwd()
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))"""


def select_notebooks(numbers: list[str], folder: Path = NOTEBOOKS) -> list[Path]:
    """Return the ``NN_*.ipynb`` files of ``folder`` whose number is in ``numbers`` (all when empty).

    A number that matches no notebook raises ``SystemExit`` naming it.
    """
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not numbers:
        return found
    chosen = [p for p in found if p.name[:2] in numbers]
    unknown = sorted(set(numbers) - {p.name[:2] for p in chosen})
    if unknown:
        raise SystemExit(f"error: no notebook numbered {', '.join(unknown)} in {folder}")
    return chosen


def bootstrap_cell(path: Path, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the bootstrap cell of a notebook; ``SystemExit`` naming the file if cell 2 is not one."""
    cells = nb.cells
    if len(cells) <= CELL_INDEX or cells[CELL_INDEX].cell_type != "code":
        raise SystemExit(f"error: {path}: cell {CELL_INDEX + 1} is not a code cell (the bootstrap)")
    cell = cells[CELL_INDEX]
    if "google.colab" not in cell.source:
        raise SystemExit(f"error: {path}: cell {CELL_INDEX + 1} is not the Colab bootstrap cell")
    return cell


def set_bootstrap(path: Path, source: str = BOOTSTRAP) -> bool:
    """Give ``path``'s bootstrap cell ``source`` with no outputs; return True if the file changed."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    cell = bootstrap_cell(path, nb)
    if cell.source == source and not cell.get("outputs"):
        return False
    cell.source, cell.outputs = source, []
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line; return the exit code (1 with ``--check`` when a notebook differs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="two-digit notebook numbers (default: all)")
    parser.add_argument("--check", action="store_true", help="change nothing; list what differs")
    args = parser.parse_args(argv)
    differ = []
    for path in select_notebooks(args.numbers):
        if args.check:
            cell = bootstrap_cell(path, nbformat.read(path, as_version=nbformat.NO_CONVERT))
            if cell.source != BOOTSTRAP:
                differ.append(path.name)
        elif set_bootstrap(path):
            print(f"{path.name}: bootstrap cell rewritten")
    if differ:
        print(f"bootstrap cell differs from scripts/set_bootstrap_cell.py in: {', '.join(differ)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
