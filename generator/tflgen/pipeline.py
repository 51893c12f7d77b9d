"""Orchestrates the stages. The CLI parses options into these dataclasses and calls here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tflgen.console import Reporter
from tflgen.errors import CalibrationError, OptionError
from tflgen.recipes import IoType, Recipe, Target
from tflgen.reference import Normalization, resolve_normalization
from tflgen.spec import ColorOrder, ResizeMode

if TYPE_CHECKING:  # heavy modules (TensorFlow) load only when a command runs
    from tflgen.convert import Conversion, ConversionRequest
    from tflgen.metadata import ModelInfoText, ModelMetadata
    from tflgen.sources import SourceModel
    from tflgen.spec import ModelSpec, SpecOptions
    from tflgen.keep_accuracy import KeptFloat
    from tflgen.ssd import SsdParams
    from tflgen.verify import Verification


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
    color: ColorOrder | None = None  # how the app feeds the model: calibration preprocesses the same way
    resize: ResizeMode = ResizeMode.STRETCH
    ssd: SsdOptions | None = None
    images: Path | None = None  # --quantize auto and --keep-accuracy: verification images
    max_drop: float | None = None  # --quantize auto: the accepted drop
    report: Path | None = None  # --quantize auto and --keep-accuracy: the chosen model's verification report
    keep_accuracy: str | None = None  # int8: the accepted drop ("0.01") or SQNR floor ("30dB"); see tflgen.keep_accuracy


@dataclass(frozen=True)
class SsdOptions:
    """Raw SSD post-processing: `--ssd-anchors` and the op settings that go with it."""

    anchors: Path
    scales: str | None = None
    max_detections: int | None = None
    score_threshold: float | None = None
    iou_threshold: float | None = None
    # tflgen app: the labels decide whether the scores' first column is the background (ssd.classes_for_labels)
    label_count: int | None = None
    label_offset: int | None = None


@dataclass(frozen=True)
class ConvertResult:
    options: ConvertOptions
    source: SourceModel
    request: ConversionRequest
    conversion: Conversion
    normalization: Normalization | None
    calibration_origin: str | None
    candidates: tuple[Candidate, ...] = ()  # --quantize auto: every recipe tried, with its verification
    choice: str | None = None  # --quantize auto: why the chosen recipe won
    kept_float: KeptFloat | None = None  # --keep-accuracy: the layers kept in float and what they cost


@dataclass(frozen=True)
class Candidate:
    recipe: str
    verification: Verification | None
    failure: str | None = None  # why the recipe could not be converted
    chosen: bool = False
    speed_vs_float32: float | None = None  # float32's median latency / this one's (all cores)

    @property
    def slower_than_float32(self) -> bool:
        return self.speed_vs_float32 is not None and self.speed_vs_float32 < 1 / SLOWER_MARGIN


SLOWER_MARGIN = 1.1  # slower than float32 means more than 10 % slower (timing noise)
SIZE_TIE = 1.1  # --quantize auto: sizes within 10 % tie, and the faster one wins


def pick_candidate(candidates: list[Candidate], max_drop: float) -> tuple[Candidate | None, str]:
    """--quantize auto's choice and why: within --max-drop, not slower than float32 (measured here),
    the smallest, with sizes within 10 % tied and the tie going to the faster."""
    verified = [c for c in candidates if c.verification is not None]
    fitting = [c for c in verified if c.verification.within_budget]
    if not fitting:
        return None, f"no recipe is within --max-drop {max_drop:g}"
    fast = [c for c in fitting if not c.slower_than_float32] or fitting
    smallest = min(c.verification.size_bytes for c in fast)
    tied = [c for c in fast if c.verification.size_bytes <= smallest * SIZE_TIE]
    chosen = min(tied, key=lambda c: (c.verification.latency[-1].median_ms, c.verification.size_bytes))
    v = chosen.verification
    why = [f"{chosen.recipe}: smallest within --max-drop {max_drop:g} ({v.size_bytes:,} bytes, drop {v.drop:.4f}"
           + (f", {chosen.speed_vs_float32:.2f}x float32's speed)" if chosen.speed_vs_float32 else ")")]
    why += [f"{c.recipe} is within {SIZE_TIE - 1:.0%} of its size but slower" for c in tied if c is not chosen]
    why += [f"{c.recipe} is smaller but slower than float32 ({c.speed_vs_float32:.2f}x): passed over"
            for c in fitting if c not in fast and c.verification.size_bytes < v.size_bytes]
    why += [f"{c.recipe} drops {c.verification.drop:.4f} > {max_drop:g}"
            for c in verified if not c.verification.within_budget and c.verification.size_bytes < v.size_bytes]
    return chosen, "; ".join(why)


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
        _check_keep_accuracy(options, recipe, integer_only)
    elif options.images is not None or options.max_drop is not None:
        raise OptionError("--images/--max-drop go with --quantize auto", "use 'tflgen verify' to check a single recipe, or pass --quantize auto")
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


def _check_keep_accuracy(options: ConvertOptions, recipe: Recipe, integer_only: bool) -> None:
    from tflgen.keep_accuracy import AccuracyTarget

    AccuracyTarget.parse(options.keep_accuracy)
    if integer_only:
        raise OptionError("--keep-accuracy with --target edgetpu",
            "the Edge TPU runs integer ops only; a layer kept in float would run on the CPU. Drop one of them")
    if recipe is not Recipe.INT8:
        raise OptionError(f"--keep-accuracy with --quantize {recipe.value}", "--keep-accuracy keeps some layers of an int8 model in float: add --quantize int8")
    if options.images is None:
        raise OptionError("--keep-accuracy needs --images DIR",
            "the drop is verified against the source on these images, e.g. --images ./photos (other than --calibration)")
    if options.max_drop is not None:
        raise OptionError("--max-drop goes with --quantize auto", "--keep-accuracy X is the accepted drop itself; drop --max-drop")
    if options.report is not None:
        from tflgen.report import check_report_dir

        check_report_dir(options.report)


def convert_model(options: ConvertOptions, reporter: Reporter) -> ConvertResult:
    from tflgen.calibration import image_layout, load_calibration, random_calibration
    from tflgen.convert import LearnedRanges, convert
    from tflgen.outputs import check_output_file, write_file_atomic
    from tflgen.sources import GraphFlags, SourceKind, open_source

    check_output_file(options.output, options.force)
    if options.recipe is Recipe.AUTO:
        return _convert_auto(options, reporter)
    request = resolve_request(options, reporter)
    if options.calibration is not None and request.recipe is not Recipe.INT8:
        reporter.warn(f"--calibration is used only by int8; ignored for {request.recipe.value}")
    ssd_params = _ssd_params(options.ssd) if options.ssd else None  # bad anchors fail before loading
    flags = GraphFlags(options.inputs, options.outputs, options.input_shape)
    reporter.info(f"Loading {options.source}")
    source = with_postprocess(open_source(options.source, flags, reporter), ssd_params, reporter)
    if source.kind is SourceKind.TFLITE and request.recipe is not Recipe.FLOAT32:
        raise OptionError(
            f"{options.source} is already a .tflite; --quantize {request.recipe.value} needs the TensorFlow source",
            "quantize from the SavedModel/Keras/TF1 model instead; a .tflite is only copied (and described)",
        )

    normalization = None
    calibration = None
    learned = None  # the ranges a quantization-aware graph learned in training, and its input's range
    if request.recipe is Recipe.INT8 and source.preprocessing_cut is not None:
        cut = source.preprocessing_cut
        raise OptionError(
            f"--quantize int8 with {options.source}: the graph takes {source.input.dtype} pixels and prepares them itself "
            f"({', '.join(cut.preprocessing)}), and its labels come from ArgMax as {cut.argmax_dtype}: int8 can quantize neither",
            f"convert the network between them, where tflgen found it: {cut.flags()} (what {cut.input} makes of pixels); "
            "float32 and float16 convert the whole graph",
        )
    if request.recipe is Recipe.INT8:
        _, _, channels = image_layout(source.input.shape)
        normalization = resolve_normalization(options.mean, options.std, channels, source.input.dtype, "int8 calibration")
        dtype = np.dtype(source.input.dtype)
        if options.calibration is not None:
            calibration = load_calibration(options.calibration, options.calibration_count, source.input.shape, dtype, normalization, reporter, options.color,
                options.resize)
        elif source.quantization_aware and not options.allow_random_calibration:
            learned = LearnedRanges(None if source.input_range_learned else input_range(normalization))
        else:
            calibration = random_calibration(options.calibration_count, source.input.shape, dtype, normalization)
            reporter.alarm(
                "Calibrating on RANDOM images (--allow-random-calibration): the model runs, "
                "but its int8 accuracy is UNKNOWN. Calibrate with real images before shipping."
            )
    elif options.mean is not None or options.std is not None:
        _, _, channels = image_layout(source.input.shape)
        normalization = resolve_normalization(options.mean, options.std, channels, source.input.dtype, "the input")

    conversion = convert(source, request, calibration, reporter, learned)
    kept_float = None
    if options.keep_accuracy is not None:
        conversion, kept_float = _keep_accuracy(options, source, request, calibration, conversion, reporter)
    if conversion is not None:
        write_file_atomic(options.output, conversion.content)
    origin = calibration.origin if calibration else LearnedRanges.ORIGIN if learned else None
    return ConvertResult(options, source, request, conversion, normalization, origin, kept_float=kept_float)


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


KEEP_ACCURACY_IMAGES = 1000  # of --images: softmax SQNR rests on a set's few near ties, so more images steady the search


def _keep_accuracy(
    options: ConvertOptions, source: SourceModel, request: ConversionRequest, calibration, plain: Conversion, reporter: Reporter,  # noqa: ANN001
) -> tuple[Conversion | None, KeptFloat]:
    """Plain int8 if it meets --keep-accuracy; else fitted activation ranges plus the fewest worst
    layers (by TensorFlow's quantization debugger) in float that meet it; None if none do."""
    from dataclasses import replace as with_fields

    from tflgen.accuracy import format_db
    from tflgen.convert import Conversion, check_result
    from tflgen.keep_accuracy import AccuracyTarget, KeptFloat, LayerRanking, Trial, fewest_float_layers, integer_mac_share
    from tflgen.spec import SpecOptions
    from tflgen.tflite_info import read_model

    target = AccuracyTarget.parse(options.keep_accuracy)
    spec = SpecOptions(mean=options.mean, std=options.std, color=options.color, resize=options.resize)
    verify_options = VerifyOptions(options.source, options.output, options.images, spec, options.inputs, options.outputs,
                                   options.input_shape, max_drop=target.max_drop, latency=False, image_count=KEEP_ACCURACY_IMAGES)

    def verified(content: bytes, latency: bool = False, report: Path | None = None, extra: dict | None = None) -> Verification:
        return verify_model(with_fields(verify_options, latency=latency, report=report), reporter, model_content=content,
                            source=source, extra_report=extra).verification

    def described(v: Verification) -> str:
        return f"drop {v.drop:.4f}, output SQNR {format_db(v.quantization.to_json()['sqnr_db'] if v.quantization else None)}"

    baseline = verified(plain.content, latency=True)
    if target.met_by(baseline):
        reporter.info(f"plain int8 ({described(baseline)}) meets --keep-accuracy {target}: no change needed")
        kept = KeptFloat(target, baseline, baseline, integer_macs=integer_mac_share(plain.content))
        if options.report is not None:
            verified(plain.content, False, options.report, {"keep_accuracy": kept.to_json()})  # latency: in keep_accuracy
        return plain, kept
    reporter.info(f"plain int8 ({described(baseline)}) misses --keep-accuracy {target}: fitting activation ranges, "
                  "then ranking layers with TensorFlow's quantization debugger")
    ranking = LayerRanking(source, request, calibration, reporter)
    trials: dict[int, Trial] = {}

    def fits(k: int) -> bool:
        v = verified(ranking.quantize(k))
        trials[k] = Trial(k, v.drop, v.quantization.to_json()["sqnr_db"] if v.quantization else None)
        reporter.info(f"  {'fitted ranges' if k == 0 else f'+ {k} layer(s) in float'}: {described(v)}")
        return target.met_by(v)

    count = fewest_float_layers(len(ranking.layers), fits)
    fitted = (ranking.fitted_ranges, ranking.range_count)
    if count is None:
        return None, KeptFloat(target, baseline, None, ranked_layers=len(ranking.layers), trials=tuple(trials.values()), fitted_ranges=fitted)
    content = ranking.quantize(count)
    info = read_model(content, "converted model")
    conversion = Conversion(content, info, check_result(info, with_fields(request, allow_float_fallback=True), "--keep-accuracy"))
    kept = KeptFloat(target, baseline, verified(content, latency=True), ranking.layers[:count], len(ranking.layers),
                     tuple(trials.values()), integer_mac_share(content), fitted)
    if options.report is not None:
        verified(content, False, options.report, {"keep_accuracy": kept.to_json()})  # latency: in keep_accuracy
    return conversion, kept


def with_postprocess(source: SourceModel, ssd_params: SsdParams | None, reporter: Reporter) -> SourceModel:
    """The source to convert: with TFLite_Detection_PostProcess appended for --ssd-anchors, or for a TF1
    export graph's own post-process node (TensorFlow runs the graph up to it; see sources.ExportedPostprocess)."""
    from tflgen.ssd import ANCHORS_OPTION, params_from_export, wrap_with_postprocess

    if source.exported_postprocess is not None:
        if ssd_params is not None:
            raise OptionError(
                f"{ANCHORS_OPTION} with {source.path}: the graph has its own {source.exported_postprocess.node} node",
                f"drop {ANCHORS_OPTION}: tflgen takes the anchors and settings from the node",
            )
        ssd_params = params_from_export(source.exported_postprocess, source.path)
        reporter.info(f"{source.path}: {source.exported_postprocess.node} kept from the graph "
                      f"({ssd_params.anchor_count} anchors, max {ssd_params.max_detections} detections)")
    return source if ssd_params is None else wrap_with_postprocess(source, ssd_params, reporter)


def _ssd_params(options: SsdOptions) -> SsdParams:
    from tflgen.ssd import SsdParams, load_anchors, parse_scales

    settings = {
        name: value for name, value in (
            ("scales", parse_scales(options.scales) if options.scales else None),
            ("max_detections", options.max_detections),
            ("score_threshold", options.score_threshold),
            ("iou_threshold", options.iou_threshold),
            ("label_count", options.label_count),
            ("label_offset", options.label_offset),
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


@dataclass(frozen=True)
class VerifyOptions:
    source: Path
    model: Path
    images: Path
    spec: SpecOptions
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    input_shape: tuple[int, ...] | None = None
    report: Path | None = None
    max_drop: float | None = None
    threads: int | None = None
    image_count: int = 100
    score_threshold: float = 0.5
    pictures: int = 4
    latency: bool = True  # False: agreement and size only (the figures that are the same on every run)
    paths_relative_to: Path | None = None  # the report names files relative to this folder (a project's), else as given
    path_names: Mapping[str, str] = field(default_factory=dict)  # resolved path -> the name the report gives it


@dataclass(frozen=True)
class VerifyResult:
    verification: Verification
    spec: ModelSpec


def verify_model(
    options: VerifyOptions, reporter: Reporter, model_content: bytes | None = None, source: SourceModel | None = None,
    extra_report: dict | None = None,
) -> VerifyResult:
    """Run source and .tflite on the same images and compare. `model_content`/`source` let
    `--quantize auto` verify candidates it holds in memory against a source it already loaded."""
    from dataclasses import replace as with_fields

    from tflgen.errors import SourceError
    from tflgen.metadata import associated_files, read_metadata, spec_options_from_metadata
    from tflgen.delegates import gpu_report, xnnpack_report
    from tflgen.report import check_report_dir, write_report
    from tflgen.sources import GraphFlags, open_source
    from tflgen.spec import build_spec
    from tflgen.tflite_info import read_model
    from tflgen.verify import (
        HEADLINE,
        METRICS,
        BYTES_PER_WEIGHT,
        LatencyFigure,
        TfliteRunner,
        Verification,
        check_max_drop,
        quantization_check,
        recipe_of,
        thread_counts,
    )

    check_max_drop(options.max_drop)
    if options.report is not None:
        check_report_dir(options.report)
    if model_content is None:
        if not options.model.is_file():
            raise SourceError(f"{options.model}: no such file", "give the .tflite to verify")
        model_content = options.model.read_bytes()
    info = read_model(model_content, str(options.model))
    spec_options = options.spec
    metadata = read_metadata(model_content, str(options.model))
    if metadata is not None:  # what the model says about itself, unless the user says otherwise
        known = spec_options_from_metadata(metadata, associated_files(model_content))
        spec_options = with_fields(
            known, **{k: v for k, v in vars(options.spec).items() if v not in (None, ()) and k != "resize"}, resize=options.spec.resize
        )
    spec = build_spec(info, spec_options, "verification")
    if spec.raw_detection:
        raise OptionError(
            f"{options.model} is a raw SSD (box encodings and class scores, no TFLite_Detection_PostProcess)",
            "verify the .tflite converted with --ssd-anchors (which appends the op); a raw SSD's decoding is proven by the app's golden tests",
        )
    images = _load_images(options.images, options.image_count, spec.input.channels, reporter)

    if source is None:
        reporter.info(f"Loading {options.source}")
        source = open_source(options.source, GraphFlags(options.inputs, options.outputs, options.input_shape), reporter)
    if tuple(source.input.shape[1:]) != spec.input.shape[1:]:
        raise OptionError(
            f"the source's input {list(source.input.shape)} differs from the .tflite's {list(spec.input.shape)}",
            "verify a .tflite against the model it was converted from",
        )
    reference = _reference(source, spec, model_content, reporter)
    candidate = TfliteRunner(model_content, spec, None, reporter)
    reference_results, candidate_results, reference_outputs, candidate_outputs = [], [], [], []
    with reporter.progress("Comparing source and .tflite", len(images)) as advance:
        for _, image in images:
            for results, outputs, answer in ((reference_results, reference_outputs, reference.answer(image, options.score_threshold)),
                                             (candidate_results, candidate_outputs, candidate.answer(image, options.score_threshold))):
                results.append(answer[0])
                outputs.append(answer[1])
            advance(1)
    metrics = METRICS[spec.task](reference_results, candidate_results)
    check = quantization_check(spec, reference_results, candidate_results, reference_outputs, candidate_outputs, options.score_threshold,
                               output_step=candidate.output_step)
    latency = []
    for threads in thread_counts(options.threads) if options.latency else ():
        median, p90 = TfliteRunner(model_content, spec, threads, reporter).latency(images[0][1])
        latency.append(LatencyFigure(threads, median, p90, 30))
    # Where it runs: the GPU delegate's gaps (static), and XNNPACK's partitions next to the latency.
    delegates = {"gpu": gpu_report(model_content).to_json()}
    if options.latency:
        delegates["xnnpack"] = xnnpack_report(model_content, threads=1, reporter=reporter).to_json()
    recipe = recipe_of(info)
    verification = Verification(
        task=spec.task, images=len(images), metrics=metrics, headline=HEADLINE[spec.task],
        agreement=metrics[HEADLINE[spec.task]], recipe=recipe, size_bytes=info.size_bytes,
        parameter_count=source.parameter_count, weight_limit_bytes=source.parameter_count * BYTES_PER_WEIGHT[recipe],
        latency=tuple(latency), reference_kind=reference.kind, max_drop=options.max_drop,
        settings={
            "source": _shown(options.source, options), "model": _shown(options.model, options),
            "images": _shown(options.images, options),
            "image_count": len(images), "score_threshold": options.score_threshold, "spec": spec.to_dict(),
        },
        quantization=check, delegates=delegates,
    )
    if options.report is not None:
        pictures = [(name, image, r, c) for (name, image), r, c in list(zip(images, reference_results, candidate_results))[: options.pictures]]
        write_report(options.report, verification, spec, pictures, extra_report or {})
    return VerifyResult(verification, spec)


def _shown(path: Path, options: VerifyOptions) -> str:
    """How the report names a file: its given name, else relative to the project, else as given."""
    if str(path.resolve()) in options.path_names:
        return options.path_names[str(path.resolve())]
    folder = options.paths_relative_to
    if folder is None or not path.is_absolute() and not path.exists():
        return str(path)
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def _load_images(folder: Path, count: int, channels: int, reporter: Reporter) -> list[tuple[str, np.ndarray]]:
    from tflgen.errors import CalibrationError
    from tflgen.images import UnreadableImage, load_image, pick_images

    loaded = []
    for path in pick_images(folder, count, "--images"):
        try:
            loaded.append((path.relative_to(folder).as_posix(), load_image(path, channels)))
        except UnreadableImage:
            reporter.warn(f"skipped unreadable image {path}")
    if not loaded:
        raise CalibrationError(f"--images {folder}: none of the images could be read", "check that the files are real JPEG/PNG/BMP images")
    return loaded


class _SourceReference:
    """The source's answers, for the task's comparison: `answer(image, score_threshold)` gives the
    Result and the output it was made from (None where the .tflite emits nothing comparable)."""

    def __init__(self, kind: str, answer) -> None:  # noqa: ANN001
        self.kind = kind
        self.answer = answer


def _reference(source: SourceModel, spec: ModelSpec, model_content: bytes, reporter: Reporter) -> _SourceReference:
    from tflgen.convert import ConversionRequest, convert
    from tflgen.recipes import IoType, Recipe
    from tflgen.reference import image_to_input, resolve_normalization
    from tflgen.sources import SourceKind
    from tflgen.spec import SpecOptions, Task, build_spec
    from tflgen.tflite_info import detection_anchors
    from tflgen.verify import (
        TfliteRunner,
        classification_result,
        detection_result,
        segmentation_result,
    )

    if source.kind is SourceKind.TFLITE or (spec.task is Task.DETECTION and source.has_detection_postprocess):
        if source.kind is SourceKind.TFLITE:
            content, kind = source.path.read_bytes(), f"the .tflite {source.path}"
        else:
            # Its TF post-processing body is a placeholder (the converter swaps in the op), so
            # the float32 conversion of the source is the reference.
            request = ConversionRequest(Recipe.FLOAT32, IoType.FLOAT32, False, False, False)
            content, kind = convert(source, request, None, reporter).content, "the float32 conversion of the source (its TF post-processing is a placeholder)"
        from tflgen.tflite_info import read_model

        reference_spec = build_spec(
            read_model(content, kind), SpecOptions(task=spec.task, labels=spec.labels, label_offset=spec.label_offset,
                                                   mean=",".join(map(repr, spec.input.normalization.mean)) if spec.input.normalization else None,
                                                   std=",".join(map(repr, spec.input.normalization.std)) if spec.input.normalization else None),
        )
        runner = TfliteRunner(content, reference_spec, None, reporter)
        return _SourceReference(kind, runner.answer)

    dtype = np.dtype(source.input.dtype)
    normalization = spec.input.normalization
    if dtype == np.float32 and normalization is None:
        normalization = resolve_normalization(None, None, spec.input.channels, "float32", "the source model")

    def source_outputs(image: np.ndarray) -> tuple[np.ndarray, ...]:
        return source.predict(image_to_input(image, spec.input.shape, dtype, normalization if dtype == np.float32 else None))

    if spec.task is Task.DETECTION:
        anchors = detection_anchors(model_content)
        if anchors is None:
            raise OptionError("the .tflite's detection op has no constant anchors", "verify it against a float32 .tflite of the same model")
        from tflgen.ssd import SsdParams, source_raw_outputs
        from tflgen.reference import ssd_postprocess
        from tflgen.tflite_info import read_model

        settings = read_model(model_content, "model").detection
        params = SsdParams(
            anchors=anchors, scales=(settings["y_scale"], settings["x_scale"], settings["h_scale"], settings["w_scale"]),
            max_detections=int(settings["max_detections"]), score_threshold=float(settings["nms_score_threshold"]),
            iou_threshold=float(settings["nms_iou_threshold"]),
        )
        box_index, score_index, _ = source_raw_outputs(source, params)
        num_classes = int(settings["num_classes"])  # as the .tflite's op has it

        def detect(image: np.ndarray, score_threshold: float):  # noqa: ANN202
            raw = source_outputs(image)
            return detection_result(ssd_postprocess(raw[box_index], raw[score_index], anchors, params, num_classes), score_threshold), None

        exported = source.exported_postprocess
        kind = ("the source's raw outputs through the numpy TFLite_Detection_PostProcess" if exported is None else
                f"the graph in TensorFlow up to its {exported.node} node, then tflgen's numpy TFLite_Detection_PostProcess "
                f"with the {exported.node} node's attributes and anchors")
        return _SourceReference(kind, detect)

    if len(source.outputs) != 1 or tuple(source.outputs[0].shape) != spec.outputs[0].shape:
        shapes = ", ".join(str(list(o.shape)) for o in source.outputs)
        raise OptionError(
            f"the source's outputs ({shapes}) don't match the .tflite's {spec.task.value} output {list(spec.outputs[0].shape)}",
            "verify a .tflite against the model it was converted from, with the same --task",
        )
    role = spec.outputs[0].role
    to_result = classification_result if spec.task is Task.CLASSIFICATION else segmentation_result

    def answer(image: np.ndarray, _: float):  # noqa: ANN202
        output = source_outputs(image)[0]
        return to_result(output, role), output

    return _SourceReference("the source model in TensorFlow", answer)


def _convert_auto(options: ConvertOptions, reporter: Reporter) -> ConvertResult:
    """Convert with every recipe, verify each, keep the smallest within --max-drop that is not slower than
    float32 on this machine (sizes within 10 %: the faster), and say why (`pick_candidate`)."""
    from dataclasses import replace as with_fields

    from tflgen.calibration import image_layout, load_calibration
    from tflgen.convert import ConversionRequest, convert
    from tflgen.errors import ConversionError
    from tflgen.outputs import write_file_atomic
    from tflgen.recipes import IoType, Target
    from tflgen.report import check_report_dir
    from tflgen.sources import GraphFlags, open_source
    from tflgen.spec import SpecOptions
    from tflgen.verify import check_max_drop

    if options.keep_accuracy is not None:
        raise OptionError("--keep-accuracy with --quantize auto", "--keep-accuracy keeps some layers of an int8 model in float: use --quantize int8")
    if options.images is None or options.max_drop is None:
        raise OptionError("--quantize auto needs --images DIR and --max-drop X", "e.g. --quantize auto --images ./photos --max-drop 0.02 (plus --mean/--std)")
    check_max_drop(options.max_drop)
    if options.target is Target.EDGETPU:
        raise OptionError("--quantize auto with --target edgetpu", "the Edge TPU runs int8 only: drop --quantize auto")
    if options.report is not None:
        check_report_dir(options.report)
    ssd_params = _ssd_params(options.ssd) if options.ssd else None
    reporter.info(f"Loading {options.source}")
    source = with_postprocess(open_source(options.source, GraphFlags(options.inputs, options.outputs, options.input_shape), reporter),
                              ssd_params, reporter)
    _, _, channels = image_layout(source.input.shape)
    normalization = resolve_normalization(options.mean, options.std, channels, source.input.dtype, "--quantize auto")
    calibration_dir = options.calibration or options.images
    if options.calibration is None:
        reporter.warn("int8 calibrates on the --images it is verified on; pass --calibration DIR for an unbiased figure")
    verify_options = VerifyOptions(
        options.source, options.output, options.images, SpecOptions(mean=options.mean, std=options.std),
        options.inputs, options.outputs, options.input_shape, max_drop=options.max_drop,
    )
    io_type = options.io_type or IoType.FLOAT32
    candidates: list[tuple[Candidate, bytes | None, object]] = []
    for recipe in (Recipe.FLOAT32, Recipe.FLOAT16, Recipe.DYNAMIC, Recipe.INT8):
        reporter.info(f"Trying {recipe.value}")
        request = ConversionRequest(recipe, io_type if recipe is Recipe.INT8 else IoType.FLOAT32, False, options.select_tf_ops, options.allow_float_fallback)
        calibration = None
        if recipe is Recipe.INT8:
            calibration = load_calibration(calibration_dir, options.calibration_count, source.input.shape, np.dtype(source.input.dtype), normalization,
                reporter, options.color, options.resize)
        try:
            conversion = convert(source, request, calibration, reporter)
        except ConversionError as exc:
            reporter.warn(f"{recipe.value}: {exc.message}")
            candidates.append((Candidate(recipe.value, None, exc.message), None, None))
            continue
        verification = verify_model(verify_options, reporter, model_content=conversion.content, source=source).verification
        candidates.append((Candidate(recipe.value, verification), conversion.content, conversion))
    float32 = candidates[0][0].verification  # None if float32 failed to convert
    rated = [with_fields(c, speed_vs_float32=float32.latency[-1].median_ms / c.verification.latency[-1].median_ms)
             if float32 is not None and c.verification is not None else c for c, _, _ in candidates]
    picked, choice = pick_candidate(rated, options.max_drop)
    table = tuple(with_fields(c, chosen=c is picked) for c in rated)
    if picked is None:
        return ConvertResult(options, source, None, None, normalization, None, table, choice)
    chosen = candidates[rated.index(picked)]
    write_file_atomic(options.output, chosen[1])
    if options.report is not None:
        verify_model(with_fields(verify_options, report=options.report), reporter, model_content=chosen[1], source=source,
                     extra_report={"candidates": [_candidate_row(c) for c in table], "choice": choice})
    conversion = chosen[2]
    request = ConversionRequest(Recipe(chosen[0].recipe), io_type if chosen[0].recipe == "int8" else IoType.FLOAT32, False, options.select_tf_ops,
        options.allow_float_fallback)
    origin = f"{options.calibration_count} images from {calibration_dir}" if chosen[0].recipe == "int8" else None
    return ConvertResult(options, source, request, conversion, normalization, origin, table, choice)


def _candidate_row(candidate: Candidate) -> dict:
    v = candidate.verification
    if v is None:
        return {"recipe": candidate.recipe, "failure": candidate.failure, "chosen": False}
    return {
        "recipe": candidate.recipe, "chosen": candidate.chosen, "size_bytes": v.size_bytes, "size_ratio": v.size_ratio,
        "agreement": v.agreement, "drop": v.drop, "within_budget": v.within_budget,
        "latency_ms": {str(run.threads): run.median_ms for run in v.latency},
        "speed_vs_float32": candidate.speed_vs_float32, "slower_than_float32": candidate.slower_than_float32,
        "sqnr_db": v.quantization.to_json()["sqnr_db"] if v.quantization else None,
    }


@dataclass(frozen=True)
class AppOptions:
    convert: ConvertOptions  # its `output` is ignored: the model goes into the project
    spec: SpecOptions
    out: Path
    package: str
    app_name: str
    text: ModelInfoText
    golden_images: Path | None = None  # default: --images, else --calibration
    golden_count: int = 3
    force: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)  # what tflgen.toml records (project_config.recorded_settings)
    example: str | None = None  # the built-in example the source is (named so in the README and report)
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


def build_app(options: AppOptions, reporter: Reporter) -> AppResult:
    """convert -> metadata -> golden vectors -> render: a project whose processing is proven on the JVM.

    `--ssd-anchors` with a TensorFlow source appends TFLite_Detection_PostProcess to the model (the
    recommended path); with a raw SSD .tflite, which can't be given the op, the app decodes the
    boxes and runs NMS itself (Kotlin), with the anchors shipped in the project.
    """
    import tempfile
    from dataclasses import replace as with_fields

    from tflgen.errors import CalibrationError
    from tflgen.golden import GoldenSettings, golden_files
    from tflgen.images import UnreadableImage, load_image, pick_images
    from tflgen.metadata import metadata_for_spec, write_metadata
    from tflgen.render import (
        ProjectFacts, ProjectOptions, check_expressible, check_output_dir, render_project, validate_app_name, validate_package,
    )
    from tflgen.project_config import recorded_settings
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
    candidates = pick_images(golden_dir, options.golden_count * 3, "--images")  # spares for unreadable ones

    decoded_in_app = _ssd_decoded_in_app(options.convert)
    ssd_op = None if decoded_in_app is not None else options.convert.ssd  # a TF source's anchors: the op is appended
    if ssd_op is not None and options.spec.labels:
        ssd_op = with_fields(ssd_op, label_count=len(options.spec.labels), label_offset=options.spec.label_offset)
    anchors = decoded_in_app.anchors if decoded_in_app is not None else None
    with tempfile.TemporaryDirectory(prefix="tflgen-app-") as work:
        converted = convert_model(
            with_fields(options.convert, output=Path(work) / MODEL_FILE, force=True, ssd=ssd_op, color=options.spec.color, resize=options.spec.resize),
            reporter,
        )
        if converted.conversion is None:  # --quantize auto found no recipe within budget
            return AppResult(converted, None, options.out, (), 0)
        content = (Path(work) / MODEL_FILE).read_bytes()
    spec_options = with_fields(options.spec, mean=options.convert.mean, std=options.convert.std, ssd=decoded_in_app)
    spec = build_spec(read_model(content, "converted model"), spec_options, "the app")
    check_expressible(spec)
    metadata, associated = metadata_for_spec(spec, options.text)
    model = write_metadata(content, metadata, associated)

    paths = []
    for path in candidates:
        try:
            load_image(path, 3)
        except UnreadableImage:
            reporter.warn(f"skipped unreadable image {path}")
            continue
        paths.append(path)
        if len(paths) == options.golden_count:
            break
    if not paths:
        raise CalibrationError(f"--images {golden_dir}: none of the images could be read", "check that the files are real JPEG/PNG/BMP images")
    with reporter.quiet_native():
        golden = golden_files(model, spec, paths, GoldenSettings(), anchors)
    verification, report_files = _verify_for_app(options, spec_options, golden_dir, model, reporter)
    recorded = dict(options.settings) or recorded_settings(
        {"source": options.convert.source, "package": options.package, "app_name": options.app_name}, options.out,
    )
    settings = {"tflgen": {"app": recorded}}
    import tomli_w

    toml = (tomli_w.dumps(settings) + "\n" + spec_to_toml(spec)).encode("utf-8")
    extra = {**golden, **report_files, MODEL_PATH: model, "tflgen.toml": toml}
    recipe = converted.request.recipe.value if converted.request else "float32"
    shown_source = (f"tflgen's built-in example `{options.example}`" if options.example
                    else f"`{recorded['source']}` (path from this folder)")
    facts = ProjectFacts(
        source=shown_source, recipe=recipe,
        io_type=converted.request.io_type.value if converted.request else "float32", model_bytes=len(model),
        metadata=_metadata_contents(spec, options.text),
        verification=tuple(summary_rows(verification.to_json())) if verification else (),
        report=REPORT_DIR if report_files else "",
    )
    project = ProjectOptions(options.package, options.app_name, MODEL_FILE, facts, options.model_binding)
    rendered = render_project(spec, options.out, project, extra, options.force, anchors)
    return AppResult(converted, spec, options.out, rendered.files, len(paths), verification)


REPORT_DIR = "verification"  # the verification report's folder in the project
APP_VERIFY_IMAGES = 50


def _verify_for_app(
    options: AppOptions, spec_options: SpecOptions, images: Path, model: bytes, reporter: Reporter,
) -> tuple[Verification | None, dict[str, bytes]]:
    """The .tflite against its TensorFlow source on the app's images, and the report's files for the
    project. Latency is left out: it differs from run to run, and the project's files must not. A
    .tflite source has nothing to be verified against."""
    import tempfile

    from tflgen.sources import SourceKind, detect_kind

    if detect_kind(options.convert.source)[0] is SourceKind.TFLITE:
        return None, {}
    c = options.convert
    with tempfile.TemporaryDirectory(prefix="tflgen-verify-") as work:
        report = Path(work) / REPORT_DIR
        verified = verify_model(
            VerifyOptions(
                source=c.source, model=Path(MODEL_PATH), images=images, spec=spec_options, inputs=c.inputs, outputs=c.outputs,
                input_shape=c.input_shape, report=report, image_count=APP_VERIFY_IMAGES, latency=False,
                paths_relative_to=options.out, path_names=_example_names(options, images),
            ),
            reporter, model_content=model,
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

    if options.ssd is None or detect_kind(options.source)[0] is not SourceKind.TFLITE:
        return None
    return _ssd_params(options.ssd)
