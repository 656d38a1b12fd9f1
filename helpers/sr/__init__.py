"""Super-resolution with FSRCNN: images and degradation, the model, Y-PSNR/SSIM, evaluation, training.

``from helpers import sr`` gives the public names below; the modules behind them are

* :mod:`helpers.sr.data`: offline photographs and their splits, BT.601 YCbCr, bicubic degradation,
  aligned patches (``check_scale`` is the one check of an upscaling factor);
* :mod:`helpers.sr.models`: the FSRCNN builder, the int8-friendly anchor variant, model names, counts,
  bicubic start, transfer;
* :mod:`helpers.sr.metrics`: PSNR and SSIM on the Y channel with a border shave, as in the literature;
* :mod:`helpers.sr.evaluation`: upscaling whole images, PSNR/SSIM tables (indexed by image, with a
  final "mean" row), speed and the cost/quality table;
* :mod:`helpers.sr.training`: ``train_fsrcnn`` (Keras ``fit`` with a budget schedule and validation
  Y-PSNR on fixed crops) and ``quick_train`` (used by ``artifacts.load_or_train``);
* :mod:`helpers.sr.pretrained`: the long-trained models shipped in ``data/pretrained`` (sha256 checked);
* :mod:`helpers.sr.figures`: the figures of notebook 07.

Saving and loading trained models goes through ``helpers.kit.artifacts`` (e.g.
``artifacts.save_model(model, "fsrcnn_x3")``).
"""

from helpers.sr.data import (
    DOWNSCALE_FACTORS,
    SR_SPLITS,
    PatchSampler,
    UnreadableImageError,
    as_uint8_image,
    bicubic_downscale,
    bicubic_resize,
    bicubic_upscale_channel,
    check_scale,
    crop_center,
    load_sr_images,
    lr_input,
    make_sr_dataset,
    modcrop,
    representative_lr_patches,
    rgb_to_y,
    rgb_to_ycbcr,
    sr_pair,
    to_uint8,
    training_pairs,
    ycbcr_to_rgb,
)
from helpers.sr.evaluation import (
    bicubic_predict_fn,
    cost_quality_table,
    evaluate_bicubic,
    evaluate_sr,
    seconds_per_megapixel,
    upscale,
    versus_bicubic,
)
from helpers.sr.figures import (
    plot_fsrcnn_architecture,
    plot_gain_bars,
    plot_image_splits,
    plot_sr_comparison,
    plot_sr_training,
)
from helpers.sr.metrics import psnr_from_mse, psnr_y, ssim_y
from helpers.sr.models import (
    ACTIVATIONS,
    ANCHOR_NAME,
    DECONV_NAME,
    MODEL_NAMES,
    VARIANTS,
    DepthToSpace,
    accepted_names,
    build_fsrcnn,
    build_fsrcnn_anchor,
    cubic_kernel_1d,
    deconv_tap_offsets,
    depth_to_space_layer,
    fsrcnn_config,
    fsrcnn_from_name,
    fsrcnn_scale,
    fsrcnn_spec,
    fsrcnn_weight_count,
    init_as_bicubic,
    is_anchor_model,
    layer_macs_table,
    macs_per_output_pixel,
    receptive_field,
    resample_deconv_kernel,
    transfer_fsrcnn,
)
from helpers.sr.pretrained import (
    PRETRAINED_DIR,
    PretrainedChecksumError,
    load_pretrained,
    load_weights,
    manifest_markdown,
    pretrained_history,
    pretrained_names,
    pretrained_path,
    pretrained_record,
    read_manifest,
    save_weights,
    write_manifest_entry,
)
from helpers.sr.training import (
    BudgetSchedule,
    EpochPrinter,
    ValidationPSNR,
    bicubic_crops_psnr,
    crops_psnr,
    history_table,
    quick_train,
    train_fsrcnn,
    val_patch_size,
    validation_crops,
)

__all__ = [
    # data
    "DOWNSCALE_FACTORS",
    "SR_SPLITS",
    "PatchSampler",
    "UnreadableImageError",
    "as_uint8_image",
    "bicubic_downscale",
    "bicubic_resize",
    "bicubic_upscale_channel",
    "check_scale",
    "crop_center",
    "load_sr_images",
    "lr_input",
    "make_sr_dataset",
    "modcrop",
    "representative_lr_patches",
    "rgb_to_y",
    "rgb_to_ycbcr",
    "sr_pair",
    "to_uint8",
    "training_pairs",
    "ycbcr_to_rgb",
    # models
    "ACTIVATIONS",
    "ANCHOR_NAME",
    "DECONV_NAME",
    "MODEL_NAMES",
    "VARIANTS",
    "accepted_names",
    "build_fsrcnn",
    "build_fsrcnn_anchor",
    "cubic_kernel_1d",
    "deconv_tap_offsets",
    "DepthToSpace",
    "depth_to_space_layer",
    "fsrcnn_config",
    "fsrcnn_from_name",
    "fsrcnn_scale",
    "fsrcnn_spec",
    "fsrcnn_weight_count",
    "init_as_bicubic",
    "is_anchor_model",
    "layer_macs_table",
    "macs_per_output_pixel",
    "receptive_field",
    "resample_deconv_kernel",
    "transfer_fsrcnn",
    # metrics
    "psnr_from_mse",
    "psnr_y",
    "ssim_y",
    # evaluation
    "bicubic_predict_fn",
    "cost_quality_table",
    "evaluate_bicubic",
    "evaluate_sr",
    "seconds_per_megapixel",
    "upscale",
    "versus_bicubic",
    # training
    "BudgetSchedule",
    "EpochPrinter",
    "ValidationPSNR",
    "history_table",
    "quick_train",
    "PRETRAINED_DIR",
    "PretrainedChecksumError",
    "load_pretrained",
    "manifest_markdown",
    "load_weights",
    "save_weights",
    "pretrained_names",
    "pretrained_history",
    "pretrained_path",
    "pretrained_record",
    "read_manifest",
    "write_manifest_entry",
    "crops_psnr",
    "bicubic_crops_psnr",
    "val_patch_size",
    "validation_crops",
    "train_fsrcnn",
    # figures
    "plot_fsrcnn_architecture",
    "plot_gain_bars",
    "plot_image_splits",
    "plot_sr_comparison",
    "plot_sr_training",
]
