"""A numpy reference of TFLite's `TFLite_Detection_PostProcess` op (fast NMS path).

The app decodes raw SSD outputs itself when a model has no post-processing op, and golden
vectors must prove that the Kotlin code gives what LiteRT gives. So this module follows the
kernel's arithmetic step by step rather than the paper's: box decoding in double precision
rounded to float32, IoU in float32, `score >= threshold` (not `>`), suppression on
`IoU > threshold` (not `>=`), a stable sort (equal scores keep anchor order) and the first
class index winning ties. Pure numpy: no TensorFlow import.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

BOX_SIZE = 4  # ty, tx, th, tw / cy, cx, h, w / ymin, xmin, ymax, xmax


class PostprocessSettings(Protocol):
    """The op's attributes the reference needs (`tflgen.ssd.SsdParams` has them).

    A protocol, not SsdParams itself, so that settings read back from a .tflite's custom
    options can be checked too, without TensorFlow.
    """

    @property
    def scales(self) -> tuple[float, float, float, float]: ...
    @property
    def max_detections(self) -> int: ...
    @property
    def score_threshold(self) -> float: ...
    @property
    def iou_threshold(self) -> float: ...
    @property
    def use_regular_nms(self) -> bool: ...


class Detections(NamedTuple):
    """The op's four outputs, cut to `count` rows (the op leaves rows beyond `count` unwritten)."""

    boxes: np.ndarray  # [count, 4] float32 ymin, xmin, ymax, xmax (normalized, not clipped)
    classes: np.ndarray  # [count] float32, 0-based without the background class
    scores: np.ndarray  # [count] float32, descending
    count: int


def decode_boxes(encodings: np.ndarray, anchors: np.ndarray, scales: tuple[float, float, float, float]) -> np.ndarray:
    """CenterSize box encodings [N, 4] (ty, tx, th, tw) to corners [N, 4] (ymin, xmin, ymax, xmax).

    `ycenter = ty / y_scale * ha + ya`, `half_h = 0.5 * exp(th / h_scale) * ha` (likewise for x, w).
    The kernel computes centre and half size in double and rounds each to float32, then
    subtracts/adds in float32; doing the same here makes the result bit-exact, not just close.
    """
    codes = np.asarray(encodings, dtype=np.float32)[:, :BOX_SIZE].astype(np.float64)
    anchor = np.asarray(anchors, dtype=np.float32).astype(np.float64)
    y_scale, x_scale, h_scale, w_scale = (float(np.float32(s)) for s in scales)  # the op stores float32 attrs
    ya, xa, ha, wa = anchor.T
    ycenter = (codes[:, 0] / y_scale * ha + ya).astype(np.float32)
    xcenter = (codes[:, 1] / x_scale * wa + xa).astype(np.float32)
    with np.errstate(over="ignore"):  # a huge th gives an infinite box, as in the kernel
        half_h = (0.5 * np.exp(codes[:, 2] / h_scale) * ha).astype(np.float32)
        half_w = (0.5 * np.exp(codes[:, 3] / w_scale) * wa).astype(np.float32)
    return np.stack([ycenter - half_h, xcenter - half_w, ycenter + half_h, xcenter + half_w], axis=1)


def intersection_over_union(box_a: np.ndarray, box_b: np.ndarray) -> np.float32:
    """IoU of two corner boxes in float32, 0 when either has no area (as the kernel does)."""
    a = np.asarray(box_a, dtype=np.float32)
    b = np.asarray(box_b, dtype=np.float32)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    if area_a <= 0 or area_b <= 0:
        return np.float32(0.0)
    zero = np.float32(0.0)
    height = max(min(a[2], b[2]) - max(a[0], b[0]), zero)
    width = max(min(a[3], b[3]) - max(a[1], b[1]), zero)
    intersection = height * width
    return np.float32(intersection / (area_a + area_b - intersection))


def best_classes(class_scores: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per anchor, the best foreground class (0-based) and its score; the lowest index wins ties.

    Background is the leading `K - num_classes` columns (0 or 1 of them), as in the kernel.
    """
    scores = np.asarray(class_scores, dtype=np.float32)
    offset = scores.shape[1] - num_classes
    if offset not in (0, 1):
        raise ValueError(f"class scores have {scores.shape[1]} columns for {num_classes} classes; the op allows one background column at most")
    foreground = scores[:, offset:]
    classes = np.argmax(foreground, axis=1)  # first maximum, like the kernel's strict `>` scan
    return classes, foreground[np.arange(len(foreground)), classes]


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, score_threshold: float, iou_threshold: float, max_detections: int) -> list[int]:
    """Greedy NMS as the kernel runs it; returns the selected anchor indices, best first.

    Candidates are the anchors with `score >= score_threshold`, in a stable descending sort
    (equal scores keep anchor order). A candidate is dropped when its IoU with an already
    selected box is strictly greater than `iou_threshold`. At most `max_detections` are kept.
    """
    scores = np.asarray(scores, dtype=np.float32)
    candidates = np.flatnonzero(scores >= np.float32(score_threshold))
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    limit = min(len(order), max_detections)
    iou_limit = np.float32(iou_threshold)
    active = np.ones(len(order), dtype=bool)
    selected: list[int] = []
    for i, anchor in enumerate(order):
        if len(selected) >= limit:
            break
        if not active[i]:
            continue
        selected.append(int(anchor))
        for j in range(i + 1, len(order)):
            if active[j] and intersection_over_union(boxes[anchor], boxes[order[j]]) > iou_limit:
                active[j] = False
    return selected


def postprocess(
    box_encodings: np.ndarray,
    class_scores: np.ndarray,
    anchors: np.ndarray,
    settings: PostprocessSettings,
    num_classes: int | None = None,
) -> Detections:
    """TFLite_Detection_PostProcess with `use_regular_nms = false`, `max_classes_per_detection = 1`.

    `box_encodings` [N, 4] or [1, N, 4], `class_scores` [N, K] or [1, N, K] with the background
    class first when `K = num_classes + 1` (the default), `anchors` [N, 4] (cy, cx, h, w): passed
    on their own because they are the op's third input (a constant tensor in a .tflite).
    Boxes are decoded, each anchor keeps its best foreground class, and NMS runs once over
    those best scores (classes compete). Returns (boxes, classes, scores, count).
    """
    if settings.use_regular_nms:
        raise NotImplementedError("the reference implements the fast NMS path (use_regular_nms = false) only")
    encodings = _drop_batch(box_encodings, "box_encodings")
    scores = _drop_batch(class_scores, "class_scores")
    if len(encodings) != len(scores) or len(anchors) != len(scores):
        raise ValueError(f"{len(encodings)} box encodings, {len(scores)} score rows and {len(anchors)} anchors must agree")
    decoded = decode_boxes(encodings, anchors, settings.scales)
    if np.any(decoded[:, 0] > decoded[:, 2]) or np.any(decoded[:, 1] > decoded[:, 3]):
        raise ValueError("a decoded box has ymin > ymax or xmin > xmax (a negative anchor size): the op fails on it")
    classes, best = best_classes(scores, scores.shape[1] - 1 if num_classes is None else num_classes)
    selected = non_max_suppression(decoded, best, settings.score_threshold, settings.iou_threshold, settings.max_detections)
    return Detections(
        decoded[selected].reshape(-1, BOX_SIZE),
        classes[selected].astype(np.float32),
        best[selected].astype(np.float32),
        len(selected),
    )


def _drop_batch(values: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim == 3:
        if array.shape[0] != 1:
            raise ValueError(f"{what} has batch {array.shape[0]}; the op runs batch 1")
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"{what} must be [N, K] or [1, N, K], not {list(array.shape)}")
    return array
