"""The int8-friendly FSRCNN: residual over a nearest-neighbour anchor, depth-to-space, clipped output."""

import keras
import numpy as np
import pytest

from helpers import sr, tflite


def nearest(x: np.ndarray, scale: int) -> np.ndarray:
    """Return a batch (n, h, w, c) enlarged ``scale`` times by repeating every pixel."""
    return np.repeat(np.repeat(x, scale, axis=1), scale, axis=2)


@pytest.fixture(scope="module")
def anchor_x3():
    return sr.build_fsrcnn_anchor(3)


@pytest.fixture(scope="module")
def int8_x3(anchor_x3):
    samples = sr.representative_lr_patches(n=120, scale=3, patch=24)
    return tflite.convert(anchor_x3, "int8", samples), samples


@pytest.mark.parametrize("scale, size", [(2, (5, 7)), (3, (10, 13)), (4, (16, 9))])
def test_output_is_scale_times_the_input_for_any_size(scale, size):
    model = sr.build_fsrcnn_anchor(scale, d=8, s=4, m=1)
    out = model(np.zeros((2, *size, 1), np.float32))
    assert tuple(out.shape) == (2, size[0] * scale, size[1] * scale, 1)
    assert tuple(model.input_shape) == (None, None, None, 1)
    assert sr.fsrcnn_scale(model) == scale


def test_x3_has_fsrcnns_12464_weights_and_other_scales_as_computed_by_hand(anchor_x3):
    body = 5 * 5 * 1 * 56 + 56 * 12 + 4 * 3 * 3 * 12 * 12 + 12 * 56  # 7,928, as in FSRCNN
    # the 3x3x56x9 sub-pixel convolution has exactly the 9x9x56x1 deconvolution's 4,536 weights
    assert sr.fsrcnn_weight_count(anchor_x3) == body + 3 * 3 * 56 * 9 == 12464
    # + biases (56 + 12 + 4*12 + 56 + 9); ReLU has no parameters
    assert anchor_x3.count_params() == 12464 + 181
    assert sr.fsrcnn_weight_count(sr.build_fsrcnn_anchor(2)) == body + 3 * 3 * 56 * 4 == 9944
    assert sr.fsrcnn_weight_count(sr.build_fsrcnn_anchor(4)) == body + 3 * 3 * 56 * 16 == 15992
    assert sr.receptive_field(anchor_x3) == 1 + 4 + 4 * 2 + 2 == 15
    assert sr.macs_per_output_pixel(anchor_x3) == pytest.approx(12464 / 9)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_untrained_model_is_nearest_neighbour_upsampling(scale):
    model = sr.build_fsrcnn_anchor(scale, activation="prelu")
    x = np.random.default_rng(scale).random((2, 11, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), nearest(x, scale), atol=1e-6)


def test_output_is_clipped_to_the_unit_range():
    model = sr.build_fsrcnn_anchor(2, d=8, s=4, m=1)
    layer = model.get_layer(sr.DECONV_NAME)
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(0).normal(0, 5, kernel.shape), bias + 0.3])
    x = np.random.default_rng(1).random((1, 12, 12, 1), dtype=np.float32)
    out = np.asarray(model(x))
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert (out == 0.0).any() and (out == 1.0).any()  # the residual really pushed past both ends


def test_name_machinery_builds_and_reads_back_the_anchor_variant():
    assert sr.fsrcnn_spec("fsrcnn_anchor_x3") == {"scale": 3, "anchor": True, "activation": "relu"}
    assert {"fsrcnn_anchor_x2", "fsrcnn_anchor_x3", "fsrcnn_anchor_x4"} <= set(sr.accepted_names())
    assert not any("anchor" in name for name in sr.MODEL_NAMES)  # notebooks 07/08 unchanged
    model = sr.fsrcnn_from_name("fsrcnn_anchor_x2")
    assert sr.is_anchor_model(model) and not sr.is_anchor_model(sr.build_fsrcnn(2, d=8, s=4, m=1))
    cfg = sr.fsrcnn_config(model)
    assert cfg == dict(
        scale=2, d=56, s=12, m=4, activation="relu", separable=False, batch_norm=False, anchor=True
    )
    assert sr.fsrcnn_config(sr.build_fsrcnn(**cfg)) == cfg
    x = np.random.default_rng(0).random((1, 6, 6, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), nearest(x, 2), atol=1e-6)


def test_anchor_models_refuse_bicubic_init_and_bad_arguments():
    with pytest.raises(ValueError, match="nearest-neighbour"):
        sr.init_as_bicubic(sr.build_fsrcnn_anchor(2, d=8, s=4, m=1))
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        sr.build_fsrcnn_anchor(scale=1)
    with pytest.raises(ValueError, match="activation"):
        sr.build_fsrcnn_anchor(activation="tanh")
    with pytest.raises(ValueError, match="batch_norm"):
        sr.build_fsrcnn(anchor=True, batch_norm=True)


def test_transfer_keeps_the_body_and_restarts_the_upsampling_at_nearest_neighbour():
    source = sr.build_fsrcnn_anchor(3, d=8, s=4, m=1)
    layer = source.get_layer(sr.DECONV_NAME)
    layer.set_weights([w + 0.1 for w in layer.get_weights()])
    target = sr.transfer_fsrcnn(source, 2)
    assert sr.fsrcnn_scale(target) == 2 and sr.is_anchor_model(target)
    for name in ("feature_extraction", "mapping_1", "expanding"):
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((1, 5, 5, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(target(x)), nearest(x, 2), atol=1e-6)


def test_saved_model_reloads_with_its_depth_to_space_layer(tmp_path):
    model = sr.build_fsrcnn_anchor(2, d=8, s=4, m=1)
    model.save(tmp_path / "anchor.keras")
    loaded = keras.saving.load_model(tmp_path / "anchor.keras")
    x = np.random.default_rng(0).random((1, 6, 7, 1), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert sr.fsrcnn_scale(loaded) == 2


def test_int8_model_uses_builtin_int8_ops_only(int8_x3):
    model_bytes, _ = int8_x3
    ops = set(tflite.ops(model_bytes))
    assert {"CONV_2D", "CONCATENATION", "ADD", "DEPTH_TO_SPACE"} <= ops
    assert tflite.float_ops(model_bytes) == []
    assert not any(op.startswith("CUSTOM") or op in ("DEQUANTIZE", "QUANTIZE") for op in ops), ops


def test_untrained_int8_model_reproduces_nearest_neighbour_within_two_steps(int8_x3):
    model_bytes, samples = int8_x3
    runner = tflite.TFLiteModel(model_bytes)
    out_scale = runner.interpreter.get_output_details()[0]["quantization"][0]
    out = runner.predict(samples[:8])
    assert out.shape == (8, 72, 72, 1)
    err = np.abs(out - nearest(samples[:8], 3)).max()
    # the input's own int8 rounding (half a step) is all that is lost on the anchor path
    assert err <= 2 * out_scale, (err, out_scale)


def test_train_fsrcnn_trains_the_anchor_variant():
    model = sr.build_fsrcnn_anchor(2, d=8, s=4, m=1)
    images = sr.crop_center(sr.load_sr_images("train")[:2], 96)
    val = sr.crop_center(sr.load_sr_images("val")[:1], 64)
    history, _ = sr.train_fsrcnn(
        model, images, val, 2, epochs=1, steps_per_epoch=3, verbose=False, patch_lr=12
    )
    assert len(history) == 1 and np.isfinite(history["val_psnr"]).all()
    assert np.abs(model.get_layer(sr.DECONV_NAME).get_weights()[0]).max() > 0.0


def test_depth_to_space_matches_tensorflow():
    layer_class = sr.depth_to_space_layer()
    assert layer_class is sr.DepthToSpace  # one registered class, defined at module level
    x = np.arange(2 * 3 * 4 * 8, dtype=np.float32).reshape(2, 3, 4, 8)
    out = np.asarray(layer_class(2)(x))
    assert out.shape == (2, 6, 8, 2)
    # channel b*i + j of an input pixel goes to row offset i, column offset j
    np.testing.assert_array_equal(out[0, 1, 0], x[0, 0, 0, 4:6])
