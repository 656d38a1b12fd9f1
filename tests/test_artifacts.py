"""Where trained models live: one place for paths, saving, loading and load_or_train."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.kit import artifacts, config


@pytest.fixture
def quick_repo(monkeypatch, tmp_path):
    monkeypatch.setenv(config.MODE_ENV_VAR, "quick")
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    return tmp_path


def test_paths_are_per_mode_and_per_kind(quick_repo, monkeypatch):
    assert artifacts.model_path("resnet") == quick_repo / "artifacts/quick/models/resnet.keras"
    assert (
        artifacts.tflite_path("tiny_int8") == quick_repo / "artifacts/quick/tflite/tiny_int8.tflite"
    )
    monkeypatch.setenv(config.MODE_ENV_VAR, "full")
    assert artifacts.model_path("resnet") == quick_repo / "artifacts/full/models/resnet.keras"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "model.keras", " resnet", None])
def test_bad_names_are_refused(quick_repo, bad):
    with pytest.raises(ValueError, match="bare model name"):
        artifacts.model_path(bad)


def test_save_and_load_round_trip_and_missing_is_none(quick_repo):
    import keras

    assert artifacts.load_model("tiny") is None
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs))
    path = artifacts.save_model(model, "tiny")
    assert path.is_file() and path.suffix == ".keras"
    back = artifacts.load_model("tiny")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(back(x), model(x), rtol=1e-6)


def test_save_tflite_writes_bytes_and_refuses_empty(quick_repo):
    path = artifacts.save_tflite(b"TFL3-bytes", "demo")
    assert path.read_bytes() == b"TFL3-bytes"
    with pytest.raises(TypeError, match="bytes"):
        artifacts.save_tflite(b"", "demo")


def test_a_save_replaces_the_file_in_one_step_and_a_failed_one_keeps_the_old(quick_repo):
    """Notebooks run two at a time under ./kit.sh test: a reader sees the old file or the new."""
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    path = artifacts.save_model(model, "tiny")
    before = path.read_bytes()

    class Unsaveable(keras.Model):
        def save(self, filepath, *args, **kwargs):
            Path(filepath).write_bytes(b"half a model")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        artifacts.save_model(Unsaveable(), "tiny")
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.keras"]  # no part file left


def test_load_or_train_loads_a_saved_model_without_training(quick_repo, monkeypatch):
    import keras

    from helpers import training

    monkeypatch.setattr(training, "quick_train", lambda *a, **k: pytest.fail("must not train"))
    inputs = keras.Input((2,))
    artifacts.save_model(keras.Model(inputs, keras.layers.Dense(1)(inputs)), "mlp_tuned")
    model, trained_here = artifacts.load_or_train("mlp_tuned", splits=None)
    assert trained_here is False and model.count_params() == 3


def test_load_or_train_trains_saves_and_dispatches_by_name(quick_repo, monkeypatch):
    import keras

    from helpers import training
    from helpers.sr import training as sr_training

    def tiny(name):
        inputs = keras.Input((2,))
        return keras.Model(inputs, keras.layers.Dense(1, name=name)(inputs))

    seen = []
    monkeypatch.setattr(
        training,
        "quick_train",
        lambda name, splits, verbose=0: seen.append(("clf", name, splits)) or tiny("clf"),
    )
    monkeypatch.setattr(
        sr_training,
        "quick_train",
        lambda name, verbose=False: seen.append(("sr", name)) or tiny("sr"),
    )
    model, trained_here = artifacts.load_or_train("tiny_cnn", splits={"x": 1})
    assert trained_here and seen[-1] == ("clf", "tiny_cnn", {"x": 1})
    assert artifacts.model_path("tiny_cnn").is_file()  # saved for the next notebook
    model, trained_here = artifacts.load_or_train("fsrcnn_relu_x3")
    assert trained_here and seen[-1] == ("sr", "fsrcnn_relu_x3")
    assert artifacts.load_or_train("fsrcnn_relu_x3")[1] is False  # found the second time


def test_load_or_train_without_splits_says_what_to_do(quick_repo):
    with pytest.raises(ValueError, match="splits=data.load_mnist_splits"):
        artifacts.load_or_train("resnet")


def test_an_anchor_fsrcnn_reloads_in_a_fresh_process(quick_repo):
    """The int8-friendly FSRCNN has a custom layer (DepthToSpace): load_model registers it first."""
    from helpers import sr

    model = sr.build_fsrcnn_anchor(scale=2, d=8, s=4, m=1)
    artifacts.save_model(model, "fsrcnn_anchor_x2")
    code = (
        "import pathlib\n"
        "import numpy as np\n"
        "from helpers.kit import artifacts, config\n"
        f"config.REPO_ROOT = pathlib.Path({str(quick_repo)!r})\n"
        "m = artifacts.load_model('fsrcnn_anchor_x2')\n"
        "x = np.linspace(0, 1, 16, dtype='float32').reshape(1, 4, 4, 1)\n"
        "print(float(np.abs(np.asarray(m(x)) - x.repeat(2, 1).repeat(2, 2)).max()))\n"
    )
    env = {**os.environ, config.MODE_ENV_VAR: "quick"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) < 1e-6  # untrained: nearest neighbour


def test_a_model_with_the_kits_own_layers_loads_in_a_fresh_process(tmp_path, monkeypatch):
    import keras

    from helpers import attention, augment

    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    inputs = keras.Input((12, 12, 4))
    x = augment.elastic_distortion_layer()(seed=0)(inputs)
    outputs = attention.cbam_layer()(reduction=2)(x)
    artifacts.save_model(keras.Model(inputs, outputs), "custom_layers")
    code = (
        "import sys; from pathlib import Path; from helpers.kit import artifacts, config; "
        f"config.REPO_ROOT = Path({str(tmp_path)!r}); "
        "m = artifacts.load_model('custom_layers'); "
        "print(sorted(type(layer).__name__ for layer in m.layers))"
    )
    env = {**os.environ, "KIT_MODE": config.run_mode(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.DATA_DIR.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "CBAM" in done.stdout and "ElasticDistortion" in done.stdout


def _tiny_result(seconds=1.5):
    import keras

    from helpers import training

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs))
    history = {"loss": [0.9, 0.5], "val_accuracy": [0.6, 0.75]}
    return training.TrainingResult(model, history, seconds, [0.7, 0.8], [1e-3, 5e-4])


def test_load_or_run_training_trains_once_per_spec_and_keeps_the_record(quick_repo):
    calls = []

    def train():
        calls.append(1)
        return _tiny_result()

    spec = {"recipe": {"augment": "affine", "bn_momentum": 0.9}, "epochs": 2, "seed": (0,)}
    first, trained = artifacts.load_or_run_training("member0", spec, train)
    assert trained and len(calls) == 1
    assert artifacts.training_record_path("member0").is_file()
    # same spec (a tuple compares equal to the list it becomes in JSON): loaded, not trained
    again, trained = artifacts.load_or_run_training("member0", dict(spec), train)
    assert not trained and len(calls) == 1
    assert again.history == first.history and again.seconds == 1.5
    assert again.epoch_seconds == [0.7, 0.8] and again.learning_rates == [1e-3, 5e-4]
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_allclose(again.model.predict(x, verbose=0), first.model.predict(x, verbose=0))
    # any change of the spec trains anew and overwrites the record
    _, trained = artifacts.load_or_run_training("member0", {**spec, "epochs": 3}, train)
    assert trained and len(calls) == 2


def test_load_or_run_training_refuses_a_broken_record_and_a_wrong_result(quick_repo):
    artifacts.load_or_run_training("m", {"a": 1}, _tiny_result)
    artifacts.training_record_path("m").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"m\.json is not a training record.*delete it"):
        artifacts.load_or_run_training("m", {"a": 1}, _tiny_result)
    with pytest.raises(TypeError, match="TrainingResult"):
        artifacts.load_or_run_training("other", {"a": 1}, lambda: "a model")
