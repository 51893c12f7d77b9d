"""The seeds' export paths: TF1 export graphs from the Object Detection API's export_tflite_ssd_graph.py,
which hold a TFLite_Detection_PostProcess node TensorFlow can't run, converted with the seed's own
arguments; compared with TensorFlow's own converter run the seed's way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import models
from helpers import run_cli, tflite_io
from test_cli_errors import assert_bad_input


SEED_FLAGS = ("--inputs", models.EXPORT_INPUT, "--outputs", models.EXPORT_OUTPUTS, "--input-shape", "1,64,64,3")
NORM = ("--mean", "127.5", "--std", "127.5")


@pytest.fixture(scope="module")
def export_graph(work: Path) -> Path:
    return models.ssd_export_graph(work / "od_export" / "tflite_graph.pb")


def _seed_conversion(pb: Path) -> bytes:
    """What the seed ran: tflite_convert --graph_def_file ... --allow_custom_ops, through the TF1 converter API."""
    import tensorflow as tf

    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        str(pb), [models.EXPORT_INPUT], models.EXPORT_OUTPUTS.split(","), input_shapes={models.EXPORT_INPUT: [1, 64, 64, 3]},
    )
    converter.allow_custom_ops = True
    return converter.convert()


def _detections(content: bytes, batch: np.ndarray) -> dict[str, np.ndarray]:
    """The op's four outputs by the op's own output index (the .tflite lists them in another order)."""
    from ai_edge_litert.interpreter import Interpreter

    from tflgen.tflite_info import read_model

    info = read_model(content, "model")
    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
    interpreter.invoke()
    names = ("boxes", "classes", "scores", "count")
    by_name = {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
    return {names[o.origin_output]: by_name[o.name] for o in info.outputs}


def test_export_graph_converts_with_the_seeds_arguments_as_tensorflows_converter_does(export_graph, tmp_path):
    out = tmp_path / "detect.tflite"
    result = run_cli("convert", export_graph, "-o", out, *SEED_FLAGS)
    assert result.code == 0, result.err
    assert "TFLite_Detection_PostProcess kept from the graph (32 anchors, max 10 detections)" in " ".join(result.err.split())
    batch = np.random.default_rng(3).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    ours, theirs = _detections(out.read_bytes(), batch), _detections(_seed_conversion(export_graph), batch)
    assert {k: v.shape for k, v in ours.items()} == {"boxes": (1, 10, 4), "classes": (1, 10), "scores": (1, 10), "count": (1,)}
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], atol=1e-5, err_msg=name)
    assert int(ours["count"][0]) == 10  # the random scores fill every slot: the comparison covers all of them


@pytest.mark.parametrize("recipe, io_type", [("float16", None), ("dynamic", None), ("int8", "float32"), ("int8", "uint8"), ("int8", "int8")])
def test_export_graph_converts_with_every_recipe(export_graph, images, tmp_path, recipe, io_type):
    out = tmp_path / "detect.tflite"
    args = ["convert", export_graph, "-o", out, *SEED_FLAGS, "-q", recipe]
    if recipe == "int8":
        args += ["--io-type", io_type, "--calibration", images, "--calibration-count", "8", *NORM]
    result = run_cli(*args)
    assert result.code == 0, result.err
    inp, outs = tflite_io(out)
    assert inp["dtype"] == np.dtype(io_type or "float32")
    assert [o["dtype"] for o in outs] == [np.float32] * 4  # the op's outputs stay float
    assert "TFLite_Detection_PostProcess" in run_cli("inspect", out).out


def test_export_graph_verifies_against_tensorflow_and_the_numpy_op(export_graph, images, tmp_path):
    model = tmp_path / "detect.tflite"
    assert run_cli("convert", export_graph, "-o", model, *SEED_FLAGS, "-q", "int8", "--io-type", "uint8", "--calibration", images,
                   "--calibration-count", "8", *NORM).code == 0
    result = run_cli("verify", export_graph, model, *SEED_FLAGS, "--images", images, "--count", "8", "--report", tmp_path / "report",
                     *NORM, "--threads", "1")
    assert result.code in (0, 1), result.err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["task"] == "detection"
    assert "TensorFlow" in report["reference"] and "numpy TFLite_Detection_PostProcess" in report["reference"]
    assert "TFLite_Detection_PostProcess node" in report["reference"]


def test_export_graph_makes_an_app(export_graph, images, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("???\ncircle\nsquare\nstar\n")  # the OD API label map's background row first
    out = tmp_path / "Detector"
    result = run_cli("app", export_graph, "--out", out, *SEED_FLAGS, "-q", "int8", "--io-type", "uint8", "--calibration", images,
                     "--calibration-count", "8", *NORM, "--labels", labels, "--label-offset", "1")
    assert result.code == 0, result.err
    spec = (out / "processing/src/main/kotlin/com/example/tflgen/processing/ModelSpec.kt").read_text()
    assert "Role.BOXES" in spec and "intArrayOf(1, 10, 4)" in spec and "offset = 1," in spec
    assert len((out / "processing/src/test/resources/golden/cases.txt").read_text().split()) == 3


def test_export_graph_without_outputs_names_the_seeds_arguments(export_graph):
    result = run_cli("convert", export_graph, "-o", export_graph.parent / "x.tflite")
    assert_bad_input(result, "--outputs", "needs --inputs and --outputs")
    assert models.EXPORT_OUTPUTS in result.err and "--inputs normalized_input_image_tensor" in result.err


def test_export_graph_node_without_its_attributes_is_refused(tmp_path):
    pb = models.ssd_export_graph(tmp_path / "partial.pb", drop=("num_classes", "y_scale"))
    result = run_cli("convert", pb, "-o", tmp_path / "x.tflite", *SEED_FLAGS)
    assert_bad_input(result, str(pb), "lacks the attribute(s) num_classes, y_scale")
    assert not (tmp_path / "x.tflite").exists()


def test_export_graph_outputs_mixed_with_other_tensors_are_refused(export_graph, tmp_path):
    result = run_cli("convert", export_graph, "-o", tmp_path / "x.tflite", "--inputs", models.EXPORT_INPUT,
                     "--outputs", "TFLite_Detection_PostProcess,raw_outputs/box_encodings", "--input-shape", "1,64,64,3")
    assert_bad_input(result, "--outputs", "mixes TFLite_Detection_PostProcess outputs with other tensors")


def test_export_graph_with_anchors_given_again_is_refused(export_graph, tmp_path):
    anchors = tmp_path / "anchors.npy"
    np.save(anchors, np.full((32, 4), 0.5, np.float32))
    result = run_cli("convert", export_graph, "-o", tmp_path / "x.tflite", *SEED_FLAGS, "--ssd-anchors", anchors)
    assert_bad_input(result, "--ssd-anchors", "has its own TFLite_Detection_PostProcess node")


def test_export_graph_whose_node_miscounts_the_classes_is_refused(tmp_path):
    pb = models.ssd_export_graph(tmp_path / "wrong.pb", attrs={"num_classes": 5})
    result = run_cli("convert", pb, "-o", tmp_path / "x.tflite", *SEED_FLAGS)
    assert_bad_input(result, str(pb), "says num_classes 5, but its class scores have 4 columns")


# ---------------------------------------------------------------- quantization-aware graphs (FakeQuant)


@pytest.fixture(scope="module")
def qat_graphs(work: Path) -> dict[str, Path]:
    folder = work / "qat"
    return {
        "plain": models.qat_classifier_graph(folder / "qat.pb"),
        "input": models.qat_classifier_graph(folder / "qat_input.pb", input_range=True),
        "gap": models.qat_classifier_graph(folder / "qat_gap.pb", gap=True),
    }


QAT_FLAGS = ("--inputs", "input", "--outputs", "probs")


def test_quantization_aware_graph_converts_to_int8_from_its_learned_ranges(qat_graphs, images, tmp_path):
    """The seed's --inference_type=QUANTIZED_UINT8 --mean_values=128 --std_dev_values=128: no calibration data,
    the input's quantization from --mean/--std, and verify against the FakeQuant graph run in TensorFlow."""
    out = tmp_path / "qat.tflite"
    result = run_cli("convert", qat_graphs["plain"], "-o", out, *QAT_FLAGS, "-q", "int8", "--io-type", "uint8", "--mean", "128", "--std", "128")
    assert result.code == 0, result.err
    assert "ranges learned in training (quantization-aware)" in result.out
    from tflgen.tflite_info import read_model

    info = read_model(out.read_bytes(), "qat")
    (inp,) = info.inputs
    assert (inp.dtype, inp.zero_point) == ("uint8", 128) and inp.scale == pytest.approx(1 / 128)
    assert info.outputs[0].dtype == "uint8" and info.float_ops == () and info.integer_activations
    verified = run_cli("verify", qat_graphs["plain"], out, *QAT_FLAGS, "--images", images, "--count", "12", "--mean", "128", "--std", "128",
                       "--report", tmp_path / "report", "--threads", "1")
    assert verified.code in (0, 1), verified.err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["headline"]["agreement"] >= 0.8  # top-1 against the FakeQuant graph in TensorFlow


def test_quantization_aware_input_range_comes_from_the_graph_when_it_has_one(qat_graphs, tmp_path):
    out = tmp_path / "qat.tflite"
    result = run_cli("convert", qat_graphs["input"], "-o", out, *QAT_FLAGS, "-q", "int8", "--io-type", "uint8", "--mean", "127.5", "--std", "127.5")
    assert result.code == 0, result.err
    inp, _ = tflite_io(out)
    scale, zero_point = inp["quantization"]
    assert zero_point == 128 and scale == pytest.approx(2 / 255)  # the input FakeQuant's -1..1


def test_quantization_aware_graph_with_an_unranged_tensor_names_it(qat_graphs, images, tmp_path):
    out = tmp_path / "gap.tflite"
    result = run_cli("convert", qat_graphs["gap"], "-o", out, *QAT_FLAGS, "-q", "int8", "--io-type", "uint8", *NORM)
    assert_bad_input(result, "no learned range", "Relu6", out=out)
    assert "--calibration" in result.err
    calibrated = run_cli("convert", qat_graphs["gap"], "-o", out, *QAT_FLAGS, "-q", "int8", "--io-type", "uint8", *NORM,
                         "--calibration", images, "--calibration-count", "8")
    assert calibrated.code == 0, calibrated.err


def test_quantization_aware_input_needs_one_mean_and_std(qat_graphs, tmp_path):
    result = run_cli("convert", qat_graphs["plain"], "-o", tmp_path / "x.tflite", *QAT_FLAGS, "-q", "int8", "--io-type", "uint8",
                     "--mean", "120,127,130", "--std", "128")
    assert_bad_input(result, "needs one --mean and one --std", out=tmp_path / "x.tflite")


def test_a_graph_without_fake_quant_still_needs_calibration_before_loading(export_graph, tmp_path):
    result = run_cli("convert", export_graph, "-o", tmp_path / "x.tflite", *SEED_FLAGS, "-q", "int8", *NORM)
    assert_bad_input(result, "needs calibration images", out=tmp_path / "x.tflite")
    assert "Loading" not in result.err  # refused before the model loads


def test_quantization_aware_ssd_export_makes_an_int8_app_without_calibration(work, images, tmp_path):
    """The seed's quantized SSD: a QAT export graph with the op's node, uint8 input from --mean/--std 128."""
    pb = models.ssd_export_graph(work / "qat_export" / "tflite_graph.pb", quantization_aware=True)
    out = tmp_path / "Detector"
    result = run_cli("app", pb, "--out", out, *SEED_FLAGS, "-q", "int8", "--io-type", "uint8", "--mean", "128", "--std", "128",
                     "--images", images)
    assert result.code == 0, result.err
    from tflgen.tflite_info import read_model

    info = read_model((out / "app/src/main/ml/model.tflite").read_bytes(), "model")
    assert info.inputs[0].dtype == "uint8" and info.inputs[0].scale == pytest.approx(1 / 128) and info.inputs[0].zero_point == 128
    assert "TFLite_Detection_PostProcess" in info.custom_ops and info.float_ops == ()
    recorded = (out / "tflgen.toml").read_text()
    assert 'quantize = "int8"' in recorded and "\ncalibration = " not in recorded


# ---------------------------------------------------------------- DeepLab's export_model.py graph


@pytest.fixture(scope="module")
def deeplab(work: Path) -> Path:
    return models.deeplab_export_graph(work / "deeplab" / "frozen_inference_graph.pb")


WHOLE = ("--inputs", "ImageTensor", "--outputs", "SemanticPredictions", "--input-shape", "1,64,64,3")


def test_deeplab_whole_graph_converts_as_float_with_its_uint8_input_and_int64_labels(deeplab, tmp_path):
    out = tmp_path / "deeplab.tflite"
    result = run_cli("convert", deeplab, "-o", out, *WHOLE)
    assert result.code == 0, result.err
    inp, outs = tflite_io(out)
    assert inp["dtype"] == np.uint8 and [o["dtype"] for o in outs] == [np.int64]
    assert list(outs[0]["shape"]) == [1, 64, 64]
    from tflgen.tflite_info import read_model

    info = read_model(out.read_bytes(), "deeplab")
    assert not info.integer_activations and info.float_ops == ()  # a float model, whatever its IO


def test_deeplab_int8_names_what_it_cant_quantize_and_the_cut_that_works(deeplab, images, tmp_path):
    """int8 of the whole graph is refused with the preprocessing and the ArgMax named, and a hint with the
    cut tflgen found and the normalization it implies; that very hint then converts to int8 and makes an app."""
    out = tmp_path / "deeplab.tflite"
    result = run_cli("convert", deeplab, "-o", out, *WHOLE, "-q", "int8", "--calibration", images, "--calibration-count", "8")
    assert_bad_input(result, "--quantize int8", "Cast", "ResizeBilinear", "int64", out=out)
    hint = next(line for line in result.err.splitlines() if line.startswith("hint: "))
    cut = "--inputs sub_7 --outputs ResizeBilinear_2 --input-shape 1,64,64,3 --mean 127.5 --std 127.5"
    assert cut in hint
    app = tmp_path / "Segmenter"
    labels = tmp_path / "labels.txt"
    labels.write_text("background\nred\ngreen\nblue\n")
    made = run_cli("app", deeplab, "--out", app, *cut.split(), "-q", "int8", "--io-type", "uint8", "--calibration", images,
                   "--calibration-count", "8", "--labels", labels)
    assert made.code == 0, made.err
    spec = (app / "processing/src/main/kotlin/com/example/tflgen/processing/ModelSpec.kt").read_text()
    assert "Task.SEGMENTATION" in spec and "Role.MASK" in spec and "intArrayOf(1, 64, 64, 4)" in spec


def test_deeplab_quantize_auto_lists_int8_as_refused_with_the_cut(deeplab, images, tmp_path):
    """--quantize auto on the whole graph: int8 is a failed candidate that names the cut (as --quantize
    int8 would), and a float recipe is chosen."""
    out = tmp_path / "deeplab.tflite"
    result = run_cli("convert", deeplab, "-o", out, *WHOLE, "-q", "auto", "--images", images, "--max-drop", 1, "--report", tmp_path / "report")
    assert result.code == 0, result.err
    candidates = {c["recipe"]: c for c in json.loads((tmp_path / "report" / "report.json").read_text())["candidates"]}
    assert "--inputs sub_7 --outputs ResizeBilinear_2" in candidates["int8"]["failure"] and not candidates["int8"]["chosen"]
    assert any(c["chosen"] for c in candidates.values()) and out.is_file()


def test_deeplab_cut_at_a_name_that_does_not_exist_is_refused(deeplab, tmp_path):
    result = run_cli("convert", deeplab, "-o", tmp_path / "x.tflite", "--inputs", "sub_8", "--outputs", "ResizeBilinear_2",
                     "--input-shape", "1,64,64,3")
    assert_bad_input(result, "--inputs", "sub_8", out=tmp_path / "x.tflite")


# ---------------------------------------------------------------- seed 002: the TF2 exporter's SavedModel for the Edge TPU


def test_tf2_ssd_saved_model_for_the_edge_tpu_end_to_end(ssd_model, images, tmp_path):
    """--target edgetpu: integer-only int8 with uint8 input, the op's outputs float by design and said so,
    and the app's golden results are probabilities in 0..1 (never a uint8 score such as 104)."""
    out = tmp_path / "EdgeTpuDetector"
    labels = tmp_path / "labels.txt"
    labels.write_text("???\ncircle\nsquare\ntriangle\n")
    result = run_cli("app", ssd_model, "--out", out, "--target", "edgetpu", "--calibration", images, "--calibration-count", "8", *NORM,
                     "--labels", labels, "--label-offset", "1")
    assert result.code == 0, result.err
    assert "the detection outputs are float32 by design" in " ".join(result.out.split())
    inp, outs = tflite_io(out / "app/src/main/ml/model.tflite")
    assert inp["dtype"] == np.uint8 and [o["dtype"] for o in outs] == [np.float32] * 4
    golden = out / "processing/src/test/resources/golden"
    scores = [r["score"] for case in (golden / "cases.txt").read_text().split()
              for r in json.loads((golden / case / "expected.json").read_text())["results"]]
    assert scores and all(0.0 <= s <= 1.0 for s in scores)


def test_export_checkpoint_with_the_node_in_its_meta_graph_converts_like_the_frozen_graph(work, export_graph, tmp_path):
    """The same export as a TF1 checkpoint (variables, and the node in its .meta): frozen up to the node's
    inputs, the node put back; it converts to what the frozen graph converts to."""
    prefix = models.ssd_export_graph(work / "od_export_ckpt" / "model.ckpt", checkpoint=True)
    from_checkpoint, from_graph = tmp_path / "ckpt.tflite", tmp_path / "graph.tflite"
    for source, out in ((prefix, from_checkpoint), (export_graph, from_graph)):
        result = run_cli("convert", source, "-o", out, *SEED_FLAGS)
        assert result.code == 0, result.err
    batch = np.random.default_rng(8).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    ours, frozen = _detections(from_checkpoint.read_bytes(), batch), _detections(from_graph.read_bytes(), batch)
    for name in ours:
        np.testing.assert_allclose(ours[name], frozen[name], atol=1e-5, err_msg=name)


def test_deeplab_whole_graph_float32_matches_tensorflows_converter(deeplab, tmp_path):
    """The seed's tflite_convert of the whole DeepLab graph (TF1 converter, fixed input shape) and tflgen's agree."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    out = tmp_path / "deeplab.tflite"
    assert run_cli("convert", deeplab, "-o", out, *WHOLE).code == 0
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(str(deeplab), ["ImageTensor"], ["SemanticPredictions"],
                                                                   input_shapes={"ImageTensor": [1, 64, 64, 3]})
    image = np.random.default_rng(6).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    masks = []
    for content in (out.read_bytes(), converter.convert()):
        interpreter = Interpreter(model_content=content)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
        interpreter.invoke()
        masks.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    assert masks[0].shape == (1, 64, 64) and masks[0].dtype == np.int64
    assert np.mean(masks[0] == masks[1]) >= 0.999  # argmax ties may fall either way on float noise
    assert len(np.unique(masks[0])) >= 2


def test_quantization_aware_saved_model_converts_to_int8_without_calibration(work, tmp_path):
    """A TF2 SavedModel with TF-MOT's FakeQuant nodes (input, per-channel weights, activations): int8 from
    the learned ranges, found before loading, its input's range its own."""
    source = models.qat_saved_model(work / "qat_saved_model")
    out = tmp_path / "qat.tflite"
    result = run_cli("convert", source, "-o", out, "-q", "int8", "--io-type", "uint8", *NORM)
    assert result.code == 0, result.err
    assert "ranges learned in training (quantization-aware)" in result.out
    from tflgen.tflite_info import read_model

    info = read_model(out.read_bytes(), "qat")
    assert info.inputs[0].dtype == "uint8" and info.inputs[0].scale == pytest.approx(2 / 255) and info.float_ops == ()
