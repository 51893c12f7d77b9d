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
TOLERANCE_IMAGES = 6
REFERENCE_KERNEL_IMAGES = 2  # LiteRT's reference kernels are naive loops: seconds per image
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
    """Every recipe with the settings `tflgen convert --example NAME` uses (int8: uint8 IO, the example's
    calibration images), verified on its 100 held-out images within the example's own budget. Through
    the library, on one loaded source whose answers are computed once (`Session`). Then the golden cases'
    device tolerances are held against the float16 and the reference-kernel runs of these conversions."""
    from tflgen.console import Reporter
    from tflgen.examples.defaults import CALIBRATION_COUNT, generated_images
    from tflgen.pipeline import ConvertOptions, Session, VerifyOptions, convert_model, verify_model
    from tflgen.recipes import IoType, Recipe
    from tflgen.sources import GraphFlags
    from tflgen.geometry import preprocess
    from tflgen.images import load_image
    from tflgen.spec import SpecOptions, Task, build_spec
    from tflgen.ssd import SsdOptions
    from tflgen.tflite_info import read_model
    from tolerance_checks import float16_problems, reference_kernel_problems

    example, reporter = get_example(name), Reporter()
    session = Session(example.source_path, GraphFlags(), reporter)
    ssd = SsdOptions(example.anchors_path, example.scales_option) if example.anchors_path else None
    spec = SpecOptions(task=Task(example.task), labels=example.read_labels(), preprocessing=example.preprocessing)
    sizes = {}
    for recipe in RECIPES:
        out = tmp_path / f"{recipe}.tflite"
        int8 = recipe == "int8"
        convert_model(ConvertOptions(example.source_path, out, recipe=Recipe(recipe), io_type=IoType.UINT8 if int8 else None,
                                     calibration=generated_images(example, "calibration") if int8 else None, calibration_count=CALIBRATION_COUNT,
                                     preprocessing=example.preprocessing, ssd=ssd), reporter, session)
        v = verify_model(VerifyOptions(example.source_path, out, _held_out(name), spec, latency=False), reporter, session=session).verification
        assert v.images == 100 and v.recipe == recipe
        assert v.drop <= example.max_drop[recipe], f"{name} {recipe}: drop {v.drop:.4f} > {example.max_drop[recipe]}"
        sizes[recipe] = v.size_bytes
    assert sizes["int8"] < sizes["float16"] < sizes["float32"]
    # The device tolerances of the golden cases (tolerance_checks.py), on these very conversions.
    float32, float16 = (tmp_path / "float32.tflite").read_bytes(), (tmp_path / "float16.tflite").read_bytes()
    model_spec = build_spec(read_model(float32, "float32.tflite"), spec)
    tensors = [preprocess(load_image(path, 3), model_spec.input)[0] for path in sorted(_held_out(name).glob("*.png"))[:TOLERANCE_IMAGES]]
    assert float16_problems(model_spec, float32, float16, tensors) == []
    assert reference_kernel_problems(model_spec, float32, tensors[:REFERENCE_KERNEL_IMAGES]) == []


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
