"""`tflgen verify` (and every verification inside convert and app): the .tflite against its source."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tflgen.console import Reporter
from tflgen.errors import OptionError
from tflgen.sources import GraphFlags
from tflgen.spec import SpecOptions

if TYPE_CHECKING:
    from tflgen.pipeline.session import Session
    from tflgen.spec import ModelSpec
    from tflgen.verify import Verification


@dataclass(frozen=True)
class VerifyOptions:
    source: Path
    model: Path
    images: Path
    spec: SpecOptions
    graph: GraphFlags = field(default_factory=GraphFlags)
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
    options: VerifyOptions, reporter: Reporter, model_content: bytes | None = None, session: Session | None = None,
    extra_report: dict | None = None,
) -> VerifyResult:
    """Run source and .tflite on the same images and compare. `model_content` is a candidate held in
    memory; `session` the run's source, already loaded, whose answers it keeps across verifications."""
    from tflgen.delegates import gpu_report, xnnpack_report
    from tflgen.errors import SourceError
    from tflgen.metadata import associated_files, read_metadata, spec_options_from_metadata
    from tflgen.pipeline.session import Session
    from tflgen.report import check_report_dir, write_report
    from tflgen.spec import build_spec
    from tflgen.tflite_info import read_model
    from tflgen.verify import (
        BYTES_PER_WEIGHT,
        HEADLINE,
        METRICS,
        LatencyFigure,
        TfliteRunner,
        Verification,
        check_max_drop,
        quantization_check,
        recipe_of,
        source_reference,
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
        spec_options = options.spec.over(spec_options_from_metadata(metadata, associated_files(model_content)))
    spec = build_spec(info, spec_options, "verification")
    if spec.raw_detection:
        raise OptionError(
            f"{options.model} is a raw SSD (box encodings and class scores, no TFLite_Detection_PostProcess)",
            "verify the .tflite converted with --ssd-anchors (which appends the op); a raw SSD's decoding is proven by the app's golden tests",
        )
    session = session or Session(options.source, options.graph, reporter)
    images = session.images(options.images, options.image_count, spec.input.channels)

    source = session.source
    if tuple(source.input.shape[1:]) != spec.input.shape[1:]:
        raise OptionError(
            f"the source's input {list(source.input.shape)} differs from the .tflite's {list(spec.input.shape)}",
            "verify a .tflite against the model it was converted from",
        )
    reference = source_reference(session.runner, spec, model_content, reporter)
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
