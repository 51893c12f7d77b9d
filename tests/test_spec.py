"""ModelSpec: tasks and output roles from shapes and ops (never names or order), labels, TOML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import convert_or_fail, run_cli
from test_cli_errors import assert_bad_input

# Slow: its fixtures convert real networks (or render and compile projects) first.
pytestmark = pytest.mark.slow

NORM = ("--mean", "127.5", "--std", "127.5")


@pytest.fixture(scope="module")
def tflites(mobilenet, ssd_model, segmenter, images, tmp_path_factory):
    import keras
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("spec")

    class LabelMap(tf.Module):  # DeepLab-style: ArgMax inside the model, [1, H, W] int32 out
        def __init__(self, model) -> None:
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([1, 64, 64, 3], tf.float32)])
        def __call__(self, x):
            return {"labels": tf.argmax(self.model(x), axis=-1, output_type=tf.int32)}

    label_map = LabelMap(segmenter[0])
    tf.saved_model.save(label_map, str(folder / "label_map"), signatures=label_map.__call__)
    two_outputs = keras.Model(mobilenet[0].inputs, [mobilenet[0].outputs[0], mobilenet[0].outputs[0] * 2.0])
    two_outputs.save(folder / "two.keras")
    import models

    sources = {
        "logits": mobilenet[1], "ssd": ssd_model, "mask": segmenter[1], "label_map": folder / "label_map", "two": folder / "two.keras",
        "raw_ssd": models.raw_ssd_saved_model(folder / "raw_ssd"),  # converted without --ssd-anchors: no post-processing op
    }
    out = {}
    for name, source in sources.items():
        out[name] = convert_or_fail(source, folder / f"{name}.tflite", images, int8=False)
    return out


def _spec(path: Path, **options):
    from tflgen.tflite_info import read_model

    return _spec_of(read_model(path.read_bytes(), str(path)), **options)


def _spec_of(info, **options):
    from tflgen.spec import Preprocessing, ResizeMode, SpecOptions, build_spec

    preprocessing = Preprocessing.parse("127.5", "127.5", options.pop("color", None), options.pop("resize", ResizeMode.STRETCH))
    return build_spec(info, SpecOptions(preprocessing=preprocessing, **options))


def test_detection_roles_follow_the_op_not_the_order(tflites):
    from tflgen.spec import Role, Task
    from tflgen.tflite_info import read_model

    spec = _spec(tflites["ssd"])
    assert spec.task is Task.DETECTION and spec.num_classes == 3
    info = read_model(tflites["ssd"].read_bytes(), "ssd")
    order = [t.origin_output for t in info.outputs]
    assert order != [0, 1, 2, 3]  # the converter scrambled them
    roles = {o.index: o.role for o in spec.outputs}
    op_roles = [Role.BOXES, Role.CLASSES, Role.SCORES, Role.COUNT]
    assert roles == {i: op_roles[k] for i, k in enumerate(order)}
    assert spec.output(Role.BOXES).shape == (1, 10, 4) and spec.output(Role.COUNT).shape == (1,)


def test_classification_logits_and_probabilities(tflites, tmp_path):
    from tflgen.spec import Role, Task

    spec = _spec(tflites["logits"])
    assert spec.task is Task.CLASSIFICATION and spec.outputs[0].role is Role.LOGITS and spec.num_classes == 10
    import models

    softmax = tmp_path / "softmax.keras"
    models.tiny_classifier(classes=4, activation="softmax").save(softmax)
    for extra in ((), ("-q", "int8", "--io-type", "uint8", "--allow-random-calibration", "--calibration-count", "4", *NORM)):
        out = tmp_path / f"softmax{len(extra)}.tflite"
        assert run_cli("convert", softmax, "-o", out, "--force", *extra).code == 0
        spec = _spec(out)
        assert spec.outputs[0].role is Role.PROBABILITIES  # seen through the QUANTIZE after SOFTMAX too


def test_segmentation_forms(tflites):
    from tflgen.spec import Role, Task

    mask = _spec(tflites["mask"])
    assert mask.task is Task.SEGMENTATION and mask.outputs[0].role is Role.MASK and mask.num_classes == 4
    label_map = _spec(tflites["label_map"], labels=("a", "b", "c", "d"))
    assert label_map.task is Task.SEGMENTATION and label_map.outputs[0].role is Role.LABEL_MAP
    assert label_map.num_classes == 4 and label_map.outputs[0].shape == (1, 64, 64)


def test_label_map_against_reference(tflites, images, segmenter):
    """MediaPipe's ImageSegmenter takes score masks only; a label map is checked against the source alone."""
    from helpers import run_tflite, sample_inputs

    from tflgen.reference import argmax_mask

    model, _ = segmenter
    batch = sample_inputs(images, 64, count=1)[0]
    got = run_tflite(tflites["label_map"], batch)[0][0]
    assert np.array_equal(got.astype(np.int32), argmax_mask(np.asarray(model(batch))[0]))


def test_task_that_cannot_be_told(tflites):
    from tflgen.errors import OptionError

    with pytest.raises(OptionError, match="can't tell the task") as caught:
        _spec(tflites["two"])
    assert "[1, 10] float32" in caught.value.message and "--task" in caught.value.hint


def test_labels_with_offset(tflites):
    spec = _spec(tflites["ssd"], labels=("???", "circle", "square", "triangle"), label_offset=1)
    assert spec.class_labels() == ("circle", "square", "triangle") and spec.label(0) == "circle"
    from tflgen.errors import OptionError

    with pytest.raises(OptionError, match="4 labels for 3 model classes") as caught:
        _spec(tflites["ssd"], labels=("???", "circle", "square", "triangle"))
    assert "--label-offset 1" in caught.value.hint
    with pytest.raises(OptionError, match="9 labels for 10 model classes") as caught:
        _spec(tflites["logits"], labels=tuple(f"c{i}" for i in range(9)))
    assert "--label-offset -1" in caught.value.hint
    spec = _spec(tflites["logits"], labels=tuple(f"c{i}" for i in range(9)), label_offset=-1)
    assert spec.label(0) == "class 0" and spec.label(1) == "c0"


def test_toml_round_trip(tflites):
    from tflgen.spec import ColorOrder, ResizeMode, spec_from_toml, spec_to_toml

    for name in ("ssd", "logits", "mask"):
        spec = _spec(tflites[name], labels=(), color=None, resize=ResizeMode.LETTERBOX)
        text = spec_to_toml(spec)
        assert spec_from_toml(text) == spec
        assert 'resize = "letterbox"' in text
    spec = _spec(tflites["logits"], color=ColorOrder.BGR, labels=tuple(f"c{i}" for i in range(10)))
    assert spec_from_toml(spec_to_toml(spec)) == spec


# ---------------------------------------------------------------- raw SSDs (decoded by the app)


def _error(call):
    from tflgen.errors import OptionError

    with pytest.raises(OptionError) as caught:
        call()
    assert caught.value.hint
    return caught.value


def test_raw_ssd_roles_come_from_shapes(tflites):
    from tflgen.spec import Role, Task
    from tflgen.tflite_info import read_model

    info = read_model(tflites["raw_ssd"].read_bytes(), "raw")
    spec = _spec(tflites["raw_ssd"], task=Task.DETECTION)
    assert spec.raw_detection and spec.ssd is None and spec.num_classes == 5
    by_shape = {Role.BOX_ENCODINGS: (1, 64, 4), Role.CLASS_SCORES: (1, 64, 6)}
    assert {o.role: info.outputs[o.index].shape for o in spec.outputs} == by_shape
    # The rule is the shape, not the position: the same outputs listed the other way round.
    from dataclasses import replace

    swapped = _spec_of(replace(info, outputs=info.outputs[::-1]), task=Task.DETECTION)
    assert {o.role: info.outputs[::-1][o.index].shape for o in swapped.outputs} == by_shape


def test_raw_ssd_spec_with_anchors_and_its_toml_round_trip(tflites):
    import models
    from tflgen.spec import ANCHORS_FILE, SsdSpec, Task, spec_from_toml, spec_to_toml
    from tflgen.ssd import SsdParams

    anchors = models.ssd_grid_anchors()
    spec = _spec(tflites["raw_ssd"], ssd=SsdParams(anchors, max_detections=7, score_threshold=0.25), labels=("???", "a", "b", "c", "d", "e"), label_offset=1)
    assert spec.task is Task.DETECTION  # told by the anchors, without --task
    assert spec.ssd == SsdSpec(64, (10.0, 10.0, 5.0, 5.0), 7, 0.25, 0.6, ANCHORS_FILE)
    text = spec_to_toml(spec)
    assert spec_from_toml(text) == spec
    assert "[spec.ssd]" in text and f'anchors_file = "{ANCHORS_FILE}"' in text
    assert "0.375" not in text  # an anchor centre: anchors are referenced by file, never inlined
    assert spec.to_dict()["ssd"] == {
        "anchor_count": 64, "anchors_file": ANCHORS_FILE, "scales": [10.0, 10.0, 5.0, 5.0],
        "max_detections": 7, "score_threshold": 0.25, "iou_threshold": 0.6, "background": True,
    }
    op_spec = _spec(tflites["ssd"])
    assert op_spec.ssd is None and "ssd" not in op_spec.to_dict() and spec_from_toml(spec_to_toml(op_spec)) == op_spec


def test_raw_ssd_labels_decide_whether_the_first_score_column_is_the_background(tflites):
    """Class scores [1, N, 6]: 6 labels mean six classes and no background column (sigmoid scores per
    class), 5 labels mean background first, 6 with --label-offset 1 a "???" row for that background;
    any other count is refused with the counts that would fit."""
    import models
    from tflgen.ssd import SsdParams

    params = SsdParams(models.ssd_grid_anchors())
    six = tuple(f"c{i}" for i in range(6))
    spec = _spec(tflites["raw_ssd"], ssd=params, labels=six)
    assert (spec.num_classes, spec.label_offset, spec.ssd.background) == (6, 0, False)
    spec = _spec(tflites["raw_ssd"], ssd=params, labels=six[:5])
    assert (spec.num_classes, spec.label_offset, spec.ssd.background) == (5, 0, True)
    spec = _spec(tflites["raw_ssd"], ssd=params, labels=("???", *six[:5]), label_offset=1)
    assert (spec.num_classes, spec.label_offset, spec.ssd.background) == (5, 1, True)
    assert _spec(tflites["raw_ssd"], ssd=params).num_classes == 5  # no labels: the Object Detection API's convention
    error = _error(lambda: _spec(tflites["raw_ssd"], ssd=params, labels=six + ("x",)))
    assert "7 labels for class scores with 6 columns" in error.message and "give 6 labels" in error.hint and "or 5" in error.hint


def test_raw_ssd_bad_input(tflites):
    import models
    from tflgen.render import check_expressible
    from tflgen.spec import Task
    from tflgen.ssd import SsdParams

    anchors = models.ssd_grid_anchors()
    error = _error(lambda: _spec(tflites["raw_ssd"], ssd=SsdParams(anchors[:60])))
    assert "--ssd-anchors" in error.message and "60" in error.message and "64" in error.message
    error = _error(lambda: _spec(tflites["ssd"], ssd=SsdParams(anchors)))
    assert "already ends in TFLite_Detection_PostProcess" in error.message and "drop --ssd-anchors" in error.hint
    assert "--ssd-anchors" in _error(lambda: _spec(tflites["logits"], task=Task.CLASSIFICATION, ssd=SsdParams(anchors))).message
    error = _error(lambda: _spec(tflites["logits"], task=Task.DETECTION))  # neither the op nor a raw SSD
    assert "TFLite_Detection_PostProcess" in error.message and "[1, 10]" in error.message
    error = _error(lambda: check_expressible(_spec(tflites["raw_ssd"], task=Task.DETECTION)))  # anchors unknown
    assert "raw SSD" in error.message and "--ssd-anchors" in error.hint


def test_raw_ssd_metadata_reads_back(tflites, tmp_path):
    """Feature tensors with descriptions, the labels as the class scores' axis labels (background
    row first), no detection_result group (MediaPipe's ObjectDetector can't run a raw SSD)."""
    from tflgen.metadata import associated_files, read_metadata, spec_from_model
    from tflgen.spec import Task

    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\nc\nd\ne\n")
    out = tmp_path / "raw_m.tflite"
    result = run_cli("metadata", tflites["raw_ssd"], "-o", out, "--task", "detection", "--labels", labels, *NORM)
    assert result.code == 0, result.err
    content = out.read_bytes()
    metadata = read_metadata(content)
    assert metadata.output_groups == ()
    by_name = {t.name: t for t in metadata.outputs}
    info_order = sorted(_spec(tflites["raw_ssd"], task=Task.DETECTION).outputs, key=lambda o: o.index)
    assert [t.name for t in metadata.outputs] == [o.role.value for o in info_order]  # in output order
    assert {t.content for t in metadata.outputs} == {"feature"}
    assert "background" in by_name["class_scores"].description and "anchors" in by_name["box_encodings"].description
    assert [f.type for f in by_name["class_scores"].files] == ["TENSOR_AXIS_LABELS"]
    assert associated_files(content)["labels.txt"].decode().splitlines() == ["background", "a", "b", "c", "d", "e"]
    expected = _spec(tflites["raw_ssd"], task=Task.DETECTION, labels=("a", "b", "c", "d", "e"))
    assert spec_from_model(content) == expected.canonical()
    # MediaPipe's ObjectDetector refuses it (README's readers table says so).
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    with pytest.raises(ValueError, match="BoundingBoxProperties"):
        vision.ObjectDetector.create_from_options(vision.ObjectDetectorOptions(base_options=BaseOptions(model_asset_buffer=content)))


# ---------------------------------------------------------------- tflgen metadata, bad input


def test_metadata_task_mismatch(tflites, tmp_path):
    out = tmp_path / "m.tflite"
    result = run_cli("metadata", tflites["logits"], "-o", out, "--task", "detection", *NORM)
    assert_bad_input(result, "--task detection", "[1, 10] float32", out=out)


def test_metadata_labels_count(tflites, tmp_path):
    out = tmp_path / "m.tflite"
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    assert_bad_input(run_cli("metadata", tflites["logits"], "-o", out, "--labels", labels, *NORM), "--labels", "2 labels for 10", out=out)


def test_metadata_labels_missing_or_not_utf8(tflites, tmp_path):
    out = tmp_path / "m.tflite"
    assert_bad_input(run_cli("metadata", tflites["logits"], "-o", out, "--labels", tmp_path / "none.txt", *NORM), "--labels", out=out)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1") * 10)
    assert_bad_input(run_cli("metadata", tflites["logits"], "-o", out, "--labels", latin, *NORM), "--labels", "UTF-8", out=out)


def test_metadata_not_a_model(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    out = tmp_path / "m.tflite"
    assert_bad_input(run_cli("metadata", bad, "-o", out, "--task", "classification", *NORM), str(bad), out=out)


def test_metadata_mean_std_channels(tflites, tmp_path):
    out = tmp_path / "m.tflite"
    assert_bad_input(run_cli("metadata", tflites["logits"], "-o", out, "--mean", "1,2", "--std", "1"), "--mean", out=out)
    assert_bad_input(run_cli("metadata", tflites["logits"], "-o", out), "--mean", out=out)


def test_metadata_in_place_needs_force(tflites, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(tflites["logits"].read_bytes())
    result = run_cli("metadata", model, "-o", model, *NORM)
    assert_bad_input(result, "--output")
    assert model.read_bytes() == tflites["logits"].read_bytes()
    assert run_cli("metadata", model, "-o", model, *NORM, "--force").code == 0
    assert model.read_bytes() != tflites["logits"].read_bytes()


def test_grayscale_model_metadata(tmp_path):
    import keras

    from tflgen.metadata import read_metadata, spec_from_model
    from tflgen.spec import ColorOrder

    keras.utils.set_random_seed(9)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x)).save(tmp_path / "gray.keras")
    assert run_cli("convert", tmp_path / "gray.keras", "-o", tmp_path / "gray.tflite").code == 0
    labels = tmp_path / "labels.txt"
    labels.write_text("zero\none\ntwo\n")
    result = run_cli("metadata", tmp_path / "gray.tflite", "-o", tmp_path / "gray_m.tflite", "--labels", labels, "--mean", "0", "--std", "255")
    assert result.code == 0, result.err
    content = (tmp_path / "gray_m.tflite").read_bytes()
    image = read_metadata(content).inputs[0]
    assert image.color_space == "GRAYSCALE" and image.mean == (0.0,) and image.std == (255.0,)
    spec = spec_from_model(content)
    assert spec.input.color is ColorOrder.GRAY and spec.input.channels == 1 and spec.class_labels() == ("zero", "one", "two")
    bad = run_cli("metadata", tmp_path / "gray.tflite", "-o", tmp_path / "x.tflite", "--color", "rgb", "--mean", "0", "--std", "255")
    assert_bad_input(bad, "--color rgb", out=tmp_path / "x.tflite")
