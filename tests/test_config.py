"""Run-mode parsing, mode-dependent settings and seed reproducibility."""

import numpy as np
import pytest

from helpers.kit import config


@pytest.mark.parametrize(
    "raw, expected",
    [("", "full"), ("full", "full"), ("quick", "quick"), (" Quick ", "quick"), ("FULL", "full")],
)
def test_run_mode_accepts_known_values(monkeypatch, raw, expected):
    monkeypatch.setenv(config.MODE_ENV_VAR, raw)
    assert config.run_mode() == expected


def test_run_mode_defaults_to_full_when_unset(monkeypatch):
    monkeypatch.delenv(config.MODE_ENV_VAR, raising=False)
    assert config.run_mode() == "full"
    assert config.is_quick() is False


@pytest.mark.parametrize("raw", ["fast", "1", "true", "quik", "debug"])
def test_run_mode_rejects_unknown_values_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(config.MODE_ENV_VAR, raw)
    with pytest.raises(ValueError, match=r"KIT_MODE.*full, quick"):
        config.run_mode()


def test_pick_follows_mode(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV_VAR, "quick")
    assert config.pick(30, 1) == 1
    monkeypatch.setenv(config.MODE_ENV_VAR, "full")
    assert config.pick(30, 1) == 30


def test_reports_and_artifacts_are_separated_by_mode(monkeypatch):
    monkeypatch.delenv(config.ARTIFACTS_ENV_VAR, raising=False)
    monkeypatch.setenv(config.MODE_ENV_VAR, "quick")
    quick_reports, quick_models = config.reports_dir(), config.artifacts_dir("models")
    monkeypatch.setenv(config.MODE_ENV_VAR, "full")
    assert quick_reports == config.REPO_ROOT / "reports" / "quick"
    assert config.reports_dir() == config.REPO_ROOT / "reports"
    assert quick_models == config.REPO_ROOT / "artifacts" / "quick" / "models"
    assert config.artifacts_dir("models") == config.REPO_ROOT / "artifacts" / "full" / "models"


def test_kit_artifacts_moves_saved_models_out_of_the_repository(monkeypatch, tmp_path):
    monkeypatch.setenv(config.ARTIFACTS_ENV_VAR, str(tmp_path / "fresh"))
    monkeypatch.setenv(config.MODE_ENV_VAR, "quick")
    assert config.artifacts_dir("models") == tmp_path / "fresh" / "quick" / "models"
    assert (tmp_path / "fresh" / "quick" / "models").is_dir()


def _seeded_draws(seed):
    import keras

    config.set_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    return np.random.rand(3), keras.random.normal((3,)).numpy(), model.get_weights()[0]


def test_set_seed_makes_numpy_and_keras_reproducible():
    first, second, other = _seeded_draws(7), _seeded_draws(7), _seeded_draws(8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "42", True])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        config.set_seed(bad)
