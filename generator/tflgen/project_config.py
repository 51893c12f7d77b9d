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
from typing import TYPE_CHECKING, Any

from tflgen.errors import OptionError

if TYPE_CHECKING:
    from tflgen.pipeline import AppOptions

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


def app_settings(options: AppOptions) -> dict[str, Any]:
    """The `tflgen app` request as the options that would make it again, by option name (None: not given)."""
    convert, preprocessing, ssd = options.convert, options.convert.preprocessing, options.convert.ssd
    graph = convert.graph

    def floats(values: tuple[float, ...] | None) -> str | None:
        import numpy as np

        return ",".join(str(np.float32(v)) for v in values) if values is not None else None  # shortest text of the float32 kept

    return {
        "example": options.example, "source": convert.source, "package": options.package, "app_name": options.app_name,
        "task": options.spec.task, "labels": options.spec.labels_path, "label_offset": options.spec.label_offset,
        "color": preprocessing.color, "resize": preprocessing.resize, "quantize": convert.recipe, "io_type": convert.io_type,
        "target": convert.target, "calibration": convert.calibration, "calibration_count": convert.calibration_count,
        "allow_random_calibration": convert.allow_random_calibration, "allow_float_fallback": convert.allow_float_fallback,
        "select_tf_ops": convert.select_tf_ops, "ssd_anchors": ssd.anchors if ssd else None, "ssd_scales": ssd.scales if ssd else None,
        "max_detections": ssd.max_detections if ssd else None, "score_threshold": ssd.score_threshold if ssd else None,
        "iou_threshold": ssd.iou_threshold if ssd else None, "images": options.golden_images, "max_drop": convert.max_drop,
        "keep_accuracy": str(convert.keep_accuracy) if convert.keep_accuracy is not None else None,
        "mean": floats(preprocessing.mean), "std": floats(preprocessing.std),
        "inputs": ",".join(graph.inputs) or None, "outputs": ",".join(graph.outputs) or None,
        "input_shape": ",".join(map(str, graph.input_shape)) if graph.input_shape else None,
        "name": options.text.name or None, "description": options.text.description or None, "model_binding": options.model_binding,
    }


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
