"""`tflgen app`: convert -> metadata -> golden vectors -> an Android Studio project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tflgen.cli import options as opt
from tflgen.recipes import Target
from tflgen.spec import ResizeMode


def _read_config(ctx: typer.Context, value: Optional[Path]) -> Optional[Path]:
    """--config: the file's settings become the defaults of the other options (given ones win)."""
    if value is not None:
        from tflgen.project_config import read_settings

        ctx.default_map = {**(ctx.default_map or {}), **read_settings(value)}
    return value


def app_command(
    ctx: typer.Context,
    source: opt.SourcePath = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="The project folder to create (with --config: default the config's folder, updated in place).",
        show_default=False)] = None,
    example: opt.Example = None,
    config: Annotated[Optional[Path], typer.Option("--config",
        help="Take the settings from a project's tflgen.toml (regenerate it); options given here override them.", is_eager=True, callback=_read_config,
            show_default=False)] = None,
    package: Annotated[str, typer.Option("--package", help="Java package of the app.")] = "com.example.tflgen",
    app_name: Annotated[str, typer.Option("--app-name", help="The app's (and Gradle project's) name.")] = "TflgenApp",
    task: opt.TaskOption = None,
    labels: opt.Labels = None,
    label_offset: opt.LabelOffset = None,
    color: opt.Color = None,
    resize: opt.Resize = ResizeMode.STRETCH,
    quantize: opt.Quantize = None,
    io_type: opt.IoTypeOption = None,
    target: opt.TargetOption = Target.GENERIC,
    calibration: opt.Calibration = None,
    calibration_count: opt.CalibrationCount = 100,
    allow_random_calibration: opt.AllowRandomCalibration = False,
    allow_float_fallback: opt.AllowFloatFallback = False,
    select_tf_ops: opt.SelectTfOps = False,
    ssd_anchors: opt.SsdAnchors = None,
    ssd_scales: opt.SsdScales = None,
    max_detections: opt.MaxDetections = None,
    score_threshold: opt.ScoreThreshold = None,
    iou_threshold: opt.IouThreshold = None,
    images: Annotated[Optional[Path], typer.Option("--images", help="Images for the golden tests (and --quantize auto); default: --calibration.",
        show_default=False)] = None,
    max_drop: opt.MaxDrop = None,
    keep_accuracy: opt.KeepAccuracy = None,
    mean: opt.Mean = None,
    std: opt.Std = None,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    input_shape: opt.InputShape = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Model name (metadata).", rich_help_panel="Description")] = None,
    description: Annotated[Optional[str], typer.Option("--description", help="What the model does (metadata).", rich_help_panel="Description")] = None,
    model_binding: Annotated[bool, typer.Option(
        "--model-binding",
        help="Android Studio's model card and generated model classes (mlModelBinding). They need litert-support, which "
             "AGP 9 refuses (duplicate namespace, google-ai-edge/LiteRT#6965, open): the project then sets "
             "android.uniquePackageNames=false, a workaround not yet confirmed for LiteRT. Off: the app needs neither.",
    )] = False,
    force: Annotated[bool, typer.Option("--force", help="Update the generated files in an existing project (nothing else is deleted).")] = False,
    verbose: opt.Verbose = False,
    debug: opt.Debug = False,
) -> int:
    """Convert, describe and verify the model, then render an Android Studio project around it."""
    from tflgen.cli.summary import print_app
    from tflgen.errors import EXIT_BUDGET_MISSED, OptionError
    from tflgen.metadata import ModelInfoText
    from tflgen.pipeline import AppOptions, build_app
    from tflgen.spec import SpecOptions, read_labels

    reporter = opt.reporter()
    if out is None:
        if config is None:
            raise OptionError("--out is missing", "give the project folder to create, e.g. --out MyApp")
        out, force = config.resolve().parent, True  # regenerate the project the config belongs to
    verified_on = images if max_drop is not None or keep_accuracy is not None else None  # --quantize auto, --keep-accuracy
    spec = SpecOptions(task=task, labels=read_labels(labels) if labels else (), labels_path=labels, label_offset=label_offset)
    result = build_app(
        AppOptions(opt.convert_options(ctx, out / "model.tflite", verified_on), spec, out, package, app_name,
                   ModelInfoText(name or "", description or ""), images, force=force, example=example, model_binding=model_binding),
        reporter,
    )
    print_app(result, reporter)
    return EXIT_BUDGET_MISSED if result.spec is None else 0
