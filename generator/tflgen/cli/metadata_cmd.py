"""`tflgen metadata`: write TFLite metadata (normalization, labels, output semantics) into a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tflgen.cli import options as opt


def metadata(
    model: Annotated[Path, typer.Argument(help="The .tflite to describe.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .tflite to write (may be MODEL with --force).", show_default=False)],
    task: opt.TaskOption = None,
    labels: opt.Labels = None,
    label_offset: opt.LabelOffset = None,
    mean: opt.Mean = None,
    std: opt.Std = None,
    color: opt.Color = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Model name.", rich_help_panel="Description")] = None,
    description: Annotated[Optional[str], typer.Option("--description", help="What the model does.", rich_help_panel="Description")] = None,
    author: Annotated[Optional[str], typer.Option("--author", rich_help_panel="Description")] = None,
    license_: Annotated[Optional[str], typer.Option("--license", rich_help_panel="Description")] = None,
    force: opt.Force = False,
    debug: opt.Debug = False,
) -> int:
    """Write TFLite metadata that Android Studio, the Task Library and MediaPipe read."""
    from tflgen.cli.summary import print_metadata_result
    from tflgen.metadata import ModelInfoText
    from tflgen.pipeline import MetadataOptions, add_metadata
    from tflgen.spec import SpecOptions, read_labels

    reporter = opt.reporter()
    spec_options = SpecOptions(
        task=task, labels=read_labels(labels) if labels else (), labels_path=labels, label_offset=label_offset,
        preprocessing=opt.preprocessing(mean, std, color),
    )
    text = ModelInfoText(name or "", description or "", author or "", license_ or "")
    result = add_metadata(MetadataOptions(model, output, spec_options, text, force), reporter)
    print_metadata_result(output, result, reporter)
    return 0
