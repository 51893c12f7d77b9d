"""`tflgen inspect`: what a .tflite holds, and where it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tflgen.cli import options as opt
from tflgen.recipes import Target


def inspect(
    model: Annotated[Path, typer.Argument(help="The .tflite to describe.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    target: Annotated[Target, typer.Option("--target", help="edgetpu: add a static prediction of what the Edge TPU compiler maps.")] = Target.GENERIC,
    debug: opt.Debug = False,
) -> int:
    """Describe a .tflite: IO and quantization, ops, float ops, custom ops, metadata; XNNPACK partitions
    and latency measured here, the ops the GPU delegate won't take, and with --target edgetpu the Edge TPU prediction."""
    import dataclasses
    import json
    import sys

    from tflgen.metadata import read_metadata

    from tflgen.cli.summary import print_model_info
    from tflgen.delegates import edgetpu_report, gpu_report, xnnpack_report
    from tflgen.errors import SourceError
    from tflgen.tflite_info import read_model

    if not model.is_file():
        raise SourceError(f"{model}: no such file", "give the path of a .tflite file")
    content = model.read_bytes()
    info = read_model(content, str(model))
    metadata = read_metadata(content, str(model))
    reporter = opt.reporter()
    try:  # a model LiteRT can't load (Flex ops, ...) is still described, without the measurement
        xnnpack = xnnpack_report(content, reporter=reporter)
    except SourceError as exc:
        xnnpack = exc.message
    gpu = gpu_report(content)
    edgetpu = edgetpu_report(content) if target is Target.EDGETPU else None
    if as_json:
        data = {"path": str(model), **info.to_json()}
        data["metadata"]["content"] = dataclasses.asdict(metadata) if metadata else None
        data["xnnpack"] = xnnpack.to_json() if not isinstance(xnnpack, str) else {"error": xnnpack}
        data["gpu"] = gpu.to_json()
        data["edgetpu"] = edgetpu.to_json() if edgetpu is not None else None
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        print_model_info(str(model), info, reporter, metadata, xnnpack=xnnpack, gpu=gpu, edgetpu=edgetpu)
    return 0
