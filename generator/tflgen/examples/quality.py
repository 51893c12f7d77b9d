"""How good the example models are: accuracy, detection mAP@0.5, segmentation mIoU.

The metrics are plain numpy. They are computed on held-out generated images
(`tflgen.examples.shapes`) for the float Keras model (`evaluate_keras`) and for a converted
.tflite run in LiteRT (`evaluate_tflite`). Both paths preprocess with tflgen's reference code
(`reference.image_to_input`: resize, `(pixel - mean) / std`, quantization with the input's own
scale/zero point for an integer input) and post-process as the app does:

- the .tflite goes through `verify.TfliteRunner`, which reads each output by its role from the
  `ModelSpec` (for detection: boxes, classes, scores, count of `TFLite_Detection_PostProcess`,
  whatever their order in the file) and dequantizes it;
- the Keras detector's raw outputs (class scores, box encodings) go through
  `reference.ssd_postprocess`, tflgen's numpy twin of the op, with the example's anchors and
  the settings `tflgen convert --ssd-anchors` gives the op by default.

Definitions:
- classification accuracy: top-1 class == label.
- detection mAP@0.5: VOC style, per class: detections of all images sorted by score, a
  detection is a true positive when its best-overlapping ground-truth box of the same class has
  IoU >= 0.5 and is not already taken, AP = area under the precision envelope (all-point
  interpolation); mAP = mean AP over the classes present in the ground truth.
- segmentation mIoU: one confusion matrix over all pixels of all images; IoU per class
  TP / (TP + FP + FN); mIoU = mean over ALL classes, background (0) included. The mean over the
  shape classes alone is reported too ("mIoU (shapes only)").

TensorFlow is imported only by the functions that run a Keras model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tflgen.examples import SHAPE_CLASSES, Example
from tflgen.reference import Normalization, image_to_input, intersection_over_union

Detection = tuple[int, float, tuple[float, float, float, float]]  # (class, score, ymin xmin ymax xmax)

# What `tflgen convert --ssd-anchors` gives TFLite_Detection_PostProcess unless told otherwise.
SSD_MAX_DETECTIONS = 10
SSD_SCORE_THRESHOLD = 1e-8
SSD_IOU_THRESHOLD = 0.6


# ---------------------------------------------------------------- metrics


def accuracy(predicted: Sequence[int], labels: Sequence[int]) -> float:
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    return float(np.mean(predicted == labels)) if len(labels) else 0.0


def average_precision(scores: np.ndarray, true_positive: np.ndarray, ground_truths: int) -> float:
    """VOC all-point interpolated AP of detections (any order) given their TP flags."""
    if ground_truths == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    tp = np.asarray(true_positive, dtype=np.float64)[order]
    tp_cum, fp_cum = np.cumsum(tp), np.cumsum(1.0 - tp)
    recall = tp_cum / ground_truths
    precision = tp_cum / np.maximum(tp_cum + fp_cum, np.finfo(np.float64).eps)
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the envelope
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def detection_map(
    detections: Sequence[Sequence[Detection]],
    gt_boxes: Sequence[np.ndarray],
    gt_classes: Sequence[np.ndarray],
    num_classes: int = len(SHAPE_CLASSES),
    iou_threshold: float = 0.5,
) -> tuple[float, dict[int, float]]:
    """(mAP, AP per class) at IoU >= `iou_threshold`; classes absent from the ground truth are skipped."""
    per_class: dict[int, float] = {}
    for cls in range(num_classes):
        scores, flags, total = [], [], 0
        for found, boxes, classes in zip(detections, gt_boxes, gt_classes):
            truths = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)[np.asarray(classes) == cls]
            total += len(truths)
            taken = np.zeros(len(truths), dtype=bool)
            for _, score, box in sorted((d for d in found if d[0] == cls), key=lambda d: -d[1]):
                overlaps = [float(intersection_over_union(np.asarray(box), t)) for t in truths]
                best = int(np.argmax(overlaps)) if overlaps else -1
                hit = best >= 0 and overlaps[best] >= iou_threshold and not taken[best]
                if hit:
                    taken[best] = True
                scores.append(score)
                flags.append(hit)
        if total:
            per_class[cls] = average_precision(np.asarray(scores), np.asarray(flags), total)
    return (float(np.mean(list(per_class.values()))) if per_class else 0.0), per_class


def confusion_matrix(predicted: np.ndarray, truth: np.ndarray, num_classes: int) -> np.ndarray:
    """[num_classes, num_classes] pixel counts, rows = truth, columns = prediction."""
    index = np.asarray(truth, dtype=np.int64).ravel() * num_classes + np.asarray(predicted, dtype=np.int64).ravel()
    return np.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def mean_iou(confusion: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean IoU over every class with pixels in truth or prediction, IoU per class)."""
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return float(np.nanmean(iou)), iou


# ---------------------------------------------------------------- running the models


def normalization(example: Example) -> Normalization:
    return example.preprocessing.normalization(3, "float32", "the example")


def keras_inputs(example: Example, images: np.ndarray) -> np.ndarray:
    """[N, H, W, 3] uint8 images to the float model's batch, through the reference preprocessing."""
    shape = (1, example.input_size, example.input_size, 3)
    norm = normalization(example)
    return np.concatenate([image_to_input(image, shape, np.float32, norm) for image in images])


def keras_predict(model: Any, example: Example, images: np.ndarray, batch_size: int = 32) -> list[np.ndarray]:
    """The model's outputs for the images, each output as one numpy array [N, ...], in the model's order."""
    outputs = model.predict(keras_inputs(example, images), batch_size=batch_size, verbose=0)
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def raw_ssd_outputs(outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(box encodings [N, A, 4], class scores [N, A, K]) told apart by shape, as tflgen does."""
    boxes = [o for o in outputs if o.ndim == 3 and o.shape[-1] == 4]
    scores = [o for o in outputs if o.ndim == 3 and o.shape[-1] != 4]
    if len(boxes) != 1 or len(scores) != 1:
        raise ValueError(f"not a raw SSD's outputs: {[list(o.shape) for o in outputs]}")
    return boxes[0], scores[0]


def ssd_settings(example: Example) -> Any:
    from tflgen.ssd import SsdParams

    anchors = np.load(example.anchors_path)
    return SsdParams(
        anchors=anchors, scales=example.ssd_scales, max_detections=SSD_MAX_DETECTIONS,
        score_threshold=SSD_SCORE_THRESHOLD, iou_threshold=SSD_IOU_THRESHOLD,
    )


def decode_raw_ssd(box_encodings: np.ndarray, class_scores: np.ndarray, settings: Any) -> list[Detection]:
    """One image's raw outputs through tflgen's numpy twin of TFLite_Detection_PostProcess."""
    from tflgen.reference import ssd_postprocess
    from tflgen.verify import detection_result

    return list(detection_result(ssd_postprocess(box_encodings, class_scores, settings.anchors, settings), 0.0).detections)


def tflite_runner(example: Example, content: bytes) -> Any:
    """A `verify.TfliteRunner` for the converted example, its outputs read by role."""
    from tflgen.console import Reporter
    from tflgen.spec import SpecOptions, Task, build_spec
    from tflgen.tflite_info import read_model
    from tflgen.verify import TfliteRunner

    info = read_model(content, f"{example.name} .tflite")
    spec = build_spec(info, SpecOptions(task=Task(example.task), preprocessing=example.preprocessing), "evaluation")
    return TfliteRunner(content, spec, None, Reporter())


# ---------------------------------------------------------------- evaluating an example


def _classification(probabilities: Sequence[np.ndarray], labels: np.ndarray) -> dict[str, Any]:
    predicted = [int(np.argmax(p)) for p in probabilities]
    per_class = {SHAPE_CLASSES[c]: accuracy(np.asarray(predicted)[labels == c], labels[labels == c]) for c in range(len(SHAPE_CLASSES))}
    return {"accuracy": accuracy(predicted, labels), "accuracy per class": per_class}


def _detection(found: Sequence[Sequence[Detection]], data: Any) -> dict[str, Any]:
    value, per_class = detection_map(found, data.boxes, data.classes)
    return {"mAP@0.5": value, "AP@0.5 per class": {SHAPE_CLASSES[c]: ap for c, ap in per_class.items()}}


def _segmentation(masks: Sequence[np.ndarray], truth: np.ndarray) -> dict[str, Any]:
    classes = len(SHAPE_CLASSES) + 1
    confusion = sum(confusion_matrix(m, t, classes) for m, t in zip(masks, truth))
    value, per_class = mean_iou(confusion)
    names = ("background", *SHAPE_CLASSES)
    return {
        "mIoU": value, "mIoU (shapes only)": float(np.nanmean(per_class[1:])),
        "IoU per class": {n: float(v) for n, v in zip(names, per_class)},
        "pixel accuracy": float(np.trace(confusion) / confusion.sum()),
    }


def evaluate_keras(example: Example, model: Any, data: Any) -> dict[str, Any]:
    """Metrics of the float Keras model on a held-out set from `shapes.<task>_images`."""
    if example.task == "classification":
        images, labels = data
        (probabilities,) = keras_predict(model, example, images)
        return _classification(list(probabilities), labels)
    if example.task == "detection":
        boxes, scores = raw_ssd_outputs(keras_predict(model, example, data.images))
        settings = ssd_settings(example)
        return _detection([decode_raw_ssd(b, s, settings) for b, s in zip(boxes, scores)], data)
    images, masks = data
    (scores,) = keras_predict(model, example, images)
    return _segmentation([np.argmax(s, axis=-1) for s in scores], masks)


def evaluate_tflite(example: Example, content: bytes, data: Any, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Metrics of a converted .tflite (LiteRT, reference preprocessing) on the same kind of set."""
    runner = tflite_runner(example, content)
    images = data.images if example.task == "detection" else data[0]
    results = []
    for i, image in enumerate(images):
        results.append(runner.result(image, 0.0))
        if progress is not None:
            progress(i + 1)
    if example.task == "classification":
        return _classification([r.probabilities for r in results], data[1])
    if example.task == "detection":
        return _detection([list(r.detections) for r in results], data)
    return _segmentation([r.mask for r in results], data[1])


def headline(example: Example) -> str:
    """The metric each example is judged by."""
    return {"classification": "accuracy", "detection": "mAP@0.5", "segmentation": "mIoU"}[example.task]


TARGETS = {"classification": 0.95, "detection": 0.8, "segmentation": 0.8}  # on held-out images, float and int8
