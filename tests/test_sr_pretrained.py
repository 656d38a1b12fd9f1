"""Pretrained FSRCNN files: the manifest, checksum-checked loading with clear errors, the shipped
models, and scripts/train_fsrcnn.py end to end on a tiny folder of images."""

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

from helpers import sr
from helpers.kit import config

SHIPPED = ("fsrcnn_x2", "fsrcnn_x3", "fsrcnn_x4", "fsrcnn_anchor_x3")


def save_tiny(folder, name="fsrcnn_anchor_x2"):
    model = sr.build_fsrcnn_anchor(2, d=8, s=4, m=1)
    w = model.get_weights()
    model.set_weights([np.full_like(a, 0.01) for a in w])
    path = sr.save_weights(model, folder / f"{name}.weights.npz")
    from helpers.data import sha256_of

    record = {"sha256": sha256_of(path), "command": "make it", "builder": sr.fsrcnn_config(model)}
    sr.write_manifest_entry(name, record, folder)
    return model, path


def test_a_saved_model_round_trips_through_the_manifest(tmp_path):
    model, path = save_tiny(tmp_path)
    assert sr.pretrained_names(tmp_path) == ["fsrcnn_anchor_x2"]
    loaded = sr.load_pretrained("fsrcnn_anchor_x2", tmp_path)
    x = np.random.default_rng(0).random((1, 10, 10, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert sr.pretrained_record("fsrcnn_anchor_x2", tmp_path)["command"] == "make it"


def test_the_manifest_as_a_markdown_table(tmp_path):
    record = dict(sha256="ab" * 32, bytes=54_000, steps=45_000, seconds=3312.0)
    record |= dict(best_val_psnr=31.1, test_gain_db=1.351, started_from=None)
    sr.write_manifest_entry("fsrcnn_x3", record, tmp_path)
    sr.write_manifest_entry("fsrcnn_x2", record | {"started_from": "fsrcnn_x3"}, tmp_path)
    lines = sr.manifest_markdown(tmp_path).splitlines()
    assert lines[0].startswith("| model | started from | steps") and len(lines) == 4
    assert lines[2] == (
        "| `fsrcnn_x2` | `fsrcnn_x3` | 45,000 | 55 min | 31.10 dB | +1.35 dB | 52.7 KB | `abababababab...` |"
    )


def test_weights_files_are_small_and_refuse_a_model_they_do_not_fit(tmp_path):
    model = sr.build_fsrcnn(3)
    path = sr.save_weights(model, tmp_path / "x3.weights.npz")
    assert path.stat().st_size < 60_000  # 12,809 float32 values, compressed
    again = sr.load_weights(sr.build_fsrcnn(3), path)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="x3.weights.npz does not fit.*feature_extraction/0"):
        sr.load_weights(sr.build_fsrcnn(3, d=32), path)
    with pytest.raises(ValueError, match="x3.weights.npz has weights that model .* lacks"):
        sr.load_weights(sr.build_fsrcnn(3, m=3), path)


def test_a_record_without_builder_arguments_is_an_error_that_says_what_to_do(tmp_path):
    save_tiny(tmp_path)
    record = sr.read_manifest(tmp_path)["fsrcnn_anchor_x2"]
    del record["builder"]
    sr.write_manifest_entry("fsrcnn_anchor_x2", record, tmp_path)
    with pytest.raises(ValueError, match="no 'builder' arguments: retrain it"):
        sr.load_pretrained("fsrcnn_anchor_x2", tmp_path)


def test_a_changed_file_fails_its_checksum_with_a_clear_error(tmp_path):
    _, path = save_tiny(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(
        sr.PretrainedChecksumError, match="fsrcnn_anchor_x2.weights.npz is corrupt"
    ) as err:
        sr.load_pretrained("fsrcnn_anchor_x2", tmp_path)
    assert "git checkout" in str(err.value) and "make it" in str(err.value)


def test_missing_unknown_and_unreadable_entries_name_the_problem(tmp_path):
    _, path = save_tiny(tmp_path)
    with pytest.raises(KeyError, match="no pretrained model 'fsrcnn_x9'.*fsrcnn_anchor_x2"):
        sr.load_pretrained("fsrcnn_x9", tmp_path)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="fsrcnn_anchor_x2.weights.npz is missing.*make it"):
        sr.load_pretrained("fsrcnn_anchor_x2", tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="manifest.json is not valid JSON"):
        sr.pretrained_names(tmp_path)
    assert sr.read_manifest(tmp_path / "empty") == {}


def test_the_shipped_models_are_listed_small_and_intact():
    manifest = sr.read_manifest()
    assert set(SHIPPED) <= set(manifest), sorted(manifest)
    for name in SHIPPED:
        path = sr.pretrained_path(name)  # checks the sha256
        record = manifest[name]
        assert path.stat().st_size == record["bytes"] < 100_000, name
        assert record["command"].startswith("python scripts/train_fsrcnn.py --name " + name)
        assert record["steps"] > 0 and record["weights"] == 12464
        assert sr.fsrcnn_config(sr.load_pretrained(name)) == record["builder"]
    assert (
        manifest["fsrcnn_x2"]["started_from"]
        == manifest["fsrcnn_x4"]["started_from"]
        == "fsrcnn_x3"
    )


def load_script():
    spec = importlib.util.spec_from_file_location(
        "train_fsrcnn", config.REPO_ROOT / "scripts" / "train_fsrcnn.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_training_script_trains_saves_and_records_then_transfers(tmp_path):
    from scipy.ndimage import gaussian_filter

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        field = gaussian_filter(rng.random((96, 96, 3)), (2, 2, 0))
        img = ((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)
        Image.fromarray(img).save(photos / f"p{i}.png")
    out = tmp_path / "pretrained"
    script = load_script()
    common = ["--steps", "4", "--steps-per-epoch", "2", "--batch-size", "4", "--patch", "10"]
    record = script.main(
        ["--name", "fsrcnn_x3", *common, "--folder", str(photos), "--out", str(out)]
    )
    assert record["steps"] == 4 and record["scale"] == 3 and record["weights"] == 12464
    assert record["command"].startswith("python scripts/train_fsrcnn.py --name fsrcnn_x3 --steps 4")
    assert np.isfinite(record["test_gain_db"]) and np.isfinite(record["best_val_psnr"])
    log = sr.pretrained_history("fsrcnn_x3", out)
    assert list(log["epoch"]) == [1, 2] and list(log["steps"]) == [2, 4]
    assert log["val_psnr"].max() == pytest.approx(record["best_val_psnr"], abs=1e-4)
    assert "saved" in (out / "logs" / "fsrcnn_x3.log").read_text()
    assert sr.fsrcnn_scale(sr.load_pretrained("fsrcnn_x3", out)) == 3  # checksum matches
    second = ["--name", "fsrcnn_x2", "--from", "fsrcnn_x3", *common, "--folder", str(photos)]
    record2 = script.main([*second, "--out", str(out)])
    assert record2["started_from"] == "fsrcnn_x3"
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest) == ["fsrcnn_x2", "fsrcnn_x3"]
    with pytest.raises(SystemExit):
        script.parse_args(["--name", "fsrcnn_x3", "--steps", "0"])
