"""`--keep-accuracy`: int8 that meets an accuracy target on --images, or says it can't."""

from __future__ import annotations

from dataclasses import replace as with_fields
from pathlib import Path
from typing import TYPE_CHECKING

from tflgen.errors import OptionError
from tflgen.pipeline.verify import VerifyOptions, verify_model
from tflgen.recipes import Recipe
from tflgen.spec import SpecOptions

if TYPE_CHECKING:
    from tflgen.calibration import CalibrationSet
    from tflgen.convert import Conversion, ConversionRequest
    from tflgen.keep_accuracy import KeptFloat
    from tflgen.pipeline.convert import ConvertOptions
    from tflgen.pipeline.session import Session
    from tflgen.sources import SourceModel
    from tflgen.verify import Verification

KEEP_ACCURACY_IMAGES = 1000  # of --images: softmax SQNR rests on a set's few near ties, so more images steady the search


def check_keep_accuracy(options: ConvertOptions, recipe: Recipe, integer_only: bool) -> None:
    """--keep-accuracy against the other options, before anything loads."""
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


def keep_accuracy(
    options: ConvertOptions, session: Session, source: SourceModel, request: ConversionRequest, calibration: CalibrationSet | None,
    plain: Conversion,
) -> tuple[Conversion | None, KeptFloat]:
    """Plain int8 if it meets --keep-accuracy; else fitted activation ranges plus the fewest worst
    layers (by TensorFlow's quantization debugger) in float that meet it; None if none do. Every
    trial is verified against the session's source, whose answers are computed once."""
    from tflgen.accuracy import format_db
    from tflgen.convert import Conversion, check_result
    from tflgen.keep_accuracy import KeptFloat, LayerRanking, Trial, fewest_float_layers, integer_mac_share
    from tflgen.tflite_info import read_model

    reporter = session.reporter
    target = options.keep_accuracy
    verify_options = VerifyOptions(options.source, options.output, options.images, SpecOptions(preprocessing=options.preprocessing), options.graph,
                                   max_drop=target.max_drop, latency=False, image_count=KEEP_ACCURACY_IMAGES)

    def verified(content: bytes, latency: bool = False, report: Path | None = None, extra: dict | None = None) -> Verification:
        return verify_model(with_fields(verify_options, latency=latency, report=report), reporter, model_content=content,
                            session=session, extra_report=extra).verification

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
