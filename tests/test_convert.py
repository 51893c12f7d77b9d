"""`tflgen convert` on real models from every kind of source, with every recipe.

The converted model runs in ai-edge-litert and is compared with the source model run by
TensorFlow/Keras itself on real preprocessed images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import convert_or_fail, run_cli, run_tflite, sample_inputs, sqnr_db, tflite_io

NORM = ("--mean", "127.5", "--std", "127.5")

# Output SQNR (dB) against the source model that each recipe must reach. Measured here on the
# small test nets (TF1 graph, segmenter): int8 42-47 dB, while calibrating with a wrong
# normalization gives 5-19 dB. A random-weight MobileNetV2 is far less quantization-friendly
# than a trained one (float16 36 dB, dynamic 23 dB, int8 9 dB against 4 dB with a wrong
# normalization), so it gets its own, lower bounds.
MIN_SQNR = {"float32": 80.0, "float16": 30.0, "dynamic": 18.0, "int8": 30.0}
MIN_SQNR_RANDOM_MOBILENET = {"float32": 80.0, "float16": 30.0, "dynamic": 18.0, "int8": 7.0}

RECIPES = [
    ("float32", (), "float32"),
    ("float16", (), "float32"),
    ("dynamic", (), "float32"),
    ("int8", (), "float32"),
    ("int8", ("--io-type", "uint8"), "uint8"),
    ("int8", ("--io-type", "int8"), "int8"),
]


def _convert(source: Path, out: Path, recipe: str, extra: tuple[str, ...], images: Path) -> Path:
    if (recipe, extra) in (("float32", ()), ("int8", ("--io-type", "uint8"))):  # what other tests convert too: shared
        return convert_or_fail(source, out, images, int8=recipe == "int8")
    args = [source, "-o", out, "--quantize", recipe, *extra]
    if recipe == "int8":
        args += ["--calibration", images, "--calibration-count", 16, *NORM]
    result = run_cli("convert", *args)
    assert result.code == 0, result.err
    return out


def _sqnr(model_outputs: list[np.ndarray], tflite_path: Path, batches: np.ndarray) -> float:
    actual = np.concatenate([run_tflite(tflite_path, batch)[0] for batch in batches])
    return sqnr_db(actual, np.concatenate(model_outputs))


@pytest.mark.slow
@pytest.mark.parametrize(("recipe", "extra", "io"), RECIPES, ids=[f"{r}-{io}" for r, _, io in RECIPES])
def test_keras_mobilenet_every_recipe(mobilenet, images, tmp_path, recipe, extra, io):
    model, path = mobilenet
    out = _convert(path, tmp_path / "m.tflite", recipe, extra, images)
    batches = sample_inputs(images, 96)
    expected = [np.asarray(model(batch, training=False)) for batch in batches]

    input_detail, output_details = tflite_io(out)
    assert np.dtype(input_detail["dtype"]).name == io
    assert [np.dtype(d["dtype"]).name for d in output_details] == [io]
    assert list(input_detail["shape"]) == [1, 96, 96, 3]
    if io == "uint8":
        # [-1, 1] inputs quantized to uint8: scale 2/255, zero point 128 (±1: calibration sees
        # the range the images really span).
        assert input_detail["quantization"][0] == pytest.approx(2 / 255, rel=1e-2)
        assert abs(input_detail["quantization"][1] - 128) <= 1
    if io == "int8":
        assert input_detail["quantization"][0] == pytest.approx(2 / 255, rel=1e-2)
        assert abs(input_detail["quantization"][1]) <= 1
    if recipe == "float32":
        assert max(float(np.max(np.abs(run_tflite(out, b)[0] - e))) for b, e in zip(batches, expected)) < 1e-4
    sqnr = _sqnr(expected, out, batches)
    assert sqnr > MIN_SQNR_RANDOM_MOBILENET[recipe], f"{recipe}/{io}: SQNR {sqnr:.1f} dB"


@pytest.mark.slow
def test_int8_agrees_with_source_on_top1(mobilenet, images, tmp_path):
    model, path = mobilenet
    out = _convert(path, tmp_path / "m.tflite", "int8", ("--io-type", "uint8"), images)
    batches = sample_inputs(images, 96, count=12)
    agree = [
        int(np.argmax(run_tflite(out, b)[0])) == int(np.argmax(np.asarray(model(b, training=False)))) for b in batches
    ]
    assert np.mean(agree) >= 0.75, agree


@pytest.mark.slow
def test_saved_model(mobilenet, mobilenet_saved_model, images, tmp_path):
    model, _ = mobilenet
    batches = sample_inputs(images, 96, count=3)
    expected = [np.asarray(model(b, training=False)) for b in batches]
    for recipe, extra in (("float32", ()), ("int8", ("--io-type", "uint8"))):
        out = _convert(mobilenet_saved_model, tmp_path / f"{recipe}.tflite", recipe, extra, images)
        assert _sqnr(expected, out, batches) > MIN_SQNR_RANDOM_MOBILENET[recipe]


def test_legacy_h5_loads_through_tf_keras(legacy_h5, images, tmp_path):
    import tf_keras

    result = run_cli("convert", legacy_h5, "-o", tmp_path / "m.tflite")
    assert result.code == 0, result.err
    assert "tf-keras" in result.out and "Keras 3 refused" in result.out
    model = tf_keras.models.load_model(legacy_h5, compile=False)
    batches = sample_inputs(images, 32, count=3)
    for batch in batches:
        np.testing.assert_allclose(run_tflite(tmp_path / "m.tflite", batch)[0], model(batch).numpy(), atol=1e-5)


def test_frozen_graph_every_recipe(tf1, images, tmp_path):
    batches = sample_inputs(images, 48, count=3)
    expected = [tf1["reference"](b)["logits"] for b in batches]
    for recipe, extra in (("float32", ()), ("float16", ()), ("dynamic", ()), ("int8", ("--io-type", "uint8"))):
        out = _convert(tf1["pb"], tmp_path / f"{recipe}.tflite", recipe, ("--inputs", "image", "--outputs", "logits", *extra), images)
        sqnr = _sqnr(expected, out, batches)
        assert sqnr > MIN_SQNR[recipe], f"{recipe}: SQNR {sqnr:.1f} dB"
        names = [d["name"] for d in tflite_io(out)[1]]
        assert names == ["logits"]


def test_checkpoint_prefix_and_folder(tf1, images, tmp_path):
    batches = sample_inputs(images, 48, count=3)
    expected = [tf1["reference"](b)["probs"] for b in batches]
    for i, source in enumerate((tf1["ckpt"], tf1["ckpt"].parent, Path(str(tf1["ckpt"]) + ".meta"))):
        out = tmp_path / f"ckpt{i}.tflite"
        result = run_cli("convert", source, "-o", out, "--inputs", "image", "--outputs", "probs")
        assert result.code == 0, result.err
        assert "TF1 checkpoint" in result.out
        for batch, want in zip(batches, expected):
            np.testing.assert_allclose(run_tflite(out, batch)[0], want, atol=1e-5)


def test_dynamic_graph_needs_input_shape(tf1_dynamic, images, tmp_path):
    out = tmp_path / "m.tflite"
    result = run_cli("convert", tf1_dynamic["pb"], "-o", out, "--inputs", "image", "--outputs", "probs")
    assert result.code == 2 and "--input-shape" in result.err and not out.exists()
    result = run_cli("convert", tf1_dynamic["pb"], "-o", out, "--inputs", "image", "--outputs", "probs", "--input-shape", "1,40,40,3")
    assert result.code == 0, result.err
    batch = sample_inputs(images, 40, count=1)[0]
    np.testing.assert_allclose(run_tflite(out, batch)[0], tf1_dynamic["reference"](batch)["probs"], atol=1e-5)


def test_dynamic_saved_model_needs_input_shape(dynamic_model, tmp_path):
    out = tmp_path / "m.tflite"
    result = run_cli("convert", dynamic_model, "-o", out)
    assert result.code == 2 and "--input-shape" in result.err and not out.exists()
    result = run_cli("convert", dynamic_model, "-o", out, "--input-shape", "1,24,24,3")
    assert result.code == 0, result.err
    assert list(tflite_io(out)[0]["shape"]) == [1, 24, 24, 3]


def test_segmentation_int8_uint8(segmenter, images, tmp_path):
    model, path = segmenter
    out = _convert(path, tmp_path / "seg.tflite", "int8", ("--io-type", "uint8"), images)
    _, outputs = tflite_io(out)
    assert list(outputs[0]["shape"]) == [1, 64, 64, 4] and outputs[0]["dtype"] == np.uint8
    batches = sample_inputs(images, 64, count=3)
    expected = [np.asarray(model(b, training=False)) for b in batches]
    sqnr = _sqnr(expected, out, batches)
    assert sqnr > MIN_SQNR["int8"], f"SQNR {sqnr:.1f} dB"
    labels = [np.argmax(run_tflite(out, b)[0], axis=-1) for b in batches]
    agreement = np.mean([np.mean(a == np.argmax(e, axis=-1)) for a, e in zip(labels, expected)])
    assert agreement > 0.85, agreement


def test_calibration_uses_the_given_normalization(tiny, images, tmp_path):
    """The input quantization follows the preprocessing: [0, 1] inputs give scale 1/255, zero point 0."""
    _, path = tiny
    out = tmp_path / "m.tflite"
    result = run_cli("convert", path, "-o", out, "-q", "int8", "--io-type", "uint8", "--calibration", images,
                     "--calibration-count", 8, "--mean", "0", "--std", "255")
    assert result.code == 0, result.err
    assert "mean 0,0,0, std 255,255,255" in result.out
    scale, zero_point = tflite_io(out)[0]["quantization"]
    assert scale == pytest.approx(1 / 255, rel=1e-3) and zero_point == 0


def test_tflite_source_is_copied(tiny, images, tmp_path):
    _, path = tiny
    first = _convert(path, tmp_path / "a.tflite", "float16", (), images)
    copy = tmp_path / "b.tflite"
    result = run_cli("convert", first, "-o", copy)
    assert result.code == 0, result.err
    assert copy.read_bytes() == first.read_bytes()
    result = run_cli("convert", first, "-o", tmp_path / "c.tflite", "-q", "int8", "--allow-random-calibration", *NORM)
    assert result.code == 2 and "already a .tflite" in result.err and not (tmp_path / "c.tflite").exists()


def test_unquantizable_op_is_named(sin_model, images, tmp_path):
    out = tmp_path / "sin.tflite"
    base = ["convert", sin_model, "-o", out, "--calibration", images, "--calibration-count", 8, *NORM]
    result = run_cli(*base, "-q", "int8", "--io-type", "uint8")
    assert result.code == 2
    assert "SIN" in result.err and "--allow-float-fallback" in result.err and not out.exists()
    result = run_cli(*base, "--target", "edgetpu")
    assert result.code == 2 and "SIN" in result.err and not out.exists()
    result = run_cli(*base, "-q", "int8", "--allow-float-fallback")
    assert result.code == 0, result.err
    assert "SIN" in result.out
    inspected = run_cli("inspect", out, "--json")
    import json

    assert json.loads(inspected.out)["float_ops"] == {"SIN": 1}


@pytest.mark.slow
def test_edgetpu_preset(mobilenet, images, tmp_path):
    _, path = mobilenet
    out = tmp_path / "tpu.tflite"
    result = run_cli("convert", path, "-o", out, "--target", "edgetpu", "--calibration", images, "--calibration-count", 8, *NORM)
    assert result.code == 0, result.err
    assert "integer-only" in result.out
    detail, outputs = tflite_io(out)
    assert detail["dtype"] == np.uint8 and outputs[0]["dtype"] == np.uint8
    import json

    info = json.loads(run_cli("inspect", out, "--json").out)
    assert info["float_ops"] == {} and info["integer_activations"] is True


def test_random_calibration_is_loud(tiny, tmp_path):
    _, path = tiny
    out = tmp_path / "m.tflite"
    result = run_cli("convert", path, "-o", out, "-q", "int8", "--allow-random-calibration", "--calibration-count", 4, *NORM)
    assert result.code == 0, result.err
    assert "RANDOM" in result.err and "UNKNOWN" in result.err
    assert "random images" in result.out


def test_unreadable_images_are_skipped(tiny, images, tmp_path):
    _, path = tiny
    folder = tmp_path / "cal"
    folder.mkdir()
    for source in sorted(images.rglob("*.png"))[:3]:
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    result = run_cli("convert", path, "-o", tmp_path / "m.tflite", "-q", "int8", "--calibration", folder, *NORM)
    assert result.code == 0, result.err
    assert "skipped unreadable calibration image" in result.err and "broken.jpg" in result.err
    assert "3 images from" in result.out


def test_same_inputs_same_bytes(tiny, images, tmp_path):
    _, path = tiny
    a = _convert(path, tmp_path / "a.tflite", "int8", ("--io-type", "uint8"), images)
    b = _convert(path, tmp_path / "b.tflite", "int8", ("--io-type", "uint8"), images)
    assert a.read_bytes() == b.read_bytes()


def test_force_replaces_output(tiny, tmp_path):
    _, path = tiny
    out = tmp_path / "m.tflite"
    out.write_bytes(b"old")
    result = run_cli("convert", path, "-o", out, "--force")
    assert result.code == 0, result.err
    assert out.read_bytes()[4:8] == b"TFL3"
    assert [p.name for p in tmp_path.iterdir()] == ["m.tflite"]  # no temporary file left behind


def test_ssd_keeps_detection_op_with_uint8_input_and_float_outputs(ssd_model, images, tmp_path):
    out = tmp_path / "ssd.tflite"
    result = run_cli("convert", ssd_model, "-o", out, "-q", "int8", "--io-type", "uint8", "--calibration", images,
                     "--calibration-count", 8, *NORM)
    assert result.code == 0, result.err
    assert "TFLite_Detection_PostProcess" in result.out and "float32 by design" in result.out
    detail, outputs = tflite_io(out)
    assert detail["dtype"] == np.uint8
    assert [d["dtype"] for d in outputs] == [np.float32] * 4
    assert sorted(tuple(d["shape"]) for d in outputs) == [(1,), (1, 10), (1, 10), (1, 10, 4)]
    # It runs in LiteRT and gives sane detections: at most 10, classes in range, scores in 0..1.
    values = run_tflite(out, sample_inputs(images, 32, count=1)[0])
    count = int(next(v for v in values if v.shape == (1,))[0])
    assert 1 <= count <= 10
    boxes = next(v for v in values if v.shape == (1, 10, 4))[0, :count]
    assert np.all(boxes[:, 2] >= boxes[:, 0]) and np.all(boxes[:, 3] >= boxes[:, 1])
    pair = [v[0, :count] for v in values if v.shape == (1, 10)]
    classes = next(v for v in pair if np.all(v == np.round(v)) and np.all((v >= 0) & (v < 3)))
    scores = next(v for v in pair if v is not classes)
    assert np.all((scores > 0) & (scores <= 1)) and np.all(np.diff(scores) <= 0)  # sorted by score
    import json

    info = json.loads(run_cli("inspect", out, "--json").out)
    assert info["custom_ops"] == ["TFLite_Detection_PostProcess"]
    assert {o["producer"] for o in info["outputs"]} == {"TFLite_Detection_PostProcess"}
    # The op's own output order is fixed (boxes, classes, scores, count) whatever order the model lists them in.
    by_position = {o["producer_output"]: o["shape"] for o in info["outputs"]}
    assert by_position == {0: [1, 10, 4], 1: [1, 10], 2: [1, 10], 3: [1]}


def test_op_without_builtin_needs_select_tf_ops(work, tmp_path):
    import models

    source = models.flex_model(work / "flex_model")
    out = tmp_path / "flex.tflite"
    result = run_cli("convert", source, "-o", out)
    assert result.code == 2 and "MatrixDeterminant" in result.err and "--select-tf-ops" in result.err and not out.exists()
    result = run_cli("convert", source, "-o", out, "--select-tf-ops")
    assert result.code == 0, result.err
    assert "Flex delegate" in result.out
    import json

    assert "FlexMatrixDeterminant" in json.loads(run_cli("inspect", out, "--json").out)["custom_ops"]


def test_calibration_preprocesses_like_the_app(tmp_path):
    """Letterbox pads, BGR swaps channels: calibration sees what the app will feed the model."""
    from PIL import Image

    from tflgen.calibration import load_calibration
    from tflgen.console import Reporter
    from tflgen.reference import Normalization
    from tflgen.spec import ColorOrder, ResizeMode

    folder = tmp_path / "wide"
    folder.mkdir()
    pixels = np.zeros((50, 100, 3), np.uint8)
    pixels[..., 0] = 255  # pure red, twice as wide as high
    Image.fromarray(pixels).save(folder / "red.png")
    norm = Normalization((127.5,) * 3, (127.5,) * 3)
    shape = (1, 32, 32, 3)

    def sample(color, resize):
        return load_calibration(folder, 1, shape, np.dtype("float32"), norm, Reporter(), color, resize).samples[0, 0]

    stretched = sample(None, ResizeMode.STRETCH)
    assert np.allclose(stretched[..., 0], 1.0) and np.allclose(stretched[..., 1:], -1.0)
    boxed = sample(None, ResizeMode.LETTERBOX)
    assert np.allclose(boxed[0], -1.0) and np.allclose(boxed[-1], -1.0)  # padded rows: pixel 0
    assert np.allclose(boxed[16, :, 0], 1.0)  # the image itself in the middle
    bgr = sample(ColorOrder.BGR, ResizeMode.STRETCH)
    assert np.allclose(bgr[..., 2], 1.0) and np.allclose(bgr[..., 0], -1.0)


def test_convert_takes_the_app_preprocessing(tiny, images, tmp_path):
    _, path = tiny
    out = tmp_path / "m.tflite"
    result = run_cli("convert", path, "-o", out, "-q", "int8", "--calibration", images, "--calibration-count", 4,
                     *NORM, "--resize", "letterbox", "--color", "bgr")
    assert result.code == 0, result.err
