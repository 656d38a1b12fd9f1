"""Parameter and MAC counts against values worked out by hand for small layers; size and latency shape."""

import keras
import numpy as np
import pytest

from helpers import complexity


def one_layer(layer, input_shape):
    """A Functional model around a single layer."""
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


def only_row(model, **kwargs):
    table = complexity.complexity_table(model, **kwargs)
    assert len(table) == 1, table
    return table.iloc[0]


def test_conv2d_3x3_one_to_two_channels_valid():
    # 3*3*1*2 weights + 2 biases = 20; output 3x3x2, each output 3*3*1 MACs -> 3*3*2 * 9 = 162
    row = only_row(one_layer(keras.layers.Conv2D(2, 3), (5, 5, 1)))
    assert (row["type"], row["output_shape"], row["params"], row["macs"]) == (
        "Conv2D",
        (3, 3, 2),
        20,
        162,
    )


def test_grouped_conv2d():
    # groups=2, 4 -> 4 channels: each output sees 2 input channels. params 3*3*2*4 + 4 = 76
    # MACs = 3*3 positions * 4 outputs * 9 * 2 = 648
    row = only_row(one_layer(keras.layers.Conv2D(4, 3, groups=2), (5, 5, 4)))
    assert (row["params"], row["macs"]) == (76, 648)


def test_depthwise_conv2d():
    # per channel a 3x3 kernel: 9*2 weights + 2 biases = 20; MACs = 3*3 positions * 2 channels * 9 = 162
    row = only_row(one_layer(keras.layers.DepthwiseConv2D(3, depth_multiplier=1), (5, 5, 2)))
    assert (row["output_shape"], row["params"], row["macs"]) == ((3, 3, 2), 20, 162)
    # depth_multiplier 2 doubles both weights and MACs: 36 + 4 = 40 params, 3*3*4*9 = 324 MACs
    row = only_row(one_layer(keras.layers.DepthwiseConv2D(3, depth_multiplier=2), (5, 5, 2)))
    assert (row["params"], row["macs"]) == (40, 324)


def test_separable_conv2d():
    # depthwise 3*3*2 = 18, pointwise 2*4 = 8, bias 4 -> 30 params
    # MACs: depthwise 3*3 pos * 2 ch * 9 = 162, pointwise 3*3 pos * 2 * 4 = 72 -> 234
    row = only_row(one_layer(keras.layers.SeparableConv2D(4, 3), (5, 5, 2)))
    assert (row["output_shape"], row["params"], row["macs"]) == ((3, 3, 4), 30, 234)


def test_conv2d_transpose_counts_input_scatter():
    # 3*3*1*2 + 2 = 20 params; 4*4 inputs * 1 ch * 9 taps * 2 filters = 288 MACs; stride 2 'same' -> 8x8
    row = only_row(
        one_layer(keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same"), (4, 4, 1))
    )
    assert (row["output_shape"], row["params"], row["macs"]) == ((8, 8, 2), 20, 288)


def test_dense_and_dense_on_a_sequence():
    row = only_row(one_layer(keras.layers.Dense(3), (5,)))
    assert (row["params"], row["macs"]) == (18, 15)  # 5*3 + 3 params; 5*3 MACs
    row = only_row(one_layer(keras.layers.Dense(3), (4, 5)))
    assert (row["output_shape"], row["macs"]) == ((4, 3), 60)  # applied at each of 4 positions


def test_batchnorm_pooling_activation_count_zero_macs_but_their_params():
    model = keras.Sequential(
        [
            keras.Input((4, 4, 3)),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(),
            keras.layers.PReLU(shared_axes=[1, 2]),
            keras.layers.GlobalAveragePooling2D(),
        ]
    )
    table = complexity.complexity_table(model)
    assert table["type"].tolist() == [
        "BatchNormalization",
        "ReLU",
        "MaxPooling2D",
        "PReLU",
        "GlobalAveragePooling2D",
    ]
    assert table["params"].tolist() == [12, 0, 0, 3, 0]
    assert table["macs"].sum() == 0
    assert table["output_shape"].tolist()[-1] == (3,)
    assert complexity.count_params(model) == {"trainable": 9, "non_trainable": 6, "total": 15}


def test_small_cnn_sequential_total_by_hand():
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(
                4, 3, activation="relu"
            ),  # 26x26x4: 676*4*9 = 24,336 MACs; 40 params
            keras.layers.MaxPooling2D(),  # 13x13x4
            keras.layers.Flatten(),  # 676
            keras.layers.Dense(10),  # 6,760 MACs; 6,770 params
        ]
    )
    assert complexity.total_macs(model) == 24_336 + 6_760
    assert complexity.count_params(model)["total"] == 40 + 6_770 == model.count_params()
    names = complexity.complexity_table(model)["name"].tolist()
    assert not any("/" in n for n in names)  # top-level layers carry no model prefix


def test_nested_functional_with_add_and_shared_layer():
    block = keras.Sequential(
        [keras.Input((6, 6, 2)), keras.layers.Conv2D(2, 3, padding="same", name="inner")],
        name="blk",
    )
    shared = keras.layers.Conv2D(2, 1, use_bias=False, name="shared")
    inputs = keras.Input((6, 6, 2))
    y = keras.layers.Add(name="add")([inputs, block(inputs)])
    y = shared(shared(y))  # called twice: MACs twice, weights once
    model = keras.Model(inputs, y)
    table = complexity.complexity_table(model)
    assert table["name"].tolist() == ["blk/inner", "add", "shared", "shared"]
    # inner: 36 positions * 2 out * 9 * 2 in = 1296; shared 1x1: 36 * 2 * 2 = 144 each call
    assert table["macs"].tolist() == [1296, 0, 144, 144]
    assert table["params"].tolist() == [38, 0, 4, 0]
    assert table["params"].sum() == model.count_params()
    assert complexity.total_macs(model) == 1296 + 288


def test_fully_convolutional_model_needs_input_shape():
    inputs = keras.Input((None, None, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
    with pytest.raises(ValueError, match="input_shape"):
        complexity.total_macs(model)
    # 10x10 outputs * 4 channels * 9 taps * 1 input channel
    assert complexity.total_macs(model, input_shape=(10, 10, 1)) == 3600
    assert complexity.macs_per_output_pixel(model, (10, 10, 1)) == pytest.approx(36.0)
    assert complexity.macs_per_output_pixel(model, (20, 30, 1)) == pytest.approx(36.0)


def test_rejects_non_keras3_objects():
    with pytest.raises(TypeError, match="Keras 3"):
        complexity.complexity_table(object())


def test_model_size_grows_with_parameters():
    small = one_layer(keras.layers.Dense(2), (4,))
    big = one_layer(keras.layers.Dense(500), (500,))
    small_bytes, big_bytes = complexity.model_size_bytes(small), complexity.model_size_bytes(big)
    assert 0 < small_bytes < big_bytes
    assert big_bytes > 500 * 501 * 4  # float32 weights are stored in full


def test_model_size_leaves_out_optimizer_state_by_default():
    model = one_layer(keras.layers.Dense(200), (200,))
    bare = complexity.model_size_bytes(model)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 200), np.float32), np.zeros((4, 200), np.float32), verbose=0)
    with_adam = complexity.model_size_bytes(model, include_optimizer=True)
    assert with_adam > bare + 2 * 200 * 201 * 4  # Adam keeps two moments per weight
    assert abs(complexity.model_size_bytes(model) - bare) < 2048
    assert model.optimizer is not None  # the model itself is untouched


def test_measure_latency_keys_and_consistency():
    model = one_layer(keras.layers.Dense(3), (8,))
    result = complexity.measure_latency(model, batch_sizes=(1, 4), repeats=3, warmup=1)
    assert set(result) == {
        "ms_per_batch_b1",
        "ms_per_image_b1",
        "ms_per_batch_b4",
        "ms_per_image_b4",
    }
    assert all(v > 0 for v in result.values())
    assert result["ms_per_image_b4"] == pytest.approx(result["ms_per_batch_b4"] / 4)
    with pytest.raises(ValueError, match="batch_sizes"):
        complexity.measure_latency(model, batch_sizes=(0,))
    fcn = keras.Model(inp := keras.Input((None, None, 1)), keras.layers.Conv2D(1, 3)(inp))
    with pytest.raises(ValueError, match="input_shape"):
        complexity.measure_latency(fcn, batch_sizes=1)
    assert (
        complexity.measure_latency(fcn, 1, input_shape=(8, 8, 1), repeats=2)["ms_per_batch_b1"] > 0
    )


def test_summarize_row():
    row = complexity.summarize(one_layer(keras.layers.Conv2D(2, 3), (5, 5, 1)))
    assert (row["params"], row["trainable_params"], row["macs"]) == (20, 20, 162)
    assert row["size_kb"] > 0
    np.testing.assert_allclose(row["size_kb"] * 1024, round(row["size_kb"] * 1024))


def test_custom_layer_with_sublayers_warns_that_its_macs_are_not_counted():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(2, 3)

        def call(self, x):
            return self.conv(x)

    with pytest.warns(UserWarning, match="not counted"):
        table = complexity.complexity_table(one_layer(Block(name="blk"), (5, 5, 1)))
    assert table["params"].tolist() == [20] and table["macs"].tolist() == [0]


def test_sequential_built_without_input_layer():
    model = keras.Sequential(
        [keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    model.build((None, 5, 5, 1))
    # conv 162 MACs; dense 18 -> 3: 54 MACs, 57 params
    assert complexity.complexity_table(model)["macs"].tolist() == [162, 0, 54]


def test_describe_layer_names_kernel_filters_stride_padding_and_activation():
    L = keras.layers
    assert (
        complexity.describe_layer(L.Conv2D(8, 3, activation="relu")) == "conv 3x3, 8 filters, relu"
    )
    assert (
        complexity.describe_layer(L.Conv2D(64, 7, strides=2, padding="same"))
        == "conv 7x7, 64 filters, stride 2x2, same padding"
    )
    assert complexity.describe_layer(L.Dense(10, activation="softmax")) == "dense 10, softmax"
    assert complexity.describe_layer(L.Dense(90, use_bias=False)) == "dense 90"
    assert complexity.describe_layer(L.MaxPooling2D(2)) == "max-pool 2x2"
    assert complexity.describe_layer(L.MaxPooling2D(3, strides=2)) == "max-pool 3x3, stride 2x2"
    assert complexity.describe_layer(L.AveragePooling2D(2)) == "average-pool 2x2"
    assert complexity.describe_layer(L.GlobalAveragePooling2D()) == "global average pooling"
    assert complexity.describe_layer(L.BatchNormalization()) == "batch norm"
    assert complexity.describe_layer(L.Activation("relu")) == "relu"
    assert complexity.describe_layer(L.Dropout(0.25)) == "dropout 0.25"
    assert complexity.describe_layer(L.Flatten()) == "flatten"


def test_layer_table_merges_batch_norm_activation_and_dropout_into_the_layer_before():
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(2, 3, use_bias=False, name="conv")(inputs)  # 18 params, 4*4*2*9 MACs
    x = keras.layers.BatchNormalization(name="bn")(x)  # 4 per channel: 8 params
    x = keras.layers.Activation("relu", name="act")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)  # 2x2x2
    x = keras.layers.Dropout(0.5, name="drop")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(x)  # 2*3 + 3 params, 6 MACs
    table = complexity.layer_table(keras.Model(inputs, outputs))
    assert table["layer"].tolist() == ["conv", "pool", "gap", "out"]
    assert table["operation"].tolist() == [
        "conv 3x3, 2 filters → batch norm → relu",
        "max-pool 2x2 → dropout 0.5",
        "global average pooling",
        "dense 3, softmax",
    ]
    assert table["output_shape"].tolist() == [(4, 4, 2), (2, 2, 2), (2,), (3,)]
    assert table["params"].tolist() == [26, 0, 0, 9]
    assert table["macs"].tolist() == [288, 0, 0, 6]
    unmerged = complexity.layer_table(keras.Model(inputs, outputs), merge=False)
    assert len(unmerged) == 7 and unmerged["params"].sum() == 35


def test_layer_table_of_the_tiny_cnn_sums_to_its_totals():
    from helpers import models

    model = models.build_tiny_cnn()
    table = complexity.layer_table(model)
    assert len(table) == 10  # 7 conv blocks, a pool, GAP and the classifier
    assert table["params"].sum() == 7_970
    assert table["macs"].sum() == complexity.total_macs(model)


def test_cost_table_rows_and_optional_columns():
    conv = one_layer(keras.layers.Conv2D(2, 3), (5, 5, 1))  # 20 params, 162 MACs
    dense = one_layer(keras.layers.Dense(3), (8,))  # 27 params, 24 MACs
    table = complexity.cost_table({"conv": conv, "dense": dense}, size=False)
    assert list(table.index) == ["conv", "dense"] and list(table.columns) == ["params", "macs"]
    assert table.loc["conv"].tolist() == [20, 162] and table.loc["dense"].tolist() == [27, 24]
    timed = complexity.cost_table({"dense": dense}, latency_batch_sizes=(1, 4), repeats=2)
    assert list(timed.columns) == [
        "params",
        "macs",
        "size_kb",
        "ms_per_image_b1",
        "ms_per_image_b4",
    ]
    assert (timed.iloc[0, 2:] > 0).all()
    with pytest.raises(ValueError, match="models"):
        complexity.cost_table({})
