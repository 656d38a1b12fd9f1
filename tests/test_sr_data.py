"""Super-resolution data: image splits, user folders, BT.601 colour, bicubic degradation and aligned patches."""

import numpy as np
import pytest
from PIL import Image

from helpers import sr
from helpers.sr import data


def test_builtin_splits_are_disjoint_rgb_uint8_with_colour_photos_in_test():
    splits = {s: sr.load_sr_images(s) for s in ("train", "val", "test")}
    names = [n for imgs in splits.values() for n, _ in imgs]
    assert len(names) == len(set(names)) == 18
    # the test photographs never change and are never trained on or validated on
    assert [n for n, _ in splits["test"]] == ["astronaut", "coffee", "chelsea"]
    # scikit-learn's two photographs and the motorcycle ship with the dependencies (offline)
    assert {"china", "motorcycle"} <= {n for n, _ in splits["train"]}
    assert "flower" in {n for n, _ in splits["val"]}
    # chelsea and skimage's "cat" are the same photograph: it must not leak into training
    cat = data._bundled_photo("chelsea")
    assert all(img.shape != cat.shape or not np.array_equal(img, cat) for _, img in splits["train"])
    for imgs in splits.values():
        for name, img in imgs:
            assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, name
    colour = [n for n, img in splits["test"] if np.ptp(img.astype(int)[..., 0] - img[..., 1]) > 0]
    assert len(colour) >= 3


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match="split must be one of"):
        sr.load_sr_images("training")


def test_folder_images_split_deterministically_by_name(tmp_path):
    for i in range(10):
        Image.fromarray(np.full((16, 16, 3), i * 20, np.uint8)).save(tmp_path / f"img{i:02d}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    splits = {
        s: [n for n, _ in sr.load_sr_images(s, folder=tmp_path)] for s in ("train", "val", "test")
    }
    assert sorted(sum(splits.values(), [])) == [f"img{i:02d}" for i in range(10)]
    assert len(splits["train"]) == 7 and len(splits["val"]) == 1 and len(splits["test"]) == 2
    assert splits == {s: [n for n, _ in sr.load_sr_images(s, folder=tmp_path)] for s in splits}
    name, img = sr.load_sr_images("test", folder=tmp_path)[0]
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8


def test_empty_or_missing_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="holds no images"):
        sr.load_sr_images("train", folder=tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        sr.load_sr_images("train", folder=tmp_path / "missing")


def test_unreadable_file_in_a_folder_names_the_file_and_the_fix(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((16, 16, 3), i * 40, np.uint8)).save(tmp_path / f"img{i}.png")
    (tmp_path / "x.png").write_text("this is text, not a picture")
    with pytest.raises(ValueError, match=r"x\.png.*not a readable image.*remove it") as err:
        [sr.load_sr_images(s, folder=tmp_path) for s in ("train", "val", "test")]
    assert isinstance(err.value, sr.UnreadableImageError)
    assert "UnidentifiedImageError" in str(err.value)


# ----------------------------------------------------------------------------- colour
def test_ycbcr_of_white_black_and_red_match_bt601_studio_swing():
    ycc = sr.rgb_to_ycbcr(np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0]]], dtype=np.uint8))
    np.testing.assert_allclose(ycc[0, 0], [235.0, 128.0, 128.0], atol=1e-9)
    np.testing.assert_allclose(ycc[0, 1], [16.0, 128.0, 128.0], atol=1e-9)
    np.testing.assert_allclose(ycc[0, 2], [16 + 65.481, 128 - 37.797, 128 + 112.0], atol=1e-9)


def test_ycbcr_round_trip_and_float_input_agree_with_uint8():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    ycc = sr.rgb_to_ycbcr(img)
    np.testing.assert_allclose(sr.ycbcr_to_rgb(ycc) * 255, img, atol=1e-9)
    np.testing.assert_allclose(sr.rgb_to_ycbcr(img / 255.0), ycc, atol=1e-9)
    grey = img[..., 0]
    np.testing.assert_allclose(sr.rgb_to_y(grey), 16 + 219 * grey.astype(float) / 255.0, atol=1e-9)


def test_colour_conversion_rejects_bad_input():
    with pytest.raises(ValueError, match="outside"):
        sr.rgb_to_ycbcr(np.full((4, 4, 3), 2.0))
    with pytest.raises(ValueError, match="alpha"):
        sr.rgb_to_ycbcr(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="HxWx3"):
        sr.ycbcr_to_rgb(np.zeros((4, 4)))


def test_as_uint8_image_accepts_unit_floats_and_rejects_other_dtypes():
    np.testing.assert_array_equal(sr.as_uint8_image(np.array([[0.0, 1.0]])), [[0, 255]])
    with pytest.raises(ValueError, match="dtype int32"):
        sr.as_uint8_image(np.zeros((4, 4), np.int32))


# ----------------------------------------------------------------------------- degradation
@pytest.mark.parametrize("bad", [1, 0, -2, 2.0, "3", True, None])
def test_check_scale_accepts_integers_from_two_and_names_the_argument(bad):
    assert sr.check_scale(3) == 3 and sr.check_scale(np.int64(4)) == 4
    assert type(sr.check_scale(np.int64(4))) is int
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        sr.check_scale(bad)


def test_every_public_entry_point_checks_the_scale():
    img = np.zeros((12, 12, 3), np.uint8)
    for call in (
        lambda: sr.modcrop(img, 1),
        lambda: sr.bicubic_downscale(img, 1),
        lambda: sr.bicubic_upscale_channel(img[..., 0], 1),
        lambda: sr.sr_pair(img, 1),
        lambda: sr.training_pairs([("a", img)], 1),
        lambda: sr.PatchSampler([("a", img)], 1),
        lambda: sr.representative_lr_patches(2, scale=1),
    ):
        with pytest.raises(ValueError, match="scale must be an integer >= 2"):
            call()


def test_modcrop_crops_to_a_multiple_of_scale():
    assert sr.modcrop(np.zeros((31, 29, 3)), 3).shape == (30, 27, 3)
    with pytest.raises(ValueError, match="smaller than scale"):
        sr.modcrop(np.zeros((2, 29)), 3)


def test_bicubic_downscale_keeps_constants_and_reproduces_a_linear_ramp():
    const = np.full((30, 33, 3), 77, np.uint8)
    lr = sr.bicubic_downscale(const, 3)
    assert lr.shape == (10, 11, 3) and np.all(lr == 77)
    # HR ramp value 3*j + 10; LR pixel k is centred on HR column 3k + 1 -> 9k + 13 (cubic keeps lines).
    ramp = np.repeat((3 * np.arange(60) + 10).astype(np.uint8)[None, :, None], 3, axis=2).repeat(
        12, axis=0
    )
    lr = sr.bicubic_downscale(ramp, 3)
    np.testing.assert_array_equal(lr[2, 2:-2, 0], 9 * np.arange(2, 18) + 13)


def test_bicubic_downscale_is_anti_aliased():
    # Alternating 0/255 columns: plain subsampling keeps full contrast, anti-aliasing averages it away.
    stripes = np.zeros((36, 36, 3), np.uint8)
    stripes[:, ::2] = 255
    lr = sr.bicubic_downscale(stripes, 3).astype(float)
    assert np.ptp(lr[2:-2, 2:-2]) < 40 and abs(lr.mean() - 127.5) < 10
    assert np.ptp(stripes[:, ::3].astype(float)) == 255


def test_bicubic_upscale_channel_enlarges_float_channels_without_rounding():
    ch = np.linspace(0.1, 0.9, 20, dtype=np.float32).reshape(4, 5)
    up = sr.bicubic_upscale_channel(ch, 3)
    assert up.shape == (12, 15) and up.dtype == np.float32
    assert not np.allclose(up, np.round(up))


def test_sr_pair_crops_hr_and_returns_matching_lr():
    hr, lr = sr.sr_pair(np.zeros((31, 29), np.uint8), 3)
    assert hr.shape == (30, 27, 3) and lr.shape == (10, 9, 3)


def test_lr_input_is_y_over_255_as_a_batch_of_one():
    lr = np.full((4, 5, 3), 255, np.uint8)
    x = sr.lr_input(lr)
    assert x.shape == (1, 4, 5, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x, 235 / 255, atol=1e-7)  # white is Y = 235 in studio swing


# ----------------------------------------------------------------------------- patches
def smooth_image(h=90, w=120, seed=0):
    from scipy.ndimage import gaussian_filter

    noise = np.random.default_rng(seed).random((h, w))
    field = gaussian_filter(noise, 6)
    field = (field - field.min()) / np.ptp(field)
    return ("smooth", np.repeat((field * 255).astype(np.uint8)[..., None], 3, axis=2))


def test_patches_are_aligned_crops_at_the_same_place():
    sampler = sr.PatchSampler([smooth_image()], scale=3, patch_lr=8, augment=False, seed=1)
    lr_full, hr_full = sampler.pairs[0]
    lr, hr = sampler.sample(5)
    assert lr.shape == (5, 8, 8, 1) and hr.shape == (5, 24, 24, 1)
    for k in range(5):
        hits = [
            (t, left)
            for t in range(lr_full.shape[0] - 7)
            for left in range(lr_full.shape[1] - 7)
            if np.array_equal(lr_full[t : t + 8, left : left + 8], lr[k, ..., 0])
        ]
        assert hits, "LR patch is not a crop of the LR image"
        t, left = hits[0]
        np.testing.assert_array_equal(
            hr[k, ..., 0], hr_full[3 * t : 3 * t + 24, 3 * left : 3 * left + 24]
        )


def test_augmented_patches_flip_and_rotate_lr_and_hr_together():
    sampler = sr.PatchSampler([smooth_image()], scale=3, patch_lr=10, augment=True, seed=3)
    lr, hr = sampler.sample(32)
    pooled = hr[..., 0].reshape(32, 10, 3, 10, 3).mean(axis=(2, 4))
    for k in range(32):
        corr = np.corrcoef(lr[k, ..., 0].ravel(), pooled[k].ravel())[0, 1]
        assert corr > 0.95, k
    assert lr.min() >= 0.0 and hr.max() <= 1.0


def test_downscale_augmentation_adds_shrunk_copies():
    plain = sr.PatchSampler([smooth_image()], 3, 8, augment=False)
    augmented = sr.PatchSampler([smooth_image()], 3, 8, augment=True, downscale_factors=(1.0, 0.6))
    assert len(plain.pairs) == 1 and len(augmented.pairs) == 2
    assert augmented.pairs[1][1].shape == (54, 72)


def test_make_sr_dataset_yields_batches_of_aligned_patch_shapes():
    ds = sr.make_sr_dataset([smooth_image()], scale=2, patch_lr=12, batch_size=4, seed=0)
    x, y = next(iter(ds))
    assert x.shape == (4, 12, 12, 1) and y.shape == (4, 24, 24, 1)
    assert x.dtype.name == "float32" and float(x.numpy().max()) <= 1.0


def test_sampler_rejects_patches_larger_than_every_image():
    with pytest.raises(ValueError, match="smaller patch_lr"):
        sr.PatchSampler([smooth_image(30, 30)], 3, patch_lr=20, augment=False)
    with pytest.raises(ValueError, match="images is empty"):
        sr.PatchSampler([], 3)


def test_representative_patches_come_from_training_images_reproducibly():
    a = sr.representative_lr_patches(n=20, scale=3, patch=16, seed=5)
    b = sr.representative_lr_patches(n=20, scale=3, patch=16, seed=5)
    c = sr.representative_lr_patches(n=20, scale=3, patch=16, seed=6)
    assert a.shape == (20, 16, 16, 1) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # BT.601 studio-swing Y / 255 lies in [16/255, 235/255].
    assert a.min() >= 16 / 255 - 1e-6 and a.max() <= 235 / 255 + 1e-6


def test_crop_center_and_cached_training_pairs():
    images = [smooth_image(90, 120)]
    ((name, crop),) = sr.crop_center(images, 64)
    assert crop.shape == (64, 64, 3) and np.array_equal(crop, images[0][1][13:77, 28:92])
    assert sr.crop_center(images, 500)[0][1].shape == (90, 120, 3)
    first = sr.training_pairs(images, 3, (1.0, 0.8))
    assert sr.training_pairs(images, 3, (1.0, 0.8)) is first and len(first) == 2
    assert first[0][0].shape == (30, 40) and first[0][1].shape == (90, 120)
    # Cached by content: a copy of the same pixels hits the cache, changed pixels do not.
    assert sr.training_pairs([("smooth", images[0][1].copy())], 3, (1.0, 0.8)) is first
    changed = images[0][1].copy()
    changed[0, 0] ^= 1
    assert data.training_pairs([("smooth", changed)], 3, (1.0, 0.8)) is not first
