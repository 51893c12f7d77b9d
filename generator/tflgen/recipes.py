"""Names of the quantization recipes and IO types (no TensorFlow import: the CLI uses them)."""

from __future__ import annotations

from enum import StrEnum


class Recipe(StrEnum):
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    DYNAMIC = "dynamic"
    INT8 = "int8"
    AUTO = "auto"  # not a converter recipe: every recipe above, verified, the smallest within --max-drop


class IoType(StrEnum):
    FLOAT32 = "float32"
    INT8 = "int8"
    UINT8 = "uint8"


class Target(StrEnum):
    GENERIC = "generic"
    EDGETPU = "edgetpu"


# Custom ops that tflgen knows and allows; everything else custom needs the user's own kernel.
DETECTION_POSTPROCESS_OP = "TFLite_Detection_PostProcess"
