"""Attention blocks for small CNNs: CBAM, the Convolutional Block Attention Module (Woo et al., ECCV 2018).

``CBAM`` is a Keras layer registered for saving as ``helpers.attention>CBAM``: importing this module
is enough for ``keras.saving.load_model`` to read a model that contains it.
"""

from __future__ import annotations

from typing import Any

import keras


def _check_positive_int(value: Any, name: str, example: str) -> int:
    """Return ``value`` as an int, or raise a ValueError naming ``name`` unless it is a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer such as {example}, got {value!r}")
    return value


def check_cbam_args(reduction: Any, spatial_kernel: Any) -> tuple[int, int]:
    """Return ``reduction, spatial_kernel`` checked: positive ints, the kernel odd (a centred window)."""
    reduction = _check_positive_int(reduction, "reduction", "8 or 16")
    spatial_kernel = _check_positive_int(spatial_kernel, "spatial_kernel", "7")
    if spatial_kernel % 2 == 0:
        raise ValueError(
            f"spatial_kernel must be odd (3, 5, 7, ...) so the window is centred, got {spatial_kernel}"
        )
    return reduction, spatial_kernel


def cbam_parameter_count(channels: int, reduction: int = 8, spatial_kernel: int = 7) -> int:
    """Return the parameters of ``CBAM(reduction, spatial_kernel)`` on ``channels`` input channels.

    ``2*C*h + h + C`` for the shared MLP (C -> h -> C, both with biases, ``h = C // reduction``) plus
    ``k*k*2 + 1`` for the spatial convolution (2 maps in, 1 out, with bias).
    """
    reduction, spatial_kernel = check_cbam_args(reduction, spatial_kernel)
    hidden = int(channels) // reduction
    return 2 * channels * hidden + hidden + channels + spatial_kernel * spatial_kernel * 2 + 1


@keras.saving.register_keras_serializable(package="helpers.attention")
class CBAM(keras.layers.Layer):
    """Convolutional Block Attention Module: a channel gate, then a spatial gate; shape kept.

    ``CBAM(reduction=8, spatial_kernel=7)`` on ``(N, H, W, C)`` features, after Woo, Park, Lee &
    Kweon, "CBAM: Convolutional Block Attention Module" (ECCV 2018), channel attention then spatial
    attention, each a multiplicative gate in (0, 1):

    1. channel: ``Mc = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))``, pooled over H and W, the MLP
       (``Dense(C // reduction, relu) -> Dense(C)``) shared by both; ``x' = x * Mc``;
    2. spatial: ``Ms = sigmoid(conv_kxk([mean_c(x'), max_c(x')]))``, the channel-wise mean and max
       maps concatenated (2 channels) into one ``k x k`` "same" convolution; output ``x' * Ms``.

    The output has the input's shape. **Parameter convention:** both MLP layers and the spatial
    convolution have biases, as in the paper's equations and the authors' ``nn.Linear`` MLP:
    ``2*C*C/r + C/r + C + 2*k*k + 1`` (:func:`cbam_parameter_count`; ``C/r`` is ``C // r``). The
    authors' code (Jongchan/attention-module) puts a bias-free convolution and a batch norm in the
    spatial gate instead; that variant is not built here. The paper's default is ``r = 16``; ``8``
    suits the narrow layers (16-64 channels) of MNIST nets. ``reduction`` may not exceed the channel
    count (the hidden layer would be empty). Defined in notebook 06 (``class CBAM``, checked there
    to compute the same outputs as this copy); this copy adds the input checks and the registration
    for saving.
    """

    def __init__(self, reduction: int = 8, spatial_kernel: int = 7, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reduction, self.spatial_kernel = check_cbam_args(reduction, spatial_kernel)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                "CBAM expects feature maps (batch, height, width, channels) with a known channel "
                f"count, got input shape {tuple(input_shape)}"
            )
        channels = int(input_shape[-1])
        if self.reduction > channels:
            raise ValueError(
                f"reduction={self.reduction} is larger than the {channels} input channels (the "
                f"MLP's hidden layer would be empty); pass reduction <= {channels}"
            )
        hidden = channels // self.reduction
        self.mlp_hidden = keras.layers.Dense(hidden, activation="relu", name="mlp_hidden")
        self.mlp_out = keras.layers.Dense(channels, name="mlp_out")
        self.spatial_conv = keras.layers.Conv2D(
            1, self.spatial_kernel, padding="same", name="spatial_conv"
        )
        self.mlp_hidden.build((None, channels))
        self.mlp_out.build((None, hidden))
        self.spatial_conv.build((None, input_shape[1], input_shape[2], 2))

    def call(self, inputs):
        ops = keras.ops
        avg = ops.mean(inputs, axis=(1, 2))
        mx = ops.max(inputs, axis=(1, 2))
        mlp = self.mlp_out
        channel_gate = ops.sigmoid(mlp(self.mlp_hidden(avg)) + mlp(self.mlp_hidden(mx)))
        x = inputs * channel_gate[:, None, None, :]
        maps = ops.concatenate(
            [ops.mean(x, axis=-1, keepdims=True), ops.max(x, axis=-1, keepdims=True)], axis=-1
        )
        return x * ops.sigmoid(self.spatial_conv(maps))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "reduction": self.reduction,
            "spatial_kernel": self.spatial_kernel,
        }


def cbam_layer() -> type:
    """Return the ``CBAM`` layer class (kept for callers written before it was a module-level class)."""
    return CBAM
