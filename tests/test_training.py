"""Training recipes and loop on tiny data: schedules by hand, quick-mode epochs, history, save/load."""

import keras
import numpy as np
import pytest

from helpers import callbacks, config, models, training


@pytest.fixture
def tiny_splits():
    rng = np.random.default_rng(0)
    y = np.tile(np.arange(10), 12)
    x = rng.random((len(y), 28, 28, 1), dtype=np.float32) * 0.2
    x[np.arange(len(y)), 2 + 2 * y, 3, 0] = (
        1.0  # each class lights its own pixel: learnable in a few steps
    )
    return {
        "x_train": x[:80],
        "y_train": y[:80],
        "x_val": x[80:100],
        "y_val": y[80:100],
        "x_test": x[100:],
        "y_test": y[100:],
    }


def test_recipes_exist_for_every_classifier_and_quick_mode_shortens_them(monkeypatch):
    assert set(training.RECIPES) == set(models.CLASSIFIERS)
    monkeypatch.setenv("KIT_MODE", "full")
    full = training.recipe("resnet")
    monkeypatch.setenv("KIT_MODE", "quick")
    quick = training.recipe("resnet")
    assert full["epochs"] == training.RECIPES["resnet"].epochs
    assert quick["epochs"] == training.RECIPES["resnet"].quick_epochs < full["epochs"]
    assert full["batch_size"] == training.RECIPES["resnet"].batch_size
    assert quick["batch_size"] == training.RECIPES["resnet"].quick_batch_size
    same = ("learning_rate", "schedule", "optimizer", "augment", "label_smoothing", "weight_decay")
    assert {k: full[k] for k in same} == {k: quick[k] for k in same}
    monkeypatch.setenv("KIT_MODE", "quick")
    assert (
        training.recipe("lenet5")["batch_size"] == training.RECIPES["lenet5"].batch_size
    )  # no quick override
    with pytest.raises(KeyError, match="no recipe"):
        training.recipe("vgg16")


def test_schedules_by_hand():
    assert training.learning_rate_schedule("constant", 0.01, 100) == 0.01
    cosine = training.learning_rate_schedule("cosine", 0.01, 100)
    assert float(cosine(0)) == pytest.approx(0.01)
    assert float(cosine(50)) == pytest.approx(
        0.005, rel=1e-5
    )  # half-way down a cosine: (1 + cos(pi/2)) / 2
    assert float(cosine(100)) == pytest.approx(0.0, abs=1e-9)
    one_cycle = training.learning_rate_schedule("onecycle", 0.01, 100, warmup_fraction=0.2)
    assert float(one_cycle(0)) == pytest.approx(0.001)
    assert float(one_cycle(10)) == pytest.approx(0.0055, rel=1e-5)  # linear warm-up, half-way
    assert float(one_cycle(20)) == pytest.approx(0.01, rel=1e-5)
    assert float(one_cycle(60)) == pytest.approx(0.005, rel=1e-5)
    assert float(one_cycle(100)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="schedule must be one of"):
        training.learning_rate_schedule("triangular", 0.01, 100)


def test_optimizers():
    assert isinstance(training.make_optimizer("adam", 1e-3), keras.optimizers.Adam)
    assert isinstance(
        training.make_optimizer("adam", 1e-3, weight_decay=1e-4), keras.optimizers.AdamW
    )
    assert isinstance(training.make_optimizer("sgd", 1e-2), keras.optimizers.SGD)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.make_optimizer("rmsprop", 1e-3)


def test_train_classifier_history_timing_and_epoch_lines(tiny_splits, capsys):
    keras.utils.set_random_seed(0)
    model = models.build_small_cnn()
    per_class = callbacks.PerClassAccuracy((tiny_splits["x_val"], tiny_splits["y_val"]))
    result = training.train_classifier(
        model,
        tiny_splits,
        epochs=2,
        batch_size=16,
        learning_rate=3e-3,
        schedule="onecycle",
        callbacks=[per_class],
    )
    assert result.model is model and result.epochs == 2 and len(result.epoch_seconds) == 2
    assert result.seconds >= sum(result.epoch_seconds) > 0
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "val_accuracy_class_9"):
        assert len(result.history[key]) == 2
    assert 0.0 <= result.final("val_accuracy") <= 1.0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and lines[1].startswith("epoch   2/2")


def test_overfits_a_tiny_set_and_test_accuracy_agrees(tiny_splits):
    keras.utils.set_random_seed(0)
    model = models.build_mlp_baseline()
    result = training.train_classifier(
        model,
        tiny_splits,
        epochs=40,
        batch_size=16,
        learning_rate=3e-3,
        schedule="constant",
        verbose=0,
    )
    assert (
        result.final("accuracy") >= 0.95
    )  # an 80-image training set must be learned almost perfectly
    predicted = np.argmax(model.predict(tiny_splits["x_test"], verbose=0), axis=1)
    assert training.test_accuracy(model, tiny_splits) == pytest.approx(
        np.mean(predicted == tiny_splits["y_test"])
    )


def test_augmentation_label_smoothing_and_weight_decay_paths_run(tiny_splits):
    model = models.build_mlp_tuned()
    result = training.train_classifier(
        model,
        tiny_splits,
        epochs=1,
        batch_size=40,
        augment=True,
        label_smoothing=0.1,
        weight_decay=1e-4,
        verbose=0,
    )
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy)
    assert np.isfinite(result.final("val_loss"))


def test_test_accuracy_by_hand():
    inputs = keras.Input(shape=(3,))
    passthrough = keras.Model(inputs, keras.layers.Identity()(inputs))
    scores = np.array(
        [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]], dtype=np.float32
    )
    assert (
        training.test_accuracy(passthrough, {"x_test": scores, "y_test": np.array([0, 1, 2, 2])})
        == 0.75
    )


def test_bad_arguments(tiny_splits):
    model = models.build_mlp_baseline()
    with pytest.raises(KeyError, match="load_mnist_splits"):
        training.train_classifier(model, {"x_train": tiny_splits["x_train"]}, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        training.train_classifier(model, tiny_splits, epochs=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        training.train_classifier(model, tiny_splits, epochs=1, label_smoothing=1.5, verbose=0)


def test_save_and_load_trained(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "artifacts_dir", lambda *parts: tmp_path.joinpath(*parts))
    (tmp_path / "models").mkdir()
    assert training.load_trained("small_cnn") is None
    model = models.build_small_cnn()
    path = training.save_trained(model, "small_cnn")
    assert path == tmp_path / "models" / "small_cnn.keras" and path.is_file()
    loaded = training.load_trained("small_cnn")
    x = np.random.default_rng(1).random((2, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="bare model name"):
        training.save_trained(model, "../small_cnn.keras")
