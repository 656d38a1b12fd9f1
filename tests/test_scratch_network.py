"""The NumPy CNN as a whole: the slides' architecture, training, SGD and the learning-rate decay,
evaluation, the profile, and the promise that helpers.scratch never imports TensorFlow or Keras."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from helpers import data, evaluation, scratch
from helpers.kit import config


@pytest.fixture(scope="module")
def tiny_mnist():
    splits = data.load_mnist_splits(train_subset=600, test_subset=200)
    return splits


def test_slides_cnn_has_3898_parameters_and_192_features():
    net = scratch.build_slides_cnn()
    table = net.summary()
    # conv1 5*5*1*6 + 6, conv2 5*5*6*12 + 12, dense 192*10 + 10
    assert net.count_params() == 156 + 1812 + 1930 == 3898
    assert list(table["params"]) == [156, 0, 0, 1812, 0, 0, 0, 1930]
    assert list(table["output shape"]) == [
        "(24, 24, 6)",
        "(24, 24, 6)",
        "(12, 12, 6)",
        "(8, 8, 12)",
        "(8, 8, 12)",
        "(4, 4, 12)",
        "(192,)",
        "(10,)",
    ]


def test_kernel_counts_and_dropout_change_the_network():
    net = scratch.build_slides_cnn((16, 32), dropout=0.5)
    assert [type(layer).__name__ for layer in net.layers][-2:] == ["Dropout", "Dense"]
    assert net.count_params() == (25 * 16 + 16) + (25 * 16 * 32 + 32) + (512 * 10 + 10)
    with pytest.raises(ValueError, match="two numbers of kernels"):
        scratch.build_slides_cnn((6, 12, 24))


def test_same_seed_same_weights_and_duplicate_names_are_made_unique():
    a, b = scratch.build_slides_cnn(seed=7), scratch.build_slides_cnn(seed=7)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    net = scratch.Sequential([scratch.ReLU(), scratch.ReLU(), scratch.Flatten()])
    assert [layer.name for layer in net.layers] == ["relu_1", "relu_2", "flatten"]


def test_weights_round_trip():
    net, other = scratch.build_slides_cnn(seed=1), scratch.build_slides_cnn(seed=2)
    other.set_weights(net.get_weights())
    for wa, wb in zip(net.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(ValueError, match="expected 6 arrays"):
        other.set_weights(net.get_weights()[:2])


def test_overfits_a_tiny_batch(tiny_mnist):
    x, y = tiny_mnist["x_train"][:50], tiny_mnist["y_train"][:50]
    net = scratch.build_slides_cnn(seed=0)
    history = net.fit(
        x, y, epochs=40, batch_size=10, optimizer=scratch.SGD(0.03, momentum=0.9), verbose=0
    )
    assert net.evaluate(x, y)["accuracy"] == 1.0
    assert history["loss"][-1] < 0.05 < history["loss"][0]


def test_fit_history_schedule_and_steps(tiny_mnist):
    x, y = tiny_mnist["x_train"], tiny_mnist["y_train"]
    net = scratch.build_slides_cnn(seed=0)
    decay = scratch.LearningRateDecay(0.03, 0.001, total_steps=2 * 10)
    history = net.fit(
        x,
        y,
        epochs=2,
        batch_size=60,
        optimizer=scratch.SGD(0.03, 0.9),
        schedule=decay,
        validation_data=(tiny_mnist["x_val"], tiny_mnist["y_val"]),
        verbose=0,
    )
    assert set(history) == {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
        "seconds",
        "images_per_second",
    }
    assert all(len(v) == 2 for v in history.values())
    assert all(s > 0 for s in history["seconds"])
    assert net.steps["learning_rate"] == [decay(s) for s in range(20)]
    assert history["learning_rate"] == [decay(9), decay(19)]
    assert len(net.steps["loss"]) == 20 and 0 <= history["val_accuracy"][-1] <= 1
    # a second fit continues the schedule where the first stopped (here: at its end rate)
    net.fit(x[:60], y[:60], epochs=1, batch_size=60, schedule=decay, verbose=0)
    assert net.steps["learning_rate"][-1] == decay(20) == pytest.approx(0.001)


def test_training_is_reproducible_with_a_seed(tiny_mnist):
    x, y = tiny_mnist["x_train"][:200], tiny_mnist["y_train"][:200]
    weights = []
    for _ in range(2):
        net = scratch.build_slides_cnn(seed=3)
        net.fit(x, y, batch_size=32, optimizer=scratch.SGD(0.03, 0.9), seed=5, verbose=0)
        weights.append(net.get_weights())
    for wa, wb in zip(*weights):
        np.testing.assert_array_equal(wa, wb)


def test_predict_and_evaluate_agree(tiny_mnist):
    net = scratch.build_slides_cnn(seed=0)
    net.fit(tiny_mnist["x_train"], tiny_mnist["y_train"], batch_size=32, verbose=0)
    x, y = tiny_mnist["x_test"], tiny_mnist["y_test"]
    probs = net.predict(x, batch_size=64)
    assert probs.shape == (200, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    result = net.evaluate(x, y, batch_size=64)
    assert result["accuracy"] == evaluation.accuracy(y, probs)
    assert result["loss"] == pytest.approx(-np.mean(np.log(probs[np.arange(200), y])), rel=1e-4)


def test_fit_prints_one_line_per_epoch(tiny_mnist, capsys):
    net = scratch.build_slides_cnn(seed=0)
    net.fit(tiny_mnist["x_train"][:64], tiny_mnist["y_train"][:64], epochs=2, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[1].startswith("epoch  2/2  loss") and "images/s" in lines[1]


def test_fit_rejects_bad_input(tiny_mnist):
    net = scratch.build_slides_cnn()
    x, y = tiny_mnist["x_train"][:10], tiny_mnist["y_train"][:10]
    with pytest.raises(ValueError, match="differ in length"):
        net.fit(x, y[:5], verbose=0)
    with pytest.raises(ValueError, match=r"expected a batch of shape \(N, 28, 28, 1\)"):
        net.fit(x[..., 0], y, verbose=0)
    with pytest.raises(ValueError, match=r"add the batch axis"):
        net.predict(x[0])
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        net.fit(x, y, epochs=0, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        net.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="labels in 0..9"):
        net.fit(x, y + 10, verbose=0)


def test_a_diverging_run_stops_with_a_clear_error(tiny_mnist):
    net = scratch.build_slides_cnn(seed=0)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="lower the learning"):
        net.fit(
            tiny_mnist["x_train"],
            tiny_mnist["y_train"],
            epochs=3,
            optimizer=scratch.SGD(1e30),
            verbose=0,
        )


def test_profile_covers_every_layer_and_pass(tiny_mnist):
    net = scratch.build_slides_cnn(seed=0)
    net.fit(tiny_mnist["x_train"][:128], tiny_mnist["y_train"][:128], batch_size=64, verbose=0)
    table = net.profile()
    assert len(table) == 2 * len(net.layers)
    assert table["share"].sum() == pytest.approx(1.0)
    assert (table["seconds"] >= 0).all()
    conv1 = table[(table["layer"] == "conv1") & (table["pass"] == "forward")].iloc[0]
    assert "im2col" in conv1["parts"] and "matmul" in conv1["parts"]
    conv2 = table[(table["layer"] == "conv2") & (table["pass"] == "backward")].iloc[0]
    assert "col2im" in conv2["parts"]
    # the first layer never computes an input gradient: no col2im there
    conv1b = table[(table["layer"] == "conv1") & (table["pass"] == "backward")].iloc[0]
    assert "col2im" not in conv1b["parts"]
    # evaluation is not training time; per-epoch figures divide by the epochs timed
    net.evaluate(tiny_mnist["x_test"], tiny_mnist["y_test"])
    np.testing.assert_allclose(net.profile()["seconds"], table["seconds"])
    np.testing.assert_allclose(net.profile(epochs=2)["seconds"], table["seconds"] / 2)
    breakdown = net.time_breakdown(total_seconds=10.0, by_type=True)
    assert breakdown["seconds"].sum() == pytest.approx(10.0)  # the rest is "outside the layers"
    assert {"im2col", "col2im", "max", "route to max"} <= set(breakdown["part"])
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        net.profile(epochs=0)
    net.reset_timings()
    assert net.profile()["seconds"].sum() == 0


# ----------------------------------------------------------------------------- optimizer and decay


def test_sgd_with_momentum_by_hand():
    p, g = np.array([1.0]), np.array([1.0])
    opt = scratch.SGD(0.1, momentum=0.9)
    opt.step([("w", p, g)])
    assert p[0] == pytest.approx(0.9)  # v = -0.1
    opt.step([("w", p, g)])
    assert p[0] == pytest.approx(0.71)  # v = 0.9 * -0.1 - 0.1 = -0.19
    plain = np.array([1.0])
    scratch.SGD(0.1).step([("w", plain, g)], learning_rate=0.5)
    assert plain[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="momentum must be in"):
        scratch.SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        scratch.SGD(0.0)


@pytest.mark.parametrize(
    "shape, middle",
    [("cosine", (0.03 + 0.001) / 2), ("exponential", math.sqrt(0.03 * 0.001)), ("linear", 0.0155)],
)
def test_learning_rate_decay_by_hand(shape, middle):
    decay = scratch.LearningRateDecay(0.03, 0.001, total_steps=100, shape=shape)
    assert decay(0) == pytest.approx(0.03)
    assert decay(50) == pytest.approx(middle)
    assert decay(100) == decay(500) == pytest.approx(0.001)
    rates = [decay(s) for s in range(101)]
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_cosine_decay_is_the_kits_warmup_cosine():
    from helpers.schedules import warmup_cosine

    decay = scratch.LearningRateDecay(0.03, 0.001, total_steps=40)
    assert decay(10) == warmup_cosine(0.25, 0.03, final_fraction=0.001 / 0.03)


def test_learning_rate_decay_rejects_bad_arguments():
    with pytest.raises(ValueError, match="0 < end <= start"):
        scratch.LearningRateDecay(0.001, 0.03, 10)
    with pytest.raises(ValueError, match="total_steps must be >= 1"):
        scratch.LearningRateDecay(0.03, 0.001, 0)
    with pytest.raises(ValueError, match="shape must be one of"):
        scratch.LearningRateDecay(0.03, 0.001, 10, shape="step")


def test_blas_threads_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas():
        return [
            p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"
        ]

    before = blas()
    with scratch.blas_threads(1):
        assert all(n == 1 for n in blas())
    assert blas() == before


# ----------------------------------------------------------------------------- no TensorFlow inside


def test_helpers_scratch_never_imports_tensorflow_or_keras():
    code = (
        "import json, pkgutil, importlib, sys\n"
        "import helpers.scratch as s\n"
        "for m in pkgutil.iter_modules(s.__path__): importlib.import_module('helpers.scratch.' + m.name)\n"
        "s.check_layer(s.Conv2D(1, 1, 3), s.distinct_values((1, 4, 4, 1)))\n"
        "net = s.build_slides_cnn(); import numpy as np\n"
        "net.fit(np.zeros((4, 28, 28, 1), np.float32), np.arange(4), verbose=0)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=config.REPO_ROOT,
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "numpy" in loaded
    assert not loaded & {"tensorflow", "keras", "tf_keras", "torch", "jax"}, loaded


# ----------------------------------------------------------------------------- the notebook's recipe


def test_slides_decay_spans_every_step_of_the_run():
    decay = scratch.slides_decay(55_000)  # 5 epochs of ceil(55000 / 32) = 1719 batches
    assert decay.total_steps == 5 * 1719 and decay.shape == "cosine"
    assert decay(0) == pytest.approx(0.03) and decay(decay.total_steps) == pytest.approx(0.001)
    with pytest.raises(ValueError, match="train_size must be >= 1"):
        scratch.slides_decay(0)


def test_train_slides_cnn_and_the_comparison_table(tiny_mnist):
    x, y = tiny_mnist["x_train"][:128], tiny_mnist["y_train"][:128]
    net, history = scratch.train_slides_cnn(x, y, epochs=2, batch_size=32, verbose=0)
    assert len(history["loss"]) == 2 and net.count_params() == 3898
    assert net.steps["learning_rate"][0] == pytest.approx(0.03)
    splits = {**tiny_mnist, "x_train": x, "y_train": y}
    table = scratch.compare_configurations(
        {"6/12": {}, "3/4 + dropout": {"filters": (3, 4), "dropout": 0.5}},
        splits,
        epochs=1,
        trained={"6/12": (net, history)},
        verbose=0,
    )
    assert list(table.index) == ["6/12", "3/4 + dropout"]
    assert list(table.columns) == [
        "parameters",
        "numpy_val_accuracy",
        "numpy_test_accuracy",
        "numpy_s_per_epoch",
    ]
    assert table.loc["6/12", "numpy_s_per_epoch"] == np.median(history["seconds"])  # reused
    assert table.loc["3/4 + dropout", "parameters"] == (25 * 3 + 3) + (25 * 3 * 4 + 4) + (
        4 * 4 * 4 * 10 + 10
    )
    with pytest.raises(ValueError, match="unknown options"):
        scratch.compare_configurations({"x": {"kernels": 3}}, splits, epochs=1, verbose=0)
