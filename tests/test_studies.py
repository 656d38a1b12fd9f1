"""helpers.studies: the study CNN, optimizers by name, gradient norms per layer, the learning-rate
range test, and the sentences written from summary tables (hand-worked numbers where possible)."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from helpers import studies, training, tuning


def _summary(values: dict, seeds=(0, 1), name="optimizer"):
    """A summary_table from hand-made per-seed accuracies: {setting: [acc_seed0, acc_seed1]}."""
    rows = [
        {name: setting, "seed": seed, "best_val_accuracy": acc}
        for setting, accs in values.items()
        for seed, acc in zip(seeds, accs)
    ]
    df = pd.DataFrame(rows)
    df.attrs.update(settings=[name], objective="val_accuracy", metric="best_val_accuracy")
    return tuning.summary_table(df)


def _tiny_classifier(activation="relu", depth=5, width=20, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((width,))
    h = inputs
    for i in range(depth):
        h = keras.layers.Dense(width, activation=activation, name=f"dense_{i + 1}")(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="probabilities")(h)
    return keras.Model(inputs, outputs)


# --------------------------------------------------------------------------- the study CNN


def test_parse_filters_reads_grid_strings():
    assert studies.parse_filters("6-12") == (6, 12)
    assert studies.parse_filters("16/32/64") == (16, 32, 64)
    assert studies.parse_filters([6, 12]) == (6, 12)
    for bad in ("6-x", "", "0-12", ()):
        with pytest.raises(ValueError):
            studies.parse_filters(bad)


def test_study_cnn_has_the_slides_parameter_count():
    # 5x5 valid convs: 28 -> 24 -> 12 -> 8 -> 4; conv_1 5*5*1*6 + 6 = 156,
    # conv_2 5*5*6*12 + 12 = 1,812, dense 4*4*12*10 + 10 = 1,930: 3,898 (as the NumPy CNN).
    model = studies.build_study_cnn()
    assert model.count_params() == 3_898
    assert model.output_shape == (None, 10)
    assert [layer.name for layer in model.layers if layer.weights] == [
        "conv_1",
        "conv_2",
        "probabilities",
    ]


def test_study_cnn_same_padding_fits_three_blocks_and_dropout():
    # 'same': 28 -> 14 -> 7 -> 3; conv_3 5*5*12*24 + 24 = 7,224; dense 3*3*24*10 + 10 = 2,170.
    model = studies.build_study_cnn("6-12-24", padding="same", dropout=0.25)
    assert model.count_params() == 156 + 1_812 + 7_224 + 2_170
    assert model.get_layer("dropout").rate == 0.25
    assert "dropout" not in [layer.name for layer in studies.build_study_cnn().layers]


def test_study_cnn_rejects_impossible_layouts():
    with pytest.raises(ValueError, match="padding='same'"):
        studies.build_study_cnn("6-12-24")  # valid 5x5: 4x4 maps cannot take a third conv
    with pytest.raises(ValueError, match="activation"):
        studies.build_study_cnn(activation="softsign")
    with pytest.raises(ValueError, match="dropout"):
        studies.build_study_cnn(dropout=1.0)
    with pytest.raises(ValueError, match="padding"):
        studies.build_study_cnn(padding="full")


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "tanh", "sigmoid"])
def test_study_cnn_takes_the_studied_activations(activation):
    model = studies.build_study_cnn(activation=activation)
    assert model.get_layer("conv_1").get_config()["activation"] == activation


def test_make_optimizer_by_name():
    import keras

    assert isinstance(training.make_optimizer("adam", 1e-3), keras.optimizers.Adam)
    adamw = training.make_optimizer("adamw", 1e-3)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == pytest.approx(0.004)
    decayed = training.make_optimizer("adam", 1e-3, weight_decay=0.01)
    assert isinstance(decayed, keras.optimizers.AdamW) and decayed.weight_decay == 0.01
    assert isinstance(training.make_optimizer("rmsprop", 1e-3), keras.optimizers.RMSprop)
    sgd = training.make_optimizer("sgd", 0.1)
    momentum = training.make_optimizer("sgd_momentum", 0.1)
    assert sgd.momentum == 0.0 and momentum.momentum == 0.9
    assert float(momentum.learning_rate) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="optimizer"):
        training.make_optimizer("adagrad", 1e-3)
    with pytest.raises(ValueError, match="learning_rate"):
        training.make_optimizer("adam", 0.0)


def test_compile_model_uses_the_named_optimizer():
    model = studies.compile_model(studies.build_study_cnn(), "rmsprop", 0.01)
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert model.loss.__class__.__name__ == "SparseCategoricalCrossentropy"


def test_make_build_fn_applies_settings_and_ignores_fit_settings():
    build = studies.make_build_fn(optimizer="sgd_momentum")
    model = build({"learning_rate": 0.05, "filters": "12-16", "epochs": 3, "batch_size": 16})
    assert model.optimizer.momentum == 0.9
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert model.get_layer("conv_1").filters == 12 and model.get_layer("conv_2").filters == 16
    assert build.defaults["optimizer"] == "sgd_momentum"
    with pytest.raises(KeyError, match="unknown settings"):
        build({"units": 3})
    with pytest.raises(KeyError, match="unknown settings"):
        studies.make_build_fn(momentum=0.9)


def test_study_splits_keeps_the_whole_validation_set():
    splits = studies.study_splits(train_size=1_000)
    assert splits["x_train"].shape == (1_000, 28, 28, 1)
    assert len(splits["y_val"]) == 5_000 and len(splits["y_test"]) == 10_000
    counts = np.bincount(splits["y_train"], minlength=10)
    assert counts.sum() == 1_000 and counts.min() >= 90 and counts.max() <= 114  # stratified
    small = studies.study_splits(train_size=500, val_size=200)
    assert len(small["y_train"]) == 500 and len(small["y_val"]) == 200


# --------------------------------------------------------------------------- gradient norms


def test_gradient_norms_hand_worked():
    import keras

    # Dense(2) with zero weights: p = (0.5, 0.5); for x = (1, 0), y = 0 the gradient of the
    # cross-entropy w.r.t. the logits is p - onehot = (-0.5, 0.5); dW = x^T (-0.5, 0.5) has
    # squared norm 0.5, db = (-0.5, 0.5) too: norm sqrt(1.0) = 1.0 over 6 weights.
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(
        2, activation="softmax", kernel_initializer="zeros", name="probabilities"
    )(inputs)
    table = studies.gradient_norms(keras.Model(inputs, outputs), [[1.0, 0.0]], [0])
    assert table.to_dict("records") == [
        {
            "layer": "probabilities",
            "kind": "Dense",
            "n_weights": 6,
            "norm": pytest.approx(1.0),
            "rms": pytest.approx(1 / math.sqrt(6)),
        }
    ]


def test_gradient_norms_lists_weighted_layers_in_order_and_filters_kinds():
    model = studies.build_study_cnn()
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 28, 28, 1)), rng.integers(0, 10, 8)
    table = studies.gradient_norms(model, x, y)
    assert table["layer"].tolist() == ["conv_1", "conv_2", "probabilities"]
    assert table["n_weights"].tolist() == [156, 1_812, 1_930]
    assert (table["norm"] > 0).all()
    np.testing.assert_allclose(table["rms"], table["norm"] / np.sqrt(table["n_weights"]))
    convs = studies.gradient_norms(model, x, y, layer_types=("Conv2D",))
    assert convs["layer"].tolist() == ["conv_1", "conv_2"]


def test_sigmoid_gradients_vanish_towards_the_input_and_relu_ones_do_not():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 20)).astype("float32"), rng.integers(0, 3, 64)
    ratio = {}
    for activation in ("relu", "sigmoid"):
        table = studies.gradient_norms(_tiny_classifier(activation), x, y)
        ratio[activation] = table["rms"].iloc[0] / table["rms"].iloc[-1]
    # each sigmoid multiplies the backward signal by sigma'(z) <= 0.25: five layers, < 0.25**5 * 10
    assert ratio["sigmoid"] < 0.01
    assert ratio["relu"] > 0.1


def test_gradient_norms_before_after_and_the_ratio():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(128, 20)).astype("float32"), rng.integers(0, 3, 128)

    def build():
        return studies.compile_model(_tiny_classifier("sigmoid", depth=3), "sgd", 0.1)

    table = studies.gradient_norms_before_after(
        build, (x[:32], y[:32]), (x, y), validation=(x[:32], y[:32]), epochs=2, seed=3
    )
    assert table["when"].unique().tolist() == ["at initialisation", "after 2 epochs"]
    assert len(table) == 2 * 4  # three hidden layers and the output, twice
    assert table["train_seconds"].nunique() == 1 and table["train_seconds"].iloc[0] > 0
    assert 0 <= table["val_accuracy"].iloc[0] <= 1 and 0 <= table["train_accuracy"].iloc[0] <= 1
    # no batch norm, no dropout: the batch statistics change nothing
    assert table["val_accuracy_batch_stats"].iloc[0] == table["val_accuracy"].iloc[0]
    again = studies.gradient_norms_before_after(build, (x[:32], y[:32]), (x, y), epochs=2, seed=3)
    assert "val_accuracy" not in again.columns
    np.testing.assert_allclose(again["rms"].iloc[:4], table["rms"].iloc[:4], rtol=1e-6)  # seeded
    ratio = studies.gradient_ratio(table)
    assert ratio["when"].tolist() == ["at initialisation", "after 2 epochs"]
    assert ratio["first_layer"].tolist() == ["dense_1"] * 2
    assert ratio["last_layer"].tolist() == ["probabilities"] * 2
    first = table.groupby("when", sort=False)["rms"].first().to_numpy()
    last = table.groupby("when", sort=False)["rms"].last().to_numpy()
    np.testing.assert_allclose(ratio["ratio"], first / last)
    with pytest.raises(KeyError, match="model"):
        studies.gradient_ratio(table, by=("model", "when"))


def test_batch_stats_accuracy_exposes_lagging_batch_norm_averages():
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    x_shifted = 50 + 10 * x  # far from the running averages' start (mean 0, variance 1)

    def build():
        inputs = keras.Input((4,))
        h = keras.layers.BatchNormalization(momentum=0.99)(inputs)
        outputs = keras.layers.Dense(2, activation="softmax")(h)
        return studies.compile_model(keras.Model(inputs, outputs), "adam", 0.05)

    table = studies.gradient_norms_before_after(
        build, (x_shifted[:32], y[:32]), (x_shifted, y), validation=(x_shifted, y), epochs=2
    )
    # 16 steps move the running mean 15 % of the way to 50: inference normalizes badly
    assert table["val_accuracy_batch_stats"].iloc[0] > 0.9
    assert table["val_accuracy"].iloc[0] < table["val_accuracy_batch_stats"].iloc[0] - 0.2


def test_plot_gradient_norms_one_panel_per_moment():
    table = pd.DataFrame(
        {
            "layer": ["a", "b"] * 4,
            "rms": [1e-4, 1e-2, 1e-3, 1e-2, 1e-3, 1e-3, 1e-3, 2e-3],
            "activation": ["sigmoid"] * 2 + ["relu"] * 2 + ["sigmoid"] * 2 + ["relu"] * 2,
            "when": ["at initialisation"] * 4 + ["after 1 epoch"] * 4,
        }
    )
    fig = studies.plot_gradient_norms(table)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["at initialisation", "after 1 epoch"]
    assert all(ax.get_yscale() == "log" for ax in axes)
    assert "RMS gradient per weight" in axes[0].get_ylabel()
    assert len(axes[0].get_lines()) == 2
    with pytest.raises(KeyError, match="norm"):
        studies.plot_gradient_norms(table, value="norm")


# --------------------------------------------------------------------------- LR range test


def test_exponential_learning_rates():
    rates = studies.exponential_learning_rates(1e-4, 1.0, 5)
    np.testing.assert_allclose(rates, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    with pytest.raises(ValueError):
        studies.exponential_learning_rates(1.0, 1e-4, 5)
    with pytest.raises(ValueError):
        studies.exponential_learning_rates(1e-4, 1.0, 1)


def test_smooth_losses_is_a_bias_corrected_moving_average():
    # beta 0.5: avg_0 = 0.5 -> 0.5 / 0.5 = 1.0; avg_1 = 0.25 + 1.0 = 1.25 -> 1.25 / 0.75 = 5/3
    np.testing.assert_allclose(studies.smooth_losses([1.0, 2.0], beta=0.5), [1.0, 5 / 3])
    np.testing.assert_allclose(studies.smooth_losses([3.0, 1.0, 2.0], beta=0.0), [3.0, 1.0, 2.0])
    np.testing.assert_allclose(studies.smooth_losses([2.0] * 4, beta=0.9), [2.0] * 4)
    with pytest.raises(ValueError):
        studies.smooth_losses([1.0], beta=1.0)


def _linear_problem(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0).astype("int64")
    return x, y


def _linear_build(models_made):
    def build():
        import keras

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        models_made.append(model)
        return model

    return build


def test_lr_range_test_one_pass_with_exponential_rates():
    x, y = _linear_problem(256)
    made = []
    table = studies.lr_range_test(
        _linear_build(made), x, y, lr_min=1e-4, lr_max=1e-1, batch_size=32
    )
    assert list(table.columns) == ["step", "lr", "loss", "smoothed_loss"]
    assert len(table) == 8  # one pass: 256 / 32 steps, no divergence at these rates
    np.testing.assert_allclose(table["lr"], studies.exponential_learning_rates(1e-4, 1e-1, 8))
    np.testing.assert_allclose(table["smoothed_loss"], studies.smooth_losses(table["loss"]))
    assert float(made[0].optimizer.learning_rate) == pytest.approx(1e-1)  # the rate was set
    again = studies.lr_range_test(_linear_build([]), x, y, lr_min=1e-4, lr_max=1e-1, batch_size=32)
    np.testing.assert_allclose(again["loss"], table["loss"], rtol=1e-5)  # seeded


def test_lr_range_test_stops_when_the_loss_explodes():
    x, y = _linear_problem(512)
    table = studies.lr_range_test(
        _linear_build([]), x, y, lr_min=1e-4, lr_max=1e4, steps=200, batch_size=16, beta=0.5
    )
    assert 2 < len(table) < 200
    last = table.iloc[-1]
    best = table["smoothed_loss"].iloc[:-1].min()
    assert not math.isfinite(last["loss"]) or last["smoothed_loss"] > 4 * best


def test_lr_range_test_needs_a_compiled_model():
    import keras

    def build():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])

    x, y = _linear_problem(64)
    with pytest.raises(ValueError, match="compiled"):
        studies.lr_range_test(build, x, y)


def test_suggest_learning_rate_is_a_decade_below_the_minimum():
    table = pd.DataFrame({"lr": [1e-3, 1e-2, 1e-1, 1.0], "smoothed_loss": [2.3, 1.0, 0.5, 3.0]})
    assert studies.suggest_learning_rate(table) == pytest.approx(1e-2)
    assert studies.suggest_learning_rate(table, factor=1) == pytest.approx(1e-1)


def test_plot_lr_range_log_x_and_marks():
    table = pd.DataFrame(
        {
            "lr": [1e-3, 1e-2, 1e-1],
            "loss": [2.3, 1.0, 2.0],
            "smoothed_loss": [2.3, 1.5, 1.7],
        }
    )
    fig = studies.plot_lr_range(table, marks={"suggested": 1e-2, "grid best": 1e-3})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "learning rate" in ax.get_xlabel()
    assert len(ax.get_lines()) == 4  # raw, smoothed, two marks


# --------------------------------------------------------------------------- sweeps and tables


def test_sweep_name_changes_with_the_spec():
    a = studies.sweep_name("activation", {"activation": ["relu"]}, (0, 1), 3)
    assert re.fullmatch(r"activation_[0-9a-f]{8}", a)
    assert a == studies.sweep_name("activation", {"activation": ["relu"]}, (0, 1), 3)
    assert a != studies.sweep_name("activation", {"activation": ["relu"]}, (0,), 3)
    with pytest.raises(ValueError):
        studies.sweep_name("a/b")


def test_add_seconds_per_epoch():
    df = pd.DataFrame({"batch_size": [16, 128], "wall_time_s": [30.0, 9.0], "n_epochs": [3, 3]})
    df.attrs.update(settings=["batch_size"])
    out = studies.add_seconds_per_epoch(df)
    assert out["seconds_per_epoch"].tolist() == [10.0, 3.0]
    assert out.attrs["settings"] == ["batch_size"] and "seconds_per_epoch" not in df
    with pytest.raises(KeyError, match="wall_time_s"):
        studies.add_seconds_per_epoch(df.drop(columns="wall_time_s"))


def test_add_last_epoch():
    df = pd.DataFrame({"accuracy_curve": [[0.5, 0.7], [0.6, 0.9, 0.95]], "seed": [0, 1]})
    out = studies.add_last_epoch(df)
    assert out["last_accuracy"].tolist() == [0.7, 0.95]
    with pytest.raises(KeyError, match="accuracy"):
        studies.add_last_epoch(df, "loss")


def test_best_sentence_names_the_best_and_whether_seeds_separate_it():
    summary = _summary({"sgd": [0.95, 0.96], "adam": [0.990, 0.988], "rmsprop": [0.987, 0.989]})
    text = studies.best_sentence(summary, "optimizer")
    assert text.startswith("best optimizer: adam at 98.90 ± 0.14 % (n=2)")
    assert "0.10 points above the runner-up (rmsprop; the ±1 std bands overlap" in text
    clear = _summary({"sgd": [0.95, 0.951], "adam": [0.990, 0.991]})
    assert "do not overlap" in studies.best_sentence(clear, "optimizer")
    one = _summary({"sgd": [0.95], "adam": [0.99]}, seeds=(0,))
    assert "99.00 % (one seed, no std)" in studies.best_sentence(one, "optimizer")


def test_compare_with_report_and_its_sentence():
    summary = _summary({"adam": [0.98, 0.98], "sgd": [0.90, 0.92], "rmsprop": [0.985, 0.985]})
    report = {"adam": 0.9908, "sgd": 0.9752, "rmsprop": 0.9860, "nadam": 0.995}
    table = studies.compare_with_report(summary, report)
    assert table["setting"].tolist() == ["adam", "sgd", "rmsprop"]  # nadam was not measured
    np.testing.assert_allclose(table["difference_points"], [-1.08, -6.52, -0.10], atol=1e-9)
    assert table["report_rank"].tolist() == [1, 3, 2]
    assert table["measured_rank"].tolist() == [2, 3, 1]
    text = studies.report_sentence(summary, report, "optimizer")
    assert "the report's order is adam > rmsprop > sgd, this run's rmsprop > adam > sgd" in text
    assert "DIFFERENT order" in text
    assert "the report's best is nadam, this run's best is rmsprop" in text
    assert "0.10 to 6.52 points below the report's numbers" in text


def test_report_sentence_with_one_reference_and_with_none():
    summary = _summary({16: [0.985, 0.987], 32: [0.983, 0.984]}, name="batch_size")
    text = studies.report_sentence(summary, {16: 0.9931}, "batch size")
    assert "both pick 16" in text and "the measured value is 0.71 points below the report's" in text
    none = studies.report_sentence(summary, {8: 0.99}, "batch size")
    assert "none of the report's settings (8) was measured" in none
    slides = studies.report_sentence(summary, {16: 0.99, 32: 0.98}, "batch size", source="slides")
    assert "the slides' order is 16 > 32, this run's 16 > 32 (the same order)" in slides
    new_best = _summary(
        {"relu": [0.97, 0.97], "gelu": [0.98, 0.98], "sigmoid": [0.9, 0.9]}, name="a"
    )
    text = studies.report_sentence(new_best, {"relu": 0.99, "sigmoid": 0.57}, "activation")
    assert "this run's best, gelu, is not among the report's settings" in text
    assert "among them it picks relu, the report picks relu" in text


def test_leaderboard_and_setting_labels():
    optim = _summary({"adam": [0.98, 0.99], "sgd": [0.90, 0.91]})
    batch = _summary({16: [0.99, 0.992], 32: [0.98, 0.98]}, name="batch_size")
    board = studies.leaderboard({"optimizer": optim, "batch size": batch})
    assert board["study"].tolist() == ["batch size", "optimizer"]
    assert board["setting"].tolist() == ["batch_size=16", "optimizer=adam"]
    assert board["settings"].iloc[0] == {"batch_size": 16}
    assert isinstance(board["settings"].iloc[0]["batch_size"], int)
    df = pd.DataFrame(
        {"filters": ["6-12", "6-12"], "dropout": [0.0, 0.25], "seed": [0, 0], "acc": [0.9, 0.8]}
    )
    two = tuning.summary_table(df, by=["filters", "dropout"], metric="acc")
    assert studies.setting_label(two, 1) == "filters=6-12, dropout=0.25"
    assert studies.setting_label(optim, 0) == "adam"
    assert studies.setting_label(optim, 0, with_names=True) == "optimizer=adam"


def test_trial_models_reload_each_seed_from_the_tuner(tmp_path):
    import keras

    x, y = _linear_problem(128)

    def build(settings):
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(settings["units"]), keras.layers.Dense(3)]
        )
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    tuner = tuning.grid_tuner(
        build, {"units": [2, 3]}, tmp_path, "t", objective="val_loss", seeds=(0, 1), progress=False
    )
    tuner.search(x, y, validation_split=0.25, epochs=1, batch_size=32, verbose=0)
    found = studies.trial_models(tuner, {"units": 3})
    assert [seed for seed, _ in found] == [0, 1]
    assert all(model.layers[0].units == 3 for _, model in found)
    w0, w1 = (model.layers[0].get_weights()[0] for _, model in found)
    assert not np.allclose(w0, w1)  # two seeds, two different trained models
    with pytest.raises(LookupError):
        studies.trial_models(tuner, {"units": 4})
