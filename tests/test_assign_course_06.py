"""Notebook 06's exercise checks: the solution passes, typical mistakes get actionable feedback."""

import numpy as np
import pytest

from helpers.kit.assign import checks
from helpers.kit.assign.feedback import CheckFailed


def shift_image(image, dx, dy):
    image = np.asarray(image)
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(0, dy) : min(h, h + dy), max(0, dx) : min(w, w + dx)] = image[
        max(0, -dy) : min(h, h - dy), max(0, -dx) : min(w, w - dx)
    ]
    return out


def smooth_labels(labels, num_classes, epsilon):
    out = np.full((len(labels), num_classes), epsilon / num_classes, dtype=np.float32)
    out[np.arange(len(labels)), labels] += 1.0 - epsilon
    return out


def test_solutions_pass():
    checks.run("06.shift_image", {"shift_image": shift_image})
    checks.run("06.smooth_labels", {"smooth_labels": smooth_labels})


def test_shift_mistakes_are_named():
    def rolls(image, dx, dy):
        return np.roll(np.roll(image, dy, axis=0), dx, axis=1)

    with pytest.raises(CheckFailed, match="wrapped around"):
        checks.run("06.shift_image", {"shift_image": rolls})

    def swaps_axes(image, dx, dy):
        return shift_image(image, dy, dx)

    with pytest.raises(CheckFailed, match="dx moves the content to the right"):
        checks.run("06.shift_image", {"shift_image": swaps_axes})

    def in_place(image, dx, dy):
        image[:] = shift_image(image, dx, dy)
        return image

    with pytest.raises(CheckFailed, match="changed its input"):
        checks.run("06.shift_image", {"shift_image": in_place})

    with pytest.raises(CheckFailed, match="no function called `shift_image`"):
        checks.run("06.shift_image", {})


def test_smoothing_mistakes_are_named():
    def forgets_right_class_share(labels, num_classes, epsilon):
        out = np.full((len(labels), num_classes), epsilon / num_classes, dtype=np.float32)
        out[np.arange(len(labels)), labels] = 1.0 - epsilon
        return out

    with pytest.raises(CheckFailed, match="row sums"):
        checks.run("06.smooth_labels", {"smooth_labels": forgets_right_class_share})

    def divides_by_k_minus_1(labels, num_classes, epsilon):
        out = np.full((len(labels), num_classes), epsilon / (num_classes - 1), dtype=np.float32)
        out[np.arange(len(labels)), labels] = 1.0 - epsilon
        return out

    with pytest.raises(CheckFailed, match="0.85"):
        checks.run("06.smooth_labels", {"smooth_labels": divides_by_k_minus_1})

    def float64(labels, num_classes, epsilon):
        return smooth_labels(labels, num_classes, epsilon).astype(np.float64)

    with pytest.raises(CheckFailed, match="float32"):
        checks.run("06.smooth_labels", {"smooth_labels": float64})
