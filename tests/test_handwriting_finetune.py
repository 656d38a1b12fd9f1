"""helpers.handwriting fine-tuning on tiny learnable data: which layers train, best-epoch weights,
mixing with MNIST, stratified orders and folds, cross-validation and learning-curve tables."""

import keras
import numpy as np
import pytest

from helpers import evaluation, models
from helpers import handwriting as hw


def learnable(n_per_class: int, seed: int):
    """Return (uint8 images (n, 28, 28), labels): each class lights its own 2x2 patch over faint noise."""
    rng = np.random.default_rng(seed)
    y = np.tile(np.arange(10), n_per_class)
    x = (rng.random((len(y), 28, 28)) * 40).astype(np.uint8)
    for k in range(10):
        x[y == k, 4 + 2 * k : 6 + 2 * k, 10:12] = 255
    return x, y


@pytest.fixture(scope="module")
def base():
    keras.utils.set_random_seed(0)
    return models.build_resnet(filters=8, blocks=1, downsample=(False,), dense_units=16)


@pytest.fixture(scope="module")
def mnist_like():
    x, y = learnable(12, seed=1)
    return hw.as_model_input(x), y


def test_head_is_the_dense_layers_after_global_pooling(base):
    assert hw.head_layer_names(base) == ["dense_1", "probabilities"]
    flat_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no global pooling or Flatten"):
        hw.head_layer_names(flat_model)


def test_copies_keep_the_weights_and_head_only_freezes_the_body(base):
    head = hw.copy_for_fine_tuning(base, "head")
    assert head is not base
    for a, b in zip(head.get_weights(), base.get_weights()):
        np.testing.assert_array_equal(a, b)
    trainable = {layer.name for layer in head.layers if layer.trainable}
    assert trainable == {"dense_1", "probabilities"}
    whole = hw.copy_for_fine_tuning(base, "whole")
    assert all(layer.trainable for layer in whole.layers)
    with pytest.raises(ValueError, match="method must be one of"):
        hw.copy_for_fine_tuning(base, "tail")


def test_head_fine_tuning_changes_only_the_head_and_keeps_the_best_epoch(base):
    x, y = learnable(10, seed=2)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in base.layers}
    recipe = hw.FineTuneRecipe(epochs=3, batch_size=16, learning_rate=3e-3, augment=False)
    run = hw.fine_tune(base, x, y, "head", recipe=recipe, seed=0)
    assert run.method == "head" and run.train_images == 85  # 15% of 100 kept for validation
    assert 1 <= run.best_epoch <= 3
    assert run.history["val_loss"][run.best_epoch - 1] == min(run.history["val_loss"])
    for layer in run.model.layers:
        changed = any(
            not np.array_equal(a, b) for a, b in zip(layer.get_weights(), before[layer.name])
        )
        assert changed == (layer.name in ("dense_1", "probabilities")), layer.name
    for layer in base.layers:  # the base model is never modified
        for a, b in zip(layer.get_weights(), before[layer.name]):
            np.testing.assert_array_equal(a, b)


def test_mixed_needs_mnist_and_mixes_the_requested_share(base, mnist_like):
    x, y = learnable(3, seed=3)
    with pytest.raises(ValueError, match="needs mnist"):
        hw.fine_tune(base, x, y, "mixed")
    x_mix, y_mix = hw.mix_with_mnist(x, y, *mnist_like, mnist_images=100, new_share=0.5, seed=0)
    # 30 new samples, 100 MNIST images: 3 copies of the new ones give 90 of 190 (47%).
    assert len(y_mix) == 190 and x_mix.shape == (190, 28, 28, 1) and x_mix.dtype == np.float32
    assert np.bincount(y_mix).tolist() == [19] * 10
    assert x_mix.max() <= 1.0


def test_stratified_order_prefixes_are_balanced_and_nested():
    y = np.repeat(np.arange(10), 30)
    order = hw.stratified_order(y, seed=0)
    assert sorted(order) == list(range(300))
    for n in (10, 50, 100, 200):
        assert np.bincount(y[order[:n]], minlength=10).tolist() == [n // 10] * 10
    assert not np.array_equal(order, hw.stratified_order(y, seed=1))


def test_stratified_folds_partition_the_samples_and_keep_the_class_shares():
    y = np.repeat(np.arange(10), [18, 18, 17, 18, 18, 18, 18, 18, 17, 18])
    folds, table = hw.stratified_folds(y, n_splits=5, seed=0)
    assert table.shape == (5, 12) and list(table.index) == [1, 2, 3, 4, 5]
    assert list(table.columns[:2]) == ["train", "test"]
    assert (table["train"] + table["test"] == len(y)).all()
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests) == list(range(len(y)))  # every sample is tested exactly once
    per_class = table[[f"test {k}" for k in range(10)]].to_numpy()
    assert (per_class.max(axis=0) - per_class.min(axis=0) <= 1).all()  # stratified
    assert per_class.sum(axis=0).tolist() == np.bincount(y).tolist()


def test_split_validation_is_stratified_with_every_class():
    y = np.repeat(np.arange(10), 20)
    x = np.arange(200)
    x_fit, y_fit, x_val, y_val = hw.split_validation(x, y, 0.2, seed=0)
    assert np.bincount(y_val).tolist() == [4] * 10 and len(x_fit) == 160
    assert set(x_fit).isdisjoint(x_val)
    _, _, _, y_val = hw.split_validation(x[:30], np.tile(np.arange(10), 3), 0.15, seed=0)
    assert sorted(y_val) == list(
        range(10)
    )  # 15% of 30 would be 4-5 samples: raised to one per class
    with pytest.raises(ValueError, match="too few"):
        hw.split_validation(x[:15], np.arange(15) % 10, 0.15)


def test_cross_validation_table_and_out_of_fold_predictions(base, mnist_like):
    x, y = learnable(6, seed=4)
    recipe = hw.FineTuneRecipe(epochs=1, batch_size=16, mnist_images=40, augment=False)
    cv = hw.cross_validate(
        base,
        x,
        y,
        methods=("head", "mixed"),
        mnist=mnist_like,
        mnist_test=mnist_like,
        recipe=recipe,
        n_splits=2,
        seed=0,
        progress=False,
    )
    assert len(cv.table) == 2 * 3 and set(cv.table["method"]) == {"zero-shot", "head", "mixed"}
    assert cv.fold_table.shape == (2, 12)
    for method in ("head", "mixed"):
        assert (
            cv.predictions[method] >= 0
        ).all()  # every sample predicted once, by the fold that held it out
    zero = cv.table[cv.table["method"] == "zero-shot"]
    for (_, test_idx), acc in zip(cv.folds, zero["accuracy"]):
        assert acc == evaluation.accuracy(y[test_idx], cv.predictions["zero-shot"][test_idx])
    mean, std = cv.accuracy("mixed")
    values = cv.table.loc[cv.table["method"] == "mixed", "accuracy"]
    assert mean == pytest.approx(values.mean()) and std == pytest.approx(values.std(ddof=1))
    summary = cv.summary()
    assert list(summary.index) == ["zero-shot", "head", "mixed"]
    assert {"accuracy mean", "accuracy std", "mnist_accuracy mean"} <= set(summary.columns)


def test_learning_curve_starts_at_zero_shot(base, mnist_like):
    x, y = learnable(8, seed=5)
    x_test, y_test = learnable(2, seed=6)
    recipe = hw.FineTuneRecipe(epochs=1, batch_size=16, mnist_images=40, augment=False)
    table = hw.learning_curve(
        base, x, y, x_test, y_test, sizes=(0, 20, 40), mnist=mnist_like, recipe=recipe, seed=0
    )
    assert list(table["new samples"]) == [0, 20, 40]
    zero_shot = evaluation.accuracy(
        y_test, evaluation.predict_classes(base, hw.as_model_input(x_test))[0]
    )
    assert table.loc[0, "accuracy"] == zero_shot and table.loc[0, "best_epoch"] == 0
    assert (table.loc[1:, "best_epoch"] == 1).all()
    with pytest.raises(ValueError, match="exceed"):
        hw.learning_curve(
            base, x, y, x_test, y_test, sizes=(0, 500), mnist=mnist_like, recipe=recipe
        )
