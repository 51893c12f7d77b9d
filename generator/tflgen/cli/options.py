"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tflgen.errors import OptionError
from tflgen.spec import ColorOrder, ResizeMode, Task  # light: no TensorFlow

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show TensorFlow's own log output.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the traceback of errors.")]
Force = Annotated[bool, typer.Option("--force", help="Replace the output if it exists.")]
Mean = Annotated[
    Optional[str],
    typer.Option("--mean", help="Input normalization mean, one value or one per channel: x = (pixel - mean) / std.", rich_help_panel="Input"),
]
Std = Annotated[
    Optional[str],
    typer.Option("--std", help="Input normalization std, one value or one per channel.", rich_help_panel="Input"),
]
Inputs = Annotated[
    Optional[str],
    typer.Option("--inputs", help="TF1 graphs: the input tensor name.", rich_help_panel="TF1 graphs"),
]
Outputs = Annotated[
    Optional[str],
    typer.Option("--outputs", help="TF1 graphs: output tensor names, comma-separated.", rich_help_panel="TF1 graphs"),
]
InputShape = Annotated[
    Optional[str],
    typer.Option("--input-shape", help="Fixed input shape for dynamic models, e.g. 1,224,224,3.", rich_help_panel="TF1 graphs"),
]
SourcePath = Annotated[
    Path,
    typer.Argument(help="SavedModel folder, .keras, .h5, TF1 frozen .pb, TF1 checkpoint prefix, or .tflite.", show_default=False),
]


def names(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else ()


def shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        dims = tuple(int(part) for part in text.split(","))
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise OptionError(f"--input-shape {text!r} is not a list of positive integers", "write it like 1,224,224,3 (NHWC, batch 1)")
    return dims



TaskOption = Annotated[
    Optional[Task],
    typer.Option("--task", help="classification, detection or segmentation (default: read from the outputs).", rich_help_panel="Model", show_default=False),
]
Labels = Annotated[
    Optional[Path],
    typer.Option("--labels", help="Labels file, UTF-8, one label per line.", rich_help_panel="Model", show_default=False),
]
LabelOffset = Annotated[
    Optional[int],
    typer.Option("--label-offset", help="Label of class i is line i+offset: 1 when the file starts with a background/??? row, -1 when the model has a background class the file lacks.", rich_help_panel="Model", show_default=False),
]
Color = Annotated[
    Optional[ColorOrder],
    typer.Option("--color", help="Channel order the model expects (default rgb, gray for 1 channel).", rich_help_panel="Input", show_default=False),
]
Resize = Annotated[
    ResizeMode,
    typer.Option("--resize", help="How the app fits camera frames to the input size.", rich_help_panel="Input"),
]
