"""Augmentation for batches of MNIST digits, ``(N, 28, 28, 1)`` float32 in [0, 1]: affine and elastic.

* :func:`affine_augmenter` returns one ``keras.Sequential`` of Keras' own ``RandomRotation``,
  ``RandomZoom`` and ``RandomTranslation`` layers (rotation, scale, shift; black fill, no flips).
* ``ElasticDistortion``: the elastic distortion of Simard, Steinkraus & Platt (ICDAR 2003), a
  Keras layer vectorised with TensorFlow ops and registered for saving.
* :func:`augment_batch_figure` shows originals and augmented versions side by side.

Every augmenter is a Keras layer: call it as ``aug(images, training=True)``, pass it as ``augment=``
to :func:`helpers.data.make_dataset` (applied per batch inside ``tf.data``), or put it at the front
of a model (active in ``fit``, identity in ``evaluate`` / ``predict``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from helpers.kit import config

# Ciresan et al. (2010, 2012) reached 99.65-99.77% on MNIST with alpha 36-38, sigma 5-6 in Simard's
# parameterisation (uniform noise in [-1, 1], a unit-sum Gaussian, times alpha); see ElasticDistortion.
DEFAULT_ALPHA = 36.0
DEFAULT_SIGMA = 6.0
GAUSSIAN_TRUNCATE = 3.0  # the smoothing kernel reaches ceil(3 * sigma) pixels either side
MNIST_SIZE = 28


def affine_augmenter(
    rotation_deg: float = 15.0,
    scale: tuple[float, float] = (0.9, 1.1),
    shift_px: float = 2.0,
    seed: int = config.DEFAULT_SEED,
    image_size: int = MNIST_SIZE,
):
    """Return a ``keras.Sequential`` of random rotation, scaling and shift, for ``(N, H, W, C)`` images.

    Built from Keras' own preprocessing layers, which are vectorised, work inside ``tf.data`` and
    are the identity when ``training=False``:

    * ``RandomRotation(rotation_deg / 360)``: angle uniform in [-rotation_deg, +rotation_deg];
    * ``RandomZoom``: Keras' zoom factor ``z`` scales the content by ``1 / (1 + z)``, so ``z`` is
      drawn uniformly in ``[1/scale[1] - 1, 1/scale[0] - 1]`` and the digit's scale lies in
      ``scale`` (the width follows the height: the aspect ratio is kept);
    * ``RandomTranslation(shift_px / image_size)``: shifts uniform in [-shift_px, +shift_px] pixels
      along each axis.

    Every layer interpolates bilinearly and fills with 0 (black background). The layers are seeded
    ``seed``, ``seed + 1``, ``seed + 2``: two augmenters built with one seed give the same outputs.
    Outputs of [0, 1] inputs stay in [0, 1] up to float rounding (about 1e-7); nothing is clipped.
    """

    if not 0 <= rotation_deg <= 180:
        raise ValueError(f"rotation_deg must be in [0, 180] degrees, got {rotation_deg!r}")
    try:
        lo, hi = (float(s) for s in scale)
    except (TypeError, ValueError):
        raise ValueError(
            f"scale must be a pair (min, max) such as (0.9, 1.1), got {scale!r}"
        ) from None
    if not 0 < lo <= hi:
        raise ValueError(f"scale must be a pair 0 < min <= max, such as (0.9, 1.1); got {scale!r}")
    if int(image_size) <= 0:
        raise ValueError(f"image_size must be a positive number of pixels, got {image_size!r}")
    if not 0 <= shift_px < image_size:
        raise ValueError(f"shift_px must be in [0, image_size={image_size}), got {shift_px!r}")
    shift = float(shift_px) / float(image_size)
    return keras.Sequential(
        [
            keras.layers.RandomRotation(
                rotation_deg / 360.0, fill_mode="constant", fill_value=0.0, seed=seed
            ),
            keras.layers.RandomZoom(
                (1.0 / hi - 1.0, 1.0 / lo - 1.0),
                fill_mode="constant",
                fill_value=0.0,
                seed=seed + 1,
            ),
            keras.layers.RandomTranslation(
                shift, shift, fill_mode="constant", fill_value=0.0, seed=seed + 2
            ),
        ],
        name="affine_augmenter",
    )


def gaussian_kernel_1d(sigma: float, truncate: float = GAUSSIAN_TRUNCATE) -> np.ndarray:
    """Return a unit-sum 1-D Gaussian of standard deviation ``sigma``, ``2*ceil(truncate*sigma)+1`` taps."""
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}")
    radius = max(1, math.ceil(truncate * sigma))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _smooth_field(noise, sigma: float):
    """Return ``noise`` (N, H, W, K) blurred per channel by a separable Gaussian of ``sigma`` pixels.

    A normalised convolution: the zero-padded blur divided by the blur of ones, so that pixels near
    the border average only over pixels inside the image (a constant field stays exactly constant).
    """

    k = tf.constant(gaussian_kernel_1d(sigma))
    channels = noise.shape[-1]
    ky = tf.tile(tf.reshape(k, (-1, 1, 1, 1)), (1, 1, channels, 1))
    kx = tf.tile(tf.reshape(k, (1, -1, 1, 1)), (1, 1, channels, 1))

    def blur(t):
        t = tf.nn.depthwise_conv2d(t, ky, strides=(1, 1, 1, 1), padding="SAME")
        return tf.nn.depthwise_conv2d(t, kx, strides=(1, 1, 1, 1), padding="SAME")

    ones = tf.ones_like(noise[:1])
    return blur(noise) / blur(ones)


def _bilinear_warp(images, field):
    """Return ``out[n, y, x] = images[n, y + dy, x + dx]``: bilinear, 0 outside the image.

    ``field`` is (N, H, W, 2), the displacement (dy, dx) in pixels of every output pixel.

    Vectorised: one batched gather per corner of the four neighbouring pixels. A zero field gives
    the input exactly (the weights are exactly 1 and 0).
    """

    images = tf.convert_to_tensor(images)
    field = tf.cast(field, images.dtype)
    shape = tf.shape(images)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    ys = tf.cast(tf.range(h), images.dtype)[None, :, None] + field[..., 0]
    xs = tf.cast(tf.range(w), images.dtype)[None, None, :] + field[..., 1]
    y0, x0 = tf.floor(ys), tf.floor(xs)
    wy, wx = ys - y0, xs - x0
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    flat = tf.reshape(images, tf.stack([n, h * w, c]))

    def corner(yi, xi):
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        idx = tf.clip_by_value(yi, 0, h - 1) * w + tf.clip_by_value(xi, 0, w - 1)
        values = tf.gather(flat, tf.reshape(idx, tf.stack([n, h * w])), batch_dims=1)
        values = tf.reshape(values, shape)
        return values * tf.cast(inside, images.dtype)[..., None]

    wy, wx = wy[..., None], wx[..., None]
    top = corner(y0, x0) * (1 - wx) + corner(y0, x0 + 1) * wx
    bottom = corner(y0 + 1, x0) * (1 - wx) + corner(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy


def _check_alpha_sigma(alpha: Any, sigma: Any) -> tuple[float, float]:
    """Return ``alpha, sigma`` as floats, or raise a ValueError naming the bad one."""
    try:
        alpha, sigma = float(alpha), float(sigma)
    except (TypeError, ValueError):
        raise ValueError(
            f"alpha and sigma must be numbers (pixels), got alpha={alpha!r}, sigma={sigma!r}"
        ) from None
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0 (0 = no distortion), got {alpha!r}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number of pixels, e.g. 6.0; got {sigma!r}")
    return alpha, sigma


@keras.saving.register_keras_serializable(package="helpers.augment")
class ElasticDistortion(keras.layers.Layer):
    """Random elastic distortion (Simard et al. 2003) of ``(N, H, W, C)`` float images; training only.

    ``ElasticDistortion(alpha=36, sigma=6, seed=None)`` after Simard, Steinkraus & Platt (ICDAR 2003):
    for every image, a displacement field with components uniform in [-1, 1] per pixel, smoothed by
    a Gaussian of ``sigma`` pixels (a separable depthwise convolution of the noise field) and
    multiplied by ``alpha``; the image is resampled at the displaced positions with bilinear
    interpolation, black outside. All images of a batch are distorted at once, each with its own
    field, shared by its channels. Training only: the identity when called with ``training=False``
    (as in ``predict`` / ``evaluate``); like Keras' random layers it distorts when called directly.

    **Defaults (alpha=36, sigma=6), MNIST-appropriate.** Within the range used by Ciresan et al.
    (2010, 2012: alpha 36-38, sigma 5-6), whose MNIST nets reached 99.65-99.77%, in the same
    parameterisation as Simard's. They give about 1.3 px root-mean-square displacement per axis
    (1.6 px mean length, measured), varying smoothly over ~6 px, a third of a digit: strokes bend
    and the digit stays legible.
    Simard's own alpha=34, sigma=4 is rougher and stronger (1.7 px per axis; some 4s and 3s break
    up), alpha=34, sigma=2 tears strokes (3.1 px), and alpha=8, sigma=3 (0.5 px) is hardly visible.
    A smaller sigma at equal alpha gives a stronger, rougher field; a larger one a gentler one.

    **Why written by hand.** Keras 3 does have ``keras.layers.RandomElasticTransform`` (on
    ``keras.ops.image.elastic_transform``), but not Simard's field: alpha and sigma are tied to one
    ``scale`` and to the image size, the noise is normal times sigma, and (checked in Keras 3.15)
    both displacement components are drawn with the same seed, so they are identical and every
    pixel moves along the diagonal; its TensorFlow backend also resamples image by image in a
    Python loop. KerasCV has no elastic layer (keras-cv issue #163 closed as stale), KerasHub none
    (only a proposal, keras-hub issue #2409), and either would be a new dependency; TF Addons'
    ``dense_image_warp`` is gone. An affine resampler (``ImageProjectiveTransformV3``) cannot apply
    a non-affine field, so the bilinear gather is written here with plain TF ops.

    Registered for saving as ``helpers.augment>ElasticDistortion``: importing this module is enough
    to load a model that contains it.
    """

    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        sigma: float = DEFAULT_SIGMA,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.alpha, self.sigma = _check_alpha_sigma(alpha, sigma)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = False

    def build(self, input_shape):
        _check_rank(input_shape)

    def sample_field(self, batch_size, height, width):
        """Return a random displacement field ``(batch_size, height, width, 2)`` = (dy, dx) in pixels."""
        noise = keras.random.uniform(
            (batch_size, height, width, 2), minval=-1.0, maxval=1.0, seed=self.seed_generator
        )
        return self.alpha * _smooth_field(noise, self.sigma)

    def call(self, inputs, training=True):
        _check_rank(inputs.shape)
        if not inputs.dtype.is_floating:
            raise TypeError(
                f"ElasticDistortion expects float images in [0, 1], got inputs of dtype "
                f"{inputs.dtype}; convert with helpers.data.to_float_images first"
            )
        if not training:
            return inputs
        shape = tf.shape(inputs)
        field = self.sample_field(shape[0], shape[1], shape[2])
        return _bilinear_warp(inputs, field)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "sigma": self.sigma,
            "seed": self.seed,
        }


def elastic_distortion_layer() -> type:
    """Return the ``ElasticDistortion`` class (kept for callers written before it was module-level)."""
    return ElasticDistortion


def _check_rank(shape: Any) -> None:
    """Raise a ValueError unless ``shape`` is a batch of images, (N, H, W, C)."""
    if shape is None or len(shape) != 4:
        raise ValueError(
            "ElasticDistortion expects inputs of rank 4, (batch, height, width, channels), got "
            f"shape {None if shape is None else tuple(shape)}; add the batch axis with x[None]"
        )


AUGMENTERS = ("none", "light", "affine", "affine+elastic")


def make_augmenter(name: str, seed: int = config.DEFAULT_SEED):
    """Return the kit's augmenter called ``name`` (a Keras layer), or None for ``"none"``.

    * ``"light"``: ``data.mnist_augmenter`` (+-8 degrees, 8% zoom and shift; notebooks 01-03);
    * ``"affine"``: :func:`affine_augmenter` (+-15 degrees, scale 0.9-1.1, +-2 px);
    * ``"affine+elastic"``: the affine one followed by ``ElasticDistortion()`` (alpha 36, sigma 6).
    """

    if name not in AUGMENTERS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTERS)}; got {name!r}")
    if name == "none":
        return None
    if name == "light":
        from helpers import data

        return data.mnist_augmenter(seed=seed)
    affine = affine_augmenter(seed=seed)
    if name == "affine":
        return affine
    elastic = elastic_distortion_layer()(seed=seed + 3, name="elastic_distortion")
    return keras.Sequential([affine, elastic], name="affine_elastic_augmenter")


def _named_augmenters(augmenters: Any) -> list[tuple[str, Callable]]:
    """Return ``[(label, augmenter), ...]`` from a mapping, a sequence or a single callable."""
    if isinstance(augmenters, Mapping):
        items = [(str(k), v) for k, v in augmenters.items()]
    elif callable(augmenters):
        items = [(getattr(augmenters, "name", "augmented"), augmenters)]
    elif isinstance(augmenters, Sequence) and not isinstance(augmenters, str):
        items = [(getattr(a, "name", f"augmenter {i}"), a) for i, a in enumerate(augmenters, 1)]
    else:
        raise TypeError(
            "augmenters must be a callable, a sequence of callables or a mapping label -> callable, "
            f"got {type(augmenters).__name__}"
        )
    if not items:
        raise ValueError("augmenters is empty: pass at least one augmenter")
    for label, aug in items:
        if not callable(aug):
            raise TypeError(f"augmenters[{label!r}] is not callable: {aug!r}")
    return items


def augment_batch_figure(images: np.ndarray, augmenters: Any, n: int = 8, title: str = ""):
    """Return a Figure: the first ``n`` images on the top row, one row per augmenter below them.

    ``augmenters`` is a callable, a sequence of callables (rows labelled with their ``.name``) or a
    mapping label -> callable; each is called as ``aug(images, training=True)``. Column ``j`` shows
    the same digit in every row, so each distortion is read against its original. The figure has
    ``(1 + len(augmenters)) * n`` axes.
    """
    from helpers.figures import plot_digit_grid

    items = _named_augmenters(augmenters)
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 1), got shape {x.shape}")
    if not 0 < int(n) <= len(x):
        raise ValueError(f"n must be between 1 and the number of images ({len(x)}), got {n!r}")
    n = int(n)
    x = x[:n]
    rows = [x] + [np.asarray(aug(x, training=True), dtype=np.float32) for _, aug in items]
    return plot_digit_grid(
        np.concatenate(rows),
        rows=len(rows),
        cols=n,
        title=title,
        row_labels=["original"] + [label for label, _ in items],
    )
