"""Results files and the summary table."""

import json

import pytest

from helpers.kit import config, reporting


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


def test_load_results_reads_what_record_results_wrote(quick_reports):
    reporting.record_results("02_demo", {"tiny_cnn_test_acc": 99.31, "params": {"tiny": 7970}})
    assert reporting.load_results("02_demo") == {
        "tiny_cnn_test_acc": 99.31,
        "params": {"tiny": 7970},
    }


def test_load_results_names_the_notebook_to_run(quick_reports):
    with pytest.raises(
        FileNotFoundError, match=r"run notebooks/02_cnn_vs_mlp.ipynb first in quick"
    ):
        reporting.load_results("02_cnn_vs_mlp")
    (quick_reports / "metrics").mkdir(parents=True)
    (quick_reports / "metrics" / "03_x.json").write_text("{not json")
    with pytest.raises(ValueError, match="re-run notebooks/03_x.ipynb"):
        reporting.load_results("03_x")


def test_check_targets_prints_met_and_missed_with_the_gap(capsys):
    table = reporting.check_targets(
        [
            reporting.Target("tiny CNN test accuracy", 99.31, 99.4, floor=98.0, unit="%"),
            reporting.Target("int8 accuracy drop", 0.01, 0.1, higher_is_better=False, unit=" pp"),
        ]
    )
    out = capsys.readouterr().out
    assert "Targets: 1 of 2 met" in out
    assert "MISSED tiny CNN test accuracy: 99.31%, target >= 99.4% (short by 0.09%)" in out
    assert "met    int8 accuracy drop: 0.01 pp, target <= 0.1 pp" in out
    assert table.loc["tiny CNN test accuracy", "met"] == False  # noqa: E712 (numpy bool)
    assert table.loc["tiny CNN test accuracy", "gap"] == pytest.approx(0.09)
    assert table.loc["int8 accuracy drop", "floor"] == "-"


def test_check_targets_asserts_only_the_floors():
    # missed targets do not fail; a value past its floor does, for both directions
    reporting.check_targets([reporting.Target("gain", 0.96, 2.5, floor=0.5, unit=" dB")])
    with pytest.raises(AssertionError, match=r"gain = 0.4 dB \(floor 0.5 dB\)"):
        reporting.check_targets([reporting.Target("gain", 0.4, 2.5, floor=0.5, unit=" dB")])
    with pytest.raises(AssertionError, match="drop = 4.6"):
        reporting.check_targets(
            [reporting.Target("drop", 4.6, 0.1, higher_is_better=False, floor=4.5)]
        )


def test_check_targets_refuses_empty_and_non_finite():
    with pytest.raises(ValueError, match="empty"):
        reporting.check_targets([])
    with pytest.raises(ValueError, match="non-finite"):
        reporting.check_targets([reporting.Target("acc", float("nan"), 1.0)])
    with pytest.raises(TypeError, match="reporting.Target"):
        reporting.check_targets([("acc", 1.0, 1.0)])
