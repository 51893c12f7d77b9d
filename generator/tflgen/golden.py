"""Golden vectors: what the generated Kotlin `processing` module must reproduce, case by case.

For each image, `processing/src/test/resources/golden/<case>/` gets:

- `image.png`      the source image (RGB; what the Kotlin test decodes to ARGB pixels)
- `input.bin`      the expected input tensor, raw little-endian bytes
- `output_<i>.bin` the raw output tensors LiteRT gives for exactly that input, by output index
- `tensors.json`   dtype, shape (and quantization) of each of those tensors, and for each output
                   how far a device may differ from it (`tolerance`: see `device_tolerance`)
- `expected.json`  the final results of the Python reference: labels and scores (classification),
                   boxes in image pixels with labels and scores (detection: the op's outputs as
                   they are, or a raw SSD's outputs decoded + NMS by `reference.ssd_postprocess`
                   with the anchors the app ships), or the class mask (segmentation, its values
                   in `mask.bin`, int32 little-endian)

plus `golden/cases.txt`, one case name a line (the Kotlin test reads its cases from it).
Everything is deterministic: sorted JSON keys, floats written as the shortest decimal that
reads back as the same float32, PNGs without timestamps.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tflgen.geometry import Placement, preprocess
from tflgen.reference import Detections, argmax_mask, dequantize, resize_bilinear, round_half_away, softmax, ssd_postprocess, top_k
from tflgen.spec import ModelSpec, OutputSpec, Role, Task
from tflgen.tflite_info import read_model

GOLDEN_DIR = "processing/src/test/resources/golden"
CASES_FILE = "cases.txt"
MAX_IMAGE_SIDE = 640  # larger images are shrunk first: the PNG stays small, the maths is the same


@dataclass(frozen=True)
class GoldenSettings:
    """The app-side settings the expected results are computed with (recorded in expected.json)."""

    max_results: int = 5  # classification top-k, and at most this many detections
    score_threshold: float = 0.0  # detections: keep score >= this (0: every detection the op gives)


@dataclass(frozen=True)
class Category:
    class_index: int
    label: str
    score: float


@dataclass(frozen=True)
class Detection:
    class_index: int
    label: str
    score: float
    box: tuple[float, float, float, float]  # left, top, right, bottom in image pixels, clamped to the image


# ---------------------------------------------------------------- the reference results


def output_values(output: OutputSpec, raw: np.ndarray) -> np.ndarray:
    """A raw output tensor as float32, dequantized with its own scale and zero point."""
    if output.quantization is not None:
        return dequantize(raw, output.quantization.scale, output.quantization.zero_point)
    return np.asarray(raw).astype(np.float32)


def classify(spec: ModelSpec, outputs: Sequence[np.ndarray], max_results: int) -> list[Category]:
    """Top `max_results` classes, best first (softmax first when the model emits logits)."""
    output = spec.output(Role.LOGITS) if spec.has(Role.LOGITS) else spec.output(Role.PROBABILITIES)
    scores = output_values(output, outputs[output.index]).reshape(-1)
    if output.role is Role.LOGITS:
        scores = softmax(scores)
    return [Category(i, spec.label(i), score) for i, score in top_k(scores, max_results)]


def model_detections(spec: ModelSpec, outputs: Sequence[np.ndarray], anchors: np.ndarray | None = None) -> Detections:
    """The model's detections in 0..1 of the model input, best first.

    TFLite_Detection_PostProcess outputs are found by role (in any order) and read up to `count`
    (the op leaves the rows past it unwritten). A raw SSD's box encodings and class scores are
    decoded and NMS'd by the reference with `anchors` and the spec's settings, as the app does.
    """
    def values(role: Role) -> np.ndarray:
        output = spec.output(role)
        return output_values(output, outputs[output.index]).reshape(-1)

    if spec.raw_detection:
        if spec.ssd is None or anchors is None:
            raise ValueError("a raw SSD's detections need its SsdSpec and its anchors")
        columns = spec.output(Role.CLASS_SCORES).shape[2]
        encodings, scores = values(Role.BOX_ENCODINGS).reshape(-1, 4), values(Role.CLASS_SCORES).reshape(-1, columns)
        return ssd_postprocess(encodings, scores, anchors, spec.ssd, spec.num_classes)
    boxes, classes, scores = values(Role.BOXES).reshape(-1, 4), values(Role.CLASSES), values(Role.SCORES)
    count = min(max(int(values(Role.COUNT)[0]), 0), len(scores))
    return Detections(boxes[:count], classes[:count], scores[:count], count)


def detect(
    spec: ModelSpec, outputs: Sequence[np.ndarray], where: Placement, score_threshold: float, max_results: int,
    anchors: np.ndarray | None = None,
) -> list[Detection]:
    """The model's detections (see `model_detections`) with a score of at least `score_threshold`,
    at most `max_results`, best first, their boxes in image pixels."""
    found = model_detections(spec, outputs, anchors)
    in_image = where.box_to_image(found.boxes)
    kept = []
    for row in range(found.count):
        if found.scores[row] >= np.float32(score_threshold) and len(kept) < max_results:
            class_index = int(found.classes[row])
            kept.append(Detection(class_index, spec.label(class_index), float(found.scores[row]), tuple(float(v) for v in in_image[row])))
    return kept


def segment(spec: ModelSpec, outputs: Sequence[np.ndarray]) -> np.ndarray:
    """The [H, W] int32 class mask at the output's resolution."""
    if spec.has(Role.LABEL_MAP):
        output = spec.output(Role.LABEL_MAP)
        return np.asarray(outputs[output.index]).reshape(output.shape[1], output.shape[2]).astype(np.int32)
    output = spec.output(Role.MASK)
    scores = output_values(output, outputs[output.index]).reshape(output.shape[1:])
    return argmax_mask(scores)


def run_model(model: bytes, tensor: np.ndarray, default_kernels: bool = True) -> list[np.ndarray]:
    """The raw output tensors (not dequantized) of one invocation, by output index.

    `default_kernels`: LiteRT's default CPU path (XNNPACK where it applies, as on Android); False:
    its built-in kernels only, a second implementation of every op to measure the kernels' spread.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if default_kernels else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(model_content=model, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], tensor)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]


# ---------------------------------------------------------------- what a device may differ by

# Float kernels: LiteRT's XNNPACK and reference kernels differ by about 1e-6 of an output's magnitude
# on tflgen's examples (accumulation order); a device's CPU kernels are other such implementations.
FLOAT_RELATIVE = 1e-5
# Integer kernels round their requantization differently (XNNPACK's fp32 rounding, TFLite's fixed
# point, ARM's rndnu), and one-step differences compound through the layers: on the segmentation
# example XNNPACK and the built-in kernels differ by up to 8 quanta of the output. So two steps, or
# twice the spread measured here between LiteRT's two CPU kernel sets on the very case if larger.
INTEGER_STEPS = 2
KERNEL_SPREAD_FACTOR = 2.0
# GPU delegates compute in float16 by default (precision loss allowed): unit roundoff 2^-11,
# growing with depth. Full float16 arithmetic (Keras's float16 policy) on the examples' networks
# reaches 12 unit roundoffs of the output's magnitude; 32 keeps a margin of 2.7.
FP16_UNIT_ROUNDOFF = 2.0**-11
FP16_GROWTH = 32


# Outputs that are already decisions (the detection op's detections sorted by score, an in-model argmax): a near-tie
# reorders or flips them, so the device test compares them as results, not element by element (DECIDED_ROLES in
# the generated OutputCheck.kt).
DECIDED_ROLES = frozenset({Role.BOXES, Role.CLASSES, Role.SCORES, Role.COUNT, Role.LABEL_MAP})


@dataclass(frozen=True)
class DeviceTolerance:
    """How far an output computed on a device may be from the golden one, per element, in the
    output's real (dequantized) units. `gpu` is None for an integer model: a GPU delegate runs it
    in float on dequantized weights, so it differs from integer arithmetic by the quantization
    error itself, which these goldens don't bound."""

    cpu: float
    gpu: float | None

    def as_json(self) -> dict[str, float]:
        return {"cpu": self.cpu} if self.gpu is None else {"cpu": self.cpu, "gpu": self.gpu}


def device_tolerance(output: OutputSpec, golden: np.ndarray, other_kernels: np.ndarray | None, integer_model: bool) -> DeviceTolerance:
    """The per-element tolerance of one output (see the constants above for where each term comes from).

    `golden` is the raw output of LiteRT's default CPU path, `other_kernels` that of its built-in
    kernels for the same input (None when they can't run the model). Unquantized integer outputs
    (classes, counts, label maps) are decisions, compared as results: tolerance 0.
    """
    raw = np.asarray(golden)
    q = output.quantization
    if q is None and not np.issubdtype(raw.dtype, np.floating):
        return DeviceTolerance(0.0, None if integer_model else 0.0)
    values = _real(raw, q)
    magnitude = max(1.0, float(np.max(np.abs(values)))) if values.size else 1.0
    if q is not None:
        base = INTEGER_STEPS * q.scale
    elif integer_model:  # a float output of an integer model (the detection op's): 8-bit steps of its magnitude
        base = INTEGER_STEPS * magnitude / 256
    else:
        base = FLOAT_RELATIVE * magnitude
    spread = 0.0 if other_kernels is None else float(np.max(np.abs(values - _real(np.asarray(other_kernels), q)), initial=0.0))
    cpu = float(np.float32(max(base, KERNEL_SPREAD_FACTOR * spread)))
    gpu = None if integer_model else float(np.float32(cpu + FP16_GROWTH * FP16_UNIT_ROUNDOFF * magnitude))
    return DeviceTolerance(cpu, gpu)


def _real(raw: np.ndarray, quantization: Any) -> np.ndarray:
    if quantization is None:
        return raw.astype(np.float64)
    return dequantize(raw, quantization.scale, quantization.zero_point).astype(np.float64)


def _other_kernels(model: bytes, tensor: np.ndarray) -> list[np.ndarray] | None:
    try:
        return run_model(model, tensor, default_kernels=False)
    except (RuntimeError, ValueError):  # an op the built-in resolver lacks: no second measurement
        return None


# ---------------------------------------------------------------- writing the cases


def golden_files(
    model: bytes, spec: ModelSpec, images: Sequence[Path], settings: GoldenSettings = GoldenSettings(), anchors: np.ndarray | None = None,
) -> dict[str, bytes]:
    """Every golden file for `images`, keyed by its path in the project (under GOLDEN_DIR).

    `model` is the .tflite the app ships, `spec` its ModelSpec, `anchors` the [N, 4] anchors the
    app decodes a raw SSD with (only then). Images are read as RGB; one case per image, named
    after its position and file name.
    """
    from tflgen.images import load_image

    files: dict[str, bytes] = {}
    names = []
    for position, path in enumerate(images):
        name = case_name(position, path)
        names.append(name)
        rgb = shrink(load_image(path, 3))
        for file, content in golden_case(model, spec, rgb, settings, anchors).items():
            files[f"{GOLDEN_DIR}/{name}/{file}"] = content
    files[f"{GOLDEN_DIR}/{CASES_FILE}"] = "".join(f"{n}\n" for n in names).encode()
    return files


def golden_case(
    model: bytes, spec: ModelSpec, rgb: np.ndarray, settings: GoldenSettings = GoldenSettings(), anchors: np.ndarray | None = None,
) -> dict[str, bytes]:
    """The files of one case (names relative to the case folder) for an [H, W, 3] uint8 RGB image."""
    tensor, where = preprocess(rgb, spec.input)
    outputs = run_model(model, tensor)
    others = _other_kernels(model, tensor)
    info = read_model(model, "the model")
    integer_model = info.integer_activations
    files = {"image.png": png(rgb), "input.bin": little_endian(tensor)}
    described = []
    for output in sorted(spec.outputs, key=lambda o: o.index):
        raw = outputs[output.index]
        file = f"output_{output.index}.bin"
        files[file] = little_endian(raw)
        tolerance = device_tolerance(output, raw, None if others is None else others[output.index], integer_model)
        described.append({"index": output.index, **_tensor_entry(file, raw, output.quantization), "tolerance": tolerance.as_json()})
    q = spec.input.quantization
    tensors = {"input": _tensor_entry("input.bin", tensor, q), "outputs": described}
    expected: dict[str, Any] = {
        "task": spec.task.value,
        "image": {"width": where.image_width, "height": where.image_height},
        "placement": {"source": _rect(where.source), "target": _rect(where.target)},
    }
    if spec.task is Task.CLASSIFICATION:
        expected["max_results"] = settings.max_results
        expected["results"] = [
            {"class": c.class_index, "label": c.label, "score": c.score} for c in classify(spec, outputs, settings.max_results)
        ]
    elif spec.task is Task.DETECTION:
        expected["max_results"] = settings.max_results
        expected["score_threshold"] = settings.score_threshold
        # NMS's IoU limit (the op's, or the one the app decodes a raw SSD with): on a device, two overlapping
        # boxes whose scores nearly tie may come out the other way round (the instrumented test forgives that).
        expected["nms_iou_threshold"] = spec.ssd.iou_threshold if spec.ssd else float(info.detection.get("nms_iou_threshold", 0.0))
        expected["results"] = [
            {"class": d.class_index, "label": d.label, "score": d.score, "box": list(d.box)}
            for d in detect(spec, outputs, where, settings.score_threshold, settings.max_results, anchors)
        ]
    else:
        mask = segment(spec, outputs)
        files["mask.bin"] = little_endian(mask.astype(np.int32))
        expected["mask"] = {"file": "mask.bin", "width": int(mask.shape[1]), "height": int(mask.shape[0])}
    files["tensors.json"] = to_json(tensors)
    files["expected.json"] = to_json(expected)
    return files


def case_name(position: int, path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_") or "image"
    return f"{position:02d}_{stem}"


def shrink(rgb: np.ndarray, max_side: int = MAX_IMAGE_SIDE) -> np.ndarray:
    """The image itself when small enough, else our bilinear resize of it (deterministic everywhere)."""
    height, width = rgb.shape[:2]
    if max(height, width) <= max_side:
        return rgb
    ratio = max_side / max(height, width)
    size = (max(1, round(height * ratio)), max(1, round(width * ratio)))
    return np.clip(round_half_away(resize_bilinear(rgb, *size)), 0, 255).astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def little_endian(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def to_json(data: Any) -> bytes:
    return (json.dumps(_floats32(data), sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def _floats32(data: Any) -> Any:
    """Floats as the shortest decimal that reads back as the same float32 (Kotlin's String.toFloat)."""
    if isinstance(data, float | np.floating):
        return float(np.format_float_positional(np.float32(data), unique=True, trim="0"))
    if isinstance(data, dict):
        return {k: _floats32(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_floats32(v) for v in data]
    return data


def _rect(rect: Any) -> dict[str, int]:
    return {"left": rect.left, "top": rect.top, "width": rect.width, "height": rect.height}


def _tensor_entry(file: str, array: np.ndarray, quantization: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": file, "dtype": str(np.asarray(array).dtype), "shape": list(np.asarray(array).shape)}
    if quantization is not None:
        entry["quantization"] = {"scale": quantization.scale, "zero_point": quantization.zero_point}
    return entry
