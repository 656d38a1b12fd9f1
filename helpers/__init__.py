"""The course library: code a notebook wrote first and a later notebook reuses, cut by concept.

* classification: ``data``, ``models``, ``callbacks``, ``training``, ``evaluation``, ``complexity``,
  ``figures``, ``diagrams``, ``schedules``, ``augment`` (affine and elastic augmentation layers),
  ``attention`` (CBAM);
* experiments: ``tuning`` (KerasTuner sweeps over settings x seeds);
* ``handwriting`` (photos of digits to MNIST-style images), ``sr`` (super-resolution), ``tflite``
  (TensorFlow Lite, quantization, QAT, pruning) and ``scratch`` (a CNN in NumPy alone).

The kit's machinery (run mode, environment, results and verdicts, saved models, grading) lives
apart in ``helpers.kit``. Importing ``helpers`` imports nothing heavy; import the module you need
(``from helpers import data, sr``).
"""

__version__ = "0.3.0"
