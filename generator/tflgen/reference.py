"""The reference implementation of every pre/post-processing step the app performs.

The generated Kotlin does the same arithmetic in the same order; golden vectors prove it.
All image maths is float32, like the Kotlin side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from tflgen.errors import OptionError

USUAL_NORMALIZATIONS = (
    "--mean 127.5 --std 127.5 (inputs in [-1, 1], e.g. MobileNet, EfficientDet-Lite)",
    "--mean 0 --std 255 (inputs in [0, 1])",
    "--mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 (ImageNet mean/std)",
    "--mean 0 --std 1 (raw 0..255 pixels as floats)",
)


@dataclass(frozen=True)
class Normalization:
    """`x = (pixel - mean[c]) / std[c]`, one value per channel."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def for_channels(cls, mean: tuple[float, ...], std: tuple[float, ...], channels: int) -> Normalization:
        """The parsed --mean/--std (one value, or one per channel) for an input with `channels` channels."""
        return cls(_per_channel("--mean", mean, channels), _per_channel("--std", std, channels))

    def describe(self) -> str:
        return f"mean {_fmt(self.mean)}, std {_fmt(self.std)}"


def resolve_normalization(
    mean: tuple[float, ...] | None, std: tuple[float, ...] | None, channels: int, dtype: str, needed_for: str,
) -> Normalization | None:
    """The user's mean/std (parsed by `parse_values`), or None for a raw-pixel (integer) input. Never
    guessed for a float input."""
    if mean is None and std is None:
        if dtype != "float32":
            return None  # integer input takes raw pixels
        raise OptionError(
            f"{needed_for} needs the model's input normalization (--mean and --std)",
            "tflgen never guesses it; the usual choices: " + "; ".join(USUAL_NORMALIZATIONS),
        )
    if mean is None or std is None:
        raise _one_without_other(std is None)
    return Normalization.for_channels(mean, std, channels)


def parse_values(option: str, text: str, nonzero: bool = False) -> tuple[float, ...]:
    """--mean/--std: one number or comma-separated numbers, finite (std: not 0), kept as float32, the
    precision every stage (and the metadata) computes and stores them in. Checked before any model loads."""
    try:
        values = tuple(float(part) for part in str(text).split(","))
    except ValueError:
        raise OptionError(
            f"{option} {text!r} is not a number or a comma-separated list of numbers",
            f"give one value for all channels or one per channel, e.g. {option} 127.5",
        ) from None
    if not all(np.isfinite(values)):
        raise OptionError(f"{option} {text!r} is not finite", f"give finite numbers to {option}")
    if nonzero and any(v == 0 for v in values):
        raise OptionError(f"{option} {text!r} contains 0", "std divides the pixel values: it must not be 0")
    return tuple(float(np.float32(v)) for v in values)


def _one_without_other(std_missing: bool) -> OptionError:
    given, missing = ("--mean", "--std") if std_missing else ("--std", "--mean")
    return OptionError(f"{given} given without {missing}", "pass both, e.g. --mean 127.5 --std 127.5")


def _fmt(values: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in values)


def _per_channel(option: str, values: tuple[float, ...], channels: int) -> tuple[float, ...]:
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise OptionError(
            f"{option} has {len(values)} values but the model's input has {channels} channel(s)",
            f"give one value for all channels or exactly {channels} comma-separated values",
        )
    return values


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres of an [H, W, C] image, returned as float32.

    `src = (dst + 0.5) * in / out - 0.5`, clamped to the image; written out by hand (no
    library scaler) so that the Kotlin twin can reproduce it exactly.
    """
    in_h, in_w = image.shape[:2]
    pixels = image.astype(np.float32)
    ys, y0, y1 = _axis(in_h, height)
    xs, x0, x1 = _axis(in_w, width)
    top = pixels[y0][:, x0] + (pixels[y0][:, x1] - pixels[y0][:, x0]) * xs[None, :, None]
    bottom = pixels[y1][:, x0] + (pixels[y1][:, x1] - pixels[y1][:, x0]) * xs[None, :, None]
    return (top + (bottom - top) * ys[:, None, None]).astype(np.float32)


def _axis(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = np.float32(size_in) / np.float32(size_out)
    src = (np.arange(size_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.clip(src, np.float32(0), np.float32(size_in - 1))
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    return (src - low.astype(np.float32)).astype(np.float32), low, high


def normalize(pixels: np.ndarray, normalization: Normalization) -> np.ndarray:
    mean = np.asarray(normalization.mean, dtype=np.float32)
    std = np.asarray(normalization.std, dtype=np.float32)
    return ((pixels.astype(np.float32) - mean) / std).astype(np.float32)


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round half away from zero (numpy's own rounding is half-to-even; Kotlin's roundToInt is half-up)."""
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def quantize(values: np.ndarray, scale: float, zero_point: int, dtype: np.dtype | type) -> np.ndarray:
    """`q = clamp(round(x / scale) + zero_point)` with round-half-away-from-zero."""
    info = np.iinfo(dtype)
    q = round_half_away(values.astype(np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return ((values.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


def image_to_input(
    image: np.ndarray,
    shape: tuple[int, ...],
    dtype: np.dtype | type,
    normalization: Normalization | None,
    quantization: tuple[float, int] | None = None,
) -> np.ndarray:
    """One [H, W, C] uint8 image to one model input batch of `shape` [1, H, W, C].

    float models: resize, normalize. Integer models: the normalized value quantized with the
    input's own scale/zero point; without a normalization (a model that takes raw pixels) the
    resized pixel is rounded.
    """
    _, height, width, _ = shape
    pixels = resize_bilinear(image, height, width)
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        if normalization is None:
            raise ValueError("a float input needs a normalization")
        return normalize(pixels, normalization)[None]
    if normalization is None:
        info = np.iinfo(dtype)
        return np.clip(round_half_away(pixels), info.min, info.max).astype(dtype)[None]
    if quantization is None:
        raise ValueError("an integer input with a normalization needs its quantization")
    scale, zero_point = quantization
    return quantize(normalize(pixels, normalization), scale, zero_point, dtype)[None]


# ---------------------------------------------------------------- post-processing


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float32) - np.max(logits)
    exp = np.exp(shifted)
    return (exp / np.sum(exp)).astype(np.float32)


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (class, score), highest first; equal scores keep the lower class first."""
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i])) for i in order]


def argmax_mask(scores: np.ndarray) -> np.ndarray:
    """[H, W, C] scores to an [H, W] class map; ties go to the lowest class index (numpy's argmax rule)."""
    if scores.shape[-1] == 1:
        return (scores[..., 0] > 0.5).astype(np.int32)  # one channel: foreground probability
    return np.argmax(scores, axis=-1).astype(np.int32)


# ---------------------------------------------------------------- SSD decoding + NMS (TFLite_Detection_PostProcess)
# Follows the kernel's arithmetic step by step: box decoding in double precision rounded to
# float32, IoU in float32, `score >= threshold` (not `>`), suppression on `IoU > threshold`
# (not `>=`), a stable sort (equal scores keep anchor order), the first class winning ties.

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


def ssd_postprocess(
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
