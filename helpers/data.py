"""MNIST offline (from the repo's ``data/mnist.npz``), train/validation splits and ``tf.data`` pipelines.

``load_mnist()`` returns exactly what ``keras.datasets.mnist.load_data()`` returns. It looks, in order:

1. ``data/mnist.npz`` in this repository (built by ``scripts/convert_mnist.py``; sha256 checked);
2. Keras' cache, ``$KERAS_HOME/datasets/mnist.npz`` (default ``~/.keras``; Keras' sha256 checked);
3. Keras' own download (for a Colab user who installed ``helpers`` without the repository).

A file that exists but fails its checksum is an error, never silently replaced.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from helpers.kit import config

MNIST_FILE = config.DATA_DIR / "mnist.npz"
MNIST_SHA256 = "6b8878d65d98edf0d3f34c85943a733db516b768d9c40404f59c9b8bb1c8b986"
KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
MNIST_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
MNIST_CLASSES = tuple(str(d) for d in range(10))
MNIST_MEAN = 0.1307  # mean pixel of the 60,000 training images scaled to [0, 1]
MNIST_STD = 0.3081

MnistArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistDataError(RuntimeError):
    """MNIST could not be loaded: the message names the file and what to do."""


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def keras_cache_file() -> Path:
    """Return where Keras caches ``mnist.npz`` (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def _read_npz(path: Path) -> MnistArrays:
    """Read and validate the four MNIST arrays from ``path`` (no pickles allowed)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (KeyError, ValueError, OSError) as exc:
        raise MnistDataError(
            f"{path} is not a valid MNIST .npz ({exc}). Delete it and load again."
        ) from exc
    for name in ("x_train", "x_test"):
        a = arrays[name]
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[1:] != (28, 28):
            raise MnistDataError(
                f"{path}: {name} has dtype {a.dtype} and shape {a.shape}, expected uint8 (N, 28, 28)"
            )
    for x_name, y_name in (("x_train", "y_train"), ("x_test", "y_test")):
        y = arrays[y_name]
        if (
            y.ndim != 1
            or len(y) != len(arrays[x_name])
            or (y.size and (y.min() < 0 or y.max() > 9))
        ):
            raise MnistDataError(f"{path}: {y_name} must be {len(arrays[x_name])} labels in 0..9")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _download_mnist() -> Path:
    """Download ``mnist.npz`` with Keras into its cache (checksum verified by Keras); return the path."""
    import keras

    cache = keras_cache_file()
    return Path(
        keras.utils.get_file(
            fname="mnist.npz",
            origin=KERAS_MNIST_URL,
            file_hash=KERAS_MNIST_SHA256,
            cache_dir=str(cache.parent.parent),
            cache_subdir="datasets",
        )
    )


def load_mnist(path: Path | None = None, allow_download: bool = True) -> MnistArrays:
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, as ``keras.datasets.mnist.load_data()``.

    ``path`` points at another ``.npz`` with the same four arrays (no checksum is required of it).
    """
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise MnistDataError(
                f"MNIST file {path} does not exist. Pass an existing .npz or omit `path`."
            )
        return _read_npz(path)

    if MNIST_FILE.is_file():
        actual = sha256_of(MNIST_FILE)
        if actual != MNIST_SHA256:
            raise MnistDataError(
                f"{MNIST_FILE} is corrupt: sha256 {actual}, expected {MNIST_SHA256}. "
                "Restore it with `git checkout -- data/mnist.npz` (or rebuild it with "
                "`python scripts/convert_mnist.py`), or delete it to use Keras' copy instead."
            )
        return _read_npz(MNIST_FILE)

    cached = keras_cache_file()
    if cached.is_file():
        actual = sha256_of(cached)
        if actual != KERAS_MNIST_SHA256:
            raise MnistDataError(
                f"Keras' cached {cached} is corrupt: sha256 {actual}, expected {KERAS_MNIST_SHA256}. "
                "Delete it so Keras downloads it again."
            )
        return _read_npz(cached)

    if not allow_download:
        raise MnistDataError(
            f"MNIST not found: neither {MNIST_FILE} nor {cached} exists and downloading is off. "
            "Clone the full repository (it ships data/mnist.npz) or allow the download."
        )
    try:
        downloaded = _download_mnist()
    except Exception as exc:  # network errors come in many types
        raise MnistDataError(
            f"MNIST not found at {MNIST_FILE} or {cached}, and downloading {KERAS_MNIST_URL} failed ({exc}). "
            "Clone the full repository, which ships data/mnist.npz, or retry with a network."
        ) from exc
    return _read_npz(downloaded)


def to_float_images(x: np.ndarray) -> np.ndarray:
    """Return uint8 images ``(N, H, W)`` as float32 in [0, 1] with a channel axis, ``(N, H, W, 1)``."""
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixel values 0..255, got dtype {x.dtype}")
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, H, W) or (N, H, W, C), got {x.shape}")
    return x.astype(np.float32) / 255.0


def load_mnist_splits(
    val_size: int = 5000,
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed: int = config.DEFAULT_SEED,
) -> dict[str, np.ndarray]:
    """Return float32 ``x_train, y_train, x_val, y_val, x_test, y_test`` (images (N, 28, 28, 1) in [0, 1]).

    The validation set is the last ``val_size`` official training images (the test set is never
    used for choices). ``train_subset`` / ``test_subset`` take a seeded, class-stratified sample,
    for quick mode.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()
    if not 0 <= val_size < len(x_train):
        raise ValueError(f"val_size must be in [0, {len(x_train)}), got {val_size}")
    split = len(x_train) - val_size
    x_val, y_val = x_train[split:], y_train[split:]
    x_train, y_train = x_train[:split], y_train[:split]
    rng = np.random.default_rng(seed)
    if train_subset is not None:
        x_train, y_train = stratified_subset(x_train, y_train, train_subset, rng, "train_subset")
        if val_size:
            keep = max(1, min(val_size, train_subset // 5))
            x_val, y_val = stratified_subset(x_val, y_val, keep, rng, "val_subset")
    if test_subset is not None:
        x_test, y_test = stratified_subset(x_test, y_test, test_subset, rng, "test_subset")
    return {
        "x_train": to_float_images(x_train),
        "y_train": y_train.astype(np.int64),
        "x_val": to_float_images(x_val),
        "y_val": y_val.astype(np.int64),
        "x_test": to_float_images(x_test),
        "y_test": y_test.astype(np.int64),
    }


def stratified_subset(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator, name: str):
    """Return ``n`` samples of ``(x, y)`` with the class proportions of ``y``, in their original order."""
    if not 0 < n <= len(y):
        raise ValueError(f"{name} must be between 1 and {len(y)}, got {n}")
    if n == len(y):
        return x, y
    picked = []
    classes, counts = np.unique(y, return_counts=True)
    quotas = np.floor(counts / counts.sum() * n).astype(int)
    quotas[np.argsort(-(counts / counts.sum() * n - quotas))[: n - quotas.sum()]] += 1
    for cls, quota in zip(classes, quotas):
        idx = np.flatnonzero(y == cls)
        picked.append(rng.choice(idx, size=quota, replace=False))
    order = np.sort(np.concatenate(picked))
    return x[order], y[order]


def sample_mnist_splits(
    train_size: int | None = None,
    val_size: int | None = None,
    seed: int = config.DEFAULT_SEED,
) -> dict[str, np.ndarray]:
    """Return :func:`load_mnist_splits` with a class-stratified sample of ``train_size`` training
    images and ``val_size`` validation images (None: all 55,000 / 5,000); the test set is whole.

    Unlike ``load_mnist_splits(train_subset=n)``, which also cuts the validation set to n/5, the
    validation images stay whole unless ``val_size`` says otherwise: more validation images, less
    noise when settings are compared. Defined in notebook 04 (its studies), reused by notebook 06.
    """
    splits = load_mnist_splits(seed=seed)
    rng = np.random.default_rng(seed)
    for part, size in (("train", train_size), ("val", val_size)):
        if size is not None:
            x, y = stratified_subset(
                splits[f"x_{part}"], splits[f"y_{part}"], int(size), rng, f"{part}_size"
            )
            splits[f"x_{part}"], splits[f"y_{part}"] = x, y
    return splits


def make_dataset(
    x: np.ndarray,
    y: np.ndarray | None = None,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int = config.DEFAULT_SEED,
    augment: Callable | None = None,
    cache: bool = True,
):
    """Return a batched, prefetched ``tf.data.Dataset`` of ``(x, y)`` (or ``x``), optionally shuffled and augmented.

    ``augment`` (e.g. :func:`mnist_augmenter`) is applied per batch after caching and shuffling,
    so every epoch sees new random transformations.
    """
    import tensorflow as tf

    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if y is not None and len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    ds = tf.data.Dataset.from_tensor_slices((x, y) if y is not None else x)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(buffer_size=len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        if y is not None:
            ds = ds.map(
                lambda xb, yb: (augment(xb, training=True), yb), num_parallel_calls=tf.data.AUTOTUNE
            )
        else:
            ds = ds.map(lambda xb: augment(xb, training=True), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def mnist_augmenter(
    translate: float = 0.08,
    rotate_degrees: float = 8.0,
    zoom: float = 0.08,
    seed: int = config.DEFAULT_SEED,
):
    """Return a light Keras augmentation pipeline for digits (small shifts, rotations, zooms; no flips)."""
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomRotation(rotate_degrees / 360.0, fill_mode="constant", seed=seed),
            keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 1),
            keras.layers.RandomTranslation(
                translate, translate, fill_mode="constant", seed=seed + 2
            ),
        ],
        name="mnist_augmenter",
    )


def class_mean_images(images: np.ndarray, labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Return the mean image of each class, shape (num_classes, H, W), float64 (NaN for an absent class)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    labels = np.asarray(labels).astype(int)
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    out = np.full((num_classes,) + images.shape[1:], np.nan)
    for k in range(num_classes):
        mask = labels == k
        if mask.any():
            out[k] = images[mask].mean(axis=0)
    return out
