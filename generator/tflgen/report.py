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
        rows.append((f"latency, {latency['threads']} thread(s)", f"median {latency['median_ms']:.2f} ms, p90 {latency['p90_ms']:.2f} ms ({latency['runs']} runs)"))
    rows.append(("reference", data["reference"]))
    rows.append(("tflgen", data["tool_version"]))
    return rows


def markdown(data: dict[str, Any]) -> str:
    lines = ["# tflgen verification report", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in summary_rows(data)]
    if data.get("candidates"):
        lines += ["", "## Recipes tried (--quantize auto)", "", "| recipe | size (bytes) | size / limit | agreement | drop | within budget | median latency (ms) by threads | chosen |", "|---|---|---|---|---|---|---|---|"]
        for c in data["candidates"]:
            if "failure" in c:
                lines.append(f"| {c['recipe']} | failed: {c['failure']} | | | | | | |")
            else:
                latency = ", ".join(f"{t}: {ms:.2f}" for t, ms in c["latency_ms"].items())
                lines.append(f"| {c['recipe']} | {c['size_bytes']:,} | {c['size_ratio']:.3f} | {c['agreement']:.4f} | {c['drop']:.4f} | {'yes' if c['within_budget'] else 'no'} | {latency} | {'**yes**' if c['chosen'] else ''} |")
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
