"""The kit's targets per notebook, one module each (``helpers/kit/targets/nbNN.py``, a list ``GOALS``).

A notebook's last cell calls ``kit.finish(notebook, **metrics)``: every goal whose metric is there
gets a met/MISSED verdict with the gap, and its floor (a sanity bound that holds in both run modes)
is asserted. Times, latencies and speed ratios never get a floor.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from helpers.kit import config
from helpers.kit.reporting import Target


@dataclass(frozen=True)
class Goal:
    """A target on one recorded metric.

    ``metric`` is the key passed to ``kit.finish``; the value is multiplied by ``scale`` (100 for
    a fraction shown in %) before it is compared with ``target`` and the floor of the run mode
    (``floor=(full, quick)``; None: no floor).
    """

    metric: str
    name: str
    target: float
    floor: tuple[float, float] | None = None
    higher_is_better: bool = True
    unit: str = ""
    scale: float = 1.0

    def as_target(self, value: float) -> Target:
        """Return the reporting.Target of this goal for a measured ``value`` in this run mode."""
        floor = None if self.floor is None else config.pick(*self.floor)
        return Target(
            self.name,
            float(value) * self.scale,
            self.target,
            higher_is_better=self.higher_is_better,
            floor=floor,
            unit=self.unit,
        )


def goals_for(notebook: str) -> list[Goal]:
    """Return the goals of ``notebook`` (e.g. "01_mlp_baseline"); [] if it has none."""
    try:
        module = importlib.import_module(f"helpers.kit.targets.nb{notebook[:2]}")
    except ModuleNotFoundError:
        return []
    return list(module.GOALS)
