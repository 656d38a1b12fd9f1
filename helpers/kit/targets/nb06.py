"""Notebook 06's targets: the best single strong CNN and the ensemble against the public MNIST anchors.

Deotte's Kaggle CNNs average 99.64 % as single models (max 99.81 %) and about 99.75 % as an
ensemble (``../shared/GUIDE.md``, section 6). The floors are sanity bounds, not targets: full mode
98 % (the notebook's members train for 2 epochs, 860 steps, in the time a full run has on a shared
2-core CPU; a broken recipe or pipeline lands far below), quick mode three times chance after two
short epochs on 3,000 images.
"""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "best_single_test_accuracy",
        "best single model (chosen on validation), test accuracy",
        99.70,
        floor=(98.0, 30.0),
        unit="%",
        scale=100,
    ),
    Goal(
        "ensemble_test_accuracy",
        "ensemble of the members, test accuracy",
        99.75,
        floor=(98.0, 30.0),
        unit="%",
        scale=100,
    ),
]
