"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tflgen.errors import OptionError
from tflgen.recipes import IoType, Recipe, Target
from tflgen.spec import ColorOrder, ResizeMode, Task  # light: no TensorFlow

class RunFlags:
    """--verbose and --debug as parsed, before the command (`tflgen --debug convert ...`) or after it
    (`tflgen convert ... --debug`): eager, so set even when a later option fails; `cli.main` reads
    --debug when an error reaches it."""

    verbose = False
    debug = False


def _verbose(value: bool) -> bool:
    RunFlags.verbose = RunFlags.verbose or value
    return value


def _debug(value: bool) -> bool:
    RunFlags.debug = RunFlags.debug or value
    return value


def reporter():  # -> tflgen.console.Reporter
    """The run's console: TensorFlow's own log output only with --verbose."""
    from tflgen.console import Reporter

    return Reporter(verbose=RunFlags.verbose)


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show TensorFlow's own log output.", is_eager=True, callback=_verbose)]
Debug = Annotated[bool, typer.Option("--debug", help="Show the traceback of errors.", is_eager=True, callback=_debug)]
Force = Annotated[bool, typer.Option("--force", help="Replace the output if it exists.")]
Mean = Annotated[
    Optional[str],
    typer.Option("--mean", help="Input normalization mean, one value or one per channel: x = (pixel - mean) / std.", rich_help_panel="Input"),
]
Std = Annotated[
    Optional[str],
    typer.Option("--std", help="Input normalization std, one value or one per channel.", rich_help_panel="Input"),
]
Inputs = Annotated[
    Optional[str],
    typer.Option("--inputs", help="TF1 graphs: the input tensor name.", rich_help_panel="TF1 graphs"),
]
Outputs = Annotated[
    Optional[str],
    typer.Option("--outputs", help="TF1 graphs: output tensor names, comma-separated.", rich_help_panel="TF1 graphs"),
]
InputShape = Annotated[
    Optional[str],
    typer.Option("--input-shape", help="Fixed input shape for dynamic models, e.g. 1,224,224,3.", rich_help_panel="TF1 graphs"),
]
def _apply_example(ctx: typer.Context, value: Optional[str]) -> Optional[str]:
    """--example: the example's files and settings become the defaults of the other options (given ones win)."""
    if value is not None:
        from tflgen.examples.defaults import example_settings

        ctx.default_map = {**example_settings(value, ctx.command.name), **(ctx.default_map or {})}
    return value


Example = Annotated[
    Optional[str],
    typer.Option("--example",
        help="One of tflgen's trained examples (classification, detection, segmentation): its model, labels, normalization and int8 calibration images.",
                 is_eager=True, callback=_apply_example, show_default=False),
]
def int8_settings(ctx: typer.Context, quantize: Recipe | None, io_type: IoType | None, calibration: Path | None):
    """--example and --config supply uint8 IO and calibration images for their int8 recipe; when the
    command line asks for another recipe, those two no longer apply (ones given explicitly still do)."""
    if quantize in (Recipe.INT8, Recipe.AUTO):
        return io_type, calibration

    def supplied(name: str) -> bool:
        source = ctx.get_parameter_source(name)
        return source is not None and source.name == "DEFAULT_MAP"

    return (None if supplied("io_type") else io_type), (None if supplied("calibration") else calibration)


SourcePath = Annotated[
    Optional[Path],
    typer.Argument(help="SavedModel folder, .keras, .h5, TF1 frozen .pb, TF1 checkpoint prefix, or .tflite (or --example).", show_default=False),
]


def require_source(source: Path | None) -> Path:
    if source is None:
        raise OptionError("no model given", "name the model (a SavedModel folder, .keras, .h5, .pb, checkpoint or .tflite), or try --example detection")
    return source


def names(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else ()


def shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        dims = tuple(int(part) for part in text.split(","))
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise OptionError(f"--input-shape {text!r} is not a list of positive integers", "write it like 1,224,224,3 (NHWC, batch 1)")
    return dims



TaskOption = Annotated[
    Optional[Task],
    typer.Option("--task", help="classification, detection or segmentation (default: read from the outputs).", rich_help_panel="Model", show_default=False),
]
Labels = Annotated[
    Optional[Path],
    typer.Option("--labels", help="Labels file, UTF-8, one label per line.", rich_help_panel="Model", show_default=False),
]
LabelOffset = Annotated[
    Optional[int],
    typer.Option("--label-offset",
        help="Label of class i is line i+offset: 1 when the file starts with a background/??? row, -1 when the model has a background class the file lacks.",
            rich_help_panel="Model", show_default=False),
]
Color = Annotated[
    Optional[ColorOrder],
    typer.Option("--color", help="Channel order the model expects (default rgb, gray for 1 channel).", rich_help_panel="Input", show_default=False),
]
Resize = Annotated[
    ResizeMode,
    typer.Option("--resize", help="How the app fits camera frames to the input size.", rich_help_panel="Input"),
]

# Conversion options, shared by convert and app.
Quantize = Annotated[
    Optional[Recipe], typer.Option("--quantize", "-q",
        help="Recipe: float32 (default), float16, dynamic (int8 weights), int8 (full integer), auto (the smallest within --max-drop on --images).",
            rich_help_panel="Quantization", show_default=False),
]

IoTypeOption = Annotated[
    Optional[IoType], typer.Option("--io-type", help="int8 only: the model's input/output type (default float32).", rich_help_panel="Quantization",
        show_default=False),
]

TargetOption = Annotated[
    Target, typer.Option("--target", help="edgetpu = int8, uint8 IO, integer-only ops.", rich_help_panel="Quantization"),
]

Calibration = Annotated[
    Optional[Path], typer.Option("--calibration", help="Folder of representative images for int8 (jpg/png/bmp, recursive).", rich_help_panel="Quantization",
        show_default=False),
]

CalibrationCount = Annotated[
    int, typer.Option("--calibration-count", help="How many calibration images to use (spread evenly over the sorted list).", rich_help_panel="Quantization"),
]

AllowRandomCalibration = Annotated[
    bool, typer.Option("--allow-random-calibration", help="Calibrate on random pixels when you have no images (accuracy unknown).",
        rich_help_panel="Quantization"),
]

AllowFloatFallback = Annotated[
    bool, typer.Option("--allow-float-fallback", help="Accept ops or IO the converter leaves in float instead of failing.", rich_help_panel="Quantization"),
]

SelectTfOps = Annotated[
    bool, typer.Option("--select-tf-ops", help="Allow Flex (TensorFlow) ops; the app then needs the Flex delegate.", rich_help_panel="Quantization"),
]

SsdAnchors = Annotated[
    Optional[Path], typer.Option("--ssd-anchors",
        help="Raw SSD: anchors [N,4] cy,cx,h,w (.npy/.csv); appends TFLite_Detection_PostProcess "
             "(tflgen app with a raw .tflite: the app decodes + NMS in Kotlin).",
        rich_help_panel="SSD post-processing", show_default=False),
]

SsdScales = Annotated[
    Optional[str], typer.Option("--ssd-scales", help="Box coder scales y,x,h,w (default 10,10,5,5).", rich_help_panel="SSD post-processing",
        show_default=False),
]

MaxDetections = Annotated[
    Optional[int], typer.Option("--max-detections", help="Detections kept (default 10).", rich_help_panel="SSD post-processing", show_default=False),
]

ScoreThreshold = Annotated[
    Optional[float], typer.Option("--score-threshold", help="Minimum score (default 1e-8).", rich_help_panel="SSD post-processing", show_default=False),
]

IouThreshold = Annotated[
    Optional[float], typer.Option("--iou-threshold", help="NMS IoU threshold (default 0.6).", rich_help_panel="SSD post-processing", show_default=False),
]

Images = Annotated[
    Optional[Path], typer.Option("--images", help="--quantize auto / --keep-accuracy: images to verify every recipe (or trial) on.",
        rich_help_panel="Quantization", show_default=False),
]

KeepAccuracy = Annotated[
    Optional[str], typer.Option("--keep-accuracy",
        help="int8 that keeps accuracy on --images: a drop (1 - agreement, 0..1) or an output SQNR floor like 30dB. Fits activation "
             "ranges, then gives the fewest worst activations int16 (AI Edge Quantizer), then keeps the fewest worst layers in float.",
        rich_help_panel="Quantization", show_default=False, metavar="DROP|NdB"),
]

QuantizerRecipeOption = Annotated[
    Optional[Path], typer.Option("--quantizer-recipe",
        help="int8: an AI Edge Quantizer recipe (JSON; per-op int8, int16 activations or float, by regex), applied with "
             "tflgen's calibration ranges and --io-type.",
        rich_help_panel="Quantization", show_default=False, metavar="FILE"),
]

MaxDrop = Annotated[
    Optional[float], typer.Option("--max-drop", help="--quantize auto: largest accepted 1 - agreement (0..1).", rich_help_panel="Quantization",
        show_default=False),
]

Report = Annotated[
    Optional[Path], typer.Option("--report", help="--quantize auto / --keep-accuracy: write the chosen model's verification report here.",
        rich_help_panel="Quantization", show_default=False),
]


def ssd_options(anchors: Path | None, scales: str | None, max_detections: int | None, score_threshold: float | None,
    iou_threshold: float | None):  # -> SsdOptions | None
    """The SSD post-processing options, or None; the others without --ssd-anchors are an error."""
    from tflgen.ssd import SsdOptions

    if anchors is not None:
        return SsdOptions(anchors, scales, max_detections, score_threshold, iou_threshold)
    if any(v is not None for v in (scales, max_detections, score_threshold, iou_threshold)):
        raise OptionError("--ssd-scales/--max-detections/--score-threshold/--iou-threshold need --ssd-anchors",
            "they configure the SSD post-processing that --ssd-anchors adds")
    return None


def preprocessing(mean: str | None, std: str | None, color: ColorOrder | None, resize: ResizeMode = ResizeMode.STRETCH):
    """--mean, --std, --color, --resize as a tflgen.spec.Preprocessing: parsed and checked now, before any model loads."""
    from tflgen.spec import Preprocessing

    return Preprocessing.parse(mean, std, color, resize)


def graph_flags(inputs: str | None, outputs: str | None, input_shape: str | None):  # -> tflgen.sources.GraphFlags
    """--inputs, --outputs, --input-shape (TF1 graphs)."""
    from tflgen.sources import GraphFlags

    return GraphFlags(names(inputs), names(outputs), shape(input_shape))


def convert_options(ctx: typer.Context, output: Path, images: Path | None):  # -> tflgen.pipeline.ConvertOptions
    """The conversion request of `convert` and `app`, from the command's parsed options (the same names
    in both); `images` as the conversion uses it (--quantize auto and --keep-accuracy verify on them)."""
    from tflgen.keep_accuracy import AccuracyTarget
    from tflgen.pipeline import ConvertOptions

    p = ctx.params
    io_type, calibration = int8_settings(ctx, p["quantize"], p["io_type"], p["calibration"])
    return ConvertOptions(
        source=require_source(p["source"]), output=output, force=p["force"], recipe=p["quantize"], io_type=io_type, target=p["target"],
        calibration=calibration, calibration_count=p["calibration_count"], allow_random_calibration=p["allow_random_calibration"],
        preprocessing=preprocessing(p["mean"], p["std"], p["color"], p["resize"]),
        graph=graph_flags(p["inputs"], p["outputs"], p["input_shape"]), select_tf_ops=p["select_tf_ops"], allow_float_fallback=p["allow_float_fallback"],
        ssd=ssd_options(p["ssd_anchors"], p["ssd_scales"], p["max_detections"], p["score_threshold"], p["iou_threshold"]),
        images=images, max_drop=p["max_drop"], report=p.get("report"),
        keep_accuracy=AccuracyTarget.parse(p["keep_accuracy"]) if p["keep_accuracy"] is not None else None,
        quantizer_recipe=quantizer_recipe(p.get("quantizer_recipe")),
    )


def quantizer_recipe(path: Path | None):  # -> tflgen.mixed_precision.QuantizerRecipe | None
    """--quantizer-recipe read and checked now, before any model loads."""
    if path is None:
        return None
    from tflgen.mixed_precision import QuantizerRecipe

    return QuantizerRecipe.load(path)
