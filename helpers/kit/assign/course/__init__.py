"""The checks of the course notebooks' exercises (``checks.run("02.conv_output_shape", globals())``).

One module per notebook (``nb00`` ... ``nb09``); importing this package registers them all. Each
check tests the student's function on small hand-made inputs with known answers, so it runs in
milliseconds, needs no training and gives feedback that says what was found and what was expected.
Check names start with the notebook's number.
"""

from __future__ import annotations

import importlib
import pkgutil

MODULES = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name.startswith("nb"))
for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
