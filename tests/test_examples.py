"""The built-in examples: shipped whole and small, converted with every recipe within their own
budgets, and the README's quality table what quality.json says. Their apps: test_example_apps.py;
`--keep-accuracy` on them: test_example_keep_accuracy.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import run_cli
from tflgen.examples import EXAMPLES, get_example

REPO = Path(__file__).resolve().parent.parent
RECIPES = ("float32", "float16", "dynamic", "int8")
TARGETS = {"classification": ("accuracy", 0.95), "detection": ("mAP@0.5", 0.8), "segmentation": ("mIoU", 0.8)}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_ship_whole_small_and_good_enough(name):
    example = get_example(name)
    assert example.is_built()
    assert example.source_path.stat().st_size < 5_000_000
    assert len(list(example.images_path.glob("*.png"))) >= 3
    labels = example.read_labels()
    assert labels[-4:] == ("circle", "square", "triangle", "star")
    quality = json.loads(example.quality_path.read_text())
    metric, target = TARGETS[example.task]
    assert quality["float"][metric] >= target and quality["int8"][metric] >= target


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_recipe_converts_and_stays_within_the_examples_budget(name, tmp_path):
    """Every recipe of `tflgen convert --example NAME` (its int8: uint8 IO, the example's calibration
    images) against the example's own budget, on its 100 held-out images: `--quantize auto` converts
    and verifies all four against one loaded source, and reports each one's drop."""
    converted = run_cli("convert", "--example", name, "-q", "auto", "--images", _held_out(name), "--max-drop", 1,
                        "-o", tmp_path / "model.tflite", "--report", tmp_path / "report")
    assert converted.code == 0, converted.err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["images"] == 100
    candidates = {c["recipe"]: c for c in report["candidates"]}
    assert list(candidates) == list(RECIPES)
    budget = get_example(name).max_drop
    for recipe, candidate in candidates.items():
        assert "failure" not in candidate, candidate
        assert candidate["drop"] <= budget[recipe], f"{name} {recipe}: drop {candidate['drop']:.4f} > {budget[recipe]}"
    assert candidates["int8"]["size_bytes"] < candidates["float16"]["size_bytes"] < candidates["float32"]["size_bytes"]


def _readme_quality() -> dict[str, dict[str, float]]:
    """The README's quality table: example -> {float, int8} figures."""
    text = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([\w@.()]+(?: \([^)]*\))?) \| ([\d.]+) \| ([\d.]+) \|", text, re.M)
    return {name: {"metric": metric, "float": float(f), "int8": float(i)} for name, metric, f, i in rows}


def test_readme_quality_table_is_quality_json():
    table = _readme_quality()
    assert set(table) == set(EXAMPLES)
    for name, row in table.items():
        quality = json.loads(get_example(name).quality_path.read_text())
        metric = TARGETS[get_example(name).task][0]
        assert row["metric"] == metric
        assert row["float"] == round(quality["float"][metric], 3) and row["int8"] == round(quality["int8"][metric], 3)


def test_unknown_example_and_no_model_are_bad_input(tmp_path):
    from test_cli_errors import assert_bad_input

    assert_bad_input(run_cli("app", "--example", "faces", "--out", tmp_path / "x"), "--example", "faces")
    assert_bad_input(run_cli("convert", "--example", "faces", "-o", tmp_path / "x.tflite"), "--example")
    assert_bad_input(run_cli("app", "--out", tmp_path / "y", "--quantize", "int8"), "no model given")
    assert_bad_input(run_cli("verify", "--example", "detection", "--images", tmp_path), "no .tflite given")
    assert_bad_input(run_cli("app", "--example", "detection"), "--out")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.slow
def test_a_float_recipe_drops_the_examples_int8_settings(tmp_path):
    """--example supplies uint8 IO and calibration for int8; asking for float16 must not trip on them."""
    model = tmp_path / "f16.tflite"
    result = run_cli("convert", "--example", "classification", "-q", "float16", "-o", model)
    assert result.code == 0, result.err
    assert "calibration" not in result.err.lower()
    from tflgen.tflite_info import read_model

    info = read_model(model.read_bytes(), str(model))
    assert info.inputs[0].dtype == "float32" and dict(info.weight_bytes).get("float16", 0) > 0


def _held_out(name: str) -> Path:
    from tflgen.examples.defaults import example, generated_images

    return generated_images(example(name), "held-out")
