"""FSRCNN builder, model names, weight/MAC counts, the bicubic start and transfer between scales."""

import numpy as np
import pytest

from helpers import sr
from helpers.kit import keras_policy


@pytest.fixture(scope="module")
def fsrcnn():
    return sr.build_fsrcnn()


def test_fsrcnn_has_the_papers_12464_weights_and_12809_keras_parameters(fsrcnn):
    # 5x5x1x56 + 1x1x56x12 + 4 x 3x3x12x12 + 1x1x12x56 + 9x9x56x1
    assert sr.fsrcnn_weight_count(fsrcnn) == 1400 + 672 + 4 * 1296 + 672 + 4536 == 12464
    # + biases (56 + 12 + 4*12 + 56 + 1) + one PReLU slope per channel (56 + 12 + 4*12 + 56)
    assert fsrcnn.count_params() == 12464 + 173 + 172 == 12809


def test_fsrcnn_s_has_3937_weights_and_4086_keras_parameters():
    small = sr.build_fsrcnn(3, d=32, s=5, m=1)
    assert sr.fsrcnn_weight_count(small) == 800 + 160 + 225 + 160 + 2592 == 3937
    assert small.count_params() == 3937 + 75 + 74 == 4086


def test_variants_change_the_counts_as_computed_by_hand():
    sep = sr.build_fsrcnn(separable=True)
    assert sr.fsrcnn_weight_count(sep) == 1400 + 672 + 4 * (9 * 12 + 144) + 672 + 4536 == 8288
    assert {type(sep.get_layer(f"mapping_{i}")).__name__ for i in range(1, 5)} == {
        "SeparableConv2D"
    }
    relu = sr.build_fsrcnn(activation="relu")
    assert relu.count_params() == 12464 + 173 and not any(
        "PReLU" in type(layer).__name__ for layer in relu.layers
    )
    bn = sr.build_fsrcnn(batch_norm=True)
    # no conv biases but the deconvolution's; 4 BN parameters per channel of each of the 8 conv outputs
    assert sr.fsrcnn_weight_count(bn) == 12464
    assert bn.count_params() == 12464 + 1 + 172 + 4 * 172


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_is_scale_times_the_input_for_any_size(scale):
    model = sr.build_fsrcnn(scale, d=8, s=4, m=1)
    out = model(np.zeros((1, 10, 13, 1), np.float32))
    assert tuple(out.shape) == (1, 10 * scale, 13 * scale, 1)
    assert tuple(model.input_shape) == (None, None, None, 1)


def test_prelu_slopes_are_shared_over_space(fsrcnn):
    prelu = fsrcnn.get_layer("feature_extraction_prelu")
    assert tuple(prelu.get_weights()[0].shape) == (1, 1, 56)


def test_tf_keras_build_is_the_same_network():
    legacy = sr.build_fsrcnn(3, d=8, s=4, m=1, keras_module=keras_policy.legacy_keras())
    modern = sr.build_fsrcnn(3, d=8, s=4, m=1)
    assert type(legacy).__module__.startswith("tf_keras")
    assert sr.fsrcnn_weight_count(legacy) == sr.fsrcnn_weight_count(modern)
    legacy.set_weights(modern.get_weights())
    x = np.random.default_rng(0).random((1, 9, 11, 1), dtype=np.float32)
    np.testing.assert_allclose(legacy(x).numpy(), np.asarray(modern(x)), atol=1e-5)


def test_builder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        sr.build_fsrcnn(activation="tanh")
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        sr.build_fsrcnn(scale=1)
    with pytest.raises(ValueError, match="d must be a positive integer"):
        sr.build_fsrcnn(d=0)


# ----------------------------------------------------------------------------- model names
@pytest.mark.parametrize(
    "name, spec",
    [
        ("fsrcnn_x3", {"scale": 3}),
        ("fsrcnn_x2", {"scale": 2}),
        ("fsrcnn_relu_x3", {"scale": 3, "activation": "relu"}),
        ("fsrcnn_s_x4", {"scale": 4, "d": 32, "s": 5, "m": 1}),
        ("fsrcnn_separable_x3", {"scale": 3, "separable": True}),
        ("fsrcnn_bn_x2", {"scale": 2, "batch_norm": True}),
    ],
)
def test_model_names_give_scale_and_variant(name, spec):
    assert sr.fsrcnn_spec(name) == spec


@pytest.mark.parametrize(
    "bad", ["fsrcnn", "fsrcnn_x1", "fsrcnn_x5", "fsrcnn_tanh_x3", "FSRCNN_x3", "resnet", "", None]
)
def test_bad_model_names_list_the_accepted_ones(bad):
    with pytest.raises(ValueError, match="fsrcnn_x2, fsrcnn_x3, fsrcnn_x4, fsrcnn_s_x2") as err:
        sr.fsrcnn_spec(bad)
    assert repr(bad) in str(err.value)


def test_every_saved_model_name_is_accepted_and_names_are_unique():
    accepted = sr.accepted_names()
    assert len(accepted) == len(set(accepted)) == len(sr.VARIANTS) * 3 == 6 * 3
    assert set(sr.MODEL_NAMES) <= set(accepted)
    assert all(sr.fsrcnn_spec(n)["scale"] == int(n[-1]) for n in accepted)


def test_model_from_name_starts_as_bicubic_unless_it_has_batch_norm():
    relu = sr.fsrcnn_from_name("fsrcnn_relu_x2")
    assert sr.fsrcnn_config(relu) == dict(
        scale=2, d=56, s=12, m=4, activation="relu", separable=False, batch_norm=False
    )
    # bicubic start: channel 0 of the first layer is the centre tap, 1.0
    kernel = relu.get_layer("feature_extraction").get_weights()[0]
    assert kernel[2, 2, 0, 0] == 1.0 and np.count_nonzero(kernel[..., 0]) == 1
    bn = sr.fsrcnn_from_name("fsrcnn_bn_x3")
    assert sr.fsrcnn_config(bn)["batch_norm"]
    assert bn.get_layer("feature_extraction").get_weights()[0][2, 2, 0, 0] != 1.0


# ----------------------------------------------------------------------------- counts
def test_macs_per_output_pixel_divide_the_weights_by_scale_squared(fsrcnn):
    assert sr.macs_per_output_pixel(fsrcnn) == pytest.approx(12464 / 9)
    assert sr.macs_per_output_pixel(sr.build_fsrcnn(2)) == pytest.approx(12464 / 4)
    table = sr.layer_macs_table(fsrcnn)
    assert list(table["layer"]) == [
        "feature_extraction",
        "shrinking",
        "mapping_1",
        "mapping_2",
        "mapping_3",
        "mapping_4",
        "expanding",
        "deconvolution",
    ]
    sep = sr.build_fsrcnn(separable=True)
    assert sr.macs_per_output_pixel(sep) == pytest.approx(8288 / 9)


def test_config_and_receptive_field_are_read_back_from_the_model(fsrcnn):
    assert sr.fsrcnn_config(fsrcnn) == dict(
        scale=3, d=56, s=12, m=4, activation="prelu", separable=False, batch_norm=False
    )
    cfg = dict(scale=4, d=16, s=5, m=2, activation="relu", separable=True, batch_norm=True)
    assert sr.fsrcnn_config(sr.build_fsrcnn(**cfg)) == cfg
    assert sr.receptive_field(fsrcnn) == 1 + 4 + 4 * 2 == 13
    assert sr.receptive_field(sr.build_fsrcnn(3, 32, 5, 1)) == 7


# ----------------------------------------------------------------------------- bicubic start and transfer
def test_transfer_keeps_every_layer_but_the_deconvolution():
    source = sr.build_fsrcnn(3, d=8, s=4, m=1)
    target = sr.transfer_fsrcnn(source, 2)
    assert sr.fsrcnn_scale(target) == 2
    for name in ("feature_extraction", "mapping_1", "expanding_prelu"):
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        sr.transfer_fsrcnn(source, 1)


def test_cubic_kernel_matches_keys_weights_by_hand():
    # x2: distances |k - 3.5| / 2 -> Keys cubic (a = -0.5) values; both phases already sum to 1.
    expected = [
        -0.0234375,
        -0.0703125,
        0.2265625,
        0.8671875,
        0.8671875,
        0.2265625,
        -0.0703125,
        -0.0234375,
        0.0,
    ]
    np.testing.assert_allclose(sr.cubic_kernel_1d(2), expected, atol=1e-12)
    for scale in (2, 3, 4):
        w = sr.cubic_kernel_1d(scale)
        for phase in range(scale):
            assert w[phase::scale].sum() == pytest.approx(1.0)
    # x3: tap 4 sits on the LR pixel centre, taps 1 and 7 one LR pixel away (cubic = 0 there).
    np.testing.assert_allclose(sr.cubic_kernel_1d(3)[[1, 4, 7]], [0.0, 1.0, 0.0], atol=1e-12)


def smooth_y(h=30, w=34):
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(np.random.default_rng(0).random((h, w)), 2)
    return ((f - f.min()) / np.ptp(f) * 0.8 + 0.1).astype(np.float32)[None, :, :, None]


def silence_random_channels(model):
    """Zero the deconvolution's input channels 1.. so only the pass-through channel 0 is seen."""
    deconv = model.get_layer("deconvolution")
    weights = deconv.get_weights()
    weights[0][:, :, 0, 1:] = 0.0
    deconv.set_weights(weights)
    return weights


@pytest.mark.parametrize("scale, tolerance", [(2, 1e-5), (3, 0.02)])
def test_bicubic_init_makes_the_network_interpolate(scale, tolerance):
    model = sr.init_as_bicubic(sr.build_fsrcnn(scale, d=16, s=6, m=2))
    silence_random_channels(model)
    x = smooth_y()
    out, ref = np.asarray(model(x)), sr.bicubic_predict_fn(scale)(x)
    b = 6 * scale  # away from the zero-padded border
    # x2: Pillow's bicubic fits in the 9 taps exactly; x3 cuts its tails (renormalised).
    assert np.abs(out - ref)[:, b:-b, b:-b].max() < tolerance


def test_bicubic_init_works_for_separable_and_refuses_batch_norm():
    model = sr.init_as_bicubic(sr.build_fsrcnn(2, d=8, s=4, m=1, separable=True))
    silence_random_channels(model)
    x = smooth_y()
    error = np.abs(np.asarray(model(x)) - sr.bicubic_predict_fn(2)(x))[:, 12:-12, 12:-12]
    assert error.max() < 1e-5
    with pytest.raises(ValueError, match="batch_norm"):
        sr.init_as_bicubic(sr.build_fsrcnn(batch_norm=True))


def test_deconv_tap_offsets_follow_the_same_padding():
    # x3: pad 3, tap 4 on the LR pixel centre; x2: pad 3, taps 3 and 4 a quarter LR pixel either side.
    np.testing.assert_allclose(sr.deconv_tap_offsets(3), (np.arange(9) - 4) / 3)
    np.testing.assert_allclose(sr.deconv_tap_offsets(2)[[3, 4]], [-0.25, 0.25])


def test_transfer_resamples_a_bicubic_deconvolution_into_near_bicubic():
    source = sr.init_as_bicubic(sr.build_fsrcnn(3, d=8, s=4, m=1))
    weights = silence_random_channels(source)
    target = sr.transfer_fsrcnn(source, 2)
    x = smooth_y()
    error = np.abs(np.asarray(target(x)) - sr.bicubic_predict_fn(2)(x))[:, 12:-12, 12:-12]
    assert error.max() < 0.03  # linear interpolation of the cubic's samples, not the exact cubic
    same = sr.resample_deconv_kernel(weights[0], 3, 3)
    np.testing.assert_allclose(same, weights[0], atol=1e-12)
