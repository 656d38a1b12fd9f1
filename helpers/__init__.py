"""Thin, tested helpers imported by the course kit's notebooks.

One module per job, a subpackage per large topic:

* the kit itself: ``config`` (run mode, seeds, folders), ``environment`` (quiet TensorFlow, versions,
  CPU), ``reporting`` (results files, target verdicts, summary), ``artifacts`` (saved models),
  ``timing``, ``schedules``, ``figures`` (the lazy Matplotlib import, classification figures),
  ``keras_policy`` (Keras 3 vs tf_keras);
* classification: ``data``, ``models``, ``callbacks``, ``training``, ``evaluation``, ``complexity``,
  ``diagrams``, ``augment`` (affine and elastic augmentation layers), ``attention`` (CBAM);
* experiments: ``tuning`` (KerasTuner sweeps over settings x seeds, distributed runs) and ``studies``
  (notebook 04's study CNN, gradient norms, the learning-rate range test);
* classroom: ``assign`` (exercises with solution markers, student notebooks, grading a folder);
* ``handwriting`` (photos of digits to MNIST-style images, fine-tuning, cross-validation),
  ``sr`` (super-resolution), ``tflite`` (TensorFlow Lite, quantization, QAT, pruning) and
  ``scratch`` (a CNN in NumPy alone, with hand-written backward passes and gradient checks).

Importing ``helpers`` imports nothing heavy; import the module you need
(``from helpers import data, sr``).
"""

__version__ = "0.2.0"
