"""NumPy CNN layers: forward values computed by hand, backward identities, shapes and error messages."""

import numpy as np
import pytest

from helpers import scratch


def _x(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ----------------------------------------------------------------------------- Conv2D


def test_conv2d_forward_by_hand():
    conv = scratch.Conv2D(1, 1, 2, dtype=np.float64)
    conv.params["W"][...] = 1.0
    conv.params["b"][...] = 0.5
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)  # [[0 1 2] [3 4 5] [6 7 8]]
    out = conv.forward(x)
    # each output is the sum of a 2x2 window plus the bias: 0+1+3+4, 1+2+4+5, 3+4+6+7, 4+5+7+8
    np.testing.assert_array_equal(out[0, :, :, 0], [[8.5, 12.5], [20.5, 24.5]])


def test_conv2d_is_a_cross_correlation_not_a_flipped_convolution():
    conv = scratch.Conv2D(1, 1, 2, dtype=np.float64)
    conv.params["W"][:, :, 0, 0] = [
        [1.0, 0.0],
        [0.0, 0.0],
    ]  # picks the top-left pixel of each window
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(conv.forward(x)[0, :, :, 0], [[0, 1], [3, 4]])


@pytest.mark.parametrize(
    "c_in, filters, k, stride, padding, size",
    [(1, 6, 5, 1, 0, 28), (3, 4, 3, 2, 1, 8), (2, 5, 3, 2, 0, 9), (4, 2, 5, 1, "same", 6)],
)
def test_conv2d_matches_the_loop_definition(c_in, filters, k, stride, padding, size):
    conv = scratch.Conv2D(c_in, filters, k, stride, padding, seed=1, dtype=np.float64)
    conv.params["b"] = _x(filters, 2)
    x = _x((2, size, size, c_in))
    p = conv.padding
    expected = scratch.conv2d_reference(
        np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))), conv.params["W"], stride
    )
    np.testing.assert_allclose(conv.forward(x), expected + conv.params["b"], atol=1e-12)


def test_conv2d_output_shapes():
    assert scratch.Conv2D(1, 6, 5).output_shape((28, 28, 1)) == (24, 24, 6)
    assert scratch.Conv2D(6, 12, 5).output_shape((12, 12, 6)) == (8, 8, 12)
    # (8 + 2*1 - 3) // 2 + 1 = 4
    assert scratch.Conv2D(2, 3, 3, stride=2, padding=1).output_shape((8, 8, 2)) == (4, 4, 3)
    assert scratch.Conv2D(1, 2, 5, padding="same").output_shape((7, 7, 1)) == (7, 7, 2)


def test_im2col_rows_are_the_windows_in_keras_kernel_order():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float64).reshape(2, 4, 4, 3)
    cols = scratch.im2col(x, 2, stride=2)
    assert cols.shape == (2 * 2 * 2, 2 * 2 * 3)
    # row (n=1, i=0, j=1): the window rows 0-1, columns 2-3 of image 1, flattened (row, col, channel)
    np.testing.assert_array_equal(cols[1 * 4 + 0 * 2 + 1], x[1, 0:2, 2:4, :].reshape(-1))


@pytest.mark.parametrize("k, stride, size", [(3, 1, 6), (3, 2, 7), (2, 2, 6)])
def test_col2im_is_the_adjoint_of_im2col(k, stride, size):
    # <im2col(x), c> == <x, col2im(c)> for all x, c: the defining property of the backward pass
    x = _x((2, size, size, 3), 0)
    cols = scratch.im2col(x, k, stride)
    c = _x(cols.shape, 1)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * scratch.col2im(c, x.shape, k, stride))
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize(
    "c_in, filters, k, stride, padding, size",
    [(1, 2, 5, 1, 0, 12), (3, 4, 3, 2, 1, 8), (2, 3, 3, 2, 0, 8), (2, 2, 3, 3, 2, 7)],
)
def test_input_gradient_equals_the_full_convolution_with_the_rotated_kernel(
    c_in, filters, k, stride, padding, size
):
    conv = scratch.Conv2D(c_in, filters, k, stride, padding, seed=3, dtype=np.float64)
    x = _x((2, size, size, c_in))
    dout = _x(conv.forward(x).shape, 4)
    dx = conv.backward(dout)
    full = scratch.full_convolution_input_gradient(dout, conv.params["W"], x.shape, stride, padding)
    np.testing.assert_allclose(dx, full, atol=1e-12)
    unrotated = scratch.full_convolution_input_gradient(
        dout, conv.params["W"][::-1, ::-1], x.shape, stride, padding
    )
    assert np.abs(dx - unrotated).max() > 1e-3  # the rotation matters


def test_conv2d_bias_gradient_sums_the_upstream_gradient():
    conv = scratch.Conv2D(2, 3, 3, dtype=np.float64)
    x = _x((4, 5, 5, 2))
    dout = _x(conv.forward(x).shape, 1)
    conv.backward(dout)
    np.testing.assert_allclose(conv.grads["b"], dout.sum(axis=(0, 1, 2)))
    assert conv.grads["W"].shape == conv.params["W"].shape == (3, 3, 2, 3)


def test_conv2d_can_skip_the_input_gradient():
    conv = scratch.Conv2D(1, 2, 3)
    out = conv.forward(_x((2, 6, 6, 1), dtype=np.float32))
    assert conv.backward(np.ones_like(out), input_gradient=False) is None
    assert set(conv.grads) == {"W", "b"}


def test_float32_stays_float32():
    conv = scratch.Conv2D(1, 2, 3, seed=0)
    x = _x((2, 6, 6, 1), dtype=np.float32)
    out = conv.forward(x)
    dx = conv.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == conv.grads["W"].dtype == np.float32


def test_he_initialisation_scale():
    w = scratch.Conv2D(6, 64, 5, seed=0).params["W"]
    assert w.std() == pytest.approx(np.sqrt(2 / (5 * 5 * 6)), rel=0.05)
    assert np.all(scratch.Conv2D(6, 64, 5).params["b"] == 0)


# ----------------------------------------------------------------------------- ReLU, pooling, flatten, dense


def test_relu_forward_and_backward_by_hand():
    relu = scratch.ReLU()
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(relu.forward(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 6.0, 7.0]])), [[0.0, 0.0, 7.0]])


def test_maxpool_forward_and_backward_by_hand():
    pool = scratch.MaxPool2D(2)
    x = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0]]).reshape(1, 2, 4, 1)
    np.testing.assert_array_equal(pool.forward(x)[0, :, :, 0], [[5.0, 8.0]])
    dx = pool.backward(np.array([10.0, 20.0]).reshape(1, 1, 2, 1))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 10, 0, 0], [0, 0, 20, 0]])


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_only():
    pool = scratch.MaxPool2D(2)
    pool.forward(np.zeros((1, 2, 2, 1)))  # four equal values, e.g. after a ReLU
    dx = pool.backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0], [0, 0]])


def test_overlapping_windows_add_their_gradients():
    pool = scratch.MaxPool2D(2, stride=1)
    x = np.array([[0.0, 0.1, 0.2], [0.3, 9.0, 0.4], [0.5, 0.6, 0.7]]).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(pool.forward(x)[0, :, :, 0], [[9, 9], [9, 9]])
    dx = pool.backward(np.ones((1, 2, 2, 1)))
    assert dx[0, 1, 1, 0] == 4 and dx.sum() == 4  # the centre is the maximum of all four windows


def test_maxpool_reshape_path_equals_the_window_definition():
    x = _x((3, 9, 9, 4))  # 9 is not a multiple of 2: the last row and column are dropped
    out = scratch.MaxPool2D(2).forward(x)
    expected = np.lib.stride_tricks.sliding_window_view(x, (2, 2), axis=(1, 2))[:, ::2, ::2].max(
        axis=(4, 5)
    )
    assert out.shape == (3, 4, 4, 4)
    np.testing.assert_array_equal(out, expected)


def test_flatten_keeps_the_nhwc_order_of_keras():
    x = np.arange(2 * 2 * 3 * 4).reshape(2, 2, 3, 4)
    flat = scratch.Flatten().forward(x)
    i, j, c, w, channels = 1, 2, 3, 3, 4
    assert flat.shape == (2, 24) and flat[1, (i * w + j) * channels + c] == x[1, i, j, c]


def test_dense_forward_and_backward_by_hand():
    dense = scratch.Dense(2, 1, dtype=np.float64)
    dense.params["W"][:, 0] = [2.0, -1.0]
    dense.params["b"][0] = 0.5
    x = np.array([[1.0, 3.0], [2.0, 0.0]])
    np.testing.assert_array_equal(dense.forward(x), [[-0.5], [4.5]])
    dx = dense.backward(np.array([[1.0], [2.0]]))
    np.testing.assert_array_equal(dx, [[2.0, -1.0], [4.0, -2.0]])
    np.testing.assert_array_equal(dense.grads["W"], [[1 + 4], [3 + 0]])
    np.testing.assert_array_equal(dense.grads["b"], [3.0])


def test_dropout_scales_kept_values_and_is_the_identity_at_inference():
    drop = scratch.Dropout(0.5)
    drop.fixed_mask = np.array([[True, False, True, False]])
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(drop.forward(x, training=True), [[2.0, 0.0, 6.0, 0.0]])
    np.testing.assert_array_equal(drop.backward(np.ones((1, 4))), [[2.0, 0.0, 2.0, 0.0]])
    assert drop.forward(x, training=False) is x


def test_random_dropout_keeps_the_expected_value():
    drop = scratch.Dropout(0.25, seed=0)
    out = drop.forward(np.ones((200, 500), np.float32), training=True)
    assert np.mean(out == 0) == pytest.approx(0.25, abs=0.01)
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}


# ----------------------------------------------------------------------------- the loss


def test_softmax_cross_entropy_by_hand():
    loss = scratch.SoftmaxCrossEntropy()
    logits = np.zeros((2, 4))  # uniform probabilities 1/4
    assert loss.forward(logits, np.array([1, 3])) == pytest.approx(np.log(4))
    grad = loss.backward()
    np.testing.assert_allclose(grad, (np.full((2, 4), 0.25) - np.eye(4)[[1, 3]]) / 2)


def test_softmax_cross_entropy_accepts_one_hot_and_survives_large_logits():
    loss = scratch.SoftmaxCrossEntropy()
    logits = np.array([[1000.0, 0.0, -1000.0]])
    assert loss.forward(logits, np.array([0])) == pytest.approx(0.0, abs=1e-12)
    assert loss.forward(logits, np.array([[0.0, 1.0, 0.0]])) == pytest.approx(1000.0)
    assert np.all(np.isfinite(loss.backward()))
    np.testing.assert_allclose(scratch.softmax(logits).sum(axis=1), 1.0)


def test_loss_rejects_bad_labels():
    loss = scratch.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="labels in 0..2"):
        loss.forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="differ in length"):
        loss.forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(RuntimeError, match="forward before backward"):
        scratch.SoftmaxCrossEntropy().backward()


# ----------------------------------------------------------------------------- error messages


def test_mismatched_channels_are_named():
    with pytest.raises(ValueError, match="built for 6 input channels but receives 3"):
        scratch.Conv2D(6, 12, 5).forward(np.zeros((1, 12, 12, 3), np.float32))
    with pytest.raises(ValueError, match="in_channels=6"):
        scratch.Sequential(
            [scratch.Conv2D(1, 6, 5), scratch.Conv2D(3, 12, 5)], input_shape=(28, 28, 1)
        )


def test_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="kernel_size 5 is larger than the padded input 4x4"):
        scratch.Conv2D(1, 2, 5).forward(np.zeros((1, 4, 4, 1), np.float32))
    assert scratch.Conv2D(1, 2, 5, padding=1).output_shape((4, 4, 1)) == (2, 2, 2)  # 6x6 padded
    with pytest.raises(ValueError, match="pool_size 3 is larger"):
        scratch.MaxPool2D(3).forward(np.zeros((1, 2, 2, 1)))


def test_batches_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\), got shape \(28, 28, 1\).*x\[None\]"):
        scratch.Conv2D(1, 2, 3).forward(np.zeros((28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="put a Flatten"):
        scratch.Dense(192, 10).forward(np.zeros((2, 4, 4, 12), np.float32))
    with pytest.raises(ValueError, match="put a Flatten"):
        scratch.Sequential(
            [scratch.Conv2D(1, 2, 3), scratch.Dense(1352, 10)], input_shape=(28, 28, 1)
        )
    with pytest.raises(ValueError, match="in_features=1352"):
        scratch.Sequential(
            [scratch.Conv2D(1, 2, 3), scratch.Flatten(), scratch.Dense(1000, 10)],
            input_shape=(28, 28, 1),
        )


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: scratch.Conv2D(1, 0, 3), "filters must be an integer >= 1"),
        (lambda: scratch.Conv2D(1, 2, 3, stride=0), "stride must be an integer >= 1"),
        (lambda: scratch.Conv2D(1, 2, 3, padding=-1), "padding"),
        (lambda: scratch.Conv2D(1, 2, 3, padding="full"), "padding"),
        (lambda: scratch.Conv2D(1, 2, 4, padding="same"), "'same' needs stride 1 and an odd"),
        (lambda: scratch.Conv2D(1.5, 2, 3), "in_channels must be an integer"),
        (lambda: scratch.MaxPool2D(0), "pool_size must be an integer >= 1"),
        (lambda: scratch.Dense(10, 0), "units must be an integer >= 1"),
        (lambda: scratch.Dropout(1.0), r"rate must be in \[0, 1\)"),
    ],
)
def test_bad_arguments_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_backward_before_forward_is_an_error():
    for layer in (
        scratch.Conv2D(1, 1, 1),
        scratch.ReLU(),
        scratch.MaxPool2D(),
        scratch.Dense(1, 1),
    ):
        with pytest.raises(RuntimeError, match="call forward before backward"):
            layer.backward(np.zeros((1, 1)))
