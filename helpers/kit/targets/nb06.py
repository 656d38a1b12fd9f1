"""Notebook 06's targets: the best single strong CNN and the ensemble against the public MNIST anchors.

Deotte's Kaggle CNNs average 99.64 % as single models (max 99.81 %) and about 99.75 % as an
ensemble (``../shared/GUIDE.md``, section 6). The floors are the old layout's (full: 99 %; quick:
three times chance after two short epochs on 3,000 images).
"""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "best_single_test_accuracy",
        "best single model (chosen on validation), test accuracy",
        99.70,
        floor=(99.0, 30.0),
        unit="%",
        scale=100,
    ),
    Goal(
        "ensemble_test_accuracy",
        "ensemble of the members, test accuracy",
        99.75,
        floor=(99.0, 30.0),
        unit="%",
        scale=100,
    ),
]
