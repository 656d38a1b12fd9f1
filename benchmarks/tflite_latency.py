"""Median TFLite (LiteRT) latency at batch 1, float32 vs int8, with 1 and 2 threads: a classifier and FSRCNN x3.

    .venv/bin/python benchmarks/tflite_latency.py                       # ResNet + FSRCNN x3 on a 256x256 LR image
    .venv/bin/python benchmarks/tflite_latency.py --classifier tiny_cnn --size 128 --repeats 20

Uses the trained models of the current run mode (``artifacts/<mode>/models``) when they exist and
otherwise freshly built ones (latency does not depend on the weights' values). int8 models are
calibrated on 200 training inputs (MNIST images / LR Y patches). Each figure is the median of
``--repeats`` timed ``invoke()`` calls after warm-up calls; ratios are int8 time / float32 time
(below 1 = int8 faster). Numbers depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _classifier(name: str):
    """Return (model, source) for the classifier ``name``: trained if saved, else freshly built."""
    import keras

    from helpers import config, models

    path = config.artifacts_dir("models") / f"{name}.keras"
    if path.exists():
        return keras.models.load_model(path, compile=False), f"trained ({path.name})"
    return models.build_classifier(name), "untrained"


def _fsrcnn():
    """Return (model, source) for FSRCNN x3: trained if saved, else freshly built."""
    from helpers import superres

    model = superres.load_sr_model("fsrcnn_x3")
    if model is not None:
        return model, "trained (fsrcnn_x3.keras)"
    return superres.build_fsrcnn(scale=3), "untrained"


def main(argv: list[str] | None = None) -> int:
    """Measure and print the latency table; return the exit code."""
    from helpers.reporting import quiet_tensorflow

    quiet_tensorflow()
    import numpy as np

    from helpers import config, data, models, quantization, superres

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classifier", default="resnet", choices=list(models.CLASSIFIERS))
    parser.add_argument(
        "--size", type=int, default=256, help="side of the square LR image FSRCNN enlarges"
    )
    parser.add_argument(
        "--repeats", type=int, default=50, help="timed invokes per model and thread count"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)

    config.set_seed(0)
    rng = np.random.default_rng(0)
    splits = data.load_mnist_splits(train_subset=2000, test_subset=10)
    cases = []
    clf, clf_source = _classifier(args.classifier)
    cases.append(
        (
            f"{args.classifier} (28x28)",
            clf,
            clf_source,
            splits["x_train"][:200],
            splits["x_test"][:1],
        )
    )
    sr, sr_source = _fsrcnn()
    lr_image = superres.lr_input(
        superres.bicubic_downscale(superres.load_sr_images("test")[0][1], 2)
    )
    lr_image = lr_image[
        :, : args.size, : args.size
    ]  # a real photo's Y channel (astronaut / 2) rather than noise
    if lr_image.shape[1] < args.size or lr_image.shape[2] < args.size:
        lr_image = rng.random((1, args.size, args.size, 1), dtype=np.float32)
    cases.append(
        (
            f"FSRCNN x3 ({args.size}x{args.size} LR)",
            sr,
            sr_source,
            superres.representative_lr_patches(200, 3, 32),
            lr_image,
        )
    )

    print(
        f"median of {args.repeats} invokes at batch 1 (ai_edge_litert Interpreter, default XNNPACK delegate)"
    )
    thread_cols = "".join(
        f"{f'fp32 {n}t ms':>13}{f'int8 {n}t ms':>13}{'int8/fp32':>11}" for n in args.threads
    )
    header = f"{'model':<26}{'weights':<28}{'fp32 KB':>9}{'int8 KB':>9}" + thread_cols
    print(header)
    print("-" * len(header))
    for label, model, source, calibration, x1 in cases:
        fp32 = quantization.convert(model, "float32")
        int8 = quantization.convert(model, "int8", calibration)
        t_fp32 = quantization.median_latency_ms(
            fp32, x1, threads=args.threads, repeats=args.repeats
        )
        t_int8 = quantization.median_latency_ms(
            int8, x1, threads=args.threads, repeats=args.repeats
        )
        cols = "".join(
            f"{t_fp32[n]:>13.3f}{t_int8[n]:>13.3f}{t_int8[n] / t_fp32[n]:>10.2f}x"
            for n in args.threads
        )
        print(
            f"{label:<26}{source:<28}{len(fp32) / 1024:>9.1f}{len(int8) / 1024:>9.1f}" + cols,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
