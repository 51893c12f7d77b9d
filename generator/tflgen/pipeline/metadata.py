"""`tflgen metadata`: TFLite metadata written into a .tflite."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tflgen.console import Reporter
from tflgen.errors import OptionError

if TYPE_CHECKING:
    from tflgen.metadata import ModelInfoText, ModelMetadata
    from tflgen.spec import ModelSpec, SpecOptions


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
