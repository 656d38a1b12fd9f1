"""helpers.handwriting.segment_sheet on generated sheets with known digit positions: every digit
found once, in reading order, specks and ruled lines rejected; reading order; sheets with no digits."""

import numpy as np
import pytest
from PIL import Image

from helpers import handwriting as hw
from helpers.kit import config

SHEETS_DIR = config.DATA_DIR / "handwriting" / "sheets"


def make_sheet(seed: int, count: int = 24, columns: int = 8, **settings):
    """Return (photo, truth) of a sheet of ``count`` random optdigits in rows of ``columns``."""
    rng = np.random.default_rng(seed)
    indices = rng.choice(1797, count, replace=False)
    return hw.compose_sheet(indices, columns, rng, **settings)


def assert_found_in_reading_order(found, truth, min_iou=0.6):
    """Every true digit is matched by a found box (IoU >= min_iou), in the same order, none extra."""
    boxes = [t["box"] for t in truth]
    assert len(found) == len(truth), f"found {len(found)} digits, the sheet holds {len(truth)}"
    matches = hw.match_to_truth(found.boxes, boxes, min_iou=min_iou)
    assert list(matches) == list(range(len(truth))), f"matches in reading order: {matches}"


@pytest.mark.parametrize(
    "settings",
    [
        {"rotation": 0.0, "specks": 15},
        {"rotation": 2.5, "margin_line": True, "specks": 20, "lighting": 0.45, "blur": 1.2},
        {"digit_height": (26, 32), "rotation": 1.5, "broken": 6, "specks": 10},
    ],
    ids=["level", "tilted-margin-dark-corner", "small-broken"],
)
def test_every_digit_is_found_once_in_reading_order(settings):
    photo, truth = make_sheet(7, **settings)
    found = hw.segment_sheet(photo)
    assert_found_in_reading_order(found, truth)
    reasons = found.rejected["reason"].value_counts()
    assert reasons.get("ruled line", 0) >= 3  # one per row, plus the margin when there is one
    if settings.get("specks"):
        assert reasons.get("speck", 0) >= 1
    assert list(found.rows) == [k // 8 for k in range(24)]
    assert found.images.shape == (24, 28, 28) and found.images.dtype == np.uint8
    assert len(found.crops) == 24 and all(c.min() >= 0 and c.max() <= 1 for c in found.crops)


def test_broken_digits_are_merged_into_one_box():
    photo, truth = make_sheet(3, count=10, columns=5, broken=10, specks=0)
    found = hw.segment_sheet(photo)
    assert_found_in_reading_order(found, truth, min_iou=0.75)


def test_specks_are_not_digits_even_without_lines():
    photo, truth = make_sheet(11, count=12, columns=6, ruled_lines=False, specks=40)
    found = hw.segment_sheet(photo)
    assert_found_in_reading_order(found, truth)
    assert (found.rejected["reason"] == "speck").sum() >= 10


def test_chalk_on_a_dark_board_and_a_large_photo():
    photo, truth = make_sheet(5, count=12, columns=6)
    found = hw.segment_sheet(255 - photo)  # light digits on a dark background
    assert found.inverted is False
    assert_found_in_reading_order(found, truth)
    big = np.kron(photo, np.ones((3, 3, 1), np.uint8))  # 3x the pixels, searched at 40% of that
    found = hw.segment_sheet(big, max_side=int(0.4 * max(big.shape)))
    scaled = [{"box": [3 * v for v in t["box"]]} for t in truth]
    assert_found_in_reading_order(found, scaled, min_iou=0.5)


def test_reading_order_of_a_tilted_page():
    # Two rows of three boxes, 40 px tall; the page slopes down 6 px per box to the right.
    boxes = []
    for row in range(2):
        for col in range(3):
            top = 20 + 80 * row + 6 * col
            boxes.append([top, 10 + 50 * col, top + 40, 40 + 50 * col])
    shuffled = [boxes[i] for i in (4, 0, 5, 2, 1, 3)]
    order, rows = hw.reading_order(np.array(shuffled))
    assert [shuffled[i] for i in order] == boxes
    assert list(rows) == [0, 0, 0, 1, 1, 1]


def test_box_iou_and_matching():
    assert hw.box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert hw.box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert hw.box_iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    matches = hw.match_to_truth(
        [[0, 0, 10, 10], [50, 50, 60, 60]], [[51, 50, 60, 61], [100, 0, 110, 5]]
    )
    assert list(matches) == [1, -1]


def test_a_sheet_with_no_digits_is_an_error_naming_the_file(tmp_path):
    photo, _ = make_sheet(2, count=0, columns=8, specks=15, margin_line=True)
    path = tmp_path / "empty_sheet.png"
    Image.fromarray(photo).save(path)
    with pytest.raises(
        hw.HandwritingInputError, match=r"found no digits in .*empty_sheet.png"
    ) as info:
        hw.segment_sheet(path)
    assert info.value.kind == "no digits"
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((300, 400), 220, np.uint8)).save(blank)
    with pytest.raises(hw.HandwritingInputError, match=r"found no digits in .*blank.png"):
        hw.segment_sheet(blank)


@pytest.mark.parametrize("name", ["sheet_1", "sheet_2", "sheet_3"])
def test_the_shipped_sheets_match_their_truth(name):
    path = SHEETS_DIR / f"{name}.jpg"
    truth = hw.read_sheet_truth(path)
    _, labels = hw.load_optdigits()
    assert [t["label"] for t in truth] == [int(labels[t["index"]]) for t in truth]
    found = hw.segment_sheet(path)
    assert_found_in_reading_order(found, truth)


def test_a_photo_of_one_digit_is_a_sheet_with_one_digit():
    for path in sorted((config.DATA_DIR / "handwriting" / "digits").rglob("*.*"))[::7]:
        found = hw.segment_sheet(path)
        assert len(found) == 1, path
        same = hw.to_mnist_style(path).astype(float)
        assert np.corrcoef(found.images[0].ravel(), same.ravel())[0, 1] > 0.9, path


class ReadsTheTruth:
    """A stand-in model that 'predicts' given labels with confidence 0.9 (model.predict like Keras)."""

    def __init__(self, labels):
        self.labels = list(labels)

    def predict(self, x, batch_size=None, verbose=0):
        assert x.shape == (len(self.labels), 28, 28, 1) and x.dtype == np.float32
        probs = np.full((len(self.labels), 10), 0.1 / 9)
        probs[np.arange(len(self.labels)), self.labels] = 0.9
        return probs


def test_read_digits_and_score_a_sheet_against_its_truth():
    photo, truth = make_sheet(9, count=16)
    labels = [t["label"] for t in truth]
    wrong_two = [(label + 1) % 10 if k in (3, 7) else label for k, label in enumerate(labels)]
    reading = hw.read_digits(photo, ReadsTheTruth(wrong_two))
    assert list(reading.predictions) == wrong_two
    np.testing.assert_allclose(reading.confidences, 0.9)
    assert list(hw.labels_of_found(reading.found, truth)) == labels
    scores = hw.score_sheet(reading, truth)
    assert scores == {
        "digits": 16,
        "found": 16,
        "in reading order": True,
        "extra boxes": 0,
        "read correctly": 14,
        "accuracy": 14 / 16,
    }
    shuffled = [truth[k] for k in (1, 0, *range(2, 16))]  # a truth list out of reading order
    assert hw.score_sheet(reading, shuffled)["in reading order"] is False
    missing = truth + [{"label": 3, "box": [0, 0, 5, 5]}]  # a digit the segmentation could not find
    assert hw.score_sheet(reading, missing)["accuracy"] == 14 / 17


def test_export_digits_is_seeded_and_replace_removes_an_earlier_export(tmp_path):
    first = hw.export_digits(tmp_path, [5, 700, 1200], layout="names", seed=3)
    assert [p.name for p in first] == ["5_0005.png", "2_0700.png", "7_1200.png"]  # their labels
    pixels = [np.asarray(Image.open(p)) for p in first]
    (tmp_path / "my_notes.txt").write_text("keep me")
    again = hw.export_digits(tmp_path, [5, 1200], layout="names", seed=3, replace=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["5_0005.png", "7_1200.png", "my_notes.txt"]
    np.testing.assert_array_equal(np.asarray(Image.open(again[0])), pixels[0])
    assert [hw.index_from_name(p) for p in again] == [5, 1200]
