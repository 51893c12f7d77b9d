"""tflgen.toml: the exact `tflgen app` settings a project was made with, so that
`tflgen app --config tflgen.toml` makes it again.

`[tflgen.app]` holds the command's options by parameter name (`io_type`, `ssd_anchors`, ...), as
given; paths are stored relative to the project folder, so the project can move along with its
model. The `[model]` tables after it record the ModelSpec tflgen derived (for reading, not input).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from tflgen.errors import OptionError

CONFIG_FILE = "tflgen.toml"
SECTION = ("tflgen", "app")

# The options recorded, and which of them are paths.
APP_SETTINGS: tuple[str, ...] = (
    "example", "source", "package", "app_name", "task", "labels", "label_offset", "color", "resize", "quantize", "io_type", "target",
    "calibration", "calibration_count", "allow_random_calibration", "allow_float_fallback", "select_tf_ops", "ssd_anchors",
    "ssd_scales", "max_detections", "score_threshold", "iou_threshold", "images", "max_drop", "keep_accuracy", "mean", "std", "inputs",
    "outputs", "input_shape", "name", "description", "model_binding",
)
PATH_SETTINGS = frozenset({"source", "labels", "calibration", "ssd_anchors", "images"})


def recorded_settings(values: Mapping[str, Any], project: Path, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings to write: unset ones left out, and those equal to `defaults` (what `--example`
    supplies: the example's name stands for them); enums by value, paths relative to `project`."""
    out: dict[str, Any] = {}
    for name in APP_SETTINGS:
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, Enum):
            value = value.value
        if defaults and name in defaults and str(value) == str(defaults[name]):
            continue
        elif name in PATH_SETTINGS:
            value = Path(os.path.relpath(Path(value).resolve(), project.resolve())).as_posix()
        out[name] = value
    return out


def read_settings(path: Path, option: str = "--config") -> dict[str, Any]:
    """The settings of a tflgen.toml, with its paths made absolute again (relative to its folder)."""
    if not path.is_file():
        raise OptionError(f"{option} {path}: no such file", f"give a project's {CONFIG_FILE}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OptionError(f"{option} {path} is not valid TOML: {exc}", "fix the file, or regenerate it with tflgen app") from None
    section: Any = data
    for key in SECTION:
        section = section.get(key) if isinstance(section, dict) else None
    if not isinstance(section, dict):
        raise OptionError(f"{option} {path} has no [{'.'.join(SECTION)}] table", f"give the {CONFIG_FILE} that tflgen app wrote into a project")
    unknown = sorted(set(section) - set(APP_SETTINGS))
    if unknown:
        raise OptionError(f"{option} {path}: unknown setting(s) {', '.join(unknown)}", f"the settings are: {', '.join(APP_SETTINGS)}")
    if "source" not in section and "example" not in section:
        raise OptionError(f"{option} {path} names no source model", "add source = \"path/to/model\" to [tflgen.app]")
    folder = path.resolve().parent
    return {name: str(folder / value) if name in PATH_SETTINGS else value for name, value in section.items()}
