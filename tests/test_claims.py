"""Claim cells assert in full mode and only print in quick mode; kit.finish checks goals and records."""

import json

import pytest

from helpers import kit
from helpers.kit import artifacts, claims


def test_a_claim_that_holds_prints_and_returns_true(monkeypatch, capsys):
    monkeypatch.setenv("KIT_MODE", "full")
    assert claims.check("GELU beats ReLU", 98.17 > 97.85) is None
    assert "claim holds: GELU beats ReLU" in capsys.readouterr().out


def test_a_flipped_claim_fails_in_full_mode_and_says_to_rewrite_the_prose(monkeypatch):
    monkeypatch.setenv("KIT_MODE", "full")
    with pytest.raises(claims.ClaimFailed, match="the prose says 'Adam beats SGD'.*rewrite"):
        claims.check("Adam beats SGD", 0.90 > 0.95)


def test_a_flipped_claim_only_prints_in_quick_mode(monkeypatch, capsys):
    monkeypatch.setenv("KIT_MODE", "quick")
    assert claims.check("Adam beats SGD", False) is None
    assert "does not hold in this quick run (not asserted)" in capsys.readouterr().out


def test_an_empty_claim_is_refused():
    with pytest.raises(ValueError, match="claim must be the sentence"):
        claims.check("  ", True)


def test_finish_checks_the_goals_and_records_reloaded_trainings(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KIT_MODE", "full")
    monkeypatch.setattr(kit.config, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(artifacts, "RELOADED", ["tiny_cnn"])
    result = kit.finish(
        "01_mlp_baseline",
        baseline_test_accuracy=0.9629,
        tuned_test_accuracy=0.9820,
        shuffled_gap_points=0.4,
    )
    out = capsys.readouterr().out
    assert (
        "MISSED tuned MLP test accuracy: 98.2%" in out and "reloaded, not trained: tiny_cnn" in out
    )
    assert result is None  # a bare kit.finish(...) at a notebook's end shows no path
    record = json.loads((tmp_path / "reports" / "metrics" / "01_mlp_baseline.json").read_text())
    assert record["metrics"]["targets_met"] == "2/3" and record["reloaded"] == ["tiny_cnn"]
    assert record["mode"] == "full"


def test_finish_refuses_missing_metrics_and_asserts_floors(monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_MODE", "full")
    monkeypatch.setattr(kit.config, "REPO_ROOT", tmp_path)
    with pytest.raises(KeyError, match="needs the metrics \\['tuned_test_accuracy'"):
        kit.finish("01_mlp_baseline", baseline_test_accuracy=0.96, shuffled_gap_points=0.1)
    with pytest.raises(AssertionError, match="below the floor"):
        kit.finish(
            "01_mlp_baseline",
            baseline_test_accuracy=0.50,
            tuned_test_accuracy=0.99,
            shuffled_gap_points=0.1,
        )
