"""Super-resolution data: offline photographs and their splits, BT.601 YCbCr, bicubic degradation,
aligned LR/HR patches and the training pipeline.

``check_scale`` is the one check of an upscaling factor: every public entry point of ``helpers.sr``
that takes a ``scale`` calls it once; the private helpers behind them trust their caller.

Degradation (used identically in training and evaluation): crop the HR image to a multiple of
``scale`` (:func:`modcrop`), then downscale the uint8 RGB image with Pillow's ``BICUBIC`` filter.
When Pillow reduces an image it widens the cubic kernel (a = -0.5) by the reduction factor, which is
the anti-aliased bicubic of MATLAB's ``imresize``; results differ from MATLAB only by rounding.
The model sees the Y channel of the LR image divided by 255; Cb and Cr are upscaled bicubically.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import numpy as np

Image = np.ndarray
NamedImages = list[tuple[str, np.ndarray]]

# Fixed split of the photographs that ship with the kit's dependencies (no network needed):
# scikit-image's bundled pictures (public domain / CC0) and scikit-learn's two sample photographs
# (china, flower: CC BY 2.0, see data/README.md for the attribution).
# Test: three varied, detailed colour photographs (portrait, still life, animal fur); it never
# changes and is never trained on. Validation: three pictures, evaluated as many fixed crops after
# every epoch. Training: everything else that is a photograph (scikit-image's synthetic pictures,
# text and binary masks are left out).
SR_SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "rocket",
        "motorcycle",
        "china",
        "camera",
        "moon",
        "hubble_deep_field",
        "retina",
        "immunohistochemistry",
        "cell",
        "brick",
        "grass",
        "gravel",
    ),
    "val": ("clock", "coins", "flower"),
    "test": ("astronaut", "coffee", "chelsea"),
}
# Photographs that do not come from ``skimage.data.<name>()``: name -> how to read them.
_SKLEARN_PHOTOS = {"china": "china.jpg", "flower": "flower.jpg"}
_SKIMAGE_ALIASES = {"motorcycle": "stereo_motorcycle"}  # the left view of the stereo pair
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
FOLDER_SPLIT_FRACTIONS = {"val": 0.1, "test": 0.2}
DOWNSCALE_FACTORS = (1.0, 0.9, 0.8, 0.7, 0.6)  # FSRCNN paper's data augmentation

# ITU-R BT.601 studio swing, RGB in [0, 1] -> YCbCr in [0, 255].
_YCBCR_MATRIX = np.array(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]],
    dtype=np.float64,
)
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float64)
_YCBCR_INVERSE = np.linalg.inv(_YCBCR_MATRIX)


# ----------------------------------------------------------------------------- images and splits
def _to_rgb_uint8(img: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``img`` as uint8 HxWx3 (grey images stacked to three channels)."""
    img = as_uint8_image(img, name)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    elif img.shape[2] == 1:
        img = np.concatenate([img] * 3, axis=-1)
    return img


def as_uint8_image(img: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``img`` (uint8, or float in [0, 1]) as a uint8 HxW or HxWxC array (C in 1, 3)."""
    img = np.asarray(img)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3)):
        raise ValueError(
            f"{name} has shape {img.shape}: pass a grey HxW (or HxWx1) or an RGB HxWx3 image "
            f"(drop an alpha channel with {name}[..., :3])"
        )
    if img.dtype == np.uint8:
        return img
    if np.issubdtype(img.dtype, np.floating):
        if img.size and (np.nanmin(img) < 0.0 or np.nanmax(img) > 1.0 or np.isnan(img).any()):
            raise ValueError(
                f"{name} is a float image with values outside [0, 1] (min {np.nanmin(img):.3g}, "
                f"max {np.nanmax(img):.3g}): pass uint8 pixels 0..255 or floats scaled to [0, 1]"
            )
        return np.round(img * 255.0).astype(np.uint8)
    raise ValueError(
        f"{name} has dtype {img.dtype}: pass uint8 pixels (0..255) or floats in [0, 1] "
        f"(e.g. {name}.astype(np.uint8) if the values are already 0..255)"
    )


@cache
def _bundled_photo(name: str) -> np.ndarray:
    """Return a photograph bundled with scikit-image or scikit-learn as uint8 RGB (read once, cached)."""
    if name in _SKLEARN_PHOTOS:
        from sklearn.datasets import load_sample_image

        img = load_sample_image(_SKLEARN_PHOTOS[name])
    else:
        import skimage.data

        img = getattr(skimage.data, _SKIMAGE_ALIASES.get(name, name))()
        if isinstance(img, tuple):  # stereo_motorcycle: (left, right, disparity)
            img = img[0]
    img = _to_rgb_uint8(img, name)
    img.setflags(write=False)
    return img


class UnreadableImageError(ValueError):
    """A file in a user's image folder is not an image Pillow can read (the message names the file)."""


def _read_image_file(path: Path) -> np.ndarray:
    """Return the image file at ``path`` as uint8 RGB, or raise :class:`UnreadableImageError` naming it."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        # Pillow reports truncated or corrupt files as OSError / SyntaxError, unknown formats as
        # UnidentifiedImageError; all three mean the same to the user: this file is not a picture.
        raise UnreadableImageError(
            f"{str(path)!r} is not a readable image ({type(err).__name__}: {err}): remove it from "
            f"the folder, or convert it to PNG/JPEG (e.g. re-save it in an image editor)"
        ) from err


def folder_split(names: Sequence[str], split: str) -> list[str]:
    """Return the names of ``split`` when sorted ``names`` are cut into train / val / test (70/10/20)."""
    names = sorted(names)
    n = len(names)
    n_test = max(1, round(n * FOLDER_SPLIT_FRACTIONS["test"])) if n >= 3 else 0
    n_val = max(1, round(n * FOLDER_SPLIT_FRACTIONS["val"])) if n >= 3 else 0
    # Interleave so every split samples the whole (sorted) collection, deterministically.
    test = names[:: max(1, n // n_test)][:n_test] if n_test else []
    rest = [x for x in names if x not in set(test)]
    val = rest[:: max(1, len(rest) // n_val)][:n_val] if n_val else []
    train = [x for x in rest if x not in set(val)]
    if n < 3:  # too few to split: use everything everywhere, stated in load_sr_images' error text
        train = val = test = names
    return {"train": train, "val": val, "test": test}[split]


def load_sr_images(split: str, folder: str | Path | None = None) -> NamedImages:
    """Return the ``split`` ("train", "val", "test") images as a list of (name, uint8 RGB HxWx3).

    Without ``folder``: the fixed split of the offline photographs in :data:`SR_SPLITS` (bundled with
    scikit-image and scikit-learn).
    With ``folder``: the png/jpg/bmp files in it (e.g. a downloaded T91 or DIV2K), split
    deterministically by sorted file name (about 70 % train, 10 % val, 20 % test).
    """
    if split not in SR_SPLITS:
        raise ValueError(f"split must be one of {sorted(SR_SPLITS)}, got {split!r}")
    if folder is None:
        return [(name, _bundled_photo(name)) for name in SR_SPLITS[split]]
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"folder={str(folder)!r} is not a directory: pass a folder of png/jpg/bmp images"
        )
    files = {
        p.name: p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    }
    if not files:
        raise ValueError(
            f"folder={str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)}): put some in it "
            f"or call load_sr_images(split) without folder for the built-in photographs"
        )
    return [(Path(n).stem, _read_image_file(files[n])) for n in folder_split(list(files), split)]


# ----------------------------------------------------------------------------- colour
def rgb_to_ycbcr(img: np.ndarray) -> np.ndarray:
    """Return the BT.601 studio-swing YCbCr of an RGB image (uint8, or float in [0, 1]) as float64 0..255."""
    arr = np.asarray(img)
    as_uint8_image(arr, "img")  # validates shape, dtype and range
    rgb = arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    if rgb.ndim == 2:
        rgb = rgb[..., None]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return rgb @ _YCBCR_MATRIX.T + _YCBCR_OFFSET


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """Return the RGB image (float64 in [0, 1], clipped) of a BT.601 studio-swing YCbCr image (0..255)."""
    ycbcr = np.asarray(ycbcr, dtype=np.float64)
    if ycbcr.ndim != 3 or ycbcr.shape[2] != 3:
        raise ValueError(f"ycbcr must have shape HxWx3 (Y, Cb, Cr in 0..255), got {ycbcr.shape}")
    return np.clip((ycbcr - _YCBCR_OFFSET) @ _YCBCR_INVERSE.T, 0.0, 1.0)


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Return the BT.601 studio-swing luma Y (float64, 16..235) of an RGB or grey image."""
    return rgb_to_ycbcr(img)[..., 0]


def to_uint8(rgb_unit: np.ndarray) -> np.ndarray:
    """Return a float image in [0, 1] rounded to uint8 0..255 (values outside are clipped)."""
    return np.clip(np.round(np.asarray(rgb_unit, dtype=np.float64) * 255.0), 0, 255).astype(
        np.uint8
    )


# ----------------------------------------------------------------------------- degradation
def check_scale(scale: int) -> int:
    """Return ``scale`` (the upscaling factor) as an int, or raise a ValueError unless it is an integer >= 2."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 2:
        raise ValueError(f"scale must be an integer >= 2 (e.g. 2, 3 or 4), got {scale!r}")
    return int(scale)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Return ``img`` cropped (bottom/right) so that height and width are multiples of ``scale``."""
    return _modcrop(img, check_scale(scale))


def _modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Return ``img`` cropped to multiples of an already checked ``scale``."""
    h, w = img.shape[:2]
    if h < scale or w < scale:
        raise ValueError(f"image of size {h}x{w} is smaller than scale={scale}")
    return img[: h - h % scale, : w - w % scale]


def _pil_resize(channel: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Return a float32 2-D array resized with Pillow's bicubic filter (float 'F' mode, no rounding)."""
    from PIL import Image as PILImage

    out = PILImage.fromarray(np.ascontiguousarray(channel, dtype=np.float32), mode="F").resize(
        (size_hw[1], size_hw[0]), PILImage.BICUBIC
    )
    return np.asarray(out, dtype=np.float32)


def bicubic_resize(img: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Return uint8 ``img`` (grey or RGB) resized to ``size_hw`` with anti-aliased bicubic (Pillow)."""
    from PIL import Image as PILImage

    img = as_uint8_image(img, "img")
    squeeze = img.ndim == 3 and img.shape[2] == 1
    pil = PILImage.fromarray(img[..., 0] if squeeze else img)
    out = np.asarray(
        pil.resize((int(size_hw[1]), int(size_hw[0])), PILImage.BICUBIC), dtype=np.uint8
    )
    return out[..., None] if squeeze else out


def bicubic_downscale(img: np.ndarray, scale: int) -> np.ndarray:
    """Return the LR image: ``modcrop(img, scale)`` shrunk ``scale`` times with anti-aliased bicubic (uint8)."""
    scale = check_scale(scale)
    return _downscale(_modcrop(as_uint8_image(img, "img"), scale), scale)


def _downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """Return a uint8 image whose sides are multiples of ``scale`` shrunk ``scale`` times."""
    return bicubic_resize(hr, (hr.shape[0] // scale, hr.shape[1] // scale))


def bicubic_upscale_channel(channel: np.ndarray, scale: int) -> np.ndarray:
    """Return a float 2-D channel enlarged ``scale`` times with bicubic interpolation (float32, unrounded)."""
    return _upscale_channel(channel, check_scale(scale))


def _upscale_channel(channel: np.ndarray, scale: int) -> np.ndarray:
    """Return ``channel`` enlarged by an already checked ``scale`` (float32)."""
    channel = np.asarray(channel, dtype=np.float32)
    return _pil_resize(channel, (channel.shape[0] * scale, channel.shape[1] * scale))


def sr_pair(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (cropped HR uint8 RGB, its bicubic LR uint8 RGB): the kit's one degradation."""
    return _sr_pair(hr, check_scale(scale))


def _sr_pair(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``sr_pair(hr, scale)`` for an already checked ``scale``."""
    hr = _modcrop(_to_rgb_uint8(hr, "hr"), scale)
    return hr, _downscale(hr, scale)


def lr_input(lr_rgb: np.ndarray) -> np.ndarray:
    """Return the model input for an LR image: its Y channel / 255 as float32 (1, h, w, 1)."""
    return (rgb_to_y(lr_rgb) / 255.0).astype(np.float32)[None, :, :, None]


# ----------------------------------------------------------------------------- patches
def _y_pairs(
    images: NamedImages, scale: int, downscale_factors: Sequence[float]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return (LR Y / 255, HR Y / 255) float32 pairs of every image at every downscale factor."""
    pairs = []
    for name, img in images:
        rgb = _to_rgb_uint8(img, name)
        for f in downscale_factors:
            if not 0.0 < f <= 1.0:
                raise ValueError(f"downscale factors must lie in (0, 1], got {f}")
            src = (
                rgb
                if f == 1.0
                else bicubic_resize(rgb, (round(rgb.shape[0] * f), round(rgb.shape[1] * f)))
            )
            hr, lr = _sr_pair(src, scale)
            pairs.append(
                (
                    (rgb_to_y(lr) / 255.0).astype(np.float32),
                    (rgb_to_y(hr) / 255.0).astype(np.float32),
                )
            )
    return pairs


class PatchSampler:
    """Random aligned (LR, HR) Y patch batches: the HR crop is ``scale`` x the LR crop, at the same place.

    The degraded (LR Y, HR Y) pairs of ``images`` are computed once per set of pictures and cached
    (:func:`training_pairs`); ``pairs`` (optional) passes such pairs directly instead of ``images``.
    ``weighting="image"`` draws every image (and shrunk copy) equally often, so one huge picture
    does not dominate training; ``"area"`` draws uniformly over all pixels.
    """

    def __init__(
        self,
        images: NamedImages,
        scale: int,
        patch_lr: int = 24,
        augment: bool = True,
        downscale_factors: Sequence[float] = DOWNSCALE_FACTORS,
        seed: int = 42,
        pairs: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
        weighting: str = "image",
    ) -> None:
        self.scale = check_scale(scale)
        if not images and pairs is None:
            raise ValueError(
                "images is empty: pass a list of (name, image) pairs, e.g. load_sr_images('train')"
            )
        if patch_lr < 3:
            raise ValueError(f"patch_lr must be at least 3 LR pixels, got {patch_lr}")
        self.patch_lr = int(patch_lr)
        self.augment = augment
        if pairs is None:
            pairs = _cached_pairs(images, self.scale, downscale_factors if augment else (1.0,))
        self.pairs = [p for p in pairs if min(p[0].shape) >= self.patch_lr]
        if not self.pairs:
            raise ValueError(
                f"every image is smaller than patch_lr={patch_lr} LR pixels: use a smaller patch_lr"
            )
        if weighting == "area":  # uniform over all patch positions: large images dominate
            w = np.array(
                [
                    (lr.shape[0] - patch_lr + 1) * (lr.shape[1] - patch_lr + 1)
                    for lr, _ in self.pairs
                ],
                float,
            )
        elif weighting == "image":  # every image (and every shrunk copy) as likely as any other
            w = np.ones(len(self.pairs))
        else:
            raise ValueError(f"weighting must be 'image' or 'area', got {weighting!r}")
        self.weights = w / w.sum()
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``n`` patches: LR float32 (n, p, p, 1) and HR float32 (n, s*p, s*p, 1), both in [0, 1]."""
        p, s = self.patch_lr, self.scale
        lr_out = np.empty((n, p, p, 1), np.float32)
        hr_out = np.empty((n, s * p, s * p, 1), np.float32)
        which = self.rng.choice(len(self.pairs), size=n, p=self.weights)
        for k, i in enumerate(which):
            lr, hr = self.pairs[i]
            top = int(self.rng.integers(0, lr.shape[0] - p + 1))
            left = int(self.rng.integers(0, lr.shape[1] - p + 1))
            lr_patch = lr[top : top + p, left : left + p]
            hr_patch = hr[s * top : s * (top + p), s * left : s * (left + p)]
            if self.augment:
                turns, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
                lr_patch, hr_patch = np.rot90(lr_patch, turns), np.rot90(hr_patch, turns)
                if flip:
                    lr_patch, hr_patch = lr_patch[:, ::-1], hr_patch[:, ::-1]
            lr_out[k, ..., 0] = lr_patch
            hr_out[k, ..., 0] = hr_patch
        return lr_out, hr_out

    def batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Return an endless iterator of fresh random batches of ``batch_size`` patches."""
        while True:
            yield self.sample(batch_size)


_PAIR_CACHE: dict[tuple, tuple] = {}


def training_pairs(
    images: NamedImages, scale: int, downscale_factors: Sequence[float] = DOWNSCALE_FACTORS
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Return the (LR Y / 255, HR Y / 255) float32 pairs of ``images`` at every downscale factor (cached in memory)."""
    return _cached_pairs(images, check_scale(scale), downscale_factors)


def _cached_pairs(
    images: NamedImages, scale: int, downscale_factors: Sequence[float] = DOWNSCALE_FACTORS
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Return ``training_pairs`` for an already checked ``scale``, computed once per set of images."""
    import hashlib

    # Keyed by content, not identity: notebooks reload and re-crop the same pictures.
    key = (
        tuple(
            (name, hashlib.blake2b(np.ascontiguousarray(img).tobytes(), digest_size=16).hexdigest())
            for name, img in images
        ),
        scale,
        tuple(downscale_factors),
    )
    if key not in _PAIR_CACHE:
        if len(_PAIR_CACHE) >= 8:
            _PAIR_CACHE.pop(next(iter(_PAIR_CACHE)))
        _PAIR_CACHE[key] = tuple(_y_pairs(images, scale, downscale_factors))
    return _PAIR_CACHE[key]


def crop_center(images: NamedImages, size: int) -> NamedImages:
    """Return the images cut to their central ``size`` x ``size`` region (smaller sides are kept)."""
    out = []
    for name, img in images:
        h, w = img.shape[:2]
        top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
        out.append((name, img[top : top + size, left : left + size]))
    return out


def make_sr_dataset(
    images: NamedImages,
    scale: int,
    patch_lr: int = 24,
    batch_size: int = 32,
    augment: bool = True,
    seed: int = 42,
    downscale_factors: Sequence[float] = DOWNSCALE_FACTORS,
):
    """Return an endless, prefetched ``tf.data`` of (LR Y patch, HR Y patch) batches in [0, 1].

    The degraded image pyramid is computed once and cached in memory; every batch holds fresh random
    aligned crops (HR = ``scale`` x LR, as ``Conv2DTranspose(strides=scale, padding="same")`` outputs),
    with random flips and 90-degree rotations and, with ``augment``, the paper's down-scaling
    augmentation (HR images also shrunk by ``downscale_factors``) before the crops are taken.
    """
    import tensorflow as tf

    sampler = PatchSampler(images, scale, patch_lr, augment, downscale_factors, seed)
    p, s = sampler.patch_lr, sampler.scale
    signature = (
        tf.TensorSpec((batch_size, p, p, 1), tf.float32),
        tf.TensorSpec((batch_size, s * p, s * p, 1), tf.float32),
    )
    ds = tf.data.Dataset.from_generator(
        lambda: sampler.batches(batch_size), output_signature=signature
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def representative_lr_patches(
    n: int = 200, scale: int = 3, patch: int = 32, seed: int = 42
) -> np.ndarray:
    """Return ``n`` float32 LR Y patches (n, patch, patch, 1) in [0, 1] from the TRAIN images, as in training."""
    if n < 1:
        raise ValueError(f"n must be a positive number of patches, got {n}")
    return PatchSampler(load_sr_images("train"), scale, patch_lr=patch, seed=seed).sample(n)[0]
