"""The kit's Keras policy: Keras 3 everywhere, ``tf_keras`` only for tensorflow-model-optimization.

* Notebooks and helpers use ``import keras`` (Keras 3). Nothing in the kit uses ``tf.keras``.
* Model builders take ``keras_module=`` (default Keras 3). Passing :func:`legacy_keras` builds the
  same architecture with ``tf_keras`` layers, which is what tfmot's QAT and pruning accept.
* ``import tensorflow_model_optimization`` sets ``TF_USE_LEGACY_KERAS=1`` for the whole process and,
  if ``tf.keras`` was not yet resolved, turns ``tf.keras`` into ``tf_keras``. :func:`import_tfmot`
  pins ``tf.keras`` to Keras 3 first and restores the environment variable afterwards, so importing
  any helpers module, in any order, never changes which Keras other code gets.
"""

from __future__ import annotations

import os
from types import ModuleType

_LEGACY_ENV_VAR = "TF_USE_LEGACY_KERAS"


def modern_keras() -> ModuleType:
    """Return the Keras 3 module used by every ordinary notebook."""
    import keras

    return keras


def legacy_keras() -> ModuleType:
    """Return the ``tf_keras`` (Keras 2) module, for models handed to tensorflow-model-optimization."""
    import tf_keras

    return tf_keras


def is_legacy(keras_module: ModuleType) -> bool:
    """Return True if ``keras_module`` is ``tf_keras`` (Keras 2) rather than Keras 3."""
    return keras_module.__name__.split(".")[0] == "tf_keras"


def import_tfmot() -> ModuleType:
    """Import and return ``tensorflow_model_optimization`` without changing ``tf.keras`` or the environment."""
    import tensorflow as tf

    saved = os.environ.get(_LEGACY_ENV_VAR)
    if saved is None or saved.lower() not in ("1", "true"):
        # Resolve the lazy ``tf.keras`` now, while it still points at Keras 3.
        tf.keras.version()
    try:
        import tensorflow_model_optimization as tfmot
    finally:
        if saved is None:
            os.environ.pop(_LEGACY_ENV_VAR, None)
        else:
            os.environ[_LEGACY_ENV_VAR] = saved
    return tfmot
