"""The Android side of the rendered project, checked as far as these machines can (no Google Maven,
so no Gradle build): Kotlin parses, XML is well-formed, every name the build and the code refer to
exists, versions have sources, and the app's plain-Kotlin parts compile and pass their tests."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from tflgen.reference import Normalization
from android_contract import CONTRACTS
from tflgen.render import ProjectFacts, ProjectOptions, catalog_versions, render_files
from tflgen.spec import ColorOrder, InputSpec, ModelSpec, OutputSpec, Quantization, ResizeMode, Role, SsdSpec, Task


ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
NORM = Normalization((127.5,) * 3, (127.5,) * 3)
PURE_APP_FILES = {"ViewTransform.kt", "Frame.kt", "FrameRate.kt", "InferenceSettings.kt", "EngineHealth.kt", "UprightFrames.kt",
                  "ExifTurn.kt"}


def _image(dtype: str) -> InputSpec:
    quantization = Quantization(0.0078125, 128) if dtype != "float32" else None
    return InputSpec("image", 96, 96, 3, dtype, quantization, ColorOrder.RGB, NORM, ResizeMode.LETTERBOX)


def _specs() -> dict[str, tuple[ModelSpec, ProjectOptions, np.ndarray | None]]:
    q = Quantization(0.00390625, 0)
    detection = tuple(
        OutputSpec(f"out{i}", i, role, shape, "float32", None)
        for i, (role, shape) in enumerate(((Role.SCORES, (1, 10)), (Role.BOXES, (1, 10, 4)), (Role.COUNT, (1,)), (Role.CLASSES, (1, 10))))
    )
    raw = (
        OutputSpec("encodings", 0, Role.BOX_ENCODINGS, (1, 8, 4), "uint8", q),
        OutputSpec("scores", 1, Role.CLASS_SCORES, (1, 8, 3), "uint8", q),
    )
    ssd = SsdSpec(anchor_count=8, scales=(10.0, 10.0, 5.0, 5.0), max_detections=5, score_threshold=0.3, iou_threshold=0.5)
    anchors = np.tile(np.array([[0.5, 0.5, 0.2, 0.2]], np.float32), (8, 1))
    return {
        "classification": (
            ModelSpec(Task.CLASSIFICATION, _image("uint8"), (OutputSpec("probs", 0, Role.PROBABILITIES, (1, 3), "uint8", q),), ("cat", "dog", "it's"), 0, 3),
            ProjectOptions("com.example.classify", "Tom's Classifier & Co"), None,
        ),
        "detection": (
            ModelSpec(Task.DETECTION, _image("float32"), detection, ("???", "circle", "square"), 1, 2),
            ProjectOptions("org.shapes.detector", "Shape Detector", facts=ProjectFacts(source="detector.keras", recipe="float32")), None,
        ),
        "raw-detection": (
            ModelSpec(Task.DETECTION, _image("uint8"), raw, ("circle", "square"), -1, 3, ssd),
            ProjectOptions("io.raw.ssd", "Raw SSD"), anchors,
        ),
        "segmentation": (
            ModelSpec(Task.SEGMENTATION, _image("int8"), (OutputSpec("mask", 0, Role.MASK, (1, 48, 48, 4), "int8", Quantization(0.1, -3)),),
                      ("background", "a", "b", "c"), 0, 4),
            ProjectOptions("com.example.seg", "@Segmenter"), None,
        ),
    }


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, tuple[Path, ProjectOptions]]:
    out = {}
    for name, (spec, options, anchors) in _specs().items():
        root = tmp_path_factory.mktemp(name)
        for path, content in render_files(spec, options, anchors).items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(content)
        out[name] = (root, options)
    return out


def _files(root: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(suffixes))


def _code(path: Path) -> str:
    """The file without // and /* */ comments (string contents kept)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(re.sub(r"(^|\s)//.*$", "", line) for line in text.splitlines())


NAMES = list(_specs())


@pytest.mark.parametrize("name", NAMES)
def test_every_kotlin_file_parses(projects, name):
    import tree_sitter_kotlin
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_kotlin.language()))
    root, _ = projects[name]
    files = _files(root, ".kt", ".kts")
    assert len(files) >= 30
    broken = []
    for path in files:
        source = path.read_bytes()
        tree = parser.parse(source)
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            if node.type == "ERROR" or node.is_missing:
                line = node.start_point[0] + 1
                broken.append(f"{path.relative_to(root)}:{line}: {source[node.start_byte:node.end_byte][:60]!r}")
            stack.extend(node.children)
    assert broken == []


def test_the_parser_catches_broken_kotlin():
    """The check above can fail: a missing brace and a stray token are errors."""
    import tree_sitter_kotlin
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_kotlin.language()))
    assert parser.parse(b"class A {\n  fun f() = 1\n").root_node.has_error
    assert parser.parse(b"val x = listOf(1, 2,, 3)\n").root_node.has_error
    assert not parser.parse(b"class A {\n  fun f() = 1\n}\n").root_node.has_error


@pytest.mark.parametrize("name", NAMES)
def test_kotlin_packages_match_their_folders(projects, name):
    root, options = projects[name]
    wrong = []
    for path in _files(root, ".kt"):
        folder = path.parent.relative_to(root).as_posix()
        package = re.search(r"^package ([\w.]+)", path.read_text(), re.M)[1]
        if not folder.endswith(package.replace(".", "/")) or not package.startswith(options.package):
            wrong.append(f"{path.relative_to(root)}: package {package}")
    assert wrong == []


@pytest.mark.parametrize("name", NAMES)
def test_every_xml_file_is_well_formed(projects, name):
    root, _ = projects[name]
    files = _files(root, ".xml")
    assert {p.name for p in files} >= {"AndroidManifest.xml", "activity_main.xml", "strings.xml", "themes.xml", "ic_launcher.xml"}
    for path in files:
        ElementTree.parse(path)  # raises on malformed XML


@pytest.mark.parametrize("name", NAMES)
def test_app_calls_no_buffer_method_android_9_lacks(projects, name):
    """The app compiles against compileSdk 36, where ByteBuffer.rewind() etc. return ByteBuffer (added in API 29):
    on its minSdk 26 they would throw NoSuchMethodError. It calls processing's rewindAsBuffer/clearAsBuffer instead
    (the processing module's bytecode is checked in test_kotlin)."""
    root, _ = projects[name]
    calls = re.compile(r"\.(rewind|flip|clear|mark)\(\)|\.(position|limit)\(\w")
    assert [f"{p.name}: {m[0]}" for p in _files(root / "app", ".kt") for m in calls.finditer(_code(p))] == []


@pytest.mark.parametrize("name", NAMES)
def test_processing_imports_nothing_from_android(projects, name):
    root, _ = projects[name]
    kotlin = _files(root / "processing", ".kt")
    assert len(kotlin) >= 10
    assert [p.name for p in kotlin if re.search(r"^import (android|androidx)\.", p.read_text(), re.M)] == []


def _workflow_jobs(workflow: str) -> dict[str, str]:
    """The workflow's jobs, each as its YAML text (after checking the file parses as a GitHub workflow)."""
    import yaml

    parsed = yaml.safe_load(workflow)
    assert set(parsed) >= {"name", True, "jobs"}, parsed.keys()  # YAML 1.1 reads the key `on` as True
    jobs = {}
    for name, job in parsed["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest" and job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: a step needs exactly one of uses/run: {step}"
        jobs[name] = yaml.safe_dump(job, sort_keys=False, width=1000)
    return jobs


def _catalog(root: Path) -> dict:
    return tomllib.loads((root / "gradle" / "libs.versions.toml").read_text())


def _accessor(alias: str) -> str:
    return re.sub(r"[-_]", ".", alias)


@pytest.mark.parametrize("name", NAMES)
def test_every_catalog_alias_used_exists_and_every_entry_is_used(projects, name):
    root, _ = projects[name]
    catalog = _catalog(root)
    known = {f"libs.{_accessor(a)}" for a in catalog["libraries"]} | {f"libs.plugins.{_accessor(a)}" for a in catalog["plugins"]}
    used = set()
    for path in _files(root, ".kts"):
        used |= set(re.findall(r"\blibs\.[A-Za-z][\w.]*[A-Za-z0-9]", _code(path)))
    assert sorted(used - known) == []
    assert sorted(known - used) == []
    versions = set(catalog["versions"])
    refs = {entry["version"]["ref"] for group in ("libraries", "plugins") for entry in catalog[group].values()}
    assert refs == versions


@pytest.mark.parametrize("name", NAMES)
def test_every_version_has_a_source_and_the_readme_lists_it(projects, name):
    root, _ = projects[name]
    rows = catalog_versions((root / "gradle" / "libs.versions.toml").read_text())
    assert {n for n, _, _ in rows} == set(_catalog(root)["versions"])
    readme = (root / "README.md").read_text()
    for version_name, version, source in rows:
        assert re.search(r"https://\S+", source), version_name
        assert f"| {version_name} | {version} |" in readme
    wrapper = (root / "gradle" / "wrapper" / "gradle-wrapper.properties").read_text()
    gradle = re.search(r"gradle-([\d.]+)-bin\.zip", wrapper)[1]
    workflow = (root / ".github" / "workflows" / "android.yml").read_text()
    assert set(re.findall(r"gradle-version:? \"?([\d.]+)", workflow)) == {gradle}
    assert f"| Gradle | {gradle} |" in readme


def test_the_kotlin_plugin_is_the_compiler_the_tests_use(projects):
    from tflgen.render import KOTLIN_VERSION

    root, _ = projects["detection"]
    assert _catalog(root)["versions"]["kotlin"] == KOTLIN_VERSION


def _android_string(text: str) -> str:
    """A <string> value as the app shows it (aapt's escapes undone)."""
    return re.sub(r"\\(.)", r"\1", text)


@pytest.mark.parametrize("name", NAMES)
def test_manifest_declares_camera_launcher_and_app_name(projects, name):
    root, options = projects[name]
    main = root / "app" / "src" / "main"
    manifest = ElementTree.parse(main / "AndroidManifest.xml").getroot()
    assert "android.permission.CAMERA" in {e.get(f"{ANDROID_NS}name") for e in manifest.iter("uses-permission")}
    feature = {e.get(f"{ANDROID_NS}name"): e.get(f"{ANDROID_NS}required") for e in manifest.iter("uses-feature")}
    # Photos work without a camera: no camera feature is required.
    assert feature == {"android.hardware.camera.any": "false", "android.hardware.camera": "false", "android.hardware.camera.autofocus": "false"}
    launchers = [
        a for a in manifest.iter("activity")
        if any(c.get(f"{ANDROID_NS}name") == "android.intent.category.LAUNCHER" for c in a.iter("category"))
    ]
    assert len(launchers) == 1 and launchers[0].get(f"{ANDROID_NS}exported") == "true"
    activity = launchers[0].get(f"{ANDROID_NS}name")
    assert activity == ".MainActivity"
    source = main / "kotlin" / options.package.replace(".", "/") / "MainActivity.kt"
    assert re.search(r"^class MainActivity\b.*ComponentActivity\(\)", source.read_text(), re.M)
    application = manifest.find("application")
    assert application.get(f"{ANDROID_NS}label") == "@string/app_name"
    strings = {s.get("name"): s.text for s in ElementTree.parse(main / "res" / "values" / "strings.xml").getroot()}
    assert _android_string(strings["app_name"]) == options.app_name


@pytest.mark.parametrize("name", NAMES)
def test_package_and_app_name_are_where_they_must_be(projects, name):
    root, options = projects[name]
    build = (root / "app" / "build.gradle.kts").read_text()
    assert f'namespace = "{options.package}"' in build and f'applicationId = "{options.package}"' in build
    assert "mlModelBinding" not in build and 'noCompress += "tflite"' in build
    settings = (root / "settings.gradle.kts").read_text()
    assert re.findall(r'include\("(:\w+)"\)', settings) == [":app", ":processing"]
    assert re.search(r"^rootProject\.name = (\".*\")$", settings, re.M)[1] == '"' + options.app_name.replace('"', '\\"') + '"'
    layout = (root / "app" / "src" / "main" / "res" / "layout" / "activity_main.xml").read_text()
    assert f"<{options.package}.ui.OverlayView" in layout
    assert (root / "app" / "src" / "main" / "kotlin" / options.package.replace(".", "/") / "ui" / "OverlayView.kt").is_file()
    assert f"# {options.app_name}\n" in (root / "README.md").read_text()


def _declared(root: Path) -> dict[str, set[str]]:
    """Top-level names each Kotlin package declares (classes, objects, functions incl. extensions, properties)."""
    declared: dict[str, set[str]] = {}
    pattern = re.compile(
        r"^(?:(?:private|internal|public|data|enum|sealed|abstract|open|const|inline)\s+)*"
        r"(?:class|interface|object|fun\s+interface|fun|val|var)\s+(?:<[^>]*>\s*)?(?:[\w.<>?, ]+\.)?(\w+)", re.M,
    )
    for path in _files(root, ".kt"):
        text = path.read_text()
        package = re.search(r"^package ([\w.]+)", text, re.M)[1]
        declared.setdefault(package, set()).update(pattern.findall(text))
    return declared


@pytest.mark.parametrize("name", NAMES)
def test_imports_of_the_project_resolve(projects, name):
    """Every import of the project's own package names something declared there; view binding classes
    name a layout."""
    root, options = projects[name]
    declared = _declared(root)
    layouts = {p.stem for p in (root / "app" / "src" / "main" / "res" / "layout").glob("*.xml")}
    unresolved = []
    for path in _files(root, ".kt"):
        for target in re.findall(rf"^import ({re.escape(options.package)}\.[\w.]+)", path.read_text(), re.M):
            package, _, symbol = target.rpartition(".")
            if package == f"{options.package}.databinding":
                layout = re.sub(r"(?<!^)(?=[A-Z])", "_", symbol.removesuffix("Binding")).lower()
                if layout not in layouts:
                    unresolved.append(f"{path.name}: {target}")
            elif symbol not in declared.get(package, set()):
                unresolved.append(f"{path.name}: {target}")
    assert unresolved == []


@pytest.mark.parametrize("name", NAMES)
def test_resources_the_code_uses_exist(projects, name):
    root, options = projects[name]
    res = root / "app" / "src" / "main" / "res"
    strings = {s.get("name"): s.text or "" for s in ElementTree.parse(res / "values" / "strings.xml").getroot()}
    colors = {c.get("name") for c in ElementTree.parse(res / "values" / "colors.xml").getroot()}
    styles = {s.get("name") for s in ElementTree.parse(res / "values" / "themes.xml").getroot()}
    ids = set()
    for layout in res.glob("layout/*.xml"):
        ids |= {v.removeprefix("@+id/") for e in ElementTree.parse(layout).iter() for v in [e.get(f"{ANDROID_NS}id")] if v}
    kotlin = "\n".join(_code(p) for p in _files(root / "app", ".kt"))
    assert set(re.findall(r"\bR\.string\.(\w+)", kotlin)) <= set(strings)
    assert set(re.findall(r"\bR\.id\.(\w+)", kotlin)) <= ids
    camel = {re.sub(r"_(\w)", lambda m: m[1].upper(), i) for i in ids}
    assert set(re.findall(r"\bbinding\.(\w+)", kotlin)) - {"root"} <= camel
    # Every @string/@color/@style/@drawable/@mipmap the XML names exists.
    drawables = {p.stem for p in res.glob("drawable*/*")} | {p.stem for p in res.glob("mipmap*/*")}
    for path in _files(root / "app" / "src" / "main", ".xml"):
        for kind, ref in re.findall(r'"@(string|color|style|drawable|mipmap)/([\w.]+)"', path.read_text()):
            known = {"string": strings, "color": colors, "style": styles, "drawable": drawables, "mipmap": drawables}[kind]
            assert ref in known, f"{path.name}: @{kind}/{ref}"
    # aapt refuses several non-positional substitutions in one string.
    for string_name, text in strings.items():
        plain = re.findall(r"%(?!\d+\$)[-#+ 0,(]*\d*(?:\.\d+)?[a-zA-Z]", text)
        positional = re.findall(r"%\d+\$", text)
        assert not (plain and (len(plain) > 1 or positional)), string_name
    # getString(R.string.x, a, b): as many arguments as the string has placeholders.
    for string_name, arguments in re.findall(r"getString\(R\.string\.(\w+)((?:, [^,()]+(?:\([^()]*\))?)*)\)", kotlin):
        count = len(re.findall(r"%\d+\$", strings[string_name]))
        assert arguments.count(", ") == count, f"getString(R.string.{string_name}) with {arguments!r}"


def test_app_task_file_matches_the_task(projects):
    for name, (root, options) in projects.items():
        task_files = sorted(p.name for p in (root / "app" / "src" / "main" / "kotlin" / options.package.replace(".", "/") / "task").iterdir())
        expected = {"classification": "ClassificationTask.kt", "detection": "DetectionTask.kt", "raw-detection": "DetectionTask.kt",
                    "segmentation": "SegmentationTask.kt"}[name]
        assert task_files == sorted(["ModelTask.kt", expected])


@pytest.mark.slow
def test_app_plain_kotlin_compiles_and_its_unit_tests_pass(projects, toolchain, tmp_path):
    """The app's Android-free parts (view transform, settings, frame rate) with processing's main sources,
    compiled by kotlinc and tested with JUnit, as `./gradlew :app:testDebugUnitTest` would."""
    root, options = projects["detection"]
    app_main = _files(root / "app" / "src" / "main", ".kt")
    pure = [p for p in app_main if not re.search(r"^import (android|androidx|org\.tensorflow|kotlinx)\.", p.read_text(), re.M)
            and not re.search(r"\bandroid\.", _code(p))]
    assert PURE_APP_FILES <= {p.name for p in pure}
    tests = _files(root / "app" / "src" / "test", ".kt")
    assert len(tests) == 6
    processing = _files(root / "processing" / "src" / "main", ".kt")
    classes = tmp_path / "classes"
    done = toolchain.compile([*processing, *[p for p in pure if p.name in PURE_APP_FILES], *tests], classes)
    assert done.returncode == 0, f"kotlinc failed:\n{done.stdout}\n{done.stderr}"
    for test in tests:
        package = re.search(r"^package ([\w.]+)", test.read_text(), re.M)[1]
        run = toolchain.run_junit(classes, [], f"{package}.{test.stem}")
        assert run.code == 0 and run.failures == 0 and run.run >= 2, run.output


def test_ci_installs_the_platform_the_app_compiles_against(projects):
    root, _ = projects["classification"]
    compile_sdk = re.search(r"compileSdk = (\d+)", (root / "app" / "build.gradle.kts").read_text())[1]
    workflow = (root / ".github" / "workflows" / "android.yml").read_text()
    jobs = _workflow_jobs(workflow)
    assert set(jobs) == {"build", "device"}
    for job in jobs.values():  # each job installs the platform itself
        assert re.findall(r'"platforms;android-(\d+)"', job) == [compile_sdk]
    assert re.findall(r"run: gradle (.+)", jobs["build"]) == ["assembleDebug", ":processing:test :app:testDebugUnitTest"]
    assert re.findall(r"script: gradle (.+)", jobs["device"]) == ["connectedDebugAndroidTest"]


# ---------------------------------------------------------------- build contracts (tests/android_contract.py)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_build_contracts_hold_for_every_task(projects, name, contract):
    root, _ = projects[name]
    assert contract(root) == []


@pytest.fixture(scope="module")
def binding_project(tmp_path_factory) -> Path:
    spec, options, anchors = _specs()["classification"]
    root = tmp_path_factory.mktemp("binding")
    for path, content in render_files(spec, replace(options, model_binding=True), anchors).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    return root


def test_model_binding_is_asked_for_and_says_what_it_costs(projects, binding_project):
    """--model-binding: mlModelBinding with the support libraries its classes need, AGP 9's namespace check
    turned back into a warning, and the README naming the tracker issue and the AGP it concerns; the default
    project has none of it and packages src/main/ml itself."""
    from tflgen.provenance import LITERT_SUPPORT_ISSUE

    for contract in CONTRACTS:
        assert contract(binding_project) == [], contract.__name__
    build = (binding_project / "app/build.gradle.kts").read_text()
    assert "mlModelBinding = true" in build and 'assets.directories.add("src/main/ml")' not in build
    assert {"litert-support", "litert-metadata"} <= {e["name"] for e in _catalog(binding_project)["libraries"].values()}
    assert "android.uniquePackageNames=false" in (binding_project / "gradle.properties").read_text()
    readme = (binding_project / "README.md").read_text()
    assert "| litert-support | 1.4.2 |" in readme and "--model-binding" in readme
    default, _ = projects["classification"]
    assert "uniquePackageNames" not in (default / "gradle.properties").read_text()
    default_readme = (default / "README.md").read_text()
    assert LITERT_SUPPORT_ISSUE in default_readme and "AGP 9.3.1 refuses" in default_readme
    assert "litert-support" not in (default / "gradle/libs.versions.toml").read_text()


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.__name__)
def test_each_contract_catches_what_it_guards(projects, tmp_path, contract):
    """Each check fails on the defect it exists for (as android_sample/ had them before it was fixed)."""
    import shutil

    root = tmp_path / "project"
    shutil.copytree(projects["detection"][0], root)
    manifest = root / "app/src/main/AndroidManifest.xml"
    build = root / "app/build.gradle.kts"
    camera = next(root.rglob("CameraController.kt"))
    breakage = {
        "dependency_problems": (build, 'assets.directories.add("src/main/ml")', "mlModelBinding = true"),
        "gpu_library_problems": (manifest, '<uses-native-library android:name="libOpenCL.so" android:required="false" />', ""),
        "camera_feature_problems": (manifest, '<uses-feature android:name="android.hardware.camera" android:required="false" />', ""),
        "camera_geometry_problems": (camera, "previewView.viewPort?.let(group::setViewPort)", ""),
        "wrapper_problems": (root / ".github/workflows/android.yml", "run: gradle assembleDebug", "run: ./gradlew assembleDebug"),
        "provenance_problems": (root / "gradle/libs.versions.toml", 'camerax = "1.6.2"', 'camerax = "1.6.1"'),
        # the golden files as assets of the app, not of the test APK: the test would find no case
        "instrumented_test_problems": (build, 'getByName("androidTest") {', 'getByName("main") {'),
    }[contract.__name__]
    path, old, new = breakage
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    assert contract(root) != []
