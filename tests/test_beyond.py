"""helpers.beyond: the ablation's settings and models, the recipe choice, ensembles, export."""

import keras
import numpy as np
import pandas as pd
import pytest

from helpers import beyond, models


def test_every_row_changes_one_setting_of_the_base_recipe():
    base = beyond.technique_settings(beyond.BASELINE)
    assert base == beyond.BASE
    assert (base["augment"], base["schedule"], base["bn_momentum"]) == ("affine", "onecycle", 0.9)
    for name, change in beyond.TECHNIQUES.items():
        if name == beyond.BASELINE:
            continue
        settings = beyond.technique_settings(name)
        changed = {k for k in settings if settings[k] != beyond.BASE[k]}
        assert changed == set(change), name
        assert beyond.describe(settings) != beyond.BASELINE
    assert beyond.describe(beyond.BASE) == beyond.BASELINE
    assert beyond.describe(beyond.BASE, full=True).startswith("augment=affine, label_smoothing=0.0")
    with pytest.raises(KeyError, match="unknown technique 'mixup'"):
        beyond.technique_settings("mixup")


def _bn_momenta(model):
    momenta = set()
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            momenta |= _bn_momenta(layer)
        elif isinstance(layer, keras.layers.BatchNormalization):
            momenta.add(layer.momentum)
    return momenta


def test_ablation_models_get_their_technique():
    build = beyond.ablation_build_fn(total_steps=100)
    keras.utils.set_random_seed(0)
    base = build({"technique": beyond.BASELINE})
    plain = build({"technique": "no augmentation"})
    assert plain.count_params() == models.build_strong_cnn().count_params()
    assert base.count_params() == plain.count_params()  # augmentation has no weights
    assert isinstance(base.loss, keras.losses.CategoricalCrossentropy)  # one-hot labels always
    assert not base.optimizer.use_ema
    schedule = keras.optimizers.schedules.LearningRateSchedule
    assert isinstance(base.optimizer.learning_rate, schedule) or isinstance(
        base.optimizer._learning_rate, schedule
    )
    constant = build({"technique": "constant learning rate"}).optimizer
    assert not isinstance(constant._learning_rate, schedule)
    np.testing.assert_allclose(float(constant.learning_rate), 2e-3, rtol=1e-6)
    assert _bn_momenta(build({"technique": "BN momentum 0.99 (Keras default)"})) == {0.99}
    assert _bn_momenta(base) == {0.9}
    focal = build({"technique": "focal loss (gamma 2)"})
    assert isinstance(focal.loss, keras.losses.CategoricalFocalCrossentropy)
    assert build({"technique": "weight EMA (0.999)"}).optimizer.use_ema
    cbam = build({"technique": "CBAM attention"})
    assert cbam.count_params() > base.count_params()
    augmented = build({"technique": "affine + elastic"})
    assert augmented.count_params() == plain.count_params()
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    # identity at inference: the same probabilities as the inner model
    inner = augmented.layers[-1]
    np.testing.assert_allclose(
        augmented.predict(x, verbose=0), inner.predict(x, verbose=0), atol=1e-6
    )
    with pytest.raises(ValueError, match="total_steps"):
        beyond.ablation_build_fn(total_steps=0)


def _summary(rows):
    return pd.DataFrame(rows, columns=["technique", "mean", "std", "n"])


def test_gains_and_recipe_choice_by_hand():
    summary = _summary(
        [
            (beyond.BASELINE, 0.990, 0.001, 2),
            ("no augmentation", 0.993, 0.0005, 2),
            ("affine + elastic", 0.9935, 0.0005, 2),
            ("label smoothing 0.1", 0.9915, 0.001, 2),
            ("focal loss (gamma 2)", 0.988, 0.001, 2),
            ("weight EMA (0.999)", 0.9925, 0.0002, 2),
            ("constant learning rate", 0.990, 0.001, 2),
        ]
    )
    gains = beyond.gains_table(summary)
    np.testing.assert_allclose(gains.loc["affine + elastic", "gain"], 0.0035)
    assert bool(gains.loc["affine + elastic", "clear"])  # 0.0035 > 0.0005 + 0.001
    assert not bool(gains.loc["label smoothing 0.1", "clear"])  # 0.0015 < 0.002
    settings, reasons = beyond.choose_recipe(gains)
    assert settings["augment"] == "affine+elastic"  # the better of two clear options
    assert settings["ema"] is True  # 0.0025 > 0.0012: clear
    assert settings["label_smoothing"] == 0.0  # a gain within the seeds' spread is not adopted
    assert settings["focal_gamma"] == 0.0 and settings["schedule"] == "onecycle"
    assert "adopted affine + elastic: +0.35 points, clearly above the base recipe" in reasons
    assert "not adopted no augmentation: +0.30 points (the other option won)" in reasons
    assert "not adopted label smoothing 0.1: +0.15 points, within the seeds' spread" in reasons
    assert "not adopted focal loss (gamma 2): -0.20 points" in reasons
    with pytest.raises(KeyError, match="no 'base recipe' row"):
        beyond.gains_table(summary.iloc[1:])
    with pytest.raises(KeyError, match="unknown technique 'mixup'"):
        beyond.choose_recipe(
            beyond.gains_table(pd.concat([summary, _summary([("mixup", 1, 0, 2)])]))
        )


def test_ensemble_members_table_and_label_noise_by_hand():
    y = np.array([0, 1, 2, 1])
    a = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0, 0.05, 0.95], [0.95, 0.05, 0]])
    b = np.array([[0.6, 0.4, 0], [0.7, 0.3, 0], [0, 0.1, 0.9], [0.9, 0.1, 0]])
    np.testing.assert_allclose(beyond.ensemble_probabilities([a, b])[1], [0.45, 0.55, 0])
    table = beyond.members_table(["a", "b"], [a, b], [a, b], y, y, extra={"seed": [0, 1]})
    assert list(table["model"]) == ["a", "b", "ensemble of 2"]
    np.testing.assert_allclose(table["val_accuracy"], [0.75, 0.5, 0.75])
    assert list(table["best_on_val"]) == [True, False, False]
    assert list(table["test_errors"]) == [1, 2, 1]
    # image 3: both members say 0 with mean confidence 0.925 -> a label-noise candidate;
    # image 1 is wrong only for b.
    assert beyond.label_noise_candidates(y, [a, b], 0.9).tolist() == [3]
    assert beyond.label_noise_candidates(y, [a, b], 0.95).tolist() == []
    with pytest.raises(ValueError, match="same"):
        beyond.ensemble_probabilities([a, b[:2]])
    with pytest.raises(ValueError, match="empty"):
        beyond.ensemble_probabilities([])


def test_train_member_puts_augmentation_in_the_pipeline():
    rng = np.random.default_rng(0)
    y = np.tile(np.arange(10), 4)
    x = rng.random((40, 28, 28, 1), dtype=np.float32)
    splits = {"x_train": x[:30], "y_train": y[:30], "x_val": x[30:], "y_val": y[30:]}
    settings = {"augment": "affine+elastic", "label_smoothing": 0.1, "ema": True}
    result = beyond.train_member(settings, splits, epochs=1, seed=0, batch_size=10, width=4)
    layer_types = {type(layer).__name__ for layer in result.model.layers}
    assert "ElasticDistortion" not in layer_types  # augmentation ran in tf.data, not in the model
    assert result.model.optimizer.use_ema
    with pytest.raises(KeyError, match="unknown settings"):
        beyond.train_member({"mixup": True}, splits, epochs=1, seed=0)


def test_export_keras_and_savedmodel_round_trip(monkeypatch, tmp_path):
    from helpers.kit import config

    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    model = models.build_strong_cnn(width=4)
    x = np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32)
    paths = beyond.export_model(model, "strong_cnn_test", check_images=x)
    assert paths["keras"].is_file() and (paths["savedmodel"] / "saved_model.pb").is_file()


def test_shift_batch_and_tta_by_hand():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    right = beyond.shift_batch(x, 1, 0)
    np.testing.assert_array_equal(right[:, :, 1:], x[:, :, :-1])
    assert not right[:, :, 0].any()  # zero-filled, not wrapped around
    up = beyond.shift_batch(x[..., None], 0, -2)  # channels-last works too
    np.testing.assert_array_equal(up[:, 0, :, 0], x[:, 2])
    assert not up[:, 1:].any()
    assert not beyond.shift_batch(x, 0, 3).any()
    np.testing.assert_array_equal(beyond.shift_batch(x, 0, 0), x)
    with pytest.raises(ValueError, match="batch of images"):
        beyond.shift_batch(x[0, 0], 1, 0)

    class Brightness:  # a "model" whose output is each image's mean brightness and its complement
        def predict(self, v, batch_size=None, verbose=0):
            m = v.reshape(len(v), -1).mean(1)
            return np.stack([m, 1 - m], 1)

    ones = np.ones((1, 4, 4), dtype=np.float32)
    # 5 views: the image (mean 1) and four one-pixel shifts (each loses one row or column: 0.75)
    np.testing.assert_allclose(
        beyond.tta_probabilities(Brightness(), ones)[0, 0], (1 + 4 * 0.75) / 5
    )
    np.testing.assert_allclose(beyond.tta_probabilities(Brightness(), ones, [(0, 0)])[0, 0], 1.0)
    with pytest.raises(ValueError, match="shifts is empty"):
        beyond.tta_probabilities(Brightness(), ones, [])
