"""Notebook 03's targets: the ResNet's test accuracy, and the course report's validation accuracy."""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "test_accuracy",
        "ResNet test accuracy",
        99.5,
        floor=(99.3, 30.0),  # quick: 3x chance after 2 epochs on 5,000 images
        unit="%",
        scale=100,
    ),
    Goal(
        "final_val_accuracy",
        "ResNet final validation accuracy (course report: 99.08%)",
        99.08,
        unit="%",
        scale=100,
    ),
]
