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
import json
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
SECTIONS = ("mobilenet", "example", "mini-xception")
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
    parser.add_argument("--keep-accuracy-trained", default="30dB", help="the target for the trained example and the mini-Xception")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    args = parser.parse_args()
    sections = args.only or SECTIONS

    work = Path(tempfile.mkdtemp(prefix="tflgen-accuracy-"))
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print()
    if "mobilenet" in sections:
        mobilenet_section(args.keep_accuracy, work)
    if "example" in sections:
        example_section(args.keep_accuracy_trained, work)
    if "mini-xception" in sections:
        mini_xception_section(args.keep_accuracy_trained, work)


def mobilenet_section(keep_accuracy: str, work: Path) -> None:
    images = models.write_images(work / "images", IMAGES, seed=3)
    calibration = models.write_images(work / "calibration", CALIBRATION, seed=4)
    path = work / "mobilenet_v2.keras"
    models.mobilenet_v2(input_size=224, alpha=1.0, classes=1000, classifier_activation="softmax").save(path)
    print(f"## MobileNetV2 1.0 224, softmax over 1000 classes, random weights; {IMAGES} generated images for verification, "
          f"{CALIBRATION} others for int8 calibration; float IO")
    print()
    table(path, images, calibration, keep_accuracy, work)


def example_section(keep_accuracy: str, work: Path) -> None:
    from tflgen.examples import get_example
    from tflgen.examples.defaults import example, generated_images

    trained = example("classification")
    print("## tflgen's trained classification example (MobileNetV2 0.35 96, 4 shapes), held-out and calibration images "
          "of the example (200 for calibration, as `--example` uses); recipes with float IO (as --quantize auto converts), "
          "--keep-accuracy with uint8 IO (as the example ships: on the exact input grid, the app feeds raw pixels)")
    print()
    from tflgen.examples import CALIBRATION_COUNT, shapes
    from tflgen.recipes import IoType

    fresh = [(f"seed {seed}", shapes.write_images(work / f"fresh-{seed}", "classification", FRESH_IMAGES, seed, trained.input_size)[0].parent,
              FRESH_IMAGES) for seed in FRESH_SEEDS]
    table(get_example("classification").source_path, generated_images(trained, "held-out"), generated_images(trained, "calibration"),
          keep_accuracy, work, IoType.UINT8, CALIBRATION_COUNT, fresh)


def table(path: Path, images: Path, calibration: Path, keep_accuracy: str, work: Path, io_type=None, calibration_count: int = CALIBRATION,  # noqa: ANN001
          fresh: list[Path] | None = None, color: str | None = None, search_images: Path | None = None) -> None:
    from tflgen.console import Reporter
    from tflgen.pipeline import ConvertOptions, VerifyOptions, convert_model, verify_model
    from tflgen.recipes import Recipe
    from tflgen.keep_accuracy import AccuracyTarget, Lever
    from tflgen.spec import Preprocessing, SpecOptions

    preprocessing = Preprocessing.parse("127.5", "127.5", color=color)
    NORMALIZED = SpecOptions(preprocessing=preprocessing)  # noqa: N806

    common = dict(source=path, force=True, calibration=calibration, calibration_count=calibration_count, preprocessing=preprocessing, images=images)
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
                                            io_type=io_type, **{**common, "images": search_images or images}),
                             Reporter()).kept_accuracy
    seconds = time.perf_counter() - start
    plain, chosen = kept.plain, kept.chosen
    print(f"### int8 --keep-accuracy {keep_accuracy} ({seconds:.0f} s, including plain int8's conversion)")
    print()
    print("| model | size (bytes) | top-1 agreement | output SQNR | confident agreement | latency 1 thread (ms) | integer MACs | int8 MACs |")
    print("|---|---|---|---|---|---|---|---|")
    met_by = {None: "plain int8", Lever.RANGES: "fitted ranges",
              Lever.INT16: f"{len(kept.int16_activations)} activation(s) in int16",
              Lever.FLOAT: f"every activation in int16, {len(kept.float_layers)} layer(s) in float"}[kept.lever]
    for name, v, shares in (("plain int8", plain, (1.0, 1.0)), (f"int8, {met_by}", chosen, (kept.macs.integer_share, kept.macs.int8_share))):
        if v is None:
            print(f"| {name} | missed: the levers ran out ({kept.exhausted}) | | | | | | |")
            continue
        latency = {run.threads: run.median_ms for run in v.latency}
        print(f"| {name} | {v.size_bytes:,} | {v.agreement:.4f} | {_db(v.quantization)} | {_confident(v.quantization)} "
              f"| {latency.get(1, float('nan')):.2f} | {shares[0]:.1%} | {shares[1]:.1%} |")
    print()
    if kept.input_grid is not None:
        print(f"exact input grid: {kept.input_grid[1] if kept.input_grid[0] else 'not applied: ' + kept.input_grid[1]}")
        print()
    if kept.fitted_ranges is not None:
        print(f"fitted activation ranges: {kept.fitted_ranges[0]} of {kept.fitted_ranges[1]} shrunk; ranked by the quantization debugger: "
              f"{kept.ranked[0]} activations, {kept.ranked[1]} layers with weights. Every trial:")
        print()
        print("| trial | drop | output SQNR | size (bytes) | integer MACs | int8 MACs | latency 1 thread (ms) |")
        print("|---|---|---|---|---|---|---|")
        for t in kept.trials:
            what = {Lever.RANGES: "fitted ranges", Lever.INT16: f"{t.count} activation(s) in int16",
                    Lever.FLOAT: f"all in int16, {t.count} layer(s) in float"}[t.lever]
            print(f"| {what} | {t.drop:.4f} | {format_db(t.sqnr_db)} | {t.size_bytes:,} | {t.macs.integer_share:.1%} | {t.macs.int8_share:.1%} "
                  f"| {t.latency_ms:.2f} |")
        print()
    for layer in (kept.float_layers or kept.int16_activations)[:5]:
        print(f"- {'kept in float' if kept.float_layers else 'int16'}: {layer.op} {layer.tensor.split(';')[0]} (noise/signal {layer.noise_to_signal:.3g})")
    if len(kept.float_layers or kept.int16_activations) > 5:
        print(f"- and {len(kept.float_layers or kept.int16_activations) - 5} more")
    if fresh is None or chosen is None:
        return
    # The search saw its images; the same two models on images it never saw.
    plain_model = work / "plain.tflite"
    with contextlib.redirect_stderr(io.StringIO()):
        convert_model(ConvertOptions(output=plain_model, recipe=Recipe.INT8, io_type=io_type, **{**common, "images": None}), Reporter())
    print()
    print("Again on images the search never saw. Softmax SQNR is ruled by the few near ties in a set, so it moves between sets; "
          "the pooled row is the estimate:")
    print()
    print("| images | plain int8: top-1 agreement | plain int8: output SQNR | kept: top-1 agreement | kept: output SQNR |")
    print("|---|---|---|---|---|")
    from tflgen.accuracy import Sqnr

    pooled = {"plain": [Sqnr(), 0.0], "kept": [Sqnr(), 0.0]}
    for label, folder, count in fresh:
        cells = []
        for name, model in (("plain", plain_model), ("kept", work / "kept.tflite")):
            with contextlib.redirect_stderr(io.StringIO()):
                v = verify_model(VerifyOptions(path, model, folder, NORMALIZED, image_count=count, latency=False), Reporter()).verification
            pooled[name][0] = pooled[name][0] + v.quantization.sqnr
            pooled[name][1] += v.agreement / len(fresh)
            cells += [f"{v.agreement:.4f}", _db(v.quantization)]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if len(fresh) > 1:
        total = sum(count for _, _, count in fresh)
        print(f"| pooled ({total}) | " + " | ".join(f"{pooled[n][1]:.4f} | {pooled[n][0].db:.1f} dB" for n in ("plain", "kept")) + " |")


def mini_xception_section(keep_accuracy: str, work: Path) -> None:
    """The issue's kind of model: mini-Xception, 64x64 grayscale, 7 classes, trained by
    benchmarks/mini_xception.py; calibrated and searched on 100 images, checked on 100 others."""
    import mini_xception

    from tflgen.recipes import IoType
    from tflgen.spec import ColorOrder

    folder = mini_xception.trained()
    calibration = mini_xception.write_images(work / "mini-xception-calibration", "calibration", 100)
    held_out = mini_xception.write_images(work / "mini-xception-held-out", "held_out", 100)
    accuracy = json.loads((folder / "quality.json").read_text())["float_top1_accuracy"]
    print(f"## mini-Xception 64x64 grayscale, 7 classes (trained by benchmarks/mini_xception.py, float top-1 {accuracy:.3f} on 1000 "
          "held-out shapes; not the issue's emotion model, which can't be downloaded here); 100 calibration images "
          "(half one shape, half unseen scenes), the --keep-accuracy search on those same images as the issue ran it, uint8 IO, --color gray; "
          "checked on 100 other images. Recipes verified on the 100 others.")
    print()
    table(folder / "model.keras", held_out, calibration, keep_accuracy, work, IoType.UINT8, 100, [("100 held-out", held_out, 100)],
          color=ColorOrder.GRAY, search_images=calibration)


if __name__ == "__main__":
    main()
