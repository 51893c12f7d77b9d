"""`tflgen verify` and `--quantize auto`: agreement, size, latency, the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import models
from helpers import convert_or_fail, run_cli
from test_cli_errors import assert_bad_input

# Slow: its fixtures convert real networks (or render and compile projects) first.
pytestmark = pytest.mark.slow

NORM = ("--mean", "127.5", "--std", "127.5")


@pytest.fixture(scope="module")
def converted(mobilenet, segmenter, images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify")
    out = {}
    for name, source, int8 in (
        ("classifier_float32", mobilenet[1], False),
        ("classifier_int8", mobilenet[1], True),
        ("segmenter_float32", segmenter[1], False),
        ("segmenter_int8", segmenter[1], True),
    ):
        out[name] = convert_or_fail(source, folder / f"{name}.tflite", images, int8)
    raw = models.raw_ssd_saved_model(folder / "raw_ssd")
    np.save(folder / "anchors.npy", models.ssd_grid_anchors())
    out["raw_ssd"] = raw
    out["ssd_int8"] = folder / "ssd_int8.tflite"
    result = run_cli("convert", raw, "-o", out["ssd_int8"], "-q", "int8", "--io-type", "uint8", "--calibration", images,
                     "--calibration-count", 16, *NORM, "--ssd-anchors", folder / "anchors.npy", "--score-threshold", 0.3)
    assert result.code == 0, result.err
    return out


def _verify(source, model, images, *extra) -> dict:
    report = Path(str(model) + f".report{len(extra)}")
    result = run_cli("verify", source, model, "--images", images, *NORM, "--report", report, "--threads", 1, *extra)
    assert result.code in (0, 1), result.err
    return {"code": result.code, "out": result.out, **json.loads((report / "report.json").read_text())}


def test_float32_agrees_fully_with_its_source(mobilenet, segmenter, converted, images):
    classification = _verify(mobilenet[1], converted["classifier_float32"], images)
    assert classification["headline"]["agreement"] == 1.0 and classification["metrics"]["top-5 agreement"] == 1.0
    assert classification["metrics"]["mean absolute probability difference"] < 1e-5
    segmentation = _verify(segmenter[1], converted["segmenter_float32"], images)
    assert segmentation["headline"]["agreement"] > 0.999 and segmentation["task"] == "segmentation"


def test_int8_agreement_and_sizes(mobilenet, segmenter, converted, images):
    classification = _verify(mobilenet[1], converted["classifier_int8"], images)
    assert classification["size"]["recipe"] == "int8"
    assert classification["size"]["bytes"] == converted["classifier_int8"].stat().st_size
    # 1 byte per parameter plus int32 biases, per-channel scales and structure: 1.13 on MobileNetV2 1.0
    # (benchmarks/RESULTS.md), 1.5 on this 0.4M-parameter one; a float limit would give ~0.4.
    assert 1.0 < classification["size"]["ratio"] < 2.0
    assert classification["headline"]["agreement"] >= 0.7
    segmentation = _verify(segmenter[1], converted["segmenter_int8"], images)
    # random weights leave many pixels near a tie between classes: measured 0.83 here
    assert segmentation["headline"]["agreement"] > 0.75 and 0 < segmentation["metrics"]["mean IoU"] <= 1


def test_raw_ssd_against_its_source_through_the_numpy_op(converted, images):
    report = _verify(converted["raw_ssd"], converted["ssd_int8"], images, "--score-threshold", 0.3)
    assert "numpy TFLite_Detection_PostProcess" in report["reference"]
    assert report["metrics"]["reference detections"] > 0
    assert report["headline"]["agreement"] >= 0.6  # int8 scores move across the threshold a little


def test_wrong_normalization_is_a_large_drop(images, tmp_path):
    """A colour classifier calibrated for [-1, 1] inputs, verified with raw 0..255 floats: its uint8
    input saturates, while the source still tells colours apart. (A random-weight MobileNet is no
    use here: it saturates into one class on both sides and 'agrees'.)"""
    import keras

    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(3, activation="softmax")
    model = keras.Model(inputs, dense(pooled))
    dense.set_weights([np.eye(3, dtype=np.float32) * 4, np.array([0.0, 0.1, 0.2], np.float32)])
    model.save(tmp_path / "colour.keras")
    out = tmp_path / "colour.tflite"
    result = run_cli("convert", tmp_path / "colour.keras", "-o", out, "-q", "int8", "--io-type", "uint8",
                     "--calibration", images, *NORM)
    assert result.code == 0, result.err
    right = run_cli("verify", tmp_path / "colour.keras", out, "--images", images, *NORM, "--threads", 1, "--max-drop", 0.2)
    wrong = run_cli("verify", tmp_path / "colour.keras", out, "--images", images, "--mean", "0", "--std", "1", "--threads", 1, "--max-drop", 0.2)
    assert right.code == 0, right.out + right.err
    assert wrong.code == 1, wrong.out + wrong.err  # the budget gate
    agreement = [float(re.search(r"top-1 agreement\s*│\s*([0-9.]+)", r.out).group(1)) for r in (right, wrong)]
    assert agreement[0] >= 0.9 and agreement[1] < agreement[0] - 0.3, agreement
    assert "FAIL" in wrong.out and "PASS" in right.out


def test_report_files_say_what_report_json_says(mobilenet, converted, images):
    data = _verify(mobilenet[1], converted["classifier_int8"], images, "--max-drop", 0.5)
    report = Path(str(converted["classifier_int8"]) + ".report2")
    markdown = (report / "report.md").read_text()
    page = (report / "report.html").read_text()
    head = data["headline"]
    assert f"| {head['metric']} | {head['agreement']:.4f} (drop {head['drop']:.4f}) |" in markdown
    assert f"{data['size']['bytes']:,} bytes" in markdown and f"{data['size']['bytes']:,} bytes" in page
    for latency in data["latency"]:
        assert f"median {latency['median_ms']:.2f} ms" in markdown
    pictures = sorted(p.name for p in report.glob("picture_*.png"))
    assert pictures == [p["file"] for p in data["pictures"]] and len(pictures) == 4
    assert all(f"]({name})" in markdown and f'src="{name}"' in page for name in pictures)
    assert data["settings"]["spec"]["input"]["folded_normalization"]["mean"] == [127.5] * 3  # int8: the exact input grid
    assert data["latency"][0]["runs"] >= 30 and data["latency"][0]["median_ms"] > 0


def test_quantize_auto_keeps_the_smallest_within_budget(tiny, images, tmp_path):
    out = tmp_path / "auto.tflite"
    result = run_cli("convert", tiny[1], "-o", out, "-q", "auto", "--images", images, "--max-drop", 0.3, *NORM,
                     "--calibration", images, "--calibration-count", 16, "--report", tmp_path / "report")
    assert result.code == 0, result.err
    assert result.err.count("Loading ") == 1, result.err  # four recipes verified against one loaded source
    candidates = json.loads((tmp_path / "report" / "report.json").read_text())["candidates"]
    assert [c["recipe"] for c in candidates] == ["float32", "float16", "dynamic", "int8"]
    fitting = [c for c in candidates if c["within_budget"] and not c["slower_than_float32"]]  # float32 always is
    chosen = [c for c in candidates if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["within_budget"] and not chosen[0]["slower_than_float32"]
    smallest = min(c["size_bytes"] for c in fitting)
    assert chosen[0]["size_bytes"] <= smallest * 1.1  # sizes within 10 % tie; the faster wins
    assert out.stat().st_size == chosen[0]["size_bytes"]
    # The rule's other branches (a recipe over budget, a smaller one slower than float32): test_accuracy's pick tests.


def test_metrics_on_constructed_cases():
    from tflgen.verify import Result, classification_metrics, detection_metrics, segmentation_metrics

    eye = np.eye(4, dtype=np.float32)
    reference = [Result(probabilities=eye[i] * 0.7 + 0.075) for i in range(4)]
    candidate = [Result(probabilities=eye[i] * 0.7 + 0.075) for i in (0, 1, 2)] + [Result(probabilities=eye[0] * 0.7 + 0.075)]
    metrics = classification_metrics(reference, candidate)
    assert metrics["top-1 agreement"] == 0.75 and metrics["top-5 agreement"] == 1.0
    # one image differs by 0.7 in two of four classes: 0.35 mean for it, 0.0875 over four images
    assert metrics["mean absolute probability difference"] == pytest.approx(0.35 / 4)

    box = (0.1, 0.1, 0.5, 0.5)
    shifted = (0.1, 0.1, 0.5, 0.6)  # IoU 0.8
    far = (0.6, 0.6, 0.9, 0.9)
    ref = [Result(detections=((1, 0.9, box), (2, 0.8, far)))]
    cand = [Result(detections=((1, 0.85, shifted), (3, 0.7, far), (2, 0.6, (0.0, 0.0, 0.05, 0.05))))]
    metrics = detection_metrics(ref, cand)
    assert metrics["precision"] == pytest.approx(1 / 3) and metrics["recall"] == pytest.approx(1 / 2)
    assert metrics["mean IoU of matched boxes"] == pytest.approx(0.8, abs=1e-6)
    assert metrics["detection F1 at IoU 0.5"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))

    a = np.zeros((4, 4), np.int32)
    a[:2] = 1
    b = a.copy()
    b[0, 0] = 0
    metrics = segmentation_metrics([Result(mask=a)], [Result(mask=b)])
    assert metrics["pixel agreement"] == 15 / 16
    assert metrics["mean IoU"] == pytest.approx((8 / 9 + 7 / 8) / 2)


# ---------------------------------------------------------------- bad input


def test_verify_bad_input(mobilenet, segmenter, converted, images, tmp_path):
    model = converted["classifier_float32"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_bad_input(run_cli("verify", mobilenet[1], model, "--images", empty, *NORM), "--images", str(empty))
    assert_bad_input(run_cli("verify", mobilenet[1], model, "--images", tmp_path / "none", *NORM), "--images")
    assert_bad_input(run_cli("verify", mobilenet[1], model, "--images", images, *NORM, "--max-drop", 1.5), "--max-drop")
    assert_bad_input(run_cli("verify", segmenter[1], model, "--images", images, *NORM), "input")
    report_file = tmp_path / "report.txt"
    report_file.write_text("x")
    assert_bad_input(run_cli("verify", mobilenet[1], model, "--images", images, *NORM, "--report", report_file), "--report")
    assert_bad_input(run_cli("verify", mobilenet[1], model, "--images", images), "--mean")


def test_verify_skips_unreadable_images(mobilenet, converted, images, tmp_path):
    folder = tmp_path / "some"
    folder.mkdir()
    for path in sorted(images.rglob("*.png"))[:2]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.png").write_bytes(b"nope")
    result = run_cli("verify", mobilenet[1], converted["classifier_float32"], "--images", folder, *NORM, "--threads", 1)
    assert result.code == 0, result.err
    assert "skipped unreadable image" in result.err and re.search(r"images\s*│\s*2\b", result.out)


def test_auto_bad_input(mobilenet, images, tmp_path):
    out = tmp_path / "auto.tflite"
    assert_bad_input(run_cli("convert", mobilenet[1], "-o", out, "-q", "auto", *NORM), "--images", out=out)
    assert_bad_input(run_cli("convert", mobilenet[1], "-o", out, "--images", images, "--max-drop", 0.1), "--quantize auto", out=out)
