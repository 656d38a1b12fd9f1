"""Results files and the summary table."""

import json

import pytest

from helpers import config, reporting


@pytest.fixture
def quick_reports(monkeypatch, tmp_path):
    monkeypatch.setenv(config.MODE_ENV_VAR, "quick")
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    return tmp_path / "reports" / "quick"


def test_record_results_writes_mode_and_plain_json(quick_reports):
    import numpy as np

    path = reporting.record_results(
        "01_demo",
        {"test_accuracy": np.float32(0.75), "params": np.int64(12)},
        headline=["test_accuracy"],
    )
    assert path == quick_reports / "metrics" / "01_demo.json"
    record = json.loads(path.read_text())
    assert record["mode"] == "quick" and record["notebook"] == "01_demo"
    assert record["metrics"] == {"test_accuracy": 0.75, "params": 12}
    assert record["headline"] == ["test_accuracy"]
    assert 0 <= record["elapsed_s"] < 3600


def test_record_results_rejects_bad_names_and_missing_headline_keys(quick_reports):
    with pytest.raises(ValueError, match="bare name"):
        reporting.record_results("../escape", {"a": 1})
    with pytest.raises(KeyError, match="missing"):
        reporting.record_results("01_demo", {"a": 1}, headline=["missing"])


def test_summary_lists_every_notebook_with_status_and_wall_time(tmp_path):
    records = [
        {
            "notebook": "00_a",
            "mode": "full",
            "metrics": {"acc": 0.98765, "note": "x"},
            "headline": ["acc"],
        },
        {"notebook": "01_b", "mode": "quick", "metrics": {"acc": 0.5}, "headline": None},
    ]
    out = reporting.write_summary(
        records,
        {"00_a": 12.4, "01_b": 3.0, "02_c": 5.0},
        "full",
        tmp_path / "summary.md",
        failures={"03_d": "CellExecutionError in cell 4"},
    )
    text = out.read_text()
    assert "Run mode: **full**" in text
    assert "| 00_a | ok | 12 | acc = 0.9877 |" in text
    assert "| 01_b | stale results from quick mode | 3 | acc = 0.5 |" in text
    assert "| 02_c | ran, recorded no results | 5 | - |" in text
    assert "| 03_d | FAILED: CellExecutionError in cell 4 | - | - |" in text
    assert "Total wall time: 20 s" in text


def test_summary_falls_back_to_the_elapsed_time_a_notebook_recorded(tmp_path):
    records = [
        {
            "notebook": "07_x",
            "mode": "full",
            "metrics": {"gain_db": 2.6},
            "headline": None,
            "elapsed_s": 1234.0,
        }
    ]
    text = reporting.write_summary(records, {}, "full", tmp_path / "s.md").read_text()
    assert "| 07_x | ok | 1234 | gain_db = 2.6 |" in text
