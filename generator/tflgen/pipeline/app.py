"""`tflgen app`: convert -> metadata -> golden vectors -> verification -> an Android Studio project."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as with_fields
from pathlib import Path
from typing import TYPE_CHECKING

from tflgen.console import Reporter
from tflgen.errors import CalibrationError
from tflgen.pipeline.convert import ConvertOptions, ConvertResult, convert_model
from tflgen.pipeline.verify import VerifyOptions, verify_model
from tflgen.spec import SpecOptions

if TYPE_CHECKING:
    from tflgen.metadata import ModelInfoText
    from tflgen.pipeline.session import Session
    from tflgen.spec import ModelSpec
    from tflgen.ssd import SsdParams
    from tflgen.verify import Verification


@dataclass(frozen=True)
class AppOptions:
    convert: ConvertOptions  # its `output` is ignored (the model goes into the project); its preprocessing is the app's
    spec: SpecOptions  # task and labels (its preprocessing is taken from `convert`)
    out: Path
    package: str
    app_name: str
    text: ModelInfoText
    golden_images: Path | None = None  # --images; default: --calibration
    golden_count: int = 3
    force: bool = False
    example: str | None = None  # the built-in example the source is (named so in the README, report and tflgen.toml)
    model_binding: bool = False  # Android Studio's mlModelBinding with litert-support (render.ProjectOptions)


@dataclass(frozen=True)
class AppResult:
    conversion: ConvertResult
    spec: ModelSpec | None
    out: Path
    files: tuple[str, ...]
    golden_cases: int
    verification: Verification | None = None  # None: a .tflite source, nothing to compare with


MODEL_FILE = "model.tflite"
MODEL_PATH = f"app/src/main/ml/{MODEL_FILE}"  # where Android Studio's "New > Other > TensorFlow Lite Model" puts it
REPORT_DIR = "verification"  # the verification report's folder in the project
APP_VERIFY_IMAGES = 50


def build_app(options: AppOptions, reporter: Reporter) -> AppResult:
    """convert -> metadata -> golden vectors -> render: a project whose processing is proven on the JVM.

    The source is loaded once (`Session`) for the conversion and the verification. `--ssd-anchors`
    with a TensorFlow source appends TFLite_Detection_PostProcess to the model (the recommended
    path); with a raw SSD .tflite, which can't be given the op, the app decodes the boxes and runs
    NMS itself (Kotlin), with the anchors shipped in the project.
    """
    import tempfile

    import tomli_w

    from tflgen.golden import GoldenSettings, golden_files
    from tflgen.images import read_images
    from tflgen.metadata import metadata_for_spec, write_metadata
    from tflgen.pipeline.session import Session
    from tflgen.project_config import app_settings, recorded_settings
    from tflgen.render import (
        ProjectFacts, ProjectOptions, check_expressible, check_output_dir, render_project, validate_app_name, validate_package,
    )
    from tflgen.report import summary_rows
    from tflgen.spec import build_spec, spec_to_toml
    from tflgen.tflite_info import read_model

    validate_package(options.package)
    validate_app_name(options.app_name)
    check_output_dir(options.out, options.force)
    golden_dir = options.golden_images or options.convert.images or options.convert.calibration
    if golden_dir is None:
        raise CalibrationError("the app's golden tests need images (--images DIR)",
            "pass a few images like the ones the app will see; --calibration images are used when given")
    # Three candidates per case: spares for unreadable ones. Read before the model loads: a bad folder fails first.
    golden_images = read_images(golden_dir, options.golden_count * 3, "--images", 3, reporter, keep=options.golden_count)

    decoded_in_app = _ssd_decoded_in_app(options.convert)
    ssd_op = None if decoded_in_app is not None else options.convert.ssd  # a TF source's anchors: the op is appended
    if ssd_op is not None and options.spec.labels:
        ssd_op = with_fields(ssd_op, label_count=len(options.spec.labels), label_offset=options.spec.label_offset)
    anchors = decoded_in_app.anchors if decoded_in_app is not None else None
    session = Session(options.convert.source, options.convert.graph, reporter)
    with tempfile.TemporaryDirectory(prefix="tflgen-app-") as work:
        converted = convert_model(with_fields(options.convert, output=Path(work) / MODEL_FILE, force=True, ssd=ssd_op), reporter, session)
        if converted.conversion is None:  # --quantize auto found no recipe within budget
            return AppResult(converted, None, options.out, (), 0)
        content = (Path(work) / MODEL_FILE).read_bytes()
    spec_options = with_fields(options.spec, preprocessing=options.convert.preprocessing, ssd=decoded_in_app)
    spec = build_spec(read_model(content, "converted model"), spec_options, "the app")
    check_expressible(spec)
    metadata, associated = metadata_for_spec(spec, options.text)
    model = write_metadata(content, metadata, associated)

    with reporter.quiet_native():
        golden = golden_files(model, spec, [path for path, _ in golden_images], GoldenSettings(), anchors)
    verification, report_files = _verify_for_app(options, spec_options, golden_dir, model, session, reporter)
    defaults = None
    if options.example:
        from tflgen.examples.defaults import example_settings

        defaults = example_settings(options.example, "app")
    recorded = recorded_settings(app_settings(options), options.out, defaults)
    toml = (tomli_w.dumps({"tflgen": {"app": recorded}}) + "\n" + spec_to_toml(spec)).encode("utf-8")
    extra = {**golden, **report_files, MODEL_PATH: model, "tflgen.toml": toml}
    request = converted.request
    shown_source = (f"tflgen's built-in example `{options.example}`" if options.example
                    else f"`{recorded['source']}` (path from this folder)")
    facts = ProjectFacts(
        source=shown_source, recipe=request.recipe.value if request else "float32",
        io_type=request.io_type.value if request else "float32", model_bytes=len(model),
        metadata=_metadata_contents(spec, options.text),
        verification=tuple(summary_rows(verification.to_json())) if verification else (),
        report=REPORT_DIR if report_files else "",
    )
    project = ProjectOptions(options.package, options.app_name, MODEL_FILE, facts, options.model_binding)
    rendered = render_project(spec, options.out, project, extra, options.force, anchors)
    return AppResult(converted, spec, options.out, rendered.files, len(golden_images), verification)


def _verify_for_app(
    options: AppOptions, spec_options: SpecOptions, images: Path, model: bytes, session: Session, reporter: Reporter,
) -> tuple[Verification | None, dict[str, bytes]]:
    """The .tflite against its TensorFlow source on the app's images, and the report's files for the
    project. Latency is left out: it differs from run to run, and the project's files must not. A
    .tflite source has nothing to be verified against."""
    import tempfile

    from tflgen.sources import SourceKind

    if session.source.kind is SourceKind.TFLITE:
        return None, {}
    c = options.convert
    with tempfile.TemporaryDirectory(prefix="tflgen-verify-") as work:
        report = Path(work) / REPORT_DIR
        verified = verify_model(
            VerifyOptions(
                source=c.source, model=Path(MODEL_PATH), images=images, spec=spec_options, graph=c.graph, report=report,
                image_count=APP_VERIFY_IMAGES, latency=False, paths_relative_to=options.out, path_names=_example_names(options, images),
            ),
            reporter, model_content=model, session=session,
        )
        files = {f"{REPORT_DIR}/{p.name}": p.read_bytes() for p in sorted(report.iterdir())}
    return verified.verification, files


def _example_names(options: AppOptions, images: Path) -> dict[str, str]:
    """A built-in example's files are named after the example, not by where tflgen is installed."""
    if options.example is None:
        return {}
    return {
        str(options.convert.source.resolve()): f"example {options.example}: {options.convert.source.name}",
        str(images.resolve()): f"example {options.example}: generated images",
    }


def _metadata_contents(spec: ModelSpec, text: ModelInfoText) -> tuple[str, ...]:
    """What tflgen's metadata tells readers (Android Studio, the Task Library, MediaPipe) about the model."""
    contents = ["name and description" if text.name or text.description else "name"]
    if spec.input.normalization is not None:
        contents.append("input normalization")
    contents.append(f"{spec.task.value} output roles")
    if spec.labels:
        contents.append("labels.txt")
    return tuple(contents)


def _ssd_decoded_in_app(options: ConvertOptions) -> SsdParams | None:
    """The SSD settings the app decodes a raw SSD .tflite with (`--ssd-anchors` given with a .tflite
    source), or None: no anchors, or a TF source, which gets TFLite_Detection_PostProcess instead."""
    from tflgen.sources import SourceKind, detect_kind
    from tflgen.ssd import params_from_options

    if options.ssd is None or detect_kind(options.source)[0] is not SourceKind.TFLITE:
        return None
    return params_from_options(options.ssd)
