"""`tflgen convert` (and the app's conversion): a TensorFlow source to a .tflite with one recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tflgen.console import Reporter
from tflgen.errors import CalibrationError, OptionError
from tflgen.recipes import IoType, Recipe, Target
from tflgen.reference import Normalization
from tflgen.sources import GraphFlags
from tflgen.spec import Preprocessing

if TYPE_CHECKING:  # heavy modules (TensorFlow) load only when a command runs
    from tflgen.calibration import CalibrationSet
    from tflgen.convert import Conversion, ConversionRequest
    from tflgen.keep_accuracy import AccuracyTarget, KeptAccuracy
    from tflgen.mixed_precision import QuantizerRecipe
    from tflgen.pipeline.session import Session
    from tflgen.recipe_choice import Candidate
    from tflgen.sources import SourceModel
    from tflgen.ssd import SsdOptions


@dataclass(frozen=True)
class ConvertOptions:
    """A conversion request, every value parsed and typed by the CLI (`cli.options.convert_options`)."""

    source: Path
    output: Path
    force: bool = False
    recipe: Recipe | None = None  # None: float32, or int8 for --target edgetpu
    io_type: IoType | None = None
    target: Target = Target.GENERIC
    calibration: Path | None = None
    calibration_count: int = 100
    allow_random_calibration: bool = False
    preprocessing: Preprocessing = field(default_factory=Preprocessing)  # how the app feeds the model: calibration does the same
    graph: GraphFlags = field(default_factory=GraphFlags)  # TF1 graphs: --inputs, --outputs, --input-shape
    select_tf_ops: bool = False
    allow_float_fallback: bool = False
    ssd: SsdOptions | None = None
    images: Path | None = None  # --quantize auto and --keep-accuracy: verification images
    max_drop: float | None = None  # --quantize auto: the accepted drop
    report: Path | None = None  # --quantize auto and --keep-accuracy: the chosen model's verification report
    keep_accuracy: AccuracyTarget | None = None  # int8: the accepted drop or SQNR floor (tflgen.keep_accuracy)
    quantizer_recipe: QuantizerRecipe | None = None  # int8: per-op precision by the AI Edge Quantizer (tflgen.mixed_precision)


@dataclass(frozen=True)
class ConvertResult:
    options: ConvertOptions
    source: SourceModel
    request: ConversionRequest | None
    conversion: Conversion | None
    normalization: Normalization | None
    calibration_origin: str | None
    candidates: tuple[Candidate, ...] = ()  # --quantize auto: every recipe tried, with its verification
    choice: str | None = None  # --quantize auto: why the chosen recipe won
    kept_accuracy: KeptAccuracy | None = None  # --keep-accuracy: the lever that met it, every trial, what it costs


def resolve_request(options: ConvertOptions, reporter: Reporter) -> ConversionRequest:
    """Check the recipe options against each other, before anything is loaded."""
    from tflgen.convert import ConversionRequest
    from tflgen.sources import peek_quantization_aware

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
    if options.keep_accuracy is not None:
        from tflgen.pipeline.keep_accuracy import check_keep_accuracy

        check_keep_accuracy(options, recipe, integer_only)
    elif options.images is not None or options.max_drop is not None:
        raise OptionError("--images/--max-drop go with --quantize auto", "use 'tflgen verify' to check a single recipe, or pass --quantize auto")
    if options.quantizer_recipe is not None:
        check_quantizer_recipe(options, recipe, integer_only)
    if io_type is not None and recipe is not Recipe.INT8:
        raise OptionError(f"--io-type {io_type.value} applies only to --quantize int8", "drop --io-type, or add --quantize int8")
    if options.calibration_count < 1:
        raise OptionError(f"--calibration-count {options.calibration_count} must be at least 1", "100 to 500 representative images is typical")
    if (recipe is Recipe.INT8 and options.calibration is None and not options.allow_random_calibration
            and not peek_quantization_aware(options.source, reporter)):  # quantization-aware graphs carry their ranges
        raise CalibrationError(
            "--quantize int8 needs calibration images (--calibration DIR)",
            "pass a folder of ~100 images like the ones the app will see; --allow-random-calibration runs without, but accuracy is then unknown",
        )
    return ConversionRequest(recipe, io_type or IoType.FLOAT32, integer_only, options.select_tf_ops, options.allow_float_fallback)


def convert_model(options: ConvertOptions, reporter: Reporter, session: Session | None = None) -> ConvertResult:
    """Convert with the asked recipe (`--quantize auto`: `pipeline.auto`; `--keep-accuracy`:
    `pipeline.keep_accuracy`) and write the .tflite. `session` is the run's source when the caller
    (`tflgen app`) goes on to verify it."""
    from tflgen.calibration import image_layout, load_calibration, random_calibration
    from tflgen.convert import LearnedRanges, convert
    from tflgen.outputs import check_output_file, write_file_atomic
    from tflgen.pipeline.session import Session
    from tflgen.sources import SourceKind
    from tflgen.ssd import params_from_options

    check_output_file(options.output, options.force)
    session = session or Session(options.source, options.graph, reporter)
    if options.recipe is Recipe.AUTO:
        from tflgen.pipeline.auto import convert_auto

        return convert_auto(options, session)
    request = resolve_request(options, reporter)
    if options.calibration is not None and request.recipe is not Recipe.INT8:
        reporter.warn(f"--calibration is used only by int8; ignored for {request.recipe.value}")
    ssd_params = params_from_options(options.ssd) if options.ssd else None  # bad anchors fail before loading
    source = session.to_convert(ssd_params)
    if source.kind is SourceKind.TFLITE and request.recipe is not Recipe.FLOAT32:
        raise OptionError(
            f"{options.source} is already a .tflite; --quantize {request.recipe.value} needs the TensorFlow source",
            "quantize from the SavedModel/Keras/TF1 model instead; a .tflite is only copied (and described)",
        )

    normalization = None
    calibration = None
    learned = None  # the ranges a quantization-aware graph learned in training, and its input's range
    if request.recipe is Recipe.INT8 and (refusal := int8_refusal(source)) is not None:
        raise refusal
    preprocessing = options.preprocessing
    if request.recipe is Recipe.INT8:
        _, _, channels = image_layout(source.input.shape)
        normalization = preprocessing.normalization(channels, source.input.dtype, "int8 calibration")
        dtype = np.dtype(source.input.dtype)
        if options.calibration is not None:
            calibration = load_calibration(options.calibration, options.calibration_count, source.input.shape, dtype, normalization, reporter,
                                           preprocessing.color, preprocessing.resize)
        elif source.quantization_aware and not options.allow_random_calibration:
            learned = LearnedRanges(None if source.input_range_learned else input_range(normalization))
        else:
            calibration = random_calibration(options.calibration_count, source.input.shape, dtype, normalization)
            reporter.alarm(
                "Calibrating on RANDOM images (--allow-random-calibration): the model runs, "
                "but its int8 accuracy is UNKNOWN. Calibrate with real images before shipping."
            )
    elif preprocessing.mean is not None:
        _, _, channels = image_layout(source.input.shape)
        normalization = preprocessing.normalization(channels, source.input.dtype, "the input")

    if options.quantizer_recipe is not None:
        conversion = convert_with_recipe(source, request, calibration, options.quantizer_recipe, reporter)
    else:
        conversion = convert(source, request, calibration, reporter, learned, normalization)
    kept_accuracy = None
    if options.keep_accuracy is not None:
        from tflgen.pipeline.keep_accuracy import keep_accuracy

        conversion, kept_accuracy = keep_accuracy(options, session, source, request, calibration, conversion)
    if conversion is not None:
        write_file_atomic(options.output, conversion.content)
    origin = calibration.origin if calibration else LearnedRanges.ORIGIN if learned else None
    return ConvertResult(options, source, request, conversion, normalization, origin, kept_accuracy=kept_accuracy)


def check_quantizer_recipe(options: ConvertOptions, recipe: Recipe, integer_only: bool) -> None:
    """--quantizer-recipe against the other options, before anything loads."""
    path = options.quantizer_recipe.path
    if recipe is not Recipe.INT8:
        raise OptionError(f"--quantizer-recipe {path} with --quantize {recipe.value}",
                          "the recipe quantizes with tflgen's int8 calibration: add --quantize int8")
    if integer_only:
        raise OptionError(f"--quantizer-recipe {path} with --target edgetpu", "the Edge TPU runs tflgen's plain int8 only: drop one of them")
    if options.keep_accuracy is not None:
        raise OptionError(f"--quantizer-recipe {path} with --keep-accuracy",
                          "--keep-accuracy chooses each op's precision itself; drop one of them")


def convert_with_recipe(source: SourceModel, request: ConversionRequest, calibration: CalibrationSet | None, recipe: QuantizerRecipe,
                        reporter: Reporter) -> Conversion:
    """int8 with the user's per-op recipe: TensorFlow's calibration (the ranges plain int8 uses),
    the AI Edge Quantizer's ops, the request's IO types."""
    from dataclasses import replace as with_fields

    from tflgen.console import import_tensorflow
    from tflgen.convert import Conversion, calibrated_model, check_result, io_dtypes
    from tflgen.errors import ConversionError
    from tflgen.keep_accuracy import op_graph
    from tflgen.mixed_precision import quantize_with_recipe, split_statistics
    from tflgen.tflite_info import read_model

    if calibration is None:
        raise CalibrationError(f"--quantizer-recipe {recipe.path} needs calibration images", "pass --calibration DIR")
    calibrated = calibrated_model(source, request, calibration, reporter)
    for note in recipe.check_against(op_graph(calibrated).ops):
        reporter.warn(note)
    float_model, ranges = split_statistics(calibrated)
    input_type, output_type = io_dtypes(source, request, import_tensorflow(reporter))
    try:
        with reporter.quiet_native():
            content = quantize_with_recipe(float_model, ranges, recipe, input_type.as_numpy_dtype, output_type.as_numpy_dtype)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise ConversionError(f"the AI Edge Quantizer failed with {recipe.path}: {str(exc).strip().splitlines()[0][:300]}",
                              "check the recipe against the model's ops (tflgen inspect), or rerun with --debug") from exc
    info = read_model(content, "converted model")
    return Conversion(content, info, check_result(info, with_fields(request, allow_float_fallback=True), "--quantizer-recipe"))


def int8_refusal(source: SourceModel) -> OptionError | None:
    """Why int8 can't convert this graph as it is (DeepLab's export: uint8 pixels in, ArgMax labels out), naming the cut that can."""
    cut = source.preprocessing_cut
    if cut is None:
        return None
    return OptionError(
        f"--quantize int8 with {source.path}: the graph takes {source.input.dtype} pixels and prepares them itself "
        f"({', '.join(cut.preprocessing)}), and its labels come from ArgMax as {cut.argmax_dtype}: int8 can quantize neither",
        f"convert the network between them, where tflgen found it: {cut.flags()} (what {cut.input} makes of pixels); "
        "float32 and float16 convert the whole graph",
    )


def input_range(normalization: Normalization | None) -> tuple[float, float]:
    """The float range pixels 0..255 normalize to: the input range of a quantization-aware graph whose
    input has no FakeQuant (what tflite_convert's --mean_values/--std_dev_values set)."""
    if normalization is None or len(set(normalization.mean)) > 1 or len(set(normalization.std)) > 1:
        raise OptionError(
            "a quantization-aware graph whose input has no learned range needs one --mean and one --std",
            "they set the input's quantization as tflite_convert's --mean_values/--std_dev_values did, e.g. --mean 127.5 --std 127.5",
        )
    mean, std = normalization.mean[0], normalization.std[0]
    return (0.0 - mean) / std, (255.0 - mean) / std
