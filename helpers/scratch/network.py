"""A small ``Sequential`` container that trains, evaluates and profiles the NumPy layers, and the
slides' CNN (conv 5x5 -> ReLU -> max-pool, twice, then one dense layer to 10 classes)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from helpers.scratch.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from helpers.scratch.losses import SoftmaxCrossEntropy, softmax
from helpers.scratch.optim import SGD, LearningRateDecay

# The notebook's recipe for the slides' CNN (momentum, batch size and the cosine shape were chosen on
# the validation split; the 5 epochs and the 0.03 -> 0.001 decay are the slides').
RECIPE = {
    "epochs": 5,
    "batch_size": 32,
    "learning_rates": (0.03, 0.001),
    "momentum": 0.9,
    "shape": "cosine",
}


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Return a context manager limiting the BLAS library (OpenBLAS, MKL) to ``n`` threads (None: no limit).

    The matrix products of a small CNN last well under a millisecond; starting and synchronising
    BLAS threads for each of them costs more than it saves on a 2-core machine, especially when
    other work shares the cores. ``threadpoolctl`` (installed with scikit-learn) does the limiting;
    without it this does nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        threadpool_limits = None
    if n is None or threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


class Sequential:
    """Layers applied in order, ending in logits, trained with the fused softmax + cross-entropy loss.

    ``input_shape`` (one example, e.g. ``(28, 28, 1)``) lets the container check every layer's
    shapes when it is built, print a summary and build a Keras twin. ``predict`` returns
    probabilities (N, classes) like a Keras classifier with a softmax output.
    """

    def __init__(self, layers: Sequence[Layer], input_shape: Sequence[int] | None = None):
        layers = list(layers)
        if not layers:
            raise ValueError("layers is empty: pass a list such as [Conv2D(...), ReLU(), ...]")
        bad = [type(layer).__name__ for layer in layers if not isinstance(layer, Layer)]
        if bad:
            raise TypeError(f"every layer must be a helpers.scratch layer, got {bad}")
        names = [layer.name for layer in layers]
        for i, layer in enumerate(layers):  # unique names: parameters are keyed by them
            if names.count(layer.name) > 1:
                layer.name = f"{layer.name}_{names[:i].count(names[i]) + 1}"
        self.layers = layers
        self.loss = SoftmaxCrossEntropy()
        self.input_shape = None if input_shape is None else tuple(int(d) for d in input_shape)
        self.steps: dict[str, list[float]] = {"loss": [], "learning_rate": []}
        if self.input_shape is not None:
            self.shapes()  # raises a clear error on a mismatch now, not during training

    # ------------------------------------------------------------------ structure

    def shapes(self) -> list[tuple[int, ...]]:
        """Return the output shape of every layer (no batch axis), checking each layer's input."""
        if self.input_shape is None:
            raise ValueError("this network has no input_shape: build it with input_shape=(H, W, C)")
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes.append(shape)
        return shapes

    def summary(self) -> Any:
        """Return a DataFrame with one row per layer: name, type, output shape, parameter count."""
        import pandas as pd

        shapes = self.shapes()
        return pd.DataFrame(
            {
                "layer": [layer.name for layer in self.layers],
                "type": [type(layer).__name__ for layer in self.layers],
                "output shape": [str(s) for s in shapes],
                "params": [sum(p.size for p in layer.params.values()) for layer in self.layers],
            }
        )

    def count_params(self) -> int:
        """Return the number of trainable numbers (weights and biases)."""
        return int(sum(p.size for layer in self.layers for p in layer.params.values()))

    def parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Return ``(key, parameter, gradient)`` for every parameter, keys like ``"conv2d/W"``."""
        return [
            (f"{layer.name}/{name}", param, layer.grads[name])
            for layer in self.layers
            for name, param in layer.params.items()
        ]

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of all parameters in layer order (W before b), like Keras' ``get_weights``."""
        return [p.copy() for layer in self.layers for p in layer.params.values()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set all parameters from a list in ``get_weights`` order (shapes checked)."""
        slots = [(layer, name) for layer in self.layers for name in layer.params]
        if len(weights) != len(slots):
            raise ValueError(f"expected {len(slots)} arrays, got {len(weights)}")
        for (layer, name), value in zip(slots, weights):
            value = np.asarray(value)
            if value.shape != layer.params[name].shape:
                raise ValueError(
                    f"{layer.name}/{name} has shape {layer.params[name].shape}, got {value.shape}"
                )
            layer.params[name] = value.astype(layer.params[name].dtype)

    def astype(self, dtype: Any) -> Sequential:
        """Return the network itself with every parameter cast to ``dtype``."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    # ------------------------------------------------------------------ passes

    def _check_batch(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` as an array, checked to be a batch of this network's input shape."""
        x = np.asarray(x)
        if self.input_shape is not None and x.shape[1:] != self.input_shape:
            raise ValueError(
                f"expected a batch of shape (N, {', '.join(map(str, self.input_shape))}), got "
                f"{x.shape}"
                + (" (add the batch axis with x[None])" if x.shape == self.input_shape else "")
            )
        return x

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the logits (N, classes) of the batch ``x``, timing each layer."""
        h = self._check_batch(x)
        for layer in self.layers:
            start = time.perf_counter()
            h = layer.forward(h, training=training)
            layer.timings["forward"] += time.perf_counter() - start
        return h

    def backward(self, dlogits: np.ndarray, input_gradient: bool = False) -> np.ndarray | None:
        """Return dL/dx of the network input (None unless ``input_gradient``), filling every layer's ``grads``."""
        d = dlogits
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            start = time.perf_counter()
            d = layer.backward(d, input_gradient=input_gradient or i > 0)
            layer.timings["backward"] += time.perf_counter() - start
        return d

    def train_step(
        self, x: np.ndarray, y: np.ndarray, optimizer: SGD, learning_rate: float
    ) -> tuple[float, float]:
        """Return (loss, accuracy) of a batch after one forward pass, backward pass and optimizer step."""
        logits = self.forward(x, training=True)
        loss = self.loss.forward(logits, y)
        self.backward(self.loss.backward())
        optimizer.step(self.parameters(), learning_rate)
        labels = y if np.ndim(y) == 1 else np.argmax(y, axis=1)
        return loss, float(np.mean(np.argmax(logits, axis=1) == labels))

    def predict(self, x: np.ndarray, batch_size: int = 500, threads: int | None = 1) -> np.ndarray:
        """Return class probabilities (N, classes) for the images ``x``, computed in batches."""
        x = self._check_batch(x)
        with blas_threads(threads), self._untimed():
            out = [
                softmax(self.forward(x[i : i + batch_size])) for i in range(0, len(x), batch_size)
            ]
        return np.concatenate(out) if out else np.zeros((0, 0))

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> dict[str, float]:
        """Return ``{"loss": mean cross-entropy, "accuracy": fraction correct}`` on ``(x, y)``."""
        x = self._check_batch(x)
        y = np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        if len(x) == 0:
            raise ValueError("x is empty: nothing to evaluate")
        total_loss, correct = 0.0, 0
        with blas_threads(1), self._untimed():
            for i in range(0, len(x), batch_size):
                logits = self.forward(x[i : i + batch_size])
                yb = y[i : i + batch_size]
                total_loss += self.loss.forward(logits, yb) * len(yb)
                labels = yb if yb.ndim == 1 else np.argmax(yb, axis=1)
                correct += int(np.sum(np.argmax(logits, axis=1) == labels))
        return {"loss": total_loss / len(x), "accuracy": correct / len(x)}

    # ------------------------------------------------------------------ training

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        optimizer: SGD | None = None,
        schedule: Callable[[int], float] | None = None,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        shuffle: bool = True,
        seed: int = 0,
        verbose: int = 1,
        threads: int | None = 1,
    ) -> dict[str, list[float]]:
        """Return the per-epoch history (lists, one value per epoch) of training on ``(x, y)`` in mini-batches.

        Keys: ``loss``/``accuracy`` (running means over the epoch's batches, as Keras reports them),
        ``val_loss``/``val_accuracy`` (if ``validation_data``), ``learning_rate`` (last step of the
        epoch), ``seconds`` (training only, validation excluded) and ``images_per_second``.
        ``schedule(step)`` gives the learning rate of each step (0-based over all epochs); without it
        the optimizer's rate is used (default optimizer: plain SGD at 0.03). ``verbose``: 0 silent,
        1 a progress bar and one line per epoch, 2 one line per epoch. ``threads``: BLAS threads
        during training (see :func:`blas_threads`). Per-step losses and rates are appended to
        ``self.steps``.
        """
        x, y = self._check_fit(x, y, epochs, batch_size, verbose)
        optimizer = optimizer or SGD(0.03)
        rng = np.random.default_rng(seed)
        keys = ["loss", "accuracy", "learning_rate", "seconds", "images_per_second"]
        if validation_data is not None:
            keys += ["val_loss", "val_accuracy"]
        history: dict[str, list[float]] = {k: [] for k in keys}
        batches = int(np.ceil(len(x) / batch_size))
        for epoch in range(int(epochs)):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            bar = _progress(batches, f"epoch {epoch + 1}/{epochs}", verbose == 1)
            start = time.perf_counter()
            with blas_threads(threads):
                loss, accuracy, lr = self._train_epoch(
                    x, y, order, batch_size, optimizer, schedule, bar
                )
            seconds = time.perf_counter() - start
            epoch_log = {"loss": loss, "accuracy": accuracy, "learning_rate": lr}
            epoch_log |= {"seconds": seconds, "images_per_second": len(x) / seconds}
            if validation_data is not None:
                val = self.evaluate(*validation_data)
                epoch_log |= {"val_loss": val["loss"], "val_accuracy": val["accuracy"]}
            for key in keys:
                history[key].append(epoch_log[key])
            if bar is not None:
                bar.close()
            if verbose:
                print(f"epoch {epoch + 1:>2}/{epochs}  {_epoch_line(epoch_log)}", flush=True)
        return history

    def _check_fit(
        self, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, verbose: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(x, y)`` as arrays after checking the arguments of :meth:`fit` (clear errors)."""
        x = self._check_batch(x)
        y = np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        if len(x) == 0:
            raise ValueError("x is empty: nothing to train on")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        return x, y

    def _train_epoch(
        self,
        x: np.ndarray,
        y: np.ndarray,
        order: np.ndarray,
        batch_size: int,
        optimizer: SGD,
        schedule: Callable[[int], float] | None,
        bar: Any,
    ) -> tuple[float, float, float]:
        """Return (mean loss, mean accuracy, last learning rate) of one epoch of steps over ``order``."""
        loss_sum, acc_sum, seen = 0.0, 0.0, 0
        step = len(self.steps["loss"])  # continue the schedule where an earlier fit stopped
        lr = optimizer.learning_rate
        for b in range(int(np.ceil(len(order) / batch_size))):
            idx = order[b * batch_size : (b + 1) * batch_size]
            lr = optimizer.learning_rate if schedule is None else float(schedule(step))
            loss, acc = self.train_step(x[idx], y[idx], optimizer, lr)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss} at step {step} (learning rate {lr:g}): "
                    "lower the learning rate"
                )
            loss_sum, acc_sum, seen = (
                loss_sum + loss * len(idx),
                acc_sum + acc * len(idx),
                seen + len(idx),
            )
            self.steps["loss"].append(loss)
            self.steps["learning_rate"].append(lr)
            step += 1
            if bar is not None:
                bar.update(1)
                if b % 20 == 0:
                    bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{acc_sum / seen:.4f}")
        return loss_sum / seen, acc_sum / seen, lr

    # ------------------------------------------------------------------ profile

    @contextlib.contextmanager
    def _untimed(self) -> Iterator[None]:
        """Keep the layers' timings as they are across the block (evaluation is not training time)."""
        saved = [dict(layer.timings) for layer in self.layers]
        try:
            yield
        finally:
            for layer, timings in zip(self.layers, saved):
                layer.timings.clear()
                layer.timings.update(timings)

    def reset_timings(self) -> None:
        """Set every layer's accumulated timings back to zero."""
        for layer in self.layers:
            layer.timings.clear()

    def profile(self, epochs: int = 1) -> Any:
        """Return a DataFrame of where training time went since the last ``reset_timings``: one row per layer and pass.

        Columns: ``layer``, ``pass`` (forward/backward), ``seconds`` (the layer's total for that
        pass, divided by ``epochs``: seconds per epoch when that many epochs were timed), ``share``
        (of all layers' forward + backward time) and ``parts`` (the layer's own breakdown, e.g.
        im2col vs matrix product, in seconds). ``evaluate`` and ``predict`` are not counted.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        import pandas as pd

        rows = []
        for layer in self.layers:
            for phase in ("forward", "backward"):
                total = layer.timings.get(phase, 0.0) / epochs
                parts = {
                    k.split(" ", 1)[1]: v / epochs
                    for k, v in layer.timings.items()
                    if k.startswith(phase + " ")
                }
                rows.append(
                    {
                        "layer": layer.name,
                        "pass": phase,
                        "seconds": total,
                        "parts": ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()) or "-",
                    }
                )
        table = pd.DataFrame(rows)
        table["share"] = table["seconds"] / max(table["seconds"].sum(), 1e-12)
        return table[["layer", "pass", "seconds", "share", "parts"]]

    def time_breakdown(
        self, total_seconds: float | None = None, by_type: bool = False, epochs: int = 1
    ) -> Any:
        """Return a DataFrame of seconds per layer, pass and part (im2col, matmul, col2im, max, ...).

        "other" is the part of a layer's pass not covered by its named parts (e.g. padding, reshapes,
        adding the bias); "all" is the whole pass of a layer without named parts (ReLU, Dense, ...).
        With ``total_seconds`` (the measured wall time of the same work) one more row, "outside the layers", holds the loss, the SGD updates, batching and Python overhead.
        ``by_type=True`` adds up layers of the same type (both Conv2D layers, both MaxPool2D, ...).
        Seconds are divided by ``epochs`` (seconds per epoch when that many epochs were timed).
        Columns: ``layer`` (or ``type``), ``pass``, ``part``, ``seconds``, ``share``.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        import pandas as pd

        rows = [row for layer in self.layers for row in _timing_rows(layer)]
        if total_seconds is not None:
            inside = sum(
                layer.timings.get(p, 0.0) for layer in self.layers for p in ("forward", "backward")
            )
            outside = max(total_seconds - inside, 0.0)
            rows.append(("-", "outside the layers", "-", "loss, SGD, batching", outside))
        table = pd.DataFrame(rows, columns=["layer", "type", "pass", "part", "seconds"])
        table["seconds"] /= epochs
        if by_type:
            table = table.groupby(["type", "pass", "part"], sort=False, as_index=False)[
                "seconds"
            ].sum()
        else:
            table = table.drop(columns="type")
        table["share"] = table["seconds"] / max(table["seconds"].sum(), 1e-12)
        return table


def _timing_rows(layer: Layer) -> list[tuple[str, str, str, str, float]]:
    """Return ``(layer, type, pass, part, seconds)`` rows of one layer's accumulated timings."""
    rows = []
    for phase in ("forward", "backward"):
        parts = {
            key.split(" ", 1)[1]: seconds
            for key, seconds in layer.timings.items()
            if key.startswith(phase + " ")
        }
        rest = sum(parts.values())
        parts["other" if parts else "all"] = max(layer.timings.get(phase, 0.0) - rest, 0.0)
        rows += [(layer.name, type(layer).__name__, phase, k, v) for k, v in parts.items()]
    return rows


def _progress(total: int, desc: str, enabled: bool) -> Any:
    """Return a text tqdm progress bar on stdout (None if disabled)."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stdout, mininterval=2.0, ncols=90, leave=False)


def build_slides_cnn(
    filters: tuple[int, int] = (6, 12),
    dropout: float = 0.0,
    kernel_size: int = 5,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    seed: int = 0,
    dtype: Any = np.float32,
) -> Sequential:
    """Return the slides' CNN: [conv k x k (filters[0]) -> ReLU -> 2x2 max-pool] -> [same, filters[1]] -> dense.

    With the defaults on 28x28x1 images: 24x24x6 -> 12x12x6 -> 8x8x12 -> 4x4x12 = 192 features ->
    10 logits (the softmax is in the loss). ``dropout`` > 0 inserts a Dropout on the 192 features.
    """
    if len(filters) != 2:
        raise ValueError(f"filters must be two numbers of kernels, e.g. (6, 12), got {filters!r}")
    rng = np.random.default_rng(seed)
    f1, f2 = filters
    h, w, c = input_shape
    layers: list[Layer] = [
        Conv2D(c, f1, kernel_size, seed=rng, dtype=dtype, name="conv1"),
        ReLU(name="relu1"),
        MaxPool2D(2, name="pool1"),
        Conv2D(f1, f2, kernel_size, seed=rng, dtype=dtype, name="conv2"),
        ReLU(name="relu2"),
        MaxPool2D(2, name="pool2"),
        Flatten(name="flatten"),
    ]
    features = Sequential(layers, input_shape).shapes()[-1][0]
    if dropout:
        layers.append(Dropout(dropout, seed=rng, name="dropout"))
    layers.append(Dense(features, num_classes, seed=rng, dtype=dtype, name="dense"))
    return Sequential(layers, input_shape)


def slides_decay(
    train_size: int,
    epochs: int = RECIPE["epochs"],
    batch_size: int = RECIPE["batch_size"],
    learning_rates: tuple[float, float] = RECIPE["learning_rates"],
    shape: str = RECIPE["shape"],
) -> LearningRateDecay:
    """Return the learning-rate decay from ``learning_rates[0]`` to ``learning_rates[1]`` over all steps of a run."""
    if train_size < 1:
        raise ValueError(f"train_size must be >= 1, got {train_size}")
    steps = int(np.ceil(train_size / batch_size)) * int(epochs)
    return LearningRateDecay(learning_rates[0], learning_rates[1], steps, shape)


def train_slides_cnn(
    x: np.ndarray,
    y: np.ndarray,
    filters: tuple[int, int] = (6, 12),
    dropout: float = 0.0,
    momentum: float = RECIPE["momentum"],
    epochs: int = RECIPE["epochs"],
    batch_size: int = RECIPE["batch_size"],
    learning_rates: tuple[float, float] = RECIPE["learning_rates"],
    shape: str = RECIPE["shape"],
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    verbose: int = 1,
) -> tuple[Sequential, dict[str, list[float]]]:
    """Return ``(net, history)``: the slides' CNN built with ``seed`` and trained with :data:`RECIPE` by default.

    SGD with ``momentum``; the learning rate decays from ``learning_rates[0]`` to ``learning_rates[1]``
    over all the steps of the run (:func:`slides_decay`); float32.
    """
    net = build_slides_cnn(filters, dropout=dropout, seed=seed)
    decay = slides_decay(len(x), epochs, batch_size, learning_rates, shape)
    history = net.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=SGD(learning_rates[0], momentum=momentum),
        schedule=decay,
        validation_data=validation_data,
        seed=seed,
        verbose=verbose,
    )
    return net, history


def _epoch_line(log: dict[str, float]) -> str:
    """Return the one-line summary of an epoch that ``fit`` prints (Keras-like)."""
    line = f"loss {log['loss']:.4f}  accuracy {log['accuracy']:.4f}"
    if "val_loss" in log:
        line += f"  val_loss {log['val_loss']:.4f}  val_accuracy {log['val_accuracy']:.4f}"
    speed = f"{log['seconds']:.1f} s, {log['images_per_second']:,.0f} images/s"
    return line + f"  lr {log['learning_rate']:.4g}  ({speed})"
