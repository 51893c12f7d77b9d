"""`tflgen app`: convert -> metadata -> golden vectors -> project, and the project's own golden tests pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import models
from helpers import run_cli
from kotlin_toolchain import INSTALL_HINT, find_toolchain
from test_cli_errors import assert_bad_input


NORM = ("--mean", "127.5", "--std", "127.5")


@pytest.fixture(scope="module")
def raw_ssd(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    np.save(folder / "anchors.npy", models.ssd_grid_anchors())
    (folder / "labels.txt").write_text("background\nred\ngreen\nblue\nyellow\npurple\n")
    return models.raw_ssd_saved_model(folder / "raw_ssd"), folder


def test_app_from_a_raw_ssd_whose_labels_say_it_has_no_background_column(raw_ssd, images, tmp_path):
    """Six labels for six score columns: the appended op counts six classes (its label offset 0), and
    the metadata and the app name all six."""
    from tflgen.metadata import spec_from_model
    from tflgen.tflite_info import read_model

    source, folder = raw_ssd
    labels = tmp_path / "labels.txt"
    labels.write_text("teal\nred\ngreen\nblue\nyellow\npurple\n")
    out = tmp_path / "NoBackground"
    result = run_cli("app", source, "--out", out, "--images", images, *NORM, "--ssd-anchors", folder / "anchors.npy", "--labels", labels)
    assert result.code == 0, result.err
    model = (out / "app/src/main/ml/model.tflite").read_bytes()
    assert read_model(model, "model").detection["num_classes"] == 6
    assert spec_from_model(model).class_labels() == ("teal", "red", "green", "blue", "yellow", "purple")
    wrong = tmp_path / "seven.txt"
    wrong.write_text("teal\nred\ngreen\nblue\nyellow\npurple\npink\n")
    refused = run_cli("app", source, "--out", tmp_path / "Seven", "--images", images, *NORM, "--ssd-anchors", folder / "anchors.npy",
                      "--labels", wrong)
    assert_bad_input(refused, "7 labels for class scores with 6 columns", out=tmp_path / "Seven")


@pytest.mark.slow
def test_app_from_a_raw_ssd_builds_a_project_whose_golden_tests_pass(raw_ssd, images, tmp_path):
    source, folder = raw_ssd
    out = tmp_path / "MyDetector"
    result = run_cli("app", source, "--out", out, "--package", "com.example.detector", "--app-name", "MyDetector",
                     "-q", "int8", "--io-type", "uint8", "--calibration", images, "--calibration-count", 16, *NORM,
                     "--ssd-anchors", folder / "anchors.npy", "--score-threshold", 0.3,
                     "--labels", folder / "labels.txt", "--label-offset", 1)
    assert result.code == 0, result.err
    assert "Project written to" in result.out
    model = (out / "app/src/main/ml/model.tflite").read_bytes()
    from tflgen.metadata import spec_from_model

    spec = spec_from_model(model)  # the model in the project carries its metadata
    assert spec.task.value == "detection" and spec.class_labels() == ("red", "green", "blue", "yellow", "purple")
    cases = (out / "processing/src/test/resources/golden/cases.txt").read_text().split()
    assert len(cases) == 3
    expected = json.loads((out / f"processing/src/test/resources/golden/{cases[0]}/expected.json").read_text())
    assert expected
    toml = (out / "tflgen.toml").read_text()
    assert 'package = "com.example.detector"' in toml and 'task = "detection"' in toml
    assert not list(out.rglob("*android*.kt"))

    toolchain = find_toolchain()
    if toolchain is None:
        pytest.fail(f"kotlinc, java or JUnit 4 not found: {INSTALL_HINT}")
    sources = sorted((out / "processing/src").rglob("*.kt"))
    classes = tmp_path / "classes"
    compiled = toolchain.compile(sources, classes)
    assert compiled.returncode == 0, compiled.stderr
    run = toolchain.run_junit(classes, out / "processing/src/test/resources", "com.example.detector.processing.GoldenTest")
    assert run.code == 0 and run.failures == 0 and run.run > 0, run.output


@pytest.fixture(scope="module")
def raw_tflite(raw_ssd, tmp_path_factory) -> Path:
    """The raw SSD converted without --ssd-anchors: a .tflite without TFLite_Detection_PostProcess."""
    source, _ = raw_ssd
    out = tmp_path_factory.mktemp("raw_tflite") / "raw.tflite"
    result = run_cli("convert", source, "-o", out)
    assert result.code == 0, result.err
    return out


@pytest.mark.slow
def test_app_from_a_raw_ssd_tflite_decodes_in_kotlin(raw_ssd, raw_tflite, images, tmp_path):
    """`tflgen app raw.tflite --ssd-anchors`: the model stays raw, the project decodes it (Kotlin
    decode + NMS with the anchors shipped as a resource) and its golden tests pass on the JVM."""
    from tflgen.metadata import spec_from_model
    from tflgen.spec import ANCHORS_FILE, SsdSpec, spec_from_toml
    from tflgen.tflite_info import read_model

    _, folder = raw_ssd
    out = tmp_path / "RawDetector"
    result = run_cli("app", raw_tflite, "--out", out, "--package", "com.example.raw", "--images", images, *NORM,
                     "--ssd-anchors", folder / "anchors.npy", "--max-detections", 20, "--iou-threshold", 0.4,
                     "--labels", folder / "labels.txt", "--label-offset", 1)
    assert result.code == 0, result.err
    model = (out / "app/src/main/ml/model.tflite").read_bytes()
    assert read_model(model, "model").custom_ops == ()  # no op appended: the app decodes
    spec = spec_from_toml((out / "tflgen.toml").read_text())
    assert spec.raw_detection and spec.ssd == SsdSpec(64, (10.0, 10.0, 5.0, 5.0), 20, 1e-8, 0.4, ANCHORS_FILE)
    anchors = out / "processing/src/main/resources/com/example/raw/processing" / ANCHORS_FILE
    assert anchors.read_bytes() == models.ssd_grid_anchors().astype("<f4").tobytes()
    assert "ssd_anchors = " in (out / "tflgen.toml").read_text()
    described = spec_from_model(model)  # the metadata describes the raw outputs and the labels
    assert described.raw_detection and described.class_labels() == ("red", "green", "blue", "yellow", "purple")
    model_spec = (out / "processing/src/main/kotlin/com/example/raw/processing/ModelSpec.kt").read_text()
    assert "val ssd: SsdSpec? = SsdSpec(anchorCount = 64," in model_spec
    golden = out / "processing/src/test/resources/golden"
    cases = (golden / "cases.txt").read_text().split()
    assert sum(len(json.loads((golden / c / "expected.json").read_text())["results"]) for c in cases) > 0

    toolchain = find_toolchain()
    if toolchain is None:
        pytest.fail(f"kotlinc, java or JUnit 4 not found: {INSTALL_HINT}")
    classes = tmp_path / "classes"
    compiled = toolchain.compile(sorted((out / "processing/src").rglob("*.kt")), classes)
    assert compiled.returncode == 0, compiled.stderr
    resources = (out / "processing/src/test/resources", out / "processing/src/main/resources")
    run = toolchain.run_junit(classes, resources, "com.example.raw.processing.GoldenTest")
    assert run.code == 0 and run.failures == 0 and run.run == 4 * len(cases), run.output


def test_app_raw_ssd_tflite_bad_input(raw_ssd, raw_tflite, images, tmp_path):
    _, folder = raw_ssd
    out = tmp_path / "App"
    result = run_cli("app", raw_tflite, "--out", out, "--images", images, *NORM, "--task", "detection")
    assert_bad_input(result, "raw SSD", "anchors are unknown")
    assert "--ssd-anchors" in result.err
    np.save(tmp_path / "short.npy", models.ssd_grid_anchors()[:60])
    assert_bad_input(run_cli("app", raw_tflite, "--out", out, "--images", images, *NORM, "--ssd-anchors", tmp_path / "short.npy"), "--ssd-anchors", "60", "64")
    assert_bad_input(run_cli("app", raw_tflite, "--out", out, "--images", images, *NORM, "--ssd-anchors", folder / "anchors.npy",
                             "-q", "int8", "--calibration", images), "already a .tflite")
    assert not out.exists()


def test_app_force_updates_generated_files_only(tiny, images, tmp_path):
    out = tmp_path / "App"
    args = ("app", tiny[1], "--out", out, "--images", images, *NORM)
    assert run_cli(*args).code == 0
    mine = out / "notes.md"
    mine.write_text("my notes")
    (out / "processing/README.md").write_text("edited")
    assert_bad_input(run_cli(*args), "--out", "not empty")
    assert run_cli(*args, "--force").code == 0
    assert mine.read_text() == "my notes"
    assert (out / "processing/README.md").read_text() != "edited"


@pytest.mark.parametrize("package", ["com.example.class", "com.1example", "com..example", "com.example-app"])
def test_app_invalid_package(tiny, images, tmp_path, package):
    out = tmp_path / "App"
    assert_bad_input(run_cli("app", tiny[1], "--out", out, "--images", images, *NORM, "--package", package), "--package")
    assert not out.exists()


def test_app_out_is_a_file(tiny, images, tmp_path):
    out = tmp_path / "App"
    out.write_text("x")
    assert_bad_input(run_cli("app", tiny[1], "--out", out, "--images", images, *NORM), "--out")


def test_app_needs_golden_images(tiny, tmp_path):
    out = tmp_path / "App"
    assert_bad_input(run_cli("app", tiny[1], "--out", out, *NORM), "--images")
    assert not out.exists()


def test_app_spec_the_kotlin_side_cannot_express(images, tmp_path):
    """More labels than ModelSpec.kt can hold: refused before anything is written."""
    import keras

    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(6000, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "wide.keras")
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"c{i}\n" for i in range(6000)))
    out = tmp_path / "App"
    assert_bad_input(run_cli("app", tmp_path / "wide.keras", "--out", out, "--images", images, *NORM, "--labels", labels), "labels")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def classifier_app(tiny, images, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("classifier") / "MyClassifier"
    result = run_cli("app", tiny[1], "--out", out, "--app-name", "My Classifier", "-q", "int8", "--io-type", "uint8",
                     "--calibration", images, "--calibration-count", 16, *NORM, "--resize", "center-crop")
    assert result.code == 0, result.err
    assert "Verified against the source on" in result.out
    assert result.err.count("Loading ") == 1, result.err  # converted and verified against one loaded source
    return out


@pytest.mark.slow
def test_the_model_in_ml_is_the_verified_one_and_the_golden_outputs_are_its_own(classifier_app, tiny, images, tmp_path):
    """The project's model gave the golden outputs (LiteRT on the golden inputs, bit for bit), and
    tflgen verify of that very file against the source gives the figures the README states."""
    from ai_edge_litert.interpreter import Interpreter

    model = classifier_app / "app/src/main/ml/model.tflite"
    interpreter = Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    (inp,), outs = interpreter.get_input_details(), interpreter.get_output_details()
    golden = classifier_app / "processing/src/test/resources/golden"
    for case in (golden / "cases.txt").read_text().split():
        tensor = np.frombuffer((golden / case / "input.bin").read_bytes(), dtype=inp["dtype"]).reshape(inp["shape"])
        interpreter.set_tensor(inp["index"], tensor)
        interpreter.invoke()
        for i, out in enumerate(outs):
            expected = (golden / case / f"output_{i}.bin").read_bytes()
            assert interpreter.get_tensor(out["index"]).astype(out["dtype"]).tobytes() == expected
    report = json.loads((classifier_app / "verification/report.json").read_text())
    assert report["settings"]["model"] == "app/src/main/ml/model.tflite"
    assert report["size"]["bytes"] == model.stat().st_size and report["latency"] == []
    verified = run_cli("verify", tiny[1], model, "--images", images, "--count", report["images"], "--report", tmp_path / "again",
                       "--threads", 1, "--resize", "center-crop")
    assert verified.code == 0, verified.err
    again = json.loads((tmp_path / "again/report.json").read_text())
    assert again["metrics"] == report["metrics"] and again["images"] == report["images"]
    readme = (classifier_app / "README.md").read_text()
    assert f"| {report['headline']['metric']} | {report['headline']['agreement']:.4f} " in readme
    assert f"{model.stat().st_size:,} bytes" in readme


@pytest.mark.slow
def test_config_regenerates_the_same_project_from_anywhere(classifier_app, tmp_path, monkeypatch):
    before = _tree(classifier_app)
    (classifier_app / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    result = run_cli("app", "--config", classifier_app / "tflgen.toml")
    assert result.code == 0, result.err
    after = _tree(classifier_app)
    assert after.pop("notes.txt") == b"mine"
    assert sorted(set(after) ^ set(before)) == []
    assert [path for path in before if before[path] != after[path]] == []
    # Options given beside --config win; --out makes a new project.
    other = tmp_path / "Other"
    result = run_cli("app", "--config", classifier_app / "tflgen.toml", "--out", other, "--app-name", "Other")
    assert result.code == 0, result.err
    assert 'app_name = "Other"' in (other / "tflgen.toml").read_text()
    assert (other / "app/src/main/ml/model.tflite").read_bytes() == before["app/src/main/ml/model.tflite"]


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("[tflgen.app\nsource = 1", "is not valid TOML"),
    ("[other]\nx = 1\n", "has no [tflgen.app] table"),
    ('[tflgen.app]\nsource = "m.keras"\nqantize = "int8"\n', "unknown setting(s) qantize"),
])
def test_bad_config(tmp_path, content, message):
    config = tmp_path / "tflgen.toml"
    if content is not None:
        config.write_text(content)
    result = run_cli("app", "--config", config)
    assert_bad_input(result, "--config", message)
