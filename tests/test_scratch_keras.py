"""The NumPy CNN against Keras on the same weights: same outputs (max abs difference < 1e-5), the same
SGD step, the same learning-rate schedules; weights copy both ways and mismatches are named."""

import numpy as np
import pytest

from helpers import data, scratch

keras = pytest.importorskip("keras")

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def images():
    return data.load_mnist_splits(train_subset=600, test_subset=100)["x_test"][:32]


def _slides_cnn_in_keras(filters=(6, 12)):
    """The slides' architecture written the usual Keras way (activations inside the layers)."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(filters[0], 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(filters[1], 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("filters", [(6, 12), (16, 32)])
def test_keras_weights_give_the_same_outputs(images, filters):
    model = _slides_cnn_in_keras(filters)  # Keras' own random initialisation
    net = scratch.build_slides_cnn(filters, seed=99)
    scratch.load_keras_weights(net, model)
    table = scratch.compare_with_keras(net, model, images)
    assert list(table["numpy layer"]) == [
        "conv1 + relu1",
        "pool1",
        "conv2 + relu2",
        "pool2",
        "flatten",
        "dense + softmax",
    ]
    assert table["max abs difference"].max() < TOLERANCE, table
    probabilities = np.asarray(model.predict(images, verbose=0))
    assert np.abs(net.predict(images) - probabilities).max() < TOLERANCE


def test_the_twin_matches_layer_by_layer_with_padding_and_stride(images):
    net = scratch.Sequential(
        [
            scratch.Conv2D(1, 4, 3, stride=2, padding=1, name="conv_a"),
            scratch.ReLU(),
            scratch.Conv2D(4, 5, 3, padding="same", name="conv_b"),
            scratch.ReLU(),
            scratch.MaxPool2D(3, stride=2),
            scratch.Flatten(),
            scratch.Dropout(0.3),
            scratch.Dense(180, 10),
        ],
        input_shape=(28, 28, 1),
    )
    twin = scratch.build_keras_twin(net, keras)
    assert [type(layer).__name__ for layer in twin.layers][:3] == [
        "ZeroPadding2D",
        "Conv2D",
        "ReLU",
    ]
    table = scratch.compare_with_keras(net, twin, images)
    assert len(table) == len(net.layers) + 1 and table.iloc[-1]["numpy layer"] == "softmax"
    assert table["max abs difference"].max() < TOLERANCE, table


def test_a_flipped_kernel_would_be_caught(images):
    model = _slides_cnn_in_keras()
    net = scratch.build_slides_cnn()
    scratch.load_keras_weights(net, model)
    net.layers[0].params["W"] = net.layers[0].params["W"][::-1, ::-1].copy()
    table = scratch.compare_with_keras(net, model, images)
    assert table.iloc[0]["max abs difference"] > 1e-3


def test_weights_copy_both_ways():
    net, model = scratch.build_slides_cnn(seed=1), _slides_cnn_in_keras()
    scratch.set_keras_weights(net, model)
    back = scratch.build_slides_cnn(seed=2)
    scratch.load_keras_weights(back, model)
    for a, b in zip(net.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_one_sgd_step_gives_the_same_weights_as_keras(images):
    # the strongest check of the backward pass: TensorFlow's automatic differentiation agrees
    net = scratch.build_slides_cnn(seed=4)
    twin = scratch.build_keras_twin(net, keras)
    twin.compile(
        optimizer=keras.optimizers.SGD(0.03, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(),
    )
    labels = np.arange(len(images)) % 10
    optimizer = scratch.SGD(0.03, momentum=0.9)
    for _ in range(2):  # the second step uses the momentum
        twin.train_on_batch(images, labels)
        net.train_step(images, labels, optimizer, 0.03)
    after = scratch.build_slides_cnn(seed=0)
    scratch.load_keras_weights(after, twin)
    for key, ours, theirs in zip(
        [k for k, _, _ in net.parameters()], net.get_weights(), after.get_weights()
    ):
        assert np.abs(ours - theirs).max() < TOLERANCE, key


@pytest.mark.parametrize("shape", ["cosine", "exponential", "linear"])
def test_keras_schedule_gives_the_same_rates(shape):
    decay = scratch.LearningRateDecay(0.03, 0.001, total_steps=500, shape=shape)
    schedule = scratch.keras_schedule(decay, keras)
    for step in (0, 1, 137, 250, 499, 500):
        assert float(schedule(step)) == pytest.approx(decay(step), rel=1e-5)
    if shape != "exponential":  # Keras' exponential decay goes on below the end rate
        assert float(schedule(800)) == pytest.approx(decay(800), rel=1e-5)


def test_train_keras_twin_reports_epoch_times():
    splits = data.load_mnist_splits(train_subset=256, test_subset=100)
    net = scratch.build_slides_cnn(seed=0)
    decay = scratch.LearningRateDecay(0.03, 0.001, total_steps=2 * 8)
    model, history = scratch.train_keras_twin(
        net, keras, splits["x_train"], splits["y_train"], 2, 32, decay, momentum=0.9
    )
    assert len(history["seconds"]) == len(history["loss"]) == 2
    assert all(s > 0 for s in history["seconds"])
    probabilities = np.asarray(model.predict(splits["x_test"], verbose=0))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # training changed the Keras copy only: the NumPy network keeps its initial weights
    assert np.array_equal(net.get_weights()[0], scratch.build_slides_cnn(seed=0).get_weights()[0])


def test_mismatched_architectures_are_named():
    net = scratch.build_slides_cnn()
    three_convs = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(6, 5),
            keras.layers.Conv2D(12, 5),
            keras.layers.Conv2D(12, 5),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    with pytest.raises(ValueError, match="3 layers with weights.*4"):
        scratch.load_keras_weights(net, three_convs)
    wider = _slides_cnn_in_keras((8, 12))
    with pytest.raises(ValueError, match=r"shape \(5, 5, 1, 8\).*\(5, 5, 1, 6\)"):
        scratch.load_keras_weights(net, wider)
    no_bias = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(6, 5, use_bias=False),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(12, 5),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    with pytest.raises(ValueError, match="use_bias=True"):
        scratch.load_keras_weights(net, no_bias)


def test_comparison_table_has_a_keras_column():
    splits = data.load_mnist_splits(train_subset=256, test_subset=100)
    table = scratch.compare_configurations({"6/12": {}}, splits, keras, epochs=1, verbose=0)
    assert {"keras_test_accuracy", "keras_s_per_epoch"} <= set(table.columns)
    assert 0.0 <= table.loc["6/12", "keras_test_accuracy"] <= 1.0
    assert table.loc["6/12", "keras_s_per_epoch"] > 0


def test_comparison_with_several_keras_seeds_and_its_dot_plot():
    from helpers import figures

    splits = data.load_mnist_splits(train_subset=128, val_size=64, test_subset=64)
    table = scratch.compare_configurations(
        {"6/12": {}}, splits, keras, epochs=1, seed=3, keras_seeds=2, verbose=0
    )
    row = table.loc["6/12"]
    assert row["keras_seeds"] == 2 and row["keras_test_std"] >= 0
    assert 0.0 <= row["keras_val_mean"] <= 1.0 and 0.0 <= row["keras_test_mean"] <= 1.0
    runs = scratch.keras_runs({}, splits, keras, seeds=[3], epochs=1)
    assert list(runs.columns) == ["seed", "val_accuracy", "test_accuracy", "s_per_epoch"]
    assert runs["seed"].tolist() == [3] and runs["s_per_epoch"].iloc[0] > 0
    fig = scratch.plot_configurations(table)
    assert fig.axes[0].get_xlabel() == "test accuracy (%)"
    figures.pyplot().close(fig)
    with pytest.raises(ValueError, match="call compare_configurations with keras"):
        scratch.plot_configurations(table.drop(columns="keras_test_std"))
