"""Notebook 04's targets: the CNN chosen on validation, tested once."""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "chosen_test_accuracy_mean",
        "chosen study CNN, test accuracy (NumPy course slides, 16/32 kernels: 98.7%)",
        98.7,
        floor=(97.5, 20.0),  # quick: 2x chance after one epoch on 1,000 images
        unit="%",
        scale=100,
    ),
    Goal(
        "chosen_val_accuracy_mean",
        "chosen study CNN, validation accuracy (mean over seeds)",
        98.7,
        floor=(97.5, 20.0),
        unit="%",
        scale=100,
    ),
]
