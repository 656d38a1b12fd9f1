"""Notebook 01's targets: the report's baseline MLP, the tuned MLP, and shuffled pixels."""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "baseline_test_accuracy",
        "baseline MLP test accuracy (course report: 96%)",
        96.0,
        floor=(95.0, 25.0),  # quick: 2.5x chance after 2 short SGD epochs
        unit="%",
        scale=100,
    ),
    Goal("tuned_test_accuracy", "tuned MLP test accuracy", 98.3, (98.0, 50.0), unit="%", scale=100),
    Goal(
        "shuffled_gap_points",
        "|shuffled - original| validation accuracy",
        1.0,
        floor=(1.5, 15.0),
        higher_is_better=False,
        unit=" points",
    ),
]
