"""SSD post-processing settings, model side: the TFLite_Detection_PostProcess op's attributes
(`SsdParams`), the anchors and box-coder scales as the user gives them, and the rules that tell a raw
detector's box encodings from its class scores.

A raw detector (TF Object Detection API convention) ends in box encodings [1, N, 4] and class
scores [1, N, C+1] with background at index 0; decoding and NMS are left to the app, or to the
op that `tflgen.ssd_source` appends to a TensorFlow source. This module imports no stage and no
TensorFlow: `spec` reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from tflgen.errors import OptionError, first_line

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


@dataclass(frozen=True)
class SsdOptions:
    """Raw SSD post-processing as the user gives it: `--ssd-anchors` and the op settings that go with it."""

    anchors: Path
    scales: str | None = None
    max_detections: int | None = None
    score_threshold: float | None = None
    iou_threshold: float | None = None
    # tflgen app: the labels decide whether the scores' first column is the background (classes_for_labels)
    label_count: int | None = None
    label_offset: int | None = None


def params_from_options(options: SsdOptions) -> SsdParams:
    """The op's attributes from the options (the anchors read and checked), defaults for the rest."""
    settings = {
        name: value for name, value in (
            ("scales", parse_scales(options.scales) if options.scales else None),
            ("max_detections", options.max_detections),
            ("score_threshold", options.score_threshold),
            ("iou_threshold", options.iou_threshold),
            ("label_count", options.label_count),
            ("label_offset", options.label_offset),
        ) if value is not None
    }
    return SsdParams(anchors=load_anchors(options.anchors), **settings)
