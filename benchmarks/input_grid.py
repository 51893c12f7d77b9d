"""What the exact input grid changes for int8 with uint8 IO, measured in one run.

    .venv/bin/python benchmarks/input_grid.py

With mean 127.5 and std 127.5, TensorFlow's converter gives the uint8 input scale 1/127.5 and zero
point 127: every pixel falls half a step between two codes, so the app's rounding moves it half a
step, and an app that feeds raw pixels (MediaPipe) is half a step off too. tflgen now puts the
input on the pixel grid (zero point 128, the mean's half step folded into the first layers' biases:
tflgen.input_grid), so raw pixels are the exact input.

For each trained example and the mini-Xception benchmark model: plain int8 as TFLiteConverter.convert()
makes it, and on the exact grid (tflgen.convert with the normalization), both from the same
calibration, each verified against the source as `tflgen verify` does (the app's preprocessing) on
the held-out images and on two sets generated for this run.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FRESH_SEEDS, FRESH_COUNT = (311, 312), 300


def convert_both(source_path: Path, calibration_folder: Path, count: int, preprocessing, anchors: Path | None = None,  # noqa: ANN001
                 scales: str | None = None) -> tuple[bytes, bytes, str]:
    """(converter's int8, int8 on the exact grid, what the grid did)."""
    from tflgen.calibration import load_calibration
    from tflgen.console import Reporter
    from tflgen.convert import ConversionRequest, convert
    from tflgen.pipeline.session import Session
    from tflgen.recipes import IoType, Recipe
    from tflgen.sources import GraphFlags
    from tflgen.ssd import SsdOptions, params_from_options

    reporter = Reporter()
    ssd = params_from_options(SsdOptions(anchors, scales)) if anchors else None
    source = Session(source_path, GraphFlags(), reporter).to_convert(ssd)
    request = ConversionRequest(Recipe.INT8, IoType.UINT8, integer_only=False, select_tf_ops=False, allow_float_fallback=False)
    normalization = preprocessing.normalization(source.input.shape[3], source.input.dtype, "int8 calibration")
    calibration = load_calibration(calibration_folder, count, source.input.shape, np.dtype(source.input.dtype), normalization, reporter,
                                   preprocessing.color, preprocessing.resize)
    with contextlib.redirect_stderr(io.StringIO()):
        converter = convert(source, request, calibration, reporter).content  # no normalization given: TFLiteConverter.convert()
        grid = convert(source, request, calibration, reporter, normalization=normalization)
    return converter, grid.content, next((note for note in grid.notes if "grid" in note), "")


def table(title: str, source_path: Path, models: tuple[bytes, bytes, str], image_sets: list[tuple[str, Path, int]], spec, work: Path) -> None:  # noqa: ANN001
    from tflgen.console import Reporter
    from tflgen.pipeline import VerifyOptions, verify_model

    converter, grid, what = models
    paths = {"converter": work / "converter.tflite", "grid": work / "grid.tflite"}
    paths["converter"].write_bytes(converter)
    paths["grid"].write_bytes(grid)
    print(f"## {title}")
    print()
    print(f"{what}")
    print()
    print("| images | converter: agreement | converter: output SQNR | exact grid: agreement | exact grid: output SQNR |")
    print("|---|---|---|---|---|")
    for label, folder, count in image_sets:
        cells = []
        for name in ("converter", "grid"):
            with contextlib.redirect_stderr(io.StringIO()):
                v = verify_model(VerifyOptions(source_path, paths[name], folder, spec, image_count=count, latency=False), Reporter()).verification
            cells += [f"{v.agreement:.4f}", f"{v.quantization.to_json()['sqnr_db']:.1f} dB"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import mini_xception

    from tflgen.examples import CALIBRATION_COUNT, get_example, shapes
    from tflgen.examples.defaults import example, generated_images
    from tflgen.spec import ColorOrder, Preprocessing, SpecOptions, Task

    work = Path(tempfile.mkdtemp(prefix="tflgen-grid-"))
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print()
    for name in ("classification", "detection", "segmentation"):
        found, built = example(name), get_example(name)
        sets = [("held-out", generated_images(found, "held-out"), 100)]
        for seed in FRESH_SEEDS:
            folder = shapes.write_images(work / f"{name}-{seed}", name, FRESH_COUNT, seed, found.input_size)[0].parent
            sets.append((f"{FRESH_COUNT} generated, seed {seed}", folder, FRESH_COUNT))
        models = convert_both(built.source_path, generated_images(found, "calibration"), CALIBRATION_COUNT, found.preprocessing,
                              built.anchors_path, found.scales_option)
        spec = SpecOptions(task=Task(found.task), labels=found.read_labels(), preprocessing=found.preprocessing)
        table(f"tflgen's {name} example, {CALIBRATION_COUNT} calibration images", built.source_path, models, sets, spec, work)
    folder = mini_xception.trained()
    gray = Preprocessing.parse("127.5", "127.5", color=ColorOrder.GRAY)
    calibration = mini_xception.write_images(work / "mx-calibration", "calibration", 100)
    held_out = mini_xception.write_images(work / "mx-held-out", "held_out", 100)
    table("mini-Xception 64x64 grayscale (benchmarks/mini_xception.py), 100 calibration images", folder / "model.keras",
          convert_both(folder / "model.keras", calibration, 100, gray), [("100 held-out", held_out, 100)],
          SpecOptions(preprocessing=gray), work)


if __name__ == "__main__":
    main()
