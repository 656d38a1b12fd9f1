"""Evaluation helpers checked on small hand-made label arrays (counts worked out by hand)."""

import numpy as np
import pytest

from helpers import evaluation

# 10 examples, 3 classes. By hand:
#   true 0 (4x): predicted 0,0,1,2  -> 2 right
#   true 1 (3x): predicted 1,0,0    -> 1 right
#   true 2 (3x): predicted 2,2,2    -> 3 right
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 2, 1, 0, 0, 2, 2, 2])


def test_confusion_matrix_counts_by_hand():
    cm = evaluation.confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    np.testing.assert_array_equal(cm, [[2, 1, 1], [2, 1, 0], [0, 0, 3]])


def test_confusion_matrix_row_normalised_and_absent_class():
    cm = evaluation.confusion_matrix(Y_TRUE, Y_PRED, num_classes=4, normalize="true")
    np.testing.assert_allclose(cm[0], [0.5, 0.25, 0.25, 0])
    np.testing.assert_allclose(cm[1], [2 / 3, 1 / 3, 0, 0])
    np.testing.assert_array_equal(cm[3], [0, 0, 0, 0])  # class 3 never occurs: a zero row, not NaN
    with pytest.raises(ValueError, match="num_classes"):
        evaluation.confusion_matrix(Y_TRUE, Y_PRED, num_classes=2)
    with pytest.raises(ValueError, match="normalize"):
        evaluation.confusion_matrix(Y_TRUE, Y_PRED, normalize="all")


def test_per_class_accuracy_with_absent_class_is_nan():
    acc = evaluation.per_class_accuracy(Y_TRUE, Y_PRED, num_classes=4)
    np.testing.assert_allclose(acc[:3], [0.5, 1 / 3, 1.0])
    assert np.isnan(acc[3])
    assert evaluation.accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.6)


def test_labels_are_validated():
    with pytest.raises(ValueError, match="length"):
        evaluation.per_class_accuracy([0, 1], [0], num_classes=2)
    with pytest.raises(ValueError, match="one-hot"):
        evaluation.accuracy(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="num_classes"):
        evaluation.per_class_accuracy([0, 5], [0, 5], num_classes=3)


def test_most_confused_pairs_order_and_share():
    table = evaluation.most_confused_pairs(Y_TRUE, Y_PRED, k=5)
    # Mistakes: (1->0) x2, (0->1) x1, (0->2) x1. Ties broken by true, then predicted label.
    assert list(table.columns) == ["true", "predicted", "count", "share_of_true"]
    assert table[["true", "predicted", "count"]].values.tolist() == [
        [1, 0, 2],
        [0, 1, 1],
        [0, 2, 1],
    ]
    np.testing.assert_allclose(table["share_of_true"], [2 / 3, 1 / 4, 1 / 4])
    assert len(evaluation.most_confused_pairs(Y_TRUE, Y_PRED, k=1)) == 1
    assert evaluation.most_confused_pairs([1, 2], [1, 2]).empty


def test_classification_report_table_values():
    table = evaluation.classification_report_table(Y_TRUE, Y_PRED)
    assert list(table.columns) == ["precision", "recall", "f1-score", "support"]
    assert list(table.index) == ["0", "1", "2", "macro avg", "weighted avg"]
    # class 0: predicted 4 times (2 right) -> precision 0.5; recall 2/4
    assert table.loc["0", "precision"] == pytest.approx(0.5)
    assert table.loc["1", "precision"] == pytest.approx(1 / 2)  # predicted 1 twice, right once
    assert table.loc["2", "recall"] == pytest.approx(1.0)
    assert table.loc["2", "precision"] == pytest.approx(3 / 4)
    assert table["support"].tolist() == [4, 3, 3, 10, 10]


def test_to_probabilities_softmax_for_logits_passthrough_for_probs():
    probs = np.array([[0.2, 0.8], [1.0, 0.0]])
    np.testing.assert_array_equal(evaluation.to_probabilities(probs), probs)
    logits = np.array([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(evaluation.to_probabilities(logits), [[0.25, 0.75]])


def test_predict_classes_with_a_tiny_model():
    import keras

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(3, use_bias=False, activation="softmax")(inputs))
    model.layers[-1].set_weights([np.array([[5.0, 0.0, 0.0], [0.0, 0.0, 5.0]], np.float32)])
    labels, conf = evaluation.predict_classes(
        model, np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], np.float32)
    )
    np.testing.assert_array_equal(labels, [0, 2, 0])
    e5 = np.exp(5.0)
    np.testing.assert_allclose(conf, [e5 / (e5 + 2), e5 / (e5 + 2), 1 / 3], rtol=1e-5)


def test_accuracy_takes_labels_or_class_scores():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    # arg-max 0, 1, 2, 0 against 0, 1, 2, 2: three of four right
    assert evaluation.accuracy([0, 1, 2, 2], scores) == 0.75
    logits = np.log(scores + 1e-9)  # logits have the same arg-max
    assert evaluation.accuracy([0, 1, 2, 2], logits) == 0.75
    assert evaluation.accuracy([0, 1, 2, 2], [0, 1, 2, 0]) == 0.75
    with pytest.raises(ValueError, match="empty"):
        evaluation.accuracy([], [])
    with pytest.raises(ValueError, match="length"):
        evaluation.accuracy([0, 1], scores)


def test_per_class_history_orders_classes_numerically():
    logs = {"loss": [1.0], "val_accuracy_class_10": [0.1], "val_accuracy_class_2": [0.2]}
    assert evaluation.per_class_history(logs) == {2: [0.2], 10: [0.1]}
    with pytest.raises(ValueError, match="PerClassAccuracy"):
        evaluation.per_class_history({"loss": [1.0]})


def test_accuracies_from_results_reads_the_recorded_keys():
    metrics = {
        "tiny_cnn_test_accuracy": 0.9931,
        "lenet5_test_accuracy": 1,
        "small_cnn_test_accuracy": "n/a",
        "tiny_cnn_params": 7970,
    }
    got = evaluation.accuracies_from_results(metrics, ["tiny_cnn", "lenet5", "small_cnn", "resnet"])
    assert list(got) == ["tiny_cnn", "lenet5", "small_cnn", "resnet"]
    assert got["tiny_cnn"] == 0.9931 and got["lenet5"] == 1.0
    assert np.isnan(got["small_cnn"]) and np.isnan(got["resnet"])  # not a number / not recorded
    with pytest.raises(TypeError, match="load_results"):
        evaluation.accuracies_from_results([0.99], ["tiny_cnn"])
