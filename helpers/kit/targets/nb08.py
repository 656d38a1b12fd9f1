"""Notebook 08's targets: int8 size, accuracy / PSNR drop, gain over bicubic, and latency (no floor).

Floors (asserted) catch a broken conversion, not a missed target. Full runs measured int8/float32
file ratios of 0.27-0.48 (small models' files are dominated by the graph description), drops of
0.00-0.07 points for the classifiers, 0.6-4.7 dB for the classic FSRCNN (its floor, 8 dB, catches
a broken conversion, not that loss) and 0.05 dB for the int8-friendly one. Latency ratios depend
on the CPU: printed with a verdict, never asserted.
"""

from helpers.kit.targets import Goal

CLASSIFIERS = ("mlp_tuned", "tiny_cnn", "resnet", "strong_cnn")
SR_MODELS = ("fsrcnn", "fsrcnn_anchor")  # fsrcnn_x3 and fsrcnn_anchor_x3
SIZE_FLOORS = {"mlp_tuned": 0.28, "tiny_cnn": 0.5, "resnet": 0.28, "strong_cnn": 0.5}
SIZE_FLOORS |= dict.fromkeys(SR_MODELS, 0.6)
DROP_FLOORS = {
    "tiny_cnn": ((0.2, 2.0), " pp"),
    "resnet": ((0.2, 2.0), " pp"),
    "strong_cnn": ((0.2, 2.0), " pp"),
    "fsrcnn": ((8.0, 15.0), " dB"),
    "fsrcnn_anchor": ((0.5, 0.5), " dB"),
}

GOALS = [
    Goal(
        "int8_weights_ratio_max",
        "largest int8 / float32 weight payload",
        0.27,
        floor=(0.27, 0.27),
        higher_is_better=False,
    )
]
GOALS += [
    Goal(f"{n}_int8_size_ratio", f"{n}: int8 file / float32 file", 0.27, (f, f), False)
    for n, f in SIZE_FLOORS.items()
]
GOALS += [
    Goal(f"{n}_int8_drop", f"{n}: int8 score drop", 0.1, floor, False, unit)
    for n, (floor, unit) in DROP_FLOORS.items()
]
GOALS += [
    Goal("fsrcnn_int8_gain_db", "fsrcnn_x3: int8 gain over bicubic", 0.0, unit=" dB"),
    Goal(
        "fsrcnn_anchor_int8_gain_db",
        "fsrcnn_anchor_x3: int8 gain over bicubic",
        0.0,
        floor=(0.0, 0.0),
        unit=" dB",
    ),
]
GOALS += [  # no floor: the ratio depends on the CPU's int8 instructions
    Goal(f"{n}_int8_latency_ratio", f"{n}: int8 / float32 latency, 1 thread", 1.0, None, False)
    for n in (*CLASSIFIERS, *SR_MODELS)
]
