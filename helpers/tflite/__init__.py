"""TensorFlow Lite (LiteRT) for the course kit: convert Keras models (float32, dynamic, float16, int8,
int16x8), run and time them, look inside the flatbuffer, compare the variants, and shrink models
further with quantization-aware training and pruning.

Import the package, not its modules: ``from helpers import tflite``, then ``tflite.convert(...)``,
``tflite.TFLiteModel(...)``, ``tflite.compare_variants(...)``. The modules:

* ``convert``  Keras -> TFLite bytes, representative data checks, the per-layer int8 error table
* ``tensors``  operators, weight bytes, quantized weight tensors, file sizes
* ``runner``   :class:`TFLiteModel` (LiteRT interpreter, float in and out, ``latency_ms``), (de)quantization
* ``measure``  output parity, latency per thread count, the variant comparison table
* ``optimize`` QAT and pruning (tf_keras models through ``keras_policy.import_tfmot``)
* ``figures``  size against score, and the weights before and after int8
"""

from helpers.tflite.convert import (
    ALL_MODES,
    INTEGER_MODES,
    MIN_REPRESENTATIVE_SAMPLES,
    MODES,
    QuantizationError,
    convert,
    convert_all,
    layer_error_table,
    model_input_shape,
    quiet_logs,
    representative_dataset,
    validate_representative_data,
)
from helpers.tflite.figures import plot_size_vs_score, plot_weight_quantization
from helpers.tflite.measure import (
    compare_variants,
    kernel_rounding_error,
    latency_table,
    output_parity,
    size_table,
)
from helpers.tflite.optimize import (
    copy_weights,
    fine_tune,
    legacy_clone,
    prunable_model,
    prune_model,
    qat_model,
    sparsity,
)
from helpers.tflite.runner import (
    TFLiteModel,
    dequantize_values,
    make_interpreter,
    model_bytes,
    quantize_values,
)
from helpers.tflite.tensors import (
    KB,
    float_ops,
    gzip_size_bytes,
    op_details,
    ops,
    read_weight_tensor,
    size_kb,
    weight_bytes,
    weight_tensors,
)

__all__ = [
    # convert
    "ALL_MODES",
    "INTEGER_MODES",
    "MIN_REPRESENTATIVE_SAMPLES",
    "MODES",
    "QuantizationError",
    "convert",
    "convert_all",
    "layer_error_table",
    "model_input_shape",
    "quiet_logs",
    "representative_dataset",
    "validate_representative_data",
    # tensors
    "KB",
    "float_ops",
    "gzip_size_bytes",
    "op_details",
    "ops",
    "read_weight_tensor",
    "size_kb",
    "weight_bytes",
    "weight_tensors",
    # runner
    "TFLiteModel",
    "dequantize_values",
    "make_interpreter",
    "model_bytes",
    "quantize_values",
    # measure
    "compare_variants",
    "kernel_rounding_error",
    "latency_table",
    "output_parity",
    "size_table",
    # optimize
    "copy_weights",
    "fine_tune",
    "legacy_clone",
    "prunable_model",
    "prune_model",
    "qat_model",
    "sparsity",
    # figures
    "plot_size_vs_score",
    "plot_weight_quantization",
]
