"""Overhead of the PerClassAccuracy callback: median epoch time of the small CNN on full MNIST, with and without it.

    python benchmarks/per_class_accuracy_overhead.py [--epochs 4] [--batch-size 128]

Trains one small CNN (55,000 training images, 5,000 validation images, Keras' own validation pass in
both cases) for ``2 * epochs`` one-epoch ``fit`` calls, alternating without / with the callback so that
a change in machine load hits both sides alike. The first call (graph tracing) is a warm-up and not
counted. Prints each epoch time, the two medians and their difference in percent, and the cost of
one callback pass measured alone (median of 5) as a share of an epoch: on a busy machine the
difference of medians is noisy, the isolated pass is the steadier figure (target: <= 5%).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import data, models  # noqa: E402
from helpers.callbacks import EpochTimer, PerClassAccuracy  # noqa: E402
from helpers.kit import config, timing  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=4, help="timed epochs on each side (default 4)"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    config.set_seed(42)
    splits = data.load_mnist_splits()
    train_ds = data.make_dataset(
        splits["x_train"], splits["y_train"], batch_size=args.batch_size, shuffle=True
    )
    val_ds = data.make_dataset(splits["x_val"], splits["y_val"], batch_size=512)
    model = models.build_small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    per_class = PerClassAccuracy((splits["x_val"], splits["y_val"]))

    def one_epoch(with_callback: bool) -> float:
        timer = EpochTimer()
        extra = [per_class] if with_callback else []
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=extra + [timer],
        )
        return timer.epoch_seconds[0]

    one_epoch(True)  # warm-up: traces the train, test and predict functions
    without, with_cb = [], []
    for i in range(args.epochs):
        without.append(one_epoch(False))
        with_cb.append(one_epoch(True))
        print(f"round {i + 1}: without {without[-1]:.2f} s, with {with_cb[-1]:.2f} s", flush=True)

    pass_seconds = timing.median_ms(per_class.compute, repeats=5, warmup=1) / 1000.0
    med_without, med_with = statistics.median(without), statistics.median(with_cb)
    overhead = 100.0 * (med_with - med_without) / med_without
    print(
        f"small CNN, {len(splits['x_train']):,} training / {len(splits['x_val']):,} validation images, "
        f"batch {args.batch_size}, {os.cpu_count()} CPU cores"
    )
    print(f"median epoch without PerClassAccuracy: {med_without:.2f} s")
    print(f"median epoch with    PerClassAccuracy: {med_with:.2f} s")
    print(f"overhead (difference of medians): {overhead:+.1f}% (noisy on a shared machine)")
    print(
        f"one PerClassAccuracy pass alone (median of 5): {pass_seconds:.3f} s = "
        f"{100.0 * pass_seconds / med_without:.1f}% of a median epoch (target <= 5%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
