"""Notebook 09's targets: the slides' accuracy, an epoch under a minute, exact gradients, Keras' outputs."""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "test_accuracy",
        "test accuracy, 5-epoch run (slides: 98.2% after 5)",
        98.5,
        floor=(97.5, 50.0),  # quick: 3,000 images, 1 epoch
        unit="%",
        scale=100,
    ),
    Goal(
        "epoch_seconds_60k",
        "seconds per epoch of 60,000 images, 6/12 kernels",
        60.0,
        higher_is_better=False,  # a time: printed, never asserted
        unit=" s",
    ),
    Goal(
        "worst_gradient_relative_error",
        "worst gradient-check relative error",
        1e-6,
        floor=(1e-6, 1e-6),  # float64 arithmetic: the same bound on any machine and in both modes
        higher_is_better=False,
    ),
    Goal(
        "keras_max_abs_difference",
        "max abs difference from Keras, same weights",
        1e-5,
        floor=(1e-5, 1e-5),
        higher_is_better=False,
    ),
    Goal(
        "overfit_accuracy",
        "overfit 50 images (training accuracy)",
        100.0,
        floor=(100.0, 100.0),
        unit="%",
        scale=100,
    ),
]
