"""Evaluation helpers checked on small hand-made label arrays (counts worked out by hand)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import evaluation  # noqa: E402

# 10 examples, 3 classes. By hand:
#   true 0 (4x): predicted 0,0,1,2  -> 2 right
#   true 1 (3x): predicted 1,0,0    -> 1 right
#   true 2 (3x): predicted 2,2,2    -> 3 right
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 2, 1, 0, 0, 2, 2, 2])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


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


def test_plot_confusion_matrix_counts_and_normalised():
    ax = evaluation.plot_confusion_matrix(Y_TRUE, Y_PRED, class_names=["a", "b", "c"])
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert "counts" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.texts][:4] == ["2", "1", "1", "2"]
    fig, axes = plt.subplots(1, 2)
    ax2 = evaluation.plot_confusion_matrix(Y_TRUE, Y_PRED, normalize="true", ax=axes[1])
    assert ax2 is axes[1] and "%" in ax2.get_title()
    assert ax2.texts[0].get_text() == "50.0"


def test_plot_misclassified_grid_titles_most_confident_first():
    x = np.arange(10 * 4 * 4, dtype=np.float32).reshape(10, 4, 4, 1)
    conf = np.linspace(0.5, 0.95, 10)
    fig = evaluation.plot_misclassified(x, Y_TRUE, Y_PRED, conf, n=3, cols=2)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    # wrong at indices 2, 3, 5, 6; highest confidence first: 6, 5, 3
    assert len(fig.axes) == 4 and len(titled) == 3
    assert titled[0] == f"true 1\npred 0 ({conf[6]:.0%})"
    assert titled[2].startswith("true 0\npred 2")
    fig2 = evaluation.plot_misclassified(x, Y_TRUE, Y_TRUE, conf)
    assert "No misclassified" in fig2.axes[0].texts[0].get_text()


def test_plot_training_curves_accepts_history_or_dict():
    logs = {
        "loss": [1.0, 0.5, 0.3],
        "val_loss": [1.1, 0.7, 0.6],
        "accuracy": [0.5, 0.8, 0.9],
        "val_accuracy": [0.4, 0.7, 0.8],
    }

    class FakeHistory:
        history = logs

    for h in (logs, FakeHistory()):
        fig = evaluation.plot_training_curves(h)
        assert len(fig.axes) == 2
        assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
        assert [len(ax.lines) for ax in fig.axes] == [2, 2]
        np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])
    only_loss = evaluation.plot_training_curves({"loss": [1.0, 0.5]})
    assert len(only_loss.axes) == 1 and len(only_loss.axes[0].lines) == 1
    with pytest.raises(ValueError, match="loss"):
        evaluation.plot_training_curves({"accuracy": [0.5]})


def test_plot_per_class_accuracy_orders_classes_numerically():
    logs = {
        "loss": [1, 0.5],
        **{f"val_accuracy_class_{k}": [0.5, 0.6 + k / 100] for k in (10, 2, 0)},
    }
    assert list(evaluation.per_class_history(logs)) == [0, 2, 10]
    fig = evaluation.plot_per_class_accuracy(logs)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["0", "2", "10"]
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [50.0, 70.0])
    assert ax.get_ylabel() == "validation accuracy (%)"
    with pytest.raises(ValueError, match="PerClassAccuracy"):
        evaluation.plot_per_class_accuracy({"loss": [1.0]})


def test_plot_accuracy_vs_cost_panels_and_labels():
    table = {
        "model": ["a", "b"],
        "params": [100, 10_000],
        "macs": [1e3, 1e6],
        "test_accuracy": [0.9, 0.99],
    }
    fig = evaluation.plot_accuracy_vs_cost(table)
    assert len(fig.axes) == 2 and all(ax.get_xscale() == "log" for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[0].texts] == ["a", "b"]
    with pytest.raises(ValueError, match="lacks columns"):
        evaluation.plot_accuracy_vs_cost({"model": ["a"]})
