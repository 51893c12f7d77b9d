"""Rendering: template conventions, packages, refusing and updating output folders, Kotlin literals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflgen.errors import OptionError, OutputError
from tflgen.reference import Normalization
from tflgen.render import (
    COMMON_TEMPLATES, TASK_TEMPLATES, ProjectOptions, check_expressible, kotlin_float, kotlin_string, output_path,
    render_files, render_project, templates_root, validate_app_name, validate_package,
)
from tflgen.spec import ColorOrder, InputSpec, ModelSpec, OutputSpec, Quantization, ResizeMode, Role, Task

NORM = Normalization((127.5,) * 3, (127.5,) * 3)
OPTIONS = ProjectOptions("com.example.app", "My App")


def _spec(task: Task = Task.SEGMENTATION, output_dtype: str = "float32", input_dtype: str = "float32") -> ModelSpec:
    quantization = Quantization(0.0078125, 128) if input_dtype != "float32" else None
    image = InputSpec("image", 64, 64, 3, input_dtype, quantization, ColorOrder.RGB, NORM, ResizeMode.LETTERBOX)
    outputs = {
        Task.SEGMENTATION: (OutputSpec("mask", 0, Role.MASK, (1, 64, 64, 4), output_dtype, None),),
        Task.CLASSIFICATION: (OutputSpec("logits", 0, Role.LOGITS, (1, 3), output_dtype, None),),
        Task.DETECTION: tuple(OutputSpec(r.value, i, r, (1, 10), "float32", None) for i, r in enumerate((Role.SCORES, Role.BOXES, Role.COUNT, Role.CLASSES))),
    }[task]
    return ModelSpec(task, image, outputs, ("a", "b", "c", "d"), 0, 4)


def test_every_template_is_used_and_every_listed_template_exists():
    root = templates_root()
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    listed = set(COMMON_TEMPLATES).union(*TASK_TEMPLATES.values())
    assert on_disk == listed


def test_templates_ship_in_the_package():
    """generator/tflgen/templates links to templates/, so setuptools puts them into the wheel."""
    import tflgen

    packaged = Path(tflgen.__file__).parent / "templates"
    assert packaged.resolve() == (Path(__file__).parent.parent / "templates").resolve()
    assert templates_root() == packaged


def test_output_paths():
    assert output_path("processing/src/main/kotlin/__package__/processing/Spec.kt.jinja", "com.example.app") == \
        "processing/src/main/kotlin/com/example/app/processing/Spec.kt"
    assert output_path("dot-gitignore", "a") == ".gitignore"
    assert output_path("gradle/wrapper/gradle-wrapper.properties", "a") == "gradle/wrapper/gradle-wrapper.properties"


def test_each_task_gets_its_own_files():
    names = {task: {Path(p).name for p in render_files(_spec(task), OPTIONS)} for task in Task}
    assert "Detection.kt" in names[Task.DETECTION] and "Segmentation.kt" not in names[Task.DETECTION]
    assert "Segmentation.kt" in names[Task.SEGMENTATION] and "Classification.kt" not in names[Task.SEGMENTATION]
    assert all({"ModelSpec.kt", "Preprocess.kt", "GoldenTest.kt", ".gitignore", "settings.gradle.kts"} <= n for n in names.values())


@pytest.mark.parametrize("package", ["", "com..app", "com.2app", "com.example.class", "com.example.fun", "com.ex-ample", "com.é"])
def test_bad_packages(package):
    with pytest.raises(OptionError) as caught:
        validate_package(package)
    assert "--package" in caught.value.message and caught.value.hint


@pytest.mark.parametrize("package", ["app", "com.example.my_app", "org.tflgen.Detector2", "_x.y"])
def test_good_packages(package):
    validate_package(package)


@pytest.mark.parametrize("name", ["", " ", "a/b", 'say "x"', "x:y", ".hidden", "tail.", " padded"])
def test_bad_app_names(name):
    with pytest.raises(OptionError, match="--app-name"):
        validate_app_name(name)


def test_good_app_names():
    for name in ("My Detector", "détecteur-2", "app_1"):
        validate_app_name(name)


def test_specs_the_kotlin_cannot_express():
    with pytest.raises(OptionError, match="int16"):
        check_expressible(_spec(output_dtype="int16"))
    with pytest.raises(OptionError, match="input is int16"):
        check_expressible(_spec(input_dtype="int16"))
    no_count = _spec(Task.DETECTION)
    from dataclasses import replace

    with pytest.raises(OptionError, match="TFLite_Detection_PostProcess"):
        check_expressible(replace(no_count, outputs=no_count.outputs[:3]))


def test_kotlin_literals():
    assert kotlin_string('a "b" $c \\d\n') == '"a \\"b\\" \\$c \\\\d\\n"'
    assert kotlin_string("étoile ⭐") == '"étoile ⭐"'
    assert kotlin_float(127.5) == "127.5f" and kotlin_float(1.0) == "1.0f" and kotlin_float(0.00390625) == "0.00390625f"
    for value in np.random.default_rng(1).standard_normal(500).astype(np.float32) * np.float32(100):
        assert np.float32(kotlin_float(float(value))[:-1]) == value


def test_model_spec_literals():
    spec = _spec(Task.CLASSIFICATION, output_dtype="uint8", input_dtype="uint8")
    text = next(v for k, v in render_files(spec, OPTIONS).items() if k.endswith("ModelSpec.kt")).decode()
    assert "package com.example.app.processing" in text
    assert "quantization = Quantization(scale = 0.0078125f, zeroPoint = 128)" in text
    assert "mean = floatArrayOf(127.5f, 127.5f, 127.5f)" in text and "resize = ResizeMode.LETTERBOX" in text
    assert "role = Role.LOGITS" in text and "type = TensorType.UINT8" in text and '"d",' in text


def test_output_folder_rules(tmp_path):
    spec = _spec()
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        render_project(spec, file, OPTIONS)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty") as caught:
        render_project(spec, busy, OPTIONS)
    assert "--force" in caught.value.hint and sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    with pytest.raises(OutputError, match="does not exist"):
        render_project(spec, tmp_path / "missing" / "project", OPTIONS)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = render_project(spec, empty, OPTIONS)
    assert (empty / "settings.gradle.kts").is_file() and len(result.files) == len(render_files(spec, OPTIONS))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "empty", "file"]  # nothing staged left


def test_force_replaces_generated_files_and_keeps_the_rest(tmp_path):
    from tflgen.golden import GOLDEN_DIR

    out = tmp_path / "project"
    render_project(_spec(), out, OPTIONS, {f"{GOLDEN_DIR}/cases.txt": b"old\n", f"{GOLDEN_DIR}/old/input.bin": b"1"})
    (out / "notes.txt").write_text("mine")
    settings = out / "settings.gradle.kts"
    settings.write_text("edited")
    render_project(_spec(), out, ProjectOptions("com.example.app", "Renamed"), {f"{GOLDEN_DIR}/cases.txt": b"new\n"}, force=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert 'rootProject.name = "Renamed"' in settings.read_text()
    assert (out / GOLDEN_DIR / "cases.txt").read_bytes() == b"new\n"
    assert not (out / GOLDEN_DIR / "old").exists()  # the golden folder is tflgen's: replaced whole


def test_an_update_deletes_what_an_earlier_tflgen_generated_and_this_one_moved(tmp_path):
    """The golden-case code moved from processing's tests to its test fixtures: an old copy left in
    src/test would redeclare it, so `--force` deletes it (and nothing else of the user's)."""
    from tflgen.render import RETIRED_TEMPLATES, output_path

    out = tmp_path / "project"
    render_project(_spec(), out, OPTIONS)
    stale = [out / output_path(t, OPTIONS.package) for t in RETIRED_TEMPLATES]
    for path in stale:
        path.write_text("class GoldenCase")
    (out / "processing/src/test/kotlin/Mine.kt").write_text("mine")
    render_project(_spec(), out, OPTIONS, force=True)
    assert [p for p in stale if p.exists()] == []
    assert (out / "processing/src/test/kotlin/Mine.kt").read_text() == "mine"
    fixtures = out / "processing/src/testFixtures/kotlin" / OPTIONS.package.replace(".", "/") / "processing"
    assert (fixtures / "GoldenCase.kt").is_file()


def test_extra_files_may_not_shadow_templates(tmp_path):
    with pytest.raises(ValueError, match="settings.gradle.kts"):
        render_project(_spec(), tmp_path / "p", OPTIONS, {"settings.gradle.kts": b""})
    assert not (tmp_path / "p").exists()


def test_the_device_tests_decided_roles_are_the_goldens():
    """The outputs the device test compares as results (OutputCheck.kt) are those golden.py gives no element tolerance to check."""
    import re

    from tflgen.golden import DECIDED_ROLES
    from tflgen.render import templates_root

    check = (templates_root() / "processing/src/testFixtures/kotlin/__package__/processing/OutputCheck.kt.jinja").read_text()
    roles = re.search(r"val DECIDED_ROLES = setOf\(([^)]*)\)", check)[1]
    assert {name.strip().removeprefix("Role.").lower() for name in roles.split(",")} == {role.value for role in DECIDED_ROLES}
