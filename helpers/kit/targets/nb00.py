"""Notebook 00's targets: the official MNIST split sizes and classes balanced enough for accuracy."""

from helpers.kit.targets import Goal

GOALS = [
    Goal("train_images", "training images (official 60,000 minus 5,000)", 55000, (55000, 55000)),
    Goal("val_images", "validation images, for every choice", 5000, (5000, 5000)),
    Goal("test_images", "official MNIST test images", 10000, (10000, 10000)),
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
