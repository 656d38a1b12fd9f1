"""Write the kit's stand-ins for a student's photos into ``data/handwriting/`` (seeded: the same files every run).

    python scripts/make_handwriting_data.py                      # data/handwriting/{digits,sheets}
    python scripts/make_handwriting_data.py --all-digits DIR     # also all 1,797 digits, as DIR/<label>_<index>.png

Everything comes from scikit-learn's ``load_digits`` (UCI optdigits, CC BY 4.0), which ships with
scikit-learn, so nothing is downloaded:

* ``digits/<label>/<index>.<ext>``: 5 digits of each label as small "photos" (ink on paper, uneven
  light, noise), written in turn as greyscale PNG, RGB PNG, JPEG, palette PNG, RGBA PNG with a
  transparent background, 16-bit PNG and BMP: every kind of file ``load_digit_folder`` reads.
* ``sheets/sheet_<k>.jpg`` + ``sheet_<k>.json``: three photos of sheets with many digits (paper,
  a lighting gradient, blur, a slight rotation, ruled lines, specks, broken strokes) and the true
  label, optdigits index and box of every digit, in reading order.

The full set (all 1,797) is not committed (about 7 MB as files); notebook 05 writes it to
``artifacts/`` with ``handwriting.export_digits`` when it runs, exactly as ``--all-digits`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from helpers.handwriting import finetune, synthetic  # noqa: E402
from helpers.kit import config  # noqa: E402

OUT_DIR = config.DATA_DIR / "handwriting"
PER_LABEL = 5
# name: (digits, columns, compose_sheet settings)
SHEETS = {
    "sheet_1": (32, 8, {"rotation": 1.0, "specks": 10, "lighting": 0.25, "blur": 0.7}),
    "sheet_2": (
        18,
        6,
        {
            "digit_height": (44, 56),
            "rotation": 2.5,
            "margin_line": True,
            "specks": 20,
            "lighting": 0.4,
            "blur": 1.2,
        },
    ),
    "sheet_3": (
        50,
        10,
        {
            "digit_height": (28, 36),
            "rotation": 1.5,
            "margin_line": True,
            "specks": 15,
            "lighting": 0.3,
            "blur": 0.9,
            "broken": 4,
        },
    ),
}


def folder_size(folder: Path) -> int:
    """Return the total size in bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=OUT_DIR, help="output folder (default data/handwriting)"
    )
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    parser.add_argument(
        "--all-digits", type=Path, default=None, help="also write all 1,797 digits here"
    )
    args = parser.parse_args(argv)

    _, labels = synthetic.load_optdigits()
    order = finetune.stratified_order(labels, args.seed)
    sample = np.sort(order[: 10 * PER_LABEL])
    digits_dir = args.out / "digits"
    paths = synthetic.export_digits(
        digits_dir,
        sample,
        layout="subfolders",
        formats=synthetic.SAMPLE_FORMATS,
        seed=args.seed,
        replace=True,  # a rerun replaces the sample, whatever formats it had
    )
    print(f"{len(paths)} digit photos in {digits_dir} ({folder_size(digits_dir) / 1024:.0f} KB)")

    # Sheet digits come from the rest of the stratified order, so no sheet digit is in the sample.
    start = 10 * PER_LABEL
    for k, (name, (count, columns, settings)) in enumerate(SHEETS.items()):
        indices = order[start : start + count]
        start += count
        rng = np.random.default_rng([args.seed, 1000 + k])
        photo, truth = synthetic.compose_sheet(indices, columns, rng, **settings)
        path = synthetic.write_sheet(photo, truth, args.out / "sheets" / name)
        print(
            f"{path.relative_to(args.out.parent)}: {photo.shape[1]}x{photo.shape[0]} px, {len(truth)} digits, "
            f"{path.stat().st_size / 1024:.0f} KB"
        )
    print(f"data/handwriting: {folder_size(args.out) / 1024:.0f} KB in all")
    if args.all_digits is not None:
        written = synthetic.export_digits(args.all_digits, layout="names", seed=args.seed)
        print(f"{len(written)} digits written to {args.all_digits}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
