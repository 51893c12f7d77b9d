"""`tflgen inspect`: what a .tflite holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tflgen.cli import app
from tflgen.cli import options as opt


@app.command(no_args_is_help=True)
def inspect(
    model: Annotated[Path, typer.Argument(help="The .tflite to describe.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    debug: opt.Debug = False,
) -> int:
    """Describe a .tflite: IO and quantization, ops, float ops, custom ops, metadata."""
    import dataclasses
    import json
    import sys

    from tflgen.metadata import read_metadata

    from tflgen.cli.summary import print_model_info
    from tflgen.console import Reporter
    from tflgen.errors import SourceError
    from tflgen.tflite_info import read_model

    if not model.is_file():
        raise SourceError(f"{model}: no such file", "give the path of a .tflite file")
    content = model.read_bytes()
    info = read_model(content, str(model))
    metadata = read_metadata(content, str(model))
    reporter = Reporter()
    if as_json:
        data = {"path": str(model), **info.to_json()}
        data["metadata"]["content"] = dataclasses.asdict(metadata) if metadata else None
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        print_model_info(str(model), info, reporter, metadata)
    return 0
