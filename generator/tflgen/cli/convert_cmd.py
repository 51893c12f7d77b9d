"""`tflgen convert`: any TF source to a .tflite with a quantization recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tflgen.cli import app
from tflgen.cli import options as opt
from tflgen.recipes import IoType, Recipe, Target


@app.command(no_args_is_help=True)
def convert(
    source: opt.SourcePath,
    output: Annotated[Path, typer.Option("--output", "-o", help="The .tflite to write.", show_default=False)],
    quantize: Annotated[
        Optional[Recipe], typer.Option("--quantize", "-q", help="Recipe: float32 (default), float16, dynamic (int8 weights), int8 (full integer), auto (the smallest within --max-drop on --images).", rich_help_panel="Quantization", show_default=False)
    ] = None,
    io_type: Annotated[
        Optional[IoType], typer.Option("--io-type", help="int8 only: the model's input/output type (default float32).", rich_help_panel="Quantization", show_default=False)
    ] = None,
    target: Annotated[
        Target, typer.Option("--target", help="edgetpu = int8, uint8 IO, integer-only ops.", rich_help_panel="Quantization")
    ] = Target.GENERIC,
    calibration: Annotated[
        Optional[Path], typer.Option("--calibration", help="Folder of representative images for int8 (jpg/png/bmp, recursive).", rich_help_panel="Quantization", show_default=False)
    ] = None,
    calibration_count: Annotated[
        int, typer.Option("--calibration-count", help="How many calibration images to use (spread evenly over the sorted list).", rich_help_panel="Quantization")
    ] = 100,
    allow_random_calibration: Annotated[
        bool, typer.Option("--allow-random-calibration", help="Calibrate on random pixels when you have no images (accuracy unknown).", rich_help_panel="Quantization")
    ] = False,
    allow_float_fallback: Annotated[
        bool, typer.Option("--allow-float-fallback", help="Accept ops or IO the converter leaves in float instead of failing.", rich_help_panel="Quantization")
    ] = False,
    select_tf_ops: Annotated[
        bool, typer.Option("--select-tf-ops", help="Allow Flex (TensorFlow) ops; the app then needs the Flex delegate.", rich_help_panel="Quantization")
    ] = False,
    ssd_anchors: Annotated[
        Optional[Path], typer.Option("--ssd-anchors", help="Raw SSD: anchors [N,4] cy,cx,h,w (.npy/.csv); appends TFLite_Detection_PostProcess.", rich_help_panel="SSD post-processing", show_default=False)
    ] = None,
    ssd_scales: Annotated[
        Optional[str], typer.Option("--ssd-scales", help="Box coder scales y,x,h,w (default 10,10,5,5).", rich_help_panel="SSD post-processing", show_default=False)
    ] = None,
    max_detections: Annotated[
        Optional[int], typer.Option("--max-detections", help="Detections kept (default 10).", rich_help_panel="SSD post-processing", show_default=False)
    ] = None,
    score_threshold: Annotated[
        Optional[float], typer.Option("--score-threshold", help="Minimum score (default 1e-8).", rich_help_panel="SSD post-processing", show_default=False)
    ] = None,
    iou_threshold: Annotated[
        Optional[float], typer.Option("--iou-threshold", help="NMS IoU threshold (default 0.6).", rich_help_panel="SSD post-processing", show_default=False)
    ] = None,
    images: Annotated[
        Optional[Path], typer.Option("--images", help="--quantize auto: images to verify every recipe on.", rich_help_panel="Quantization", show_default=False)
    ] = None,
    max_drop: Annotated[
        Optional[float], typer.Option("--max-drop", help="--quantize auto: largest accepted 1 - agreement (0..1).", rich_help_panel="Quantization", show_default=False)
    ] = None,
    report: Annotated[
        Optional[Path], typer.Option("--report", help="--quantize auto: write the chosen model's verification report here.", rich_help_panel="Quantization", show_default=False)
    ] = None,
    mean: opt.Mean = None,
    std: opt.Std = None,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    input_shape: opt.InputShape = None,
    force: opt.Force = False,
    verbose: opt.Verbose = False,
    debug: opt.Debug = False,
) -> int:
    """Convert and quantize a TensorFlow model to .tflite."""
    from tflgen.cli.summary import print_conversion
    from tflgen.console import Reporter
    from tflgen.errors import EXIT_BUDGET_MISSED, OptionError
    from tflgen.pipeline import ConvertOptions, SsdOptions, convert_model

    reporter = Reporter(verbose=verbose)
    ssd = None
    if ssd_anchors is not None:
        ssd = SsdOptions(ssd_anchors, ssd_scales, max_detections, score_threshold, iou_threshold)
    elif any(v is not None for v in (ssd_scales, max_detections, score_threshold, iou_threshold)):
        raise OptionError("--ssd-scales/--max-detections/--score-threshold/--iou-threshold need --ssd-anchors", "they configure the SSD post-processing that --ssd-anchors adds")
    result = convert_model(
        ConvertOptions(
            source=source, output=output, force=force, recipe=quantize, io_type=io_type, target=target,
            calibration=calibration, calibration_count=calibration_count,
            allow_random_calibration=allow_random_calibration, mean=mean, std=std,
            inputs=opt.names(inputs), outputs=opt.names(outputs), input_shape=opt.shape(input_shape),
            select_tf_ops=select_tf_ops, allow_float_fallback=allow_float_fallback, ssd=ssd,
            images=images, max_drop=max_drop, report=report,
        ),
        reporter,
    )
    print_conversion(result, reporter)
    return EXIT_BUDGET_MISSED if result.conversion is None else 0
