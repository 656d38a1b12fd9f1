"""The checks of notebook 03's exercises (``checks.run("03.residual_block", globals())``).

Each check tests the student's function on small hand-made inputs with known answers: the residual
block is built on a small ``keras.Input`` (no training), the others are plain arithmetic. Feedback
says what was found and what was expected, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.kit.assign.checks import call_probe, lookup, probe, register
from helpers.kit.assign.feedback import CheckFailed, check_equal, expect

# ---------------------------------------------------------------------------------------------
# Exercise 1: a residual block in Keras


def _block_params(channels_in: int, filters: int, projection: bool) -> dict[str, int]:
    """Parameter counts of the block's parts (Keras defaults: biases on, BN with 4 per channel)."""
    parts = {
        "conv1": 9 * channels_in * filters + filters,
        "bn1": 4 * filters,
        "conv2": 9 * filters * filters + filters,
        "bn2": 4 * filters,
    }
    if projection:
        parts["projection"] = channels_in * filters + filters
        parts["projection_bn"] = 4 * filters
    return parts


@probe("03.block_model")
def _block_model(fn: Any, input_shape: tuple[int, int, int], filters: int, stride: int | None):
    """Run next to the student's code: ``keras.Model(x, fn(x, filters[, stride]))`` for a
    ``keras.Input(input_shape)`` x, or the type name of what ``fn`` returned if not a tensor."""
    import keras

    inputs = keras.Input(tuple(input_shape))
    outputs = fn(inputs, filters) if stride is None else fn(inputs, filters, stride=stride)
    if not hasattr(outputs, "shape") or isinstance(outputs, keras.Model):
        return type(outputs).__name__
    return keras.Model(inputs, outputs)


def _build_block(fn: Any, input_shape: tuple[int, int, int], filters: int, stride: int | None):
    """Return ``(keras.Model(input, fn(input, ...)), call text)``; a failure becomes a CheckFailed.

    The model is built by the probe ``03.block_model`` (in the student's kernel when grading, the
    model then rebuilt here in Keras' safe mode).
    """
    call = (
        f"residual_block(Input{input_shape}, {filters})"
        if stride is None
        else f"residual_block(Input{input_shape}, {filters}, stride={stride})"
    )
    try:
        built = call_probe("03.block_model", fn, input_shape, filters, stride)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any error in the student's graph is feedback
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        hint = None
        if "shape" in text.lower() or "incompatible" in text.lower():
            hint = (
                "x and F(x) must have the same shape to be added. When stride != 1 or the number "
                "of channels changes, the shortcut must be a 1x1 Conv2D with `filters` filters "
                "and strides=stride (padding='same'), followed by BatchNormalization."
            )
        raise CheckFailed(
            f"{call} raised {type(error).__name__}: {text}" + (f" Hint: {hint}" if hint else "")
        ) from None
    expect(
        not isinstance(built, str),
        f"{call} returned a {built}; expected the block's output tensor.",
        hint="apply the layers to x (functional API) and return the last tensor, not a Model.",
    )
    return built, call


def _check_block_shape(model: Any, call: str, expected: tuple[int, ...]) -> None:
    found = tuple(model.output.shape[1:])
    hint = None
    if found[-1] != expected[-1]:
        hint = "every convolution of the block (and the projection) has `filters` filters."
    elif found[:2] != expected[:2]:
        hint = (
            "the first 3x3 convolution and the 1x1 projection use strides=stride, the second 3x3 "
            "convolution stride 1, all with padding='same'."
        )
    expect(
        found == expected,
        f"{call} gives an output of shape {found}; expected {expected}.",
        hint,
    )


def _check_block_params(model: Any, call: str, channels_in: int, filters: int, projection: bool):
    parts = _block_params(channels_in, filters, projection)
    expected = sum(parts.values())
    found = int(model.count_params())
    if found == expected:
        return
    other = sum(_block_params(channels_in, filters, not projection).values())
    biases = 3 * filters if projection else 2 * filters
    breakdown = " + ".join(f"{name} {count:,}" for name, count in parts.items())
    if found == other and not projection:
        hint = (
            "the shapes of x and F(x) already match here, so the shortcut must be the identity "
            "(x itself): add a 1x1 projection only when stride != 1 or x's channels != filters."
        )
    elif found == other and projection:
        hint = (
            "this call changes the shape, so the shortcut needs a 1x1 Conv2D projection with "
            "BatchNormalization; test for stride != 1 *or* x.shape[-1] != filters."
        )
    elif projection and found == expected - parts["projection_bn"]:
        hint = "put a BatchNormalization after the 1x1 projection, as after each 3x3 convolution."
    elif found == expected - biases:
        hint = "keep the Conv2D layers' default biases (do not pass use_bias=False)."
    elif found < expected:
        hint = f"a layer is missing; the expected count is {breakdown}."
    else:
        hint = f"there is a layer too many; the expected count is {breakdown}."
    kind = "a projection shortcut" if projection else "an identity shortcut"
    raise CheckFailed(
        f"{call} builds a block with {found:,} parameters; with {kind} it should have "
        f"{expected:,} ({breakdown}). Hint: {hint}"
    )


def _check_block_adds_then_activates(model: Any, call: str) -> None:
    """With every convolution zeroed, F(x) = BN(0) = 0, so an identity block returns relu(x)."""
    import keras
    import numpy as np

    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = np.random.default_rng(3).standard_normal((1, *model.input.shape[1:])).astype(np.float32)
    got = keras.ops.convert_to_numpy(model(x, training=False))
    expected = np.maximum(x, 0.0)
    if np.allclose(got, expected, atol=1e-4):
        return
    if np.allclose(got, x, atol=1e-4):
        hint = (
            "negative values pass through: apply the activation once more after the addition, "
            "output = relu(x + F(x))."
        )
    elif np.allclose(got, 0.0, atol=1e-4):
        hint = "the shortcut is lost: add x to F(x) (keras.layers.Add()([shortcut, y])), then relu."
    else:
        hint = "the block must return relu(shortcut + F(x)), with F ending in BatchNormalization."
    raise CheckFailed(
        f"{call} with every convolution's weights set to zero (so F(x) = 0) should return "
        f"relu(x); found values that differ from relu(x) (largest difference "
        f"{float(np.max(np.abs(got - expected))):.3g}). Hint: {hint}"
    )


@register("03.residual_block")
def _residual_block(namespace: Mapping[str, Any]) -> None:
    fn = lookup(namespace, "residual_block")
    # identity shortcut: same channels, stride 1 (default)
    model, call = _build_block(fn, (8, 8, 16), 16, None)
    _check_block_shape(model, call, (8, 8, 16))
    _check_block_params(model, call, 16, 16, projection=False)
    _check_block_adds_then_activates(model, call)
    # projection shortcut: stride 2 and more channels
    model, call = _build_block(fn, (8, 8, 8), 16, 2)
    _check_block_shape(model, call, (4, 4, 16))
    _check_block_params(model, call, 8, 16, projection=True)
    # projection shortcut: stride 1 but more channels
    model, call = _build_block(fn, (8, 8, 8), 16, 1)
    _check_block_shape(model, call, (8, 8, 16))
    _check_block_params(model, call, 8, 16, projection=True)


# ---------------------------------------------------------------------------------------------
# Exercise 2: the receptive field of stacked layers


def _rf(kernels: list[int], strides: list[int]) -> int:
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        field += (k - 1) * jump
        jump *= s
    return field


@register("03.receptive_field")
def _receptive_field(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "receptive_field")
    cases = [
        ([3], [1]),
        ([3, 3], [1, 1]),
        ([3, 3], [2, 1]),
        ([3, 3, 3], [2, 2, 1]),
        ([7, 3, 3, 3, 3, 3, 3, 3], [2, 2, 1, 1, 1, 1, 1, 1]),  # the notebook's ResNet
    ]
    for kernels, strides in cases:
        call = f"receptive_field({kernels}, {strides})"
        expected = _rf(kernels, strides)
        got = fn(list(kernels), list(strides))
        expect(
            isinstance(got, (int, np.integer)),
            f"{call} returned a {type(got).__name__} ({got!r}); expected an int (pixels).",
            hint="the receptive field is a whole number of input pixels: return an int.",
        )
        got = int(got)
        if got == expected:
            continue
        strides_ignored = 1 + sum(k - 1 for k in kernels)
        own_stride = 1 + sum(
            (k - 1) * int(np.prod(strides[: i + 1])) for i, k in enumerate(kernels)
        )
        if got == sum(kernels):
            hint = (
                "each k x k layer widens the field by k - 1 pixels (not k): start at 1, add k - 1."
            )
        elif got == strides_ignored:
            hint = (
                "the strides are ignored: after a stride-s layer, one step of the next layer "
                "spans s times as many input pixels, so multiply its k - 1 by the product of the "
                "strides of the layers *before* it."
            )
        elif got == own_stride:
            hint = (
                "a layer's own stride does not widen its own field: multiply k - 1 by the "
                "product of the strides of the layers before it only."
            )
        else:
            hint = "field = 1 + sum over layers of (k_i - 1) * (product of the strides before i)."
        check_equal(call, got, expected, hint=hint)


# ---------------------------------------------------------------------------------------------
# Exercise 3: the most frequent confusions


@register("03.top_confusions")
def _top_confusions(namespace: Mapping[str, Any]) -> None:
    import numpy as np

    fn = lookup(namespace, "top_confusions")
    y_true = np.array([3, 3, 3, 5, 5, 5, 5, 5, 7, 7, 7, 1, 1])
    y_pred = np.array([5, 5, 3, 3, 5, 5, 5, 5, 2, 1, 2, 1, 7])
    # mistakes: (3, 5) x2, (7, 2) x2, (1, 7) x1, (5, 3) x1, (7, 1) x1; 4 correct 5s
    true_before, pred_before = y_true.copy(), y_pred.copy()
    call = "top_confusions(y_true, y_pred, 3)"
    got = fn(y_true, y_pred, 3)
    expect(
        np.array_equal(y_true, true_before) and np.array_equal(y_pred, pred_before),
        f"{call} changed its input arrays; it must leave y_true and y_pred as they were.",
        hint="work on copies or on new arrays, never sort the inputs in place.",
    )
    try:
        rows = [tuple(int(v) for v in row) for row in got]
    except (TypeError, ValueError):
        raise CheckFailed(
            f"{call} returned {got!r}; expected a list of (true, predicted, count) tuples of ints."
        ) from None
    expect(
        all(len(row) == 3 for row in rows),
        f"{call} returned rows {rows}; each row should be a (true, predicted, count) triple.",
    )
    expected = [(3, 5, 2), (7, 2, 2), (1, 7, 1)]
    if rows != expected:
        if any(t == p for t, p, _ in rows):
            hint = (
                "a correct prediction (true == predicted) is not a confusion: leave the diagonal "
                "of the confusion matrix out."
            )
        elif len(rows) != 3:
            hint = "return k rows (or fewer, if there are fewer distinct mistakes)."
        elif any(a[2] < b[2] for a, b in zip(rows, rows[1:])) or rows[0][2] < expected[0][2]:
            hint = "the most frequent confusion comes first: sort the counts in decreasing order."
        elif sorted(c for *_, c in rows) == sorted(c for *_, c in expected):
            hint = "break ties in the count by the true label, then by the predicted label (smallest first)."
        else:
            hint = "count each (true, predicted) pair with true != predicted, e.g. in a confusion matrix."
        check_equal(call, rows, expected, hint=hint)
    everything = [tuple(int(v) for v in row) for row in fn(y_true, y_pred, 10)]
    check_equal(
        "top_confusions(y_true, y_pred, 10) (5 distinct mistakes)",
        everything,
        [(3, 5, 2), (7, 2, 2), (1, 7, 1), (5, 3, 1), (7, 1, 1)],
        hint="with fewer distinct mistakes than k, return all of them (no pairs with count 0).",
    )
