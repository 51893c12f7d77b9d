"""The GPU tolerance tflgen writes into each golden case for the app's instrumented test (golden.device_tolerance)
against float16 arithmetic: tflgen's three trained examples run entirely in float16 (Keras's float16 policy:
weights, activations and every op, as a GPU delegate with precision loss allowed computes) stay within it of the
float32 outputs. (LiteRT's float16 conversion and its reference kernels are held against the GPU and CPU
tolerances in test_examples, on the conversions it makes anyway: tolerance_checks.py.)"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

EXAMPLES = ("classification", "detection", "segmentation")
IMAGES = 6


@pytest.mark.parametrize("name", EXAMPLES)
def test_float16_arithmetic_stays_within_the_gpu_tolerance(name):
    """The Keras model rebuilt under the float16 policy (every weight, activation and op in float16, as a GPU
    delegate with precision loss allowed computes) against the same model in float32."""
    import keras

    from tflgen.examples import get_example
    from tflgen.golden import device_tolerance
    from tflgen.spec import OutputSpec, Role

    example = get_example(name)
    model32 = keras.models.load_model(example.source_path, compile=False)
    config = _float16(model32.get_config())
    model16 = model32.__class__.from_config(config)
    model16.set_weights(model32.get_weights())
    size = model32.input_shape[1]
    images = sorted(p for p in example.images_path.rglob("*") if p.suffix in (".png", ".jpg"))[:IMAGES]
    from tflgen.images import load_image
    from tflgen.reference import resize_bilinear

    worst = 0.0
    for path in images:
        x = ((resize_bilinear(load_image(path, 3).astype(np.float32), size, size) - 127.5) / 127.5)[None].astype(np.float32)
        outputs32 = [np.asarray(o, np.float64) for o in _as_list(model32(x))]
        outputs16 = [np.asarray(keras.ops.cast(o, "float32"), np.float64) for o in _as_list(model16(x))]
        for index, (want, got) in enumerate(zip(outputs32, outputs16, strict=True)):
            output = OutputSpec(f"output_{index}", index, Role.LOGITS, tuple(want.shape), "float32", None)
            tolerance = device_tolerance(output, want.astype(np.float32), None, integer_model=False)
            difference = float(np.abs(got - want).max())
            assert difference <= tolerance.gpu, f"{name} output {index}: float16 arithmetic off by {difference}, GPU tolerance {tolerance.gpu}"
            worst = max(worst, difference / tolerance.gpu)
    assert worst > 0, "the float16 model computed exactly what the float32 one did: it did not run in float16"


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def _float16(config):
    """A Keras config with every layer's dtype policy set to float16."""
    if isinstance(config, dict):
        return {key: ("float16" if key == "dtype" and _is_policy(value) else _float16(value)) for key, value in config.items()}
    if isinstance(config, list):
        return [_float16(value) for value in config]
    return config


def _is_policy(value) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"))
