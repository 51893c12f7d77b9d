"""tflgen.mixed_precision: the AI Edge Quantizer's per-op int8/int16/float models from tflgen's own
ranges, with the IO types tflgen's requests ask for."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # builds and calibrates a small Keras model


@pytest.fixture(scope="module")
def calibrated() -> bytes:
    """TensorFlow's calibrated float model (activation min/max recorded) of a small residual CNN."""
    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(7)
    inputs = keras.Input((16, 16, 3), name="pixels")
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.Add()([x, y])
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(5, activation="softmax")(x))
    samples = np.random.default_rng(1).uniform(-1, 1, (16, 1, 16, 16, 3)).astype(np.float32)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # noqa: SLF001 (what tflgen.keep_accuracy.LayerRanking does)
    return converter.convert()


def _run(content: bytes, value: np.ndarray) -> tuple[np.ndarray, dict, dict]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    i, o = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.set_tensor(i["index"], value.astype(i["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(o["index"]), i, o


def _ops(content: bytes) -> list[str]:
    from tflgen.delegates import read_ops

    return [op.name for op in read_ops(content)[0]]


def _plan(float_model: bytes, precision) -> dict:  # noqa: ANN001
    from tflgen.keep_accuracy import op_graph

    return {op.scope: precision for op in op_graph(float_model).ops}


def test_io_types_are_the_requested_ones_and_uint8_is_int8_shifted(calibrated):
    from tflgen.mixed_precision import Precision, quantize, split_statistics

    float_model, ranges = split_statistics(calibrated)
    assert ranges and all(r["min"].size == 1 for r in ranges.values())
    for plan in ({}, _plan(float_model, Precision.INT16)):
        models = {np.dtype(t).name: quantize(float_model, ranges, plan, t, t) for t in (np.float32, np.int8, np.uint8)}
        pixels = np.random.default_rng(2).uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)
        reference, i, o = _run(models["float32"], pixels)
        assert (i["dtype"], o["dtype"]) == (np.float32, np.float32) and i["name"] == "serving_default_pixels:0"
        _, i8, o8 = _run(models["int8"], np.zeros((1, 16, 16, 3)))
        assert (i8["dtype"], o8["dtype"]) == (np.int8, np.int8) and i8["name"] == i["name"] and o8["name"] == o["name"]
        scale, zero = i8["quantization"]
        q8 = np.clip(np.round(pixels / scale) + zero, -128, 127)
        out8, _, _ = _run(models["int8"], q8)
        out_u8, iu, ou = _run(models["uint8"], q8 + 128)
        assert (iu["dtype"], ou["dtype"]) == (np.uint8, np.uint8)
        assert iu["quantization"] == (scale, zero + 128) and ou["quantization"][1] == o8["quantization"][1] + 128
        # uint8 <-> int8 with one scale is an exact shift: the same model answers the same
        assert np.array_equal(out_u8.astype(int) - 128, out8.astype(int))
        dequantized = (out8.astype(np.float32) - o8["quantization"][1]) * o8["quantization"][0]
        assert np.abs(dequantized - reference).max() <= 2 * o8["quantization"][0] + 1e-6
    # Every op int16: LiteRT's 16x8 kernels, and int8 edges only where the IO asks for them
    int16 = quantize(float_model, ranges, _plan(float_model, Precision.INT16), np.uint8, np.uint8)
    assert _ops(int16).count("QUANTIZE") == 4  # uint8 -> int8 -> int16 in, int16 -> int8 -> uint8 out


def test_float_layers_between_int16_activations(calibrated):
    from tflgen.keep_accuracy import op_graph
    from tflgen.mixed_precision import Precision, quantize, split_statistics
    from tflgen.tflite_info import read_model

    float_model, ranges = split_statistics(calibrated)
    plan = _plan(float_model, Precision.INT16)
    dense = next(op.scope for op in op_graph(float_model).ops if op.name == "FULLY_CONNECTED")
    plan[dense] = Precision.FLOAT
    info = read_model(quantize(float_model, ranges, plan, np.float32, np.float32), "mixed")
    assert dict(info.float_ops) == {"FULLY_CONNECTED": 1}


def test_a_float_input_takes_its_readers_precision(calibrated):
    """With float IO the input isn't rounded to int8 before int16 or float layers read it."""
    from ai_edge_litert import schema_py_generated as schema

    from tflgen.mixed_precision import INT8, Precision, quantize, split_statistics

    float_model, ranges = split_statistics(calibrated)
    pixels = np.random.default_rng(3).uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)
    reference, _, _ = _run(calibrated, pixels)
    every_float = quantize(float_model, ranges, _plan(float_model, Precision.FLOAT), np.float32, np.float32)
    assert "QUANTIZE" not in _ops(every_float)
    np.testing.assert_allclose(_run(every_float, pixels)[0], reference, rtol=1e-4, atol=1e-4)  # an int8 input is ~1e-2 off
    for content in (every_float, quantize(float_model, ranges, _plan(float_model, Precision.INT16), np.float32, np.float32)):
        graph = schema.ModelT.InitFromPackedBuf(content, 0).subgraphs[0]
        assert not [graph.tensors[t].name for op in graph.operators for t in op.outputs if graph.tensors[t].type == INT8]


def test_int16_kernels_are_known_per_op():
    from tflgen.mixed_precision import supports_int16

    assert supports_int16("CONV_2D") and supports_int16("DEPTHWISE_CONV_2D") and supports_int16("FULLY_CONNECTED")
    assert not supports_int16("NO_SUCH_OP")


# ---------------------------------------------------------------- --quantizer-recipe

INT8 = {"activation_tensor_config": {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "INT"},
        "weight_tensor_config": {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"},
        "compute_precision": "INTEGER", "explicit_dequantize": False}
W8A16 = {**INT8, "activation_tensor_config": {"num_bits": 16, "symmetric": True, "granularity": "TENSORWISE", "dtype": "INT"}}


def _entry(regex: str = ".*", operation: str = "*", config: dict = INT8, **extra) -> dict:
    return {"regex": regex, "operation": operation, "algorithm_key": "min_max_uniform_quantize", "op_config": config, **extra}


def _recipe(tmp_path, *entries, name: str = "recipe.json"):  # noqa: ANN001, ANN202
    import json

    path = tmp_path / name
    path.write_text(json.dumps(list(entries)))
    return path


@pytest.fixture(scope="module")
def hard_swish_model(tmp_path_factory):  # noqa: ANN201
    """A small classifier with a HARD_SWISH, an op LiteRT has no 16x8 kernel for."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(4)
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", name="first")(inputs)
    x = layers.Activation("hard_silu")(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="second")(x)
    x = layers.GlobalAveragePooling2D()(x)
    path = tmp_path_factory.mktemp("hard_swish") / "model.keras"
    keras.Model(inputs, layers.Dense(4, activation="softmax")(x)).save(path)
    return path


def test_quantizer_recipe_gives_the_chosen_op_int16(hard_swish_model, calibration_images, tmp_path):
    import json

    from helpers import run_cli

    recipe = _recipe(tmp_path, _entry(), _entry("second", "CONV_2D", W8A16))
    model = tmp_path / "mixed.tflite"
    result = run_cli("convert", hard_swish_model, "-o", model, "-q", "int8", "--io-type", "uint8", "--calibration", calibration_images,
                     "--mean", "127.5", "--std", "127.5", "--quantizer-recipe", recipe)
    assert result.code == 0, result.err
    info = json.loads(run_cli("inspect", model, "--json").out)
    assert info["int16_ops"] == {"CONV_2D": 1} and not info["float_ops"] and "HARD_SWISH" in info["ops"]
    assert info["inputs"][0]["dtype"] == "uint8" and info["outputs"][0]["dtype"] == "uint8"
    verify = run_cli("verify", hard_swish_model, model, "--images", calibration_images, "--mean", "127.5", "--std", "127.5", "--threads", 1)
    assert verify.code == 0, verify.out + verify.err


def test_quantizer_recipe_bad_input(hard_swish_model, calibration_images, tmp_path):
    from helpers import run_cli
    from test_cli_errors import assert_bad_input

    out = tmp_path / "out.tflite"
    base = ("convert", hard_swish_model, "-o", out, "-q", "int8", "--calibration", calibration_images, "--mean", "127.5", "--std", "127.5")

    def bad(*entries, name: str = "recipe.json", text: str | None = None, extra: tuple = ()) -> None:
        path = _recipe(tmp_path, *entries, name=name)
        if text is not None:
            path.write_text(text)
        assert_bad_input(run_cli(*base, "--quantizer-recipe", path, *extra), "--quantizer-recipe", str(path), out=out)

    assert_bad_input(run_cli(*base, "--quantizer-recipe", tmp_path / "missing.json"), "--quantizer-recipe", out=out)
    bad(text="[{", name="broken.json")
    bad(text='{"regex": ".*"}', name="object.json")
    bad(_entry(regexp="x"), name="unknown-key.json")
    bad(_entry(operation="CONV2D"), name="unknown-op.json")
    bad({**_entry(), "algorithm_key": "magic"}, name="unknown-algorithm.json")
    bad(_entry(config={**INT8, "activation_tensor_config": {**INT8["activation_tensor_config"], "bits": 16}}), name="unknown-option.json")
    bad(_entry(regex="(unclosed"), name="bad-regex.json")
    # The model is needed to know: int16 activations asked of HARD_SWISH, which has no 16x8 kernel
    bad(_entry(), _entry(".*", "HARD_SWISH", W8A16), name="w8a16-hard-swish.json")
    # against other options
    bad(_entry(), name="float16.json", extra=("-q", "float16"))
    good = _recipe(tmp_path, _entry(), name="good.json")
    assert_bad_input(run_cli(*base, "--quantizer-recipe", good, "--images", calibration_images, "--keep-accuracy", "30dB"),
                     "--quantizer-recipe", "--keep-accuracy", out=out)


@pytest.fixture(scope="module")
def calibration_images(tmp_path_factory):  # noqa: ANN201
    import models

    return models.write_images(tmp_path_factory.mktemp("calibration") / "images", 12, seed=6)
