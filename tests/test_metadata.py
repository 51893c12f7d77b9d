"""`tflgen metadata`: written in the public schema, read back the same, accepted by MediaPipe Tasks.

MediaPipe is the independent reader: its own flatbuffer code parses our bytes, and its
ImageClassifier, ObjectDetector and ImageSegmenter run our models and must give what our
numpy reference post-processing gives on LiteRT's outputs for the same input.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import convert_or_fail, run_cli

# Slow: its fixtures convert real networks (or render and compile projects) first.
pytestmark = pytest.mark.slow

NORM = ("--mean", "127.5", "--std", "127.5")
CLASSES = ("circle", "square", "triangle", "star", "hexagon")
SHAPES = ("circle", "square", "triangle")
SEGMENTS = ("background", "red", "green", "blue")


def _labels(folder: Path, names: tuple[str, ...], name: str) -> Path:
    path = folder / name
    path.write_text("\n".join(names) + "\n", encoding="utf-8")
    return path


def _convert(source: Path, out: Path, images: Path, int8: bool) -> Path:
    return convert_or_fail(source, out, images, int8, calibration_count=16)


@pytest.fixture(scope="module")
def built(images, ssd_model, segmenter, tmp_path_factory):
    """Every task as float32 and int8/uint8, each with metadata written by the CLI."""
    import models

    folder = tmp_path_factory.mktemp("metadata")
    classifier = folder / "classifier.keras"
    models.tiny_classifier(classes=len(CLASSES), activation="softmax").save(classifier)
    sources = {"classification": (classifier, CLASSES), "detection": (ssd_model, SHAPES), "segmentation": (segmenter[1], SEGMENTS)}
    models_out = {}
    for task, (source, names) in sources.items():
        labels = _labels(folder, names, f"{task}.txt")
        for kind in ("float32", "int8"):
            plain = _convert(source, folder / f"{task}_{kind}.tflite", images, kind == "int8")
            with_metadata = folder / f"{task}_{kind}_metadata.tflite"
            result = run_cli("metadata", plain, "-o", with_metadata, "--labels", labels, *NORM, "--name", f"{task} test")
            assert result.code == 0, result.err
            models_out[task, kind] = (plain, with_metadata)
    return models_out


CASES = [(task, kind) for task in ("classification", "detection", "segmentation") for kind in ("float32", "int8")]
IDS = [f"{t}-{k}" for t, k in CASES]


@pytest.mark.parametrize(("task", "kind"), CASES, ids=IDS)
def test_metadata_reads_back_as_the_same_spec(built, task, kind):
    from tflgen.metadata import spec_from_model
    from tflgen.spec import Preprocessing, SpecOptions, Task, build_spec
    from tflgen.tflite_info import read_model

    plain, with_metadata = built[task, kind]
    content = with_metadata.read_bytes()
    labels = {"classification": CLASSES, "detection": SHAPES, "segmentation": SEGMENTS}[task]
    expected = build_spec(read_model(plain.read_bytes(), "plain"),
        SpecOptions(task=Task(task), labels=labels, preprocessing=Preprocessing.parse("127.5", "127.5")),
    )
    assert spec_from_model(content) == expected.canonical()
    info = json.loads(run_cli("inspect", with_metadata, "--json").out)
    assert info["metadata"]["present"] is True
    assert info["metadata"]["content"]["name"] == f"{task} test"


@pytest.mark.parametrize(("task", "kind"), CASES, ids=IDS)
def test_writing_metadata_changes_no_tensor(built, images, task, kind):
    from ai_edge_litert import schema_py_generated as schema

    from helpers import sample_inputs

    plain, with_metadata = built[task, kind]
    a, b = schema.Model.GetRootAs(plain.read_bytes(), 0), schema.Model.GetRootAs(with_metadata.read_bytes(), 0)
    graph_a, graph_b = a.Subgraphs(0), b.Subgraphs(0)
    assert graph_a.TensorsLength() == graph_b.TensorsLength()
    for i in range(graph_a.TensorsLength()):
        ta, tb = graph_a.Tensors(i), graph_b.Tensors(i)
        assert ta.Buffer() == tb.Buffer()
        assert np.array_equal(a.Buffers(ta.Buffer()).DataAsNumpy(), b.Buffers(tb.Buffer()).DataAsNumpy())
    # and the interpreter gives bit-identical outputs
    from ai_edge_litert.interpreter import Interpreter

    outputs = []
    for path in (plain, with_metadata):
        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        size = int(detail["shape"][1])
        batch = sample_inputs(images, size, count=1)[0]
        if detail["dtype"] == np.uint8:
            batch = np.clip(np.round(batch * 127.5 + 127.5), 0, 255).astype(np.uint8)
        interpreter.set_tensor(detail["index"], batch)
        interpreter.invoke()
        outputs.append([interpreter.get_tensor(d["index"]).tobytes() for d in interpreter.get_output_details()])
    assert outputs[0] == outputs[1]


def test_writing_twice_replaces(built, tmp_path):
    _, with_metadata = built["classification", "int8"]
    again = tmp_path / "again.tflite"
    result = run_cli("metadata", with_metadata, "-o", again, "--labels", _labels(tmp_path, CLASSES, "l.txt"), *NORM, "--name", "classification test")
    assert result.code == 0, result.err
    assert "already has metadata" in result.err
    assert again.read_bytes() == with_metadata.read_bytes()
    info = json.loads(run_cli("inspect", again, "--json").out)
    assert info["metadata"]["entries"].count("TFLITE_METADATA") == 1


def _mediapipe_metadata(content: bytes):
    """Parse our metadata buffer with MediaPipe's own generated flatbuffer code."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as mp_schema

    from tflgen.metadata import metadata_buffer

    buffer = metadata_buffer(content)
    assert mp_schema.ModelMetadata.ModelMetadataBufferHasIdentifier(buffer, 0)
    return mp_schema.ModelMetadataT.InitFromPackedBuf(bytearray(buffer), 0)


def test_independent_parser_reads_detection_metadata(built):
    from mediapipe.tasks.metadata import metadata_schema_py_generated as mp_schema

    content = built["detection", "int8"][1].read_bytes()
    metadata = _mediapipe_metadata(content)
    assert metadata.name.decode() == "detection test"
    assert metadata.minParserVersion.decode() == "1.2.0"
    subgraph = metadata.subgraphMetadata[0]
    image = subgraph.inputTensorMetadata[0]
    assert image.content.contentPropertiesType == mp_schema.ContentProperties.ImageProperties
    assert image.content.contentProperties.colorSpace == mp_schema.ColorSpaceType.RGB
    assert not image.processUnits, "int8 on the exact input grid: readers feed raw pixels, no normalization"
    float_image = _mediapipe_metadata(built["detection", "float32"][1].read_bytes()).subgraphMetadata[0].inputTensorMetadata[0]
    options = float_image.processUnits[0].options
    assert list(options.mean) == [127.5] * 3 and list(options.std) == [127.5] * 3
    names = [t.name.decode() for t in subgraph.outputTensorMetadata]
    assert sorted(names) == ["category", "location", "number of detections", "score"]
    location = subgraph.outputTensorMetadata[names.index("location")]
    assert list(location.content.contentProperties.index) == [1, 0, 3, 2]
    assert location.content.contentProperties.type == mp_schema.BoundingBoxType.BOUNDARIES
    category = subgraph.outputTensorMetadata[names.index("category")]
    assert category.associatedFiles[0].type == mp_schema.AssociatedFileType.TENSOR_VALUE_LABELS
    group = subgraph.outputTensorGroups[0]
    assert group.name.decode() == "detection_result"
    assert [n.decode() for n in group.tensorNames] == ["location", "category", "score"]


def test_detection_outputs_come_scrambled_and_metadata_follows_them(built):
    """The converter lists the SSD outputs out of the op's order; metadata must follow the model's order."""
    from tflgen.tflite_info import read_model

    content = built["detection", "float32"][1].read_bytes()
    info = read_model(content, "ssd")
    assert [t.origin_output for t in info.outputs] != [0, 1, 2, 3]
    names = [t.name.decode() for t in _mediapipe_metadata(content).subgraphMetadata[0].outputTensorMetadata]
    by_position = {0: "location", 1: "category", 2: "score", 3: "number of detections"}
    assert names == [by_position[t.origin_output] for t in info.outputs]


def test_quantized_output_range_is_written(built):
    from tflgen.metadata import read_metadata
    from tflgen.tflite_info import read_model

    content = built["classification", "int8"][1].read_bytes()
    output = read_model(content, "m").outputs[0]
    stats = read_metadata(content).outputs[0]
    assert stats.stats_min == pytest.approx(((0 - output.zero_point) * output.scale,))
    assert stats.stats_max == pytest.approx(((255 - output.zero_point) * output.scale,))


# ---------------------------------------------------------------- MediaPipe Tasks run our models


def _image(images: Path, size: int) -> np.ndarray:
    """A real image already at the model's size, so no reader resizes it (their resamplers differ)."""
    from tflgen.images import find_images, load_image
    from tflgen.reference import resize_bilinear

    pixels = load_image(find_images(images)[3], 3)
    return np.clip(np.round(resize_bilinear(pixels, size, size)), 0, 255).astype(np.uint8)


def _litert(path: Path, pixels: np.ndarray) -> list[np.ndarray]:
    """LiteRT outputs, dequantized, for the input a metadata reader builds from the pixels:
    (pixel - mean) / std for a float input, the raw pixels for a uint8 input."""
    from ai_edge_litert.interpreter import Interpreter

    from tflgen.reference import Normalization, dequantize, normalize

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    if detail["dtype"] == np.uint8:
        batch = pixels[None]
    else:
        batch = normalize(pixels, Normalization((127.5,) * 3, (127.5,) * 3))[None]
    interpreter.set_tensor(detail["index"], batch)
    interpreter.invoke()
    outputs = []
    for d in interpreter.get_output_details():
        value = interpreter.get_tensor(d["index"])
        scale, zero_point = d["quantization"]
        outputs.append(dequantize(value, scale, zero_point) if scale else value.astype(np.float32))
    return outputs


@contextlib.contextmanager
def _task(kind: str, path: Path, **options):
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    create, option_type = {
        "classifier": (vision.ImageClassifier, vision.ImageClassifierOptions),
        "detector": (vision.ObjectDetector, vision.ObjectDetectorOptions),
        "segmenter": (vision.ImageSegmenter, vision.ImageSegmenterOptions),
    }[kind]
    task = create.create_from_options(option_type(base_options=BaseOptions(model_asset_buffer=path.read_bytes()), **options))
    try:
        yield task
    finally:
        task.close()


def _mp_image(pixels: np.ndarray):
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels))


@pytest.mark.parametrize("kind", ["float32", "int8"])
def test_mediapipe_image_classifier(built, images, kind):
    from tflgen.reference import top_k

    path = built["classification", kind][1]
    pixels = _image(images, 32)
    expected = top_k(_litert(path, pixels)[0][0], 3)
    with _task("classifier", path, max_results=3) as classifier:
        categories = classifier.classify(_mp_image(pixels)).classifications[0].categories
    assert [c.category_name for c in categories] == [CLASSES[i] for i, _ in expected]
    assert [c.score for c in categories] == pytest.approx([s for _, s in expected], abs=1e-3)
    assert expected[0][1] > 1 / len(CLASSES)  # a real answer, not a flat distribution


@pytest.mark.parametrize("kind", ["float32", "int8"])
def test_mediapipe_object_detector(built, images, kind):
    from tflgen.tflite_info import read_model

    path = built["detection", kind][1]
    pixels = _image(images, 32)
    outputs = _litert(path, pixels)
    by_role = {t.origin_output: value for t, value in zip(read_model(path.read_bytes(), "ssd").outputs, outputs)}
    count = int(by_role[3][0])
    assert count > 0
    expected = [(SHAPES[int(by_role[1][0, i])], float(by_role[2][0, i]), by_role[0][0, i]) for i in range(count)]
    with _task("detector", path, max_results=10, score_threshold=0.0) as detector:
        detections = detector.detect(_mp_image(pixels)).detections
    assert len(detections) == count
    for detection, (label, score, (ymin, xmin, ymax, xmax)) in zip(detections, expected):
        category = detection.categories[0]
        assert category.category_name == label
        assert category.score == pytest.approx(score, abs=1e-3)
        # MediaPipe reports whole pixels, clamps the corner into the image and keeps the box's size.
        box = detection.bounding_box
        assert abs(box.origin_x - max(xmin, 0) * 32) <= 1 and abs(box.origin_y - max(ymin, 0) * 32) <= 1
        assert abs(box.width - (xmax - xmin) * 32) <= 1 and abs(box.height - (ymax - ymin) * 32) <= 1


@pytest.mark.parametrize("kind", ["float32", "int8"])
def test_mediapipe_image_segmenter(built, images, kind):
    from tflgen.reference import argmax_mask

    path = built["segmentation", kind][1]
    pixels = _image(images, 64)
    expected = argmax_mask(_litert(path, pixels)[0][0])
    with _task("segmenter", path, output_category_mask=True) as segmenter:
        result = segmenter.segment(_mp_image(pixels))
        mask = result.category_mask.numpy_view().reshape(64, 64).copy()  # the view dies with `result`
    assert mask.shape == expected.shape
    assert np.array_equal(mask.astype(np.int32), expected), f"{np.mean(mask != expected):.4f} of pixels differ"
    assert len(np.unique(expected)) > 1  # the mask is not trivially one class


def test_mediapipe_reads_a_foreground_probability_mask(images, tmp_path):
    """[1, H, W, 1] foreground probability: MediaPipe's confidence mask is the model's output, and
    its category mask marks the foreground (probability > 0.5) as 0 and everything else as 255."""
    import keras

    from tflgen.reference import argmax_mask

    keras.utils.set_random_seed(4)
    inputs = keras.Input((64, 64, 3))
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(inputs)
    source = tmp_path / "foreground.keras"
    keras.Model(inputs, outputs).save(source)
    plain = _convert(source, tmp_path / "fg.tflite", images, int8=False)
    with_metadata = tmp_path / "fg_metadata.tflite"
    result = run_cli("metadata", plain, "-o", with_metadata, "--task", "segmentation", *NORM)
    assert result.code == 0, result.err
    pixels = _image(images, 64)
    probability = _litert(with_metadata, pixels)[0][0]
    with _task("segmenter", with_metadata, output_category_mask=True, output_confidence_masks=True) as segmenter:
        segmented = segmenter.segment(_mp_image(pixels))
        confidence = segmented.confidence_masks[0].numpy_view().reshape(64, 64).copy()
        category = segmented.category_mask.numpy_view().reshape(64, 64).copy()
    np.testing.assert_allclose(confidence, probability[..., 0], atol=1e-6)
    foreground = argmax_mask(probability) == 1
    assert 0 < foreground.mean() < 1
    assert np.array_equal(category == 0, foreground)
