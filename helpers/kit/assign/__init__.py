"""The kit's own thin assignment engine: exercises in solution notebooks, student copies, grading.

* ``feedback``: assertion helpers (``expect``, ``check_equal``, ``check_close``, ``check_shape``,
  ``check_at_most``) that raise :class:`~helpers.kit.assign.feedback.CheckFailed` with a message saying
  what was found and what was expected;
* ``checks``: a registry of named checks that ship in the package (``checks.run("q1", globals())``),
  so check cells work on Colab after ``pip install -e .`` with no files beside the notebook;
* ``notebook``: the exercise format (cell metadata ``{"kit": {"exercise": "q1", "points": 2}}`` or a
  first line ``# EXERCISE q1 (2 points)``; ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``, nbgrader's markers; nbgrader and otter notebooks
  are converted by :func:`to_kit`) and
  :func:`generate` (student notebooks);
* ``grader``: :func:`grade` (a folder of submissions -> one CSV + one feedback file per student)
  and :func:`validate` (solution passes every check, the student copy fails every exercise).
* ``sandbox``: each submission's kernel inside bubblewrap, under a user and limits of its own;
* ``judge`` and ``wire``: check cells and hidden tests run in the grading process, on plain data
  (JSON, ``.npy``, Keras models rebuilt in safe mode) asked of the student's kernel;
* ``parallel``: several submissions at once on Dask workers (a ``LocalCluster`` or ``--scheduler``).

Importing this package imports neither TensorFlow nor nbformat/nbclient (those load on first use).
"""

from __future__ import annotations

__all__ = ["generate", "grade", "validate"]


def __getattr__(name: str):
    if name == "generate":
        from helpers.kit.assign.notebook import generate

        return generate
    if name in ("grade", "validate"):
        from helpers.kit.assign import grader

        return getattr(grader, name)
    raise AttributeError(f"module 'helpers.kit.assign' has no attribute {name!r}")
