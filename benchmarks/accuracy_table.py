"""Output SQNR, confident agreement and the verdict per recipe, and what --keep-accuracy buys, in one run.

    .venv/bin/python benchmarks/accuracy_table.py [--keep-accuracy X]

MobileNetV2 1.0 224 (1000 classes, softmax) with seeded random weights and batch-norm statistics
from images, as tests/models.mobilenet_v2 builds it (nothing is downloaded), and tflgen's trained
classification example. Every recipe is converted and verified against the source by the
`--quantize auto` machinery with an open budget; then int8 with `--keep-accuracy X`. Random
weights give near-uniform probabilities over 1000 classes, so top-1 agreement there decides
between near ties; the trained example is the real classifier. Its --keep-accuracy search runs on
the example's 100 held-out images (uint8 IO, as the example ships); the chosen model and plain
int8 are then verified again on 1000 freshly generated images that took no part in the search.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import models  # noqa: E402
from tflgen.accuracy import format_db  # noqa: E402

IMAGES, CALIBRATION = 40, 60
FRESH_IMAGES, FRESH_SEEDS = 1000, (311, 312, 313)  # the trained example's independent check (its own seeds are 111 and 211)


def _db(check) -> str:  # noqa: ANN001 (QuantizationCheck)
    return format_db(check.to_json()["sqnr_db"])


def _verdict(check) -> str:  # noqa: ANN001
    floor = check.to_json()["output_step_floor_db"]
    return check.verdict + (f" (the output's int8 step allows {format_db(floor)})" if check.step_limited else "")


def _confident(check) -> str:  # noqa: ANN001
    agreement = check.confidence.agreement
    return "n/a (none confident)" if agreement is None else f"{agreement:.3f} of {check.confidence.confident}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep-accuracy", default="0.05", help="the target for the random-weight MobileNetV2")
    parser.add_argument("--keep-accuracy-trained", default="30dB", help="the target for the trained example")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tflgen-accuracy-"))
    images = models.write_images(work / "images", IMAGES, seed=3)
    calibration = models.write_images(work / "calibration", CALIBRATION, seed=4)
    path = work / "mobilenet_v2.keras"
    models.mobilenet_v2(input_size=224, alpha=1.0, classes=1000, classifier_activation="softmax").save(path)
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print()
    print(f"## MobileNetV2 1.0 224, softmax over 1000 classes, random weights; {IMAGES} generated images for verification, "
          f"{CALIBRATION} others for int8 calibration; float IO")
    print()
    table(path, images, calibration, args.keep_accuracy, work)

    from tflgen.examples import get_example
    from tflgen.examples.defaults import example, generated_images

    trained = example("classification")
    print("## tflgen's trained classification example (MobileNetV2 0.35 96, 4 shapes), held-out and calibration images "
          "of the example (200 for calibration, as `--example` uses); recipes with float IO (as --quantize auto converts), "
          "--keep-accuracy with uint8 IO (as the example ships: pixels quantized by the app, a half step off for mean 127.5)")
    print()
    from tflgen.examples import CALIBRATION_COUNT, shapes
    from tflgen.recipes import IoType

    fresh = [shapes.write_images(work / f"fresh-{seed}", "classification", FRESH_IMAGES, seed, trained.input_size)[0].parent
             for seed in FRESH_SEEDS]
    table(get_example("classification").source_path, generated_images(trained, "held-out"), generated_images(trained, "calibration"),
          args.keep_accuracy_trained, work, IoType.UINT8, CALIBRATION_COUNT, fresh)


def table(path: Path, images: Path, calibration: Path, keep_accuracy: str, work: Path, io_type=None, calibration_count: int = CALIBRATION,  # noqa: ANN001
          fresh: list[Path] | None = None) -> None:
    from tflgen.console import Reporter
    from tflgen.pipeline import ConvertOptions, VerifyOptions, convert_model, verify_model
    from tflgen.recipes import Recipe
    from tflgen.keep_accuracy import AccuracyTarget
    from tflgen.spec import Preprocessing, SpecOptions

    NORMALIZED = SpecOptions(preprocessing=Preprocessing.parse("127.5", "127.5"))  # noqa: N806

    common = dict(source=path, force=True, calibration=calibration, calibration_count=calibration_count,
                  preprocessing=Preprocessing.parse("127.5", "127.5"), images=images)
    with contextlib.redirect_stderr(io.StringIO()):
        auto = convert_model(ConvertOptions(output=work / "auto.tflite", recipe=Recipe.AUTO, max_drop=1.0, **common), Reporter())
    print("| recipe | size (bytes) | top-1 agreement | output SQNR | confident agreement (of confident images) | verdict | latency 1 thread (ms) |")
    print("|---|---|---|---|---|---|---|")
    for candidate in auto.candidates:
        v = candidate.verification
        if v is None:
            print(f"| {candidate.recipe} | failed: {candidate.failure} | | | | | |")
            continue
        latency = {run.threads: run.median_ms for run in v.latency}
        print(f"| {candidate.recipe} | {v.size_bytes:,} | {v.agreement:.4f} | {_db(v.quantization)} | {_confident(v.quantization)} "
              f"| {_verdict(v.quantization)} | {latency.get(1, float('nan')):.2f} |")
    print()
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        kept = convert_model(ConvertOptions(output=work / "kept.tflite", recipe=Recipe.INT8, keep_accuracy=AccuracyTarget.parse(keep_accuracy),
                                            io_type=io_type, **common),
                             Reporter()).kept_float
    seconds = time.perf_counter() - start
    plain, chosen = kept.plain, kept.chosen
    print(f"### int8 --keep-accuracy {keep_accuracy} ({seconds:.0f} s, including plain int8's conversion)")
    print()
    print("| model | size (bytes) | top-1 agreement | output SQNR | confident agreement | latency 1 thread (ms) | integer MACs |")
    print("|---|---|---|---|---|---|---|")
    for name, v in (("plain int8", plain), (f"int8, {len(kept.float_layers)} layer(s) in float", chosen)):
        if v is None:
            print(f"| {name} | budget missed with every ranked layer in float | | | | | |")
            continue
        latency = {run.threads: run.median_ms for run in v.latency}
        share = kept.integer_mac_share if v is chosen else 1.0
        print(f"| {name} | {v.size_bytes:,} | {v.agreement:.4f} | {_db(v.quantization)} | {_confident(v.quantization)} "
              f"| {latency.get(1, float('nan')):.2f} | {share:.1%} |")
    print()
    if kept.fitted_ranges is not None:
        print(f"fitted activation ranges: {kept.fitted_ranges[0]} of {kept.fitted_ranges[1]} shrunk; "
              f"layers ranked by the quantization debugger: {kept.ranked_layers}; search (layers in float: drop, output SQNR): "
              + ", ".join(f"{t.float_layers}: {t.drop:.4f}, {format_db(t.sqnr_db)}" for t in kept.trials))
    for layer in kept.float_layers[:5]:
        print(f"- kept in float: {layer.op} {layer.tensor.split(';')[0]} (noise/signal {layer.noise_to_signal:.3g})")
    if len(kept.float_layers) > 5:
        print(f"- and {len(kept.float_layers) - 5} more")
    if fresh is None or chosen is None:
        return
    # The search saw `images`; the same two models on images it never saw.
    plain_model = work / "plain.tflite"
    with contextlib.redirect_stderr(io.StringIO()):
        convert_model(ConvertOptions(output=plain_model, recipe=Recipe.INT8, io_type=io_type, **{**common, "images": None}), Reporter())
    print()
    print(f"Again on {len(fresh)} x {FRESH_IMAGES} freshly generated images (seeds {', '.join(map(str, FRESH_SEEDS))}), not used by the search. "
          "Softmax SQNR is ruled by the few near ties in a set, so it moves between sets; the pooled row is the estimate:")
    print()
    print("| images | plain int8: top-1 agreement | plain int8: output SQNR | kept: top-1 agreement | kept: output SQNR |")
    print("|---|---|---|---|---|")
    from tflgen.accuracy import Sqnr

    pooled = {"plain": [Sqnr(), 0.0], "kept": [Sqnr(), 0.0]}
    for seed, folder in zip(FRESH_SEEDS, fresh):
        cells = []
        for name, model in (("plain", plain_model), ("kept", work / "kept.tflite")):
            with contextlib.redirect_stderr(io.StringIO()):
                v = verify_model(VerifyOptions(path, model, folder, NORMALIZED, image_count=FRESH_IMAGES, latency=False),
                                 Reporter()).verification
            pooled[name][0] = pooled[name][0] + v.quantization.sqnr
            pooled[name][1] += v.agreement / len(fresh)
            cells += [f"{v.agreement:.4f}", _db(v.quantization)]
        print(f"| seed {seed} | " + " | ".join(cells) + " |")
    print(f"| pooled ({len(fresh) * FRESH_IMAGES}) | " + " | ".join(f"{pooled[n][1]:.4f} | {pooled[n][0].db:.1f} dB" for n in ("plain", "kept")) + " |")


if __name__ == "__main__":
    main()
