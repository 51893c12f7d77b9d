"""Where the model's input lies in the source image (the resize modes), and the whole preprocessing.

The Kotlin twin is `processing/.../Placement.kt` and `Preprocess.kt` of the generated project:
same integer maths for the rectangles, same float32 operations in the same order for the
pixels and for mapping boxes back, so that golden vectors match exactly.

- stretch: the whole image onto the whole input (aspect ratio not kept).
- center-crop: the largest centred part of the image with the input's aspect ratio onto the
  whole input (the image's borders are cut).
- letterbox: the whole image onto the largest centred part of the input with the image's
  aspect ratio; the rest of the input is padding, pixel value `LETTERBOX_PAD` in every channel
  (before normalization, like a black bar in the picture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tflgen.reference import Normalization, normalize, quantize, resize_bilinear, round_half_away
from tflgen.spec import ColorOrder, InputSpec, ResizeMode

LETTERBOX_PAD = 0


@dataclass(frozen=True)
class Rect:
    """A rectangle in whole pixels."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class Placement:
    """Which part of the image (`source`) the model sees, and where it lands in the input (`target`)."""

    image_width: int
    image_height: int
    input_width: int
    input_height: int
    source: Rect  # in image pixels
    target: Rect  # in model-input pixels

    def image_x(self, x: np.ndarray | float) -> np.ndarray:
        """x in 0..1 of the model input to image pixels (not clamped), in float32."""
        return _to_image(x, self.input_width, self.source.left, self.source.width, self.target.left, self.target.width)

    def image_y(self, y: np.ndarray | float) -> np.ndarray:
        return _to_image(y, self.input_height, self.source.top, self.source.height, self.target.top, self.target.height)

    def box_to_image(self, boxes: np.ndarray) -> np.ndarray:
        """[N, 4] ymin, xmin, ymax, xmax in 0..1 of the model input to [N, 4] left, top, right,
        bottom in image pixels, clamped to the image (float32)."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        width, height = np.float32(self.image_width), np.float32(self.image_height)
        zero = np.float32(0)
        return np.stack([
            np.clip(self.image_x(boxes[:, 1]), zero, width),
            np.clip(self.image_y(boxes[:, 0]), zero, height),
            np.clip(self.image_x(boxes[:, 3]), zero, width),
            np.clip(self.image_y(boxes[:, 2]), zero, height),
        ], axis=1).astype(np.float32)


def _to_image(value: np.ndarray | float, input_size: int, source_start: int, source_size: int, target_start: int, target_size: int) -> np.ndarray:
    # Kotlin: sourceStart + (v * inputSize - targetStart) * (sourceSize / targetSize), all Float.
    scale = np.float32(source_size) / np.float32(target_size)
    v = np.asarray(value, dtype=np.float32)
    return (np.float32(source_start) + (v * np.float32(input_size) - np.float32(target_start)) * scale).astype(np.float32)


def _round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for positive ints (Kotlin: (2 * n + d) / (2 * d))."""
    return (2 * numerator + denominator) // (2 * denominator)


def placement(mode: ResizeMode, image_width: int, image_height: int, input_width: int, input_height: int) -> Placement:
    full_image = Rect(0, 0, image_width, image_height)
    full_input = Rect(0, 0, input_width, input_height)
    # Compare aspect ratios exactly, in integers: image wider than the input when w/h > W/H.
    wider = image_width * input_height > image_height * input_width
    taller = image_width * input_height < image_height * input_width
    source, target = full_image, full_input
    if mode is ResizeMode.CENTER_CROP and wider:
        width = min(image_width, max(1, _round_div(image_height * input_width, input_height)))
        source = Rect((image_width - width) // 2, 0, width, image_height)
    elif mode is ResizeMode.CENTER_CROP and taller:
        height = min(image_height, max(1, _round_div(image_width * input_height, input_width)))
        source = Rect(0, (image_height - height) // 2, image_width, height)
    elif mode is ResizeMode.LETTERBOX and wider:
        height = min(input_height, max(1, _round_div(input_width * image_height, image_width)))
        target = Rect(0, (input_height - height) // 2, input_width, height)
    elif mode is ResizeMode.LETTERBOX and taller:
        width = min(input_width, max(1, _round_div(input_height * image_width, image_height)))
        target = Rect((input_width - width) // 2, 0, width, input_height)
    return Placement(image_width, image_height, input_width, input_height, source, target)


def channels(rgb: np.ndarray, color: ColorOrder) -> np.ndarray:
    """[H, W, 3] uint8 RGB to the model's channels: as is, reversed for BGR, luminance for gray.

    Gray is PIL's own integer formula (what `load_image(path, 1)` gives for calibration):
    `(19595 R + 38470 G + 7471 B + 32768) >> 16`.
    """
    if color is ColorOrder.RGB:
        return rgb
    if color is ColorOrder.BGR:
        return np.ascontiguousarray(rgb[..., ::-1])
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]


def fit(pixels: np.ndarray, where: Placement) -> np.ndarray:
    """[H, W, C] pixels to the model's [input_height, input_width, C] float32 pixels, as `where` says."""
    s, t = where.source, where.target
    out = np.full((where.input_height, where.input_width, pixels.shape[2]), LETTERBOX_PAD, dtype=np.float32)
    crop = pixels[s.top:s.top + s.height, s.left:s.left + s.width]
    out[t.top:t.top + t.height, t.left:t.left + t.width] = resize_bilinear(crop, t.height, t.width)
    return out


def encode(pixels: np.ndarray, dtype: str, normalization: Normalization | None, quantization: tuple[float, int] | None) -> np.ndarray:
    """Model-sized float32 pixels to the input tensor's values (no batch axis), as `reference.image_to_input` does."""
    if dtype == "float32":
        if normalization is None:
            raise ValueError("a float input needs a normalization")
        return normalize(pixels, normalization)
    numpy_type = np.dtype(dtype)
    if normalization is None:  # the model takes raw pixels
        info = np.iinfo(numpy_type)
        return np.clip(round_half_away(pixels), info.min, info.max).astype(numpy_type)
    if quantization is None:
        raise ValueError("an integer input with a normalization needs its quantization")
    scale, zero_point = quantization
    return quantize(normalize(pixels, normalization), scale, zero_point, numpy_type)


def preprocess(rgb: np.ndarray, spec: InputSpec) -> tuple[np.ndarray, Placement]:
    """One [H, W, 3] uint8 RGB image to the model's input batch [1, H, W, C] and where it was placed."""
    height, width = rgb.shape[:2]
    where = placement(spec.resize, width, height, spec.width, spec.height)
    pixels = fit(channels(rgb, spec.color), where)
    q = spec.quantization
    tensor = encode(pixels, spec.dtype, spec.normalization, (q.scale, q.zero_point) if q else None)
    return tensor[None], where
