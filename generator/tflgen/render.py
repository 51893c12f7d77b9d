"""Render the generated Android project from the Jinja templates under `templates/`.

The template tree mirrors the output tree. Path conventions:

- a path segment `__package__` becomes the package's folders: `com.example.app` -> `com/example/app`;
- a file name ending in `.jinja` is rendered (Jinja2, StrictUndefined) and loses that suffix;
  every other file is copied byte for byte;
- a path segment starting with `dot-` gets a leading `.` instead (`dot-gitignore` -> `.gitignore`,
  `dot-github/` -> `.github/`), so that the template tree itself holds no dot files that tools
  (git, GitHub) would act on.

Which templates a project gets is decided here, per task (`TASK_TEMPLATES`), never by Jinja
conditions in file names. Templates hold no logic: the Kotlin is static code parameterized by
the generated `ModelSpec.kt`, whose Kotlin literals are formatted here. A raw SSD's anchors are
data, not code: they go into the processing module's resources (`anchors_file`).

Rendering is deterministic (same inputs, same bytes: sorted walk, no timestamps, fixed file
modes) and atomic: everything is written into a temporary folder beside the output, then moved
into place.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tflgen.errors import OptionError, OutputError
from tflgen.golden import GOLDEN_DIR
from tflgen.provenance import LITERT_SUPPORT_ISSUE
from tflgen.spec import ModelSpec, Role, SsdSpec, Task

PACKAGE_SEGMENT = "__package__"
RENDERED_SUFFIX = ".jinja"
DOT_PREFIX = "dot-"
KOTLIN_VERSION = "2.4.20"  # the generated build's Kotlin plugin; tests compile with the same kotlinc

_PROCESSING_MAIN = f"processing/src/main/kotlin/{PACKAGE_SEGMENT}/processing"
_PROCESSING_RESOURCES = "processing/src/main/resources"
_PROCESSING_TEST = f"processing/src/test/kotlin/{PACKAGE_SEGMENT}/processing"
_PROCESSING_FIXTURES = f"processing/src/testFixtures/kotlin/{PACKAGE_SEGMENT}/processing"  # shared with app/src/androidTest
_APP_MAIN = f"app/src/main/kotlin/{PACKAGE_SEGMENT}"
_APP_TEST = f"app/src/test/kotlin/{PACKAGE_SEGMENT}"
_APP_ANDROID_TEST = f"app/src/androidTest/kotlin/{PACKAGE_SEGMENT}"
_APP_RES = "app/src/main/res"

# Template paths (relative to the templates folder) every project gets.
COMMON_TEMPLATES: tuple[str, ...] = (
    "README.md.jinja",
    "dot-gitignore",
    "dot-github/workflows/android.yml",
    "build.gradle.kts",
    "gradle.properties.jinja",
    "gradle/libs.versions.toml.jinja",
    "gradle/wrapper/gradle-wrapper.properties",
    "settings.gradle.kts.jinja",
    "processing/README.md",
    "processing/build.gradle.kts.jinja",
    f"{_PROCESSING_MAIN}/ModelSpec.kt.jinja",
    f"{_PROCESSING_MAIN}/Palette.kt.jinja",
    f"{_PROCESSING_MAIN}/Placement.kt.jinja",
    f"{_PROCESSING_MAIN}/Preprocess.kt.jinja",
    f"{_PROCESSING_MAIN}/Quantization.kt.jinja",
    f"{_PROCESSING_MAIN}/Specs.kt.jinja",
    f"{_PROCESSING_TEST}/BenchmarkSupport.kt.jinja",
    f"{_PROCESSING_TEST}/DeviceToleranceTest.kt.jinja",
    f"{_PROCESSING_TEST}/GoldenImage.kt.jinja",
    f"{_PROCESSING_TEST}/GoldenTest.kt.jinja",
    f"{_PROCESSING_FIXTURES}/GoldenCase.kt.jinja",
    f"{_PROCESSING_FIXTURES}/Json.kt.jinja",
    f"{_PROCESSING_FIXTURES}/OutputCheck.kt.jinja",
    "app/build.gradle.kts.jinja",
    "app/src/main/AndroidManifest.xml",
    f"{_APP_MAIN}/MainActivity.kt.jinja",
    f"{_APP_MAIN}/MainViewModel.kt.jinja",
    f"{_APP_MAIN}/UiState.kt.jinja",
    f"{_APP_MAIN}/camera/CameraController.kt.jinja",
    f"{_APP_MAIN}/camera/ExifTurn.kt.jinja",
    f"{_APP_MAIN}/camera/Images.kt.jinja",
    f"{_APP_MAIN}/camera/UprightFrames.kt.jinja",
    f"{_APP_MAIN}/inference/EngineHealth.kt.jinja",
    f"{_APP_MAIN}/inference/Frame.kt.jinja",
    f"{_APP_MAIN}/inference/FrameRate.kt.jinja",
    f"{_APP_MAIN}/inference/InferenceEngine.kt.jinja",
    f"{_APP_MAIN}/inference/InferenceSettings.kt.jinja",
    f"{_APP_MAIN}/inference/ModelFile.kt.jinja",
    f"{_APP_MAIN}/task/ModelTask.kt.jinja",
    f"{_APP_MAIN}/ui/OverlayStyle.kt.jinja",
    f"{_APP_MAIN}/ui/OverlayView.kt.jinja",
    f"{_APP_MAIN}/ui/ViewTransform.kt.jinja",
    f"{_APP_ANDROID_TEST}/GoldenDeviceTest.kt.jinja",
    f"{_APP_TEST}/camera/ExifTurnTest.kt.jinja",
    f"{_APP_TEST}/camera/UprightFramesTest.kt.jinja",
    f"{_APP_TEST}/inference/EngineHealthTest.kt.jinja",
    f"{_APP_TEST}/inference/FrameRateTest.kt.jinja",
    f"{_APP_TEST}/inference/InferenceSettingsTest.kt.jinja",
    f"{_APP_TEST}/ui/ViewTransformTest.kt.jinja",
    f"{_APP_RES}/drawable/ic_launcher_foreground.xml",
    f"{_APP_RES}/layout/activity_main.xml.jinja",
    f"{_APP_RES}/mipmap-anydpi-v26/ic_launcher.xml",
    f"{_APP_RES}/values/colors.xml",
    f"{_APP_RES}/values/strings.xml.jinja",
    f"{_APP_RES}/values/themes.xml",
)

# What each task adds: its post-processing, the checks of its golden results, its benchmark, and
# the app's end of it (`modelTask()`: outputs to what the overlay draws).
TASK_TEMPLATES: dict[Task, tuple[str, ...]] = {
    Task.CLASSIFICATION: (
        f"{_PROCESSING_MAIN}/Classification.kt.jinja",
        f"{_PROCESSING_FIXTURES}/ClassificationGolden.kt.jinja",
        f"{_PROCESSING_TEST}/ClassificationBenchmark.kt.jinja",
        f"{_APP_MAIN}/task/ClassificationTask.kt.jinja",
    ),
    Task.DETECTION: (
        f"{_PROCESSING_MAIN}/Detection.kt.jinja",  # the op's outputs, and the choice of decoder
        f"{_PROCESSING_MAIN}/RawDetection.kt.jinja",  # raw SSD outputs: decode + NMS (benchmarked in every detection project)
        f"{_PROCESSING_FIXTURES}/DetectionGolden.kt.jinja",
        f"{_PROCESSING_TEST}/DetectionBenchmark.kt.jinja",
        f"{_APP_MAIN}/task/DetectionTask.kt.jinja",
    ),
    Task.SEGMENTATION: (
        f"{_PROCESSING_MAIN}/Segmentation.kt.jinja",
        f"{_PROCESSING_FIXTURES}/SegmentationGolden.kt.jinja",
        f"{_PROCESSING_TEST}/SegmentationBenchmark.kt.jinja",
        f"{_APP_MAIN}/task/SegmentationTask.kt.jinja",
    ),
}

CATALOG_TEMPLATE = "gradle/libs.versions.toml.jinja"
WRAPPER_PROPERTIES = "gradle/wrapper/gradle-wrapper.properties"

# Gradle modules the settings include.
MODULES: tuple[str, ...] = ("app", "processing")

# Where the model goes: Android Studio's "New > Other > TensorFlow Lite Model" folder; the app's build
# adds it to the assets (with --model-binding, mlModelBinding packages it).
MODEL_DIR = "app/src/main/ml"

# Folders owned whole by tflgen: replaced as a whole when an existing project is re-rendered.
OWNED_DIRS: tuple[str, ...] = (GOLDEN_DIR,)

# Templates earlier tflgen versions rendered and this one doesn't: an update deletes their files, or the old copies
# would redeclare what moved (the golden-case code went from processing's tests to its test fixtures).
RETIRED_TEMPLATES: tuple[str, ...] = tuple(
    f"{_PROCESSING_TEST}/{name}.kt.jinja"
    for name in ("GoldenCase", "Json", "ClassificationGolden", "DetectionGolden", "SegmentationGolden")
)

# Defaults the app starts with (its settings screen changes them).
DEFAULT_SCORE_THRESHOLD = {Task.CLASSIFICATION: 0.0, Task.DETECTION: 0.5, Task.SEGMENTATION: 0.5}
DEFAULT_MAX_RESULTS = {Task.CLASSIFICATION: 3, Task.DETECTION: 10, Task.SEGMENTATION: 1}

_JAVA_KEYWORDS = frozenset(
    "abstract assert boolean break byte case catch char class const continue default do double else enum "
    "extends final finally float for goto if implements import instanceof int interface long native new "
    "package private protected public return short static strictfp super switch synchronized this throw "
    "throws transient try void volatile while true false null var record yield sealed permits non-sealed _".split()
)
# Kotlin's hard keywords can't be package segments either (they'd need backticks everywhere).
_KOTLIN_KEYWORDS = frozenset("as break class continue do else false for fun if in interface is null object package "
                             "return super this throw true try typealias typeof val var when while".split())
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUPPORTED_TYPES = ("float32", "uint8", "int8")
MAX_LABELS = 5000  # listOf(...) in ModelSpec's static initializer: about 8 bytes of bytecode per label
_LABEL_MAP_TYPES = ("int32", "int64", "uint8", "int8")


@dataclass(frozen=True)
class ProjectFacts:
    """How the model was made, for the generated README (empty fields: not known, left out)."""
    source: str = ""  # what tflgen started from (Markdown)
    recipe: str = ""  # float32, float16, dynamic or int8
    io_type: str = ""
    model_bytes: int = 0
    metadata: tuple[str, ...] = ()  # what the model's metadata holds, e.g. ("name", "labels")
    verification: tuple[tuple[str, str], ...] = ()  # (what, figure) rows measured by tflgen's verify
    report: str = ""  # the verification report's folder in the project


@dataclass(frozen=True)
class ProjectOptions:
    package: str  # Java package of the app, e.g. "com.example.detector"; processing lives in <package>.processing
    app_name: str  # the Gradle root project name and the app's title
    model_file: str = "model.tflite"  # the model's file name in app/src/main/ml (ModelSpec.MODEL_FILE)
    facts: ProjectFacts = ProjectFacts()
    # Android Studio's model card and generated model classes (mlModelBinding), which need litert-support:
    # it breaks AGP 9's manifest merge (LiteRT#6965), so it is asked for, never the default.
    model_binding: bool = False


@dataclass(frozen=True)
class RenderResult:
    out: Path
    files: tuple[str, ...]  # every file written, relative to `out`, sorted


# ---------------------------------------------------------------- checks


def validate_package(package: str, option: str = "--package") -> None:
    """A Java package name usable in Kotlin too: dot-separated identifiers, no keyword, no leading digit."""
    if not package:
        raise OptionError(f"{option} is empty", "give a Java package name such as com.example.detector")
    for segment in package.split("."):
        if not _IDENTIFIER.fullmatch(segment):
            what = "an empty part" if not segment else f"{segment!r}, which is not a Java identifier (letters, digits, _; no leading digit)"
            raise OptionError(f"{option} {package}: {what}", "use lower-case parts separated by dots, e.g. com.example.detector")
        if segment in _JAVA_KEYWORDS or segment in _KOTLIN_KEYWORDS:
            raise OptionError(f"{option} {package}: {segment!r} is a Java or Kotlin keyword", "rename that part, e.g. com.example.myapp")


def validate_app_name(name: str, option: str = "--app-name") -> None:
    """A Gradle root project name: not empty, none of / \\ : < > " ? * |, no leading or trailing dot or space."""
    bad = sorted(set(name) & set('/\\:<>"?*|')) + sorted({c for c in name if ord(c) < 0x20})
    if not name.strip() or bad or name != name.strip() or name.startswith(".") or name.endswith("."):
        what = f"contains {' '.join(repr(c) for c in bad)}" if bad else "is empty or starts or ends with a dot or space"
        raise OptionError(f"{option} {name!r} {what}", "use letters, digits, spaces, - and _, e.g. --app-name \"My Detector\"")


def check_expressible(spec: ModelSpec) -> None:
    """Refuse, before anything is written, a spec the generated Kotlin can't handle."""
    if spec.input.dtype not in _SUPPORTED_TYPES:
        raise OptionError(f"the model's input is {spec.input.dtype}",
            "the app feeds float32, uint8 or int8 inputs: convert with --io-type float32, uint8 or int8")
    if spec.input.dtype != "float32" and spec.input.normalization is not None and spec.input.quantization is None:
        raise OptionError(f"the {spec.input.dtype} input has a normalization but no quantization", "convert the model again with tflgen convert")
    if spec.input.dtype == "float32" and spec.input.normalization is None:
        raise OptionError("the float input has no normalization", "pass --mean and --std")
    for output in spec.outputs:
        allowed = _LABEL_MAP_TYPES if output.role is Role.LABEL_MAP else _SUPPORTED_TYPES
        if output.dtype not in allowed:
            raise OptionError(
                f"output {output.index} ({output.role.value}) is {output.dtype}; the app reads {', '.join(allowed)} there",
                "convert with --quantize float32 or int8 (--io-type uint8/int8 quantizes the outputs too)",
            )
    if len(spec.labels) > MAX_LABELS:
        raise OptionError(
            f"{len(spec.labels)} labels: the generated ModelSpec.kt holds at most {MAX_LABELS} (the JVM limits a method to 64 KB)",
            "give one label per model class",
        )
    if spec.task is Task.DETECTION and spec.raw_detection and spec.ssd is None:
        raise OptionError(
            "the model is a raw SSD (box encodings and class scores, no TFLite_Detection_PostProcess) and its anchors are unknown",
            "pass --ssd-anchors anchors.npy (with --ssd-scales etc. if not the defaults): the app then decodes the boxes and runs NMS in Kotlin",
        )
    if spec.task is Task.DETECTION and not spec.raw_detection and not all(spec.has(r) for r in (Role.BOXES, Role.CLASSES, Role.SCORES, Role.COUNT)):
        raise OptionError("the detection model lacks TFLite_Detection_PostProcess outputs", "convert a raw SSD with --ssd-anchors to add the op")


# ---------------------------------------------------------------- rendering


def templates_root() -> Path:
    """The templates folder: tflgen/templates in the package (in a checkout, generator/tflgen/templates
    is a symlink to the repository's templates/, which is how setuptools puts them into the wheel),
    else the repository's templates/ itself (a checkout whose symlink was not kept)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent.parent / "templates"):
        if (candidate / "settings.gradle.kts.jinja").is_file():
            return candidate
    raise FileNotFoundError(f"tflgen's templates are missing (looked in {here / 'templates'} and {here.parent.parent / 'templates'})")


def template_paths(task: Task) -> tuple[str, ...]:
    return tuple(sorted(COMMON_TEMPLATES + TASK_TEMPLATES[task]))


def output_path(template: str, package: str) -> str:
    """Where a template lands in the project (see the module docstring for the conventions)."""
    parts = []
    for part in template.split("/"):
        if part == PACKAGE_SEGMENT:
            part = package.replace(".", "/")
        elif part.startswith(DOT_PREFIX):
            part = "." + part[len(DOT_PREFIX):]
        parts.append(part)
    if parts[-1].endswith(RENDERED_SUFFIX):
        parts[-1] = parts[-1][: -len(RENDERED_SUFFIX)]
    return "/".join(parts)


def anchors_path(package: str, ssd: SsdSpec) -> str:
    """Where a raw SSD's anchors go: a resource beside the processing classes (Kotlin loads it by class-relative name)."""
    return f"{_PROCESSING_RESOURCES}/{package.replace('.', '/')}/processing/{ssd.anchors_file}"


def anchors_file(anchors: np.ndarray, ssd: SsdSpec) -> bytes:
    """The anchors as the Kotlin side reads them: float32 little-endian, [N, 4] cy, cx, h, w row after row."""
    values = np.asarray(anchors, dtype=np.float32)
    if values.shape != (ssd.anchor_count, 4):
        raise ValueError(f"anchors of shape {list(values.shape)} for a spec of {ssd.anchor_count} anchors")
    return values.astype("<f4").tobytes()


def render_files(spec: ModelSpec, options: ProjectOptions, anchors: np.ndarray | None = None) -> dict[str, bytes]:
    """Every generated file of the project (templates, and a raw SSD's `anchors`), keyed by its path in the project, in memory."""
    import jinja2

    validate_package(options.package)
    validate_app_name(options.app_name)
    check_expressible(spec)
    if (spec.ssd is None) != (anchors is None):
        raise ValueError("anchors go with a spec that decodes a raw SSD, and only with it")
    root = templates_root()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    context = template_context(spec, options)
    catalog = environment.get_template(CATALOG_TEMPLATE).render(context)
    context["readme"] = readme_context(spec, options, catalog_versions(catalog), gradle_wrapper(root))
    files = {}
    for template in template_paths(spec.task):
        if template.endswith(RENDERED_SUFFIX):
            content = environment.get_template(template).render(context).encode("utf-8")
        else:
            content = (root / template).read_bytes()
        files[output_path(template, options.package)] = content
    if spec.ssd is not None and anchors is not None:
        files[anchors_path(options.package, spec.ssd)] = anchors_file(anchors, spec.ssd)
    return files


def render_project(
    spec: ModelSpec, out: Path, options: ProjectOptions, extra_files: Mapping[str, bytes] | None = None, force: bool = False,
    anchors: np.ndarray | None = None,
) -> RenderResult:
    """Render the project into `out`, with `extra_files` (path in the project -> bytes) such as
    `golden.golden_files(...)`, the model or tflgen.toml, and a raw SSD's `anchors` (its spec has `ssd`).

    `out` must not exist or be an empty folder; with `force` an existing project is updated: the
    files generated here replace theirs (and the OWNED_DIRS are replaced whole), nothing else in
    the folder is touched.
    """
    files = render_files(spec, options, anchors)
    for path, content in (extra_files or {}).items():
        if path in files:
            raise ValueError(f"extra file {path} would replace a rendered template")
        files[path] = content
    check_output_dir(out, force)
    retired = tuple(path for path in (output_path(t, options.package) for t in RETIRED_TEMPLATES) if path not in files)
    write_tree(out, files, retired)
    return RenderResult(out, tuple(sorted(files)))


def check_output_dir(out: Path, force: bool, option: str = "--out") -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{option} {out} is a file", "give a folder path for the project")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"{option} {out} is not empty", "pass --force to update the generated files in it (nothing else is deleted), or choose a new folder")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"{option} {out}: folder {parent} does not exist", f"create it first (mkdir -p {parent})")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{option} {out}: folder {parent} is not writable", "choose a folder you can write to")


def write_tree(out: Path, files: Mapping[str, bytes], retired: Sequence[str] = ()) -> None:
    """Write `files` into a temporary folder beside `out`, then move them into place; in an existing
    project, delete the `retired` paths (files an earlier tflgen generated there)."""
    out = out.resolve()
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for path in sorted(files):
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[path])
            target.chmod(0o644)
        for folder in sorted({p for p in staging.rglob("*") if p.is_dir()} | {staging}):
            folder.chmod(0o755)
        if not out.exists() or (out.is_dir() and not any(out.iterdir())):
            os.replace(staging, out)  # one rename: the project appears whole or not at all
            return
        for owned in OWNED_DIRS:
            if (staging / owned).is_dir() and (out / owned).exists():
                _remove(out / owned)
        for path in sorted(files):
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            if (out / path).is_dir():
                _remove(out / path)
            os.replace(staging / path, out / path)
        for path in retired:
            if (out / path).is_file():
                (out / path).unlink()
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


# ---------------------------------------------------------------- Kotlin literals for ModelSpec.kt


def template_context(spec: ModelSpec, options: ProjectOptions) -> dict[str, Any]:
    i = spec.input
    return {
        "package": options.package,
        "app_name": kotlin_string(options.app_name),
        "app_name_xml": android_string(options.app_name),
        "modules": MODULES,
        "kotlin_version": KOTLIN_VERSION,
        "model_binding": options.model_binding,
        "litert_support_issue": LITERT_SUPPORT_ISSUE,
        "spec": {
            "task": f"Task.{_constant(spec.task.value)}",
            "model_file": kotlin_string(options.model_file),
            "input": {
                "name": kotlin_string(i.name),
                "width": i.width,
                "height": i.height,
                "channels": i.channels,
                "type": _tensor_type(i.dtype),
                "quantization": _quantization(i.quantization),
                "normalization": (
                    f"Normalization(mean = {_float_array(i.normalization.mean)}, std = {_float_array(i.normalization.std)})"
                    if i.normalization else "null"
                ),
                "color": f"ColorOrder.{_constant(i.color.value)}",
                "resize": f"ResizeMode.{_constant(i.resize.value)}",
            },
            "outputs": [
                {
                    "name": kotlin_string(o.name),
                    "role": f"Role.{_constant(o.role.value)}",
                    "index": o.index,
                    "shape": f"intArrayOf({', '.join(str(d) for d in o.shape)})",
                    "type": _tensor_type(o.dtype),
                    "quantization": _quantization(o.quantization),
                }
                for o in sorted(spec.outputs, key=lambda o: o.index)
            ],
            "labels": [kotlin_string(label) for label in spec.labels],
            "label_offset": spec.label_offset,
            "num_classes": spec.num_classes,
            "score_threshold": kotlin_float(DEFAULT_SCORE_THRESHOLD[spec.task]),
            "max_results": DEFAULT_MAX_RESULTS[spec.task],
            "ssd": _ssd(spec.ssd),
        },
    }


def android_string(text: str) -> str:
    """Text for a <string> resource: XML-escaped, and aapt's own escapes for \\ ' " and a leading @ or ?."""
    from xml.sax.saxutils import escape

    escaped = escape(text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"'))
    return "\\" + escaped if escaped[:1] in ("@", "?") else escaped


def kotlin_string(text: str) -> str:
    """A Kotlin string literal (escapes `\\`, `"`, `$` and control characters)."""
    escapes = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def kotlin_float(value: float) -> str:
    """A Float literal that reads back as exactly the float32 value (shortest round-trip decimal)."""
    number = np.float32(value)
    if not np.isfinite(number):
        raise OptionError(f"the value {value} is not finite", "the model's parameters must be finite numbers")
    return np.format_float_positional(number, unique=True, trim="0") + "f"


def _float_array(values: tuple[float, ...]) -> str:
    return f"floatArrayOf({', '.join(kotlin_float(v) for v in values)})"


def _quantization(q: Any) -> str:
    return "null" if q is None else f"Quantization(scale = {kotlin_float(q.scale)}, zeroPoint = {int(q.zero_point)})"


def _ssd(ssd: SsdSpec | None) -> str:
    if ssd is None:
        return "null"
    return (
        f"SsdSpec(anchorCount = {ssd.anchor_count}, scales = {_float_array(ssd.scales)}, maxDetections = {ssd.max_detections}, "
        f"scoreThreshold = {kotlin_float(ssd.score_threshold)}, iouThreshold = {kotlin_float(ssd.iou_threshold)}, "
        f"anchorsResource = {kotlin_string(ssd.anchors_file)}, background = {'true' if ssd.background else 'false'})"
    )


def _tensor_type(dtype: str) -> str:
    return f"TensorType.{dtype.upper()}"


def _constant(value: str) -> str:
    return value.upper().replace("-", "_")


# ---------------------------------------------------------------- the generated README

_CATALOG_VERSION = re.compile(r'^(?P<name>[A-Za-z][\w-]*)\s*=\s*"(?P<version>[^"]+)"\s*#\s*(?P<source>.+?)\s*$')


def catalog_versions(catalog: str) -> tuple[tuple[str, str, str], ...]:
    """(name, version, where it comes from) for each entry of the catalog's [versions], from its comment."""
    rows, section = [], ""
    for line in catalog.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif section == "[versions]" and stripped and not stripped.startswith("#"):
            match = _CATALOG_VERSION.match(stripped)
            if match is None:
                raise ValueError(f"the version catalog's line {stripped!r} has no source comment")
            rows.append((match["name"], match["version"], match["source"]))
    return tuple(rows)


def gradle_wrapper(root: Path) -> tuple[str, str]:
    """The Gradle version and distribution SHA-256 the wrapper properties pin."""
    text = (root / WRAPPER_PROPERTIES).read_text(encoding="utf-8")
    version = re.search(r"gradle-([\w.-]+?)-(?:bin|all)\.zip", text)
    checksum = re.search(r"^distributionSha256Sum=([0-9a-f]{64})$", text, re.M)
    if version is None or checksum is None:
        raise ValueError(f"{WRAPPER_PROPERTIES} names no Gradle distribution or no SHA-256")
    return version[1], checksum[1]


def version_rows(versions: tuple[tuple[str, str, str], ...], gradle: str, binding: bool) -> tuple[tuple[str, ...], ...]:
    """The README's version table: each pin with its provenance (tflgen.provenance)."""
    from tflgen.provenance import BINDING_PROVENANCE, PROVENANCE

    known = {p.key: p for p in PROVENANCE}
    rows = [("Gradle", gradle, *_evidence(known["gradle"], gradle))]
    rows += [(name, version, *_evidence(known[name], version)) for name, version, _ in versions]
    rows += [(p.key, p.version, p.docs, p.builds_with, p.tracker) for p in PROVENANCE if "/" in p.key]  # the workflow's actions
    if binding:
        rows.append((BINDING_PROVENANCE.key, BINDING_PROVENANCE.version, BINDING_PROVENANCE.docs, BINDING_PROVENANCE.builds_with,
                     BINDING_PROVENANCE.tracker))
    return tuple(rows)


def _evidence(provenance: Any, version: str) -> tuple[str, str, str]:
    if provenance.version != version:
        raise ValueError(f"{provenance.key} {version} is pinned but {provenance.version} was checked: check it again (tflgen/provenance.py)")
    return provenance.docs, provenance.builds_with, provenance.tracker


def readme_context(spec: ModelSpec, options: ProjectOptions, versions: tuple[tuple[str, str, str], ...],
                   gradle: tuple[str, str]) -> dict[str, Any]:
    """The README's facts, formatted here so that the template only places them."""
    from tflgen import __version__
    from tflgen.provenance import CHECKED, GRADLE_MINIMUM, LITERT_SUPPORT_ISSUE

    i = spec.input

    def quantization(q: Any) -> str:
        return f"scale {float(np.float32(q.scale)):.6g}, zero point {int(q.zero_point)}" if q is not None else "none (float)"

    def formula(norm: Any) -> str:
        return f"(pixel − [{', '.join(f'{v:g}' for v in norm.mean)}]) / [{', '.join(f'{v:g}' for v in norm.std)}]"

    normalization = "none: raw pixels 0–255"
    if i.normalization is not None:
        normalization = formula(i.normalization)
    elif i.folded_normalization is not None:  # tflgen's exact input grid
        normalization = f"none: raw pixels 0–255; the model folds in {formula(i.folded_normalization)} (exact input grid)"
    facts = options.facts
    made = [("source", facts.source)]
    if facts.recipe:
        made.append(("quantization recipe", facts.recipe + (f", {facts.io_type} input/output" if facts.recipe == "int8" and facts.io_type else "")))
    if facts.model_bytes:
        made.append(("model file", f"`{MODEL_DIR}/{options.model_file}`, {facts.model_bytes:,} bytes"))
    else:
        made.append(("model file", f"`{MODEL_DIR}/{options.model_file}`"))
    if facts.metadata:
        made.append(("TFLite metadata", ", ".join(facts.metadata)))
    return {
        "tflgen_version": __version__,
        "app_name": options.app_name,
        "task": spec.task.value,
        "made": [row for row in made if row[1]],
        "input": [
            ("tensor", f"`{i.name}` {i.width}×{i.height}×{i.channels} {i.dtype}"),
            ("channels", i.color.value),
            ("fit", {"stretch": "stretched to the input size", "letterbox": "letterboxed (padding keeps the aspect ratio)",
                     "center-crop": "centre-cropped to the input's aspect ratio"}.get(i.resize.value, i.resize.value)),
            ("normalization", normalization),
            ("quantization", quantization(i.quantization)),
        ],
        "outputs": [
            (o.index, o.role.value, "×".join(str(d) for d in o.shape), o.dtype, quantization(o.quantization))
            for o in sorted(spec.outputs, key=lambda o: o.index)
        ],
        "classes": spec.num_classes,
        "labels": len(spec.class_labels()),
        "raw_ssd": spec.ssd is not None,
        "verification": facts.verification,
        "report": facts.report,
        "versions": version_rows(versions, gradle[0], options.model_binding),
        "gradle_version": gradle[0],
        "gradle_sha256": gradle[1],
        "gradle_minimum": GRADLE_MINIMUM,
        "agp_version": dict((name, version) for name, version, _ in versions)["agp"],
        "model_binding": options.model_binding,
        "litert_support_issue": LITERT_SUPPORT_ISSUE,
        "checked": CHECKED,
        "model_dir": MODEL_DIR,
        "model_file": options.model_file,
    }
