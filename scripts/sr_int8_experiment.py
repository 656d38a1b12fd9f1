"""Train classic FSRCNN x3 and the int8-friendly anchor FSRCNN x3 for the same wall-clock budget,
convert both to full-integer int8 and print Y-PSNR (float Keras, int8 TFLite, drop) next to bicubic.

A measurement of what int8 costs each design (not part of any notebook yet)::

    nice -n 10 .venv/bin/python scripts/sr_int8_experiment.py --seconds 300

Both models train with ``sr.train_fsrcnn`` (Adam, warm-up + cosine over the budget, best validation
weights kept, no early stop) from their own start: FSRCNN from bicubic (``fsrcnn_from_name``), the
anchor model from nearest neighbour. Calibration uses ``sr.representative_lr_patches`` (training
photographs, the training preprocessing). PSNR is the kit's protocol: BT.601 Y, shave = scale, on
the fixed test photographs. Timings depend on the machine and are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import sr, tflite  # noqa: E402
from helpers.kit import config  # noqa: E402

SCALE = 3
MODELS = ("fsrcnn_x3", "fsrcnn_anchor_x3")


def main() -> None:
    """Train, convert and print the float / int8 / bicubic table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training budget per model")
    parser.add_argument("--steps-per-epoch", type=int, default=150)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--calibration", type=int, default=300, help="representative patches")
    args = parser.parse_args()

    train, val, test = (sr.load_sr_images(s) for s in ("train", "val", "test"))
    calibration = sr.representative_lr_patches(args.calibration, scale=SCALE, patch=32)
    bicubic = sr.evaluate_bicubic(test, SCALE).loc["mean", "psnr"]
    rows = []
    for name in MODELS:
        config.set_seed()
        model = sr.fsrcnn_from_name(name)
        history, seconds = sr.train_fsrcnn(
            model,
            train,
            val,
            SCALE,
            epochs=100_000,
            steps_per_epoch=args.steps_per_epoch,
            lr=args.lr,
            max_seconds=args.seconds,
            verbose=False,
        )
        keras_psnr = sr.evaluate_sr(model, test, SCALE).loc["mean", "psnr"]
        start = time.perf_counter()
        int8 = tflite.convert(model, "int8", calibration)
        convert_s = time.perf_counter() - start
        runner = tflite.TFLiteModel(int8)
        int8_psnr = sr.evaluate_sr(runner.predict, test, SCALE).loc["mean", "psnr"]
        rows.append(
            {
                "model": name,
                "weights": sr.fsrcnn_weight_count(model),
                "steps": int(history["steps"].max()),
                "train_s": seconds,
                "best_val_psnr": history["val_psnr"].max(),
                "keras_psnr": keras_psnr,
                "int8_psnr": int8_psnr,
                "int8_drop": keras_psnr - int8_psnr,
                "keras_gain": keras_psnr - bicubic,
                "int8_gain": int8_psnr - bicubic,
                "int8_kb": tflite.size_kb(int8),
                "ops": " ".join(sorted(set(tflite.ops(int8)))),
            }
        )
        print(
            f"{name}: {rows[-1]['steps']} steps in {seconds:.0f} s, Keras {keras_psnr:.3f} dB, "
            f"int8 {int8_psnr:.3f} dB (converted in {convert_s:.0f} s)",
            flush=True,
        )
    import pandas as pd

    table = pd.DataFrame(rows).set_index("model")
    print(f"\nbicubic x{SCALE} on the test photos: {bicubic:.3f} dB (Y-PSNR, shave {SCALE})")
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(table.drop(columns="ops").round(3).to_string())
        print(table["ops"].to_string())


if __name__ == "__main__":
    main()
