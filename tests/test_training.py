"""Training recipes and loop on tiny data: quick-mode epochs, history, learning rates per epoch by hand."""

import math

import keras
import numpy as np
import pytest

from helpers import callbacks, evaluation, models, training


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


def test_optimizers():
    assert isinstance(training.make_optimizer("adam", 1e-3), keras.optimizers.Adam)
    assert isinstance(
        training.make_optimizer("adam", 1e-3, weight_decay=1e-4), keras.optimizers.AdamW
    )
    assert isinstance(training.make_optimizer("sgd", 1e-2), keras.optimizers.SGD)
    assert isinstance(training.make_optimizer("rmsprop", 1e-3), keras.optimizers.RMSprop)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.make_optimizer("adagrad", 1e-3)


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
    # 80 images in batches of 16: 5 steps per epoch
    assert result.learning_rates == training.learning_rates_per_epoch("onecycle", 3e-3, 2, 5)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and lines[1].startswith("epoch   2/2")


def test_overfits_a_tiny_set(tiny_splits):
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
    scores = model.predict(tiny_splits["x_train"], verbose=0)
    assert evaluation.accuracy(tiny_splits["y_train"], scores) >= 0.95


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


def test_focal_loss_by_hand_and_loss_choice():
    loss, one_hot = training.make_loss()
    assert isinstance(loss, keras.losses.SparseCategoricalCrossentropy) and not one_hot
    loss, one_hot = training.make_loss(label_smoothing=0.1)
    assert isinstance(loss, keras.losses.CategoricalCrossentropy) and one_hot
    loss, one_hot = training.make_loss(focal_gamma=2.0)
    assert isinstance(loss, keras.losses.CategoricalFocalCrossentropy) and one_hot
    # focal loss of one example = -(1 - p_true) ** gamma * log(p_true)
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.5, 0.3]], dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 2]]
    by_hand = np.mean([-(0.1**2) * np.log(0.9), -(0.7**2) * np.log(0.3)])
    np.testing.assert_allclose(float(loss(y, probs)), by_hand, rtol=1e-5)
    with pytest.raises(ValueError, match="focal_gamma"):
        training.make_loss(focal_gamma=-1)


def test_ema_ends_training_with_the_averaged_weights(tiny_splits):
    class Capture(keras.callbacks.Callback):
        # the raw weights and the optimizer's averages after the last epoch, before fit ends
        def on_epoch_end(self, epoch, logs=None):
            self.raw = [np.array(w) for w in self.model.trainable_weights]
            self.average = [
                np.array(v) for v in self.model.optimizer._model_variables_moving_average
            ]

    keras.utils.set_random_seed(0)
    model = models.build_small_cnn()
    capture = Capture()
    training.train_classifier(
        model,
        tiny_splits,
        epochs=3,
        batch_size=8,
        learning_rate=1e-2,
        ema_momentum=0.99,
        callbacks=[capture],
        verbose=0,
    )
    assert model.optimizer.use_ema
    # 3 epochs x 10 steps: the momentum is capped at 1 - 10 / 30
    np.testing.assert_allclose(float(model.optimizer.ema_momentum), 1 - 10 / 30, rtol=1e-6)
    final = [np.array(w) for w in model.trainable_weights]
    for got, average in zip(final, capture.average):
        np.testing.assert_array_equal(got, average)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(final, capture.raw)) > 1e-4
    keras.utils.set_random_seed(0)
    plain = models.build_small_cnn()
    training.train_classifier(plain, tiny_splits, epochs=1, batch_size=16, verbose=0)
    assert not plain.optimizer.use_ema


def test_ema_momentum_is_capped_by_the_budget():
    assert training.ema_momentum_for(0.999, 20_000) == 0.999
    assert training.ema_momentum_for(0.999, 1_000) == pytest.approx(0.99)
    assert training.ema_momentum_for(0.999, 12) == 0.5
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match="ema_momentum"):
            training.ema_momentum_for(bad, 100)
        with pytest.raises(ValueError, match="ema_momentum"):
            training.make_optimizer("adam", 1e-3, ema_momentum=bad)


def test_augmenter_by_name(tiny_splits):
    from helpers import augment

    model = models.build_small_cnn()
    result = training.train_classifier(
        model,
        tiny_splits,
        epochs=1,
        batch_size=40,
        augment="affine+elastic",
        focal_gamma=2.0,
        verbose=0,
    )
    assert np.isfinite(result.final("val_loss"))
    assert augment.make_augmenter("none") is None
    with pytest.raises(ValueError, match="augment must be one of"):
        augment.make_augmenter("mixup")


def test_bad_arguments(tiny_splits):
    model = models.build_mlp_baseline()
    with pytest.raises(KeyError, match="load_mnist_splits"):
        training.train_classifier(model, {"x_train": tiny_splits["x_train"]}, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        training.train_classifier(model, tiny_splits, epochs=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        training.train_classifier(model, tiny_splits, epochs=1, label_smoothing=1.5, verbose=0)


def test_learning_rates_per_epoch_by_hand():
    # 5 epochs of 20 steps = 100 steps. The last step of epoch e is step 20e - 1.
    assert training.learning_rates_per_epoch("constant", 0.01, 3, 20) == [0.01] * 3
    cosine = training.learning_rates_per_epoch("cosine", 0.01, 5, 20)
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * s / 100)) for s in (19, 39, 59, 79, 99)]
    np.testing.assert_allclose(cosine, expected, rtol=1e-5, atol=1e-9)
    # one-cycle: 20 warm-up steps from 0.001 to 0.01, then a cosine over the 80 others
    one_cycle = training.learning_rates_per_epoch("onecycle", 0.01, 5, 20)
    warm = 0.001 + (0.01 - 0.001) * 19 / 20
    decay = [0.01 * 0.5 * (1 + math.cos(math.pi * (s - 20) / 80)) for s in (39, 59, 79, 99)]
    np.testing.assert_allclose(one_cycle, [warm, *decay], rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        training.learning_rates_per_epoch("cosine", 0.01, 5, 0)


def test_learning_rates_are_the_ones_the_optimizer_used(tiny_splits):
    class LastStepRate(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rates, self._current = [], None

        def on_train_batch_begin(self, batch, logs=None):
            self._current = float(self.model.optimizer.learning_rate)

        def on_epoch_end(self, epoch, logs=None):
            self.rates.append(self._current)

    seen = LastStepRate()
    result = training.train_classifier(
        models.build_mlp_baseline(),
        tiny_splits,
        epochs=3,
        batch_size=16,
        learning_rate=1e-2,
        schedule="onecycle",
        callbacks=[seen],
        verbose=0,
    )
    np.testing.assert_allclose(result.learning_rates, seen.rates, rtol=1e-5, atol=1e-9)


def test_epoch_table_by_hand():
    result = training.TrainingResult(
        model=None,
        history={"val_accuracy": [0.5, 0.7, 0.65]},
        seconds=3.0,
        epoch_seconds=[1.0, 1.0, 1.0],
        learning_rates=[0.001, 0.002, 0.001],
    )
    table = result.epoch_table()
    assert list(table.index) == [1, 2, 3] and table.index.name == "epoch"
    np.testing.assert_allclose(table["learning rate / peak"], [0.5, 1.0, 0.5])
    np.testing.assert_allclose(table["change"], [np.nan, 0.2, -0.05])
    with pytest.raises(KeyError, match="val_loss"):
        result.epoch_table("val_loss")


def test_quick_train_uses_the_recipe_at_quick_length(tiny_splits):
    model = training.quick_train("mlp_baseline", tiny_splits)
    assert model.name == "mlp_baseline"
    # 80 images, batch 128: one step per epoch, for the recipe's 2 quick epochs
    assert int(model.optimizer.iterations) == training.RECIPES["mlp_baseline"].quick_epochs == 2
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    with pytest.raises(KeyError, match="no recipe"):
        training.quick_train("vgg16", tiny_splits)


def test_validation_during_fit_sees_the_averaged_weights(tiny_splits):
    from helpers.callbacks import ValidateWithEMA

    x_val, y_val = tiny_splits["x_val"], tiny_splits["y_val"]

    def fit(callbacks, use_ema=True):
        keras.utils.set_random_seed(0)
        model = models.build_small_cnn()
        optimizer = training.make_optimizer("adam", 1e-2, ema_momentum=0.6 if use_ema else None)
        model.compile(optimizer, "sparse_categorical_crossentropy")
        history = model.fit(
            tiny_splits["x_train"],
            tiny_splits["y_train"],
            validation_data=(x_val, y_val),
            epochs=2,
            batch_size=8,
            callbacks=callbacks,
            verbose=0,
        )
        # after fit the model holds the averaged weights (Keras copies them in when fit ends)
        return history.history["val_loss"][-1], model.evaluate(x_val, y_val, verbose=0)

    logged, final = fit([ValidateWithEMA()])
    np.testing.assert_allclose(logged, final, rtol=1e-5)  # the history is the final model's
    logged, final = fit([])
    assert abs(logged - final) > 1e-4  # Keras alone logs the raw weights' loss
    logged, final = fit([ValidateWithEMA()], use_ema=False)  # no EMA: nothing to swap, no error
    np.testing.assert_allclose(logged, final, rtol=1e-5)
    result = training.train_classifier(
        models.build_small_cnn(), tiny_splits, epochs=2, batch_size=8, ema_momentum=0.6, verbose=0
    )
    after = result.model.evaluate(x_val, y_val, verbose=0)[0]  # train_classifier validates with EMA
    np.testing.assert_allclose(result.history["val_loss"][-1], after, rtol=1e-5)
