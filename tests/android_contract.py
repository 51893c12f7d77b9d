"""Static build contracts of a rendered Android project: what a Gradle build or a phone would find
wrong, checked from the files alone (these machines can't reach Google's Maven). Each check returns
the problems it finds ([] when the project keeps the contract)."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
# Artifacts whose namespace clashes under AGP 9 (google-ai-edge/LiteRT#6965) and that model binding needs.
SUPPORT_ARTIFACTS = frozenset({"litert-support", "litert-support-api", "litert-metadata", "tensorflow-lite-support", "tensorflow-lite-metadata"})
# What the CAMERA permission implies as required unless declared (developer.android.com, <uses-feature>).
CAMERA_IMPLIED = ("android.hardware.camera", "android.hardware.camera.autofocus")
OPENCL_LIBRARIES = ("libOpenCL.so", "libOpenCL-car.so", "libOpenCL-pixel.so")


def _code(path: Path) -> str:
    """A Kotlin/Gradle file without its // and /* */ comments."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
    return "\n".join(re.sub(r"(^|\s)//.*$", "", line) for line in text.splitlines())


def _manifest(root: Path) -> ElementTree.Element:
    return ElementTree.parse(root / "app/src/main/AndroidManifest.xml").getroot()


def _app_kotlin(root: Path) -> dict[str, str]:
    return {p.name: _code(p) for p in sorted((root / "app/src/main/kotlin").rglob("*.kt"))}


def dependency_problems(root: Path) -> list[str]:
    """No artifact with an open build failure under the pinned AGP: litert-support (and with it model
    binding) only with AGP < 9, or with the uniquePackageNames workaround said in gradle.properties;
    without binding, the model folder must be an assets folder or the APK has no model."""
    catalog = tomllib.loads((root / "gradle/libs.versions.toml").read_text(encoding="utf-8"))
    agp_major = int(catalog["versions"]["agp"].split(".")[0])
    build = _code(root / "app/build.gradle.kts")
    properties = (root / "gradle.properties").read_text(encoding="utf-8")
    support = sorted(entry["name"] for entry in catalog["libraries"].values() if entry.get("name") in SUPPORT_ARTIFACTS)
    binding = re.search(r"\bmlModelBinding\s*=\s*true", build) is not None
    problems = []
    if agp_major >= 9 and (support or binding) and not re.search(r"^android\.uniquePackageNames=false$", properties, re.M):
        problems.append(f"AGP {catalog['versions']['agp']} with {', '.join(support) or 'mlModelBinding'}: "
                        "duplicate namespace org.tensorflow.lite.support fails processDebugMainManifest (LiteRT#6965)")
    if binding and "litert-support" not in support:
        problems.append("mlModelBinding generates classes that need litert-support, which is not a dependency")
    if not binding and 'assets.directories.add("src/main/ml")' not in build:
        problems.append("without mlModelBinding nothing packages src/main/ml: the APK would have no model")
    return problems


def gpu_library_problems(root: Path) -> list[str]:
    """Where the GPU backend is offered, Android 12+ lets the delegate open OpenCL only if declared."""
    settings = _app_kotlin(root).get("InferenceSettings.kt", "")
    if not re.search(r"enum class Backend\s*\{[^}]*\bGPU\b", settings):
        return []
    application = _manifest(root).find("application")
    declared = {e.get(f"{ANDROID_NS}name"): e.get(f"{ANDROID_NS}required") for e in application.iter("uses-native-library")}
    return [f"<uses-native-library {name} required=false> missing in <application>" for name in OPENCL_LIBRARIES
            if declared.get(name) != "false"]


def camera_feature_problems(root: Path) -> list[str]:
    """The CAMERA permission makes Play require a camera (and autofocus) unless each is declared optional."""
    manifest = _manifest(root)
    if "android.permission.CAMERA" not in {e.get(f"{ANDROID_NS}name") for e in manifest.iter("uses-permission")}:
        return []
    features = {e.get(f"{ANDROID_NS}name"): e.get(f"{ANDROID_NS}required") for e in manifest.iter("uses-feature")}
    return [f"{name} is implied as required by CAMERA: declare it android:required=\"false\"" for name in CAMERA_IMPLIED
            if features.get(name) != "false"]


def camera_geometry_problems(root: Path) -> list[str]:
    """Results line up with the preview only if analysis and preview map to the same sensor area: one
    UseCaseGroup with the PreviewView's ViewPort, and the analysis frame cut to its cropRect (toBitmap
    ignores it) - or CameraX's CoordinateTransform."""
    code = "\n".join(_app_kotlin(root).values())
    if "CoordinateTransform" in code:
        return []
    problems = []
    if not re.search(r"UseCaseGroup\.Builder\(\)", code) or not re.search(r"\bsetViewPort\b", code) or "viewPort" not in code:
        problems.append("preview and analysis are not one UseCaseGroup with the PreviewView's ViewPort")
    if not re.search(r"bindToLifecycle\([^)]*\bgroup\b", code):
        problems.append("the camera is not bound with the use-case group")
    if not re.search(r"\.cropRect\b", code):
        problems.append("the analysis frames' cropRect is not used")
    return problems


def wrapper_problems(root: Path) -> list[str]:
    """The path from the folder to an APK: the wrapper properties pin a distribution with its checksum, the
    README's commands and the workflow use that very version, and nothing runs a gradlew that isn't there."""
    from tflgen.provenance import GRADLE_SHA256, GRADLE_VERSION

    properties = (root / "gradle/wrapper/gradle-wrapper.properties").read_text(encoding="utf-8")
    url = re.search(r"^distributionUrl=https\\://services\.gradle\.org/distributions/gradle-([\d.]+)-bin\.zip$", properties, re.M)
    checksum = re.search(r"^distributionSha256Sum=([0-9a-f]{64})$", properties, re.M)
    if url is None or checksum is None:
        return ["gradle-wrapper.properties lacks a distributionUrl or a distributionSha256Sum"]
    problems = []
    if (url[1], checksum[1]) != (GRADLE_VERSION, GRADLE_SHA256):
        problems.append(f"Gradle {url[1]} with SHA-256 {checksum[1]} is not the checked pair {GRADLE_VERSION} / {GRADLE_SHA256}")
    workflow = (root / ".github/workflows/android.yml").read_text(encoding="utf-8")
    if set(re.findall(r"gradle-version: \"?([\d.]+)", workflow)) != {url[1]}:
        problems.append("the workflow's Gradle is not the wrapper's")
    has_wrapper = (root / "gradlew").is_file() and (root / "gradle/wrapper/gradle-wrapper.jar").is_file()
    if not has_wrapper and re.search(r"^\s*run: \./gradlew", workflow, re.M):
        problems.append("the workflow runs ./gradlew, which the project does not have")
    readme = (root / "README.md").read_text(encoding="utf-8")
    if f"--gradle-version {url[1]} --gradle-distribution-sha256-sum {checksum[1]}" not in readme:
        problems.append("the README does not say how to make the wrapper for this distribution")
    return problems


def provenance_problems(root: Path) -> list[str]:
    """Every catalog version, the wrapper's Gradle and every workflow action has a provenance row for
    the very version pinned, and the README shows it."""
    from tflgen.provenance import PROVENANCE

    known = {p.key: p.version for p in PROVENANCE}
    catalog = tomllib.loads((root / "gradle/libs.versions.toml").read_text(encoding="utf-8"))
    pins = dict(catalog["versions"])
    pins["gradle"] = re.search(r"gradle-([\d.]+)-bin\.zip", (root / "gradle/wrapper/gradle-wrapper.properties").read_text())[1]
    workflow = (root / ".github/workflows/android.yml").read_text(encoding="utf-8")
    pins |= dict(re.findall(r"uses: ([\w./-]+)@(\w+)", workflow))
    readme = (root / "README.md").read_text(encoding="utf-8")
    problems = [f"{key} {version}: no provenance row for this version (checked: {known.get(key)})"
                for key, version in pins.items() if known.get(key) != version]
    problems += [f"{key} {version}: not in the README's version table" for key, version in pins.items()
                 if not re.search(rf"^\| ({re.escape(key)}|Gradle) \| {re.escape(version)} \| https://", readme, re.M)]
    return problems


def instrumented_test_problems(root: Path) -> list[str]:
    """app/src/androidTest runs under AndroidJUnitRunner, finds the golden cases among the test APK's assets (the
    processing module's test resources) and the model among the app's, and uses from processing only what the
    app's androidTest can see: main and testFixtures (not processing's own tests), nothing `internal`."""
    from tflgen.golden import GOLDEN_DIR

    build = _code(root / "app/build.gradle.kts")
    processing_build = _code(root / "processing/build.gradle.kts")
    problems = []
    if 'testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"' not in build:
        problems.append("defaultConfig names no AndroidJUnitRunner: connectedAndroidTest would run nothing")
    for dependency in ('androidTestImplementation(testFixtures(project(":processing")))', "androidTestImplementation(libs.androidx.test.runner)",
                       "androidTestImplementation(libs.androidx.test.ext.junit)"):
        if dependency not in build:
            problems.append(f"app/build.gradle.kts lacks {dependency}")
    if "`java-test-fixtures`" not in processing_build or "testFixturesImplementation(libs.junit)" not in processing_build:
        problems.append("processing does not publish its test fixtures (java-test-fixtures, with JUnit for their asserts)")
    android_test = re.search(r'getByName\("androidTest"\)\s*\{([^}]*)\}', build)
    folders = re.findall(r'assets\.directories\.add\("([^"]+)"\)', android_test[1]) if android_test else []
    # GoldenCase reads "golden/<case>/..." from the assets' root: one folder must be the golden folder's parent.
    golden = (root / GOLDEN_DIR).resolve()
    if not any((root / "app" / folder / "golden").resolve() == golden for folder in folders):
        problems.append(f"no androidTest assets folder is the parent of {GOLDEN_DIR} (folders: {folders})")
    tests = {p.name: _code(p) for p in sorted((root / "app/src/androidTest/kotlin").rglob("*.kt"))}
    if not tests:
        return problems + ["app/src/androidTest has no test"]
    processing = root / "processing/src"
    visible = _top_level_names(processing / "main") | _top_level_names(processing / "testFixtures")
    hidden = (_top_level_names(processing / "test") - visible) | _internal_names(processing / "main")
    for name, code in tests.items():
        for symbol in re.findall(r"^import [\w.]+\.processing\.(\w+)$", code, re.M):
            if symbol in hidden or symbol not in visible:
                problems.append(f"{name} imports {symbol}, which the app's androidTest can't see")
        if "instrumentation.context.assets" not in code or "instrumentation.targetContext.assets" not in code:
            problems.append(f"{name}: golden files come from the test APK (instrumentation.context), the model from the app (targetContext)")
    fixtures = "\n".join(_code(p) for p in sorted((processing / "testFixtures").rglob("*.kt")))
    problems += [f"testFixtures use {name}, internal to processing's main (not visible to another compilation)"
                 for name in sorted(_internal_names(processing / "main")) if re.search(rf"\b{name}\b", fixtures)]
    return problems


_DECLARATION = re.compile(r"^((?:(?:private|internal|public|data|enum|sealed|abstract|open|const|inline)\s+)*)"
                          r"(?:class|interface|object|fun\s+interface|fun|val|var)\s+(?:<[^>]*>\s*)?(?:[\w.<>?, ]+\.)?(\w+)", re.M)


def _top_level_names(folder: Path) -> set[str]:
    return {m[2] for p in folder.rglob("*.kt") for m in _DECLARATION.finditer(p.read_text(encoding="utf-8"))
            if "private" not in m[1] and "internal" not in m[1]}


def _internal_names(folder: Path) -> set[str]:
    return {m[2] for p in folder.rglob("*.kt") for m in _DECLARATION.finditer(p.read_text(encoding="utf-8")) if "internal" in m[1]}


CONTRACTS = (dependency_problems, gpu_library_problems, camera_feature_problems, camera_geometry_problems, wrapper_problems,
             provenance_problems, instrumented_test_problems)
