"""Notebook 05's targets: fine-tuned accuracy on held-out new samples, zero-shot, preprocessing."""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "cv_mixed_accuracy_mean",
        "fine-tuned (mixed) accuracy on held-out new samples, k-fold CV mean",
        98.0,
        floor=(96.0, 25.0),  # quick: 500 samples, 2 folds, 3 short epochs, a quickly trained ResNet
        unit="%",
        scale=100,
    ),
    Goal(
        "zero_shot_accuracy",
        "zero-shot accuracy on the new writers, MNIST-style (report, other writers: 95.25%)",
        95.25,
        unit="%",
        scale=100,
    ),
    Goal(
        "preprocessing_gain",
        "gain of MNIST-style preprocessing over the plain resize, zero-shot",
        0.0,
        unit=" points",
        scale=100,
    ),
]
