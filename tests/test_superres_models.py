"""FSRCNN builder, weight/MAC counts, whole-image upscaling, evaluation tables, training and saving."""

import numpy as np
import pytest

from helpers import config, keras_policy, superres


@pytest.fixture(scope="module")
def fsrcnn():
    return superres.build_fsrcnn()


def test_fsrcnn_has_the_papers_12464_weights_and_12809_keras_parameters(fsrcnn):
    # 5x5x1x56 + 1x1x56x12 + 4 x 3x3x12x12 + 1x1x12x56 + 9x9x56x1
    assert superres.fsrcnn_weight_count(fsrcnn) == 1400 + 672 + 4 * 1296 + 672 + 4536 == 12464
    # + biases (56 + 12 + 4*12 + 56 + 1) + one PReLU slope per channel (56 + 12 + 4*12 + 56)
    assert fsrcnn.count_params() == 12464 + 173 + 172 == 12809


def test_fsrcnn_s_has_3937_weights_and_4086_keras_parameters():
    small = superres.build_fsrcnn(3, d=32, s=5, m=1)
    assert superres.fsrcnn_weight_count(small) == 800 + 160 + 225 + 160 + 2592 == 3937
    assert small.count_params() == 3937 + 75 + 74 == 4086


def test_variants_change_the_counts_as_computed_by_hand():
    sep = superres.build_fsrcnn(separable=True)
    assert superres.fsrcnn_weight_count(sep) == 1400 + 672 + 4 * (9 * 12 + 144) + 672 + 4536 == 8288
    assert {type(sep.get_layer(f"mapping_{i}")).__name__ for i in range(1, 5)} == {
        "SeparableConv2D"
    }
    relu = superres.build_fsrcnn(activation="relu")
    assert relu.count_params() == 12464 + 173 and not any(
        "PReLU" in type(layer).__name__ for layer in relu.layers
    )
    bn = superres.build_fsrcnn(batch_norm=True)
    # no conv biases but the deconvolution's; 4 BN parameters per channel of each of the 8 conv outputs
    assert superres.fsrcnn_weight_count(bn) == 12464
    assert bn.count_params() == 12464 + 1 + 172 + 4 * 172


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_is_scale_times_the_input_for_any_size(scale):
    model = superres.build_fsrcnn(scale, d=8, s=4, m=1)
    out = model(np.zeros((1, 10, 13, 1), np.float32))
    assert tuple(out.shape) == (1, 10 * scale, 13 * scale, 1)
    assert tuple(model.input_shape) == (None, None, None, 1)


def test_prelu_slopes_are_shared_over_space(fsrcnn):
    prelu = fsrcnn.get_layer("feature_extraction_prelu")
    assert tuple(prelu.get_weights()[0].shape) == (1, 1, 56)


def test_tf_keras_build_is_the_same_network():
    legacy = superres.build_fsrcnn(3, d=8, s=4, m=1, keras_module=keras_policy.legacy_keras())
    modern = superres.build_fsrcnn(3, d=8, s=4, m=1)
    assert type(legacy).__module__.startswith("tf_keras")
    assert superres.fsrcnn_weight_count(legacy) == superres.fsrcnn_weight_count(modern)
    legacy.set_weights(modern.get_weights())
    x = np.random.default_rng(0).random((1, 9, 11, 1), dtype=np.float32)
    np.testing.assert_allclose(legacy(x).numpy(), np.asarray(modern(x)), atol=1e-5)


def test_builder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        superres.build_fsrcnn(activation="tanh")
    with pytest.raises(ValueError, match="scale"):
        superres.build_fsrcnn(scale=1)
    with pytest.raises(ValueError, match="d must be a positive integer"):
        superres.build_fsrcnn(d=0)


def test_macs_per_output_pixel_divide_the_weights_by_scale_squared(fsrcnn):
    assert superres.macs_per_output_pixel(fsrcnn) == pytest.approx(12464 / 9)
    assert superres.macs_per_output_pixel(superres.build_fsrcnn(2)) == pytest.approx(12464 / 4)
    table = superres.layer_macs_table(fsrcnn)
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
    sep = superres.build_fsrcnn(separable=True)
    assert superres.macs_per_output_pixel(sep) == pytest.approx(8288 / 9)


def test_config_and_receptive_field_are_read_back_from_the_model(fsrcnn):
    assert superres.fsrcnn_config(fsrcnn) == dict(
        scale=3, d=56, s=12, m=4, activation="prelu", separable=False, batch_norm=False
    )
    cfg = dict(scale=4, d=16, s=5, m=2, activation="relu", separable=True, batch_norm=True)
    assert superres.fsrcnn_config(superres.build_fsrcnn(**cfg)) == cfg
    assert superres.receptive_field(fsrcnn) == 1 + 4 + 4 * 2 == 13
    assert superres.receptive_field(superres.build_fsrcnn(3, 32, 5, 1)) == 7


def test_transfer_keeps_every_layer_but_the_deconvolution():
    source = superres.build_fsrcnn(3, d=8, s=4, m=1)
    target = superres.transfer_fsrcnn(source, 2)
    assert superres.fsrcnn_scale(target) == 2
    for name in ("feature_extraction", "mapping_1", "expanding_prelu"):
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)


def nearest_fn(scale):
    return lambda y: np.repeat(np.repeat(np.asarray(y), scale, axis=1), scale, axis=2)


def test_upscale_returns_uint8_rgb_or_grey_of_scale_times_the_size():
    rgb = np.random.default_rng(0).integers(0, 256, (12, 15, 3), dtype=np.uint8)
    out = superres.upscale(nearest_fn(3), rgb)
    assert out.shape == (36, 45, 3) and out.dtype == np.uint8
    grey = rgb[..., 0]
    out = superres.upscale(nearest_fn(2), grey)
    assert out.shape == (24, 30)
    np.testing.assert_array_equal(out[::2, ::2], grey)  # grey level survives the Y round trip


def test_upscale_with_a_keras_model(fsrcnn):
    out = superres.upscale(fsrcnn, np.zeros((20, 21, 3), np.uint8))
    assert out.shape == (60, 63, 3)


def test_upscale_gives_clear_errors(fsrcnn):
    with pytest.raises(ValueError, match="receptive field"):
        superres.upscale(fsrcnn, np.zeros((10, 40, 3), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        superres.upscale(nearest_fn(2), np.full((16, 16, 3), 3.0))
    with pytest.raises(ValueError, match="dtype int64"):
        superres.upscale(nearest_fn(2), np.zeros((16, 16, 3), np.int64))
    with pytest.raises(ValueError, match="alpha"):
        superres.upscale(nearest_fn(2), np.zeros((16, 16, 4), np.uint8))
    with pytest.raises(ValueError, match="integer enlargement"):
        superres.upscale(lambda y: np.zeros((1, 20, 33, 1)), np.zeros((10, 10, 3), np.uint8))


def small_images():
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    out = []
    for i in range(2):
        field = gaussian_filter(rng.random((60, 72, 3)), (2, 2, 0))
        out.append((f"img{i}", ((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)))
    return out


def test_evaluate_bicubic_is_evaluate_sr_with_bicubic_and_close_to_rgb_bicubic():
    images = small_images()
    table = superres.evaluate_bicubic(images, 3)
    assert list(table["name"]) == ["img0", "img1", "mean"]
    assert table["psnr"].iloc[-1] == pytest.approx(table["psnr"].iloc[:-1].mean())
    assert table.equals(superres.evaluate_sr(superres.bicubic_predict_fn(3), images, 3))
    # Same figure as enlarging the LR RGB picture with Pillow directly (only rounding differs).
    hr, lr = superres.sr_pair(images[0][1], 3)
    direct = superres.psnr_y(hr, superres.bicubic_resize(lr, hr.shape[:2]), 3)
    assert table["psnr"].iloc[0] == pytest.approx(direct, abs=0.05)
    assert 0 < table["ssim"].iloc[0] < 1


def test_evaluate_sr_feeds_y_over_255_of_the_bicubic_lr_image():
    images = small_images()[:1]
    seen = []

    def spy(y):
        seen.append(y)
        return superres.bicubic_predict_fn(3)(y)

    superres.evaluate_sr(spy, images, 3)
    hr, lr = superres.sr_pair(images[0][1], 3)
    assert seen[0].dtype == np.float32 and seen[0].shape == (1, 20, 24, 1)
    np.testing.assert_allclose(seen[0], superres.lr_input(lr), atol=1e-7)


def test_training_restores_the_best_epoch_and_reports_history():
    config.set_seed(0)
    model = superres.build_fsrcnn(2, d=8, s=4, m=1)
    images = small_images()
    history, seconds = superres.train_fsrcnn(
        model,
        images[:1],
        images[1:],
        2,
        epochs=3,
        steps_per_epoch=15,
        lr=3e-3,
        batch_size=8,
        patch_lr=12,
        verbose=False,
    )
    assert list(history.columns) == ["epoch", "steps", "loss", "val_psnr", "lr", "seconds"]
    assert list(history["steps"]) == [15, 30, 45]
    assert len(history) == 3 and seconds > 0 and np.isfinite(history["loss"]).all()
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    final = superres.evaluate_sr(model, images[1:], 2)["psnr"].iloc[-1]
    assert final == pytest.approx(history["val_psnr"].max(), abs=1e-4)


def test_deconv_lr_multiplier_zero_freezes_only_the_deconvolution():
    model = superres.build_fsrcnn(2, d=8, s=4, m=1)
    before = {
        layer.name: [w.copy() for w in layer.get_weights()]
        for layer in model.layers
        if layer.weights
    }
    images = small_images()
    superres.train_fsrcnn(
        model,
        images[:1],
        images[1:],
        2,
        epochs=1,
        steps_per_epoch=3,
        deconv_lr_multiplier=0.0,
        batch_size=4,
        patch_lr=10,
        verbose=False,
    )
    for name, weights in before.items():
        changed = any(
            not np.array_equal(a, b) for a, b in zip(weights, model.get_layer(name).get_weights())
        )
        assert changed == (name != "deconvolution"), name


def test_training_rejects_a_scale_mismatch():
    with pytest.raises(ValueError, match="upscales x2"):
        superres.train_fsrcnn(
            superres.build_fsrcnn(2, 8, 4, 1), small_images(), small_images(), 3, 1, 1
        )


def test_save_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    assert superres.load_sr_model("fsrcnn_x3") is None
    model = superres.build_fsrcnn(3, d=8, s=4, m=1)
    path = superres.save_sr_model(model, "fsrcnn_x3")
    assert path == tmp_path / "artifacts" / config.run_mode() / "models" / "fsrcnn_x3.keras"
    loaded = superres.load_sr_model("fsrcnn_x3")
    x = np.random.default_rng(0).random((1, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="bare model name"):
        superres.save_sr_model(model, "fsrcnn_x3.keras")


def test_time_budget_stops_training_and_still_returns_the_best_weights():
    model = superres.build_fsrcnn(2, d=8, s=4, m=1)
    images = small_images()
    history, seconds = superres.train_fsrcnn(
        model,
        images[:1],
        images[1:],
        2,
        epochs=50,
        steps_per_epoch=5,
        batch_size=4,
        patch_lr=10,
        max_seconds=1.0,
        verbose=False,
    )
    assert 1 <= len(history) < 50 and history["steps"].iloc[-1] < 250
    assert history["lr"].iloc[-1] < 0.1 * 1e-3  # the cosine ran over the time budget


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
    np.testing.assert_allclose(superres.cubic_kernel_1d(2), expected, atol=1e-12)
    for scale in (2, 3, 4):
        w = superres.cubic_kernel_1d(scale)
        for phase in range(scale):
            assert w[phase::scale].sum() == pytest.approx(1.0)
    # x3: tap 4 sits on the LR pixel centre, taps 1 and 7 one LR pixel away (cubic = 0 there).
    np.testing.assert_allclose(superres.cubic_kernel_1d(3)[[1, 4, 7]], [0.0, 1.0, 0.0], atol=1e-12)


def smooth_y(h=30, w=34):
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(np.random.default_rng(0).random((h, w)), 2)
    return ((f - f.min()) / np.ptp(f) * 0.8 + 0.1).astype(np.float32)[None, :, :, None]


@pytest.mark.parametrize("scale, tolerance", [(2, 1e-5), (3, 0.02)])
def test_bicubic_init_makes_the_network_interpolate(scale, tolerance):
    model = superres.init_as_bicubic(superres.build_fsrcnn(scale, d=16, s=6, m=2))
    deconv = model.get_layer("deconvolution")
    weights = deconv.get_weights()
    weights[0][:, :, 0, 1:] = (
        0.0  # silence the randomly initialised channels to see the pass-through alone
    )
    deconv.set_weights(weights)
    x = smooth_y()
    out, ref = np.asarray(model(x)), superres.bicubic_predict_fn(scale)(x)
    b = 6 * scale  # away from the zero-padded border
    # x2: Pillow's bicubic fits in the 9 taps exactly; x3 cuts its tails (renormalised).
    assert np.abs(out - ref)[:, b:-b, b:-b].max() < tolerance


def test_bicubic_init_works_for_separable_and_refuses_batch_norm():
    model = superres.init_as_bicubic(superres.build_fsrcnn(2, d=8, s=4, m=1, separable=True))
    deconv = model.get_layer("deconvolution")
    weights = deconv.get_weights()
    weights[0][:, :, 0, 1:] = 0.0
    deconv.set_weights(weights)
    x = smooth_y()
    assert (
        np.abs(np.asarray(model(x)) - superres.bicubic_predict_fn(2)(x))[:, 12:-12, 12:-12].max()
        < 1e-5
    )
    with pytest.raises(ValueError, match="batch_norm"):
        superres.init_as_bicubic(superres.build_fsrcnn(batch_norm=True))


def test_deconv_tap_offsets_follow_the_same_padding():
    # x3: pad 3, tap 4 on the LR pixel centre; x2: pad 3, taps 3 and 4 a quarter LR pixel either side.
    np.testing.assert_allclose(superres.deconv_tap_offsets(3), (np.arange(9) - 4) / 3)
    np.testing.assert_allclose(superres.deconv_tap_offsets(2)[[3, 4]], [-0.25, 0.25])


def test_transfer_resamples_a_bicubic_deconvolution_into_near_bicubic():
    source = superres.init_as_bicubic(superres.build_fsrcnn(3, d=8, s=4, m=1))
    deconv = source.get_layer("deconvolution")
    weights = deconv.get_weights()
    weights[0][:, :, 0, 1:] = 0.0
    deconv.set_weights(weights)
    target = superres.transfer_fsrcnn(source, 2)
    x = smooth_y()
    error = np.abs(np.asarray(target(x)) - superres.bicubic_predict_fn(2)(x))[:, 12:-12, 12:-12]
    assert error.max() < 0.03  # linear interpolation of the cubic's samples, not the exact cubic
    same = superres.resample_deconv_kernel(weights[0], 3, 3)
    np.testing.assert_allclose(same, weights[0], atol=1e-12)
