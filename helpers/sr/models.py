"""FSRCNN models: the builder (Keras 3 or tf_keras), the kit's model names, weight and MAC counts,
bicubic initialisation and transfer between scales.

FSRCNN (Dong, Loy & Tang, 2016) works on the low-resolution Y channel and enlarges only at the end:
5x5 conv ``d`` (feature extraction) -> 1x1 conv ``s`` (shrinking) -> ``m`` x 3x3 conv ``s`` (mapping)
-> 1x1 conv ``d`` (expanding) -> 9x9 transposed conv with stride ``scale`` (deconvolution), PReLU after
every layer but the last.

The int8-friendly variant (:func:`build_fsrcnn_anchor`, model names ``fsrcnn_anchor_x<scale>``) keeps
that body but upsamples with a 3x3 convolution to ``scale**2`` channels and depth-to-space,
and predicts a residual over a fixed nearest-neighbour "anchor" (the input repeated ``scale**2`` times
along channels, added before depth-to-space); the output is clipped to [0, 1]. Every op quantizes to
builtin int8 and the untrained model is exactly nearest-neighbour upsampling.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from helpers.kit import keras_policy
from helpers.sr.data import check_scale

ACTIVATIONS = ("prelu", "relu")
# The upsampling layer: the transposed convolution of FSRCNN, the sub-pixel convolution (to scale**2
# channels, before depth-to-space) of the anchor variant. Training gives it its own learning rate.
DECONV_NAME = "deconvolution"
ANCHOR_NAME = "nearest_anchor"

# Model names: "fsrcnn[_<variant>]_x<scale>". Each variant changes one thing of FSRCNN(56, 12, 4).
VARIANTS: dict[str, dict[str, Any]] = {
    "": {},
    "s": {"d": 32, "s": 5, "m": 1},  # FSRCNN-s, the paper's small model
    "relu": {"activation": "relu"},
    "separable": {"separable": True},
    "bn": {"batch_norm": True},
    # int8-friendly: residual over a nearest-neighbour anchor, depth-to-space upsampling, ReLU
    "anchor": {"anchor": True, "activation": "relu"},
}
NAME_SCALES = (2, 3, 4)
# The models notebook 07 trains and saves (later notebooks load them with artifacts.load_or_train).
MODEL_NAMES = (
    "fsrcnn_x2",
    "fsrcnn_x3",
    "fsrcnn_x4",
    "fsrcnn_s_x3",
    "fsrcnn_relu_x3",
    "fsrcnn_separable_x3",
    "fsrcnn_bn_x3",
)
_NAME_PATTERN = re.compile(r"^fsrcnn(?:_(?P<variant>[a-z]+))?_x(?P<scale>\d+)$")


def accepted_names() -> list[str]:
    """Return every model name :func:`fsrcnn_spec` understands (``fsrcnn[_variant]_x<scale>``)."""
    return [
        "_".join(p for p in ("fsrcnn", variant, f"x{scale}") if p)
        for variant in VARIANTS
        for scale in NAME_SCALES
    ]


def fsrcnn_spec(name: str) -> dict[str, Any]:
    """Return the ``build_fsrcnn`` arguments of a model name, e.g. "fsrcnn_relu_x3" -> scale 3, ReLU."""
    match = _NAME_PATTERN.match(name) if isinstance(name, str) else None
    if (
        match is None
        or (match["variant"] or "") not in VARIANTS
        or int(match["scale"]) not in NAME_SCALES
    ):
        raise ValueError(
            f"name must be an FSRCNN model name 'fsrcnn[_variant]_x<scale>', one of "
            f"{', '.join(accepted_names())}; got {name!r}"
        )
    return {"scale": int(match["scale"]), **VARIANTS[match["variant"] or ""]}


def fsrcnn_from_name(name: str):
    """Return the untrained FSRCNN ``name`` (see :func:`fsrcnn_spec`), bicubic-initialised unless it has BN or an anchor."""
    spec = fsrcnn_spec(name)
    model = build_fsrcnn(**spec)
    if spec.get("anchor"):  # already starts as nearest-neighbour upsampling (zero residual)
        return model
    # BN would rescale the pass-through channel of the bicubic start: BN models start from random weights.
    return model if spec.get("batch_norm") else init_as_bicubic(model)


def _check_sizes(d: Any, s: Any, m: Any, activation: str) -> None:
    """Raise ValueError unless d, s are positive and m non-negative integers and activation is known."""
    for arg, value in (("d", d), ("s", s), ("m", m)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or value < (0 if arg == "m" else 1)
        ):
            raise ValueError(
                f"{arg} must be a {'non-negative' if arg == 'm' else 'positive'} integer, got {value!r}"
            )
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def _conv_block(K: ModuleType, x: Any, filters: int, size: int, name: str, **options: Any) -> Any:
    """Return ``x`` through one FSRCNN layer: a (separable) convolution, optional BN, the activation.

    ``options``: ``activation`` ("prelu" or "relu"), ``separable`` and ``batch_norm`` (booleans).
    The layers are named ``name``, ``name_bn`` and ``name_prelu`` / ``name_relu`` (the weight
    transfer and the bicubic start find them by name). ``K`` is Keras 3 or tf_keras.
    """
    batch_norm = options.get("batch_norm", False)
    common = dict(padding="same", use_bias=not batch_norm, name=name)
    if options.get("separable", False):
        x = K.layers.SeparableConv2D(
            filters,
            size,
            depthwise_initializer="he_normal",
            pointwise_initializer="he_normal",
            **common,
        )(x)
    else:
        x = K.layers.Conv2D(filters, size, kernel_initializer="he_normal", **common)(x)
    if batch_norm:
        x = K.layers.BatchNormalization(name=f"{name}_bn")(x)
    if options.get("activation", "prelu") == "prelu":
        # One slope per channel, shared over the spatial axes: any image size works.
        slope = K.initializers.Constant(0.25)
        return K.layers.PReLU(shared_axes=[1, 2], alpha_initializer=slope, name=f"{name}_prelu")(x)
    return K.layers.ReLU(name=f"{name}_relu")(x)


def _fsrcnn_body(K: ModuleType, inputs: Any, d: int, s: int, m: int, **options: Any) -> Any:
    """Return the features before the upsampling: 5x5 d, 1x1 s, m x 3x3 s, 1x1 d (each + activation)."""
    plain = {**options, "separable": False}  # only the mapping layers are ever separable
    x = _conv_block(K, inputs, d, 5, "feature_extraction", **plain)
    x = _conv_block(K, x, s, 1, "shrinking", **plain)
    for i in range(1, m + 1):
        x = _conv_block(K, x, s, 3, f"mapping_{i}", **options)
    return _conv_block(K, x, d, 1, "expanding", **plain)


def build_fsrcnn(
    scale: int = 3,
    d: int = 56,
    s: int = 12,
    m: int = 4,
    activation: str = "prelu",
    separable: bool = False,
    batch_norm: bool = False,
    keras_module: ModuleType | None = None,
    anchor: bool = False,
):
    """Return an un-compiled FSRCNN(d, s, m) for ``scale``: Y in [0, 1] (None, None, 1) -> (s*H, s*W, 1).

    Defined in notebook 07 (the cell "FSRCNN in Keras"), which writes the standard model out.
    ``separable`` makes the m mapping layers depthwise-separable; ``batch_norm`` adds
    BatchNormalization after every convolution but the last (whose bias then goes). ``keras_module``:
    None for Keras 3, ``keras_policy.legacy_keras()`` for the same model in tf_keras (tfmot).
    ``anchor=True`` returns the int8-friendly variant instead (:func:`build_fsrcnn_anchor`).
    """
    if anchor:
        if batch_norm or keras_module is not None:
            raise ValueError(
                "the anchor variant is built in Keras 3 without batch_norm: drop batch_norm/keras_module"
            )
        return build_fsrcnn_anchor(scale, d, s, m, activation, separable)
    K = keras_module or keras_policy.modern_keras()
    scale = check_scale(scale)
    _check_sizes(d, s, m, activation)
    inputs = K.Input(shape=(None, None, 1), name="lr_y")
    options = dict(activation=activation, separable=separable, batch_norm=batch_norm)
    x = _fsrcnn_body(K, inputs, d, s, m, **options)
    outputs = K.layers.Conv2DTranspose(
        1,
        9,
        strides=scale,
        padding="same",
        name=DECONV_NAME,
        kernel_initializer=K.initializers.RandomNormal(stddev=0.001),  # as in the paper
    )(x)
    tag = f"fsrcnn_{d}_{s}_{m}_x{scale}" + ("_relu" if activation == "relu" else "")
    tag += ("_separable" if separable else "") + ("_bn" if batch_norm else "")
    return K.Model(inputs, outputs, name=tag)


@keras.saving.register_keras_serializable(package="helpers.sr")
class DepthToSpace(keras.layers.Layer):
    """Rearrange ``block_size**2`` channels into ``block_size`` x ``block_size`` pixels (TFLite DEPTH_TO_SPACE).

    Maps (n, h, w, b*b*c) -> (n, b*h, b*w, c): channel ``b*i + j`` of an input pixel becomes the
    output pixel at row offset ``i``, column offset ``j`` (``tf.nn.depth_to_space``, NHWC).
    Registered for saving, so ``keras.saving.load_model`` reads anchor models back.
    """

    def __init__(self, block_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.block_size = check_scale(block_size)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        b = self.block_size
        grow = lambda side: None if side is None else side * b  # noqa: E731
        return (n, grow(h), grow(w), None if c is None else c // (b * b))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "block_size": self.block_size}


def depth_to_space_layer() -> type:
    """Return the :class:`DepthToSpace` layer class (kept for callers that load anchor models)."""
    return DepthToSpace


def build_fsrcnn_anchor(
    scale: int = 3,
    d: int = 56,
    s: int = 12,
    m: int = 4,
    activation: str = "relu",
    separable: bool = False,
):
    """Return the un-compiled int8-friendly FSRCNN: Y in [0, 1] (None, None, 1) -> (s*H, s*W, 1) in [0, 1].

    The FSRCNN body (5x5 d, 1x1 s, m x 3x3 s, 1x1 d, each + activation) feeds a 3x3 convolution to
    ``scale**2`` channels (named ``deconvolution``: it does the deconvolution's job; at x3 it has the
    same 4,536 weights as FSRCNN's 9x9 one). Its output is a residual added to the nearest-neighbour
    anchor (the input concatenated ``scale**2`` times); :class:`DepthToSpace` turns the sum into the
    enlarged image and a ReLU with ``max_value=1`` clips it to [0, 1]. The last convolution starts
    at zero, so the untrained model is exactly nearest-neighbour upsampling. Every op quantizes to
    builtin int8 (CONV_2D, CONCATENATION, ADD, DEPTH_TO_SPACE; the clip becomes MINIMUM + RELU).
    Defined in notebook 07 (section "The int8-friendly variant"); notebook 08 quantizes it.
    """
    scale = check_scale(scale)
    _check_sizes(d, s, m, activation)
    inputs = keras.Input(shape=(None, None, 1), name="lr_y")
    x = _fsrcnn_body(keras, inputs, d, s, m, activation=activation, separable=separable)
    residual = keras.layers.Conv2D(
        scale * scale,
        3,
        padding="same",
        kernel_initializer="zeros",  # zero residual: the untrained model is the anchor itself
        bias_initializer="zeros",
        name=DECONV_NAME,
    )(x)
    anchor = keras.layers.Concatenate(axis=-1, name=ANCHOR_NAME)([inputs] * (scale * scale))
    x = keras.layers.Add(name="residual_plus_anchor")([residual, anchor])
    x = DepthToSpace(scale, name="depth_to_space")(x)
    outputs = keras.layers.ReLU(max_value=1.0, name="clip")(x)
    tag = f"fsrcnn_anchor_{d}_{s}_{m}_x{scale}" + ("_prelu" if activation == "prelu" else "")
    tag += "_separable" if separable else ""
    return keras.Model(inputs, outputs, name=tag)


def is_anchor_model(model: Any) -> bool:
    """Return True if ``model`` is the int8-friendly anchor variant (it has the nearest-neighbour anchor layer)."""
    return any(layer.name == ANCHOR_NAME for layer in model.layers)


def cubic_kernel_1d(scale: int, taps: int = 9, a: float = -0.5) -> np.ndarray:
    """Return the 1-D bicubic (Keys, a = -0.5) upsampling kernel of a ``taps``-wide stride-``scale`` transposed conv.

    Tap ``k`` of ``Conv2DTranspose(padding="same")`` links LR pixel ``i`` to HR pixel
    ``scale*i + k - pad`` with ``pad = (taps - scale) // 2``; its weight is the cubic at the distance
    between the two pixel centres in LR units. Each output phase is renormalised to sum to 1 (the
    kernel is cut at ``taps``), so a constant image stays constant.
    """
    dist = np.abs(deconv_tap_offsets(scale, taps))
    w = np.where(
        dist <= 1,
        (a + 2) * dist**3 - (a + 3) * dist**2 + 1,
        np.where(dist < 2, a * dist**3 - 5 * a * dist**2 + 8 * a * dist - 4 * a, 0.0),
    )
    for phase in range(scale):
        w[phase::scale] /= w[phase::scale].sum()
    return w


def init_as_bicubic(model: Any):
    """Return ``model`` set to start as bicubic: channel 0 passes the input through, the deconvolution is bicubic.

    The freshly built network then starts as (nearly) bicubic interpolation instead of a blank
    output, and training learns the correction on top: same architecture, much faster start. The
    other channels keep their random initialisation. Not for ``batch_norm`` models (BN would rescale
    the pass-through channel).
    """
    if any(type(layer).__name__ == "BatchNormalization" for layer in model.layers):
        raise ValueError(
            "init_as_bicubic does not apply to batch_norm models: train them from their random init"
        )
    if is_anchor_model(model):
        raise ValueError(
            "init_as_bicubic does not apply to anchor models: they start as nearest-neighbour "
            "upsampling already (build_fsrcnn_anchor)"
        )
    scale = fsrcnn_scale(model)
    for layer in model.layers:
        kind, weights = type(layer).__name__, layer.get_weights()
        if kind == "Conv2D":
            kernel = weights[0]
            kernel[..., 0] = 0.0
            kernel[kernel.shape[0] // 2, kernel.shape[1] // 2, 0, 0] = 1.0
        elif kind == "SeparableConv2D":
            depthwise, pointwise = weights[0], weights[1]
            depthwise[..., 0, :] = 0.0
            depthwise[depthwise.shape[0] // 2, depthwise.shape[1] // 2, 0, :] = 1.0
            pointwise[..., 0] = 0.0
            pointwise[0, 0, 0, 0] = 1.0
        elif kind == "Conv2DTranspose":
            kernel = weights[0]  # (kh, kw, filters, in_channels)
            w = cubic_kernel_1d(scale, kernel.shape[0])
            kernel[:, :, 0, 0] = np.outer(w, w)
        else:
            continue
        if layer.use_bias:
            weights[-1][0] = 0.0
        layer.set_weights(weights)
    return model


def _weight_name(weight: Any) -> str:
    """Return the last component of a weight's name, in Keras 3 and tf_keras alike."""
    name = getattr(weight, "path", None) or weight.name
    return name.split("/")[-1].split(":")[0]


def fsrcnn_weight_count(model: Any) -> int:
    """Return the number of convolution weights (kernels only: no biases, PReLU slopes or BN), as in the paper."""
    return int(
        sum(int(np.prod(w.shape)) for w in model.weights if _weight_name(w).endswith("kernel"))
    )


def fsrcnn_scale(model: Any) -> int:
    """Return the upscaling factor of an FSRCNN model (the stride of its deconvolution, or the anchor variant's depth-to-space block)."""
    for candidate in model.layers:
        if type(candidate).__name__ == "DepthToSpace":
            return int(candidate.block_size)
    layer = model.get_layer(DECONV_NAME)
    return int(layer.strides[0])


def fsrcnn_config(model: Any) -> dict[str, Any]:
    """Return the ``build_fsrcnn`` arguments (scale, d, s, m, activation, separable, batch_norm; anchor=True for the anchor variant) of a model."""
    names = [layer.name for layer in model.layers]
    mapping = [n for n in names if n.startswith("mapping_") and n[8:].isdigit()]
    return {
        "scale": fsrcnn_scale(model),
        "d": int(model.get_layer("feature_extraction").filters),
        "s": int(model.get_layer("shrinking").filters),
        "m": len(mapping),
        "activation": "prelu" if "feature_extraction_prelu" in names else "relu",
        "separable": bool(mapping)
        and type(model.get_layer(mapping[0])).__name__ == "SeparableConv2D",
        "batch_norm": "feature_extraction_bn" in names,
        # only anchor models carry the key, so classic configs stay as they were
        **({"anchor": True} if is_anchor_model(model) else {}),
    }


def layer_macs_table(model: Any):
    """Return a DataFrame of MACs per LR input pixel and per HR output pixel, one row per weighted layer.

    Convolutions: k*k*C_in*C_out per pixel (depthwise: k*k*C_in; separable: k*k*C_in + C_in*C_out);
    the transposed convolution: k*k*C_in*C_out per LR input pixel. PReLU, ReLU and BatchNorm (which
    folds into the convolution) are counted as zero MACs.
    """
    import pandas as pd

    scale = fsrcnn_scale(model)
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"):
            continue
        kh, kw = layer.kernel_size
        c_in = int(layer.input.shape[-1])
        if kind == "SeparableConv2D":
            per_lr = kh * kw * c_in + c_in * layer.filters
        elif kind == "DepthwiseConv2D":
            per_lr = kh * kw * c_in
        else:
            per_lr = kh * kw * c_in * layer.filters
        rows.append(
            {
                "layer": layer.name,
                "type": kind,
                "kernel": f"{kh}x{kw}",
                "in": c_in,
                "out": int(layer.output.shape[-1]),
                "macs_per_lr_pixel": per_lr,
                "macs_per_hr_pixel": per_lr / scale**2,
            }
        )
    return pd.DataFrame(rows)


def macs_per_output_pixel(model: Any) -> float:
    """Return the multiply-accumulates an FSRCNN model spends per output (HR) pixel."""
    return float(layer_macs_table(model)["macs_per_hr_pixel"].sum())


def receptive_field(model: Any) -> int:
    """Return the receptive field, in LR pixels, of the layers before the deconvolution (1 + sum of k-1)."""
    rf = 1
    for layer in model.layers:
        if type(layer).__name__ in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D"):
            rf += layer.kernel_size[0] - 1
    return rf


def deconv_tap_offsets(scale: int, taps: int = 9) -> np.ndarray:
    """Return, per tap of a stride-``scale`` ``Conv2DTranspose(padding="same")``, the HR-minus-LR centre offset in LR pixels."""
    pad = (taps - scale) // 2
    return (np.arange(taps) - pad + 0.5 - scale / 2.0) / scale


def resample_deconv_kernel(kernel: np.ndarray, from_scale: int, to_scale: int) -> np.ndarray:
    """Return a deconvolution kernel for ``to_scale`` that draws the same continuous pattern as ``kernel`` at ``from_scale``.

    Each tap of the transposed convolution samples, at one LR offset, the pattern an LR pixel writes
    into the HR image; the new kernel samples that pattern (linearly interpolated, zero outside) at
    the offsets of the new stride.
    """
    from scipy.interpolate import RegularGridInterpolator

    src, dst = (
        deconv_tap_offsets(from_scale, kernel.shape[0]),
        deconv_tap_offsets(to_scale, kernel.shape[0]),
    )
    grid = np.stack(np.meshgrid(dst, dst, indexing="ij"), axis=-1)
    out = np.empty_like(kernel)
    for f in range(kernel.shape[2]):
        for c in range(kernel.shape[3]):
            interp = RegularGridInterpolator(
                (src, src), kernel[:, :, f, c], bounds_error=False, fill_value=0.0
            )
            out[:, :, f, c] = interp(grid)
    return out


def transfer_fsrcnn(source: Any, scale: int):
    """Return a new FSRCNN for ``scale`` with all of ``source``'s layers; the deconvolution is resampled to the new stride.

    As in the paper, the convolution layers are shared between scales and only the deconvolution
    depends on the scale. Instead of a random start, the new deconvolution draws the same pattern
    per LR pixel as the old one (:func:`resample_deconv_kernel`); fine-tune afterwards. For an anchor
    model the new sub-pixel convolution starts at zero (nearest-neighbour upsampling) instead.
    """
    cfg = fsrcnn_config(source)
    from_scale, cfg["scale"] = cfg["scale"], scale
    target = build_fsrcnn(**cfg)  # checks scale
    scale = fsrcnn_scale(target)
    for layer in source.layers:
        if layer.name != DECONV_NAME and layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())
    if cfg.get("anchor"):
        # scale**2 output channels cannot be resampled: the new one starts at zero (nearest neighbour)
        return target
    kernel, *bias = source.get_layer(DECONV_NAME).get_weights()
    target.get_layer(DECONV_NAME).set_weights(
        [resample_deconv_kernel(kernel, from_scale, scale), *bias]
    )
    return target
