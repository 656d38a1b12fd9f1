"""The kit's machinery, apart from the course code: what runs the notebooks, not what they teach.

* ``config``: run mode (``KIT_MODE``: full or quick), ``pick(full, quick)``, seeds, folders;
* ``environment``: quiet TensorFlow, versions and the version guard, CPU; ``start()``;
* ``reporting``: results files, target verdicts, the summary; ``finish()``;
* ``targets``: each notebook's goals; ``claims``: the checks that keep the prose true of the run;
* ``artifacts``: models saved for later notebooks; ``timing``; ``keras_policy`` (Keras 3 vs tf_keras);
* ``assign``: exercises with solution markers, student notebooks, grading.

A notebook needs one line: ``from helpers import kit``, then ``SEED = kit.start()`` at the top,
``kit.pick(full, quick)`` for its settings, ``kit.claims.check(...)`` beside its prose and
``kit.finish(notebook, **metrics)`` at the end.
"""

from helpers.kit import artifacts, claims, config, environment, reporting
from helpers.kit.config import is_quick, pick, set_seed
from helpers.kit.environment import start
from helpers.kit.reporting import finish

__all__ = [
    "artifacts",
    "claims",
    "config",
    "environment",
    "finish",
    "is_quick",
    "pick",
    "reporting",
    "set_seed",
    "start",
]
