"""Orchestrates the stages. The CLI parses options into these dataclasses and calls here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tflgen.console import Reporter
from tflgen.errors import CalibrationError, OptionError
from tflgen.recipes import IoType, Recipe, Target
from tflgen.reference import Normalization, resolve_normalization

if TYPE_CHECKING:  # heavy modules (TensorFlow) load only when a command runs
    from tflgen.convert import Conversion, ConversionRequest
    from tflgen.metadata import ModelInfoText, ModelMetadata
    from tflgen.sources import SourceModel
    from tflgen.spec import ModelSpec, SpecOptions
    from tflgen.ssd import SsdParams


@dataclass(frozen=True)
class ConvertOptions:
    source: Path
    output: Path
    force: bool = False
    recipe: Recipe | None = None  # None: float32, or int8 for --target edgetpu
    io_type: IoType | None = None
    target: Target = Target.GENERIC
    calibration: Path | None = None
    calibration_count: int = 100
    allow_random_calibration: bool = False
    mean: str | None = None
    std: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    input_shape: tuple[int, ...] | None = None
    select_tf_ops: bool = False
    allow_float_fallback: bool = False
    ssd: SsdOptions | None = None


@dataclass(frozen=True)
class SsdOptions:
    """Raw SSD post-processing: `--ssd-anchors` and the op settings that go with it."""

    anchors: Path
    scales: str | None = None
    max_detections: int | None = None
    score_threshold: float | None = None
    iou_threshold: float | None = None


@dataclass(frozen=True)
class ConvertResult:
    options: ConvertOptions
    source: SourceModel
    request: ConversionRequest
    conversion: Conversion
    normalization: Normalization | None
    calibration_origin: str | None


def resolve_request(options: ConvertOptions) -> ConversionRequest:
    """Check the recipe options against each other, before anything is loaded."""
    from tflgen.convert import ConversionRequest

    recipe = options.recipe
    io_type = options.io_type
    integer_only = False
    if options.target is Target.EDGETPU:
        if recipe not in (None, Recipe.INT8):
            raise OptionError(f"--target edgetpu with --quantize {recipe.value}", "the Edge TPU runs int8 only: drop --quantize or use --quantize int8")
        if io_type is IoType.FLOAT32:
            raise OptionError("--target edgetpu with --io-type float32", "the Edge TPU needs integer IO: use --io-type uint8 (default) or int8")
        recipe, io_type, integer_only = Recipe.INT8, io_type or IoType.UINT8, True
    recipe = recipe or Recipe.FLOAT32
    if io_type is not None and recipe is not Recipe.INT8:
        raise OptionError(f"--io-type {io_type.value} applies only to --quantize int8", "drop --io-type, or add --quantize int8")
    if options.calibration_count < 1:
        raise OptionError(f"--calibration-count {options.calibration_count} must be at least 1", "100 to 500 representative images is typical")
    if recipe is Recipe.INT8 and options.calibration is None and not options.allow_random_calibration:
        raise CalibrationError(
            "--quantize int8 needs calibration images (--calibration DIR)",
            "pass a folder of ~100 images like the ones the app will see; --allow-random-calibration runs without, but accuracy is then unknown",
        )
    return ConversionRequest(recipe, io_type or IoType.FLOAT32, integer_only, options.select_tf_ops, options.allow_float_fallback)


def convert_model(options: ConvertOptions, reporter: Reporter) -> ConvertResult:
    from tflgen.calibration import image_layout, load_calibration, random_calibration
    from tflgen.convert import convert
    from tflgen.outputs import check_output_file, write_file_atomic
    from tflgen.sources import GraphFlags, SourceKind, open_source

    check_output_file(options.output, options.force)
    request = resolve_request(options)
    if options.calibration is not None and request.recipe is not Recipe.INT8:
        reporter.warn(f"--calibration is used only by int8; ignored for {request.recipe.value}")
    ssd_params = _ssd_params(options.ssd) if options.ssd else None  # bad anchors fail before loading
    flags = GraphFlags(options.inputs, options.outputs, options.input_shape)
    reporter.info(f"Loading {options.source}")
    source = open_source(options.source, flags, reporter)
    if ssd_params is not None:
        from tflgen.ssd import wrap_with_postprocess

        source = wrap_with_postprocess(source, ssd_params, reporter)
    if source.kind is SourceKind.TFLITE and request.recipe is not Recipe.FLOAT32:
        raise OptionError(
            f"{options.source} is already a .tflite; --quantize {request.recipe.value} needs the TensorFlow source",
            "quantize from the SavedModel/Keras/TF1 model instead; a .tflite is only copied (and described)",
        )

    normalization = None
    calibration = None
    if request.recipe is Recipe.INT8:
        _, _, channels = image_layout(source.input.shape)
        normalization = resolve_normalization(options.mean, options.std, channels, source.input.dtype, "int8 calibration")
        dtype = np.dtype(source.input.dtype)
        if options.calibration is not None:
            calibration = load_calibration(options.calibration, options.calibration_count, source.input.shape, dtype, normalization, reporter)
        else:
            calibration = random_calibration(options.calibration_count, source.input.shape, dtype, normalization)
            reporter.alarm(
                "Calibrating on RANDOM images (--allow-random-calibration): the model runs, "
                "but its int8 accuracy is UNKNOWN. Calibrate with real images before shipping."
            )
    elif options.mean is not None or options.std is not None:
        _, _, channels = image_layout(source.input.shape)
        normalization = resolve_normalization(options.mean, options.std, channels, source.input.dtype, "the input")

    conversion = convert(source, request, calibration, reporter)
    write_file_atomic(options.output, conversion.content)
    return ConvertResult(options, source, request, conversion, normalization, calibration.origin if calibration else None)



def _ssd_params(options: SsdOptions) -> SsdParams:
    from tflgen.ssd import SsdParams, load_anchors, parse_scales

    settings = {
        name: value for name, value in (
            ("scales", parse_scales(options.scales) if options.scales else None),
            ("max_detections", options.max_detections),
            ("score_threshold", options.score_threshold),
            ("iou_threshold", options.iou_threshold),
        ) if value is not None
    }
    return SsdParams(anchors=load_anchors(options.anchors), **settings)


@dataclass(frozen=True)
class MetadataOptions:
    model: Path
    output: Path
    spec: SpecOptions
    text: ModelInfoText
    force: bool = False


@dataclass(frozen=True)
class MetadataResult:
    spec: ModelSpec
    metadata: ModelMetadata
    files: tuple[str, ...]
    replaced: bool
    size_bytes: int


def add_metadata(options: MetadataOptions, reporter: Reporter) -> MetadataResult:
    from tflgen.errors import SourceError
    from tflgen.metadata import metadata_for_spec, read_metadata, write_metadata
    from tflgen.outputs import check_output_file, write_file_atomic
    from tflgen.spec import build_spec
    from tflgen.tflite_info import read_model

    if not options.model.is_file():
        raise SourceError(f"{options.model}: no such file", "give the path of a .tflite file")
    if options.output.resolve() != options.model.resolve():
        check_output_file(options.output, options.force)
    elif not options.force:
        raise OptionError(f"--output {options.output} is the input model", "pass --force to rewrite the model in place, or choose another path")
    content = options.model.read_bytes()
    info = read_model(content, str(options.model))
    spec = build_spec(info, options.spec, "the metadata")
    replaced = read_metadata(content, str(options.model)) is not None
    if replaced:
        reporter.warn(f"{options.model} already has metadata; it is replaced")
    metadata, files = metadata_for_spec(spec, options.text)
    written = write_metadata(content, metadata, files)
    write_file_atomic(options.output, written)
    return MetadataResult(spec, metadata, tuple(sorted(files)), replaced, len(written))
