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
    from tflgen.keep_accuracy import KeptAccuracy
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
) -> tuple[Conversion | None, KeptAccuracy]:
    """Plain int8 if it meets --keep-accuracy; else the first lever that meets it (tflgen.keep_accuracy:
    fitted ranges, then the fewest int16 activations, then the fewest float
    layers between int16 activations); None if none does. Every trial is verified against the session's source, whose
    answers are computed once, with its size, integer share and latency."""
    from tflgen.accuracy import format_db
    from tflgen.calibration import image_layout
    from tflgen.convert import Conversion, check_result
    from tflgen.keep_accuracy import KeptAccuracy, LayerRanking, Lever, Trial, fewest, mac_shares
    from tflgen.tflite_info import read_model

    reporter = session.reporter
    target = options.keep_accuracy
    verify_options = VerifyOptions(options.source, options.output, options.images, SpecOptions(preprocessing=options.preprocessing), options.graph,
                                   max_drop=target.max_drop, latency=False, image_count=KEEP_ACCURACY_IMAGES)

    def verified(content: bytes, latency: bool = False, report: Path | None = None, extra: dict | None = None,
                 threads: int | None = None) -> Verification:
        return verify_model(with_fields(verify_options, latency=latency, report=report, threads=threads), reporter, model_content=content,
                            session=session, extra_report=extra).verification

    def described(v: Verification) -> str:
        return f"drop {v.drop:.4f}, output SQNR {format_db(v.quantization.to_json()['sqnr_db'] if v.quantization else None)}"

    baseline = verified(plain.content, latency=True)
    if target.met_by(baseline):
        reporter.info(f"plain int8 ({described(baseline)}) meets --keep-accuracy {target}: no change needed")
        kept = KeptAccuracy(target, baseline, baseline, macs=mac_shares(plain.content))
        if options.report is not None:
            verified(plain.content, False, options.report, {"keep_accuracy": kept.to_json()})  # latency: in keep_accuracy
        return plain, kept
    reporter.info(f"plain int8 ({described(baseline)}) misses --keep-accuracy {target}: trying fitted activation ranges, "
                  "then int16 activations and float layers ranked by TensorFlow's quantization debugger")
    normalization = options.preprocessing.normalization(image_layout(source.input.shape)[2], source.input.dtype, "int8 calibration")
    ranking = LayerRanking(source, request, calibration, reporter, normalization)
    trials: list[Trial] = []
    models: dict[tuple[Lever, int], tuple[bytes, Verification]] = {}

    def tried(lever: Lever, count: int, content: bytes) -> bool:
        v = verified(content, latency=True, threads=1)  # a trial's latency at one thread; plain int8's at 1 and all cores
        models[lever, count] = content, v
        macs = mac_shares(content)
        trials.append(Trial(lever, count, v.drop, v.quantization.to_json()["sqnr_db"] if v.quantization else None, v.size_bytes, macs,
                            v.latency[0].median_ms if v.latency else None))
        what = {Lever.RANGES: "fitted ranges", Lever.INT16: f"+ {count} activation(s) in int16",
                Lever.FLOAT: f"+ every activation in int16, {count} layer(s) in float"}[lever]
        reporter.info(f"  {what}: {described(v)}, {macs.integer_share:.1%} of MACs integer" if macs.total else f"  {what}: {described(v)}")
        return target.met_by(v)

    fitted = (ranking.fitted_ranges, ranking.range_count)
    ranked = (len(ranking.activations), len(ranking.layers))
    grid = (True, ranking.grid) if ranking.grid else (False, ranking.grid_missing)
    lever, count = Lever.RANGES, 0
    if not tried(Lever.RANGES, 0, ranking.quantize_int8()):
        lever, count = Lever.INT16, fewest(len(ranking.activations), lambda k: tried(Lever.INT16, k, ranking.quantize_mixed(k)), start=1)
        if count is None:
            every = len(ranking.activations)
            lever, count = Lever.FLOAT, fewest(len(ranking.layers), lambda j: tried(Lever.FLOAT, j, ranking.quantize_mixed(every, j)), start=1)
    if count is None:
        return None, KeptAccuracy(target, baseline, None, None, ranked=ranked, trials=tuple(trials), fitted_ranges=fitted, input_grid=grid)
    content, chosen = models[lever, count]
    info = read_model(content, "converted model")
    conversion = Conversion(content, info, check_result(info, with_fields(request, allow_float_fallback=True), "--keep-accuracy"))
    int16 = ranking.activations[:count] if lever is Lever.INT16 else ranking.activations if lever is Lever.FLOAT else ()
    kept = KeptAccuracy(target, baseline, chosen, lever, tuple(int16), tuple(ranking.layers[:count]) if lever is Lever.FLOAT else (),
                        ranked, tuple(trials), mac_shares(content), fitted, grid)
    if options.report is not None:
        verified(content, False, options.report, {"keep_accuracy": kept.to_json()})  # latency: in keep_accuracy
    return conversion, kept
