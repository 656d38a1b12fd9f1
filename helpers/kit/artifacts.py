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

from helpers.kit import config

MODELS_SUBDIR = "models"
# Names of the trainings this process reloaded instead of running (load_or_run_training, or a
# notebook's own reload, e.g. a KerasTuner directory): kit.finish records them, so a notebook's wall
# time is never mistaken for a from-scratch time.
RELOADED: list[str] = []
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
    with config.replaced_at_once(path) as part:
        model.save(part)
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
    with config.replaced_at_once(path) as part:
        part.write_bytes(bytes(model_bytes))
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


def training_record_path(name: str) -> Path:
    """Return the JSON file that describes how the saved model ``name`` was trained."""
    return model_path(name).with_suffix(".json")


def load_or_run_training(name: str, spec: dict, train: Any) -> tuple[Any, bool]:
    """Return ``(result, trained_here)``: the saved training run ``name`` if ``spec`` matches, else ``train()``.

    ``train()`` must return a ``training.TrainingResult``; its model is saved as
    ``artifacts/<mode>/models/<name>.keras`` beside ``<name>.json`` (``spec``, history, seconds).
    A rerun with the same ``spec`` (a JSON-able dict of everything that defines the run: recipe,
    epochs, seed, data) loads both instead of training again, so an interrupted notebook resumes
    and a finished one re-renders in seconds; any change of ``spec`` trains anew. The loaded result
    keeps the *original* training time. An unreadable record raises ``ValueError`` naming the file.
    """
    import json

    from helpers import training

    spec = json.loads(json.dumps(spec))  # the form it has after a round trip through the file
    record_file = training_record_path(name)
    if record_file.is_file() and model_path(name).is_file():
        try:
            record = json.loads(record_file.read_text(encoding="utf-8"))
            saved_spec = record["spec"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"{record_file} is not a training record ({err}); delete it and its .keras file "
                f"to train {name!r} again"
            ) from err
        if saved_spec == spec:
            RELOADED.append(name)
            return (
                training.TrainingResult(
                    model=load_model(name),
                    history={k: list(v) for k, v in record["history"].items()},
                    seconds=float(record["seconds"]),
                    epoch_seconds=list(record["epoch_seconds"]),
                    learning_rates=list(record.get("learning_rates", [])),
                ),
                False,
            )
    result = train()
    if not isinstance(result, training.TrainingResult):
        raise TypeError(
            f"train() must return a training.TrainingResult, got {type(result).__name__}"
        )
    save_model(result.model, name)
    record = {
        "spec": spec,
        "history": {k: [float(v) for v in vals] for k, vals in result.history.items()},
        "seconds": float(result.seconds),
        "epoch_seconds": [float(v) for v in result.epoch_seconds],
        "learning_rates": [float(v) for v in result.learning_rates],
    }
    with config.replaced_at_once(record_file) as part:
        part.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return result, True
