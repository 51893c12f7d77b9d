"""`--quantize auto`: every recipe converted and verified; the smallest within --max-drop kept."""

from __future__ import annotations

from dataclasses import replace as with_fields
from typing import TYPE_CHECKING

import numpy as np

from tflgen.errors import OptionError
from tflgen.pipeline.convert import ConvertOptions, ConvertResult, int8_refusal
from tflgen.pipeline.verify import VerifyOptions, verify_model
from tflgen.recipes import IoType, Recipe, Target
from tflgen.spec import SpecOptions

if TYPE_CHECKING:
    from tflgen.pipeline.session import Session

RECIPES = (Recipe.FLOAT32, Recipe.FLOAT16, Recipe.DYNAMIC, Recipe.INT8)


def check_auto(options: ConvertOptions) -> None:
    """--quantize auto against the other options, before anything loads."""
    from tflgen.report import check_report_dir
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


def convert_auto(options: ConvertOptions, session: Session) -> ConvertResult:
    """Convert with every recipe, verify each against the session's source (its answers computed once),
    keep the smallest within --max-drop that is not slower than float32 on this machine (sizes within
    10 %: the faster), and say why (`recipe_choice.pick_candidate`)."""
    from tflgen.calibration import image_layout, load_calibration
    from tflgen.convert import ConversionRequest, convert
    from tflgen.errors import ConversionError
    from tflgen.outputs import write_file_atomic
    from tflgen.recipe_choice import Candidate, candidate_row, pick_candidate
    from tflgen.ssd import params_from_options

    check_auto(options)
    reporter = session.reporter
    ssd_params = params_from_options(options.ssd) if options.ssd else None
    source = session.to_convert(ssd_params)
    _, _, channels = image_layout(source.input.shape)
    preprocessing = options.preprocessing
    normalization = preprocessing.normalization(channels, source.input.dtype, "--quantize auto")
    calibration_dir = options.calibration or options.images
    if options.calibration is None:
        reporter.warn("int8 calibrates on the --images it is verified on; pass --calibration DIR for an unbiased figure")
    verify_options = VerifyOptions(options.source, options.output, options.images, SpecOptions(preprocessing=preprocessing), options.graph,
                                   max_drop=options.max_drop)
    io_type = options.io_type or IoType.FLOAT32

    def request_for(recipe: Recipe) -> ConversionRequest:
        return ConversionRequest(recipe, io_type if recipe is Recipe.INT8 else IoType.FLOAT32, False, options.select_tf_ops, options.allow_float_fallback)

    candidates: list[tuple[Candidate, bytes | None, object]] = []
    for recipe in RECIPES:
        reporter.info(f"Trying {recipe.value}")
        if recipe is Recipe.INT8 and (refusal := int8_refusal(source)) is not None:
            reporter.warn(f"{recipe.value}: {refusal.message}")
            candidates.append((Candidate(recipe.value, None, f"{refusal.message}; {refusal.hint}"), None, None))
            continue
        calibration = None
        if recipe is Recipe.INT8:
            calibration = load_calibration(calibration_dir, options.calibration_count, source.input.shape, np.dtype(source.input.dtype), normalization,
                                           reporter, preprocessing.color, preprocessing.resize)
        try:
            conversion = convert(source, request_for(recipe), calibration, reporter)
        except ConversionError as exc:
            reporter.warn(f"{recipe.value}: {exc.message}")
            candidates.append((Candidate(recipe.value, None, exc.message), None, None))
            continue
        verification = verify_model(verify_options, reporter, model_content=conversion.content, session=session).verification
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
        verify_model(with_fields(verify_options, report=options.report), reporter, model_content=chosen[1], session=session,
                     extra_report={"candidates": [candidate_row(c) for c in table], "choice": choice})
    recipe = Recipe(chosen[0].recipe)
    origin = f"{options.calibration_count} images from {calibration_dir}" if recipe is Recipe.INT8 else None
    return ConvertResult(options, source, request_for(recipe), chosen[2], normalization, origin, table, choice)
