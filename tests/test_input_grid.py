"""tflgen.input_grid: a uint8 input that carries the pixels exactly, the normalization folded into
the first layers; verify, the spec, the metadata and MediaPipe all feed it raw pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import run_cli
from test_cli_errors import assert_bad_input

pytestmark = pytest.mark.slow  # builds, calibrates and converts a small Keras model

NORM = ("--mean", "127.5", "--std", "127.5")
LABELS = ("a", "b", "c", "d")


def _classifier(path: Path, padding: str, first=None) -> Path:  # noqa: ANN001
    import keras
    from keras import layers

    keras.utils.set_random_seed(11)
    inputs = keras.Input((32, 32, 3))
    x = first(inputs) if first else inputs
    x = layers.Conv2D(8, 3, padding=padding, activation="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, layers.Dense(len(LABELS), activation="softmax")(x)).save(path)
    return path


def _calibrated(model: Path, images: Path) -> bytes:
    import keras
    import tensorflow as tf

    from helpers import sample_inputs

    samples = sample_inputs(images, 32, count=12)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.models.load_model(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # noqa: SLF001 (as tflgen.keep_accuracy.calibrated_model)
    return converter.convert()


def _float_run(content: bytes, batch: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.fixture(scope="module")
def gridded(images, tmp_path_factory) -> dict:
    """A small classifier, its calibrated model, and the int8 model on the exact grid with its marker."""
    import tensorflow as tf
    from tensorflow.lite.python.convert import mlir_quantize

    from tflgen.input_grid import exact_grid, mark_pixel_input
    from tflgen.reference import Normalization

    folder = tmp_path_factory.mktemp("grid")
    model = _classifier(folder / "model.keras", "valid")
    calibrated = _calibrated(model, images)
    normalization = Normalization((127.5,) * 3, (127.5,) * 3)
    content, done = exact_grid(calibrated, normalization)
    assert content is not None, done
    quantized = mlir_quantize(content, input_data_type=tf.uint8, output_data_type=tf.uint8)
    tflite = folder / "grid.tflite"
    tflite.write_bytes(mark_pixel_input(quantized, normalization))
    (folder / "labels.txt").write_text("\n".join(LABELS) + "\n")
    return {"model": model, "calibrated": calibrated, "float_grid": content, "tflite": tflite, "labels": folder / "labels.txt", "done": done}


def test_folding_keeps_what_the_first_layer_computes(gridded, images):
    from helpers import sample_inputs

    batch = sample_inputs(images, 32, count=3)
    shift = (128 - 127.5) / 127.5
    for x in batch:
        expected = _float_run(gridded["calibrated"], x)
        assert np.allclose(_float_run(gridded["float_grid"], x - shift), expected, atol=1e-5)
    assert "zero point 128" in gridded["done"] and "folded into 1 first layer" in gridded["done"]


def test_the_uint8_input_is_the_pixel(gridded):
    from tflgen.tflite_info import read_model

    info = read_model(gridded["tflite"].read_bytes(), "grid")
    (tensor,) = info.inputs
    assert (tensor.dtype, tensor.zero_point) == ("uint8", 128) and tensor.scale == pytest.approx(1 / 127.5)
    assert info.folded_normalization.mean == (127.5,) * 3
    # pixel p means (p - 128) / 127.5 to the model; the first layer adds back 0.5 / 127.5: (p - 127.5) / 127.5
    assert np.allclose(tensor.scale * (np.arange(256) - tensor.zero_point), (np.arange(256) - 128) / 127.5, atol=1e-6)


def test_verify_feeds_raw_pixels_and_the_source_normalized(gridded, images, tmp_path):
    report = tmp_path / "report"
    result = run_cli("verify", gridded["model"], gridded["tflite"], "--images", images, "--threads", 1, "--report", report)
    assert result.code == 0, result.out + result.err
    with_norm = run_cli("verify", gridded["model"], gridded["tflite"], "--images", images, *NORM, "--threads", 1, "--report", tmp_path / "again")
    assert with_norm.code == 0
    first, again = (json.loads((folder / "report.json").read_text()) for folder in (report, tmp_path / "again"))
    assert first["quantization"]["sqnr_db"] == again["quantization"]["sqnr_db"] > 15
    assert_bad_input(run_cli("verify", gridded["model"], gridded["tflite"], "--images", images, "--mean", "100", "--std", "50"),
                     "--mean", "folded")


def test_metadata_says_raw_pixels_and_mediapipe_agrees(gridded, images, tmp_path):
    from test_metadata import _image, _litert, _mp_image, _task

    from tflgen.metadata import read_metadata
    from tflgen.reference import image_to_input, top_k
    from tflgen.spec import SpecOptions, build_spec
    from tflgen.tflite_info import read_model

    out = tmp_path / "with_metadata.tflite"
    result = run_cli("metadata", gridded["tflite"], "-o", out, "--task", "classification", "--labels", gridded["labels"])
    assert result.code == 0, result.err
    content = out.read_bytes()
    info = read_model(content, "model")
    assert info.folded_normalization is not None and info.has_metadata, "the marker survives the metadata"
    image = read_metadata(content).inputs[0]
    assert image.mean is None and image.std is None  # readers feed raw pixels
    spec = build_spec(info, SpecOptions(), "test")
    assert spec.input.normalization is None and spec.input.folded_normalization == info.folded_normalization
    pixels = _image(images, 32)
    assert np.array_equal(image_to_input(pixels.astype(np.float32), spec.input.shape, np.dtype("uint8"), None)[0], pixels)
    expected = top_k(_litert(out, pixels)[0][0], 3)
    with _task("classifier", out, max_results=3) as classifier:
        categories = classifier.classify(_mp_image(pixels)).classifications[0].categories
    assert [c.category_name for c in categories] == [LABELS[i] for i, _ in expected]
    assert [c.score for c in categories] == pytest.approx([s for _, s in expected], abs=1e-3)


def test_exact_grid_refuses_what_it_cannot_fold(images, tmp_path):
    from keras import layers

    from tflgen.input_grid import exact_grid
    from tflgen.reference import Normalization

    calibrated = _calibrated(_classifier(tmp_path / "valid.keras", "valid"), images)
    content, why = exact_grid(calibrated, Normalization((123.7, 116.3, 103.5), (58.4, 57.1, 57.4)))
    assert content is None and "per channel" in why
    squared = _calibrated(_classifier(tmp_path / "squared.keras", "valid", first=lambda x: layers.Multiply()([x, x])), images)
    content, why = exact_grid(squared, Normalization((127.5,) * 3, (127.5,) * 3))
    assert content is None and "read by MUL, not only by convolutions" in why


def test_plain_int8_with_uint8_io_is_on_the_grid_where_it_can_be(gridded, images, tmp_path):
    """`tflgen convert -q int8 --io-type uint8 --mean/--std`: the uint8 input is the pixel itself; a
    model the grid can't fold is converted as before, and the summary says why."""
    from keras import layers

    out = tmp_path / "plain.tflite"
    result = run_cli("convert", gridded["model"], "-o", out, "-q", "int8", "--io-type", "uint8", "--calibration", images, *NORM)
    assert result.code == 0, result.err
    assert "exact input grid: uint8 input = pixels" in result.out and "folded into the model" in result.out
    info = json.loads(run_cli("inspect", out, "--json").out)
    assert info["inputs"][0]["zero_point"] == 128 and info["inputs"][0]["scale"] == pytest.approx(1 / 127.5)
    assert info["folded_normalization"] == {"mean": [127.5] * 3, "std": [127.5] * 3}
    squared = _classifier(tmp_path / "squared.keras", "valid", first=lambda x: layers.Multiply()([x, x]))
    result = run_cli("convert", squared, "-o", tmp_path / "squared.tflite", "-q", "int8", "--io-type", "uint8", "--calibration", images, *NORM)
    assert result.code == 0, result.err
    assert "not on the pixel grid (the input is read by MUL" in result.out
    assert json.loads(run_cli("inspect", tmp_path / "squared.tflite", "--json").out)["folded_normalization"] is None
