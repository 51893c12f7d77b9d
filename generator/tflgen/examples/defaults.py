"""What `--example NAME` means on the command line: the example's files and settings as the
defaults of the command's options (options given explicitly still win).

The int8 recipe is calibrated on generated images of the example's own task, made with the same
seed and count as `scripts/train_examples.py` used, so `tflgen app --example NAME` produces the
very int8 model whose quality the script measured. Generated images are cached under the user's
cache folder (`$XDG_CACHE_HOME/tflgen`, else `~/.cache/tflgen`), written once, atomically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tflgen import __version__
from tflgen.errors import OptionError, OutputError
from tflgen.examples import EXAMPLES, SEEDS, CALIBRATION_COUNT, VERIFY_COUNT, Example

APP_NAMES = {"classification": "Shape Classifier", "detection": "Shape Detector", "segmentation": "Shape Segmenter"}


def example(name: str, option: str = "--example") -> Example:
    if name not in EXAMPLES:
        raise OptionError(f"{option} {name!r}: no such example", f"choose one of {', '.join(EXAMPLES)}")
    found = EXAMPLES[name]
    if not found.is_built():
        raise OptionError(f"{option} {name}: the example's model is missing from {found.folder}",
            "reinstall tflgen, or run scripts/train_examples.py in a checkout")
    return found


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tflgen" / __version__


def generated_images(found: Example, purpose: str) -> Path:
    """A folder of the example's generated images: "calibration" (for int8) or "held-out" (for verify)."""
    from tflgen.examples import shapes

    seed, count = {"calibration": (SEEDS[found.name]["calibration"], CALIBRATION_COUNT),
                   "held-out": (SEEDS[found.name]["held_out"], VERIFY_COUNT)}[purpose]
    folder = cache_root() / f"{found.name}-{purpose}-{seed}-{count}"
    if folder.is_dir():
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        raise OutputError(f"cannot write the example's generated images under {folder.parent}: {exc.strerror}",
                          "set XDG_CACHE_HOME to a writable folder") from None
    try:
        shapes.write_images(staging, found.task, count, seed, found.input_size)
        try:
            staging.replace(folder)
        except OSError:  # another process made it first: theirs is the same
            pass
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def example_settings(name: str, command: str) -> dict[str, Any]:
    """The example's defaults for `command` (app, convert or verify), keyed by option name."""
    found = example(name)
    settings: dict[str, Any] = {"task": found.task, "labels": str(found.labels_path), "mean": found.mean_option, "std": found.std_option}
    if command in ("app", "convert"):
        settings.update(source=str(found.source_path), quantize="int8", io_type="uint8", calibration=str(generated_images(found, "calibration")),
                        calibration_count=CALIBRATION_COUNT)
        if found.anchors_path is not None:
            settings.update(ssd_anchors=str(found.anchors_path), ssd_scales=found.scales_option)
    if command == "app":
        settings.update(images=str(generated_images(found, "held-out")), package=f"com.example.shapes.{found.name}", app_name=APP_NAMES[found.name],
                        name=APP_NAMES[found.name], description=found.description)
    if command == "verify":  # its one argument is the .tflite (the command puts the example's model first)
        settings.update(images=str(generated_images(found, "held-out")), count=VERIFY_COUNT)
    return settings
