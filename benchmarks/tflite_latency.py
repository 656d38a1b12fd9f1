"""Median TFLite (LiteRT) latency at batch 1, float32 vs int8, 1 and 2 threads: a classifier and two FSRCNN x3.

    .venv/bin/python benchmarks/tflite_latency.py                       # ResNet + FSRCNNs on a 256x256 LR image
    .venv/bin/python benchmarks/tflite_latency.py --classifier tiny_cnn --size 128 --repeats 20

Prints the CPU model and its instruction sets first: the int8 / float32 ratio depends on them (with
AVX-512 VNNI int8 ran at 0.32-0.45x of float32 for the classifiers; on a 2-core AMD EPYC with AVX2
but no AVX-512/VNNI it took 1.45-2.0x). The classifier is the trained model of the current run mode
(``artifacts.model_path``) when it exists and otherwise a freshly built one (latency does not depend
on the weights' values); the FSRCNNs are the pretrained classic and int8-friendly (anchor) models
shipped in ``data/pretrained``. int8 models are calibrated on 200 training inputs (MNIST images / LR Y
patches). Each figure is the median of ``--repeats`` timed ``invoke()`` calls after warm-up calls
(``TFLiteModel.latency_ms``); ratios are int8 time / float32 time (below 1 = int8 faster). Numbers
depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _model(name: str, build):
    """Return (model, source): the saved model ``name`` of this run mode, else ``build()`` untrained."""
    from helpers.kit import artifacts

    model = artifacts.load_model(name)
    if model is not None:
        return model, f"trained ({artifacts.model_path(name).name})"
    return build(), "untrained"


def main(argv: list[str] | None = None) -> int:
    """Measure and print the latency table; return the exit code."""
    from helpers.kit import environment

    environment.quiet_tensorflow()
    import numpy as np

    from helpers import data, models, sr, tflite
    from helpers.kit import config

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

    print(environment.cpu_line())
    print(f"{os.cpu_count()} cores; run mode {config.run_mode()}")

    config.set_seed(0)
    rng = np.random.default_rng(0)
    splits = data.load_mnist_splits(train_subset=2000, test_subset=10)
    clf, clf_source = _model(args.classifier, lambda: models.build_classifier(args.classifier))
    # a real photograph's Y channel (astronaut / 2) rather than noise
    lr_image = sr.lr_input(sr.sr_pair(sr.load_sr_images("test")[0][1], 2)[1])
    lr_image = lr_image[:, : args.size, : args.size]
    if lr_image.shape[1] < args.size or lr_image.shape[2] < args.size:
        lr_image = rng.random((1, args.size, args.size, 1), dtype=np.float32)
    sr_calibration = sr.representative_lr_patches(200, 3, 32)
    cases = [
        (
            f"{args.classifier} (28x28)",
            clf,
            clf_source,
            splits["x_train"][:200],
            splits["x_test"][:1],
        ),
    ]
    for name, label in (("fsrcnn_x3", "FSRCNN x3"), ("fsrcnn_anchor_x3", "anchor FSRCNN x3")):
        model = sr.load_pretrained(name)
        cases.append((f"{label} ({args.size}px LR)", model, "pretrained", sr_calibration, lr_image))

    print(
        f"median of {args.repeats} invokes at batch 1 (LiteRT Interpreter, default XNNPACK delegate)"
    )
    thread_cols = "".join(
        f"{f'fp32 {n}t ms':>13}{f'int8 {n}t ms':>13}{'int8/fp32':>11}" for n in args.threads
    )
    header = f"{'model':<30}{'weights':<28}{'fp32 KB':>9}{'int8 KB':>9}" + thread_cols
    print(header)
    print("-" * len(header))
    for label, model, source, calibration, x1 in cases:
        variants = {
            "float32": tflite.convert(model, "float32"),
            "int8": tflite.convert(model, "int8", calibration),
        }
        t = tflite.latency_table(variants, x1, threads=args.threads, repeats=args.repeats)
        cols = "".join(
            f"{t.loc['float32', f'latency_ms_{n}t']:>13.3f}{t.loc['int8', f'latency_ms_{n}t']:>13.3f}"
            f"{t.loc['int8', f'latency_vs_float32_{n}t']:>10.2f}x"
            for n in args.threads
        )
        sizes = (
            f"{tflite.size_kb(variants['float32']):>9.1f}{tflite.size_kb(variants['int8']):>9.1f}"
        )
        print(f"{label:<30}{source:<28}{sizes}{cols}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
