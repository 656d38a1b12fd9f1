"""A convolutional network written from scratch with NumPy: layers, loss, SGD, training, gradient checks.

``from helpers import scratch`` gives the public names below; the modules behind them are

* :mod:`helpers.scratch.layers`: ``Conv2D`` (im2col + one matrix product), ``ReLU``, ``MaxPool2D``,
  ``Flatten``, ``Dense``, ``Dropout``, each with ``forward`` and ``backward``; ``im2col``/``col2im``
  and the textbook forms they replace (``conv2d_reference``, ``full_convolution_input_gradient``);
* :mod:`helpers.scratch.losses`: ``softmax`` and the fused ``SoftmaxCrossEntropy`` (gradient p - y);
* :mod:`helpers.scratch.optim`: ``SGD`` with momentum and ``LearningRateDecay`` (cosine, exponential
  or linear from a start rate to an end rate);
* :mod:`helpers.scratch.network`: ``Sequential`` (fit / evaluate / predict in mini-batches, progress
  bar, per-layer profile), ``build_slides_cnn`` and ``train_slides_cnn`` (the notebook's ``RECIPE``);
* :mod:`helpers.scratch.gradcheck`: centred-difference gradient checks in float64;
* :mod:`helpers.scratch.keras_bridge`: weights to and from Keras, a Keras twin, layer-by-layer
  comparison, the NumPy-vs-Keras training table (functions that create Keras objects take the
  ``keras`` module as an argument: nothing here imports TensorFlow or Keras);
* :mod:`helpers.scratch.figures`: kernels, feature maps, per-step curves, the time profile, the
  variants' accuracies.
"""

from helpers.scratch.figures import (
    plot_configurations,
    plot_feature_maps,
    plot_kernels,
    plot_profile,
    plot_step_curves,
)
from helpers.scratch.gradcheck import (
    TOLERANCE,
    check_all,
    check_layer,
    check_loss,
    check_network,
    distinct_values,
    numerical_gradient,
    relative_error,
)
from helpers.scratch.keras_bridge import (
    build_keras_twin,
    compare_configurations,
    compare_with_keras,
    keras_runs,
    keras_schedule,
    load_keras_weights,
    set_keras_weights,
    train_keras_twin,
)
from helpers.scratch.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    ReLU,
    col2im,
    conv2d_reference,
    full_convolution_input_gradient,
    im2col,
)
from helpers.scratch.losses import SoftmaxCrossEntropy, softmax
from helpers.scratch.network import (
    RECIPE,
    Sequential,
    blas_threads,
    build_slides_cnn,
    slides_decay,
    train_slides_cnn,
)
from helpers.scratch.optim import SGD, LearningRateDecay

__all__ = [
    # layers
    "Layer",
    "Conv2D",
    "ReLU",
    "MaxPool2D",
    "Flatten",
    "Dense",
    "Dropout",
    "im2col",
    "col2im",
    "conv2d_reference",
    "full_convolution_input_gradient",
    # loss
    "softmax",
    "SoftmaxCrossEntropy",
    # optimisation
    "SGD",
    "LearningRateDecay",
    # network
    "Sequential",
    "build_slides_cnn",
    "blas_threads",
    "RECIPE",
    "slides_decay",
    "train_slides_cnn",
    # gradient checks
    "TOLERANCE",
    "check_all",
    "check_layer",
    "check_loss",
    "check_network",
    "distinct_values",
    "numerical_gradient",
    "relative_error",
    # Keras
    "build_keras_twin",
    "compare_configurations",
    "compare_with_keras",
    "keras_runs",
    "keras_schedule",
    "load_keras_weights",
    "set_keras_weights",
    "train_keras_twin",
    # figures
    "plot_configurations",
    "plot_feature_maps",
    "plot_kernels",
    "plot_profile",
    "plot_step_curves",
]
