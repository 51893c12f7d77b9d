"""The verification report: report.json, report.md, side-by-side pictures, report.html.

Every figure comes from the `Verification` computed in this run; report.md and report.html are
rendered from the same JSON data, so they can't disagree with it.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tflgen.accuracy import format_db
from tflgen.errors import OutputError
from tflgen.spec import ModelSpec, Task
from tflgen.verify import Result, Verification

PALETTE = np.array(
    [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
     [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200],
     [128, 0, 0], [170, 255, 195], [128, 128, 0], [255, 215, 180], [0, 0, 128], [128, 128, 128]],
    dtype=np.uint8,
)  # fixed, so a class has the same colour in every picture and in the app
PICTURE_WIDTH = 320


def check_report_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise OutputError(f"--report {path} is a file", "give a folder for the report")
    parent = path if path.exists() else path.parent
    if not parent.exists():
        raise OutputError(f"--report {path}: folder {parent} does not exist", f"create it first (mkdir -p {parent})")
    import os

    if not os.access(parent, os.W_OK):
        raise OutputError(f"--report {path}: {parent} is not writable", "choose a folder you can write to")


def write_report(
    path: Path, verification: Verification, spec: ModelSpec, pictures: list[tuple[str, np.ndarray, Result, Result]],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the report folder atomically: into a temporary folder beside it, then moved into place."""
    data = {**verification.to_json(), **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        names = []
        for i, (name, image, reference, candidate) in enumerate(pictures):
            file = f"picture_{i:02d}.png"
            side_by_side(image, reference, candidate, spec).save(staging / file, optimize=False)
            names.append((name, file))
        data["pictures"] = [{"image": name, "file": file} for name, file in names]
        (staging / "report.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (staging / "report.md").write_text(markdown(data), encoding="utf-8")
        (staging / "report.html").write_text(html_page(data), encoding="utf-8")
        if path.exists():
            for item in ("report.json", "report.md", "report.html"):
                (path / item).unlink(missing_ok=True)
            for old in path.glob("picture_*.png"):
                old.unlink()
            for item in staging.iterdir():
                item.replace(path / item.name)
            staging.rmdir()
        else:
            staging.replace(path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def summary_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    head = data["headline"]
    rows = [
        ("task", data["task"]),
        ("images", str(data["images"])),
        (head["metric"], f"{head['agreement']:.4f} (drop {head['drop']:.4f})"),
    ]
    if head["max_drop"] is not None:
        rows.append(("budget", f"max drop {head['max_drop']:.4f}: {'PASS' if head['within_budget'] else 'FAIL'}"))
    rows += [(name, str(value) if isinstance(value, int) else f"{value:.4f}") for name, value in data["metrics"].items() if name != head["metric"]]
    size = data["size"]
    rows.append(("size", f"{size['bytes']:,} bytes, {size['ratio']:.3f}x the {size['recipe']} weight limit ({size['parameters']:,} parameters)"))
    for latency in data["latency"]:
        rows.append((f"latency, {latency['threads']} thread(s)",
            f"median {latency['median_ms']:.2f} ms, p90 {latency['p90_ms']:.2f} ms ({latency['runs']} runs)"))
    rows += quantization_rows(data.get("quantization"))
    rows += delegate_rows(data.get("delegates") or {})
    rows.append(("reference", data["reference"]))
    rows.append(("tflgen", data["tool_version"]))
    return rows


def delegate_rows(delegates: dict[str, Any]) -> list[tuple[str, str]]:
    """XNNPACK's partitions (measured) and the GPU delegate's gaps (tflgen.delegates), as summary rows."""
    rows = []
    xnnpack = delegates.get("xnnpack")
    if xnnpack:
        left = ", ".join(f"{op}×{n}" for op, n in xnnpack["left_out"].items())
        text = f"{xnnpack['partitions']} partition(s), {xnnpack['delegated_ops']} of {xnnpack['op_count']} ops"
        text += f"; left to the plain CPU kernels: {left}" if left else "; every op inside"
        if xnnpack["split"]:
            text += " (SPLIT: each partition boundary costs time; compare the latency with float32)"
        rows.append(("XNNPACK", text))
    gpu = delegates.get("gpu")
    if gpu:
        issues = gpu["issues"]
        rows.append(("GPU delegate", "takes every op" if not issues else "; ".join(f"{i['op']}: {i['consequence']}" for i in issues)))
    return rows


def quantization_rows(check: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Output SQNR, confident agreement and the verdict (tflgen.accuracy), as summary rows."""
    if check is None:
        return []
    sqnr = format_db(check["sqnr_db"])
    if len(check["output_sqnr_db"]) > 1:
        sqnr += " (" + ", ".join(f"{name} {format_db(value)}" for name, value in check["output_sqnr_db"].items()) + ")"
    if check["sqnr_db"] is not None:
        sqnr += f"; {check['sqnr_basis']}"
    rows = [("output SQNR", sqnr)]
    step = check.get("output_step")
    if step is not None and check.get("output_step_floor_db") is not None:
        floor = check["output_step_floor_db"]
        rows.append(("output step floor", f"{'∞ dB' if floor == 'inf' else format_db(floor)}: the source's output rounded to the .tflite output's "
                     f"{step['dtype']} step (scale {step['scale']:.6g}, zero point {step['zero_point']}), the best any int8 arithmetic reaches"))
    agreement = check["confident_agreement"]
    confident = (f"{agreement:.4f} on {check['confident_inputs']} confident: {check['confident_basis']}" if agreement is not None
                 else f"n/a (none confident: {check['confident_basis']})")
    verdict = check["verdict"]
    if check["problems"]:
        verdict = f"{verdict.upper()}: {'; '.join(check['problems'])}. Hint: {check['hint']}"
    else:
        verdict += f" (floors: {check['floors']['sqnr_db']:g} dB, {check['floors']['confident_agreement']:g} confident agreement)"
    if check.get("output_step_note"):
        verdict += f"; {check['output_step_note']}, so the SQNR floor does not apply"
    return rows + [("confident agreement", confident), ("quantization verdict", verdict)]


def keep_accuracy_rows(kept: dict[str, Any]) -> list[tuple[str, str]]:
    """--keep-accuracy (tflgen.keep_accuracy.KeptAccuracy.to_json) as summary rows."""
    target = kept["target"]
    wanted = f"output SQNR >= {target['min_sqnr_db']:g} dB" if target["min_sqnr_db"] is not None else f"drop <= {target['max_drop']:g}"
    plain = kept["plain_int8"]
    rows = [("target", wanted),
            ("plain int8", f"drop {plain['drop']:.4f}, output SQNR {format_db(plain['sqnr_db'])}, {plain['size_bytes']:,} bytes (min/max calibration)")]
    grid, fitted = kept.get("input_grid"), kept["fitted_ranges"]
    if grid is not None:
        rows.append(("exact input grid", grid["detail"] if grid["applied"] else f"not applied: {grid['detail']}"))
    if fitted is not None:
        rows.append(("fitted ranges", f"{fitted['shrunk']} of {fitted['considered']} activation ranges shrunk to the least squared "
                     "quantization error on the calibration images (the ranges that decide the outputs keep min/max)"))
    if not kept["reached"]:
        rows.append(("result", f"missed: the levers ran out (fitted ranges, {kept['exhausted']})"))
    elif fitted is None:
        rows.append(("result", "plain int8 meets the target: no change"))
    else:
        chosen = kept["chosen"]
        if kept["lever"] == "fitted ranges":
            rows.append(("met by", "the fitted ranges" + (" on the exact input grid" if grid and grid["applied"] else "") + ": every activation int8"))
        elif kept["lever"] == "int16":
            rows.append(("met by", f"{len(kept['int16_activations'])} of {kept['ranked_activations']} activations in int16 (with the ops making "
                         "and reading them), worst first by noise-to-signal ratio (TensorFlow's quantization debugger)"))
            rows += [(f"  {layer['op']}", f"{layer['tensor']} (noise/signal {layer['noise_to_signal']:.3g})") for layer in kept["int16_activations"][:8]]
            if len(kept["int16_activations"]) > 8:
                rows.append(("  ...", f"and {len(kept['int16_activations']) - 8} more"))
        else:
            rows.append(("met by", f"every activation in int16 and {len(kept['float_layers'])} of {kept['ranked_layers']} layers with weights "
                         "in float, worst first by noise-to-signal ratio"))
            rows += [(f"  {layer['op']}", f"{layer['tensor']} (noise/signal {layer['noise_to_signal']:.3g})") for layer in kept["float_layers"]]
        rows.append(("result", f"drop {chosen['drop']:.4f}, output SQNR {format_db(chosen['sqnr_db'])}"))
        rows.append(("size cost", f"{chosen['size_bytes']:,} bytes, {kept['size_ratio_vs_plain_int8']:.3f}x plain int8"))
        latency = ", ".join(f"{ratio:.2f}x at {threads} thread(s)" for threads, ratio in kept["latency_ratio_vs_plain_int8"].items())
        if latency:
            slower = "; LiteRT's 16x8 kernels run outside XNNPACK" if kept["lever"] in ("int16", "float") else ""
            rows.append(("latency cost", f"{latency} (median against plain int8's{slower})"))
            if kept["lever"] in ("int16", "float") and max(kept["latency_ratio_vs_plain_int8"].values(), default=0) > 2:
                rows.append(("note", "int16 activations keep the multiply-accumulates integer, not fast: if speed matters more than "
                             "an integer model, compare --quantize float16 (or --quantize auto)"))
    for t in kept["trials"]:
        what = {"fitted ranges": "fitted ranges", "int16": f"{t['count']} int16 activation(s)",
                "float": f"all int16, {t['count']} float layer(s)"}[t["lever"]]
        share = f", {t['integer_mac_share']:.1%} integer / {t['int8_mac_share']:.1%} int8 MACs" if t["integer_mac_share"] is not None else ""
        latency = f", {t['latency_ms']:.2f} ms" if t["latency_ms"] is not None else ""
        rows.append(("trial", f"{what}: drop {t['drop']:.4f}, {format_db(t['sqnr_db'])}, {t['size_bytes']:,} bytes{share}{latency}"))
    if kept["integer_mac_share"] is not None:
        rows.append(("integer MACs", f"{kept['integer_mac_share']:.1%} of {kept['total_macs']:,} multiply-accumulates run in integer "
                     f"({kept['int8_mac_share']:.1%} in int8)"))
        if kept["reached"] and kept["integer_mac_share"] < 0.5:
            rows.append(("note", "most multiply-accumulates now run in float: this is a float model in an int8 file; "
                         "compare --quantize float16 (or --quantize auto)"))
    return rows


def markdown(data: dict[str, Any]) -> str:
    lines = ["# tflgen verification report", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in summary_rows(data)]
    if data.get("candidates"):
        lines += ["", "## Recipes tried (--quantize auto)", "",
            "| recipe | size (bytes) | size / limit | agreement | drop | within budget | output SQNR | median latency (ms) by threads "
            "| speed vs float32 | chosen |",
            "|---|---|---|---|---|---|---|---|---|---|"]
        for c in data["candidates"]:
            if "failure" in c:
                lines.append(f"| {c['recipe']} | failed: {c['failure']} | | | | | | | | |")
            else:
                latency = ", ".join(f"{t}: {ms:.2f}" for t, ms in c["latency_ms"].items())
                speed = f"{c['speed_vs_float32']:.2f}x" + (" (slower than float32)" if c["slower_than_float32"] else "") if c.get("speed_vs_float32") else ""
                within, chosen = "yes" if c["within_budget"] else "no", "**yes**" if c["chosen"] else ""
                lines.append(f"| {c['recipe']} | {c['size_bytes']:,} | {c['size_ratio']:.3f} | {c['agreement']:.4f} | {c['drop']:.4f} | {within} "
                             f"| {format_db(c.get('sqnr_db'))} | {latency} | {speed} | {chosen} |")
        if data.get("choice"):
            lines += ["", f"Choice: {data['choice']}"]
    if data.get("keep_accuracy"):
        lines += ["", "## Accuracy kept (--keep-accuracy)", "", "| | |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in keep_accuracy_rows(data["keep_accuracy"])]
    lines += ["", "## Pictures (left: source model, right: .tflite)", ""]
    lines += [f"![{p['image']}]({p['file']})" for p in data.get("pictures", [])]
    lines += ["", "## Settings", "", "```json", json.dumps(data["settings"], indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def html_page(data: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(n)}</th><td>{html.escape(v)}</td></tr>" for n, v in summary_rows(data))
    pictures = "".join(
        f'<figure><img src="{html.escape(p["file"])}" alt="{html.escape(p["image"])}"><figcaption>{html.escape(p["image"])}</figcaption></figure>'
        for p in data.get("pictures", [])
    )
    settings = html.escape(json.dumps(data["settings"], indent=2, sort_keys=True))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>tflgen verification report</title>"
        "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}"
        "figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>"
        f"<h1>tflgen verification report</h1><table>{rows}</table>"
        f"<h2>Pictures (left: source model, right: .tflite)</h2>{pictures}"
        f"<h2>Settings</h2><pre>{settings}</pre></body></html>\n"
    )


# ---------------------------------------------------------------- pictures


def side_by_side(image: np.ndarray, reference: Result, candidate: Result, spec: ModelSpec):  # -> PIL.Image
    from PIL import Image

    left, right = draw(image, reference, spec), draw(image, candidate, spec)
    canvas = Image.new("RGB", (left.width + right.width + 8, max(left.height, right.height)), (255, 255, 255))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + 8, 0))
    return canvas


def draw(image: np.ndarray, result: Result, spec: ModelSpec):  # -> PIL.Image
    from PIL import Image, ImageDraw

    rgb = image if image.shape[2] == 3 else np.repeat(image, 3, axis=2)
    height = round(rgb.shape[0] * PICTURE_WIDTH / rgb.shape[1])
    picture = Image.fromarray(rgb).resize((PICTURE_WIDTH, height), Image.Resampling.BILINEAR)
    if spec.task is Task.SEGMENTATION and result.mask is not None:
        colours = Image.fromarray(PALETTE[result.mask % len(PALETTE)]).resize(picture.size, Image.Resampling.NEAREST)
        picture = Image.blend(picture, colours, 0.5)
    pen = ImageDraw.Draw(picture)
    if spec.task is Task.DETECTION:
        for cls, score, (ymin, xmin, ymax, xmax) in result.detections:
            colour = tuple(int(c) for c in PALETTE[(cls + 1) % len(PALETTE)])
            pen.rectangle([xmin * picture.width, ymin * picture.height, xmax * picture.width, ymax * picture.height], outline=colour, width=2)
            pen.text((xmin * picture.width + 3, ymin * picture.height + 2), f"{spec.label(cls)} {score:.2f}", fill=colour)
    elif spec.task is Task.CLASSIFICATION and result.probabilities is not None:
        order = np.argsort(-result.probabilities, kind="stable")[:3]
        for line, cls in enumerate(order):
            pen.rectangle([0, line * 14, picture.width, line * 14 + 14], fill=(0, 0, 0))
            pen.text((4, line * 14 + 1), f"{spec.label(int(cls))}: {result.probabilities[cls]:.3f}", fill=(255, 255, 255))
    return picture
