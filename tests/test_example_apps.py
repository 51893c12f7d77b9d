"""`tflgen app --example NAME` for every example: its golden tests pass on the JVM, the project
records the example rather than its files, android_sample/ equals a fresh render, and the int8
model in each project gives the README's quality figures."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from drift import tree_differences
from helpers import run_cli
from test_examples import REPO, TARGETS, _readme_quality
from tflgen.examples import EXAMPLES, SEEDS, get_example

SAMPLE = REPO / "android_sample"
# Every test here reads the rendered apps (about a minute to make).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example_apps(tmp_path_factory) -> dict[str, Path]:
    """`tflgen app --example NAME --out .../android_sample` for every example (the detection one is
    rendered exactly as android_sample/ was)."""
    apps = {}
    for name in EXAMPLES:
        out = tmp_path_factory.mktemp(name) / "android_sample"
        result = run_cli("app", "--example", name, "--out", out)
        assert result.code == 0, result.err
        assert "Verified against the source on 50 images" in result.out
        apps[name] = out
    return apps


def test_example_apps_golden_tests_pass_on_the_jvm(example_apps, toolchain, tmp_path):
    sources = sorted(p for out in example_apps.values() for p in (out / "processing" / "src").rglob("*.kt"))
    classes = tmp_path / "classes"
    compiled = toolchain.compile(sources, classes)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    for name, out in example_apps.items():
        package = tomllib.loads((out / "tflgen.toml").read_text())["tflgen"]["app"].get("package", f"com.example.shapes.{name}")
        folders = [out / "processing/src/test/resources", out / "processing/src/main/resources"]
        run = toolchain.run_junit(classes, folders, f"{package}.processing.GoldenTest")
        assert run.code == 0 and run.failures == 0 and run.run >= 3, run.output
        assert len((out / "processing/src/test/resources/golden/cases.txt").read_text().split()) == 3


def test_example_projects_record_the_example_not_its_files(example_apps):
    for name, out in example_apps.items():
        recorded = tomllib.loads((out / "tflgen.toml").read_text())["tflgen"]["app"]
        assert recorded["example"] == name
        assert not {"source", "labels", "calibration", "images", "ssd_anchors", "mean", "std"} & set(recorded)
        readme = (out / "README.md").read_text()
        assert f"tflgen's built-in example `{name}`" in readme
        assert "site-packages" not in readme and str(REPO) not in (out / "verification" / "report.json").read_text()


def test_android_sample_is_a_fresh_render_of_the_detection_example(example_apps):
    """android_sample/ never drifts from the templates: re-rendering it gives the same files, byte for
    byte for everything the templates decide, and within the tolerances of tests/drift.py for what the
    CPU's float kernels decide through calibration (the int8 model, LiteRT's golden outputs, the
    verification figures). (Regenerate it with `tflgen app --config android_sample/tflgen.toml`.)"""
    assert tree_differences(SAMPLE, example_apps["detection"]) == {}


def test_the_drift_check_catches_a_template_change_and_a_wrong_figure(example_apps, tmp_path):
    """The tolerant comparison above still fails on what matters: one changed byte in a template-decided
    file, a verification figure off by more than its tolerance, a golden output off by a step too many."""
    import shutil

    fresh = example_apps["detection"]
    assert tree_differences(fresh, fresh) == {}
    changed = tmp_path / "changed"
    shutil.copytree(fresh, changed)
    manifest = changed / "app/src/main/AndroidManifest.xml"
    manifest.write_text(manifest.read_text().replace("CAMERA", "CAMERa", 1))
    report = changed / "verification/report.md"
    report.write_text(re.sub(r"\| detection F1 at IoU 0\.5 \| ([\d.]+)", lambda m: f"| detection F1 at IoU 0.5 | {float(m[1]) - 0.1:.4f}",
                             report.read_text(), count=1))
    boxes = next(changed.glob("processing/src/test/resources/golden/*/output_2.bin"))
    values = np.fromfile(boxes, "<f4")
    values[0] += 0.05
    values.tofile(boxes)
    differences = tree_differences(fresh, changed)
    assert set(differences) == {"app/src/main/AndroidManifest.xml", "verification/report.md", boxes.relative_to(changed).as_posix()}


SUBSET = {"classification": 120, "detection": 60, "segmentation": 40}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_readme_quality_is_what_the_evaluation_computes(name, example_apps):
    """Recomputed on the first held-out images (the same generator, seed and evaluation function as
    the script), the float model and the int8 model in the project are within 0.05 of the README."""
    import keras

    from tflgen.examples import quality, shapes

    example = get_example(name)
    count, seed = SUBSET[name], SEEDS[name]["held_out"]
    data = {"classification": shapes.classification_images, "detection": shapes.detection_images,
            "segmentation": shapes.segmentation_images}[example.task](count, seed)
    metric = TARGETS[example.task][0]
    row = _readme_quality()[name]
    model = keras.saving.load_model(example.source_path, compile=False)
    float_figure = quality.evaluate_keras(example, model, data)[metric]
    int8 = (example_apps[name] / "app/src/main/ml/model.tflite").read_bytes()
    int8_figure = quality.evaluate_tflite(example, int8, data)[metric]
    assert float_figure == pytest.approx(row["float"], abs=0.05)
    assert int8_figure == pytest.approx(row["int8"], abs=0.05)
