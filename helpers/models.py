"""Builders of the kit's MNIST classifiers (un-compiled models), from a 71,582-parameter MLP to a ResNet.

Conventions shared by every builder:

* **Output: class probabilities.** The last layer is ``Dense(num_classes, activation="softmax")``, so
  compile with ``SparseCategoricalCrossentropy()`` (``from_logits=False``, the default) and read
  ``model.predict(x)`` as probabilities. ``helpers.training`` and ``helpers.callbacks`` assume this.
* **Input:** float32 images ``(N, 28, 28, 1)`` in [0, 1], as ``helpers.data.load_mnist_splits`` returns.
* **Keras policy:** ``keras_module=None`` builds with Keras 3; ``keras_module=keras_policy.legacy_keras()``
  builds the identical architecture (same layers, same parameter count) from ``tf_keras`` for
  tensorflow-model-optimization. Only APIs common to both are used.
* **MACs** quoted in docstrings: one multiply-accumulate per weight use, i.e. ``H_out*W_out*k*k*C_in*C_out``
  for a convolution and ``n_in*n_out`` for a dense layer; biases, batch norm, activations and pooling
  are not counted.

``CLASSIFIERS`` maps the saved-model names to the builders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType

from helpers.kit import keras_policy

MNIST_SHAPE = (28, 28, 1)
ACTIVATIONS = (
    "relu",
    "elu",
    "gelu",
    "swish",
    "silu",
    "leaky_relu",
    "selu",
    "mish",
    "tanh",
    "sigmoid",
)


def _keras(keras_module: ModuleType | None) -> ModuleType:
    """Return the Keras module to build with (Keras 3 unless ``tf_keras`` is passed)."""
    return keras_module or keras_policy.modern_keras()


def _check_common(input_shape: Sequence[int], num_classes: int) -> None:
    """Raise a clear error for an impossible input shape or class count."""
    if len(tuple(input_shape)) != 3 or any(int(d) <= 0 for d in input_shape):
        raise ValueError(
            f"input_shape must be (height, width, channels), e.g. (28, 28, 1); got {input_shape!r}"
        )
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")


def _check_activation(activation: str) -> None:
    """Raise a clear error if ``activation`` is not one of :data:`ACTIVATIONS`."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")


def build_mlp_baseline(
    hidden_units: Sequence[int] = (77, 74, 63),
    activation: str = "relu",
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return the baseline MLP: Flatten -> Dense 77 -> Dense 74 -> Dense 63 -> softmax (71,582 parameters).

    Defined in notebook 01 (a ``keras.Sequential`` there, with the same layers and names), which
    trains and saves it; notebook 02 counts it, ``kit.artifacts.load_or_train`` rebuilds it.
    The course report's MLP had 71,582 parameters. No 784-h-10 or 784-h1-h2-10 layout has exactly
    that many (785*h1 + (h1+1)*h2 + (h2+1)*10 = 71,582 has no integer solution); among three
    decreasing hidden layers, 77-74-63 does: 60,445 + 5,772 + 4,725 + 640 = 71,582.
    """
    _check_common(input_shape, num_classes)
    _check_activation(activation)
    K = _keras(keras_module)
    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = K.layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden_units, start=1):
        x = K.layers.Dense(int(units), activation=activation, name=f"dense_{i}")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="mlp_baseline")


def build_mlp_tuned(
    hidden_units: int = 90,
    dropout: float = 0.1,
    activation: str = "relu",
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return the tuned MLP: Flatten -> Dense 90 (no bias) -> BatchNorm -> activation -> Dropout -> softmax (71,830 params).

    Defined in notebook 01 (functional API there), which trains and saves it. Same budget as the
    baseline (at most 72,000 parameters) spent on one wide layer; batch norm replaces the dense bias.
    Trained with augmentation, Adam and a one-cycle schedule (``training.RECIPES["mlp_tuned"]``).
    """
    _check_common(input_shape, num_classes)
    _check_activation(activation)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    K = _keras(keras_module)
    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = K.layers.Flatten(name="flatten")(inputs)
    x = K.layers.Dense(int(hidden_units), use_bias=False, name="dense_1")(x)
    x = K.layers.BatchNormalization(name="bn_1")(x)
    x = K.layers.Activation(activation, name="act_1")(x)
    x = K.layers.Dropout(dropout, name="dropout_1")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="mlp_tuned")


def build_small_cnn(
    filters: Sequence[int] = (6, 6),
    dense_units: int = 30,
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return the small CNN: [Conv 3x3 6 same -> MaxPool 2] x 2 -> Dense 30 -> softmax (9,550 params, 114,960 MACs).

    Defined in notebook 02 (a ``keras.Sequential`` there), which trains and saves it.
    The course report's small CNN had 9,550 parameters and 120,885 MACs. Of all two-conv layouts
    (3x3/5x5 kernels, 1-32 filters, valid/same padding, optional hidden dense layer), this is the
    one with exactly 9,550 parameters whose MACs come closest: 42,336 + 63,504 + 8,820 + 300 = 114,960
    weight MACs; counting each bias addition as a MAC too adds 5,920, giving 120,880.
    """
    _check_common(input_shape, num_classes)
    K = _keras(keras_module)
    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = K.layers.Conv2D(int(f), 3, padding="same", activation="relu", name=f"conv_{i}")(x)
        x = K.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = K.layers.Flatten(name="flatten")(x)
    x = K.layers.Dense(int(dense_units), activation="relu", name="dense_1")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="small_cnn")


def build_tiny_cnn(
    widths: Sequence[int] = (8, 12, 14, 8, 12, 16, 16),
    dropout: float = 0.0,
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return the tiny CNN (7,970 params, under 8,000): 3x3 convs with BN, a 1x1 transition, global average pooling.

    Defined in notebook 02, which trains it (30 epochs, affine augmentation, one-cycle, weight EMA:
    ``training.RECIPES["tiny_cnn"]``) and saves it; notebook 08 quantizes it.
    Layout (``widths`` = conv1..3, 1x1 transition, conv4..6): 28 -> [3x3 8, 3x3 12, 3x3 14] -> 22x22 ->
    MaxPool -> 11x11 -> 1x1 8 -> [3x3 12, 3x3 16, 3x3 16] -> 5x5 -> GAP -> softmax. Every conv is
    bias-free and followed by BatchNorm -> ReLU (-> Dropout if ``dropout`` > 0; the recipe uses none,
    augmentation regularises enough); 'valid' padding keeps compute low.
    """
    _check_common(input_shape, num_classes)
    if len(widths) != 7:
        raise ValueError(
            f"widths needs 7 entries (conv1-3, 1x1 transition, conv4-6), got {len(widths)}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    K = _keras(keras_module)

    def conv_bn(x, filters: int, kernel: int, name: str):
        x = K.layers.Conv2D(int(filters), kernel, padding="valid", use_bias=False, name=f"{name}")(
            x
        )
        x = K.layers.BatchNormalization(name=f"{name}_bn")(x)
        x = K.layers.Activation("relu", name=f"{name}_relu")(x)
        return K.layers.Dropout(dropout, name=f"{name}_dropout")(x) if dropout else x

    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = conv_bn(inputs, widths[0], 3, "conv_1")
    x = conv_bn(x, widths[1], 3, "conv_2")
    x = conv_bn(x, widths[2], 3, "conv_3")
    x = K.layers.MaxPooling2D(2, name="pool_1")(x)
    x = conv_bn(x, widths[3], 1, "transition")
    x = conv_bn(x, widths[4], 3, "conv_4")
    x = conv_bn(x, widths[5], 3, "conv_5")
    x = conv_bn(x, widths[6], 3, "conv_6")
    x = K.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="tiny_cnn")


def build_lenet5(
    activation: str = "tanh",
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return LeNet-5 for 28x28 inputs: C1 6@5x5 'same' -> avg-pool -> C3 16@5x5 -> avg-pool -> 120 -> 84 -> softmax (61,706 params).

    Defined in notebook 02 (a ``keras.Sequential`` there), which trains and saves it.
    The original took 32x32 inputs; 'same' padding in C1 on 28x28 gives the same 28x28x6 map.
    """
    _check_common(input_shape, num_classes)
    _check_activation(activation)
    K = _keras(keras_module)
    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = K.layers.Conv2D(6, 5, padding="same", activation=activation, name="c1")(inputs)
    x = K.layers.AveragePooling2D(2, name="s2")(x)
    x = K.layers.Conv2D(16, 5, padding="valid", activation=activation, name="c3")(x)
    x = K.layers.AveragePooling2D(2, name="s4")(x)
    x = K.layers.Flatten(name="flatten")(x)
    x = K.layers.Dense(120, activation=activation, name="c5")(x)
    x = K.layers.Dense(84, activation=activation, name="f6")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="lenet5")


def build_five_layer_cnn(
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return the five-layer CNN: Conv 128 5x5 -> pool -> Conv 256 5x5 -> pool -> Dense 64 -> Dense 32 -> softmax (1,087,402 params).

    Defined in notebook 02 (a ``keras.Sequential`` there), which trains it for 1 of its 10 epochs.
    With dropout 0.3 / 0.4 / 0.4 / 0.4 after the blocks. 'valid' padding (28 -> 24 -> 12 -> 8 -> 4)
    keeps it trainable on a CPU: about 54 M MACs per image, against about 165 M with 'same' padding.
    """
    _check_common(input_shape, num_classes)
    K = _keras(keras_module)
    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = K.layers.Conv2D(128, 5, padding="valid", activation="relu", name="conv_1")(inputs)
    x = K.layers.MaxPooling2D(2, name="pool_1")(x)
    x = K.layers.Dropout(0.3, name="dropout_1")(x)
    x = K.layers.Conv2D(256, 5, padding="valid", activation="relu", name="conv_2")(x)
    x = K.layers.MaxPooling2D(2, name="pool_2")(x)
    x = K.layers.Dropout(0.4, name="dropout_2")(x)
    x = K.layers.Flatten(name="flatten")(x)
    x = K.layers.Dense(64, activation="relu", name="dense_1")(x)
    x = K.layers.Dropout(0.4, name="dropout_3")(x)
    x = K.layers.Dense(32, activation="relu", name="dense_2")(x)
    x = K.layers.Dropout(0.4, name="dropout_4")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="five_layer_cnn")


def _part(block: str | None, part: str) -> str | None:
    """Return the layer name ``"<block>_<part>"``, or None (Keras names it) for an unnamed block."""
    return f"{block}_{part}" if block else None


def residual_block(
    x,
    filters: int,
    stride: int = 1,
    activation: str = "relu",
    name: str | None = None,
    keras_module: ModuleType | None = None,
):
    """Return the block's output tensor ``act(shortcut + F(x))``, shape ``(batch, H/stride, W/stride, filters)``.

    Defined in notebook 03 (exercise 1), where the trained ResNet is built from it.
    ``F(x)`` = Conv 3x3 (``strides=stride``) -> BN -> act -> Conv 3x3 -> BN. The shortcut is ``x``
    itself when ``stride == 1`` and ``x`` already has ``filters`` channels; otherwise a projection,
    Conv 1x1 (``strides=stride``) -> BN. ``name`` prefixes the layer names (``block_1_conv1``, ...).
    """
    K = _keras(keras_module)
    y = K.layers.Conv2D(filters, 3, strides=stride, padding="same", name=_part(name, "conv1"))(x)
    y = K.layers.BatchNormalization(name=_part(name, "bn1"))(y)
    y = K.layers.Activation(activation, name=_part(name, "act1"))(y)
    y = K.layers.Conv2D(filters, 3, padding="same", name=_part(name, "conv2"))(y)
    y = K.layers.BatchNormalization(name=_part(name, "bn2"))(y)
    shortcut = x
    if stride != 1 or int(x.shape[-1]) != filters:
        shortcut = K.layers.Conv2D(
            filters, 1, strides=stride, padding="same", name=_part(name, "proj")
        )(x)
        shortcut = K.layers.BatchNormalization(name=_part(name, "proj_bn"))(shortcut)
    y = K.layers.Add(name=_part(name, "add"))([shortcut, y])
    return K.layers.Activation(activation, name=_part(name, "out"))(y)


def build_resnet(
    activation: str = "relu",
    filters: int = 64,
    blocks: int = 3,
    downsample: Sequence[bool] = (False, False, False),
    dense_units: int = 64,
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return the ResNet: Conv 7x7/2 -> BN -> act -> MaxPool 3x3/2 -> residual blocks -> GAP -> Dense 64 -> softmax (231,370 params).

    Defined in notebook 03, which trains it (notebooks 04, 05 and 08 reuse it). With the defaults
    (3 blocks of 64 filters, no downsampling) the maps are 28 -> 14 -> 7x7x64 and every shortcut is
    the identity. ``downsample[i]`` makes block ``i`` halve the map (stride 2, projection shortcut).
    """
    _check_common(input_shape, num_classes)
    _check_activation(activation)
    downsample = tuple(bool(d) for d in downsample)
    if len(downsample) != blocks:
        raise ValueError(
            f"downsample needs one flag per block ({blocks}), got {len(downsample)}: {downsample}"
        )
    if int(filters) <= 0 or int(blocks) < 0:
        raise ValueError(
            f"filters must be positive and blocks non-negative, got filters={filters}, blocks={blocks}"
        )
    K = _keras(keras_module)
    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = K.layers.Conv2D(int(filters), 7, strides=2, padding="same", name="stem_conv")(inputs)
    x = K.layers.BatchNormalization(name="stem_bn")(x)
    x = K.layers.Activation(activation, name="stem_act")(x)
    x = K.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for i, down in enumerate(downsample, start=1):
        stride = 2 if down else 1
        x = residual_block(x, int(filters), stride, activation, name=f"block_{i}", keras_module=K)
    x = K.layers.GlobalAveragePooling2D(name="gap")(x)
    x = K.layers.Dense(int(dense_units), activation=activation, name="dense_1")(x)
    outputs = K.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="resnet")


def build_strong_cnn(
    width: int = 16,
    dropout: float = 0.4,
    bn_momentum: float = 0.9,
    cbam: bool = False,
    input_shape: Sequence[int] = MNIST_SHAPE,
    num_classes: int = 10,
    keras_module: ModuleType | None = None,
):
    """Return notebook 06's CNN: two stages of [3x3, 3x3, 5x5 stride 2] convs, a 4x4 conv, softmax (92,122 params).

    The layout of Chris Deotte's Kaggle MNIST CNNs, at half their width by default (``width`` 16 ->
    stages of 16 and 32 filters, then 64): 28 -> 14 -> 7 -> 4x4 conv -> 4x4x64 -> Flatten ->
    Dropout -> softmax. Every conv is bias-free, followed by BatchNorm (``bn_momentum``: 0.9, notebook 06's
    base recipe; Keras' default 0.99 lags the weights in short runs) and ReLU; each stage ends with ``Dropout(dropout)``. ``cbam`` adds a CBAM block
    (``helpers.attention``, channel then spatial attention) after each stage. Defined in notebook
    06 (``build_strong_cnn``, checked there to have the same layers as this copy); notebook 08
    quantizes the trained one (``strong_cnn``).
    """
    _check_common(input_shape, num_classes)
    if int(width) <= 0:
        raise ValueError(f"width must be positive, got {width!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if not 0.0 < bn_momentum < 1.0:
        raise ValueError(f"bn_momentum must be in (0, 1), got {bn_momentum!r}")
    K = _keras(keras_module)
    layers = K.layers

    def conv_bn(x, filters: int, kernel: int, stride: int, name: str, padding: str = "same"):
        x = layers.Conv2D(
            filters, kernel, strides=stride, padding=padding, use_bias=False, name=name
        )(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
        return layers.Activation("relu", name=f"{name}_relu")(x)

    inputs = K.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for stage, filters in enumerate((int(width), 2 * int(width)), start=1):
        x = conv_bn(x, filters, 3, 1, f"stage{stage}_conv1")
        x = conv_bn(x, filters, 3, 1, f"stage{stage}_conv2")
        x = conv_bn(x, filters, 5, 2, f"stage{stage}_down")
        if cbam:
            from helpers.attention import cbam_layer

            x = cbam_layer()(name=f"stage{stage}_cbam")(x)
        x = layers.Dropout(dropout, name=f"stage{stage}_dropout")(x)
    x = conv_bn(x, 4 * int(width), 4, 1, "head_conv", padding="valid")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return K.Model(inputs, outputs, name="strong_cnn")


CLASSIFIERS: dict[str, Callable] = {
    "mlp_baseline": build_mlp_baseline,
    "mlp_tuned": build_mlp_tuned,
    "small_cnn": build_small_cnn,
    "tiny_cnn": build_tiny_cnn,
    "lenet5": build_lenet5,
    "five_layer_cnn": build_five_layer_cnn,
    "resnet": build_resnet,
    "strong_cnn": build_strong_cnn,
}


def build_classifier(name: str, **kwargs):
    """Return the un-compiled model registered as ``name`` in :data:`CLASSIFIERS` (kwargs go to its builder)."""
    if name not in CLASSIFIERS:
        raise KeyError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")
    return CLASSIFIERS[name](**kwargs)
