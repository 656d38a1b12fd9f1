"""Notebook 00's targets: the official MNIST split sizes and classes balanced enough for accuracy."""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "train_images",
        "training images, thousands (the official 60,000 minus 5,000)",
        55.0,
        floor=(55.0, 55.0),
        scale=0.001,
    ),
    Goal("val_images", "validation images, for every choice", 5000, (5000, 5000)),
    Goal(
        "test_images",
        "official MNIST test images, thousands",
        10.0,
        floor=(10.0, 10.0),
        scale=0.001,
    ),
    Goal(
        "majority_baseline_test_accuracy",
        "majority-class baseline test accuracy (balanced classes: at most 12%)",
        12.0,
        floor=(12.0, 12.0),
        higher_is_better=False,
        unit="%",
        scale=100,
    ),
]
