"""`tflgen convert`: any TF source to a .tflite with a quantization recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from tflgen.cli import options as opt
from tflgen.recipes import Target
from tflgen.spec import ResizeMode


def convert(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="The .tflite to write.", show_default=False)],
    source: opt.SourcePath = None,
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
    images: opt.Images = None,
    max_drop: opt.MaxDrop = None,
    keep_accuracy: opt.KeepAccuracy = None,
    quantizer_recipe: opt.QuantizerRecipeOption = None,
    report: opt.Report = None,
    color: opt.Color = None,
    resize: opt.Resize = ResizeMode.STRETCH,
    mean: opt.Mean = None,
    std: opt.Std = None,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    input_shape: opt.InputShape = None,
    force: opt.Force = False,
    example: opt.Example = None,
    verbose: opt.Verbose = False,
    debug: opt.Debug = False,
) -> int:
    """Convert and quantize a TensorFlow model to .tflite."""
    from tflgen.cli.summary import print_conversion
    from tflgen.errors import EXIT_BUDGET_MISSED
    from tflgen.pipeline import convert_model

    reporter = opt.reporter()
    result = convert_model(opt.convert_options(ctx, output, images), reporter)
    print_conversion(result, reporter)
    return EXIT_BUDGET_MISSED if result.conversion is None else 0
