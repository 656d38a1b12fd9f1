"""CPU latency of the kit's MNIST classifiers at batch 1 and batch 256 (untrained weights; speed only).

    .venv/bin/python benchmarks/classifier_latency.py                 # every builder in models.CLASSIFIERS
    .venv/bin/python benchmarks/classifier_latency.py --models small_cnn tiny_cnn --repeats 50

Prints, per model: parameters, MACs per image, the median time of one batch of 1 and of 256 images
(``tf.function`` of ``model(x, training=False)``, timed by ``helpers.kit.timing.median_ms``: warm-up
calls discarded), the time per image at batch 256 and the batching speed-up (ms per image at batch 1
/ ms per image at batch 256).
Numbers depend on the machine and on whatever else runs on it: compare models within one run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv: list[str] | None = None) -> int:
    """Measure and print the latency table; return the exit code."""
    from helpers.kit.environment import quiet_tensorflow

    quiet_tensorflow()
    from helpers import complexity, models
    from helpers.kit import config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=list(models.CLASSIFIERS), choices=list(models.CLASSIFIERS)
    )
    parser.add_argument(
        "--repeats", type=int, default=30, help="timed calls per batch size (median is kept)"
    )
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before timing")
    args = parser.parse_args(argv)

    import tensorflow as tf

    config.set_seed(0)
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
        f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}; "
        f"median of {args.repeats} calls after {args.warmup} warm-up calls"
    )
    header = f"{'model':<16}{'params':>11}{'MACs':>13}{'b1 ms':>9}{'b256 ms':>10}{'b256 ms/img':>13}{'speed-up':>10}"
    print(header)
    print("-" * len(header))
    for name in args.models:
        model = models.build_classifier(name)
        lat = complexity.measure_latency(model, (1, 256), repeats=args.repeats, warmup=args.warmup)
        speedup = lat["ms_per_image_b1"] / lat["ms_per_image_b256"]
        print(
            f"{name:<16}{complexity.count_params(model)['total']:>11,}{complexity.total_macs(model):>13,}"
            f"{lat['ms_per_batch_b1']:>9.3f}{lat['ms_per_batch_b256']:>10.2f}{lat['ms_per_image_b256']:>13.4f}"
            f"{speedup:>9.1f}x",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
