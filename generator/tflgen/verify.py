"""How far a .tflite is from its source model, on the user's own images.

Both run on the same preprocessed images (the reference preprocessing, quantized for an integer
input); the results are compared per task, and size and latency are measured. Every number in
the report is computed here, from this run.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tflgen import __version__
from tflgen.accuracy import CONFIDENT_GAP, Confidence, OutputStep, QuantizationCheck, Sqnr, confident_agreement, sqnr, step_floor
from tflgen.console import Reporter
from tflgen.errors import OptionError
from tflgen.reference import (
    Detections,
    argmax_mask,
    dequantize,
    image_to_input,
    intersection_over_union,
    softmax,
    top_k,
)
from tflgen.spec import ModelSpec, Role, Task
from tflgen.tflite_info import INTEGER_DTYPES

if TYPE_CHECKING:
    from tflgen.sources import SourceModel

HEADLINE = {
    Task.CLASSIFICATION: "top-1 agreement",
    Task.DETECTION: "detection F1 at IoU 0.5",
    Task.SEGMENTATION: "pixel agreement",
}
BYTES_PER_WEIGHT = {"float32": 4, "float16": 2, "dynamic": 1, "int8": 1}
LATENCY_RUNS = 30
WARMUP_RUNS = 5


# ---------------------------------------------------------------- results per image


@dataclass(frozen=True)
class Result:
    """One image's final answer, in the form each task compares."""

    probabilities: np.ndarray | None = None  # classification [C]
    detections: tuple[tuple[int, float, tuple[float, float, float, float]], ...] = ()  # (class, score, box)
    mask: np.ndarray | None = None  # segmentation [H, W] class map


def classification_result(output: np.ndarray, role: Role) -> Result:
    scores = output.reshape(-1).astype(np.float32)
    return Result(probabilities=softmax(scores) if role is Role.LOGITS else scores)


def detection_result(detections: Detections, score_threshold: float) -> Result:
    kept = tuple(
        (int(c), float(s), tuple(float(v) for v in np.clip(b, 0.0, 1.0)))
        for b, c, s in zip(detections.boxes, detections.classes, detections.scores)
        if s >= score_threshold
    )
    return Result(detections=kept)


def segmentation_result(output: np.ndarray, role: Role) -> Result:
    return Result(mask=output[0].astype(np.int32) if role is Role.LABEL_MAP else argmax_mask(output[0]))


# ---------------------------------------------------------------- comparing


def classification_metrics(reference: list[Result], candidate: list[Result]) -> dict[str, float]:
    top1 = [int(np.argmax(r.probabilities)) == int(np.argmax(c.probabilities)) for r, c in zip(reference, candidate)]
    # top-5: the source's best class is among the .tflite's five best
    top5 = [int(np.argmax(r.probabilities)) in [i for i, _ in top_k(c.probabilities, 5)] for r, c in zip(reference, candidate)]
    diff = [float(np.mean(np.abs(r.probabilities - c.probabilities))) for r, c in zip(reference, candidate)]
    return {"top-1 agreement": float(np.mean(top1)), "top-5 agreement": float(np.mean(top5)), "mean absolute probability difference": float(np.mean(diff))}


def match_detections(reference: Result, candidate: Result, iou: float = 0.5) -> list[tuple[int, int, float]]:
    """Greedy matches (reference index, candidate index, IoU): same class, IoU >= `iou`, best scores first."""
    matches = []
    used: set[int] = set()
    for i, (cls, _, box) in sorted(enumerate(reference.detections), key=lambda e: -e[1][1]):
        best, best_iou = None, iou
        for j, (other_cls, _, other_box) in enumerate(candidate.detections):
            if j in used or other_cls != cls:
                continue
            overlap = float(intersection_over_union(np.asarray(box), np.asarray(other_box)))
            if overlap >= best_iou:
                best, best_iou = j, overlap
        if best is not None:
            used.add(best)
            matches.append((i, best, best_iou))
    return matches


def detection_metrics(reference: list[Result], candidate: list[Result]) -> dict[str, float]:
    matched = [match_detections(r, c) for r, c in zip(reference, candidate)]
    n_ref = sum(len(r.detections) for r in reference)
    n_cand = sum(len(c.detections) for c in candidate)
    n_match = sum(len(m) for m in matched)
    precision = n_match / n_cand if n_cand else 1.0
    recall = n_match / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ious = [iou for m in matched for _, _, iou in m]
    return {
        "detection F1 at IoU 0.5": f1, "precision": precision, "recall": recall,
        "mean IoU of matched boxes": float(np.mean(ious)) if ious else 0.0,
        "reference detections": n_ref, "tflite detections": n_cand,
    }


def segmentation_metrics(reference: list[Result], candidate: list[Result]) -> dict[str, float]:
    agreement = [float(np.mean(r.mask == c.mask)) for r, c in zip(reference, candidate)]
    ious = []
    for r, c in zip(reference, candidate):
        for cls in np.union1d(np.unique(r.mask), np.unique(c.mask)):
            a, b = r.mask == cls, c.mask == cls
            ious.append(float(np.sum(a & b) / np.sum(a | b)))
    return {"pixel agreement": float(np.mean(agreement)), "mean IoU": float(np.mean(ious))}


METRICS = {Task.CLASSIFICATION: classification_metrics, Task.DETECTION: detection_metrics, Task.SEGMENTATION: segmentation_metrics}


def quantization_check(
    spec: ModelSpec, reference: list[Result], candidate: list[Result],
    reference_outputs: list[np.ndarray | None], candidate_outputs: list[np.ndarray], score_threshold: float,
    output_step: OutputStep | None = None,
) -> QuantizationCheck:
    """Output SQNR and agreement on confident inputs (see tflgen.accuracy for what each task compares).
    `*_outputs`: per image, the output both models emit (classification/segmentation; None: not available).
    `output_step`: the compared output's integer format (TfliteRunner.output_step), whose floor can
    explain a low SQNR; None: the output is float all the way."""
    output = spec.outputs[0]
    if spec.task is Task.DETECTION:
        boxes, scores, confidence = Sqnr(), Sqnr(), Confidence()
        for r, c in zip(reference, candidate):
            matches = match_detections(r, c)
            for i, j, _ in matches:
                boxes = boxes + sqnr(np.asarray(c.detections[j][2]), np.asarray(r.detections[i][2]))
                scores = scores + sqnr(np.asarray(c.detections[j][1]), np.asarray(r.detections[i][1]))
            found = {i for i, _, _ in matches}
            confident = [i for i, (_, score, _) in enumerate(r.detections) if score >= score_threshold + CONFIDENT_GAP]
            confidence = confidence + Confidence(sum(i in found for i in confident), len(confident))
        matched = {"boxes": boxes, "scores": scores} if boxes.signal > 0 else {}
        return QuantizationCheck(
            matched, confidence,
                "the detections both find (same class, IoU >= 0.5): boxes and scores; the raw box encodings and class scores are inside the .tflite",
            f"the source's detections with score >= {score_threshold + CONFIDENT_GAP:g} (threshold + {CONFIDENT_GAP:g}) found by the .tflite",
        )
    if output.role is Role.LABEL_MAP or any(o is None for o in reference_outputs):
        return QuantizationCheck({}, Confidence(), "not applicable: the model emits class indices, not scores", "not applicable")
    total, halves = Sqnr(), [Sqnr(), Sqnr()]
    for n, (r, c) in enumerate(zip(reference_outputs, candidate_outputs)):
        total = total + sqnr(c, r)
        halves[n % 2] = halves[n % 2] + sqnr(c, r)
    name = f"{output.name or 'output'} ({output.role.value})"
    floor = step_floor(reference_outputs, output_step) if output_step is not None else None
    if spec.task is Task.CLASSIFICATION:
        confidence = sum((confident_agreement(r.probabilities, c.probabilities) for r, c in zip(reference, candidate)), Confidence())
        basis = f"images where the source's top-2 probability gap > {CONFIDENT_GAP:g}"
    else:
        confidence = sum((confident_agreement(r[0], c[0]) for r, c in zip(reference_outputs, candidate_outputs)), Confidence())
        basis = f"pixels where the source's top-2 probability gap > {CONFIDENT_GAP:g}"
    return QuantizationCheck({name: total}, confidence, f"the dequantized {output.role.value} output against the source's", basis,
                             output_step, floor, tuple(halves) if len(reference_outputs) > 1 else None)


# ---------------------------------------------------------------- running the .tflite


class TfliteRunner:
    """A LiteRT interpreter (XNNPACK, default delegates) fed with the reference preprocessing."""

    def __init__(self, content: bytes, spec: ModelSpec, threads: int | None, reporter: Reporter) -> None:
        from tflgen.tflite_info import load_interpreter

        self.spec = spec
        self.interpreter = load_interpreter(content, "model", reporter, threads=threads)
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.outputs = self.interpreter.get_output_details()

    @property
    def output_step(self) -> OutputStep | None:
        """The integer format of the compared output: its own quantization, or for a float output
        written by DEQUANTIZE (an int8 model with float IO), that op's int8 input's; None otherwise."""
        tensors = {t["index"]: t for t in self.interpreter.get_tensor_details()}
        index = self.outputs[self.spec.outputs[0].index]["index"]
        if not _integer(tensors[index]):
            ops = self.interpreter._get_ops_details()  # noqa: SLF001 (LiteRT's only view of the graph's ops)
            index = next((int(op["inputs"][0]) for op in ops if op["op_name"] == "DEQUANTIZE" and index in [int(i) for i in op["outputs"]]), None)
        tensor = tensors.get(index)
        if tensor is None or not _integer(tensor):
            return None
        scale, zero_point = tensor["quantization"]
        return OutputStep(float(scale), int(zero_point), np.dtype(tensor["dtype"]).name)

    def input_for(self, image: np.ndarray) -> np.ndarray:
        i = self.spec.input
        quantization = (i.quantization.scale, i.quantization.zero_point) if i.quantization else None
        return image_to_input(image, i.shape, np.dtype(i.dtype), i.normalization, quantization)

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Every output, dequantized, in the model's output order."""
        self.interpreter.set_tensor(self.input_index, batch)
        self.interpreter.invoke()
        values = []
        for detail in self.outputs:
            value = self.interpreter.get_tensor(detail["index"])
            scale, zero_point = detail["quantization"]
            values.append(dequantize(value, scale, zero_point) if scale else value.astype(np.float32))
        return values

    def result(self, image: np.ndarray, score_threshold: float) -> Result:
        return self.answer(image, score_threshold)[0]

    def answer(self, image: np.ndarray, score_threshold: float) -> tuple[Result, np.ndarray]:
        """The final answer and the (dequantized) output it was made from."""
        outputs = self.run(self.input_for(image))
        return result_from_outputs(self.spec, outputs, score_threshold), outputs[self.spec.outputs[0].index]

    def latency(self, image: np.ndarray, runs: int = LATENCY_RUNS) -> tuple[float, float]:
        """Median and p90 of single-image invoke() in milliseconds, after warm-up."""
        self.interpreter.set_tensor(self.input_index, self.input_for(image))
        for _ in range(WARMUP_RUNS):
            self.interpreter.invoke()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self.interpreter.invoke()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), float(np.percentile(times, 90))


def _integer(tensor: dict[str, Any]) -> bool:
    scale, _ = tensor["quantization"]
    return bool(scale) and np.dtype(tensor["dtype"]).name in INTEGER_DTYPES


def result_from_outputs(spec: ModelSpec, outputs: list[np.ndarray], score_threshold: float) -> Result:
    if spec.task is Task.CLASSIFICATION:
        o = spec.outputs[0]
        return classification_result(outputs[o.index], o.role)
    if spec.task is Task.SEGMENTATION:
        o = spec.outputs[0]
        return segmentation_result(outputs[o.index], o.role)
    by_role = {o.role: outputs[o.index] for o in spec.outputs}
    count = int(by_role[Role.COUNT].reshape(-1)[0])
    detections = Detections(by_role[Role.BOXES][0, :count], by_role[Role.CLASSES][0, :count], by_role[Role.SCORES][0, :count], count)
    return detection_result(detections, score_threshold)


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class LatencyFigure:
    threads: int
    median_ms: float
    p90_ms: float
    runs: int


@dataclass(frozen=True)
class Verification:
    task: Task
    images: int
    metrics: dict[str, float]
    headline: str
    agreement: float
    recipe: str
    size_bytes: int
    parameter_count: int
    weight_limit_bytes: int
    latency: tuple[LatencyFigure, ...]
    reference_kind: str  # how the source's answers were obtained
    settings: dict[str, Any] = field(default_factory=dict)
    quantization: QuantizationCheck | None = None
    delegates: dict[str, Any] = field(default_factory=dict)  # tflgen.delegates reports, as JSON: "gpu", "xnnpack" (with latency)
    max_drop: float | None = None
    tool_version: str = __version__

    @property
    def drop(self) -> float:
        return 1.0 - self.agreement

    @property
    def size_ratio(self) -> float:
        return self.size_bytes / self.weight_limit_bytes if self.weight_limit_bytes else float("nan")

    @property
    def within_budget(self) -> bool | None:
        return None if self.max_drop is None else self.drop <= self.max_drop + 1e-12

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "tflgen", "tool_version": self.tool_version, "task": self.task.value, "images": self.images,
            "headline": {"metric": self.headline, "agreement": self.agreement, "drop": self.drop,
                         "max_drop": self.max_drop, "within_budget": self.within_budget},
            "metrics": self.metrics, "reference": self.reference_kind,
            "size": {"bytes": self.size_bytes, "recipe": self.recipe, "parameters": self.parameter_count,
                     "weight_limit_bytes": self.weight_limit_bytes, "ratio": self.size_ratio},
            "latency": [{"threads": run.threads, "median_ms": run.median_ms, "p90_ms": run.p90_ms, "runs": run.runs} for run in self.latency],
            "settings": self.settings,
            **({"quantization": self.quantization.to_json()} if self.quantization else {}),
            **({"delegates": self.delegates} if self.delegates else {}),
        }


def recipe_of(info) -> str:  # noqa: ANN001 (ModelInfo)
    """The quantization recipe a .tflite was made with, read from its weights and activations."""
    weights = dict(info.weight_bytes)
    if info.integer_activations:
        return "int8"
    if weights.get("int8", 0) > weights.get("float32", 0):
        return "dynamic"
    if weights.get("float16", 0) > weights.get("float32", 0):
        return "float16"
    return "float32"


def thread_counts(threads: int | None) -> tuple[int, ...]:
    cores = os.cpu_count() or 1
    return (threads,) if threads else tuple(sorted({1, cores}))


def check_max_drop(value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise OptionError(f"--max-drop {value} is outside 0..1", "it is the largest accepted 1 - agreement, e.g. --max-drop 0.02")


class SourceRunner:
    """The source model as verifications ask it: its outputs per model input, computed once (`--quantize
    auto` and `--keep-accuracy` verify many candidates on the same images), and the float32 conversion
    of a source whose TFLite_Detection_PostProcess TensorFlow can't run, converted once."""

    def __init__(self, source: SourceModel, reporter: Reporter) -> None:
        self.source = source
        self._reporter = reporter
        self._outputs: dict[tuple, tuple[np.ndarray, ...]] = {}
        self._float32: bytes | None = None

    def predict(self, model_input: np.ndarray) -> tuple[np.ndarray, ...]:
        key = (model_input.dtype.str, model_input.shape, hashlib.blake2b(model_input.tobytes(), digest_size=16).digest())
        if key not in self._outputs:
            self._outputs[key] = self.source.predict(model_input)
        return self._outputs[key]

    def float32_conversion(self) -> bytes:
        if self._float32 is None:
            from tflgen.convert import ConversionRequest, convert
            from tflgen.recipes import IoType, Recipe

            request = ConversionRequest(Recipe.FLOAT32, IoType.FLOAT32, False, False, False)
            self._float32 = convert(self.source, request, None, self._reporter).content
        return self._float32


@dataclass(frozen=True)
class SourceReference:
    """The source's answers, for the task's comparison: `answer(image, score_threshold)` gives the
    Result and the output it was made from (None where the .tflite emits nothing comparable)."""

    kind: str  # said in the report: what the .tflite was compared with
    answer: Callable[[np.ndarray, float], tuple[Result, np.ndarray | None]]


def source_reference(runner: SourceRunner, spec: ModelSpec, model_content: bytes, reporter: Reporter) -> SourceReference:
    """What the .tflite is compared with: the source's own answers in TensorFlow; for a detector, its raw
    outputs through the numpy TFLite_Detection_PostProcess with the .tflite op's anchors and settings;
    where TensorFlow can't run the source's post-processing (a .tflite source, or the op's placeholder
    body), a float32 .tflite's."""
    from tflgen.reference import ssd_postprocess
    from tflgen.sources import SourceKind
    from tflgen.spec import Preprocessing, SpecOptions, build_spec
    from tflgen.ssd import SsdParams
    from tflgen.ssd_source import source_raw_outputs
    from tflgen.tflite_info import detection_anchors, read_model

    source = runner.source
    if source.kind is SourceKind.TFLITE or (spec.task is Task.DETECTION and source.has_detection_postprocess):
        if source.kind is SourceKind.TFLITE:
            content, kind = source.path.read_bytes(), f"the .tflite {source.path}"
        else:  # the converter swaps the op in for the placeholder body
            content, kind = runner.float32_conversion(), "the float32 conversion of the source (its TF post-processing is a placeholder)"
        norm = spec.input.folded_normalization or spec.input.normalization
        preprocessing = Preprocessing(norm.mean, norm.std) if norm else Preprocessing()
        options = SpecOptions(task=spec.task, labels=spec.labels, label_offset=spec.label_offset, preprocessing=preprocessing)
        return SourceReference(kind, TfliteRunner(content, build_spec(read_model(content, kind), options), None, reporter).answer)

    dtype = np.dtype(source.input.dtype)
    normalization = spec.input.folded_normalization or spec.input.normalization  # what the source takes
    if dtype == np.float32 and normalization is None:
        normalization = Preprocessing().normalization(spec.input.channels, "float32", "the source model")  # the error: never guessed

    def source_outputs(image: np.ndarray) -> tuple[np.ndarray, ...]:
        return runner.predict(image_to_input(image, spec.input.shape, dtype, normalization if dtype == np.float32 else None))

    if spec.task is Task.DETECTION:
        anchors = detection_anchors(model_content)
        if anchors is None:
            raise OptionError("the .tflite's detection op has no constant anchors", "verify it against a float32 .tflite of the same model")
        settings = read_model(model_content, "model").detection
        params = SsdParams(
            anchors=anchors, scales=(settings["y_scale"], settings["x_scale"], settings["h_scale"], settings["w_scale"]),
            max_detections=int(settings["max_detections"]), score_threshold=float(settings["nms_score_threshold"]),
            iou_threshold=float(settings["nms_iou_threshold"]),
        )
        box_index, score_index, _ = source_raw_outputs(source, params)
        num_classes = int(settings["num_classes"])  # as the .tflite's op has it

        def detect(image: np.ndarray, score_threshold: float) -> tuple[Result, None]:
            raw = source_outputs(image)
            return detection_result(ssd_postprocess(raw[box_index], raw[score_index], anchors, params, num_classes), score_threshold), None

        exported = source.exported_postprocess
        kind = ("the source's raw outputs through the numpy TFLite_Detection_PostProcess" if exported is None else
                f"the graph in TensorFlow up to its {exported.node} node, then tflgen's numpy TFLite_Detection_PostProcess "
                f"with the {exported.node} node's attributes and anchors")
        return SourceReference(kind, detect)

    if len(source.outputs) != 1 or tuple(source.outputs[0].shape) != spec.outputs[0].shape:
        shapes = ", ".join(str(list(o.shape)) for o in source.outputs)
        raise OptionError(
            f"the source's outputs ({shapes}) don't match the .tflite's {spec.task.value} output {list(spec.outputs[0].shape)}",
            "verify a .tflite against the model it was converted from, with the same --task",
        )
    role = spec.outputs[0].role
    to_result = classification_result if spec.task is Task.CLASSIFICATION else segmentation_result

    def answer(image: np.ndarray, _: float) -> tuple[Result, np.ndarray]:
        output = source_outputs(image)[0]
        return to_result(output, role), output

    return SourceReference("the source model in TensorFlow", answer)
