"""Thin, tested helpers imported by the course kit's notebooks.

One module per concern: ``config`` (run mode, seeds, folders), ``data`` (MNIST and pipelines),
``reporting`` (environment report, results files), ``keras_policy`` (Keras 3 vs tf_keras), and the
modules of the classification, super-resolution and quantization tracks. Importing ``helpers``
imports nothing heavy; import the module you need.
"""

__version__ = "0.1.0"
