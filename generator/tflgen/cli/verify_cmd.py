"""`tflgen verify`: how far the .tflite is from its source model, on your images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tflgen.cli import options as opt
from tflgen.spec import ResizeMode


def verify(
    images: Annotated[Path, typer.Option("--images", help="Folder of images like the ones the app will see (recursive).", show_default=False)],
    source: opt.SourcePath = None,
    model: Annotated[Optional[Path], typer.Argument(help="The .tflite converted from SOURCE (with --example: the only argument).", show_default=False)] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write report.json, report.md, report.html and pictures here.", show_default=False)] = None,
    max_drop: Annotated[Optional[float], typer.Option("--max-drop", help="Exit 1 when 1 - agreement exceeds this (0..1).", show_default=False)] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", help="Latency at this many threads (default: 1 and all cores).", show_default=False)] = None,
    count: Annotated[int, typer.Option("--count", help="How many images to use (spread over the sorted list).")] = 100,
    score_threshold: Annotated[float, typer.Option("--score-threshold", help="Detection: the score above which detections count.")] = 0.5,
    task: opt.TaskOption = None,
    labels: opt.Labels = None,
    label_offset: opt.LabelOffset = None,
    mean: opt.Mean = None,
    std: opt.Std = None,
    color: opt.Color = None,
    resize: opt.Resize = ResizeMode.STRETCH,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    input_shape: opt.InputShape = None,
    example: opt.Example = None,
    verbose: opt.Verbose = False,
    debug: opt.Debug = False,
) -> int:
    """Run SOURCE and the .tflite on the same images; report agreement, size and latency."""
    from tflgen.cli.summary import print_verification
    from tflgen.errors import EXIT_BUDGET_MISSED, OptionError
    from tflgen.examples import get_example
    from tflgen.pipeline import VerifyOptions, verify_model
    from tflgen.spec import SpecOptions, read_labels

    reporter = opt.reporter()
    if example is not None and model is None:  # tflgen verify --example NAME model.tflite
        source, model = get_example(example).source_path, source
    if model is None:
        raise OptionError("no .tflite given", "tflgen verify SOURCE MODEL.tflite --images DIR (or tflgen verify --example NAME MODEL.tflite)")
    source = opt.require_source(source)
    spec = SpecOptions(task=task, labels=read_labels(labels) if labels else (), labels_path=labels,
                       label_offset=label_offset, preprocessing=opt.preprocessing(mean, std, color, resize))
    result = verify_model(
        VerifyOptions(source, model, images, spec, opt.graph_flags(inputs, outputs, input_shape), report, max_drop, threads, count, score_threshold),
        reporter,
    )
    print_verification(result.verification, report, reporter)
    return EXIT_BUDGET_MISSED if result.verification.within_budget is False else 0
