"""helpers.handwriting.load_digit_folder: every image mode, both folder layouts, and every bad input
named in the report (or in the error) with what to do."""

import numpy as np
import pytest
from PIL import Image

from helpers import handwriting as hw


def l_photo() -> np.ndarray:
    """Return a uint8 greyscale photo (48x40) of an 'L' in dark ink on light paper, with soft edges."""
    from scipy import ndimage

    ink = np.zeros((48, 40))
    ink[6:42, 8:16] = 1.0
    ink[34:42, 8:32] = 1.0
    ink = ndimage.gaussian_filter(ink, 0.8)
    return np.round(255 * (0.9 - 0.75 * ink)).astype(np.uint8)


def save_in_mode(grey: np.ndarray, path, mode: str):
    """Save the greyscale photo ``grey`` as ``mode``; return the path written."""
    if mode == "L":
        Image.fromarray(grey).save(path)
    elif mode == "RGB":
        rgb = np.dstack([grey, grey, np.clip(grey.astype(int) + 20, 0, 255).astype(np.uint8)])
        Image.fromarray(rgb).save(path)
    elif (
        mode == "RGBA"
    ):  # a drawing app: black strokes on a transparent layer, RGB black everywhere
        alpha = np.round((255 - grey.astype(float) - 25) / 190 * 255).clip(0, 255).astype(np.uint8)
        rgba = np.dstack([np.zeros_like(grey)] * 3 + [alpha])
        Image.fromarray(rgba, mode="RGBA").save(path)
    elif mode == "P":
        Image.fromarray(grey).convert("RGB").quantize(colors=16).save(path)
    elif mode == "P+transparency":
        image = Image.fromarray(grey).convert("RGB").quantize(colors=16)
        image.info["transparency"] = int(np.asarray(image)[0, 0])  # the paper's palette entry
        image.save(path, transparency=image.info["transparency"])
    elif mode == "I;16":
        Image.fromarray(grey.astype(np.uint16) * 257).save(path)
    elif mode == "1":
        Image.fromarray(grey < 128).convert("1").save(path)
    elif mode == "JPEG":
        Image.fromarray(grey).convert("RGB").save(path, quality=85)
    elif mode == "BMP":
        Image.fromarray(grey).convert("RGB").save(path)
    return path


MODES = {
    "L": ".png",
    "RGB": ".png",
    "RGBA": ".png",
    "P": ".png",
    "P+transparency": ".png",
    "I;16": ".png",
    "1": ".png",
    "JPEG": ".jpg",
    "BMP": ".bmp",
}


@pytest.mark.parametrize("mode", list(MODES))
def test_every_image_mode_gives_the_same_mnist_digit(tmp_path, mode):
    grey = l_photo()
    reference = hw.to_mnist_style(grey).astype(float)
    path = save_in_mode(
        grey, tmp_path / f"7_{mode.replace(';', '').replace('+', '_')}{MODES[mode]}", mode
    )
    x, y, report = hw.load_digit_folder(tmp_path)
    assert x.shape == (1, 28, 28) and x.dtype == np.uint8 and list(y) == [7]
    assert report.loc[0, "status"] == "read" and report.loc[0, "file"] == path.name
    tolerance = 25 if mode == "1" else 8  # a bilevel image loses the soft edges
    assert np.abs(x[0] - reference).mean() < tolerance
    assert np.corrcoef(x[0].ravel(), reference.ravel())[0, 1] > 0.9


def test_sixteen_bit_values_are_scaled_not_clipped(tmp_path):
    save_in_mode(l_photo(), tmp_path / "a.png", "I;16")
    pixels, mode = hw.read_image(tmp_path / "a.png")
    assert mode.startswith("I;16") or mode == "I"
    assert pixels.dtype == np.uint16 and pixels.max() > 255
    np.testing.assert_allclose(hw.to_grey(pixels), l_photo() / 255.0, atol=1e-6)


def test_subfolder_layout_and_name_layout(tmp_path):
    grey = l_photo()
    by_folder = tmp_path / "by_folder"
    for label in (0, 3, 9):
        (by_folder / str(label)).mkdir(parents=True)
        Image.fromarray(grey).save(by_folder / str(label) / "photo.png")
    x, y, report = hw.load_digit_folder(by_folder)
    assert list(y) == [0, 3, 9] and len(x) == 3
    assert list(report["file"]) == ["0/photo.png", "3/photo.png", "9/photo.png"]
    by_name = tmp_path / "by_name"
    by_name.mkdir()
    for name in ("4_first.png", "6-second.jpg", "8.png", "2a.bmp"):
        Image.fromarray(grey).convert("RGB").save(by_name / name)
    x, y, report = hw.load_digit_folder(by_name)
    assert dict(zip(report["file"], y)) == {
        "2a.bmp": 2,
        "4_first.png": 4,
        "6-second.jpg": 6,
        "8.png": 8,
    }
    assert (report["status"] == "read").all()


def test_every_bad_file_is_in_the_report_with_its_reason(tmp_path):
    grey = l_photo()
    (tmp_path / "5").mkdir()
    Image.fromarray(grey).save(tmp_path / "5" / "good.png")
    (tmp_path / "seven").mkdir()
    Image.fromarray(grey).save(tmp_path / "seven" / "a.png")
    Image.fromarray(grey).save(tmp_path / "12_two_digits.png")
    Image.fromarray(grey).save(tmp_path / "unlabelled.png")
    (tmp_path / "3_broken.png").write_bytes(b"this is not a PNG")
    (tmp_path / "notes.txt").write_text("my digits")
    Image.fromarray(np.full((40, 40), 235, np.uint8)).save(tmp_path / "1_blank.png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "2_tiny.png")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0")
    x, y, report = hw.load_digit_folder(tmp_path)
    assert len(x) == 1 and list(y) == [5]
    assert len(report) == 9  # every file has a row: nothing dropped silently
    why = dict(zip(report["file"], report["problem"]))
    assert why == {
        ".DS_Store": "hidden",
        "12_two_digits.png": "no label",
        "1_blank.png": "no ink",
        "2_tiny.png": "too small",
        "3_broken.png": "unreadable",
        "5/good.png": "",
        "notes.txt": "not an image",
        "seven/a.png": "no label",
        "unlabelled.png": "no label",
    }
    reasons = dict(zip(report["file"], report["reason"]))
    assert (
        "'seven' is not a digit 0-9" in reasons["seven/a.png"]
        and "0/ ... 9/" in reasons["seven/a.png"]
    )
    assert "3_broken.png cannot be read as an image" in reasons["3_broken.png"]
    assert "save it again as PNG or JPEG" in reasons["3_broken.png"]
    assert "no ink found in" in reasons["1_blank.png"] and "1_blank.png" in reasons["1_blank.png"]
    assert "2_tiny.png is too small (5x5 px)" in reasons["2_tiny.png"]
    assert "rename it like 7_xxx.png" in reasons["unlabelled.png"]
    assert report.loc[report["file"] == "1_blank.png", "label"].item() == 1
    summary = hw.summarize_report(report)
    assert summary["files"].sum() == 9
    assert summary.set_index(["status", "problem"]).loc[("skipped", "no label"), "files"] == 3


def test_empty_missing_or_useless_folders_raise_naming_the_folder(tmp_path):
    with pytest.raises(hw.HandwritingInputError, match="empty_dir holds no files") as info:
        (tmp_path / "empty_dir").mkdir()
        hw.load_digit_folder(tmp_path / "empty_dir")
    assert info.value.kind == "empty folder" and isinstance(info.value, ValueError)
    with pytest.raises(hw.HandwritingInputError, match="missing is not a folder"):
        hw.load_digit_folder(tmp_path / "missing")
    useless = tmp_path / "useless"
    useless.mkdir()
    (useless / "a.txt").write_text("x")
    (useless / "b.png").write_bytes(b"junk")
    with pytest.raises(
        hw.HandwritingInputError, match=r"none of the 2 files in .*useless could be used"
    ) as info:
        hw.load_digit_folder(useless)
    assert info.value.kind == "no usable image" and "not an image" in str(info.value)


def test_progress_bar_over_many_files(tmp_path, capsys):
    for k in range(3):
        Image.fromarray(l_photo()).save(tmp_path / f"{k}_a.png")
    hw.load_digit_folder(tmp_path, progress=True)
    assert "reading" in capsys.readouterr().out
    hw.load_digit_folder(tmp_path)  # 3 files: under PROGRESS_FROM, no bar
    assert capsys.readouterr().out == ""


def test_the_shipped_sample_folder_reads_every_file_in_every_format():
    from helpers.kit import config

    x, y, report = hw.load_digit_folder(config.DATA_DIR / "handwriting" / "digits")
    assert len(x) == 50 and np.bincount(y, minlength=10).tolist() == [5] * 10
    assert (report["status"] == "read").all()
    assert {"L", "RGB", "RGBA", "P"} <= set(report["mode"]) and report["mode"].str.startswith(
        "I"
    ).any()
    assert {".png", ".jpg", ".bmp"} == {f[f.rfind(".") :] for f in report["file"]}
