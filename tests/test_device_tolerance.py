"""The tolerances tflgen writes into each golden case for the app's instrumented test (golden.device_tolerance),
held against what they stand for, on tflgen's three trained examples:

- GPU: the delegate computes in float16. LiteRT's float16 conversion (float16 weights) and the Keras model run
  entirely in float16 arithmetic (Keras's float16 policy: weights, activations and every op) must stay within the
  GPU tolerance of the float32 outputs, and the tolerance must stay tight enough to catch real faults.
- CPU: LiteRT's reference kernels, a different implementation of every op, stay within the CPU tolerance of its
  default (XNNPACK) outputs for a float model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import run_cli

pytestmark = pytest.mark.slow

EXAMPLES = ("classification", "detection", "segmentation")
IMAGES = 6
# A GPU tolerance this wide (of the output's magnitude) would let a wrong normalization or dtype through.
TIGHT = 0.02


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("tolerance")
    models = {}
    for name in EXAMPLES:
        for recipe in ("float32", "float16"):
            out = folder / f"{name}-{recipe}.tflite"
            result = run_cli("convert", "--example", name, "-o", out, "-q", recipe)
            assert result.code == 0, result.err
            models[name, recipe] = out
    return models


def _cases(name: str, model: Path):
    """(spec, [input tensors]) for the example's first images, preprocessed as the app does."""
    from tflgen.examples import get_example
    from tflgen.geometry import preprocess
    from tflgen.images import load_image
    from tflgen.spec import SpecOptions, Task, build_spec
    from tflgen.tflite_info import read_model

    example = get_example(name)
    spec = build_spec(read_model(model.read_bytes(), str(model)), SpecOptions(task=Task(example.task), preprocessing=example.preprocessing))
    images = sorted(p for p in example.images_path.rglob("*") if p.suffix in (".png", ".jpg"))[:IMAGES]
    return spec, [preprocess(load_image(path, 3), spec.input)[0] for path in images]


def _compared(spec):
    """The outputs compared element by element (as the device test does): not the op's sorted decisions."""
    from tflgen.spec import Role

    decided = {Role.BOXES, Role.CLASSES, Role.SCORES, Role.COUNT, Role.LABEL_MAP}
    return [o for o in spec.outputs if o.role not in decided]


@pytest.mark.parametrize("name", EXAMPLES)
def test_litert_float16_conversion_stays_within_the_gpu_tolerance(converted, name):
    from tflgen.golden import device_tolerance, run_model
    from tflgen.spec import Role

    float32 = converted[name, "float32"].read_bytes()
    float16 = converted[name, "float16"].read_bytes()
    spec, tensors = _cases(name, converted[name, "float32"])
    compared = 0
    for tensor in tensors:
        want, got = run_model(float32, tensor), run_model(float16, tensor)
        same_detections = not spec.has(Role.CLASSES) or np.array_equal(want[spec.output(Role.CLASSES).index], got[spec.output(Role.CLASSES).index])
        for output in spec.outputs:
            if output.role in (Role.CLASSES, Role.COUNT) or (output.role in (Role.BOXES, Role.SCORES) and not same_detections):
                continue  # the op's detections in another order: compared as results on a device, not here
            tolerance = device_tolerance(output, want[output.index], None, integer_model=False)
            magnitude = max(1.0, float(np.abs(want[output.index]).max()))
            difference = float(np.abs(got[output.index].astype(np.float64) - want[output.index]).max())
            assert difference <= tolerance.gpu, f"{name} output {output.index}: float16 off by {difference}, GPU tolerance {tolerance.gpu}"
            assert tolerance.gpu <= TIGHT * magnitude
            compared += 1
    assert compared >= len(tensors)


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


@pytest.mark.parametrize("name", EXAMPLES)
def test_reference_kernels_stay_within_the_cpu_tolerance(converted, name):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from tflgen.golden import device_tolerance, run_model

    model = converted[name, "float32"].read_bytes()
    spec, tensors = _cases(name, converted[name, "float32"])
    for tensor in tensors:
        want = run_model(model, tensor)
        interpreter = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
        interpreter.invoke()
        got = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
        for output in _compared(spec):
            tolerance = device_tolerance(output, want[output.index], None, integer_model=False)
            difference = float(np.abs(got[output.index].astype(np.float64) - want[output.index]).max())
            assert difference <= tolerance.cpu, f"{name} output {output.index}: reference kernels off by {difference}, CPU tolerance {tolerance.cpu}"


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
