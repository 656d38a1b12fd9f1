"""How fast FSRCNN runs on this CPU: inference per output megapixel (per variant and scale) and training steps.

    .venv/bin/python benchmarks/fsrcnn_speed.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/fsrcnn_speed.py --repeats 9 --lr-size 300

Prints the CPU model and its instruction sets, then medians (``helpers.kit.timing.median_ms``, warm-up
discarded) over ``--repeats`` runs: seconds per output megapixel for bicubic (Pillow) and for every
FSRCNN model of notebook 07 called eagerly, through a traced ``tf.function`` and with
``model.predict``; and milliseconds per training step (batch 32 of 24x24 LR patches). Untrained
weights: speed does not depend on their values. The CPU may be shared; the load average is printed.
Timings are for reading, not for asserting: two CPUs of the same kind can differ several times.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.kit import environment  # noqa: E402

environment.quiet_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import sr  # noqa: E402
from helpers.kit import timing  # noqa: E402


def seconds_per_megapixel(fn, megapixels: float, repeats: int) -> float:
    """Return the median seconds of ``fn()`` per output megapixel."""
    return timing.median_ms(fn, repeats=repeats, warmup=1) / 1000.0 / megapixels


def training_step_ms(model, scale: int, repeats: int, batch: int = 32, patch: int = 24) -> float:
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

    return timing.median_ms(lambda: step().numpy(), repeats=repeats, warmup=1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--lr-size", type=int, default=200, help="side of the square LR input in pixels"
    )
    parser.add_argument("--train-steps", type=int, default=10, help="timed training steps")
    args = parser.parse_args(argv)

    print(environment.cpu_line())
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"LR input {args.lr_size}x{args.lr_size}, median of {args.repeats} runs\n")
    x = np.random.default_rng(0).random((1, args.lr_size, args.lr_size, 1), dtype=np.float32)
    print(
        f"{'model':22s} {'MACs/px':>8s} {'eager s/MP':>11s} {'tf.function':>12s} {'predict':>9s} "
        f"{'train ms/step':>14s}"
    )
    for scale in (2, 3, 4):
        megapixels = (args.lr_size * scale) ** 2 / 1e6
        bicubic = sr.bicubic_predict_fn(scale)
        t = seconds_per_megapixel(lambda bicubic=bicubic: bicubic(x), megapixels, args.repeats)
        print(f"{'bicubic x' + str(scale):22s} {0:8.0f} {t:11.4f} {'-':>12s} {'-':>9s} {'-':>14s}")
    for name in sr.MODEL_NAMES:
        model = sr.build_fsrcnn(**sr.fsrcnn_spec(name))
        scale = sr.fsrcnn_scale(model)
        megapixels = (args.lr_size * scale) ** 2 / 1e6
        eager = seconds_per_megapixel(
            lambda model=model: model(x, training=False), megapixels, args.repeats
        )
        traced = tf.function(lambda t, model=model: model(t, training=False))
        xt = tf.constant(x)
        graph = seconds_per_megapixel(
            lambda traced=traced, xt=xt: traced(xt).numpy(), megapixels, args.repeats
        )
        predict = seconds_per_megapixel(
            lambda model=model: model.predict(x, verbose=0), megapixels, args.repeats
        )
        train_ms = training_step_ms(model, scale, args.train_steps)
        print(
            f"{name:22s} {sr.macs_per_output_pixel(model):8.0f} {eager:11.4f} {graph:12.4f} "
            f"{predict:9.4f} {train_ms:14.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
