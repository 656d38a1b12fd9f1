"""PerClassAccuracy: exact per-class values from hand-made predictions, label formats, datasets, absent classes."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import callbacks
from helpers.callbacks import PerClassAccuracy, per_class_key


def passthrough_model(num_classes):
    """A model whose prediction is its input: feed it the scores you want it to output."""
    inputs = keras.Input(shape=(num_classes,))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


def scores_for(predicted, num_classes, logits=False):
    """Score rows whose arg-max is ``predicted`` (probabilities, or unnormalised logits)."""
    rows = np.full((len(predicted), num_classes), 0.1 if not logits else -3.0, dtype=np.float32)
    rows[np.arange(len(predicted)), predicted] = 0.7 if not logits else 5.0
    return rows


# Class 0: 1 of 2 right; class 1: 2 of 3 right; class 2: 1 of 1 right.
Y_TRUE = np.array([0, 0, 1, 1, 1, 2])
Y_PRED = np.array([0, 1, 1, 1, 0, 2])
EXPECTED = np.array([1 / 2, 2 / 3, 1.0])


def run_callback(validation_data, num_classes=3, **kwargs):
    cb = PerClassAccuracy(validation_data, **kwargs)
    cb.set_model(passthrough_model(num_classes))
    logs = {}
    cb.on_epoch_end(0, logs)
    return cb, logs


@pytest.mark.parametrize("logits", [False, True])
def test_exact_values_from_arrays_with_probabilities_or_logits(logits):
    cb, logs = run_callback((scores_for(Y_PRED, 3, logits), Y_TRUE))
    assert list(logs) == ["val_accuracy_class_0", "val_accuracy_class_1", "val_accuracy_class_2"]
    np.testing.assert_allclose([logs[per_class_key(k)] for k in range(3)], EXPECTED)
    np.testing.assert_allclose(cb.per_epoch[0], EXPECTED)


def test_one_hot_and_column_labels_equal_integer_labels():
    x = scores_for(Y_PRED, 3)
    _, one_hot = run_callback((x, np.eye(3)[Y_TRUE]))
    _, column = run_callback((x, Y_TRUE[:, None]))
    _, integer = run_callback((x, Y_TRUE))
    assert one_hot == integer == column


def test_reshuffling_dataset_gives_the_same_values_as_arrays():
    x = scores_for(Y_PRED, 3)
    ds = (
        tf.data.Dataset.from_tensor_slices((x, Y_TRUE))
        .shuffle(6, seed=1, reshuffle_each_iteration=True)
        .batch(4)
    )
    cb, logs = run_callback(ds)
    np.testing.assert_allclose([logs[per_class_key(k)] for k in range(3)], EXPECTED)
    ds_one_hot = tf.data.Dataset.from_tensor_slices((x, np.eye(3)[Y_TRUE])).batch(2)
    _, logs_one_hot = run_callback(ds_one_hot)
    assert logs_one_hot == logs


def test_absent_class_is_nan_and_classes_come_from_the_model_output():
    # The model has 4 outputs; class 3 never occurs in the validation labels.
    cb, logs = run_callback((scores_for(Y_PRED, 4), Y_TRUE), num_classes=4)
    assert len(cb.per_epoch[0]) == 4
    np.testing.assert_allclose([logs[per_class_key(k)] for k in range(3)], EXPECTED)
    assert np.isnan(logs["val_accuracy_class_3"])


def test_predicting_an_absent_class_counts_as_wrong():
    y_pred = np.array(
        [3, 1, 1, 1, 0, 2]
    )  # the first sample is predicted as class 3, which has no samples
    _, logs = run_callback((scores_for(y_pred, 4), Y_TRUE), num_classes=4)
    assert logs["val_accuracy_class_0"] == 0.0 and np.isnan(logs["val_accuracy_class_3"])


def test_every_n_epochs():
    cb = PerClassAccuracy((scores_for(Y_PRED, 3), Y_TRUE), every=2)
    cb.set_model(passthrough_model(3))
    first, second = {}, {}
    cb.on_epoch_end(0, first)
    cb.on_epoch_end(1, second)
    assert first == {} and len(second) == 3 and len(cb.per_epoch) == 1


def test_bad_input_is_reported_clearly():
    with pytest.raises(TypeError, match="validation_data"):
        PerClassAccuracy(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="differ in length"):
        PerClassAccuracy((np.zeros((4, 3)), np.zeros(3)))
    with pytest.raises(ValueError, match="yield \\(x, y\\)"):
        PerClassAccuracy(tf.data.Dataset.from_tensor_slices(np.zeros((4, 3))).batch(2))
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        run_callback((scores_for(Y_PRED, 3), Y_TRUE + 1))


def test_in_fit_the_values_reach_history_and_csv_and_match_val_accuracy(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)  # 3 unbalanced classes
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    log_file = tmp_path / "log.csv"
    cb = PerClassAccuracy((x[80:], y[80:]))
    history = model.fit(
        x[:80],
        y[:80],
        validation_data=(x[80:], y[80:]),
        epochs=2,
        verbose=0,
        callbacks=[cb, keras.callbacks.CSVLogger(str(log_file))],
    )
    for k in range(3):
        assert len(history.history[per_class_key(k)]) == 2
    with open(log_file) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and per_class_key(2) in rows[0]
    # Per-class accuracies weighted by class support give the overall validation accuracy.
    support = np.bincount(y[80:], minlength=3)
    last = np.array([history.history[per_class_key(k)][-1] for k in range(3)])
    overall = np.nansum(last * support) / support.sum()
    assert overall == pytest.approx(history.history["val_accuracy"][-1], abs=1e-6)


def test_epoch_timer_and_epoch_line(capsys):
    timer, line = callbacks.EpochTimer(), callbacks.EpochLine(total_epochs=3)
    for cb in (timer, line):
        cb.on_epoch_begin(0)
    for cb in (timer, line):
        cb.on_epoch_end(0, {"loss": 0.5, "val_accuracy": 0.875})
    assert len(timer.epoch_seconds) == 1 and timer.epoch_seconds[0] >= 0
    out = capsys.readouterr().out
    assert out.startswith("epoch   1/3") and "loss 0.5000" in out and "val_accuracy 0.8750" in out
