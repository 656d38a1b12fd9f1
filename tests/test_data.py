"""Offline MNIST: exact arrays, checksums, fallbacks (download tested with a fake), splits and pipelines."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from helpers import data


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


def test_repo_file_matches_recorded_checksum():
    assert data.MNIST_FILE.is_file(), "data/mnist.npz must ship with the repository"
    assert hashlib.sha256(data.MNIST_FILE.read_bytes()).hexdigest() == data.MNIST_SHA256


def test_load_mnist_has_keras_shapes_dtypes_and_official_label_counts(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == list(data.MNIST_TRAIN_COUNTS)
    assert np.bincount(y_test).tolist() == list(data.MNIST_TEST_COUNTS)
    assert x_train.min() == 0 and x_train.max() == 255


def test_load_mnist_keeps_official_order(mnist):
    # The first official training labels are 5 0 4 1 9 2 1 3 1 4; the first test labels 7 2 1 0 4 1 4 9 5 9.
    (_, y_train), (_, y_test) = mnist
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_training_pixel_statistics_match_the_documented_normalisation(mnist):
    (x_train, _), _ = mnist
    scaled = x_train / 255.0
    assert abs(scaled.mean() - data.MNIST_MEAN) < 1e-4
    assert abs(scaled.std() - data.MNIST_STD) < 1e-4


def _write_fake_npz(path: Path, n_train=12, n_test=6):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=(np.arange(n_train) % 10).astype(np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=(np.arange(n_test) % 10).astype(np.uint8),
    )
    return path


@pytest.fixture
def no_repo_file(monkeypatch, tmp_path):
    """Pretend the repository file is absent and Keras' cache is an empty temp folder."""
    monkeypatch.setattr(data, "MNIST_FILE", tmp_path / "repo" / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path


def test_corrupt_repo_file_raises_naming_file_and_remedy(monkeypatch, tmp_path):
    corrupt = tmp_path / "mnist.npz"
    corrupt.write_bytes(b"not really mnist")
    monkeypatch.setattr(data, "MNIST_FILE", corrupt)
    with pytest.raises(data.MnistDataError) as info:
        data.load_mnist()
    message = str(info.value)
    assert str(corrupt) in message and "corrupt" in message and "git checkout" in message


def test_keras_cache_is_used_when_repo_file_is_missing(no_repo_file, monkeypatch):
    cached = data.keras_cache_file()
    cached.parent.mkdir(parents=True)
    _write_fake_npz(cached)
    monkeypatch.setattr(data, "KERAS_MNIST_SHA256", data.sha256_of(cached))
    (x_train, y_train), (x_test, _) = data.load_mnist()
    assert x_train.shape == (12, 28, 28) and x_test.shape == (6, 28, 28)
    assert y_train.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_corrupt_keras_cache_raises_naming_it(no_repo_file):
    cached = data.keras_cache_file()
    cached.parent.mkdir(parents=True)
    _write_fake_npz(cached)  # its hash is not Keras' hash
    with pytest.raises(data.MnistDataError, match="corrupt") as info:
        data.load_mnist()
    assert str(cached) in str(info.value)


def test_download_fallback_uses_keras_get_file_with_origin_and_hash(no_repo_file, monkeypatch):
    import keras

    calls = {}

    def fake_get_file(fname, origin, file_hash, cache_dir, cache_subdir):
        calls.update(fname=fname, origin=origin, file_hash=file_hash, cache_dir=cache_dir)
        target = Path(cache_dir) / cache_subdir / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        return str(_write_fake_npz(target, n_train=20, n_test=10))

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    (x_train, _), (x_test, _) = data.load_mnist()
    assert calls["origin"] == data.KERAS_MNIST_URL
    assert calls["file_hash"] == data.KERAS_MNIST_SHA256
    assert Path(calls["cache_dir"]) == no_repo_file / "keras_home"
    assert x_train.shape == (20, 28, 28) and x_test.shape == (10, 28, 28)


def test_failed_download_raises_with_remedy(no_repo_file, monkeypatch):
    import keras

    def offline(**kwargs):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(data.MnistDataError, match="network unreachable") as info:
        data.load_mnist()
    assert "data/mnist.npz" in str(info.value)


def test_download_can_be_switched_off(no_repo_file):
    with pytest.raises(data.MnistDataError, match="downloading is off"):
        data.load_mnist(allow_download=False)


def test_explicit_path_must_exist_and_hold_mnist_arrays(tmp_path):
    with pytest.raises(data.MnistDataError, match="does not exist"):
        data.load_mnist(path=tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(
        bad,
        x_train=np.zeros((2, 28, 28), np.float32),
        y_train=np.zeros(2, np.uint8),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.zeros(1, np.uint8),
    )
    with pytest.raises(data.MnistDataError, match="x_train has dtype float32"):
        data.load_mnist(path=bad)


def test_to_float_images_scales_and_adds_channel_axis():
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = data.to_float_images(x)
    assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]])
    with pytest.raises(TypeError, match="uint8"):
        data.to_float_images(x.astype(np.float32))


def test_splits_keep_validation_separate_and_subsets_stratified():
    splits = data.load_mnist_splits(val_size=5000)
    assert splits["x_train"].shape == (55000, 28, 28, 1) and splits["x_val"].shape == (
        5000,
        28,
        28,
        1,
    )
    assert splits["x_test"].shape == (10000, 28, 28, 1)
    assert splits["x_train"].dtype == np.float32 and float(splits["x_train"].max()) == 1.0
    (x_train, _), _ = data.load_mnist()
    np.testing.assert_array_equal(splits["x_val"][0, :, :, 0], x_train[55000] / np.float32(255))

    small = data.load_mnist_splits(train_subset=1000, test_subset=200, seed=1)
    assert (
        len(small["y_train"]) == 1000 and len(small["y_test"]) == 200 and len(small["y_val"]) == 200
    )
    counts = np.bincount(small["y_train"], minlength=10)
    expected = np.array(data.MNIST_TRAIN_COUNTS) / 60000 * 1000
    assert np.all(np.abs(counts - expected) <= 2), counts
    again = data.load_mnist_splits(train_subset=1000, test_subset=200, seed=1)
    np.testing.assert_array_equal(small["y_train"], again["y_train"])


def test_splits_reject_bad_sizes():
    with pytest.raises(ValueError, match="val_size"):
        data.load_mnist_splits(val_size=60000)
    with pytest.raises(ValueError, match="train_subset"):
        data.load_mnist_splits(train_subset=0)


def test_make_dataset_batches_shuffles_reproducibly_and_augments():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 4, 4, 1), np.float32)
    y = np.arange(10)
    batches = list(data.make_dataset(x, y, batch_size=4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert np.concatenate([b[1].numpy() for b in batches]).tolist() == list(range(10))

    def order(seed):
        return np.concatenate(
            [b[1].numpy() for b in data.make_dataset(x, y, batch_size=4, shuffle=True, seed=seed)]
        )

    first = order(3)
    assert sorted(first.tolist()) == list(range(10)) and first.tolist() != list(range(10))
    np.testing.assert_array_equal(first, order(3))

    def double(batch, training=False):
        return batch * 2

    xb, yb = next(iter(data.make_dataset(x, y, batch_size=10, augment=double)))
    np.testing.assert_array_equal(xb.numpy(), x * 2)
    with pytest.raises(ValueError, match="differ in length"):
        data.make_dataset(x, y[:5])


def test_mnist_augmenter_keeps_shape_and_changes_pixels():
    splits_x = np.zeros((4, 28, 28, 1), np.float32)
    splits_x[:, 10:18, 12:16, :] = 1.0
    aug = data.mnist_augmenter()
    out = np.asarray(aug(splits_x, training=True))
    assert out.shape == splits_x.shape
    assert not np.allclose(out, splits_x)
    np.testing.assert_array_equal(np.asarray(aug(splits_x, training=False)), splits_x)


def test_class_mean_images_by_hand():
    imgs = np.array([[[0, 2]], [[4, 6]], [[10, 10]]], dtype=np.uint8)
    means = data.class_mean_images(imgs, np.array([0, 0, 1]), num_classes=3)
    assert means.shape == (3, 1, 2) and means.dtype == np.float64
    np.testing.assert_array_equal(means[0], [[2.0, 4.0]])
    np.testing.assert_array_equal(means[1], [[10.0, 10.0]])
    assert np.isnan(means[2]).all()  # class 2 has no image
    with_channel = data.class_mean_images(imgs[..., np.newaxis], np.array([0, 0, 1]), 3)
    np.testing.assert_array_equal(with_channel[0], [[2.0, 4.0]])
    with pytest.raises(ValueError, match="length"):
        data.class_mean_images(imgs, np.array([0, 1]))
