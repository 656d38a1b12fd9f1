"""Install the course kit on Colab beside Colab's preinstalled packages, changing none of them.

The bootstrap cell (the second cell of every notebook, written by ``scripts/set_bootstrap_cell.py``)
calls :func:`bootstrap` after cloning the kit to /content/kit; ``./kit.sh`` runs this file as a
script on .venv-oldest, the Colab-like environment. Standard library only: it runs before anything
of the kit is installed.

1. Read ``requirements.txt`` and keep what a notebook needs: the notebook and test tools (Jupyter,
   nbval, pytest, ruff) are left out, since Colab runs its own Jupyter.
2. Keep the requirements whose package is not installed (or that ask for extras). An installed
   package stays at Colab's version whatever the kit's range; the version guard of the notebook's
   setup cell (``helpers.kit.environment``) prints a warning if TensorFlow/Keras/NumPy fall outside.
3. Write every installed distribution as ``name==version`` (``pip list --format=freeze``) to a
   constraints file, so pip can add packages but never upgrade or downgrade one of Colab's.
4. ``pip install --dry-run`` counts what will be installed and prints one progress line; then the
   real install (the missing requirements and the kit itself, ``-e``), then ``pip check``: a problem
   the install introduced fails the bootstrap with one line naming it.

``--dry-run`` prints the plan and installs nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
# requirements.txt lines a Colab VM does not install: notebook and test tools (Colab has its Jupyter).
NOT_ON_COLAB = frozenset(
    {"jupyter", "ipykernel", "nbclient", "nbformat", "nbval", "pytest", "pytest-xdist", "ruff"}
)
# The estimate in the progress line: seconds per new package plus a fixed cost (resolve, kit
# metadata, pip check). Measured with ./kit.sh colab-check on a loaded 2-core machine: 11 packages in
# 98 s without pip's cache and 38 s with it; Colab's network and idle CPU should do no worse.
SECONDS_PER_PACKAGE = 5.0
SECONDS_FIXED = 15.0
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")


def normalize(name: str) -> str:
    """Return a package name in PEP 503 form (``tf_keras`` -> ``tf-keras``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path) -> list[tuple[str, str, bool]]:
    """Return ``(normalized name, requirement line, has extras)`` for each requirement of ``path``.

    Comments and blank lines are skipped; a line pip could not read raises ``ValueError`` naming it.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the kit's requirements.txt is needed")
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        match = REQUIREMENT.match(spec)
        if match is None:
            raise ValueError(f"{path}:{number}: cannot read requirement {spec!r}")
        found.append((normalize(match.group(1)), spec.replace(" ", ""), bool(match.group(2))))
    return found


def installed_versions(python: str) -> dict[str, str]:
    """Return ``{normalized name: version}`` of every distribution ``python`` sees (pip's own view)."""
    done = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    versions = {}
    for line in done.stdout.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            versions[normalize(name)] = version.strip()
    return versions


def missing_requirements(
    requirements: list[tuple[str, str, bool]], installed: dict[str, str]
) -> list[str]:
    """Return the requirement lines to install: not a notebook/test tool, and not installed (or with extras)."""
    return [
        spec
        for name, spec, extras in requirements
        if name not in NOT_ON_COLAB and (name not in installed or extras)
    ]


def write_constraints(installed: dict[str, str], path: Path) -> Path:
    """Write ``name==version`` for every installed distribution to ``path`` (pip's ``-c`` file); return it."""
    lines = [f"{name}=={version}" for name, version in sorted(installed.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pip_check(python: str) -> set[str]:
    """Return the problem lines of ``pip check`` (empty set when every requirement is met)."""
    done = subprocess.run(
        [python, "-m", "pip", "check", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return set()
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def estimate_seconds(packages: int) -> int:
    """Return the bootstrap's expected duration in seconds for ``packages`` new packages (rounded to 5 s)."""
    seconds = SECONDS_FIXED + SECONDS_PER_PACKAGE * packages
    return int(5 * round(seconds / 5))


def progress_line(names: list[str]) -> str:
    """Return the one-line message printed before the install, e.g. ``installing 4 packages (...), about 20 s``."""
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    plural = "" if len(names) == 1 else "s"
    return (
        f"kit: installing {len(names)} package{plural} ({shown}), "
        f"about {estimate_seconds(len(names))} s; Colab's own packages stay as they are"
    )


def pip_install(
    python: str, args: list[str], constraints: Path, report: Path | None = None
) -> None:
    """Run ``pip install -c constraints args`` (``--dry-run --report`` when ``report`` is given).

    Raise ``SystemExit`` with pip's last lines when pip fails (e.g. a requirement that would need a
    different version of one of Colab's packages).
    """
    command = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    command += ["--no-build-isolation", "-c", str(constraints), *args]
    if report is not None:
        command += ["--dry-run", "--report", str(report)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-4:])
        raise SystemExit(f"kit bootstrap: pip install failed: {tail}")


def planned_packages(python: str, args: list[str], constraints: Path, work: Path) -> list[str]:
    """Return the names of the distributions ``pip install args`` would install (a dry run)."""
    report = work / "report.json"
    pip_install(python, args, constraints, report=report)
    installs = json.loads(report.read_text(encoding="utf-8")).get("install", [])
    return [item["metadata"]["name"] for item in installs]


def bootstrap(kit: Path, python: str, dry_run: bool = False) -> list[str]:
    """Install the kit's missing requirements and the kit (editable) into ``python``'s environment.

    Return the names of the distributions installed (planned, with ``dry_run``). Raise
    ``SystemExit`` with one line when pip fails or ``pip check`` reports a new problem.
    """
    started = time.time()
    installed = installed_versions(python)
    wanted = missing_requirements(read_requirements(kit / "requirements.txt"), installed)
    if normalize("course-kit-helpers") not in installed:
        wanted += ["-e", str(kit)]
    if not wanted:
        print("kit: every package the notebooks need is installed")
        return []
    before = pip_check(python)
    with tempfile.TemporaryDirectory(prefix="kit-bootstrap-") as tmp:
        constraints = write_constraints(installed, Path(tmp) / "colab-constraints.txt")
        names = planned_packages(python, wanted, constraints, Path(tmp))
        print(progress_line(names), flush=True)
        if dry_run:
            return names
        pip_install(python, wanted, constraints)
    after = pip_check(python)
    if after - before:
        raise SystemExit(
            f"kit bootstrap: pip check after the install: {'; '.join(sorted(after - before))}"
        )
    check = "pip check clean"
    if after:
        check = f"pip check: {len(after)} problem{'s' if len(after) > 1 else ''} Colab already had"
    print(f"kit: installed {len(names)} packages in {time.time() - started:.0f} s; {check}")
    return names


def main(argv: list[str] | None = None) -> None:
    """Command line: ``colab_bootstrap.py [--kit DIR] [--python EXE] [--dry-run]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, default=KIT, help="the kit's folder (requirements.txt)")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter whose packages to extend"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, install nothing")
    args = parser.parse_args(argv)
    if not (args.kit / "requirements.txt").is_file():
        parser.error(f"--kit {args.kit}: no requirements.txt there; pass the kit's folder")
    bootstrap(args.kit.resolve(), args.python, dry_run=args.dry_run)


if __name__ == "__main__":
    main()
