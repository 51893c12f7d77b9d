"""SSD post-processing for raw detectors: append TFLite_Detection_PostProcess before converting.

A raw detector (TF Object Detection API convention) ends in box encodings [1, N, 4] and class
scores [1, N, C+1] with background at index 0; decoding and NMS are left to the app. Given the
anchors, we wrap the source so that the converter emits the `TFLite_Detection_PostProcess`
custom op: every LiteRT runtime ships it, it runs in float whatever the model's quantization,
and the app then only reads boxes, classes, scores and a count.

The converter recognises the op from a `tf.function` with `experimental_implements` and
replaces its (placeholder) body. That function must survive until the converter sees it:
freezing with `convert_variables_to_constants_v2` inlines functions and loses the
annotation, so the wrapper is a plain concrete function, and its keepalive is a `tf.Module`
the converter can save as a SavedModel (its path that keeps composites).

This module imports TensorFlow only inside `wrap_with_postprocess`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tflgen.console import Reporter, import_tensorflow
from tflgen.errors import OptionError, SourceError, first_line
from tflgen.recipes import DETECTION_POSTPROCESS_OP
from tflgen.sources import ExportedPostprocess, SourceKind, SourceModel, TensorSig

# The options a CLI exposes for these settings: error messages name them.
ANCHORS_OPTION = "--ssd-anchors"
SCALES_OPTION = "--ssd-scales"
MAX_DETECTIONS_OPTION = "--max-detections"
SCORE_THRESHOLD_OPTION = "--score-threshold"
IOU_THRESHOLD_OPTION = "--iou-threshold"
DETECTIONS_PER_CLASS_OPTION = "--ssd-detections-per-class"

ANCHOR_SUFFIXES = (".npy", ".csv")
ANCHOR_FORMAT = "an [N, 4] array of (cy, cx, h, w) in normalized image coordinates, one row per anchor, in the model's output order"
KERNEL_DETECTIONS_PER_CLASS = 100  # the kernel's value when its custom options lack the attribute
# The op's four outputs, in the op's own order (converted models list them in another order).
OUTPUT_NAMES = ("detection_boxes", "detection_classes", "detection_scores", "num_detections")


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no single truth value
class SsdParams:
    """Attributes of the TFLite_Detection_PostProcess op, checked when built.

    `score_threshold` defaults to 1e-8, the TF Object Detection API's own SSD setting: the op
    keeps scores `>=` the threshold, so 0.0 would let anchors scored exactly 0 (common once
    scores are quantized: the zero point dequantizes to 0.0) fill the detection slots.
    """

    anchors: np.ndarray  # [N, 4] cy, cx, h, w, normalized, float32
    scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)  # y, x, h, w
    max_detections: int = 10
    score_threshold: float = 1e-8
    iou_threshold: float = 0.6
    detections_per_class: int = KERNEL_DETECTIONS_PER_CLASS  # regular NMS only; the converter drops other values
    use_regular_nms: bool = False
    # What the app's labels say (tflgen app): whether the class scores start with a background column.
    label_count: int | None = None
    label_offset: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "anchors", check_anchors(np.asarray(self.anchors), ANCHORS_OPTION))
        object.__setattr__(self, "scales", _check_scales(tuple(self.scales), ",".join(map(str, self.scales))))
        _check_count(MAX_DETECTIONS_OPTION, self.max_detections)
        _check_count(DETECTIONS_PER_CLASS_OPTION, self.detections_per_class)
        if not np.isfinite(self.score_threshold):
            raise OptionError(f"{SCORE_THRESHOLD_OPTION} {self.score_threshold} is not finite", "give a score in 0..1, e.g. 0.3")
        if not 0.0 < self.iou_threshold <= 1.0:
            # The kernel refuses anything else at run time (the model would fail on the phone).
            raise OptionError(f"{IOU_THRESHOLD_OPTION} {self.iou_threshold} is not in (0, 1]", "the usual SSD value is 0.6")

    @property
    def anchor_count(self) -> int:
        return int(self.anchors.shape[0])


def _check_count(option: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptionError(f"{option} {value!r} must be a whole number of at least 1", f"e.g. {option} 10")


def load_anchors(path: Path) -> np.ndarray:
    """The anchors file as float32 [N, 4]: `.npy`, or `.csv` of exactly 4 numbers per line.

    Strict on purpose (no header line, no other suffix): anchors that are silently misread
    give a model that converts and runs but draws every box in the wrong place.
    """
    suffix = path.suffix.lower()
    if suffix not in ANCHOR_SUFFIXES:
        raise OptionError(f"{ANCHORS_OPTION} {path}: unknown anchors file type {suffix or '(no suffix)'!r}", f"give a .npy or .csv file with {ANCHOR_FORMAT}")
    if not path.is_file():
        raise OptionError(f"{ANCHORS_OPTION} {path}: no such file", f"give a .npy or .csv file with {ANCHOR_FORMAT}")
    values = _read_npy(path) if suffix == ".npy" else _read_csv(path)
    return check_anchors(values, f"{ANCHORS_OPTION} {path}")


def _read_npy(path: Path) -> np.ndarray:
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise OptionError(f"{ANCHORS_OPTION} {path}: not a readable .npy array ({first_line(exc)})", "save the anchors with numpy.save(path, anchors)") from exc
    if not isinstance(values, np.ndarray):  # an .npz archive loads as a mapping
        raise OptionError(f"{ANCHORS_OPTION} {path}: not a single .npy array", "save the anchors with numpy.save(path, anchors)")
    return values


def _read_csv(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OptionError(f"{ANCHORS_OPTION} {path}: cannot read the file ({first_line(exc)})",
            "give a UTF-8 text file, 4 comma-separated numbers per line") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split(",")
        try:
            if len(fields) != 4:
                raise ValueError
            rows.append([float(field) for field in fields])
        except ValueError:
            raise OptionError(
                f"{ANCHORS_OPTION} {path} line {number}: {line[:60]!r} is not 4 comma-separated numbers",
                "each line is one anchor cy,cx,h,w; no header line, no blank lines",
            ) from None
    if not rows:
        raise OptionError(f"{ANCHORS_OPTION} {path}: the file is empty", f"give {ANCHOR_FORMAT}")
    return np.array(rows)


def check_anchors(values: np.ndarray, what: str) -> np.ndarray:
    """float32 [N, 4] anchors, finite, with positive sizes; `what` names the source in errors."""
    if values.dtype.kind not in "iuf":
        raise OptionError(f"{what}: anchors of dtype {values.dtype} are not real numbers", f"give {ANCHOR_FORMAT}")
    if values.ndim != 2 or values.shape[1] != 4 or values.shape[0] < 1:
        raise OptionError(f"{what}: anchors have shape {list(values.shape)}, expected [N, 4]", f"give {ANCHOR_FORMAT}")
    anchors = values.astype(np.float32)
    bad = ~np.isfinite(anchors).all(axis=1)
    if bad.any():
        raise OptionError(f"{what}: anchor row {int(np.argmax(bad))} is not finite ({anchors[bad][0].tolist()})",
            "every anchor needs 4 finite numbers cy,cx,h,w")
    small = (anchors[:, 2] <= 0) | (anchors[:, 3] <= 0)
    if small.any():
        raise OptionError(
            f"{what}: anchor row {int(np.argmax(small))} has height or width <= 0 ({anchors[small][0].tolist()})",
            "columns are cy,cx,h,w (centre first, then size); sizes must be positive",
        )
    return anchors


def parse_scales(text: str) -> tuple[float, float, float, float]:
    """`--ssd-scales y,x,h,w`: the box coder's scale factors (TF OD API default 10,10,5,5)."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise OptionError(f"{SCALES_OPTION} {text!r} is not 4 comma-separated numbers", f"give y,x,h,w scales, e.g. {SCALES_OPTION} 10,10,5,5") from None
    return _check_scales(values, text)


def _check_scales(values: tuple[float, ...], text: str) -> tuple[float, float, float, float]:
    if len(values) != 4:
        raise OptionError(f"{SCALES_OPTION} {text!r} has {len(values)} values, not 4", f"give y,x,h,w scales, e.g. {SCALES_OPTION} 10,10,5,5")
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise OptionError(f"{SCALES_OPTION} {text!r}: every scale must be a positive finite number",
            "the encodings are divided by them; the TF OD API default is 10,10,5,5")
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


class NamedTensor(Protocol):
    """What the rule below reads of an output: a source's TensorSig or a .tflite's TensorInfo."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> str: ...


RAW_OUTPUTS = "one box encodings output [1, N, 4] and one class scores output [1, N, classes+1]"


def split_raw_outputs(outputs: Sequence[NamedTensor], dtypes: tuple[str, ...], context: str, hint: str) -> tuple[int, int]:
    """(box encodings position, class scores position) among a raw detector's outputs.

    Roles come from shapes only (output order and names are arbitrary): box encodings are
    [1, N, 4], class scores [1, N, K] with K >= 2 and K != 4, both of a type in `dtypes`. With
    K == 4 the two can't be told apart, which is an error rather than a guess. `context` starts
    the error messages (the option or task that needs a raw SSD), `hint` is the hint when the
    outputs are not a raw SSD's at all.
    """
    shapes = ", ".join(f"{t.name} {list(t.shape)} {t.dtype}" for t in outputs) or "none"
    candidates = [i for i, t in enumerate(outputs) if len(t.shape) == 3 and t.shape[0] == 1 and t.shape[2] >= 2 and t.dtype in dtypes]
    boxes = [i for i in candidates if outputs[i].shape[2] == 4]
    scores = [i for i in candidates if outputs[i].shape[2] != 4]
    if len(boxes) == 2 and not scores and outputs[boxes[0]].shape == outputs[boxes[1]].shape:
        raise OptionError(
            f"{context}: the model's outputs ({shapes}) are both [1, N, 4]: "
            "box encodings and class scores (3 classes + background) can't be told apart by shape",
            "export the raw detector with class scores of another width, or add the post-processing in the exported model itself",
        )
    if len(boxes) != 1 or len(scores) != 1:
        raise OptionError(f"{context}: expected a raw SSD with {RAW_OUTPUTS} ({'/'.join(dtypes)}); the model's outputs: {shapes}", hint)
    box_count, score_count = outputs[boxes[0]].shape[1], outputs[scores[0]].shape[1]
    if box_count != score_count:
        raise OptionError(f"{context}: box encodings have {box_count} rows but class scores {score_count} ({shapes})", "both must have one row per anchor")
    return boxes[0], scores[0]


def classes_for_labels(columns: int, label_count: int | None, label_offset: int | None, where: str = "--labels") -> int:
    """A raw SSD's number of classes, from its class scores' columns and the labels. With no labels, the
    Object Detection API's convention: the first column is the background (columns - 1). Otherwise the
    labels cover `label_count - label_offset` classes, which must be `columns` (sigmoid scores with no
    background column) or `columns - 1` (background first)."""
    if label_count is None:
        return columns - 1
    classes = label_count - (label_offset or 0)
    if classes in (columns, columns - 1):
        return classes
    offset = f" with --label-offset {label_offset}" if label_offset else ""
    raise OptionError(
        f"{where}: {label_count} labels{offset} for class scores with {columns} columns",
        f"give {columns} labels (the scores have no background column) or {columns - 1} (the first column is the background)"
        + ("; a background/??? row first counts one more with --label-offset 1" if not label_offset else ""),
    )


def check_anchor_count(anchor_count: int, box_count: int) -> None:
    if box_count != anchor_count:
        raise OptionError(
            f"{ANCHORS_OPTION} has {anchor_count} anchors but the model predicts {box_count} boxes",
            "use the anchors generated for this model's input size and feature maps, one per box, in the model's order",
        )


def resolve_raw_outputs(outputs: tuple[TensorSig, ...], anchor_count: int, label_count: int | None = None,
                        label_offset: int | None = None) -> tuple[int, int, int]:
    """(box encodings index, class scores index, num_classes) among a TF source's raw outputs (float32).

    The classes: `classes_for_labels` (background first unless the labels say otherwise).
    """
    boxes, scores = split_raw_outputs(
        outputs, ("float32",), ANCHORS_OPTION,
        f"give {ANCHORS_OPTION} only for a raw detector; a model that already decodes its boxes needs no anchors",
    )
    check_anchor_count(anchor_count, outputs[boxes].shape[1])
    return boxes, scores, classes_for_labels(outputs[scores].shape[2], label_count, label_offset)


def source_raw_outputs(source: SourceModel, params: SsdParams) -> tuple[int, int, int]:
    """(box encodings index, class scores index, num_classes) of a TF source's raw outputs. An export
    graph's post-process node names them itself (its first two inputs, in that order); other
    sources' are told apart by shape (`resolve_raw_outputs`)."""
    exported = source.exported_postprocess
    if exported is None:
        return resolve_raw_outputs(source.outputs, params.anchor_count, params.label_count, params.label_offset)
    check_anchor_count(params.anchor_count, source.outputs[0].shape[1])
    num_classes = source.outputs[1].shape[2] - 1
    if int(exported.attrs["num_classes"]) != num_classes:
        raise SourceError(
            f"{source.path}: the {DETECTION_POSTPROCESS_OP} node says num_classes {exported.attrs['num_classes']}, but its class scores "
            f"have {num_classes + 1} columns (background first)",
            "export the graph again: the node's num_classes must be the scores' columns minus the background",
        )
    return 0, 1, num_classes


def implements_signature(params: SsdParams, num_classes: int) -> str:
    """The `experimental_implements` text (a NameAttrList) the converter turns into the custom op.

    Floats are written with `repr`, which round-trips: `%f` would turn a 1e-8 threshold into 0.
    """
    attrs = [
        ("max_detections", "i", str(params.max_detections)),
        ("max_classes_per_detection", "i", "1"),
        ("detections_per_class", "i", str(params.detections_per_class)),
        ("use_regular_nms", "b", "true" if params.use_regular_nms else "false"),
        ("nms_score_threshold", "f", repr(float(params.score_threshold))),
        ("nms_iou_threshold", "f", repr(float(params.iou_threshold))),
        *((key, "f", repr(float(value))) for key, value in zip(("y_scale", "x_scale", "h_scale", "w_scale"), params.scales)),
        ("num_classes", "i", str(num_classes)),
    ]
    parts = [f'attr {{ key: "{key}" value {{ {kind}: {value} }} }}' for key, kind, value in attrs]
    return " ".join([f'name: "{DETECTION_POSTPROCESS_OP}"', *parts])


def params_from_export(exported: ExportedPostprocess, where: Path) -> SsdParams:
    """The op's settings as an export graph's own node gives them (see sources.ExportedPostprocess)."""
    attrs = exported.attrs
    context = f"{where}: the {DETECTION_POSTPROCESS_OP} node {exported.node!r}"
    if int(attrs["max_classes_per_detection"]) != 1:
        raise SourceError(
            f"{context} has max_classes_per_detection {attrs['max_classes_per_detection']}",
            "tflgen's reference and app read one class per box: export with max_classes_per_detection 1 (the exporter's default)",
        )
    regular = bool(attrs.get("use_regular_nms", False))
    per_class = int(attrs.get("detections_per_class", KERNEL_DETECTIONS_PER_CLASS))
    if regular and per_class != KERNEL_DETECTIONS_PER_CLASS:
        raise SourceError(
            f"{context} asks regular NMS with detections_per_class {per_class}, which the TFLite converter does not pass on",
            f"export with detections_per_class {KERNEL_DETECTIONS_PER_CLASS} (the kernel's value), or use_regular_nms false",
        )
    try:
        return SsdParams(
            anchors=exported.anchors, scales=tuple(float(attrs[k]) for k in ("y_scale", "x_scale", "h_scale", "w_scale")),
            max_detections=int(attrs["max_detections"]), score_threshold=float(attrs["nms_score_threshold"]),
            iou_threshold=float(attrs["nms_iou_threshold"]), use_regular_nms=regular,
        )  # detections_per_class: only regular NMS reads it, and then it is the kernel's
    except OptionError as exc:  # the checks name the CLI options; here the node said it
        raise SourceError(f"{context}: {exc.message}", "export the graph again with valid post-processing settings") from None


def wrap_with_postprocess(source: SourceModel, params: SsdParams, reporter: Reporter) -> SourceModel:
    """The source with TFLite_Detection_PostProcess appended to its raw outputs.

    The result converts with `TFLiteConverter.from_concrete_functions([function], keepalive)`
    like any source. Its own `predict` returns the placeholder zeros of the composite's body
    (only the converter replaces it): reference detections come from the raw source's
    outputs and `tflgen.reference.ssd_postprocess`.
    """
    if source.kind is SourceKind.TFLITE or source.function is None:
        raise OptionError(
            f"{ANCHORS_OPTION} with {source.path}: a .tflite can't be given post-processing",
            "pass the TensorFlow source (SavedModel, Keras, TF1 graph) the .tflite was converted from; "
            f"or let the app decode it: 'tflgen app MODEL.tflite {ANCHORS_OPTION} ...' decodes the boxes and runs NMS in Kotlin",
        )
    if source.has_detection_postprocess:
        raise OptionError(
            f"{ANCHORS_OPTION} with {source.path}: the model already ends in {DETECTION_POSTPROCESS_OP}",
            f"drop {ANCHORS_OPTION}: the model decodes its boxes itself",
        )
    if params.detections_per_class != KERNEL_DETECTIONS_PER_CLASS:
        # Measured: the converter writes every other attribute into the op's custom options but
        # not this one, so the kernel always runs with its default.
        raise OptionError(
            f"{DETECTIONS_PER_CLASS_OPTION} {params.detections_per_class}: the TFLite converter does not pass it to {DETECTION_POSTPROCESS_OP}",
            f"drop {DETECTIONS_PER_CLASS_OPTION}; the op always keeps up to {KERNEL_DETECTIONS_PER_CLASS} per class (regular NMS only)",
        )
    box_index, score_index, num_classes = source_raw_outputs(source, params)
    tf = import_tensorflow(reporter)
    with reporter.quiet_native():
        function, keepalive = _trace_wrapper(tf, source, params, box_index, score_index, num_classes)
    m = params.max_detections
    outputs = tuple(
        TensorSig(name, shape, "float32") for name, shape in zip(OUTPUT_NAMES, ((1, m, 4), (1, m), (1, m), (1,)))
    )
    return dataclasses.replace(
        source, loader=f"{source.loader} + {DETECTION_POSTPROCESS_OP}", outputs=outputs,
        has_detection_postprocess=True, function=function, keepalive=keepalive,
    )


def _trace_wrapper(tf: Any, source: SourceModel, params: SsdParams, box_index: int, score_index: int, num_classes: int) -> tuple[Any, Any]:
    """(concrete function image -> the op's 4 outputs, the tf.Module that keeps it converting)."""
    holder = _holder(tf, source.keepalive, params.anchors)
    postprocess = tf.function(_placeholder_body(tf, params.max_detections), experimental_implements=implements_signature(params, num_classes))
    raw_function = source.function

    def serve(image: Any) -> tuple[Any, Any, Any, Any]:
        raw = tf.nest.flatten(raw_function(image))  # flattened in the same order as source.outputs
        return postprocess(raw[box_index], raw[score_index], holder.anchors)

    spec = tf.TensorSpec(source.input.shape, tf.as_dtype(source.input.dtype), name=source.input.name)
    holder.serve = tf.function(serve)
    return holder.serve.get_concrete_function(spec), holder


def _holder(tf: Any, keepalive: Any, anchors: np.ndarray) -> Any:
    """A tf.Module tracking the source's own object (its variables) and the anchors.

    The converter saves this object with the wrapper as signature and converts that
    SavedModel, which keeps the composite; without a savable object it falls back to
    freezing, which loses it. Non-trackable keepalives (a TF1 WrappedFunction, whose graph is
    already frozen) are held without being tracked.
    """
    from tensorflow.python.trackable.data_structures import NoDependency

    holder = tf.Module(name="ssd_postprocess")
    if _is_trackable(keepalive):
        holder.source = keepalive
    else:
        holder.untracked_source = NoDependency(keepalive)
    holder.anchors = tf.constant(anchors, dtype=tf.float32, name="anchors")
    return holder


def _is_trackable(value: Any) -> bool:
    from tensorflow.python.eager.polymorphic_function.concrete_function import ConcreteFunction
    from tensorflow.python.trackable.base import Trackable

    return isinstance(value, Trackable) and not isinstance(value, ConcreteFunction)


def _placeholder_body(tf: Any, max_detections: int) -> Any:
    """The composite's body: right shapes and dtypes, never run in the .tflite (the op replaces it)."""

    def body(box_encodings: Any, class_scores: Any, anchors: Any) -> tuple[Any, Any, Any, Any]:  # noqa: ARG001 (the op's inputs)
        return (
            tf.zeros([1, max_detections, 4], tf.float32), tf.zeros([1, max_detections], tf.float32),
            tf.zeros([1, max_detections], tf.float32), tf.zeros([1], tf.float32),
        )

    return body

