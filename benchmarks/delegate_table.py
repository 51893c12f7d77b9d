"""XNNPACK partitions, ops left out and latency of every recipe, measured in one run.

    .venv/bin/python benchmarks/delegate_table.py

For MobileNetV2 (alpha 1.0, 224x224, 1000 classes) and MobileNetV3-Small (224x224, 1000 classes),
both with seeded random weights and batch-norm statistics from images (nothing is downloaded), it
converts each recipe with `tflgen convert` (int8: uint8 IO, calibrated on 60 generated images) and
reads `tflgen.delegates.xnnpack_report`: the partitions LiteRT's XNNPACK delegate really made, the
ops it left to LiteRT's own kernels, and the median of 30 invoke() after 5 warm-up on 1 thread.
The ratio is float32's latency over the recipe's: above 1 is faster than float32.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import models  # noqa: E402

RECIPES = ("float32", "float16", "dynamic", "int8")


def convert(source: Path, out: Path, recipe: str, calibration: Path) -> None:
    from tflgen.cli import main

    args = ["convert", str(source), "-o", str(out), "-q", recipe, "--force"]
    if recipe == "int8":
        args += ["--io-type", "uint8", "--calibration", str(calibration), "--calibration-count", "60",
                 "--mean", "127.5", "--std", "127.5"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(args)
    if code != 0:
        raise SystemExit(f"tflgen convert {recipe} failed with exit code {code}")


def main() -> None:
    from importlib.metadata import version

    from tflgen.delegates import xnnpack_report

    work = Path(tempfile.mkdtemp(prefix="tflgen-delegates-"))
    calibration = models.write_images(work / "calibration", 60, seed=4)
    cases = {
        "MobileNetV2 1.0 224": lambda: models.mobilenet_v2(input_size=224, alpha=1.0, classes=1000, classifier_activation="softmax"),
        "MobileNetV3-Small 224": lambda: models.mobilenet_v3_small(input_size=224, classes=1000),
    }
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"ai-edge-litert {version('ai-edge-litert')}")
    print("latency: median of 30 invoke() after 5 warm-up, 1 thread, XNNPACK (LiteRT's default delegates)")
    print()
    for name, build in cases.items():
        source = work / (name.split()[0] + ".keras")
        build().save(source)
        print(f"## {name}")
        print()
        print("| recipe | XNNPACK partitions | ops in XNNPACK | ops left out | median latency (ms) | speed vs float32 |")
        print("|---|---|---|---|---|---|")
        float32_ms = None
        for recipe in RECIPES:
            model = work / f"{source.stem}_{recipe}.tflite"
            convert(source, model, recipe, calibration)
            report = xnnpack_report(model.read_bytes(), threads=1)
            float32_ms = float32_ms or report.median_ms
            left_out = ", ".join(f"{op}×{n}" for op, n in report.left_out) or "none"
            ratio = float32_ms / report.median_ms
            flag = " (slower)" if ratio < 1 else ""
            print(f"| {recipe} | {report.partitions} | {report.delegated_ops} of {report.op_count} | {left_out} | "
                  f"{report.median_ms:.2f} | {ratio:.2f}×{flag} |")
        print()


if __name__ == "__main__":
    main()
