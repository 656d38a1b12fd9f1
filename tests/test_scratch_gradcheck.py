"""Gradient checks: every layer's backward pass against centred differences (float64, error < 1e-6),
and the checker itself: hand-computed values, and a deliberately wrong gradient it must catch."""

import numpy as np
import pytest

from helpers import scratch
from helpers.scratch import gradcheck


@pytest.mark.parametrize(
    "description, layer, shape",
    gradcheck.layer_cases(seed=0),
    ids=[c[0] for c in gradcheck.layer_cases(0)],
)
def test_every_layer_gradient_is_within_tolerance(description, layer, shape):
    errors = scratch.check_layer(layer, scratch.distinct_values(shape, seed=1))
    assert "input" in errors and set(layer.params) <= set(errors)
    assert max(errors.values()) < scratch.TOLERANCE, errors


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 10)) * 3
    assert scratch.check_loss(logits, rng.integers(0, 10, 6)) < scratch.TOLERANCE
    one_hot = np.eye(10)[rng.integers(0, 10, 6)]
    assert scratch.check_loss(logits, one_hot) < scratch.TOLERANCE


@pytest.mark.parametrize("filters, dropout", [((6, 12), 0.0), ((3, 4), 0.5)])
def test_whole_network_gradients(filters, dropout):
    net = scratch.build_slides_cnn(filters, dropout=dropout, seed=2, dtype=np.float64)
    x = np.random.default_rng(3).random((2, 28, 28, 1))
    for layer in net.layers:
        if isinstance(layer, scratch.Dropout):
            layer.fixed_mask = np.random.default_rng(4).random((2, 16 * filters[1])) >= dropout
    errors = scratch.check_network(net, x, np.array([1, 8]))
    assert set(errors) == {
        "input",
        "conv1/W",
        "conv1/b",
        "conv2/W",
        "conv2/b",
        "dense/W",
        "dense/b",
    }
    assert max(errors.values()) < scratch.TOLERANCE, errors


def test_check_all_table_passes():
    table = scratch.check_all()
    assert list(table.columns) == ["check", "gradient", "relative error", "passed"]
    assert table["passed"].all(), table[~table["passed"]]
    assert len(table) >= 20 and table["check"].str.contains("Dropout").any()


class ReLUWithoutMask(scratch.ReLU):
    def backward(self, dout, input_gradient=True):
        return dout  # forgets that the gradient is 0 where the input was negative


class ConvWithUnrotatedKernel(scratch.Conv2D):
    def backward(self, dout, input_gradient=True):
        super().backward(dout, input_gradient=False)
        shape = (dout.shape[0], dout.shape[1] + 2, dout.shape[2] + 2, self.in_channels)
        return scratch.full_convolution_input_gradient(dout, self.params["W"][::-1, ::-1], shape)


class DenseWithHalfBiasGradient(scratch.Dense):
    def backward(self, dout, input_gradient=True):
        dx = super().backward(dout, input_gradient)
        self.grads["b"] = self.grads["b"] * 0.5
        return dx


@pytest.mark.parametrize(
    "layer, shape, key",
    [
        (ReLUWithoutMask(), (2, 4, 4, 1), "input"),
        (ConvWithUnrotatedKernel(2, 3, 3, seed=0), (2, 6, 6, 2), "input"),
        (DenseWithHalfBiasGradient(5, 3, seed=0), (4, 5), "b"),
    ],
)
def test_the_checker_catches_a_wrong_gradient(layer, shape, key):
    errors = scratch.check_layer(layer, scratch.distinct_values(shape))
    assert errors[key] > 1e-2, errors


def test_relative_error_by_hand():
    assert scratch.relative_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert scratch.relative_error(np.array([1.0]), np.array([-1.0])) == 1.0  # |2| / (1 + 1)
    assert scratch.relative_error(np.array([3.0, 4.0]), np.zeros(2)) == 1.0  # 5 / (5 + 0)
    assert scratch.relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.1])) == pytest.approx(
        0.1 / (5.0 + np.hypot(3.0, 4.1))
    )
    assert scratch.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        scratch.relative_error(np.zeros(3), np.zeros(4))


def test_numerical_gradient_of_a_square_and_its_input_rules():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = scratch.numerical_gradient(lambda: float(np.sum(x**2)), x)
    np.testing.assert_allclose(grad, 2 * x, atol=1e-8)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # restored
    with pytest.raises(TypeError, match="float64"):
        scratch.numerical_gradient(lambda: 0.0, x.astype(np.float32))


def test_random_dropout_must_be_fixed_before_a_check():
    with pytest.raises(ValueError, match="fixed_mask"):
        scratch.check_layer(scratch.Dropout(0.5, seed=0), np.ones((4, 10)))


def test_distinct_values_have_no_ties_and_no_zero():
    v = scratch.distinct_values((2, 5, 5, 3), seed=0)
    assert v.dtype == np.float64 and v.shape == (2, 5, 5, 3)
    assert len(np.unique(v)) == v.size
    assert np.abs(v).min() > 1e-3 and np.diff(np.sort(v.ravel())).min() > 1e-3
