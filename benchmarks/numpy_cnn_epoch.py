"""How long one training epoch of the NumPy CNN takes on this CPU, and where the time goes.

    .venv/bin/python benchmarks/numpy_cnn_epoch.py                 # about 30 s on 2 cores
    .venv/bin/python benchmarks/numpy_cnn_epoch.py --filters 16 32 --repeats 1

Trains the slides' CNN (``helpers.scratch.build_slides_cnn``, 6 and 12 kernels by default) for one
epoch on all 60,000 MNIST training images with the notebook's recipe (``scratch.RECIPE``: batch 32,
SGD with momentum 0.9, the learning rate decaying from 0.03 to 0.001), float32, one BLAS thread
(``--threads``), ``--repeats`` times from fresh weights after one warm-up epoch
(``helpers.kit.timing.median_ms``). Prints the CPU model and its instruction sets, the median epoch
time, images per second, the time that rate gives for the 55,000 images of the notebook's training
split, and the median profile: seconds per layer, pass and part (im2col, matrix products, col2im,
pooling). The kit's target is <= 60 s per epoch for 6/12; timings are printed, never asserted: the
CPU may be shared (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from helpers import data, scratch  # noqa: E402
from helpers.kit import environment, timing  # noqa: E402

TARGET_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the epoch time and the profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filters", type=int, nargs=2, default=(6, 12), metavar=("F1", "F2"))
    parser.add_argument("--batch-size", type=int, default=scratch.RECIPE["batch_size"])
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0: library default)")
    args = parser.parse_args(argv)

    print(environment.cpu_line())
    print(
        f"NumPy {np.__version__}, {os.cpu_count()} CPU cores, load average "
        f"{os.getloadavg()[0]:.1f}, BLAS threads {args.threads or 'default'}"
    )
    splits = data.load_mnist_splits(val_size=0)  # all 60,000 training images
    x, y = splits["x_train"], splits["y_train"]
    print(
        f"one epoch = {len(x):,} images, batch {args.batch_size}, kernels {args.filters[0]}/"
        f"{args.filters[1]}, float32; median of {args.repeats} timed "
        f"epoch{'s' if args.repeats != 1 else ''} after a warm-up\n"
    )
    breakdowns = []

    def one_epoch() -> None:
        net = scratch.build_slides_cnn(tuple(args.filters), seed=len(breakdowns))
        history = net.fit(
            x,
            y,
            batch_size=args.batch_size,
            optimizer=scratch.SGD(0.03, momentum=scratch.RECIPE["momentum"]),
            schedule=scratch.slides_decay(len(x), epochs=1, batch_size=args.batch_size),
            verbose=0,
            threads=args.threads or None,
        )
        breakdowns.append(net.time_breakdown(history["seconds"][0]))

    ms = timing.median_ms(one_epoch, repeats=args.repeats, warmup=1)
    seconds = ms / 1000.0
    rate = len(x) / seconds
    verdict = "met" if seconds <= TARGET_SECONDS else "MISSED"
    print(f"epoch time: {seconds:.1f} s for {len(x):,} images ({rate:,.0f} images/s)")
    print(f"at that rate the 55,000-image training split takes {55_000 / rate:.1f} s")
    print(f"target <= {TARGET_SECONDS:.0f} s per epoch: {verdict}\n")

    timed = breakdowns[1:]  # the warm-up epoch is not part of the medians
    keys = ["layer", "pass", "part"]
    table = pd.concat(timed).groupby(keys, sort=False, as_index=False)["seconds"].median()
    table["share"] = table["seconds"] / table["seconds"].sum()
    table = table[table["share"] >= 0.005].sort_values("seconds", ascending=False)
    print("median seconds per epoch, by layer, pass and part (parts under 0.5% left out):")
    print(
        table.to_string(
            index=False, formatters={"seconds": "{:.2f}".format, "share": "{:.0%}".format}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
