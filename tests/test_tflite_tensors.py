"""tflite.tensors: operators and their tensor types, weight bytes, quantized weight tensors, sizes."""

import gzip

import numpy as np
import pytest
import tflite_testing as t

from helpers import tflite

classifier, variants = t.classifier, t.variants  # shared module fixtures
RNG = t.RNG


def test_op_details_give_tensor_types_in_order(variants):
    details = tflite.op_details(variants["int8"])
    conv = next(d for d in details if d["op"] == "CONV_2D")
    assert conv["inputs"] == ["INT8", "INT8", "INT32"]  # activations, int8 kernel, int32 bias
    assert conv["outputs"] == ["INT8"]
    assert [d["op"] for d in details] == tflite.ops(variants["int8"])
    assert tflite.ops(variants["int8"])[-1] == "SOFTMAX"


def test_weight_bytes_count_the_parameters(classifier, variants):
    params = classifier.count_params()  # conv 4*9+4, hidden 576*32+32, out 32*4+4
    assert params == 40 + 18_464 + 132
    fp32 = tflite.weight_bytes(variants["float32"])
    assert 4 * params <= fp32 <= 4 * params + 256  # plus a few shape constants
    int8 = tflite.weight_bytes(variants["int8"])
    # int8 kernels (1 byte) and int32 biases (4 bytes), plus the same few constants
    kernels, biases = 36 + 18_432 + 128, 4 + 32 + 4
    assert kernels + 4 * biases <= int8 <= kernels + 4 * biases + 256
    assert int8 < len(variants["int8"])


def test_weight_tensors_are_per_channel_and_symmetric(variants):
    tensors = tflite.weight_tensors(variants["int8"])
    conv = next(w for w in tensors if "conv" in w["layer"] and len(w["shape"]) == 4)
    assert conv["dtype"] == "int8" and conv["shape"] == (4, 3, 3, 1)
    assert len(conv["scales"]) == 4 and conv["quantized_dimension"] == 0
    assert set(conv["zero_points"].tolist()) == {0}
    float_tensors = tflite.weight_tensors(variants["float32"])
    assert all(w["dtype"] == "float32" and len(w["scales"]) == 0 for w in float_tensors)


def test_weights_map_to_their_layers_through_the_op_graph(variants):
    # TF 2.20 names weight constants tfl.pseudo_qconst*, TF 2.21 after the layer: the layer is read
    # from the output of the operator that uses the weight, the same on both
    for kind in ("float32", "dynamic", "float16", "int8"):
        shapes = {w["shape"]: w["layer"] for w in tflite.weight_tensors(variants[kind])}
        assert "conv" in shapes[(4, 3, 3, 1)] and "hidden" not in shapes[(4, 3, 3, 1)], kind
        assert "hidden" in shapes[(32, 576)] and "out" not in shapes[(32, 576)], kind
        assert "out" in shapes[(4, 32)] and "hidden" not in shapes[(4, 32)], kind
    layers = tflite.tensors.weight_layers(variants["int8"])
    assert set(layers) == tflite.tensors.constant_tensor_indices(variants["int8"])


def test_read_weight_tensor_gives_per_channel_int8_kernel(classifier, variants):
    w = tflite.read_weight_tensor(variants["int8"], "conv", ndim=4)
    assert w["layer"] == tflite.read_weight_tensor(variants["int8"], "conv")["layer"]
    assert tflite.read_weight_tensor(variants["int8"], "hidden")["shape"] == (32, 576)
    # TFLite keeps kernels as (out, h, w, in)
    assert w["values"].dtype == np.int8 and w["shape"] == (4, 3, 3, 1)
    kernel = classifier.get_layer("conv").get_weights()[0]  # Keras: (h, w, in, out)
    float_kernel = np.transpose(kernel, (3, 0, 1, 2))
    np.testing.assert_allclose(
        w["scales"], np.abs(float_kernel).max(axis=(1, 2, 3)) / 127, rtol=1e-5
    )
    dequantized = w["values"] * w["scales"][:, None, None, None]
    assert np.all(np.abs(dequantized - float_kernel) <= w["scales"][:, None, None, None] / 2 + 1e-7)
    with pytest.raises(KeyError, match="no weight tensor's layer name contains 'no_such_layer'"):
        tflite.read_weight_tensor(variants["int8"], "no_such_layer")
    with pytest.raises(KeyError, match="with 3 axes"):
        tflite.read_weight_tensor(variants["int8"], "conv", ndim=3)


def test_size_kb_from_bytes_and_path(variants, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(variants["int8"])
    assert tflite.size_kb(path) == pytest.approx(len(variants["int8"]) / 1024)
    assert tflite.size_kb(variants["int8"]) == tflite.size_kb(path)
    assert tflite.KB == 1024


def test_gzip_size_of_zeros_is_small_and_of_noise_is_not():
    zeros = bytes(20_000)
    noise = RNG.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    assert tflite.gzip_size_bytes(zeros) < 200
    assert tflite.gzip_size_bytes(noise) > 19_000
    assert gzip.decompress(gzip.compress(zeros)) == zeros
    with pytest.raises(TypeError, match="data must be bytes"):
        tflite.gzip_size_bytes("not bytes")
