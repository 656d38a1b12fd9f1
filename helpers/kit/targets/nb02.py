"""Notebook 02's targets: the four CNNs against the course report, LeNet-5 and the tiny CNN's budget."""

from helpers.kit.targets import Goal

GOALS = [
    Goal(
        "small_cnn_test_accuracy",
        "small CNN test accuracy (course report: 98%)",
        98.0,
        floor=(97.5, 20.0),  # quick: 2x chance after 2 epochs on 3,000 images
        unit="%",
        scale=100,
    ),
    Goal("lenet5_test_accuracy", "LeNet-5 test accuracy", 99.0, (98.5, 20.0), unit="%", scale=100),
    Goal(
        "tiny_cnn_test_accuracy", "tiny CNN test accuracy", 99.4, (99.0, 20.0), unit="%", scale=100
    ),
    Goal(
        "tiny_cnn_params",
        "tiny CNN parameters",
        8_000,
        floor=(8_000, 8_000),
        higher_is_better=False,
    ),
    Goal(
        "five_layer_cnn_test_accuracy",
        "five-layer CNN test accuracy (1 of its 10 epochs)",
        97.5,
        (97.0, 20.0),
        unit="%",
        scale=100,
    ),
    Goal(
        "weakest_cnn_minus_mlp_baseline_points",
        "weakest CNN minus MLP baseline (test accuracy)",
        0.0,
        floor=(0.0, None),
        unit=" points",
    ),
]
