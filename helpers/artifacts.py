"""Where trained models live, how they are saved and loaded, and ``load_or_train`` for later notebooks.

Every trained model of the kit is a file ``artifacts/<mode>/models/<name>.keras`` (TFLite files:
``artifacts/<mode>/tflite/<name>.tflite``), so a full-mode model is never mistaken for a quick-mode
one. Notebooks save what they train (``save_model``); a later notebook asks for it with
``load_or_train(name)``, which trains it briefly on the spot when it is missing (a fresh Colab VM,
or a notebook run on its own) and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import config

MODELS_SUBDIR = "models"
TFLITE_SUBDIR = "tflite"


def _bare_name(name: str) -> str:
    """Return ``name`` if it is a bare model name (no folder, no extension); raise a ValueError otherwise."""
    if (
        not isinstance(name, str)
        or not name
        or name.strip() != name
        or any(c in name for c in "/\\.")
    ):
        raise ValueError(
            f"name must be a bare model name like 'resnet' or 'fsrcnn_x3' (no folder, no extension), got {name!r}"
        )
    return name


def model_path(name: str) -> Path:
    """Return the file of the Keras model ``name``: ``artifacts/<mode>/models/<name>.keras``."""
    return config.artifacts_dir(MODELS_SUBDIR) / f"{_bare_name(name)}.keras"


def tflite_path(name: str) -> Path:
    """Return the file of the TFLite model ``name``: ``artifacts/<mode>/tflite/<name>.tflite``."""
    return config.artifacts_dir(TFLITE_SUBDIR) / f"{_bare_name(name)}.tflite"


def save_model(model: Any, name: str) -> Path:
    """Save a Keras 3 ``model`` as ``artifacts/<mode>/models/<name>.keras``; return the path."""
    path = model_path(name)
    model.save(path)
    return path


def load_model(name: str, compile: bool = False) -> Any | None:
    """Return the saved Keras model ``name``, or None if no notebook has saved it in this run mode yet."""
    import keras

    path = model_path(name)
    if not path.is_file():
        return None
    register_custom_layers()
    return keras.saving.load_model(path, compile=compile)


def register_custom_layers() -> None:
    """Register the kit's own Keras layers (DepthToSpace, ElasticDistortion, CBAM) for loading.

    Each is created on first use so that importing ``helpers`` stays free of TensorFlow; a model
    saved with one of them loads in a fresh process only after its class exists.
    """
    from helpers.attention import cbam_layer
    from helpers.augment import elastic_distortion_layer
    from helpers.sr.models import depth_to_space_layer

    depth_to_space_layer()
    elastic_distortion_layer()
    cbam_layer()


def save_tflite(model_bytes: bytes, name: str) -> Path:
    """Write TFLite flatbuffer bytes to ``artifacts/<mode>/tflite/<name>.tflite``; return the path."""
    if not isinstance(model_bytes, (bytes, bytearray)) or not model_bytes:
        raise TypeError("model_bytes must be the non-empty bytes of a converted TFLite model")
    path = tflite_path(name)
    path.write_bytes(bytes(model_bytes))
    return path


def is_sr_model(name: str) -> bool:
    """Return True for super-resolution model names (they start with ``fsrcnn``)."""
    return _bare_name(name).startswith("fsrcnn")


def load_or_train(name: str, splits: dict | None = None, verbose: int = 0) -> tuple[Any, bool]:
    """Return ``(model, trained_here)``: the saved model ``name``, or one trained now at quick-mode length.

    Classifier names are those of ``helpers.models.CLASSIFIERS`` (trained with their recipe's quick
    epochs on ``splits``, the dict of ``data.load_mnist_splits()``); super-resolution names are those
    of ``helpers.sr.MODEL_NAMES`` (e.g. ``fsrcnn_x3``, ``fsrcnn_relu_x3``: a few hundred steps). A model
    trained here is saved, so the next notebook finds it.
    """
    model = load_model(name)
    if model is not None:
        return model, False
    if is_sr_model(name):
        from helpers.sr import training as sr_training

        model = sr_training.quick_train(name, verbose=bool(verbose))
    else:
        from helpers import training

        if splits is None:
            raise ValueError(
                f"no saved model {name!r} in {model_path(name).parent}: pass splits=data.load_mnist_splits() "
                f"so it can be trained here, or run the notebook that trains it first"
            )
        model = training.quick_train(name, splits, verbose=verbose)
    save_model(model, name)
    return model, True
