"""Augmentation: affine pipeline and the hand-written elastic distortion (shapes, range, identity at
inference, exact resampling of known fields, seeds, strength vs alpha, saving, errors, the figure)."""

import keras
import numpy as np
import pytest
from subprocess_testing import run_python

from helpers import augment, data

ElasticDistortion = augment.elastic_distortion_layer()


def digits(n=8, seed=0):
    """Return ``n`` blurry blob "digits" (N, 28, 28, 1) float32 in [0, 1], with exact 0 and 1 pixels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    out = np.zeros((n, 28, 28, 1), np.float32)
    for i in range(n):
        cy, cx = rng.uniform(9, 19, size=2)
        r = np.hypot(yy - cy, xx - cx)
        out[i, ..., 0] = np.clip(1.5 - np.abs(r - rng.uniform(4, 7)) / 1.5, 0, 1)
    return out


@pytest.fixture(scope="module")
def x():
    return digits()


# --------------------------------------------------------------------------- the resampler


def test_zero_field_gives_the_input_exactly(x):
    out = np.asarray(augment._bilinear_warp(x, np.zeros(x.shape[:3] + (2,), np.float32)))
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("dy, dx", [(0, 1), (2, 0), (-1, 3), (1, -2)])
def test_constant_integer_field_shifts_the_image_with_black_fill(x, dy, dx):
    field = np.broadcast_to(np.float32([dy, dx]), x.shape[:3] + (2,))
    out = np.asarray(augment._bilinear_warp(x, field))
    # out[y, x] = in[y + dy, x + dx]: content moves by (-dy, -dx); zeros come in from the edge
    padded = np.pad(x, ((0, 0), (4, 4), (4, 4), (0, 0)))
    expected = padded[:, 4 + dy : 4 + dy + 28, 4 + dx : 4 + dx + 28]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_half_pixel_field_averages_neighbours(x):
    field = np.broadcast_to(np.float32([0.0, 0.5]), x.shape[:3] + (2,))
    out = np.asarray(augment._bilinear_warp(x, field))
    right = np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 0)))[:, :, 1:]
    np.testing.assert_allclose(out, 0.5 * (x + right), atol=1e-6)


def test_constant_noise_field_stays_constant_whatever_sigma():
    import tensorflow as tf

    noise = tf.fill((2, 28, 28, 2), 0.3)
    for sigma in (0.5, 3.0, 12.0):
        np.testing.assert_allclose(np.asarray(augment._smooth_field(noise, sigma)), 0.3, atol=1e-6)


def test_gaussian_kernel_sums_to_one_and_is_symmetric():
    k = augment.gaussian_kernel_1d(3.0)
    assert len(k) == 2 * 9 + 1
    assert k.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(k, k[::-1])


# --------------------------------------------------------------------------- the elastic layer


def test_elastic_keeps_shape_dtype_and_range(x):
    out = ElasticDistortion(seed=1)(x, training=True)
    assert tuple(out.shape) == x.shape and out.dtype == "float32"
    out = np.asarray(out)
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    assert not np.allclose(out, x)


def test_elastic_is_the_identity_at_inference(x):
    layer = ElasticDistortion(seed=1)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    model = keras.Sequential([keras.Input((28, 28, 1)), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_alpha_zero_gives_the_input(x):
    out = np.asarray(ElasticDistortion(alpha=0.0, sigma=4.0, seed=3)(x, training=True))
    np.testing.assert_allclose(out, x, atol=1e-6)


def test_same_seed_same_distortion_and_draws_differ(x):
    a, b = ElasticDistortion(seed=7), ElasticDistortion(seed=7)
    first = np.asarray(a(x))
    np.testing.assert_array_equal(first, np.asarray(b(x)))
    assert not np.allclose(first, np.asarray(a(x)))  # the next batch gets new fields
    assert not np.allclose(first, np.asarray(ElasticDistortion(seed=8)(x)))


def test_displacement_grows_with_alpha(x):
    lengths, changes = [], []
    for alpha in (4.0, 16.0, 36.0):
        field = np.asarray(ElasticDistortion(alpha, 6.0, seed=5).sample_field(16, 28, 28))
        lengths.append(np.linalg.norm(field, axis=-1).mean())
        changes.append(np.abs(np.asarray(ElasticDistortion(alpha, 6.0, seed=5)(x)) - x).mean())
    # one seed, one noise: the field is proportional to alpha
    np.testing.assert_allclose(lengths, np.array([4.0, 16.0, 36.0]) * lengths[0] / 4.0, rtol=1e-5)
    assert changes[0] < changes[1] < changes[2]
    assert 1.0 < lengths[2] < 2.5  # the defaults move pixels by ~1.6 px on average


def test_elastic_runs_inside_tf_data_with_unknown_batch_size(x):
    ds = data.make_dataset(x, np.arange(len(x)), batch_size=3, augment=ElasticDistortion(seed=0))
    batches = [np.asarray(xb) for xb, _ in ds]
    assert [len(b) for b in batches] == [3, 3, 2]
    assert not np.allclose(np.concatenate(batches), x)


def test_elastic_round_trips_through_saving(tmp_path, x):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            ElasticDistortion(alpha=20.0, sigma=3.0, seed=11, name="elastic"),
        ]
    )
    model.save(tmp_path / "elastic.keras")
    loaded = keras.saving.load_model(tmp_path / "elastic.keras")
    layer = loaded.get_layer("elastic")
    assert type(layer).__name__ == "ElasticDistortion"
    assert (layer.alpha, layer.sigma, layer.seed) == (20.0, 3.0, 11)
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), x)
    np.testing.assert_array_equal(
        np.asarray(loaded(x, training=True)), np.asarray(model(x, training=True))
    )


def test_the_module_level_class_is_the_registered_class():
    assert augment.ElasticDistortion is ElasticDistortion
    assert (
        keras.saving.get_registered_object("helpers.augment>ElasticDistortion") is ElasticDistortion
    )
    with pytest.raises(AttributeError):
        augment.NoSuchLayer  # noqa: B018


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -2.0}, "sigma"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_elastic_arguments_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ElasticDistortion(**kwargs)


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1), (2, 1, 28, 28, 1)])
def test_wrong_input_rank_is_named(shape):
    with pytest.raises(ValueError, match="rank 4"):
        ElasticDistortion(seed=0)(np.zeros(shape, np.float32))


def test_integer_images_are_refused():
    with pytest.raises(TypeError, match="float"):
        ElasticDistortion(seed=0)(np.zeros((1, 28, 28, 1), np.uint8))


# --------------------------------------------------------------------------- the affine augmenter


def test_affine_keeps_shape_dtype_range_and_is_identity_at_inference(x):
    aug = augment.affine_augmenter(seed=3)
    out = np.asarray(aug(x, training=True))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    assert not np.allclose(out, x)
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    assert [type(layer).__name__ for layer in aug.layers] == [
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
    ]


def test_affine_same_seed_same_output(x):
    a = np.asarray(augment.affine_augmenter(seed=5)(x, training=True))
    np.testing.assert_array_equal(a, np.asarray(augment.affine_augmenter(seed=5)(x, training=True)))


def test_affine_ranges_reach_the_keras_layers():
    aug = augment.affine_augmenter(rotation_deg=15, scale=(0.8, 1.25), shift_px=2)
    rotation, zoom, shift = aug.layers
    assert rotation.factor == pytest.approx((-15 / 360, 15 / 360))
    assert zoom.height_factor == pytest.approx((1 / 1.25 - 1, 1 / 0.8 - 1))  # content scale 1/(1+z)
    assert (shift.height_lower, shift.height_upper) == pytest.approx((-2 / 28, 2 / 28))
    assert (shift.width_lower, shift.width_upper) == pytest.approx((-2 / 28, 2 / 28))


def test_affine_shift_only_moves_by_at_most_shift_px():
    x = np.zeros((32, 28, 28, 1), np.float32)
    x[:, 13, 13] = 1.0
    aug = augment.affine_augmenter(rotation_deg=0, scale=(1, 1), shift_px=2, seed=0)
    out = np.asarray(aug(x, training=True))[..., 0]
    ys, xs = np.nonzero(out > 1e-3)[1:]
    assert np.abs(ys - 13).max() <= 2 and np.abs(xs - 13).max() <= 2


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"rotation_deg": -5}, "rotation_deg"),
        ({"scale": (1.1, 0.9)}, "scale"),
        ({"scale": 0.9}, "scale"),
        ({"shift_px": -1}, "shift_px"),
    ],
)
def test_bad_affine_arguments_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        augment.affine_augmenter(**kwargs)


# --------------------------------------------------------------------------- the figure


def test_figure_has_one_row_per_augmenter_plus_originals(x):
    fig = augment.augment_batch_figure(
        x, {"affine": augment.affine_augmenter(), "elastic": ElasticDistortion(seed=0)}, n=5
    )
    assert len(fig.axes) == 3 * 5
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["original", "affine", "elastic"]
    fig2 = augment.augment_batch_figure(x[..., 0], ElasticDistortion(seed=0, name="el"), n=8)
    assert len(fig2.axes) == 2 * 8


def test_figure_rejects_bad_arguments(x):
    with pytest.raises(ValueError, match="n must be"):
        augment.augment_batch_figure(x, ElasticDistortion(seed=0), n=len(x) + 1)
    with pytest.raises(TypeError, match="augmenters"):
        augment.augment_batch_figure(x, 3)
    with pytest.raises(ValueError, match="augmenters"):
        augment.augment_batch_figure(x, {})


def test_elastic_layer_trains_inside_a_model(x):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            ElasticDistortion(seed=0),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert np.isfinite(model.train_on_batch(x, np.arange(len(x)) % 10))


FRESH_PROCESS = r"""
import sys
import keras
import numpy as np
import helpers.augment  # importing the module registers the layer
m = keras.saving.load_model(sys.argv[1])
x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
assert np.array_equal(np.asarray(m(x, training=False)), x)
print(type(m.layers[0]).__name__)
"""


def test_a_fresh_process_loads_the_layer_after_importing_the_module(tmp_path):
    model = keras.Sequential([keras.Input((28, 28, 1)), ElasticDistortion(seed=1)])
    model.save(tmp_path / "m.keras")
    out = run_python(FRESH_PROCESS, str(tmp_path / "m.keras"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "ElasticDistortion"
