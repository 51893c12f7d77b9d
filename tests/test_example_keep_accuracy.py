"""`--keep-accuracy` on the trained examples: the issue's target on the classifier, and fitted ranges
on the detector with its post-process op."""

from __future__ import annotations

import json

import pytest

from helpers import run_cli
from test_examples import _held_out

# Each test converts an example to int8 and verifies trial after trial.
pytestmark = pytest.mark.slow


def test_keep_accuracy_lifts_the_trained_classifier_to_30_db_mostly_integer(tmp_path):
    """The issue's target on a real classifier: output SQNR >= 30 dB with >= 80 % of the
    multiply-accumulates in integer; the written model gives the same figure to tflgen verify."""
    model = tmp_path / "kept.tflite"
    converted = run_cli("convert", "--example", "classification", "-q", "int8", "--keep-accuracy", "30dB",
                        "--images", _held_out("classification"), "-o", model, "--report", tmp_path / "report")
    assert converted.code == 0, converted.err
    kept = json.loads((tmp_path / "report" / "report.json").read_text())["keep_accuracy"]
    assert kept["plain_int8"]["sqnr_db"] < 30, "plain int8 must miss the target for this to test anything"
    assert kept["reached"] and kept["chosen"]["sqnr_db"] >= 30 and kept["integer_mac_share"] >= 0.8
    assert kept["size_ratio_vs_plain_int8"] <= 1.3
    assert kept["fitted_ranges"]["shrunk"] > 0 and kept["trials"][0]["lever"] == "fitted ranges"
    assert kept["input_grid"]["applied"], "plain int8 and every trial are on the exact input grid"
    assert kept["lever"] in ("fitted ranges", "int16"), "int16 activations come before float layers"
    assert all(layer["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") for layer in kept["float_layers"])
    info = json.loads(run_cli("inspect", model, "--json").out)
    assert info["inputs"][0]["dtype"] == "uint8" and info["outputs"][0]["dtype"] == "uint8" and not info["float_ops"]
    # The exact input grid: the uint8 input is the pixel itself, the normalization is recorded as folded in
    assert info["inputs"][0]["zero_point"] == 128 and info["inputs"][0]["scale"] == pytest.approx(1 / 127.5)
    assert info["folded_normalization"] == {"mean": [127.5] * 3, "std": [127.5] * 3}
    verified = run_cli("verify", "--example", "classification", model, "--threads", 1, "--report", tmp_path / "verify")
    assert verified.code == 0, verified.out + verified.err
    report = json.loads((tmp_path / "verify" / "report.json").read_text())
    assert report["quantization"]["sqnr_db"] == pytest.approx(kept["chosen"]["sqnr_db"])


def test_keep_accuracy_on_an_ssd_with_the_post_process_op(tmp_path):
    """Fitted ranges on a detector: the box and score ranges that feed TFLite_Detection_PostProcess
    keep min/max, the op stays, its outputs stay float, and the SQNR of matched detections rises."""
    model = tmp_path / "kept.tflite"
    converted = run_cli("convert", "--example", "detection", "-q", "int8", "--keep-accuracy", "40dB",
                        "--images", _held_out("detection"), "-o", model, "--report", tmp_path / "report")
    assert converted.code == 0, converted.err
    kept = json.loads((tmp_path / "report" / "report.json").read_text())["keep_accuracy"]
    assert kept["plain_int8"]["sqnr_db"] < 40 <= kept["chosen"]["sqnr_db"]
    info = json.loads(run_cli("inspect", model, "--json").out)
    assert "TFLite_Detection_PostProcess" in json.dumps(info["ops"])
    assert {o["dtype"] for o in info["outputs"]} == {"float32"} and info["inputs"][0]["dtype"] == "uint8"
