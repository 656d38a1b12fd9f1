"""Your own handwriting: photos of digits -> MNIST-style images, sheets of digits, fine-tuning and
cross-validation on a new population of writers (notebook 05).

``from helpers import handwriting`` gives the public names below; the modules behind them are

* :mod:`helpers.handwriting.images`: reading any image file or array as greyscale, the input errors;
* :mod:`helpers.handwriting.preprocess`: ``to_mnist_style`` (MNIST's own normalisation, step by
  step) and ``plain_resize`` (the course report's);
* :mod:`helpers.handwriting.folders`: ``load_digit_folder`` and its report of every file;
* :mod:`helpers.handwriting.sheets`: ``segment_sheet``, reading order, ``read_digits`` (segment, then
  classify), matching boxes to a sheet's truth and scoring a reading;
* :mod:`helpers.handwriting.synthetic`: photo-like digits and sheets made from scikit-learn's
  optdigits (the kit's stand-in for a student's photos, and the tests' known sheets);
* :mod:`helpers.handwriting.finetune`: three ways to fine-tune, learning curves, stratified k-fold;
* :mod:`helpers.handwriting.figures`: the figures of notebook 05.
"""

from helpers.handwriting.figures import (
    plot_cv_summary,
    plot_error_matrix,
    plot_learning_curve,
    plot_pipeline_steps,
    plot_sheet,
    plot_two_confusion_matrices,
)
from helpers.handwriting.finetune import (
    METHODS,
    CrossValidation,
    FineTuneRecipe,
    FineTuneResult,
    as_model_input,
    compile_for_fine_tuning,
    copy_for_fine_tuning,
    cross_validate,
    fine_tune,
    head_layer_names,
    learning_curve,
    mix_with_mnist,
    split_validation,
    stratified_folds,
    stratified_order,
)
from helpers.handwriting.folders import load_digit_folder, summarize_report
from helpers.handwriting.images import (
    IMAGE_SUFFIXES,
    MIN_SIDE,
    HandwritingInputError,
    read_image,
    to_grey,
)
from helpers.handwriting.preprocess import (
    BOX_SIZE,
    MNIST_CENTRE,
    MNIST_SIZE,
    STEP_TITLES,
    crop_to_ink,
    fit_longer_side,
    ink_is_dark,
    mnist_style_steps,
    paste_centred,
    plain_resize,
    remove_background,
    stroke_width,
    thicken_strokes,
    to_mnist_style,
    to_white_on_black,
)
from helpers.handwriting.sheets import (
    Reading,
    SheetDigits,
    box_iou,
    labels_of_found,
    match_to_truth,
    read_digits,
    reading_order,
    score_sheet,
    segment_sheet,
)
from helpers.handwriting.synthetic import (
    compose_sheet,
    export_digits,
    index_from_name,
    load_optdigits,
    read_sheet_truth,
    render_digit_photo,
    write_sheet,
)

__all__ = [
    # images
    "IMAGE_SUFFIXES",
    "MIN_SIDE",
    "HandwritingInputError",
    "read_image",
    "to_grey",
    # preprocess
    "BOX_SIZE",
    "MNIST_CENTRE",
    "MNIST_SIZE",
    "STEP_TITLES",
    "crop_to_ink",
    "fit_longer_side",
    "ink_is_dark",
    "mnist_style_steps",
    "paste_centred",
    "plain_resize",
    "remove_background",
    "stroke_width",
    "thicken_strokes",
    "to_mnist_style",
    "to_white_on_black",
    # folders
    "load_digit_folder",
    "summarize_report",
    # sheets
    "Reading",
    "SheetDigits",
    "box_iou",
    "labels_of_found",
    "match_to_truth",
    "read_digits",
    "reading_order",
    "score_sheet",
    "segment_sheet",
    # synthetic
    "compose_sheet",
    "export_digits",
    "index_from_name",
    "load_optdigits",
    "read_sheet_truth",
    "render_digit_photo",
    "write_sheet",
    # fine-tuning and cross-validation
    "METHODS",
    "CrossValidation",
    "FineTuneRecipe",
    "FineTuneResult",
    "as_model_input",
    "compile_for_fine_tuning",
    "copy_for_fine_tuning",
    "cross_validate",
    "fine_tune",
    "head_layer_names",
    "learning_curve",
    "mix_with_mnist",
    "split_validation",
    "stratified_folds",
    "stratified_order",
    # figures
    "plot_cv_summary",
    "plot_error_matrix",
    "plot_learning_curve",
    "plot_pipeline_steps",
    "plot_sheet",
    "plot_two_confusion_matrices",
]
