"""How fast FSRCNN runs on this CPU: inference per output megapixel (per variant and scale) and training steps.

    .venv/bin/python benchmarks/fsrcnn_speed.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/fsrcnn_speed.py --repeats 9 --lr-size 300

Prints medians over ``--repeats`` runs after one warm-up: seconds per output megapixel for bicubic
(Pillow) and for every FSRCNN variant called eagerly, through a traced ``tf.function`` and with
``model.predict``; and milliseconds per training step (batch 32 of 24x24 LR patches). Untrained
weights: speed does not depend on their values. The CPU may be shared; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from helpers.reporting import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import superres as sr  # noqa: E402

VARIANTS = {
    "FSRCNN x3": dict(scale=3),
    "FSRCNN-s x3": dict(scale=3, d=32, s=5, m=1),
    "FSRCNN ReLU x3": dict(scale=3, activation="relu"),
    "FSRCNN separable x3": dict(scale=3, separable=True),
    "FSRCNN BN x3": dict(scale=3, batch_norm=True),
    "FSRCNN x2": dict(scale=2),
    "FSRCNN x4": dict(scale=4),
}


def median_seconds(fn, repeats: int) -> float:
    """Return the median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--lr-size", type=int, default=200, help="side of the square LR input in pixels"
    )
    parser.add_argument("--train-steps", type=int, default=10)
    args = parser.parse_args(argv)

    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"LR input {args.lr_size}x{args.lr_size}, median of {args.repeats} runs\n")
    rng = np.random.default_rng(0)
    x = rng.random((1, args.lr_size, args.lr_size, 1), dtype=np.float32)
    print(
        f"{'model':22s} {'MACs/px':>8s} {'eager s/MP':>11s} {'tf.function':>12s} {'predict':>9s} "
        f"{'train ms/step':>14s}"
    )
    for scale in (2, 3, 4):
        megapixels = (args.lr_size * scale) ** 2 / 1e6
        bicubic = sr.bicubic_predict_fn(scale)
        t = median_seconds(lambda bicubic=bicubic: bicubic(x), args.repeats) / megapixels
        print(f"{'bicubic x' + str(scale):22s} {0:8.0f} {t:11.4f} {'-':>12s} {'-':>9s} {'-':>14s}")
    for name, kwargs in VARIANTS.items():
        model = sr.build_fsrcnn(**kwargs)
        megapixels = (args.lr_size * kwargs["scale"]) ** 2 / 1e6
        eager = (
            median_seconds(lambda model=model: model(x, training=False), args.repeats) / megapixels
        )
        traced = tf.function(lambda t, model=model: model(t, training=False))
        xt = tf.constant(x)
        graph = (
            median_seconds(lambda traced=traced, xt=xt: traced(xt).numpy(), args.repeats)
            / megapixels
        )
        predict = (
            median_seconds(lambda model=model: model.predict(x, verbose=0), args.repeats)
            / megapixels
        )
        train_ms = training_step_ms(model, kwargs["scale"], args.train_steps)
        print(
            f"{name:22s} {sr.macs_per_output_pixel(model):8.0f} {eager:11.4f} {graph:12.4f} {predict:9.4f} "
            f"{train_ms:14.1f}"
        )
    return 0


def training_step_ms(model, scale: int, steps: int, batch: int = 32, patch: int = 24) -> float:
    """Return the median milliseconds of one Adam step on a batch of random LR/HR patches."""
    import keras

    opt = keras.optimizers.Adam(1e-3)
    x = tf.random.uniform((batch, patch, patch, 1))
    y = tf.random.uniform((batch, patch * scale, patch * scale, 1))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_weights)
        opt.apply(grads, model.trainable_weights)
        return loss

    return 1000 * median_seconds(lambda: step().numpy(), steps)


if __name__ == "__main__":
    sys.exit(main())
