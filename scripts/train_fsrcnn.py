"""Train an FSRCNN for a long budget and ship it: ``data/pretrained/<name>.weights.npz`` + manifest + log.

The pretrained models that notebooks 07 and 08 present come from this script (commands and
results in ``data/README.md`` and ``data/pretrained/manifest.json``)::

    .venv/bin/python scripts/train_fsrcnn.py --name fsrcnn_x3 --steps 40000
    .venv/bin/python scripts/train_fsrcnn.py --name fsrcnn_anchor_x3 --steps 80000
    .venv/bin/python scripts/train_fsrcnn.py --name fsrcnn_x2 --from fsrcnn_x3 --steps 8000 --lr 5e-4

Training is ``sr.train_fsrcnn`` (Keras ``fit``; Adam with warm-up and cosine decay over the step
budget; validation Y-PSNR on fixed crops after every epoch; the best epoch kept) on the kit's
offline training photographs, or on ``--folder`` (e.g. T91 or DIV2K, split by file name). ``--from``
starts from a pretrained model of another scale (``sr.transfer_fsrcnn``, the paper's trick). The
budget is a number of steps, so the same command gives the same kind of model on any machine; on
a GPU (e.g. Colab) it takes minutes. ``--threads 1`` lets two trainings share a 2-core CPU.

Writes ``<out>/<name>.weights.npz`` (the weights; the builder arguments go to the manifest), ``<out>/logs/<name>.csv`` (Keras' CSV log per
epoch) and ``<out>/logs/<name>.log`` (this script's printout), and records sha256, command, steps,
wall time, best validation PSNR and the test-photo PSNR in ``<out>/manifest.json``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Tee:
    """Write everything printed to the terminal and to a log file."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w")
        self.stdout = sys.stdout

    def write(self, text: str) -> int:
        self.file.write(text)
        self.file.flush()
        return self.stdout.write(text)

    def flush(self) -> None:
        self.file.flush()
        self.stdout.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--name", required=True, help="model name, e.g. fsrcnn_x3, fsrcnn_anchor_x3"
    )
    parser.add_argument("--steps", type=int, default=40_000, help="training steps (batches)")
    parser.add_argument(
        "--steps-per-epoch", type=int, default=1000, help="steps between validations"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patch", type=int, default=24, help="LR patch side in pixels")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--from", dest="start_from", help="pretrained model of another scale to start from"
    )
    parser.add_argument("--folder", help="a folder of your own photographs to train on instead")
    parser.add_argument(
        "--threads", type=int, default=0, help="CPU threads (0: TensorFlow's default)"
    )
    parser.add_argument("--out", default=str(ROOT / "data" / "pretrained"), help="output folder")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.steps_per_epoch < 1:
        parser.error("--steps and --steps-per-epoch must be positive")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    tee = Tee(out / "logs" / f"{args.name}.log")
    sys.stdout = tee
    try:
        return _train(args, out, sys.argv[1:] if argv is None else list(argv))
    finally:
        sys.stdout = tee.stdout
        tee.file.close()


def _train(args: argparse.Namespace, out: Path, argv: list[str]) -> dict:
    import keras
    import tensorflow as tf

    from helpers import sr
    from helpers.data import sha256_of
    from helpers.kit import config, environment

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    spec = sr.fsrcnn_spec(args.name)  # a clear error for an unknown name, before any work
    scale = spec["scale"]
    command = "python " + " ".join(shlex.quote(a) for a in ["scripts/train_fsrcnn.py", *argv])
    print(f"{command}\n{environment.cpu_line()}")
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, started {_now()}")
    config.set_seed(args.seed)
    if args.start_from:
        source = sr.load_pretrained(args.start_from, args.out)
        model = sr.transfer_fsrcnn(source, scale)
        print(f"start: {args.start_from} transferred to x{scale}")
    else:
        model = sr.fsrcnn_from_name(args.name)
    train, val, test = (sr.load_sr_images(s, args.folder) for s in ("train", "val", "test"))
    print(f"train {len(train)} images, val {len(val)}, test {len(test)}: {[n for n, _ in test]}")
    epochs = -(-args.steps // args.steps_per_epoch)
    history, seconds = sr.train_fsrcnn(
        model,
        train,
        val,
        scale,
        epochs=epochs,
        steps_per_epoch=args.steps_per_epoch,
        lr=args.lr,
        batch_size=args.batch_size,
        patch_lr=args.patch,
        seed=args.seed,
        csv_log=str(out / "logs" / f"{args.name}.csv"),
    )
    clean = keras.models.clone_model(model)  # the same network without the optimizer's state
    clean.set_weights(model.get_weights())
    path = sr.save_weights(clean, out / f"{args.name}{sr.pretrained.SUFFIX}")
    table = sr.versus_bicubic(sr.evaluate_sr(clean, test, scale), sr.evaluate_bicubic(test, scale))
    print(table.round(3).to_string())
    best = history.loc[history["val_psnr"].idxmax()]
    record = {
        "builder": sr.fsrcnn_config(clean),  # sr.build_fsrcnn(**builder) is the architecture
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
        "command": command,
        "scale": scale,
        "weights": sr.fsrcnn_weight_count(clean),
        "steps": int(history["steps"].max()),
        "best_epoch": int(best["epoch"]),
        "seconds": round(seconds, 1),
        "best_val_psnr": round(float(best["val_psnr"]), 4),
        "test_psnr": round(float(table.loc["mean", "FSRCNN PSNR"]), 4),
        "test_bicubic_psnr": round(float(table.loc["mean", "bicubic PSNR"]), 4),
        "test_gain_db": round(float(table.loc["mean", "gain (dB)"]), 4),
        "started_from": args.start_from,
        "data": args.folder or "kit photographs (sr.SR_SPLITS)",
        "cpu": environment.cpu_line(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "finished": _now(),
    }
    sr.write_manifest_entry(args.name, record, out)
    print(
        f"saved {path} ({record['bytes'] / 1024:.1f} KB, sha256 {record['sha256']}): "
        f"{record['steps']} steps in {seconds:.0f} s, best validation {record['best_val_psnr']:.3f} dB "
        f"(epoch {record['best_epoch']}), test gain {record['test_gain_db']:+.3f} dB over bicubic"
    )
    return record


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


if __name__ == "__main__":
    main()
